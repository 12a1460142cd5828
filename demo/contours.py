"""Invented outlines for the demonstration territory: communes, quartiers, IRIS, QPV.

Each level partitions the one above, so neighbours share their borders exactly: the
agglomeration is a rounded convex outline; the communes are the Voronoi cells of points
spread inside it, each quartier a Voronoi cell of points inside its commune, each IRIS one
inside its quartier (every cell clipped to its parent; a Voronoi cell clipped to a convex
parent is convex, so no territory comes in pieces). A QPV is drawn over the IRIS it mostly
covers. The drawing is in Lambert-93 metres, written as longitude/latitude GeoJSON like a
real contour file; its own random stream (seeded by the demo's seed) leaves the demo's
figures unchanged, and the same seed gives the same map.
"""

from __future__ import annotations

import json

import numpy as np
import pyproj
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from demo.geography import EPCI_CODE, Geography

CENTRE = (655_000.0, 6_640_000.0)
"""Lambert-93 metres of the agglomeration's centre (an empty spot of the map: fiction)."""
RADIUS = 11_000.0
_TO_LON_LAT = pyproj.Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)


def _outline(rng: np.random.Generator) -> BaseGeometry:
    angles = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    radii = RADIUS * (1 + 0.18 * rng.uniform(-1, 1, angles.size))
    points = np.column_stack([CENTRE[0] + radii * np.cos(angles),
                              CENTRE[1] + 0.8 * radii * np.sin(angles)])
    return shapely.MultiPoint(points).convex_hull


def _spread(parent: BaseGeometry, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` points spread inside ``parent``: farthest-point seeds, then k-means."""
    minx, miny, maxx, maxy = parent.bounds
    inner = parent.buffer(-0.02 * max(maxx - minx, maxy - miny))
    inside = np.empty((0, 2))
    while len(inside) < max(count, 50):
        candidates = np.column_stack([rng.uniform(minx, maxx, 400),
                                      rng.uniform(miny, maxy, 400)])
        keep = shapely.contains_xy(inner if not inner.is_empty else parent,
                                   candidates[:, 0], candidates[:, 1])
        inside = np.vstack([inside, candidates[keep]])
    chosen = [int(rng.integers(len(inside)))]
    distance = np.hypot(*(inside - inside[chosen[0]]).T)
    while len(chosen) < count:
        chosen.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.hypot(*(inside - inside[chosen[-1]]).T))
    centres = inside[chosen]
    for _ in range(4):  # a few k-means steps pull the points off the border: even cells
        nearest = np.argmin(np.hypot(*(inside[:, None, :] - centres[None, :, :]).transpose(
            2, 0, 1)), axis=1)
        centres = np.array([inside[nearest == k].mean(axis=0) if np.any(nearest == k)
                            else centres[k] for k in range(count)])
    return centres


def _split(parent: BaseGeometry, count: int, rng: np.random.Generator) -> list[BaseGeometry]:
    """``parent`` cut into ``count`` convex cells that cover it exactly."""
    if count == 1:
        return [parent]
    points = shapely.MultiPoint(_spread(parent, count, rng))
    cells = shapely.voronoi_polygons(points, extend_to=parent, ordered=True)
    return [cell.intersection(parent) for cell in shapely.get_parts(cells)]


def demo_shapes(geo: Geography, seed: int) -> dict[str, BaseGeometry]:
    """Every territory's outline in Lambert-93 metres, keyed by code."""
    rng = np.random.default_rng([seed, 17])
    outline = _outline(rng)
    shapes: dict[str, BaseGeometry] = {EPCI_CODE: outline}
    communes = [code for code, _ in geo.communes]
    shapes.update(zip(communes, _split(outline, len(communes), rng), strict=True))
    for commune in communes:
        quartiers = [q for q in geo.quartiers if q.commune == commune]
        shapes.update(zip([q.code for q in quartiers],
                          _split(shapes[commune], len(quartiers), rng), strict=True))
        for q in quartiers:
            members = [i.code for i in geo.iris if i.quartier == q.code]
            shapes.update(zip(members, _split(shapes[q.code], len(members), rng),
                              strict=True))
    for qpv, links in geo.qpv_links.items():
        shapes[qpv] = shapely.union_all([shapes[iris] for iris, share in links
                                         if share >= 0.45])
    return shapes


def _lon_lat(coords: np.ndarray) -> np.ndarray:
    lon, lat = _TO_LON_LAT.transform(coords[:, 0], coords[:, 1])
    return np.round(np.column_stack([lon, lat]), 6)


def contours_geojson(geo: Geography, seed: int) -> str:
    """``catalog/contours/demo.geojson``: one feature per territory, in WGS84."""
    shapes = demo_shapes(geo, seed)
    kinds = {EPCI_CODE: "epci", **{c: "commune" for c, _ in geo.communes},
             **{q.code: "quartier" for q in geo.quartiers}, **{i.code: "iris" for i in geo.iris},
             **{q: "qpv" for q in geo.qpv_links}}
    features = [{"type": "Feature",
                 "properties": {"code": code, "nom": geo.name_of(code), "niveau": kinds[code]},
                 "geometry": mapping(shapely.transform(shape, _lon_lat))}
                for code, shape in shapes.items()]
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, separators=(",", ":"))
