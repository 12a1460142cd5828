"""A choropleth as SVG: one shape per territory, the legend's classes with their bounds,
the hatched secret cells explained in the legend, and nothing in a hidden cell's drawing
that depends on its value."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np

from demo.contours import demo_shapes
from demo.geography import build_geography
from veille.maps.classes import JENKS_FROM, classify, palette
from veille.maps.svg import Area, MapSpec, choropleth, locator
from veille.model import Polarity

SVG = "{http://www.w3.org/2000/svg}"
GEO = build_geography(np.random.default_rng(2026))
SHAPES = demo_shapes(GEO, 2026)
QUARTIERS = [q for q in GEO.quartiers if q.commune == "99001"]


def _spec(polarity: Polarity = Polarity.UP_IS_BAD) -> MapSpec:
    return MapSpec(title="Part des allocataires au RSA (%), 2025", source="Source : CAF",
                   fmt=lambda v: f"{v:.1f}".replace(".", ",") + " %", polarity=polarity,
                   uid="99001-part_rsa")


def _areas(secret_value: float) -> list[Area]:
    values = [12.0, 18.5, 25.25, 31.0, 44.5, secret_value]
    return [Area(q.code, q.name, v, hidden=(n == 5), shifted=(n == 1))
            for n, (q, v) in enumerate(zip(QUARTIERS, values, strict=True))]


def _paths(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {p.get("data-code", ""): p for p in root.iter(f"{SVG}path")
            if (p.get("class") or "").startswith("area")}


def test_one_shape_per_territory_classes_in_the_legend_and_hatched_secrets() -> None:
    svg = choropleth(_areas(7.0), SHAPES, _spec())
    assert svg is not None
    paths = _paths(svg)
    assert sorted(paths) == sorted(q.code for q in QUARTIERS)
    classes = classify([12.0, 18.5, 25.25, 31.0, 44.5], Polarity.UP_IS_BAD)
    assert classes is not None and classes.method == "quantiles"  # five values < JENKS_FROM
    legend = ET.fromstring(svg).find(f".//{SVG}g[@class='legend']")
    assert legend is not None
    entries = [" ".join(t.text or "" for t in g.iter(f"{SVG}text"))
               for g in legend.iter(f"{SVG}g")
               if (g.get("class") or "").startswith("legend-entry")]
    fmt = _spec().fmt
    bounds = [f"{fmt(lo)} – {fmt(hi)}" for lo, hi in classes.ranges()]
    assert [e for e in entries if " – " in e] == bounds[::-1]  # highest class on top
    assert bounds[0].startswith("12,0 %") and bounds[-1].endswith("44,5 %")
    assert "secret statistique" in entries and "évolution confirmée" in entries
    # every published area is filled with its class's colour
    for area in _areas(7.0)[:5]:
        path = paths[area.code]
        index = classes.of(area.value or 0)
        assert path.get("class") == f"area c{index}"
        assert path.get("fill") == classes.colours[index]
    hidden = paths[QUARTIERS[5].code]
    assert hidden.get("class") == "area secret"
    assert hidden.get("fill") == "url(#h-99001-part_rsa)"
    assert ET.fromstring(svg).find(f".//{SVG}pattern[@id='h-99001-part_rsa']") is not None
    title = hidden.find(f"{SVG}title")
    assert title is not None and title.text == f"{QUARTIERS[5].name} : secret statistique"
    assert 'class="shift"' in svg and "km</text>" in svg and "Source : CAF" in svg


def test_no_secret_value_is_recoverable_from_the_drawing() -> None:
    drawings = {choropleth(_areas(value), SHAPES, _spec()) for value in (0.5, 20.0, 99.0)}
    assert len(drawings) == 1  # the hidden value changes nothing: colour, classes, legend
    svg = drawings.pop()
    assert svg is not None
    hidden = _paths(svg)[QUARTIERS[5].code]
    assert not re.search(r"\bc\d\b", hidden.get("class") or "")  # no fill class
    assert "99,0" not in svg and "0,5 %" not in svg


def test_palettes_respect_polarity_and_jenks_takes_long_lists() -> None:
    bad, good = palette(Polarity.UP_IS_BAD, 5), palette(Polarity.UP_IS_GOOD, 5)
    assert good == bad[::-1]  # the darkest is where the situation calls for attention
    assert palette(Polarity.NEUTRAL, 5) != bad
    rng = np.random.default_rng(3)
    values = list(np.concatenate([rng.normal(10, 1, 40), rng.normal(30, 1, 10)]))
    classes = classify(values, Polarity.NEUTRAL)
    assert classes is not None and classes.method == "jenks" and len(values) >= JENKS_FROM
    # natural breaks put the gap between the two groups on a class bound: no class mixes them
    low = {classes.of(v) for v in values[:40]}
    high = {classes.of(v) for v in values[40:]}
    assert low.isdisjoint(high)


def test_a_locator_shows_the_territory_among_the_others() -> None:
    communes = {c: SHAPES[c] for c, _ in GEO.communes}
    svg = locator(communes, "99003")
    assert svg is not None
    root = ET.fromstring(svg)
    assert len(list(root.iter(f"{SVG}path"))) == len(communes)
    assert root.find(f".//{SVG}path[@data-code='99003']") is not None
    assert locator(communes, "nowhere") is None
