"""Vectorised screening: approximate p-values for every series of a wave at once.

The baseline is fitted in closed form for blocks of rows (`detectors.null_fit`), with the
dispersion of count series pooled across the territories of each indicator
(`detectors.pooled_dispersion`) and seasonal levels kept only where the indicator needs them
(`detectors.seasonality`); each alternative column is scored against the fit
(`detectors.score_stats`). A few microseconds per series, in blocks of rows that keep memory
bounded and can run in parallel processes.

A gap widening must be news about the neighbourhood itself: its p-value is the larger of the
gap test and the one-sided test of the series' own level shift in the widening direction (an
intersection-union test, valid for "both moved"), so a neighbourhood that stayed put while
its parent moved is not reported.

Screening only decides which tests reach statsmodels: tests it drops enter the
multiple-testing step with p = 1, so it can cost power but never add false alarms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from detectors.batch import SeriesBatch
from detectors.design import (
    BINOMIAL,
    GAUSSIAN,
    POISSON,
    TEST_KINDS,
    Layout,
    Prepared,
    make_layout,
    prepare,
)
from detectors.fdr import bh_threshold
from detectors.null_fit import FLOAT, Design, NullFit, fit_null, kept_fit
from detectors.pooled_dispersion import moderate, null_dispersion, row_prior, spike_df_ok
from detectors.score_stats import score_stat, searched_pvalue
from detectors.seasonality import seasonal_rows
from detectors.untested import Untested

VARIANCE = ("family", "level", "dispersion", "own_dispersion", "own_df", "prior_dispersion",
            "prior_df")
"""What the screen knows of each series' variance, kept to explain its tests: the model
family (`detectors.design.POISSON`, ...), the level (mean count, or mean denominator), the
dispersion its tests used (variance over the family's own: counts ``phi x mean``; the
residual variance for amounts), and the series' own and the pooled estimates it moderates,
with their degrees of freedom."""


@dataclass
class ScreenResult:
    """Approximate p-values (n_series x 4, NaN = not testable) and the kept candidates.

    ``excluded`` marks the window points set aside as past outliers (the confirmation fits
    without them too); ``untested`` why each test was not made (`detectors.untested`),
    ``variance`` each series' `VARIANCE`, ``seasonal`` its baseline's seasons.
    """

    pvalues: np.ndarray
    testable: np.ndarray
    candidates: np.ndarray
    cutoff: float
    excluded: np.ndarray | None = None
    untested: np.ndarray | None = None
    variance: np.ndarray | None = None
    seasonal: np.ndarray | None = None  # (n,) the baseline has seasonal levels

    @property
    def n_tests(self) -> int:
        return int(self.testable.sum())


def screen(
    batch: SeriesBatch,
    q: float = 0.05,
    floor: float = 0.002,
    margin: float = 20.0,
    chunk: int = 20_000,
) -> ScreenResult:
    """Screen the last period of every series.

    A test is kept when its approximate p-value is below ``max(floor, margin x t)`` where t
    is the Benjamini-Hochberg threshold of the screened p-values at ``q``: the confirmed
    p-value would have to be ``margin`` times smaller than the screened one for a miss.
    """
    layout = make_layout(batch.n_periods, batch.season_length)
    prep = prepare(batch, layout, seasonal=seasonal_rows(batch))
    return screen_prepared(layout, prep, q, floor, margin, chunk)


def screen_prepared(
    layout: Layout,
    prep: Prepared,
    q: float = 0.05,
    floor: float = 0.002,
    margin: float = 20.0,
    chunk: int = 20_000,
) -> ScreenResult:
    """`screen` on inputs already laid out by `detectors.design.prepare`.

    The points set aside as outliers are removed from ``prep.mask`` and ``prep.gap_mask`` in
    place, so that tasks built from ``prep`` afterwards fit the same points.
    """
    n_series = prep.family.shape[0]
    pvalues = np.full(prep.testable.shape, np.nan)
    excluded = np.zeros(prep.mask.shape, dtype=bool)
    for lo in range(0, n_series, chunk):
        rows = slice(lo, min(lo + chunk, n_series))
        pvalues[rows], excluded[rows] = screen_block(layout, prep, rows)
    prep.mask &= ~excluded
    prep.gap_mask &= ~excluded
    return select_candidates(pvalues, prep.testable, q, floor, margin, excluded,
                             prep.untested, prep.variance)


def select_candidates(
    pvalues: np.ndarray,
    testable: np.ndarray,
    q: float,
    floor: float,
    margin: float,
    excluded: np.ndarray | None = None,
    untested: np.ndarray | None = None,
    variance: np.ndarray | None = None,
) -> ScreenResult:
    """The screen's decision from its p-values (see `screen`)."""
    testable = testable & np.isfinite(pvalues)
    pvalues = np.where(testable, pvalues, np.nan)
    tested = pvalues[testable]
    cutoff = max(floor, margin * bh_threshold(tested, q)) if tested.size else floor
    candidates = testable & (pvalues <= cutoff)
    return ScreenResult(pvalues, testable, candidates, cutoff, excluded, untested, variance)


