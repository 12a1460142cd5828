"""The auditor: from exactly what one viewer can see, every hidden cell's feasible interval.

A viewer sees the published cells of the territories their pages show (series pages and API
of their scope, digests of their cells, and the portrait: agglomeration, communes and
neighbourhoods, every period); every other cell is an unknown to them. For each cell the
secrecy rule protects (primary), the interval is solved by linear programming over every
relation linking what they see (``veille.secrecy_relations``); a cell is under-protected
when its interval is narrower than its protection level. A primary cell shown outright is
a leak too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from veille import secrecy, secrecy_relations
from veille.catalog import Catalog
from veille.errors import VeilleError
from veille.model import TerritoryKind
from veille.secrecy_intervals import intervals

PORTRAIT_KINDS = {TerritoryKind.EPCI, TerritoryKind.COMMUNE, TerritoryKind.QUARTIER,
                  TerritoryKind.DEPARTEMENT}
ROLES = ("all", "analyst", "ccas", "clspd", "reader")


class ViewerError(VeilleError):
    """A --viewer that names no role or an unknown territory."""

    hint = "Exemples : all, analyst, reader, ccas/99001, clspd/99001-bel-air."


@dataclass(frozen=True)
class Viewer:
    role: str
    scope: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.role + (f"/{','.join(self.scope)}" if self.scope else "")


def parse_viewer(text: str, catalog: Catalog) -> Viewer:
    role, _, rest = text.partition("/")
    scope = tuple(c for c in rest.split(",") if c)
    if role not in ROLES:
        raise ViewerError(f"rôle inconnu « {role} » (attendu : {', '.join(ROLES)})")
    if role in ("ccas", "clspd") and not scope:
        raise ViewerError(f"le rôle {role} demande un territoire : {role}/CODE")
    unknown = [c for c in scope if c not in catalog.territories]
    if unknown:
        raise ViewerError(f"territoire inconnu : {', '.join(unknown)}")
    return Viewer(role, scope)


def viewers(catalog: Catalog) -> list[Viewer]:
    """Every kind of viewer of a workspace: all combined, each role, each commune's CCAS
    director and each neighbourhood's CLSPD member."""
    out = [Viewer("all"), Viewer("reader")]
    for t in sorted(catalog.territories.values(), key=lambda t: t.code):
        if t.kind is TerritoryKind.COMMUNE:
            out.append(Viewer("ccas", (t.code,)))
        if t.kind is TerritoryKind.QUARTIER:
            out.append(Viewer("clspd", (t.code,)))
    return out


def visible(territories: pd.Series, viewer: Viewer, catalog: Catalog) -> np.ndarray:
    """Which rows' territories the viewer's pages show."""
    if viewer.role in ("all", "analyst"):
        return np.ones(len(territories), dtype=bool)
    seen: dict[str, bool] = {}
    for code in territories.unique():
        t = catalog.territories.get(code)
        shown = t is not None and t.kind in PORTRAIT_KINDS
        seen[code] = shown or (bool(viewer.scope) and catalog.within(list(viewer.scope), code))
    return territories.map(seen).to_numpy(dtype=bool)


@dataclass
class Finding:
    key: tuple[str, str, str]
    value: float | None
    lower: float
    upper: float
    protection: float


@dataclass
class Report:
    viewer: str
    hidden: int = 0
    protected_cells: int = 0
    under: list[Finding] = field(default_factory=list)
    pinned: int = 0                   # hidden counts recoverable exactly (any reason)
    shown_primary: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.under and not self.shown_primary


def audit(frame: pd.DataFrame, catalog: Catalog, masked: np.ndarray, viewer: Viewer,
          cells: secrecy_relations.Cells | None = None) -> Report:
    """Audit one publication: ``frame`` the true values, ``masked`` what it hides (aligned
    with ``frame``'s rows), as ``viewer`` sees it."""
    frame = frame.reset_index(drop=True)
    for column, default in (("numerator", None), ("denominator", None), ("status", "ok")):
        if column not in frame.columns:
            frame[column] = default
    if cells is None:
        cells = secrecy_relations.build(frame, catalog)
    primary = np.array([bool(r) for r in secrecy.primary(frame, catalog)])
    seen = visible(frame["territory"], viewer, catalog)
    unknown = masked | ~seen
    levels = {i: float(secrecy.protection_for(catalog, i)) for i in {k[0] for k in cells.keys}}
    protection = np.array([levels[k[0]] for k in cells.keys])
    targets = np.flatnonzero(masked & cells.additive)
    enough = np.where(protection > 0, protection, np.inf)   # pinned ones are still counted
    found = intervals(cells, unknown, [int(i) for i in targets], enough=enough)
    report = Report(viewer.label, hidden=int(masked.sum()))
    for i, (iv, _) in sorted(found.items()):
        if iv.width < 1e-6:
            report.pinned += 1
        if primary[i] and protection[i] > 0:
            report.protected_cells += 1
            if iv.width < protection[i] - 1e-6:
                value = cells.values[i]
                report.under.append(Finding(cells.keys[i], None if np.isnan(value) else
                                            float(value), iv.lower, iv.upper, protection[i]))
    report.shown_primary = [cells.keys[i] for i in np.flatnonzero(primary & ~masked & seen)]
    return report
