"""Choropleths and locator maps written as plain SVG: one ``<path>`` per territory.

Plain paths with fill attributes (no CSS, no clip paths) render the same in browsers and
in WeasyPrint's PDF, stay sharp at any zoom and cost little to lay out. A hidden (secret)
cell gets the hatch pattern and no class: its colour says nothing about its value, and its
tooltip says *secret statistique*. Every map carries its legend (class bounds, the hatch,
missing values, confirmed shifts), a scale bar and its source.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from html import escape

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from veille.maps.classes import Classes, classify
from veille.maps.projection import Shapes, bounds
from veille.model import Polarity

LEGEND_WIDTH = 142
PAD = 6
MISSING = "#e3e3e3"
HATCH_INK = "#666666"
EDGE = "#ffffff"
SHIFT_EDGE = "#111111"
FOCUS_EDGE = "#1f4e79"
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'


@dataclass(frozen=True)
class Area:
    """One territory on a map, with its published value only (None when not published)."""

    code: str
    name: str
    value: float | None
    hidden: bool = False
    """Secret: hatched, never coloured by a value."""
    shifted: bool = False
    """A confirmed shift of this indicator here: drawn with a thick outline."""
    focus: bool = False
    """The territory the page is about (the site's shift page)."""


@dataclass(frozen=True)
class MapSpec:
    title: str
    source: str
    fmt: Callable[[float], str]
    polarity: Polarity
    uid: str
    width: int = 470
    max_height: int = 300
    shift_label: str = "évolution confirmée"
    focus_label: str = ""
    legend: bool = True
    """False for a thumbnail: the shapes alone (no legend, scale bar or source)."""
    captioned: bool = False
    """The page's caption gives the title and the classification rule: the legend has the
    bounds only (each SVG text costs WeasyPrint a layout: the portrait has dozens of maps)."""


class _Frame:
    """Lambert-93 metres -> SVG pixels (y downwards) inside a box."""

    def __init__(self, shapes: Sequence[BaseGeometry], width: float, max_height: float) -> None:
        minx, miny, maxx, maxy = bounds(shapes)
        dx, dy = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
        self.scale = min((width - 2 * PAD) / dx, (max_height - 2 * PAD) / dy)
        self.height = dy * self.scale + 2 * PAD
        self.width = width
        self.x0 = PAD + (width - 2 * PAD - dx * self.scale) / 2 - minx * self.scale
        self.y0 = PAD + maxy * self.scale

    def path(self, geometry: BaseGeometry) -> str:
        parts: list[str] = []
        for polygon in shapely.get_parts(geometry):
            if polygon.geom_type != "Polygon":
                continue
            for ring in (polygon.exterior, *polygon.interiors):
                xy = np.asarray(ring.coords)[:-1]
                if len(xy) < 3:
                    continue
                px = np.round(self.x0 + xy[:, 0] * self.scale, 1)
                py = np.round(self.y0 - xy[:, 1] * self.scale, 1)
                points = " ".join(f"{x:g} {y:g}" for x, y in zip(px, py, strict=True))
                parts.append(f"M{points}Z")
        return "".join(parts)


def _uid(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)


def _hatch(uid: str) -> str:
    return (f'<pattern id="h-{uid}" width="6" height="6" patternUnits="userSpaceOnUse">'
            f'<rect width="6" height="6" fill="#ffffff"/>'
            f'<path d="M0 6L6 0M-1 1L1 -1M5 7L7 5" stroke="{HATCH_INK}" stroke-width="1.2"/>'
            "</pattern>")


def _nice_length(metres: float) -> float:
    """The largest 1, 2 or 5 x 10^n not above ``metres``."""
    exponent = math.floor(math.log10(max(metres, 1.0)))
    for step in (5, 2, 1):
        if step * 10 ** exponent <= metres:
            return float(step * 10 ** exponent)
    return float(10 ** exponent)


def _scale_bar(frame: _Frame, y: float) -> str:
    metres = _nice_length((frame.width - 2 * PAD) / 4 / frame.scale)
    length = metres * frame.scale
    label = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"
    label = label.replace(".", ",")
    return (f'<g class="scale-bar"><path d="M{PAD} {y - 4}V{y}H{PAD + length:.1f}V{y - 4}" '
            f'fill="none" stroke="#333" stroke-width="1"/>'
            f'<text x="{PAD + length + 4:.1f}" y="{y}" font-size="8" {FONT} '
            f'fill="#333">{label}</text></g>')


def _swatch(y: float, fill: str, label: str, css: str, edge: str = "#999",
            edge_width: float = 0.6) -> str:
    x = 0
    return (f'<g class="legend-entry {css}"><rect x="{x}" y="{y}" width="14" height="10" '
            f'fill="{fill}" stroke="{edge}" stroke-width="{edge_width}"/>'
            f'<text x="{x + 19}" y="{y + 8.5}" font-size="8" {FONT} fill="#222">'
            f"{escape(label)}</text></g>")


def _legend(spec: MapSpec, classes: Classes | None, areas: Sequence[Area], x: float) -> tuple[
        str, float]:
    lines = [f'<g class="legend" transform="translate({x:.1f} 0)">']
    words = spec.title.split()
    title: list[str] = []
    for word in words:  # wrap the title at ~26 characters
        if title and len(title[-1]) + len(word) < 26:
            title[-1] += " " + word
        else:
            title.append(word)
    y = 10.0
    for text in [] if spec.captioned else title:
        lines.append(f'<text x="0" y="{y}" font-size="8.5" font-weight="bold" {FONT} '
                     f'fill="#222">{escape(text)}</text>')
        y += 11
    if classes is not None:
        if not spec.captioned:
            lines.append(f'<text x="0" y="{y}" font-size="7" {FONT} fill="#555">'
                         f"{escape(classes.label)}</text>")
            y += 5
        ranges = classes.ranges()
        for index in reversed(range(len(ranges))):
            low, high = ranges[index]
            text = (spec.fmt(high) if classes.method == "single"
                    else f"{spec.fmt(low)} – {spec.fmt(high)}")
            lines.append(_swatch(y, classes.colours[index], text, f"class c{index}"))
            y += 13
    if any(a.hidden for a in areas):
        lines.append(_swatch(y, f"url(#h-{spec.uid})", "secret statistique",
                             "secret"))
        y += 13
    if any(a.value is None and not a.hidden for a in areas):
        lines.append(_swatch(y, MISSING, "non disponible", "missing"))
        y += 13
    if any(a.shifted for a in areas):
        lines.append(_swatch(y, "#ffffff", spec.shift_label, "shift", SHIFT_EDGE, 2))
        y += 13
    if spec.focus_label and any(a.focus for a in areas):
        lines.append(_swatch(y, "#ffffff", spec.focus_label, "focus", FOCUS_EDGE, 2))
        y += 13
    lines.append("</g>")
    return "".join(lines), y


def choropleth(areas: Sequence[Area], shapes: Shapes, spec: MapSpec) -> str | None:
    """The map of ``areas`` that have a shape (None when fewer than two do)."""
    drawn = [a for a in areas if a.code in shapes]
    if len(drawn) < 2:
        return None
    uid = _uid(spec.uid)
    spec = replace(spec, uid=uid)
    classes = classify([a.value for a in drawn if not a.hidden and a.value is not None],
                       spec.polarity)
    map_width = spec.width - LEGEND_WIDTH if spec.legend else spec.width
    frame = _Frame([shapes[a.code] for a in drawn], map_width, spec.max_height)
    body: list[str] = []
    for area in drawn:
        if area.hidden:
            fill, css, tip = f"url(#h-{uid})", "area secret", "secret statistique"
        elif area.value is None or classes is None:
            fill, css, tip = MISSING, "area missing", "non disponible"
        else:
            index = classes.of(area.value)
            fill, css, tip = classes.colours[index], f"area c{index}", spec.fmt(area.value)
        body.append(f'<path class="{css}" data-code="{escape(area.code)}" '
                    f'd="{frame.path(shapes[area.code])}" fill="{fill}" fill-rule="evenodd" '
                    f'stroke="{EDGE}" stroke-width="0.7">'
                    f"<title>{escape(area.name)} : {escape(tip)}</title></path>")
    for area in drawn:
        if area.shifted or area.focus:
            colour, width = (SHIFT_EDGE, 2.2) if area.shifted else (FOCUS_EDGE, 2.4)
            body.append(f'<path class="{"shift" if area.shifted else "focus"}" '
                        f'data-code="{escape(area.code)}" d="{frame.path(shapes[area.code])}" '
                        f'fill="none" stroke="{colour}" stroke-width="{width}"/>')
    extra = ""
    height = math.ceil(frame.height)
    if spec.legend:
        legend, legend_height = _legend(spec, classes, drawn, map_width + 8)
        bar_y = frame.height + 12
        source_y = bar_y + 13
        height = math.ceil(max(source_y + 4, legend_height + 4))
        extra = (f'{_scale_bar(frame, bar_y)}<text x="{PAD}" y="{source_y}" font-size="7" '
                 f'{FONT} fill="#555">{escape(spec.source)}</text>{legend}')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="map" width="{spec.width}" '
            f'height="{height}" viewBox="0 0 {spec.width} {height}" role="img" '
            f'aria-label="{escape(spec.title)}"><defs>{_hatch(uid)}</defs>'
            f'<g class="areas">{"".join(body)}</g>{extra}</svg>')


def locator(shapes: Shapes, focus: str, width: int = 160, max_height: int = 140) -> str | None:
    """A small map of every shape in grey with ``focus`` in dark blue (None without it)."""
    if focus not in shapes:
        return None
    frame = _Frame(list(shapes.values()), width, max_height)
    body = [f'<path d="{frame.path(g)}" fill="{MISSING}" stroke="{EDGE}" stroke-width="0.5"/>'
            for code, g in shapes.items() if code != focus]
    body.append(f'<path class="focus" data-code="{escape(focus)}" '
                f'd="{frame.path(shapes[focus])}" fill="{FOCUS_EDGE}" stroke="{EDGE}" '
                f'stroke-width="0.5"/>')
    height = math.ceil(frame.height)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="map locator" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="carte de situation">{"".join(body)}</svg>')
