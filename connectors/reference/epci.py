"""The EPCI (inter-municipal bodies) and their member communes: the decoupage-administratif
JSON (``epci.json``) or INSEE's composition table (CSV/XLSX with CODGEO, EPCI, LIBEPCI)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from connectors.reference.tables import ReferenceFileError, read_rows, require

_SIREN = re.compile(r"^\d{9}$")


@dataclass(frozen=True)
class Epci:
    code: str
    name: str
    members: tuple[str, ...]


def read_epci(path: Path) -> dict[str, Epci]:
    """SIREN -> EPCI with its member commune codes."""
    if path.suffix.lower() == ".json" and path.is_file():
        return _from_json(path)
    rows = read_rows(path, "--epci")
    commune, code, name = require(rows, [("code commune", ["CODGEO", "COM", "code_commune"]),
                                         ("SIREN de l'EPCI", ["EPCI", "siren_epci"]),
                                         ("nom de l'EPCI", ["LIBEPCI", "nom_epci"])])
    members: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for i, row in enumerate(rows.rows):
        siren = row[code].strip()
        if siren in {"", "ZZZZZZZZZ"}:
            continue  # a commune outside any EPCI (INSEE writes ZZZZZZZZZ)
        _check(path, siren, rows.line(i))
        members.setdefault(siren, []).append(row[commune].strip())
        names[siren] = row[name].strip()
    return {s: Epci(s, names[s], tuple(m)) for s, m in members.items()}


def _from_json(path: Path) -> dict[str, Epci]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReferenceFileError(path, f"JSON illisible (option --epci) : {exc}") from exc
    if not isinstance(data, list):
        raise ReferenceFileError(path, "un tableau JSON d'EPCI est attendu (code, nom, "
                                 "membres) / expected a JSON array of EPCI")
    out: dict[str, Epci] = {}
    for i, item in enumerate(data, start=1):
        if not isinstance(item, dict) or not {"code", "nom", "membres"} <= item.keys():
            raise ReferenceFileError(path, f"EPCI n° {i} : champs « code », « nom » et "
                                     "« membres » attendus / fields code, nom, membres needed")
        siren = str(item["code"])
        _check(path, siren, None, i)
        members = tuple(str(m.get("code", "")) for m in item["membres"]
                        if isinstance(m, dict))
        out[siren] = Epci(siren, str(item["nom"]), members)
    return out


def _check(path: Path, siren: str, line: int | None, number: int | None = None) -> None:
    if not _SIREN.match(siren):
        where = f"EPCI n° {number} : " if number is not None else ""
        raise ReferenceFileError(path, f"{where}SIREN « {siren} » invalide (9 chiffres "
                                 "attendus) / invalid SIREN", line)
