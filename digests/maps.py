"""The digest's small map: the cell's territory with its alerts (``veille.maps.png``),
drawn only when the catalog has contours for them."""

from __future__ import annotations

from typing import Any

from veille.catalog import Catalog
from veille.maps.png import alerts_png
from veille.maps.projection import projected_contours, simplify
from veille.model import Cell, TerritoryKind

MAP_WIDTH = 320


def _base_codes(catalog: Catalog, code: str, shapes: dict) -> list[str]:
    """What a scope territory is drawn as: a commune as its quartiers (else itself), a
    larger territory as its communes."""
    territory = catalog.territories.get(code)
    if territory is None:
        return []
    if territory.kind is TerritoryKind.COMMUNE:
        quartiers = [c.code for c in catalog.children(code)
                     if c.kind is TerritoryKind.QUARTIER and c.code in shapes]
        return quartiers if len(quartiers) >= 2 else [code]
    if territory.kind in (TerritoryKind.EPCI, TerritoryKind.DEPARTEMENT, TerritoryKind.REGION):
        return [t.code for t in catalog.territories.values()
                if t.kind is TerritoryKind.COMMUNE and t.code in shapes
                and catalog.within([code], t.code)]
    return [code]


def cell_map(catalog: Catalog, cell: Cell, alerts: list[dict[str, Any]]) -> bytes | None:
    """PNG of the cell's scope with the territories of ``alerts`` in orange, or None."""
    shapes = projected_contours(catalog)
    alerted = {a["territory"] for a in alerts if a["territory"] in shapes}
    if not alerted:
        return None
    base = {c for code in cell.scope for c in _base_codes(catalog, code, shapes)
            if c in shapes}
    # in code order: a set's order changes with each process's hash seed, and so would
    # the drawing's bytes (both runners must write the same digest)
    drawn = simplify({c: shapes[c] for c in sorted(base | alerted)}, MAP_WIDTH)
    return alerts_png({c: drawn[c] for c in sorted(base)},
                      {c: drawn[c] for c in sorted(alerted)}, MAP_WIDTH)
