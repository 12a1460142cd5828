"""Whether an indicator's baseline needs seasonal levels: one pooled test per indicator."""

from __future__ import annotations

import numpy as np
from scipy import stats

from detectors.batch import SeriesBatch
from detectors.design import BINOMIAL, GAUSSIAN, MIN_DF, POISSON, make_layout, prepare
from detectors.null_fit import FLOAT, Design, fit_null, kept_fit, pearson
from detectors.pooled_dispersion import POOL_MIN, POOL_SAMPLE, indicator_rows

SEASONS_LEVEL = 0.05
"""An indicator keeps its seasonal levels when its pooled test of "no seasonality" has a
p-value below this."""


def seasonal_rows(batch: SeriesBatch, sample: int = POOL_SAMPLE) -> np.ndarray:
    """(n_series,) whether each row's baseline needs one level per month or quarter; one
    decision per indicator, from all its territories.

    Why: the seasonal levels are eleven (or three) parameters estimated from five (or ten)
    points each; an indicator with no seasonality pays for them in power (a one-period dip
    is judged against its month's level from 5 points instead of a level from 60). For each
    indicator, the seasonal and the one-level baselines are fitted to (up to ``sample`` of)
    its territories on the kept points, and the sum over them of the Pearson chi2 the
    seasons save, over each series' dispersion, is read against chi2 with (seasons - 1) x
    series df: a combined test of stable seasonality, in the manner of X-13's F-test, that
    sees a seasonality of a few per cent over a few hundred territories. An indicator keeps
    its seasons when the test rejects at ``SEASONS_LEVEL`` (so an indicator without any
    keeps them in 5 % of the waves: the seasonal baseline is never wrong, only less sharp),
    and when it has fewer than ``POOL_MIN`` series (too few to see a weak seasonality)."""
    out = np.ones(batch.n_series, dtype=bool)
    if batch.season_length == 1:
        return out
    layout = make_layout(batch.n_periods, batch.season_length)
    design, flat_design = Design.of(layout, True), Design.of(layout, False)
    for rows, pick in indicator_rows(batch, sample):
        prep = prepare(batch, layout, pick)
        stat, df, n = 0.0, 0.0, 0
        for family in (POISSON, BINOMIAL, GAUSSIAN):
            sel = np.flatnonzero((prep.family == family) & prep.testable[:, :3].any(axis=1))
            if sel.size == 0:
                continue
            fit, _ = kept_fit(family, prep, sel, layout, design)
            flat = fit_null(family, fit.y, fit.trials, prep.offset[sel].astype(FLOAT),
                            fit.mask, flat_design)
            x2, x2_flat = pearson(fit), pearson(flat)
            phi = x2 / np.maximum(fit.df, 1)
            if family != GAUSSIAN:
                phi = np.maximum(phi, 1.0)
            extra = (fit.mask.astype(float) @ design.seasons.astype(float) > 0).sum(axis=1) - 1
            ok = (fit.df >= MIN_DF) & (phi > 0)
            stat += float((np.maximum(x2_flat - x2, 0.0)[ok] / phi[ok]).sum())
            df += float(extra[ok].sum())
            n += int(ok.sum())
        if n >= POOL_MIN and df > 0 and stats.chi2.sf(stat, df) >= SEASONS_LEVEL:
            out[rows] = False
    return out
