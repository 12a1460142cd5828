"""A few-hundred-byte inline SVG for each row of the review queue.

The queue shows hundreds of shifts at once and must render in well under a second, so its
small charts are written directly as SVG paths (tens of microseconds each); the shift page
draws the full matplotlib chart. Masked values are gaps, as everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

WIDTH, HEIGHT, PAD = 150, 34, 3


def sparkline(values: Sequence[float | None], *, marked: int | None = None,
              band: tuple[float, float] | None = None) -> str:
    """SVG markup: the series, the expected band at the marked point, the point itself."""
    shown = [v for v in values if v is not None]
    if len(shown) < 2:
        return ""
    extra = list(band) if band else []
    low, high = min(shown + extra), max(shown + extra)
    if high - low < 1e-12:
        low, high = low - 1, high + 1
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)

    def y(v: float) -> float:
        return HEIGHT - PAD - (v - low) / (high - low) * (HEIGHT - 2 * PAD)

    parts: list[str] = []
    if band is not None and marked is not None:
        top, bottom = y(band[1]), y(band[0])
        parts.append(f'<rect x="{PAD + marked * step - 3:.1f}" y="{top:.1f}" width="6" '
                     f'height="{max(bottom - top, 1):.1f}" fill="#dde8f2"/>')
    path: list[str] = []
    pen_up = True
    for i, v in enumerate(values):
        if v is None:
            pen_up = True
            continue
        path.append(f"{'M' if pen_up else 'L'}{PAD + i * step:.1f} {y(v):.1f}")
        pen_up = False
    parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="#1f4e79" '
                 f'stroke-width="1.3"/>')
    point = values[marked] if marked is not None and 0 <= marked < len(values) else None
    if marked is not None and point is not None:
        parts.append(f'<circle cx="{PAD + marked * step:.1f}" cy="{y(point):.1f}" '
                     f'r="2.6" fill="#c0392b"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img">{"".join(parts)}</svg>')
