"""The starter catalog ``veille init`` writes: territories (merged with the analyst's
edits), populations by year, former codes, known codes outside the workspace, a glossary
and a providers file with commented examples, and the watch cells (a CCAS and a CLSPD per
commune, the observatory)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connectors.reference.merge import Merge, merge, read_state, write_atomic, write_state
from connectors.reference.tree import Node, Tree
from veille import csv_safe
from veille.territory_files import FORMER_CODES_COLUMNS, POPULATION_COLUMNS

TERRITORY_COLUMNS = ("code", "kind", "name", "parent", "population")
KNOWN_COLUMNS = ("code", "kind", "label")
CCAS_THEMES = ["precarite", "emploi", "accessibilite", "sante"]
CLSPD_THEMES = ["securite", "education"]
ALL_THEMES = ["precarite", "emploi", "securite", "education", "accessibilite", "sante"]

GLOSSARY = """\
# Glossaire de l'observatoire : chaque indicateur défini une fois, pour tous.
# Valeurs permises (theme, kind, polarity, periodicity) : README, « Catalog reference ».
# Pour commencer : remplacez « indicators: [] » par « indicators: », retirez les « # »
# d'un exemple, adaptez-le, puis lancez « veille check ».
#
# indicators:
#   - code: ssmsi_cambriolages            # minuscules, chiffres, _
#     label: Cambriolages de logement
#     definition: Cambriolages de logement enregistrés par la police et la gendarmerie.
#     theme: securite                     # precarite, emploi, securite, education, ...
#     unit: faits
#     kind: count                         # count, rate ou amount
#     polarity: up_is_bad                 # up_is_bad, up_is_good ou neutral
#     periodicity: annual                 # monthly, quarterly ou annual
#     provider: ssmsi                     # un id de providers.yaml
#     secrecy_threshold: 5                # sous ce nombre, la valeur n'est pas publiée
#   - code: caf_part_rsa
#     label: Part des foyers allocataires percevant le RSA
#     definition: Foyers allocataires du RSA / foyers allocataires de la CAF.
#     theme: precarite
#     unit: "%"
#     kind: rate
#     numerator: caf_rsa                  # deux indicateurs count du glossaire
#     denominator: caf_allocataires
#     polarity: up_is_bad
#     periodicity: annual
#     provider: caf
indicators: []
"""

PROVIDERS = """\
# Fournisseurs de données : un par convention signée (CAF, France Travail, SSMSI...).
# contact_url est une adresse Apprise (mailto://..., json://...) prévenue des retards et
# des fichiers refusés.
#
# providers:
#   - id: caf
#     name: CAF de la Loire
#     contact_name: Service statistique
#     contact_url: mailto://statistiques@caf.example
providers: []
"""


@dataclass
class Written:
    """What the starter catalog did, file by file, for the command to say."""

    territories: Merge = field(default_factory=Merge)
    cells: Merge = field(default_factory=Merge)
    created: list[str] = field(default_factory=list)
    regenerated: list[str] = field(default_factory=list)
    cells_rewritten: bool = False


def write_catalog(workspace: Path, tree: Tree, infra: list[Node], options: dict[str, Any]
                  ) -> Written:
    catalog = workspace / "catalog"
    (catalog / "conventions").mkdir(parents=True, exist_ok=True)
    state = read_state(catalog)
    out = Written()
    generated = {n.code: [n.kind, n.name, n.parent or "",
                          str(tree.latest.get(n.code, ""))] for n in [*tree.nodes, *infra]}
    current = _read_territories(catalog / "territories.csv")
    out.territories = merge(generated, current, state.get("territories", {}))
    if out.territories.changed or not (catalog / "territories.csv").exists():
        write_atomic(catalog / "territories.csv", _csv(
            TERRITORY_COLUMNS, ([k, *v] for k, v in out.territories.entries.items())))
    codes = set(out.territories.entries)
    for name, columns, rows in (
            ("populations.csv", POPULATION_COLUMNS,
             ([c, str(y), str(p)] for c, by in tree.populations.items() if c in codes
              for y, p in sorted(by.items()))),
            ("former_codes.csv", FORMER_CODES_COLUMNS,
             ([old, today, label] for old, today, label in tree.former if today in codes)),
            ("known_codes.csv", KNOWN_COLUMNS,
             ([c, k, label] for c, k, label in tree.known if c not in codes))):
        write_atomic(catalog / name, _csv(columns, rows))
        out.regenerated.append(name)
    for name, text in (("glossary.yaml", GLOSSARY), ("providers.yaml", PROVIDERS)):
        if not (catalog / name).exists():
            write_atomic(catalog / name, text)
            out.created.append(name)
    cells = _cells(tree, out.territories.entries)
    current_cells = _read_cells(catalog / "cells.yaml")
    out.cells = merge(cells, current_cells, state.get("cells", {}))
    if out.cells.changed or not (catalog / "cells.yaml").exists():
        out.cells_rewritten = _write_cells(catalog / "cells.yaml", out.cells, current_cells)
    write_state(catalog, {"territories": generated, "cells": cells, "options": options})
    return out


def _csv(columns: tuple[str, ...], rows: Any) -> str:
    buffer = io.StringIO()
    writer = csv_safe.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def _read_territories(path: Path) -> dict[str, list[str]]:
    if not path.is_file():
        return {}
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline=""),
                            delimiter=";")
    return {row["code"]: [row.get(c) or "" for c in TERRITORY_COLUMNS[1:]] for row in reader
            if row.get("code")}


def _cells(tree: Tree, territories: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """A CCAS and a CLSPD cell per commune of the workspace, and the observatory's cell."""
    out: dict[str, dict[str, Any]] = {}
    roots = [r for r in tree.roots if r in territories]
    names = ", ".join(territories[r][1] for r in roots[:3]) + (" ..." if len(roots) > 3 else "")
    out["observatoire"] = {"id": "observatoire", "name": f"Observatoire social – {names}",
                           "kind": "observatory", "scope": roots, "themes": ALL_THEMES,
                           "members": [], "schedule": "immediate", "reviewed_only": False}
    for code, (kind, name, _parent, _pop) in territories.items():
        if kind != "commune":
            continue
        key = code.lower()  # cell ids are lower case: Corsica's 2A004 -> ccas-2a004
        out[f"ccas-{key}"] = {"id": f"ccas-{key}", "name": f"CCAS {of(name)}", "kind": "ccas",
                               "scope": [code], "themes": CCAS_THEMES, "members": [],
                               "schedule": "monthly", "reviewed_only": True}
        out[f"clspd-{key}"] = {"id": f"clspd-{key}",
                                "name": f"Cellule de veille du CLSPD {of(name)}",
                                "kind": "clspd", "scope": [code], "themes": CLSPD_THEMES,
                                "members": [], "schedule": "weekly", "reviewed_only": True}
    return out


