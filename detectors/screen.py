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
from detectors.null_fit import FLOAT, Design, fit_null, kept_fit
from detectors.pooled_dispersion import row_prior, spike_df_ok
from detectors.score_stats import score_stat, searched_pvalue
from detectors.seasonality import seasonal_rows


@dataclass
class ScreenResult:
    """Approximate p-values (n_series x 4, NaN = not testable) and the kept candidates.

    ``excluded`` marks the window points set aside as past outliers (the confirmation fits
    without them too).
    """

    pvalues: np.ndarray
    testable: np.ndarray
    candidates: np.ndarray
    cutoff: float
    excluded: np.ndarray | None = None

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
    return select_candidates(pvalues, prep.testable, q, floor, margin, excluded)


def select_candidates(
    pvalues: np.ndarray,
    testable: np.ndarray,
    q: float,
    floor: float,
    margin: float,
    excluded: np.ndarray | None = None,
) -> ScreenResult:
    """The screen's decision from its p-values (see `screen`)."""
    testable = testable & np.isfinite(pvalues)
    pvalues = np.where(testable, pvalues, np.nan)
    tested = pvalues[testable]
    cutoff = max(floor, margin * bh_threshold(tested, q)) if tested.size else floor
    candidates = testable & (pvalues <= cutoff)
    return ScreenResult(pvalues, testable, candidates, cutoff, excluded)


def screen_block(layout: Layout, prep: Prepared, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """Approximate p-values (one column per test kind) and set-aside points for a block."""
    n = rows.stop - rows.start
    out = np.full((n, len(TEST_KINDS)), np.nan)
    excluded = np.zeros((n, layout.width), dtype=bool)
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
        stat, df, ident = score_stat(fit, layout.extras["spike"], True, pri)
        ok = ident & own & spike_df_ok(fit.df - 1, pri)
        out[local, 0] = np.where(ok, 2 * stats.t.sf(np.abs(stat), df), np.nan)
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
    return out, excluded
