"""Small inline SVG charts written by hand, a few hundred bytes each.

The review queue shows hundreds of shifts and the portrait thousands of trend panels:
drawn as plain SVG paths (tens of microseconds each) they render fast in the browser and
in WeasyPrint's PDF, where matplotlib's SVG (clip paths, styles, defs) made the portrait's
PDF several times slower. Masked or missing values are gaps, never zeros; the full chart
of one series (review page) is still drawn with matplotlib.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

WIDTH, HEIGHT, PAD = 150, 34, 3
INK, COMMUNE, AGGLO, BAND = "#1f4e79", "#c0392b", "#7f8c8d", "#dde8f2"

Values = Sequence[float | None]
XScale = Callable[[int], float]
YScale = Callable[[float], float]


def _scale(series: Sequence[Values], extra: Sequence[float], width: float, height: float,
           length: int) -> tuple[XScale, YScale]:
    shown = [v for values in series for v in values if v is not None] + list(extra)
    low, high = min(shown), max(shown)
    if high - low < 1e-12:
        low, high = low - 1, high + 1
    step = (width - 2 * PAD) / max(length - 1, 1)

    def x(i: int) -> float:
        return PAD + i * step

    def y(v: float) -> float:
        return height - PAD - (v - low) / (high - low) * (height - 2 * PAD)

    return x, y


def _path(values: Values, x: XScale, y: YScale, colour: str, width: float,
          dash: str = "") -> str:
    points: list[str] = []
    pen_up = True
    for i, v in enumerate(values):
        if v is None:
            pen_up = True
            continue
        points.append(f"{'M' if pen_up else 'L'}{x(i):.1f} {y(v):.1f}")
        pen_up = False
    if not points:
        return ""
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<path d="{" ".join(points)}" fill="none" stroke="{colour}" '
            f'stroke-width="{width}"{dashes}/>')


def _svg(parts: list[str], width: float, height: float) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img">{"".join(parts)}</svg>')


def sparkline(values: Values, *, marked: int | None = None,
              band: tuple[float, float] | None = None) -> str:
    """The series, the expected band at the marked point, the point itself."""
    if sum(v is not None for v in values) < 2:
        return ""
    x, y = _scale([values], list(band) if band else [], WIDTH, HEIGHT, len(values))
    parts: list[str] = []
    if band is not None and marked is not None:
        top, bottom = y(band[1]), y(band[0])
        parts.append(f'<rect x="{x(marked) - 3:.1f}" y="{top:.1f}" width="6" '
                     f'height="{max(bottom - top, 1):.1f}" fill="{BAND}"/>')
    parts.append(_path(values, x, y, INK, 1.3))
    point = values[marked] if marked is not None and 0 <= marked < len(values) else None
    if marked is not None and point is not None:
        parts.append(f'<circle cx="{x(marked):.1f}" cy="{y(point):.1f}" r="2.6" '
                     f'fill="{COMMUNE}"/>')
    return _svg(parts, WIDTH, HEIGHT)


PANEL_W, PANEL_H, AXIS_W, LABEL_W, FOOT = 150, 34, 40, 70, 12
FONT = "DejaVu Sans, Arial, sans-serif"


def panels(series: Sequence[tuple[str, str, Values]], first: str, last: str,
           label: Callable[[float], str]) -> str | None:
    """Small multiples: one panel per territory (``(name, colour, values)``, this
    territory first), each on its own vertical scale so a neighbourhood's change is not flattened by
    the agglomeration's level; each panel's lowest and highest values written on its axis,
    its last published value and name at its end, the first and last years under the
    last panel. None when this territory has fewer than two published points.

    Drawn with few SVG elements (the portrait has a thousand of these, and WeasyPrint's
    cost is per element): all the panels' guide lines in one path, their axes in another,
    no groups or transforms; text attributes shared on one group."""
    if not series or sum(v is not None for v in series[0][2]) < 2:
        return None
    shown = [(name, colour, values) for name, colour, values in series
             if sum(v is not None for v in values) >= 2]
    width = AXIS_W + PANEL_W + LABEL_W
    height = len(shown) * (PANEL_H + 2) + FOOT
    guides: list[str] = []
    axes: list[str] = []
    curves: list[str] = []
    texts: list[str] = []
    for i, (name, colour, values) in enumerate(shown):
        top = i * (PANEL_H + 2)
        sx, sy = _scale([values], [], PANEL_W, PANEL_H, len(values))

        def x(j: int, sx: XScale = sx) -> float:
            return AXIS_W + sx(j)

        def y(v: float, sy: YScale = sy, top: int = top) -> float:
            return top + sy(v)

        low = min(v for v in values if v is not None)
        high = max(v for v in values if v is not None)
        guides.append(f"M{AXIS_W} {y(high):.1f}h{PANEL_W}M{AXIS_W} {y(low):.1f}h{PANEL_W}")
        axes.append(f"M{AXIS_W} {top}v{PANEL_H}")
        curves.append(_path(values, x, y, colour, 1.4))
        end, point = max((j, v) for j, v in enumerate(values) if v is not None)
        curves.append(f'<circle cx="{x(end):.1f}" cy="{y(point):.1f}" r="1.8" '
                      f'fill="{colour}"/>')
        texts.append(_label(AXIS_W - 2, y(high) + 3, label(high), anchor="end"))
        if high - low > 1e-12:
            texts.append(_label(AXIS_W - 2, y(low) + 3, label(low), anchor="end"))
        texts.append(_label(AXIS_W + PANEL_W + 4, top + 13, label(point), size=8.5,
                            colour=colour, bold=True))
        texts.append(_label(AXIS_W + PANEL_W + 4, top + 25, name))
    foot = height - 2
    texts.append(_label(AXIS_W, foot, first))
    texts.append(_label(AXIS_W + PANEL_W, foot, last, anchor="end"))
    parts = [f'<path d="{"".join(guides)}" fill="none" stroke="#e3e3e3" '
             f'stroke-width="0.6"/>',
             f'<path d="{"".join(axes)}" fill="none" stroke="#999" stroke-width="0.6"/>',
             *curves,
             f'<g font-family="{FONT}" font-size="7.2" fill="#555">{"".join(texts)}</g>']
    return _svg(parts, width, height)


def _label(x: float, y: float, text: str, *, size: float | None = None,
           anchor: str = "start", colour: str | None = None, bold: bool = False) -> str:
    """A text of ``panels``: only what differs from its group's font, size and colour."""
    extra = (f' font-size="{size}"' if size else "") + (
        f' text-anchor="{anchor}"' if anchor != "start" else "") + (
        f' fill="{colour}"' if colour else "") + (' font-weight="bold"' if bold else "")
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(text)}</text>'
