"""Names of départements and régions, found beside the COG or EPCI file: INSEE's
``v_departement_YYYY.csv`` / ``v_region_YYYY.csv`` or decoupage-administratif's
``departements.json`` / ``regions.json``. Without them a code stands for its name."""

from __future__ import annotations

from pathlib import Path

from connectors.reference.tables import ReferenceFileError, read_rows


def area_names(*beside: Path) -> tuple[dict[str, str], dict[str, str], list[Path]]:
    """(département code -> name, région code -> name, files read)."""
    departements: dict[str, str] = {}
    regions: dict[str, str] = {}
    used: list[Path] = []
    folders = list(dict.fromkeys(p.parent for p in beside))
    for folder in folders:
        for pattern, target, code_names in (
                ("departements.json", departements, ("code",)),
                ("v_departement_*.csv", departements, ("DEP",)),
                ("regions.json", regions, ("code",)),
                ("v_region_*.csv", regions, ("REG",))):
            for path in sorted(folder.glob(pattern)):
                try:
                    rows = read_rows(path, "(noms)")
                    code = rows.column("code", *code_names)
                    name = rows.column("nom", "nom", "LIBELLE", "NCCENR")
                except ReferenceFileError:
                    continue  # a file of another kind with a similar name: not ours
                for row in rows.rows:
                    target.setdefault(row[code].strip(), row[name].strip())
                used.append(path)
    return departements, regions, used
