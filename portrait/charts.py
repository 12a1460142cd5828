"""Charts as SVG, drawn with matplotlib from values that already passed secrecy.

The review page's chart of one series: history, the baseline and its interval, the
detected change, the segments of the whole history, definition breaks and revisions. (The
portrait's thousands of small trend charts are hand-written SVG: ``veille.sparkline``.)
A masked or missing value is a gap (NaN), never zero.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from veille.sparkline import AGGLO, BAND, COMMUNE, INK

matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text (smaller, selectable)
matplotlib.rcParams["svg.hashsalt"] = "veille"  # stable ids: same input, same file

_HEADER = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


def _nan(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = _METADATA.sub("", _HEADER.sub("", buffer.getvalue(), count=1))
    return text.strip()


@dataclass
class SeriesChart:
    """Everything the review page draws for one series (all values already published)."""

    periods: list[str]
    values: list[float | None]
    shift_period: str
    expected: float | None = None
    interval: tuple[float, float] | None = None
    fitted: list[float | None] | None = None
    breaks: list[tuple[str, str]] = field(default_factory=list)
    revised: list[str] = field(default_factory=list)
    title: str = ""
    unit: str = ""


def series_svg(chart: SeriesChart) -> str:
    """The review chart, with axes and a legend in French."""
    fig = Figure(figsize=(7.2, 2.8))
    FigureCanvasSVG(fig)
    ax = fig.add_axes((0.08, 0.16, 0.7, 0.74))
    x = list(range(len(chart.periods)))
    y = _nan(chart.values)
    ax.plot(x, y, color=INK, lw=1.4, marker="o", ms=2.2, label="série publiée")
    if chart.fitted is not None:
        ax.plot(x, _nan(chart.fitted), color="#e67e22", lw=1.2, ls="-",
                label="segments (ruptures)")
    index = {p: i for i, p in enumerate(chart.periods)}
    at = index.get(chart.shift_period)
    if at is not None:
        ax.axvline(at, color=COMMUNE, lw=1, ls="--", label="évolution détectée")
        if chart.interval is not None:
            lo, hi = chart.interval
            ax.fill_between([at - 0.5, at + 0.5], [lo, lo], [hi, hi], color=BAND,
                            label="intervalle attendu")
        if chart.expected is not None:
            ax.plot([at], [chart.expected], marker="_", ms=12, mew=2, color=AGGLO,
                    ls="none", label="valeur attendue")
        if not math.isnan(y[at]):
            ax.plot([at], [y[at]], "o", color=COMMUNE, ms=5)
    for period, _note in chart.breaks:
        if period in index:
            ax.axvline(index[period], color="#8e44ad", lw=1, ls=":",
                       label="rupture de définition")
    revised = [index[p] for p in chart.revised if p in index]
    if revised:
        ax.plot(revised, [y[i] for i in revised], "s", mfc="none", mec="#16a085", ms=6,
                ls="none", label="valeur révisée")
    step = max(1, len(x) // 8)
    ax.set_xticks(x[::step])
    ax.set_xticklabels(chart.periods[::step], fontsize=7, rotation=0)
    ax.tick_params(axis="y", labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_ylabel(chart.unit, fontsize=7)
    if chart.title:
        ax.set_title(chart.title, fontsize=8, loc="left")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    fig.legend(unique.values(), unique.keys(), loc="center right", fontsize=6.5,
               frameon=False)
    return _svg(fig)
