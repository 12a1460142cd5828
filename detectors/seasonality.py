"""Whether an indicator's baseline needs seasonal levels: one pooled test per indicator."""

from __future__ import annotations

import numpy as np
from scipy import stats

from detectors.batch import SeriesBatch
from detectors.design import BINOMIAL, GAUSSIAN, MIN_DF, POISSON, make_layout, prepare
from detectors.null_fit import FLOAT, Design, fit_null, wls
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
    its territories (`season_share`), and the shares of each series' Pearson chi2 that the
    seasons explain are summed into one test (`pooled_season_pvalue`). An indicator keeps
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
        shares, extras, dfs = [], [], []
        for family in (POISSON, BINOMIAL, GAUSSIAN):
            sel = np.flatnonzero((prep.family == family) & prep.testable[:, :3].any(axis=1))
            if sel.size == 0:
                continue
            share, extra, df = season_share(family, prep.y[sel], prep.trials[sel],
                                            prep.offset[sel], prep.mask[sel], design,
                                            flat_design)
            ok = df >= MIN_DF
            shares.append(share[ok])
            extras.append(extra[ok])
            dfs.append(df[ok])
        if not shares or sum(s.size for s in shares) < POOL_MIN:
            continue
        p = pooled_season_pvalue(np.concatenate(shares), np.concatenate(extras),
                                 np.concatenate(dfs))
        if p >= SEASONS_LEVEL:
            out[rows] = False
    return out


def season_share(
    family: int, y: np.ndarray, trials: np.ndarray, offset: np.ndarray, mask: np.ndarray,
    design: Design, flat_design: Design,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per series: the share B of the one-level baseline's Pearson chi2 that the seasonal
    levels explain, the seasons' extra parameters and the seasonal model's residual df.

    The one-level baseline is fitted, and the seasonal design is then fitted by weighted
    least squares to its working response with its weights (the score test of the seasons):
    one linear projection in a fixed metric, so the share is the F test's. Refitting the
    seasons by maximum likelihood would move the weights with the means, and the heavy
    right tail of overdispersed counts would then read as seasons. Every observed point is
    used (no outlier set aside: a past one-off event sits in one month of one year and
    spreads over the seasons' and the residual chi2 alike)."""
    y, tr, off = y.astype(FLOAT), trials.astype(FLOAT), offset.astype(FLOAT)
    flat = fit_null(family, y, tr, off, mask, flat_design)
    m = mask.astype(FLOAT)
    with np.errstate(divide="ignore", invalid="ignore"):
        if family == GAUSSIAN:
            w, z = m, np.where(mask, y - off, 0.0)
        else:
            w = np.where(mask, flat.w, 0.0)
            safe = np.maximum(w, 1e-12)
            z = np.where(mask, np.log(np.maximum(flat.mu, 1e-12)) - off
                         + (y - flat.mu) / safe, 0.0)
            if family == BINOMIAL:
                p = np.clip(flat.mu / np.maximum(tr, 1.0), 1e-9, 1 - 1e-9)
                z = np.where(mask, np.log(p / (1 - p)) - off + (y - flat.mu) / safe, 0.0)
    rss = []
    for d in (flat_design, design):
        lin, _, _, _ = wls(w, z, d)
        rss.append((w * (z - lin) ** 2).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(rss[0] > 0, (rss[0] - rss[1]) / rss[0], 0.0)
    extra = (m @ design.seasons.astype(FLOAT) > 0).sum(axis=1) - 1
    df = mask.sum(axis=1) - extra - 2
    return (np.clip(share, 0.0, 1.0).astype(np.float64), extra.astype(np.float64),
            df.astype(np.float64))


def pooled_season_pvalue(share: np.ndarray, extra: np.ndarray, df: np.ndarray) -> float:
    """p-value of "no seasonality in any series" from the series' shares (`season_share`).

    Under no seasonality a share is Beta(extra / 2, df / 2) for a Gaussian series whatever
    its variance (the F test's statistic), so T = sum (extra + df) B has mean sum(extra) and
    a known variance: a dispersion-adjusted test in which each series counts by its own
    size of sample, never by its scale (a city's overdispersion does not read as seasons,
    unlike the previous sum of chi2s over a per-series dispersion, which kept the seasons
    of non-seasonal indicators in nearly every wave at dispersion 3). Counts' Pearson
    residuals have heavier tails than a Gaussian's, so the variance of T is the larger of
    the Beta's and the one seen across the series; T is read as Student with n - 1 df."""
    n = share.size
    dff = extra + df
    u = dff * share - extra
    var_beta = float((2 * extra * df / (dff + 2)).sum())
    var_seen = float(n * u.var(ddof=1)) if n > 1 else 0.0
    scale = np.sqrt(max(var_beta, var_seen))
    if scale <= 0:
        return 1.0
    return float(stats.t.sf(u.sum() / scale, max(n - 1, 1)))
