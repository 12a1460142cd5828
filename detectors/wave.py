"""One delivery wave: screen -> statsmodels confirmation -> Benjamini-Hochberg -> findings."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
from threadpoolctl import threadpool_limits

from detectors.batch import SeriesBatch
from detectors.confirm import Confirmed, ConfirmTask, confirm_many
from detectors.design import TEST_KINDS, Layout, Prepared, make_layout, prepare
from detectors.fdr import benjamini_hochberg, bh_threshold, link_to_parents
from detectors.pooled_dispersion import dispersion_prior
from detectors.screen import VARIANCE, ScreenResult, screen_block, select_candidates
from detectors.seasonality import seasonal_rows
from detectors.untested import Untested

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
    screen: ScreenResult | None = None  # the wave-level screen (why not tested, variances)
    judgement: Judgement | None = None


@dataclass
class WavePlan:
    """The wave-level screen's decision: which tests go to statsmodels.

    It is taken once over the whole wave (the cutoff is a BH threshold over every screened
    test), so how the confirmation is later split — one process, forked workers, chunks on a
    bus — cannot change which tests are confirmed.
    """

    layout: Layout
    screen: ScreenResult
    chosen: np.ndarray  # (n_series, 4) tests to confirm
    rows: np.ndarray  # the rows holding a chosen test
    prep: Prepared  # laid out on ``rows``, past outliers set aside
    seconds: float = 0.0

    @property
    def n_tests(self) -> int:
        return self.screen.n_tests


@dataclass(frozen=True)
class TestOutcome:
    """One confirmed test: statsmodels' answer and the baseline it was compared with."""

    confirmed: Confirmed
    baseline: str


def plan_wave(
    batch: SeriesBatch,
    q: float = 0.05,
    *,
    screen_floor: float = 0.002,
    screen_margin: float = 20.0,
    confirm_all: bool = False,
    max_workers: int | None = None,
    screen_chunk: int = 20_000,
    screen_parallel_threshold: int = 60_000,
) -> WavePlan:
    """Screen every series of the wave and choose the tests to confirm (wave level)."""
    t_start = time.perf_counter()
    layout = make_layout(batch.n_periods, batch.season_length)
    workers = max_workers or os.cpu_count() or 1
    with threadpool_limits(1):
        seasonal = seasonal_rows(batch)
        prior = dispersion_prior(batch, layout, seasonal)
        pvals, excluded, untested, variance = _screen_all(
            batch, layout, screen_chunk, workers if batch.n_series > screen_parallel_threshold
            else 1, prior, seasonal
        )
        scr = select_candidates(pvals, untested == Untested.TESTED, q, screen_floor,
                                screen_margin, excluded, untested, variance)
        scr.seasonal = seasonal
        chosen = scr.testable if confirm_all else scr.candidates
        rows = np.flatnonzero(chosen.any(axis=1))
        prep = prepare(batch, layout, rows, prior, seasonal)
        prep.mask &= ~excluded[rows]
        prep.gap_mask &= ~excluded[rows]
    return WavePlan(layout, scr, chosen, rows, prep, time.perf_counter() - t_start)


def plan_tasks(batch: SeriesBatch, plan: WavePlan) -> list[ConfirmTask]:
    """The plan's tests with the window data each needs, in (row, test kind) order."""
    return _tasks(batch, plan.prep, plan.rows, plan.chosen[plan.rows])


def confirm_tasks(
    tasks: list[ConfirmTask],
    layout: Layout,
    periods: list[str],
    *,
    parallel_threshold: int = 2000,
    max_workers: int | None = None,
    chunk_size: int = 400,
) -> list[TestOutcome]:
    """Confirm any subset of a wave's tests: each answer depends on its own task only, so a
    chunk gives the same outcomes whichever process, worker or machine runs it."""
    results = _run(tasks, layout, parallel_threshold, max_workers, chunk_size)
    return [
        TestOutcome(r, _baseline(periods, layout, t.mask, t.kind, r.position, t.seasonal))
        for t, r in zip(tasks, results, strict=True)
    ]


@dataclass
class Judgement:
    """Benjamini-Hochberg's verdict on a wave: per confirmed test (in (row, test kind)
    order) its q-value and whether it is rejected, in the news family or, for a series
    holding a running shift, the follow-up family; each family's size, threshold (the
    largest p-value it rejects, 0 when none) and number of rejections — what explains a
    series' fate: a test of a family of m tests with R rejections is rejected whenever its
    p-value is at most q (R + 1) / m (`detectors.explain`)."""

    outcomes: list[TestOutcome]
    qvalues: np.ndarray
    reject: np.ndarray
    follow: np.ndarray
    m: int
    threshold: float
    m_follow: int
    follow_threshold: float
    q: float
    n_rejected: int  # the news family's rejections (over its m tests)
    n_follow_rejected: int


