"""The site's maps: a shift's territory among its neighbours (shift page, and a lazy
thumbnail in the review queue), and a small locator map on a series page.

Neighbours are the territories of the same kind whose outline touches the shift's; each
shows its **published** value of the same indicator and period (the site's
``PublishedCache``, through the persisted mask), a secret one is hatched, and the other
active detections of that indicator and period are outlined, so that a shift sitting in
three adjoining neighbourhoods shows as such, and a lone one as alone.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from portrait.published import Published
from portrait.render import fmt_value
from veille.catalog import Catalog
from veille.maps.contours import contour_files
from veille.maps.projection import projected_contours, simplify
from veille.maps.svg import Area, MapSpec, choropleth, locator
from veille.periods import label_fr

NEIGHBOUR_MAP_WIDTH = 420
THUMBNAIL_WIDTH = 150
TOUCH_METRES = 30.0
"""Outlines closer than this touch (contour files are simplified: borders do not meet
exactly)."""


def _same_kind(catalog: Catalog, code: str, shapes: dict[str, BaseGeometry]) -> list[str]:
    kind = catalog.territories[code].kind
    return [c for c, t in catalog.territories.items() if t.kind is kind and c in shapes]


_touching: list[tuple[dict, set[str]]] = []
"""The last contours seen (kept alive, compared by identity) and their touching codes."""


def with_neighbours(catalog: Catalog) -> set[str]:
    """Codes whose outline touches another of their kind (those get a neighbour map),
    computed once per version of the contours with an STR-tree."""
    shapes = projected_contours(catalog)
    if not _touching or _touching[0][0] is not shapes:
        found: set[str] = set()
        by_kind: dict[str, list[str]] = {}
        for code in shapes:
            if code in catalog.territories:
                by_kind.setdefault(catalog.territories[code].kind.value, []).append(code)
        for codes in by_kind.values():
            geometries = np.array([shapes[c] for c in codes], dtype=object)
            tree = shapely.STRtree(geometries)
            left, right = tree.query(shapely.buffer(geometries, TOUCH_METRES),
                                     predicate="intersects")
            found.update(codes[i] for i, j in zip(left, right, strict=True) if i != j)
        _touching[:] = [(shapes, found)]
    return _touching[0][1]


def neighbours(catalog: Catalog, code: str) -> list[str]:
    """``code`` and the territories of its kind whose outline touches it."""
    shapes = projected_contours(catalog)
    if code not in shapes:
        return []
    near = shapes[code].buffer(TOUCH_METRES)
    return [code] + [c for c in _same_kind(catalog, code, shapes)
                     if c != code and near.intersects(shapes[c])]


def neighbour_map(catalog: Catalog, values: Published, row: dict,
                  detected: set[str], thumbnail: bool = False) -> str | None:
    """The shift's territory (outlined in blue) among its neighbours, with their published
    values of the shift's indicator and period; ``detected``: territories with an active
    detection of that indicator and period (outlined in black); ``thumbnail``: the shapes
    alone, 150 px wide, for the queue."""
    codes = neighbours(catalog, row["territory"])
    if len(codes) < 2:
        return None
    indicator = catalog.indicators[row["indicator"]]
    period = str(row["period"])
    areas = [Area(c, catalog.territories[c].name, values.value(indicator.code, c, period),
                  hidden=values.is_masked(indicator.code, c, period),
                  shifted=c in detected and c != row["territory"],
                  focus=c == row["territory"]) for c in codes]
    shapes = projected_contours(catalog)
    unit = f" ({indicator.unit})" if indicator.unit != "nombre" else ""
    files = ", ".join(p.name for p in contour_files(catalog))
    width = THUMBNAIL_WIDTH if thumbnail else NEIGHBOUR_MAP_WIDTH
    return choropleth(areas, simplify({c: shapes[c] for c in codes}, width),
                      MapSpec(title=f"{indicator.label}{unit}, {label_fr(period)}",
                              source=f"Valeurs publiées ; fond : {files}",
                              fmt=lambda v: fmt_value(v, indicator.kind, indicator.unit),
                              polarity=indicator.polarity, uid=f"n-{row['shift_id']}",
                              width=width, max_height=100 if thumbnail else 260,
                              focus_label="ce territoire",
                              shift_label="autre évolution détectée", legend=not thumbnail))


def locator_map(catalog: Catalog, code: str) -> str | None:
    """``code`` in dark blue among the territories of its kind (a quartier among those of
    its commune), for the series page."""
    shapes = projected_contours(catalog)
    if code not in shapes:
        return None
    territory = catalog.territories[code]
    others = [c for c in _same_kind(catalog, code, shapes)
              if territory.kind.value == "commune"
              or catalog.commune_of(c) == catalog.commune_of(code)]
    return locator(simplify({c: shapes[c] for c in others}, 160), code)
