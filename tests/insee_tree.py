"""A territory tree from INSEE's real reference files, for tests that need several EPCIs and
the département above them (``veille init`` is the product's way; this helper only writes
the same ``territories.csv`` format: code;kind;name;parent;population).

* communes: the COG 2025 (``v_commune_2025.csv``, type COM), populations from the EPCI file
  (``epci.json``: each member's municipal population);
* EPCIs: ``epci.json`` (SIREN, name, municipal population = the sum of its members);
* the département: ``departements.json``; its population is the sum of all its communes,
  so a tree holding only some of its EPCIs does not cover it.

With ``whole=True`` every commune of the département is held: the EPCIs lying wholly inside
it, and the communes of an EPCI straddling two départements directly under the département
(the EPCI itself is left out: half of it would be a wrong total).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
"""As tests/conftest.py names it (a conftest import collides across test folders)."""
COG = SHARED_DATA / "insee-cog-2025" / "v_commune_2025.csv"
EPCI = SHARED_DATA / "insee-epci-2025" / "epci.json"
DEPARTEMENTS = SHARED_DATA / "insee-epci-2025" / "departements.json"
HEADER = "code;kind;name;parent;population"


def communes(departement: str) -> dict[str, str]:
    """Commune code -> name, for the communes (type COM) of ``departement``."""
    with COG.open(encoding="utf-8", newline="") as handle:
        return {r["COM"]: r["LIBELLE"] for r in csv.DictReader(handle)
                if r["TYPECOM"] == "COM" and r["DEP"] == departement}


def epcis() -> list[dict]:
    return json.loads(EPCI.read_text(encoding="utf-8"))


def tree_lines(departement: str, sirens: Iterable[str] = (), *, whole: bool = False
               ) -> list[str]:
    """The lines of territories.csv for the EPCIs ``sirens`` of ``departement`` (or every
    commune of it with ``whole``), the département on top."""
    names = communes(departement)
    population = {m["code"]: m["populationMunicipale"] for e in epcis() for m in e["membres"]}
    dep_name = next(d["nom"] for d in json.loads(DEPARTEMENTS.read_text(encoding="utf-8"))
                    if d["code"] == departement)
    lines = [HEADER, f"{departement};departement;{dep_name};;"
             f"{sum(population.get(c, 0) for c in names)}"]
    wanted = set(sirens)
    placed: set[str] = set()
    for epci in epcis():
        members = [m["code"] for m in epci["membres"]]
        inside = [c for c in members if c in names]
        if not inside or not (whole or epci["code"] in wanted):
            continue
        if len(inside) < len(members):  # straddles: its communes hang under the département
            if whole:
                lines += [f"{c};commune;{names[c]};{departement};{population[c]}" for c in inside]
                placed.update(inside)
            continue
        lines.append(f"{epci['code']};epci;{epci['nom']};{departement};"
                     f"{epci['populationMunicipale']}")
        lines += [f"{c};commune;{names[c]};{epci['code']};{population[c]}" for c in inside]
        placed.update(inside)
    if whole:
        lines += [f"{c};commune;{n};{departement};{population.get(c, '')}"
                  for c, n in sorted(names.items()) if c not in placed]
    return lines


def write_tree(catalog: Path, departement: str, sirens: Iterable[str] = (), *,
               whole: bool = False) -> list[str]:
    """Write ``catalog/territories.csv``; returns the commune codes held."""
    lines = tree_lines(departement, sirens, whole=whole)
    catalog.mkdir(parents=True, exist_ok=True)
    (catalog / "territories.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [line.split(";")[0] for line in lines[1:] if line.split(";")[1] == "commune"]
