"""Small inline SVG charts written by hand, a few hundred bytes each.

The review queue shows hundreds of shifts and the portrait thousands of trend charts:
drawn as plain SVG paths (tens of microseconds each) they render fast in the browser and
in WeasyPrint's PDF, where matplotlib's SVG (clip paths, styles, defs) made the portrait's
PDF several times slower. Masked or missing values are gaps, never zeros; the full chart
of one series (review page) is still drawn with matplotlib.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def trend(values: Values, commune: Values | None = None, agglomeration: Values | None = None,
          *, width: float = 160, height: float = 45) -> str | None:
    """A territory's trend with its commune (dashed red) and agglomeration (dotted grey)
    on the same axis, the last published point marked; None under two points."""
    if sum(v is not None for v in values) < 2:
        return None
    series = [s for s in (values, commune, agglomeration) if s]
    x, y = _scale(series, [], width, height, len(values))
    parts = [_path(agglomeration, x, y, AGGLO, 0.9, "2 1.5") if agglomeration else "",
             _path(commune, x, y, COMMUNE, 0.9, "4 1.5") if commune else "",
             _path(values, x, y, INK, 1.5)]
    last, point = max((i, v) for i, v in enumerate(values) if v is not None)
    parts.append(f'<circle cx="{x(last):.1f}" cy="{y(point):.1f}" r="2" fill="{INK}"/>')
    return _svg(parts, width, height)
