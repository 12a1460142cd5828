"""Outlines ready to draw: projected to Lambert-93 and simplified to the drawing's size.

Lambert-93 (EPSG:2154) is the official projection of metropolitan France: its units are
metres, so a scale bar is a plain length and shapes keep their proportions. Simplifying to
half a pixel of the final drawing keeps an SVG of 320 communes to tens of kilobytes
without a visible change.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from veille.catalog import Catalog
from veille.maps.contours import contour_files, load_contours

LAMBERT_93 = "EPSG:2154"
_TO_LAMBERT = pyproj.Transformer.from_crs("EPSG:4326", LAMBERT_93, always_xy=True)

Shapes = Mapping[str, BaseGeometry]


def _lambert(coords: np.ndarray) -> np.ndarray:
    x, y = _TO_LAMBERT.transform(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


def project(shapes: Shapes) -> dict[str, BaseGeometry]:
    """Longitude/latitude outlines in Lambert-93 metres."""
    codes = list(shapes)
    projected = shapely.transform(np.array([shapes[c] for c in codes], dtype=object),
                                  _lambert)
    return dict(zip(codes, projected, strict=True))


def bounds(shapes: Iterable[BaseGeometry]) -> tuple[float, float, float, float]:
    """The bounding box (minx, miny, maxx, maxy) of several shapes."""
    box = shapely.total_bounds(np.array(list(shapes), dtype=object))
    return float(box[0]), float(box[1]), float(box[2]), float(box[3])


def simplify(shapes: Shapes, width_px: float) -> dict[str, BaseGeometry]:
    """Each shape simplified to half a pixel of a drawing ``width_px`` wide."""
    if not shapes:
        return {}
    minx, miny, maxx, maxy = bounds(shapes.values())
    tolerance = max(maxx - minx, maxy - miny) / width_px / 2
    codes = list(shapes)
    simple = shapely.simplify(np.array([shapes[c] for c in codes], dtype=object), tolerance,
                              preserve_topology=True)
    return dict(zip(codes, simple, strict=True))


_cache: dict[tuple, dict[str, BaseGeometry]] = {}
_lock = threading.Lock()


def projected_contours(catalog: Catalog) -> dict[str, BaseGeometry]:
    """The catalog's valid contours in Lambert-93, read once per version of the files
    (the site asks for them on every page)."""
    files = contour_files(catalog)
    key = (str(catalog.root), tuple((p.name, p.stat().st_mtime_ns) for p in files),
           len(catalog.territories))
    with _lock:
        if key not in _cache:
            _cache.clear()
            _cache[key] = project(load_contours(catalog).shapes) if files else {}
        return _cache[key]
