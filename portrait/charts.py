"""Charts as SVG, drawn with matplotlib from values that already passed secrecy.

Two kinds: the portrait's trend chart (small, no axes: the territory, its commune and the
agglomeration; the period range is written beside it in the page) and the review page's
chart of one series (history, the baseline and its interval, the detected change, the
segments of the whole history, definition breaks and revisions).

A portrait holds thousands of trend charts, so one figure is drawn once and its lines'
data are swapped for each chart (about 3 ms a chart, against ~30 ms for a fresh figure).
A masked or missing value is a gap (NaN), never zero.
"""

from __future__ import annotations

import io
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text (smaller, selectable)
matplotlib.rcParams["svg.hashsalt"] = "veille"  # stable ids: same input, same file

INK = "#1f4e79"
COMMUNE = "#c0392b"
AGGLO = "#7f8c8d"
BAND = "#dde8f2"
_HEADER = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


def _nan(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = _METADATA.sub("", _HEADER.sub("", buffer.getvalue(), count=1))
    return text.strip()


class TrendChart:
    """Reusable small chart: up to three series on one shared period axis."""

    def __init__(self, width: float = 2.2, height: float = 0.62) -> None:
        self._lock = threading.Lock()
        self.fig = Figure(figsize=(width, height))
        FigureCanvasSVG(self.fig)
        self.ax = self.fig.add_axes((0.02, 0.08, 0.96, 0.84))
        self.ax.set_axis_off()
        self.fig.patch.set_visible(False)  # fewer SVG elements: WeasyPrint draws each one
        (self.agglo,) = self.ax.plot([], [], color=AGGLO, lw=0.9, ls=(0, (2, 1.5)))
        (self.commune,) = self.ax.plot([], [], color=COMMUNE, lw=0.9, ls=(0, (4, 1.5)))
        (self.main,) = self.ax.plot([], [], color=INK, lw=1.5)
        (self.last,) = self.ax.plot([], [], "o", color=INK, ms=3)
        for line in (self.agglo, self.commune, self.main, self.last):
            line.set_clip_on(False)

    def svg(self, values: Sequence[float | None], commune: Sequence[float | None] | None = None,
            agglomeration: Sequence[float | None] | None = None) -> str | None:
        """SVG text, or None when fewer than two points may be shown."""
        main = _nan(values)
        if sum(not math.isnan(v) for v in main) < 2:
            return None
        x = list(range(len(main)))
        with self._lock:
            self.main.set_data(x, main)
            self.commune.set_data(x, _nan(commune) if commune else [math.nan] * len(x))
            self.agglo.set_data(x, _nan(agglomeration) if agglomeration else [math.nan] * len(x))
            last = max(i for i, v in enumerate(main) if not math.isnan(v))
            self.last.set_data([last], [main[last]])
            finite = [v for series in (main, _nan(commune or []), _nan(agglomeration or []))
                      for v in series if not math.isnan(v)]
            low, high = min(finite), max(finite)
            pad = (high - low) * 0.08 or abs(high) * 0.05 or 1.0
            self.ax.set_xlim(-0.5, len(x) - 0.5)
            self.ax.set_ylim(low - pad, high + pad)
            return _svg(self.fig)


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
