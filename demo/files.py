"""Write one delivery in its provider's own format: the quirks are the point (Latin-1 with
title lines, long CSV with a status column, XLSX with two header rows, ODS, UTF-8 with a BOM).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np

from demo.glossary import Spec
from demo.providers import FT_DIMENSIONS, Conv
from demo.sheets import Cell, ods, xlsx
from veille import csv_safe

LEVEL_FR = {"iris": "IRIS", "quartier": "quartier", "qpv": "QPV", "commune": "commune",
            "epci": "agglomération"}


@dataclass
class Cube:
    """What one file carries: indicators x territories x periods, values and secrecy."""

    conv: Conv
    specs: list[Spec]
    territories: list[str]
    names: dict[str, str]
    levels: dict[str, str]
    periods: list[str]
    values: np.ndarray      # (indicator, territory, period)
    secret: np.ndarray      # same shape, True where the provider hides the value
    overrides: dict[tuple[int, int, int], str] | None = None

    def cell(self, i: int, t: int, p: int, decimal: str = ".") -> str | float | int:
        """The value as the provider writes it: marker, integer count, or rounded ratio."""
        if self.overrides and (i, t, p) in self.overrides:
            return self.overrides[i, t, p]
        value = self.values[i, t, p]
        if self.secret[i, t, p] or math.isnan(value):
            return self.conv.marker
        kind = self.specs[i].kind
        if kind == "count":
            return int(value)
        digits = 2 if kind == "amount" else 1
        if decimal == ",":
            return f"{value:.{digits}f}".replace(".", ",")
        return round(float(value), digits)

    def rows(self) -> list[tuple[int, int]]:
        return [(p, t) for p in range(len(self.periods)) for t in range(len(self.territories))]


def _period_fr(label: str, style: str) -> str:
    if style == "mm/yyyy":
        return f"{label[5:7]}/{label[:4]}"
    if style == "yyyymm":
        return label[:4] + label[5:7]
    if style == "quarter":
        return label.replace("-Q", "-T")
    if style == "school":
        return f"{label}-{int(label) + 1}"
    return label


def _csv_text(rows: list[list[object]], sep: str) -> str:
    buf = io.StringIO()
    csv_safe.writer(buf, delimiter=sep, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


def write_caf(cube: Cube) -> bytes:
    """Latin-1, ';', decimal comma, two title lines, one column per indicator."""
    head = ["Caisse d'allocations familiales du Val-Fictif - Données allocataires par quartier",
            "Source : CAF du Val-Fictif, allocataires au dernier jour du mois ; "
            "s = secret statistique (moins de 5)"]
    rows: list[list[object]] = [["Mois", "Code territoire", "Libellé territoire", "Niveau",
                                 *[s.source for s in cube.specs]]]
    for p, t in cube.rows():
        code = cube.territories[t]
        rows.append([_period_fr(cube.periods[p], "mm/yyyy"), code, cube.names[code],
                     LEVEL_FR[cube.levels[code]],
                     *[cube.cell(i, t, p, ",") for i in range(len(cube.specs))]])
    text = "\r\n".join(head) + "\r\n" + _csv_text(rows, ";")
    return text.encode("latin-1")


def write_police(cube: Cube) -> bytes:
    """UTF-8, ',', one row per (zone, class), est_diffuse = ndiff for unpublished cells."""
    rows: list[list[object]] = [["periode", "code_zone", "libelle_zone", "niveau", "classe",
                                 "unite_de_compte", "faits", "est_diffuse"]]
    for p, t in cube.rows():
        code = cube.territories[t]
        for i, spec in enumerate(cube.specs):
            value = cube.cell(i, t, p)
            status = "ndiff" if value == cube.conv.marker else "diff"
            rows.append([_period_fr(cube.periods[p], "yyyymm"), code, cube.names[code],
                         LEVEL_FR[cube.levels[code]], spec.source, spec.unit, value, status])
    return _csv_text(rows, ",").encode("utf-8")


def write_france_travail(cube: Cube) -> bytes:
    """XLSX, long layout with one column per dimension (category, sex, age, seniority)."""
    rows: list[list[Cell]] = [
        ["Demandeurs d'emploi inscrits à France Travail en fin de trimestre"], [],
        ["trimestre", "code_geo", "libelle_geo", "type_geo", *FT_DIMENSIONS, "nombre"]]
    for p, t in cube.rows():
        code = cube.territories[t]
        for i, spec in enumerate(cube.specs):
            rows.append([_period_fr(cube.periods[p], "quarter"), code, cube.names[code],
                         LEVEL_FR[cube.levels[code]], *spec.source.split("|"),
                         cube.cell(i, t, p)])
    return xlsx("DEFM", rows)


def write_cpam(cube: Cube) -> bytes:
    """XLSX, wide, two header rows (a group row above the column names)."""
    groups: list[Cell] = ["Effectifs" if s.kind == "count" else "Taux" for s in cube.specs]
    rows: list[list[Cell]] = [
        [None, None, None, *groups],
        ["Année", "Code territoire", "Territoire", *[s.source for s in cube.specs]]]
    for p, t in cube.rows():
        code = cube.territories[t]
        rows.append([int(cube.periods[p]), code, cube.names[code],
                     *[cube.cell(i, t, p) for i in range(len(cube.specs))]])
    return xlsx("Indicateurs santé", rows)


def write_education(cube: Cube) -> bytes:
    """ODS, wide, school year written '2023-2024'."""
    rows: list[list[Cell]] = [["Année scolaire", "Secteur", "Nom",
                               *[s.source for s in cube.specs]]]
    for p, t in cube.rows():
        code = cube.territories[t]
        rows.append([_period_fr(cube.periods[p], "school"), code, cube.names[code],
                     *[cube.cell(i, t, p) for i in range(len(cube.specs))]])
    return ods("Indicateurs", rows)


def write_bailleur(cube: Cube) -> bytes:
    """UTF-8 with a BOM (Excel's 'CSV UTF-8'), ';', decimal comma, the total row as 'TOTAL'."""
    rows: list[list[object]] = [["exercice", "code_territoire", "libelle", "niveau",
                                 *[s.source for s in cube.specs]]]
    for p, t in cube.rows():
        code = cube.territories[t]
        level = cube.levels[code]
        rows.append([cube.periods[p], "TOTAL" if level == "epci" else code, cube.names[code],
                     LEVEL_FR[level], *[cube.cell(i, t, p, ",") for i in range(len(cube.specs))]])
    return _csv_text(rows, ";").encode("utf-8-sig")


WRITERS = {"caf-allocataires": write_caf, "police-delinquance": write_police,
           "france-travail-defm": write_france_travail, "education-colleges": write_education,
           "bailleur-parc-social": write_bailleur, "cpam-sante": write_cpam}