def judge(outcomes: list[TestOutcome], n_tests: int, q: float = 0.05,
          running: np.ndarray | None = None) -> Judgement:
    """Benjamini-Hochberg over every test of the wave — the ``n_tests - len(outcomes)``
    tests the screen dropped enter with p = 1 — in two families.

    ``running`` marks the rows whose series holds a running shift (`detectors.stage`): their
    tests are follow-ups, not news. They enter the wave's family with p = 1, because a
    sustained shift is found again at every wave while it lasts and its rejections would
    lift the threshold of every other test (BH admits q false discoveries per rejection: a
    wave rejecting ten running shifts admits ten times weaker news). They are judged
    among themselves, in a follow-up family of their own at the same q (its size: four
    tests per running series): a rejection there extends the running shift, or is news of a
    reversal when it goes the other way."""
    ordered = sorted(outcomes, key=lambda o: (o.confirmed.series,
                                              TEST_KINDS.index(o.confirmed.kind)))
    observed = np.array([o.confirmed.pvalue for o in ordered], dtype=float)
    follow = np.zeros(len(ordered), dtype=bool)
    if running is not None and running.any():
        follow = np.array([bool(running[o.confirmed.series]) for o in ordered], dtype=bool)
    pvals = np.ones(max(n_tests, len(ordered)))
    pvals[: len(ordered)] = np.where(follow, 1.0, observed)
    reject, qvalues = benjamini_hochberg(pvals, q)
    threshold, n_rejected = bh_threshold(pvals, q), int(reject.sum())
    reject, qvalues = reject[: len(ordered)], qvalues[: len(ordered)]
    m_follow, follow_threshold, n_follow_rejected = 0, 0.0, 0
    if follow.any() and running is not None:
        p_follow = np.ones(max(int(running.sum()) * len(TEST_KINDS), int(follow.sum())))
        p_follow[: follow.sum()] = observed[follow]
        rej_f, q_f = benjamini_hochberg(p_follow, q)
        reject[follow] = rej_f[: follow.sum()]
        qvalues[follow] = q_f[: follow.sum()]
        m_follow, follow_threshold = p_follow.size, bh_threshold(p_follow, q)
        n_follow_rejected = int(rej_f.sum())
    return Judgement(ordered, qvalues, reject, follow, int(pvals.size), threshold, m_follow,
                     follow_threshold, q, n_rejected, n_follow_rejected)


def findings_of(batch: SeriesBatch, judgement: Judgement) -> list[Finding]:
    """The rejected tests as findings linked to their parents, in (row, test kind) order."""
    findings = [_finding(batch, o, float(judgement.qvalues[k]))
                for k, o in enumerate(judgement.outcomes) if judgement.reject[k]]
    links = link_to_parents(
        [f.series for f in findings],
        [_test_kind(f.change) for f in findings],
        [f.direction for f in findings],
        batch.parent,
    )
    return [replace(f, explained_by=e) for f, e in zip(findings, links, strict=True)]


def conclude_wave(
    batch: SeriesBatch, outcomes: list[TestOutcome], n_tests: int, q: float = 0.05,
    running: np.ndarray | None = None,
) -> list[Finding]:
    """The wave's findings: :func:`judge` then :func:`findings_of`. Findings come in
    (row, test kind) order whatever order the outcomes arrive in."""
    return findings_of(batch, judge(outcomes, n_tests, q, running))


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
    screen_chunk: int = 20_000,
    screen_parallel_threshold: int = 60_000,
    running: np.ndarray | None = None,
) -> WaveResult:
    """Detect the changes of the last period of ``batch`` with FDR ``q`` over the wave
    (``running``: rows holding a running shift, see :func:`conclude_wave`).

    The screen runs over blocks of ``screen_chunk`` rows (in worker processes when the wave
    has more than ``screen_parallel_threshold`` series), so memory stays bounded whatever
    the wave's size; only the candidates' rows are laid out again for statsmodels.
    ``confirm_all`` skips the screen's decision (every testable test goes to statsmodels):
    the reference the screen is checked against. The three phases (:func:`plan_wave`,
    :func:`confirm_tasks`, :func:`conclude_wave`) are the ones the distributed runner calls
    on chunks, so both runners give the same q-values.
    """
    t_start = time.perf_counter()
    plan = plan_wave(batch, q, screen_floor=screen_floor, screen_margin=screen_margin,
                     confirm_all=confirm_all, max_workers=max_workers,
                     screen_chunk=screen_chunk,
                     screen_parallel_threshold=screen_parallel_threshold)
    t_screen = time.perf_counter()
    tasks = plan_tasks(batch, plan)
    outcomes = confirm_tasks(tasks, plan.layout, batch.periods,
                             parallel_threshold=parallel_threshold, max_workers=max_workers,
                             chunk_size=chunk_size)
    t_confirm = time.perf_counter()
    scr = plan.screen
    pvalues = np.where(scr.testable, 1.0, np.nan)
    for o in outcomes:
        pvalues[o.confirmed.series, TEST_KINDS.index(o.confirmed.kind)] = o.confirmed.pvalue
    judgement = judge(outcomes, scr.n_tests, q, running)
    findings = findings_of(batch, judgement)
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
        screen=scr,
        judgement=judgement,
    )


