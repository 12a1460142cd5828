"""Infra-communal territories from optional files: IRIS (INSEE's reference list), QPV (the
priority neighbourhoods: a CSV or a GeoJSON) and quartiers (the observatory's own list)."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from connectors.reference.tables import ReferenceFileError, read_rows

_QPV = re.compile(r"^Q[NP]\d{3}\w{3,4}$")
_IRIS = re.compile(r"^(\d{5}|2[AB]\d{3})\d{4}$")


@dataclass(frozen=True)
class Unit:
    """One infra-communal territory: its parent is a commune, arrondissement or quartier."""

    code: str
    name: str
    parent: str
    line: int
    also_in: tuple[str, ...] = ()  # a QPV over several communes: the others


def read_iris(path: Path) -> list[Unit]:
    rows = read_rows(path, "--iris")
    code = rows.column("code IRIS", "CODE_IRIS", "IRIS", "code_iris")
    name = rows.column("nom de l'IRIS", "LIB_IRIS", "LIBIRIS", "nom_iris")
    commune = rows.find("DEPCOM", "COM", "code_commune", "INSEE_COM")
    out = []
    for i, row in enumerate(rows.rows):
        value = row[code].strip()
        if not _IRIS.match(value):
            raise ReferenceFileError(path, f"code IRIS « {value} » invalide (9 caractères : "
                                     "commune + 4 chiffres) / invalid IRIS code", rows.line(i))
        parent = row[commune].strip() if commune is not None else value[:5]
        out.append(Unit(value, row[name].strip(), parent, rows.line(i)))
    return out


def read_qpv(path: Path, communes: dict[str, str]) -> tuple[list[Unit], list[str]]:
    """QPV units whose commune is one of ``communes`` (code -> name), and the codes of the
    others (outside the workspace). The commune comes from a code column, else from the
    commune's name matched within the QPV's département."""
    rows = read_rows(path, "--qpv")
    code = rows.column("code QPV", "code_qp", "code_qpv", "CODE_QP", "QP")
    name = rows.column("nom du QPV", "nom_qp", "lib_qp", "nom_qpv", "LIB_QP")
    by_code = rows.find("code_commune", "insee_com", "depcom", "codes_communes", "com")
    by_name = rows.find("nom_commune", "commune_qp", "lib_com", "nom_com")
    if by_code is None and by_name is None:
        rows.column("commune du QPV", "code_commune", "insee_com", "nom_commune")
    index = _names(communes)
    inside, outside = [], []
    for i, row in enumerate(rows.rows):
        value = row[code].strip()
        if not _QPV.match(value):
            raise ReferenceFileError(path, f"code QPV « {value} » invalide (QP ou QN, 3 chiffres "
                                     "de département, puis 3-4 caractères) / invalid QPV code",
                                     rows.line(i))
        if by_code is not None:
            found = _codes(row[by_code])
        else:
            found = _by_name(row[by_name or 0], value, index)
        mine = [c for c in found if c in communes]
        if mine:
            inside.append(Unit(value, row[name].strip(), mine[0], rows.line(i),
                               tuple(mine[1:])))
        else:
            outside.append(value)
    return inside, outside


def read_quartiers(path: Path) -> tuple[list[Unit], dict[str, str]]:
    """The observatory's quartiers (code, name, commune, optional IRIS list), and
    IRIS -> quartier for the IRIS it lists."""
    rows = read_rows(path, "--quartiers")
    code = rows.column("code du quartier", "code", "code_quartier")
    name = rows.column("nom du quartier", "nom", "name", "nom_quartier")
    commune = rows.column("commune du quartier", "commune", "code_commune", "depcom")
    iris = rows.find("iris", "codes_iris")
    out, iris_of = [], {}
    for i, row in enumerate(rows.rows):
        value = row[code].strip()
        out.append(Unit(value, row[name].strip(), row[commune].strip(), rows.line(i)))
        for one in _codes(row[iris]) if iris is not None else []:
            iris_of[one] = value
    return out, iris_of


def _codes(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("["):
        try:
            return [str(c).strip() for c in json.loads(text)]
        except ValueError:
            pass
    return [c.strip() for c in re.split(r"[,;|/ ]+", text) if c.strip()]


def _key(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    plain = re.sub(r"\bst(e?)\b", r"saint\1", plain)
    return re.sub(r"[^a-z0-9]+", " ", plain).strip()


def _names(communes: dict[str, str]) -> dict[tuple[str, str], list[str]]:
    index: dict[tuple[str, str], list[str]] = {}
    for code, name in communes.items():
        index.setdefault((_departement(code), _key(name)), []).append(code)
    return index


def _departement(commune: str) -> str:
    return commune[:3] if commune.startswith("97") else commune[:2]


def _by_name(text: str, qpv: str, index: dict[tuple[str, str], list[str]]) -> list[str]:
    digits = qpv[2:5]
    dep = digits if digits.startswith("97") else digits[1:]
    out = []
    for part in re.split(r"\s*[,/;]\s*", text):
        out += index.get((dep, _key(part)), [])
    return out

