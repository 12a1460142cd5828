"""Territories from INSEE's real reference files, for the tests of real provider files: the
communes of some départements (or of an EPCI) as the workspace, and every other commune of
France as the known codes outside it (what ``veille init`` writes to known_codes.csv)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from conftest import DATA

from veille.catalog import KnownCode
from veille.model import Territory, TerritoryKind

COG = DATA / "insee-cog-2025" / "v_commune_2025.csv"
EPCI = DATA / "insee-epci-2025" / "epci.json"


def communes() -> list[dict[str, str]]:
    with COG.open(encoding="utf-8", newline="") as handle:
        return [r for r in csv.DictReader(handle) if r["TYPECOM"] == "COM"]


def epci_members(siren: str) -> set[str]:
    for epci in json.loads(EPCI.read_text(encoding="utf-8")):
        if epci["code"] == siren:
            return {m["code"] for m in epci["membres"]}
    raise KeyError(siren)


def tree(keep: set[str] | None = None, departements: tuple[str, ...] = ()
         ) -> tuple[dict[str, Territory], dict[str, KnownCode]]:
    """The workspace (communes ``keep`` or those of ``departements``, under their
    département) and the known codes: every other commune."""
    inside: dict[str, Territory] = {}
    known: dict[str, KnownCode] = {}
    for r in communes():
        if (keep is not None and r["COM"] in keep) or r["DEP"] in departements:
            dep = r["DEP"]
            inside.setdefault(dep, Territory(code=dep, kind=TerritoryKind.DEPARTEMENT,
                                             name=f"département {dep}"))
            inside[r["COM"]] = Territory(code=r["COM"], kind=TerritoryKind.COMMUNE,
                                         name=r["LIBELLE"], parent=dep)
        else:
            known[r["COM"]] = KnownCode(r["COM"], "commune", r["LIBELLE"])
    return inside, known


def write_known_codes(path: Path, known: dict[str, KnownCode]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "kind", "label"])
        writer.writerows([k.code, k.kind, k.label] for k in known.values())
