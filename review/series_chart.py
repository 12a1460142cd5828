"""The series page's chart: the whole published history, large, with labelled axes, the
detections' baseline and its interval, the detected changes, the definition breaks and
the revised values marked, and the last value written. Drawn with matplotlib as SVG from
values that already passed secrecy (a masked value is a gap, never zero)."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from veille.periods import Periodicity, periodicity_of
from veille.wording import fmt, when

matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["svg.hashsalt"] = "veille"

INK, BAND, EXPECTED, CHANGE, BREAK, REVISED = ("#1f4e79", "#f5cba7", "#a04000", "#c0392b",
                                               "#8e44ad", "#16a085")
_BEFORE_SVG = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


@dataclass
class Change:
    """A detected change to mark: where, what, and what was expected there."""

    period: str
    label: str
    expected: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass
class SeriesFigure:
    periods: list[str]
    values: list[float | None]
    unit: str
    axis_label: str
    changes: list[Change] = field(default_factory=list)
    breaks: list[str] = field(default_factory=list)
    revised: list[str] = field(default_factory=list)


def _nan(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def _ticks(periods: list[str]) -> list[int]:
    """One tick a year (January, first quarter) or, for annual series, every few years."""
    if not periods:
        return []
    kind = periodicity_of(periods[0])
    if kind is Periodicity.ANNUAL:
        step = max(1, len(periods) // 10)
        return list(range(0, len(periods), step))
    first = "-01" if kind is Periodicity.MONTHLY else "-Q1"
    ticks = [i for i, p in enumerate(periods) if p.endswith(first)]
    if len(ticks) > 12:
        ticks = ticks[::2]
    return ticks or [0]


def series_figure_svg(chart: SeriesFigure) -> str:
    """The chart as an SVG document scaled to its container (viewBox, no fixed size)."""
    fig = Figure(figsize=(11, 4.6))
    FigureCanvasSVG(fig)
    ax = fig.add_axes((0.08, 0.24, 0.9, 0.7))
    x = list(range(len(chart.periods)))
    y = _nan(chart.values)
    index = {p: i for i, p in enumerate(chart.periods)}
    ax.plot(x, y, color=INK, lw=1.8, marker="o", ms=2.8, label="valeur publiée")
    for change in chart.changes:
        at = index.get(change.period)
        if at is None:
            continue
        ax.axvline(at, color=CHANGE, lw=1.2, ls="--", label="évolution détectée")
        late = at > 0.6 * len(x)  # the label on the side where there is room
        ax.annotate(change.label, (at, 0), xycoords=("data", "axes fraction"),
                    xytext=(-4 if late else 4, 6), textcoords="offset points", fontsize=8,
                    color=CHANGE, ha="right" if late else "left")
        if change.low is not None and change.high is not None:
            ax.fill_between([at - 0.8, at + 0.8], [change.low] * 2, [change.high] * 2,
                            color=BAND, alpha=0.8, label="intervalle attendu (référence)")
        if change.expected is not None:
            ax.plot([at - 0.8, at + 0.8], [change.expected] * 2, color=EXPECTED, lw=2.2,
                    label="valeur attendue (référence)")
    for period in chart.breaks:
        if period in index:
            ax.axvline(index[period], color=BREAK, lw=1.4, ls=":",
                       label="rupture de définition")
    revised = [index[p] for p in chart.revised if p in index and not math.isnan(y[index[p]])]
    if revised:
        ax.plot(revised, [y[i] for i in revised], "s", mfc="none", mec=REVISED, mew=1.5,
                ms=8, ls="none", label="valeur révisée")
    shown = [i for i, v in enumerate(y) if not math.isnan(v)]
    if shown:
        last = shown[-1]
        ax.annotate(f"{fmt(y[last], chart.unit)}\n{when(chart.periods[last])}", (last, y[last]),
                    xytext=(8, 0), textcoords="offset points", ha="left", va="center",
                    fontsize=9, color=INK, fontweight="bold")
    ticks = _ticks(chart.periods)
    ax.set_xticks(ticks)
    ax.set_xticklabels([chart.periods[i][:4] for i in ticks], fontsize=9)
    ax.set_xlim(-1, max(len(x), 1) + max(3, len(x) // 8))  # room for the last value
    ax.tick_params(axis="y", labelsize=9)
    ax.yaxis.set_major_formatter(lambda v, _pos: fmt(v, "", 0 if abs(v) >= 10 else 1))
    ax.grid(axis="y", color="#e5e5e5", lw=0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("Période (années)", fontsize=10)
    ax.set_ylabel(chart.axis_label, fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), loc="upper center", ncols=min(len(unique), 5),
              bbox_to_anchor=(0.5, -0.16), fontsize=9, frameon=False)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = _METADATA.sub("", _BEFORE_SVG.sub("", buffer.getvalue(), count=1)).strip()
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', svg, count=1)