_SHARED: tuple[SeriesBatch, Layout, np.ndarray | None, np.ndarray | None] | None = None


def _screen_rows(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Screen rows lo..hi of the shared batch (in this process or a forked worker): p-values,
    set-aside points, why tests were not made, variances."""
    assert _SHARED is not None
    batch, layout, prior, seasonal = _SHARED
    with threadpool_limits(1):
        prep = prepare(batch, layout, np.arange(lo, hi), prior, seasonal)
        p, ex = screen_block(layout, prep, slice(0, hi - lo))
    assert prep.untested is not None and prep.variance is not None
    return p, ex, prep.untested, prep.variance


def _screen_all(
    batch: SeriesBatch, layout: Layout, chunk: int, workers: int,
    prior: np.ndarray | None = None,
    seasonal: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Screen every row, block by block; blocks go to forked workers (which share the batch
    without copying it) when ``workers`` > 1 and the platform can fork."""
    global _SHARED
    n = batch.n_series
    pvals = np.full((n, len(TEST_KINDS)), np.nan)
    excluded = np.zeros((n, layout.width), dtype=bool)
    untested = np.zeros((n, len(TEST_KINDS)), dtype=np.uint8)
    variance = np.full((n, len(VARIANCE)), np.nan)
    bounds = [(lo, min(lo + chunk, n)) for lo in range(0, n, chunk)]
    _SHARED = (batch, layout, prior, seasonal)
    try:
        if workers > 1 and len(bounds) > 1 and "fork" in mp.get_all_start_methods():
            ctx = mp.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                parts = pool.map(_screen_rows, *zip(*bounds, strict=True))
                for (lo, hi), part in zip(bounds, parts, strict=True):
                    pvals[lo:hi], excluded[lo:hi], untested[lo:hi], variance[lo:hi] = part
        else:
            for lo, hi in bounds:
                pvals[lo:hi], excluded[lo:hi], untested[lo:hi], variance[lo:hi] = (
                    _screen_rows(lo, hi))
    finally:
        _SHARED = None
    return pvals, excluded, untested, variance


def _test_kind(change: str) -> str:
    return "spike" if change == "dip" else change


def _tasks(
    batch: SeriesBatch, prep: Prepared, rows: np.ndarray, chosen: np.ndarray
) -> list[ConfirmTask]:
    """One task per chosen test; ``prep`` and ``chosen`` are laid out on ``rows``."""
    has_expo = (
        np.zeros(batch.n_series, dtype=bool)
        if batch.exposure is None
        else np.isfinite(batch.exposure).any(axis=1)
    )
    tasks = []
    for k, j in np.argwhere(chosen):
        i = int(rows[k])
        gap = TEST_KINDS[j] == "gap_widening"
        tasks.append(
            ConfirmTask(
                series=i,
                kind=TEST_KINDS[j],
                family=int(prep.family[k]),
                y=prep.y[k],
                trials=prep.trials[k],
                offset=prep.gap_offset[k] if gap else prep.offset[k],
                mask=prep.gap_mask[k] if gap else prep.mask[k],
                gap_sign=int(prep.gap_sign[k]),
                has_exposure=bool(has_expo[i]),
                own_offset=prep.offset[k] if gap else None,
                own_mask=prep.mask[k] if gap else None,
                prior=None if gap or prep.prior is None else tuple(map(float, prep.prior[k])),
                seasonal=bool(prep.seasonal[k]),
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


def _finding(batch: SeriesBatch, outcome: TestOutcome, qvalue: float) -> Finding:
    r = outcome.confirmed
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
        baseline=outcome.baseline,
    )


def _baseline(
    periods: list[str], layout: Layout, mask: np.ndarray, kind: str, position: int = 0,
    seasonal: bool = True,
) -> str:
    """The window the test compared with; ``mask`` is the test's own (gap mask for gaps);
    ``position`` is the searched column the change was found at."""
    before = mask & ~layout.effect(kind, position)
    pos = np.flatnonzero(before)
    first = periods[layout.start + int(pos[0])]
    last = periods[layout.start + int(pos[-1])]
    if kind == "gap_widening":
        return f"écart au territoire de référence, {first} à {last}"
    if not seasonal and layout.season_length > 1:
        return f"{first} à {last} (tendance ajustée ; aucune saisonnalité décelée)"
    if layout.season_length == 12:
        what = "mêmes mois"
    elif layout.season_length == 4:
        what = "mêmes trimestres"
    else:  # an annual series has no season to adjust
        return f"années {first} à {last} (tendance ajustée)"
    return f"{what} {first} à {last} (saisonnalité et tendance ajustées)"