def screen_block(layout: Layout, prep: Prepared, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """Approximate p-values (one column per test kind) and set-aside points for a block.

    The block's rows of ``prep.untested`` get the reasons the fit adds (no pooling, not
    identifiable) and those of ``prep.variance`` the series' `VARIANCE`."""
    n = rows.stop - rows.start
    out = np.full((n, len(TEST_KINDS)), np.nan)
    excluded = np.zeros((n, layout.width), dtype=bool)
    n_all = prep.family.shape[0]
    if prep.untested is None:
        prep.untested = np.where(prep.testable, Untested.TESTED,
                                 Untested.NOT_IDENTIFIABLE).astype(np.uint8)
    if prep.variance is None:
        prep.variance = np.full((n_all, len(VARIANCE)), np.nan)
    untested, variance = prep.untested, prep.variance
    fam = prep.family[rows]
    flags = prep.seasonal[rows]
    groups = [(family, seasonal) for family in (POISSON, BINOMIAL, GAUSSIAN)
              for seasonal in (True, False)]
    for family, seasonal in groups:
        sel = np.flatnonzero((fam == family) & (flags == seasonal)) + rows.start
        if sel.size == 0:
            continue
        design = Design.of(layout, seasonal)
        local = sel - rows.start
        y, tr = prep.y[sel].astype(FLOAT), prep.trials[sel].astype(FLOAT)
        testable = prep.testable[sel]
        own = np.asarray(testable[:, :3].any(axis=1))
        fit, out_pts = kept_fit(family, prep, sel, layout, design)
        excluded[local] = out_pts
        pri = row_prior(fit, prep.prior[sel] if prep.prior is not None else None)
        variance[sel] = _variance(fit, pri)
        stat, df, ident = score_stat(fit, layout.extras["spike"], True, pri)
        pooled = spike_df_ok(fit.df - 1, pri)
        ok = ident & own & pooled
        out[local, 0] = np.where(ok, 2 * stats.t.sf(np.abs(stat), df), np.nan)
        d0 = np.zeros(sel.size) if pri is None else pri[1]
        no_pool = np.where(d0 > 0, Untested.WEAK_POOL, Untested.NO_POOL)
        untested[sel, 0] = np.where(testable[:, 0] & ~pooled, no_pool, untested[sel, 0])
        for j, kind in ((1, "level_shift"), (2, "trend_change")):
            p_kind = searched_pvalue(fit, layout.columns[kind], pri)
            out[local, j] = np.where(own, p_kind, np.nan)
        gap = testable[:, 3]
        if gap.any():
            level_stat, level_df, _ = score_stat(fit, layout.extras["gap_widening"], False)
            gmask = prep.gap_mask[sel] & gap[:, None] & ~out_pts
            gfit = fit_null(family, y, tr, prep.gap_offset[sel].astype(FLOAT), gmask, design)
            stat, df, ident = score_stat(gfit, layout.extras["gap_widening"], False)
            sign = prep.gap_sign[sel]
            p_gap = stats.t.sf(sign * stat, df)
            p_own = stats.t.sf(sign * level_stat, level_df)
            out[local, 3] = np.where(ident & gap, np.maximum(p_gap, p_own), np.nan)
        lost = testable & np.isnan(out[local]) & (untested[sel] == Untested.TESTED)
        untested[sel] = np.where(lost, Untested.NOT_IDENTIFIABLE, untested[sel])
    return out, excluded


def _variance(fit: NullFit, pri: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """(n, 7) `VARIANCE` of the rows of a baseline fit: the dispersion of the kept points,
    moderated toward the pooled one as the tests do (never below 1 for counts)."""
    s2, d, level = null_dispersion(fit)
    own_df = np.maximum(d, 0.0)
    s2 = np.where(own_df >= 1, s2, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        post, _ = moderate(np.where(np.isfinite(s2), s2, 0.0), own_df, pri)
    if fit.family != GAUSSIAN:
        post = np.maximum(post, 1.0)
    prior_s = np.full(level.shape, np.nan) if pri is None else pri[0]
    prior_d = np.zeros(level.shape) if pri is None else pri[1]
    post = np.where(np.isfinite(s2) | (prior_d > 0), post, np.nan)
    family = np.full(level.shape, float(fit.family))
    return np.column_stack([family, level, post, s2, own_df, prior_s, prior_d])
