"""A table's header read as the convention names it: a column found only after trimming and
case/accent normalisation is renamed to the convention's name, and the report says so."""

from __future__ import annotations

from connectors.columns import named_columns
from connectors.names import plain
from connectors.read import Table
from veille.model import Convention


def match_headers(table: Table, conv: Convention) -> list[str]:
    """Rename, in ``table``, each column that matches a name of the convention only once
    normalised (and only one column does); return one note per renaming."""
    present = set(table.columns)
    by_key: dict[str, list[str]] = {}
    for column in table.columns:
        by_key.setdefault(plain(column), []).append(column)
    renames: dict[str, str] = {}
    for wanted, _role, _structural in named_columns(conv):
        if wanted in present or wanted in renames.values():
            continue
        hits = [c for c in by_key.get(plain(wanted), []) if c not in renames]
        if len(hits) == 1:
            renames[hits[0]] = wanted
    if not renames:
        return []
    table.columns = [renames.get(c, c) for c in table.columns]
    table.frame = table.frame.rename(columns=renames)
    return [f"colonne « {found} » du fichier lue comme « {wanted} » (en-tête normalisé) / "
            f"file column '{found}' read as '{wanted}' (header normalised)"
            for found, wanted in renames.items()]
