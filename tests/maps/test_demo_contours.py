"""The demonstration's invented outlines: one per territory, each level a partition of the
one above (no gaps, no overlaps beyond a tolerance), the same seed the same map."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import shapely

from demo import generate
from demo.contours import contours_geojson, demo_shapes
from demo.geography import EPCI_CODE, build_geography
from veille.catalog import load_catalog
from veille.maps.contours import load_contours
from veille.maps.projection import project

TOLERANCE = 0.1
"""Metres: the mean width a gap or an overlap may have along the parent's outline (the file
rounds longitudes and latitudes to 6 decimals, about 0.1 m)."""


def _partition_error(parent: shapely.Geometry, parts: list[shapely.Geometry]
                     ) -> tuple[float, float]:
    union = shapely.union_all(parts)
    gap = parent.difference(union).area / parent.length
    overlap = sum(a.intersection(b).area for a, b in itertools.combinations(parts, 2))
    return gap, overlap / parent.length


def test_each_level_partitions_the_one_above(tmp_path: Path) -> None:
    generate(tmp_path / "demo", seed=2026)
    catalog = load_catalog(tmp_path / "demo" / "catalog")
    contours = load_contours(catalog)
    assert set(contours.shapes) == set(catalog.territories)  # one per territory
    assert contours.report.refused == [] and contours.report.repaired == []
    shapes = project(contours.shapes)  # as drawn: Lambert-93 metres, rounded WGS84 read back
    kinds = {c: t.kind.value for c, t in catalog.territories.items()}
    checked = 0
    for code, territory in catalog.territories.items():
        children = [c for c, t in catalog.territories.items() if t.parent == code
                    and kinds[c] != "qpv"]
        if territory.kind.value == "qpv" or not children:
            continue
        gap, overlap = _partition_error(shapes[code], [shapes[c] for c in children])
        assert gap < TOLERANCE and overlap < TOLERANCE, (code, gap, overlap)
        checked += 1
    assert checked == 1 + 8 + sum(1 for k in kinds.values() if k == "quartier")
    for code, shape in shapes.items():
        assert shape.is_valid and shape.geom_type == "Polygon", code  # never in pieces
    communes = [c for c, k in kinds.items() if k == "commune"]
    # neighbours share borders: every commune touches at least two others
    for code in communes:
        touching = [o for o in communes if o != code
                    and shapes[code].buffer(1).intersects(shapes[o])]
        assert len(touching) >= 2, code
    # a QPV lies in its commune
    for code, kind in kinds.items():
        if kind == "qpv":
            commune = catalog.territories[code].parent
            assert shapes[code].difference(shapes[commune]).area < TOLERANCE * shapes[
                code].length, code
    area_km2 = shapes[EPCI_CODE].area / 1e6
    assert 150 < area_km2 < 600  # an agglomeration's size


def test_the_same_seed_draws_the_same_map() -> None:
    geo = build_geography(np.random.default_rng(2026))
    assert contours_geojson(geo, 2026) == contours_geojson(geo, 2026)
    other = demo_shapes(geo, 7)
    assert not other["99001"].equals(demo_shapes(geo, 2026)["99001"])
    features = json.loads(contours_geojson(geo, 2026))["features"]
    assert len({f["properties"]["code"] for f in features}) == len(features)