def of(name: str) -> str:
    """French "de" before a commune's name: d'Aboën, du Chambon (Le), des Ollières (Les)."""
    for article, contracted in (("Le ", "du "), ("Les ", "des ")):
        if name.startswith(article):
            return contracted + name[len(article):]
    if name[:1].lower() in "aeiouyàâäéèêëîïôöùûüœ":
        return f"d'{name}"
    return f"de {name}"


def _read_cells(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cells = data.get("cells") if isinstance(data, dict) else None
    return {str(c.get("id")): c for c in cells or [] if isinstance(c, dict)}


CELLS_HEADER = """\
# Cellules de veille : qui reçoit quelles nouvelles, pour quel territoire, et quand.
# veille init en écrit une par CCAS et par CLSPD de chaque commune, et celle de
# l'observatoire. Ajoutez les destinataires (members: - name: ..., url: mailto://...)
# ou utilisez « veille cells add-member CELLULE NOM URL ». Valeurs permises : README.
cells:
"""


def _write_cells(path: Path, result: Merge, before: dict[str, Any]) -> bool:
    """Edit the analyst's file in place, comments kept: the blocks of the cells init wrote
    and updates are replaced, new cells appended. The whole file is rewritten (and the
    command says so) only when that cannot be done. Returns True when it was rewritten."""
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        for key in result.updated:
            old = _cell_text(before[key])
            text = (text.replace(old, _cell_text(result.entries[key]))
                    if text.count(old) == 1 else "")
        text += ("" if not text or text.endswith("\n") else "\n") + "".join(
            _cell_text(result.entries[k]) for k in result.added)
        if text and _read_cells_text(text) == result.entries:
            write_atomic(path, text)
            return False
    rewritten = path.is_file()
    write_atomic(path, CELLS_HEADER + "".join(_cell_text(c) for c in result.entries.values()))
    return rewritten


def _read_cells_text(text: str) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return None
    cells = data.get("cells") if isinstance(data, dict) else None
    return {str(c.get("id")): c for c in cells or [] if isinstance(c, dict)}


def _cell_text(cell: dict[str, Any]) -> str:
    """One cell as block YAML; scalars as JSON strings, which YAML reads unchanged."""
    lines = [f"  - id: {json.dumps(cell['id'])}"]
    for key, value in cell.items():
        if key != "id":
            lines.append(f"    {key}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"
