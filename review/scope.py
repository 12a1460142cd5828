"""Territorial scope: which territories, cells and notes a person may see.

Every page and API call asks here, on the server; changing a code in a URL changes
nothing. Analysts see everything; a CCAS director their commune and what lies inside it; a
CLSPD member their commune's neighbourhoods (and the commune's portrait); a reader only the
published portrait.
"""

from __future__ import annotations

from fastapi import HTTPException

from review.auth import User
from veille.catalog import Catalog
from veille.model import Cell, CellKind

OUT_OF_SCOPE = "Ce territoire n'est pas dans votre périmètre."


def can_read_series(user: User, catalog: Catalog, territory: str) -> bool:
    if territory not in catalog.territories:
        return False
    if user.role == "analyst":
        return True
    if user.role == "ccas" and user.commune:
        return catalog.within([user.commune], territory)
    if user.role == "clspd" and user.commune:
        return catalog.within(list(user.scope), territory)
    return False


def check_series(user: User, catalog: Catalog, territory: str) -> None:
    if territory not in catalog.territories:
        raise HTTPException(status_code=404, detail="Territoire inconnu.")
    if not can_read_series(user, catalog, territory):
        raise HTTPException(status_code=403, detail=OUT_OF_SCOPE)


def can_read_commune_note(user: User, commune: str) -> bool:
    if user.role in ("analyst", "reader"):
        return True
    return user.commune == commune


def cell_in_scope(user: User, catalog: Catalog, cell: Cell) -> bool:
    """A cell is someone's if it is of their kind and all its territory lies in their
    commune (an observatory cell covering the agglomeration belongs to analysts only)."""
    if user.role == "analyst":
        return True
    kind = {"ccas": CellKind.CCAS, "clspd": CellKind.CLSPD}.get(user.role)
    if kind is None or cell.kind is not kind or not user.commune or not cell.scope:
        return False
    return all(catalog.within([user.commune], code) for code in cell.scope)


def check_cell(user: User, catalog: Catalog, cell: Cell | None) -> Cell:
    if cell is None:
        raise HTTPException(status_code=404, detail="Cellule inconnue.")
    if not cell_in_scope(user, catalog, cell):
        raise HTTPException(status_code=403, detail="Cette cellule n'est pas la vôtre.")
    return cell
