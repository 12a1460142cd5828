"""One delivery wave: screen -> statsmodels confirmation -> Benjamini-Hochberg -> findings."""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
from threadpoolctl import threadpool_limits

from detectors.batch import SeriesBatch
from detectors.confirm import Confirmed, ConfirmTask, confirm_many
from detectors.design import TEST_KINDS, Layout, Prepared, make_layout, prepare
from detectors.fdr import benjamini_hochberg, link_to_parents
from detectors.screen import screen_prepared

CHANGE_KINDS = TEST_KINDS


@dataclass(frozen=True)
class Finding:
    """A change at the wave's period that survived the wave-level false discovery control."""

    series: int
    key: tuple[str, str]
    period: str
    change: str  # 'spike' | 'dip' | 'level_shift' | 'trend_change' | 'gap_widening'
    direction: int  # +1 up, -1 down
    good_news: bool | None
    observed: float
    expected: float
    interval_low: float
    interval_high: float
    abs_change: float
    rel_change: float | None
    people: float | None
    p_value: float
    q_value: float
    method: str
    baseline: str
    explained_by: int | None = None


@dataclass
class WaveResult:
    findings: list[Finding]
    n_tests: int  # every test of the wave (the BH m)
    n_candidates: int  # tests confirmed with statsmodels
    n_series: int
    cutoff: float  # screen p-value cutoff
    pvalues: np.ndarray  # (n_series, 4) final p (NaN untested, 1 screened out)
    screen_pvalues: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    q: float = 0.05


def detect_wave(
    batch: SeriesBatch,
    q: float = 0.05,
    *,
    screen_floor: float = 0.002,
    screen_margin: float = 20.0,
    confirm_all: bool = False,
    parallel_threshold: int = 2000,
    max_workers: int | None = None,
    chunk_size: int = 400,
) -> WaveResult:
    """Detect the changes of the last period of ``batch`` with FDR ``q`` over the wave.

    ``confirm_all`` skips the screen (every testable test goes to statsmodels): the
    reference the screen is checked against.
    """
    t_start = time.perf_counter()
    with threadpool_limits(1):
        layout = make_layout(batch.n_periods, batch.season_length)
        prep = prepare(batch, layout)
        scr = screen_prepared(layout, prep, q, screen_floor, screen_margin)
    t_screen = time.perf_counter()
    chosen = scr.testable if confirm_all else scr.candidates
    tasks = _tasks(batch, prep, chosen)
    results = _run(tasks, layout, parallel_threshold, max_workers, chunk_size)
    t_confirm = time.perf_counter()

    pvalues = np.where(scr.testable, 1.0, np.nan)
    by_test: dict[tuple[int, int], Confirmed] = {}
    for r in results:
        j = TEST_KINDS.index(r.kind)
        pvalues[r.series, j] = r.pvalue
        by_test[(r.series, j)] = r
    reject, qvalues = benjamini_hochberg(pvalues.ravel(), q)
    reject = reject.reshape(pvalues.shape)
    qvalues = qvalues.reshape(pvalues.shape)
    findings = [
        _finding(batch, layout, prep, by_test[(int(i), int(j))], float(qvalues[i, j]))
        for i, j in np.argwhere(reject)
    ]
    links = link_to_parents(
        [f.series for f in findings],
        [_test_kind(f.change) for f in findings],
        [f.direction for f in findings],
        batch.parent,
    )
    findings = [replace(f, explained_by=e) for f, e in zip(findings, links, strict=True)]
    t_end = time.perf_counter()
    return WaveResult(
        findings=findings,
        n_tests=scr.n_tests,
        n_candidates=len(tasks),
        n_series=batch.n_series,
        cutoff=scr.cutoff,
        pvalues=pvalues,
        screen_pvalues=scr.pvalues,
        timings={
            "screen": t_screen - t_start,
            "confirm": t_confirm - t_screen,
            "fdr": t_end - t_confirm,
            "total": t_end - t_start,
        },
        q=q,
    )


def _test_kind(change: str) -> str:
    return "spike" if change == "dip" else change


def _tasks(batch: SeriesBatch, prep: Prepared, chosen: np.ndarray) -> list[ConfirmTask]:
    has_expo = (
        np.zeros(batch.n_series, dtype=bool)
        if batch.exposure is None
        else np.isfinite(batch.exposure).any(axis=1)
    )
    tasks = []
    for i, j in np.argwhere(chosen):
        gap = TEST_KINDS[j] == "gap_widening"
        tasks.append(
            ConfirmTask(
                series=int(i),
                kind=TEST_KINDS[j],
                family=int(prep.family[i]),
                y=prep.y[i],
                trials=prep.trials[i],
                offset=prep.gap_offset[i] if gap else prep.offset[i],
                mask=prep.gap_mask[i] if gap else prep.mask[i],
                gap_sign=int(prep.gap_sign[i]),
                has_exposure=bool(has_expo[i]),
            )
        )
    return tasks


def _run(
    tasks: list[ConfirmTask],
    layout: Layout,
    parallel_threshold: int,
    max_workers: int | None,
    chunk_size: int,
) -> list[Confirmed]:
    workers = max_workers or os.cpu_count() or 1
    if len(tasks) <= parallel_threshold or workers < 2:
        return confirm_many(tasks, layout)
    chunks = [tasks[i : i + chunk_size] for i in range(0, len(tasks), chunk_size)]
    out: list[Confirmed] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for part in pool.map(confirm_many, chunks, [layout] * len(chunks)):
            out.extend(part)
    return out


def _finding(
    batch: SeriesBatch, layout: Layout, prep: Prepared, r: Confirmed, qvalue: float
) -> Finding:
    i = r.series
    change = r.kind
    if change == "spike" and r.direction < 0:
        change = "dip"
    polarity = int(batch.polarity[i])
    good = None if polarity == 0 else bool(polarity * r.direction > 0)
    return Finding(
        series=i,
        key=batch.keys[i],
        period=batch.periods[-1],
        change=change,
        direction=r.direction,
        good_news=good,
        observed=r.observed,
        expected=r.expected,
        interval_low=r.interval_low,
        interval_high=r.interval_high,
        abs_change=r.abs_change,
        rel_change=r.rel_change,
        people=r.people,
        p_value=r.pvalue,
        q_value=qvalue,
        method=r.method,
        baseline=_baseline(batch, layout, prep, i, r.kind),
    )


def _baseline(batch: SeriesBatch, layout: Layout, prep: Prepared, i: int, kind: str) -> str:
    mask = prep.gap_mask[i] if kind == "gap_widening" else prep.mask[i]
    before = mask & ~layout.effect(kind)
    pos = np.flatnonzero(before)
    first = batch.periods[layout.start + int(pos[0])]
    last = batch.periods[layout.start + int(pos[-1])]
    if kind == "gap_widening":
        return f"écart au territoire de référence, {first} à {last}"
    if layout.season_length == 12:
        what = "mêmes mois"
    elif layout.season_length == 4:
        what = "mêmes trimestres"
    else:
        what = "années"
    return f"{what} {first} à {last} (saisonnalité et tendance ajustées)"
