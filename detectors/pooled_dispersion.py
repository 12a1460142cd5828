"""The dispersion of count series pooled across the territories of an indicator.

A wave-level estimate (limma-trend, Smyth 2004) made once before the blocks are screened,
carried by each row (``Prepared.prior``) into the screen and the confirmation, which moderate
each series' own dispersion toward it.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from detectors.batch import SeriesBatch
from detectors.design import (
    BINOMIAL,
    GAUSSIAN,
    KAPPA,
    MIN_DF,
    MIN_SPIKE_DF,
    POISSON,
    Layout,
    prepare,
)
from detectors.null_fit import Design, NullFit, kept_fit, pearson

POOL_MIN = 10
"""Series of one indicator and family needed to estimate a pooled dispersion."""
POOL_SAMPLE = 2000
"""At most this many series (evenly spread over the indicator's rows) estimate its prior."""
MAX_PRIOR_DF = 1000.0


def indicator_rows(batch: SeriesBatch, sample: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """For each indicator of the batch: its rows, and at most ``sample`` of them evenly spread
    over the rows (what its pooled estimates are made from)."""
    codes: dict[str, list[int]] = {}
    for i, key in enumerate(batch.keys):
        codes.setdefault(key[0], []).append(i)
    for rows_list in codes.values():
        rows = np.asarray(rows_list, dtype=np.int64)
        pick = rows
        if rows.size > sample:
            pick = rows[np.unique(np.linspace(0, rows.size - 1, sample).round().astype(int))]
        yield rows, pick


def dispersion_prior(
    batch: SeriesBatch, layout: Layout, seasonal: np.ndarray | None = None,
    sample: int = POOL_SAMPLE,
) -> np.ndarray:
    """(n_series, 2, 4): for each row and count family (Poisson, binomial), the pooled
    dispersion of the row's indicator: prior = c + alpha level^b, prior df d0
    (`fit_prior`: c, alpha, d0, b).

    Why: a dispersion estimated from ~50 points (and from 2 to 8 for an annual series) is
    noisy, and its Student reference costs power. The dispersions of the territories of
    one indicator are alike once their size is accounted for (a larger count is more
    overdispersed: variance between mu and mu^2), so they are pooled as in limma-trend
    (Smyth 2004) along a power-law mean-variance relation (`fit_prior`), and the
    spread of the residuals beyond their sampling variance gives the prior df d0 (d0
    small when the territories differ, infinite, capped, when they do not). Each
    test then uses (d0 s0^2 + d s^2) / (d0 + d) with d0 + d Student df: calibrated when the
    prior holds, never assumed when it does not. Amounts (Gaussian) are not pooled: their
    scale is the territory's own."""
    out = np.zeros((batch.n_series, 2, 4))
    for rows, pick in indicator_rows(batch, sample):
        prep = prepare(batch, layout, pick, seasonal=seasonal)
        design = Design.of(layout, bool(prep.seasonal[0]))  # one decision per indicator
        tested = prep.mask[:, -1].copy()
        for col, family in enumerate((POISSON, BINOMIAL)):
            sel = np.flatnonzero((prep.family == family) & prep.testable[:, :3].any(axis=1))
            if sel.size < POOL_MIN:
                continue
            whole, _ = kept_fit(family, prep, sel, layout, design)
            spread = fit_prior(*null_dispersion(whole))
            # The relation is fitted without the tested period: a shock common to the
            # territories (a lockdown) would otherwise widen everyone's variance and hide
            # itself. Its prior df come from the whole window: with one point fewer, an
            # annual series' two or three df drown the territories' differences in the
            # chi2's own noise, and d0 would trust the relation blindly.
            prep.mask[:, -1] = False
            fit, _ = kept_fit(family, prep, sel, layout, design)
            prep.mask[:, -1] = tested
            coef = fit_prior(*null_dispersion(fit),
                             d0=None if spread is None else float(spread[2]))
            if coef is not None:
                out[rows, col] = coef
    return out


def null_dispersion(fit: NullFit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pearson dispersion of the baseline fit (truncation-corrected), its df, and the
    series' level (mean count, or mean denominator for a binomial series)."""
    d = fit.df.astype(np.float64)
    s2 = pearson(fit) / (KAPPA * np.maximum(d, 1))
    return s2.astype(np.float64), d, series_level(fit.family, fit.y, fit.trials, fit.mask)


def series_level(family: int, y: np.ndarray, trials: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean count (Poisson: the mean fitted count, the season levels making them equal) or
    mean denominator (binomial) over the kept points: what the dispersion grows with."""
    m = mask.astype(np.float64)
    src = y if family == POISSON else trials
    return (src * m).sum(axis=-1) / np.maximum(m.sum(axis=-1), 1.0)


def fit_prior(s2: np.ndarray, d: np.ndarray, level: np.ndarray,
              d0: float | None = None) -> np.ndarray | None:
    """The indicator's mean-variance relation and its prior df: (c, alpha, d0, b) or None.

    The dispersion of a count over its family's variance grows with the level as a power,
    ``phi(level) = c + alpha level^b`` with 0 <= b <= 1: Taylor's power law (Var = c mu +
    alpha mu^(1+b)), of which the negative binomial's Var = mu + alpha mu^2 is b = 1, c = 1,
    and the quasi-Poisson's constant dispersion b = 0 (a rate: the beta-binomial's
    n p (1 - p) (1 + rho (n - 1)) for b = 1). ``c`` >= 1 takes an extra-Poisson variance
    that does not grow with size (several victims of one event); below 1 it let the small
    means' low estimates bend the curve (seeded negative-binomial waves, alpha 0.02: 5.9-6.6
    at a mean of 300 for a true 7; the tests never use less than 1). ``b`` is fitted as real
    counts sit between the two: on the Loire offences (2016-2019, four points a commune) the
    communes' dispersion is about 1 at a mean of 5, 2 at 20, 3 at 300 and 5 at 2,000, where a
    negative-binomial line through the villages puts a city at 15. The curve is fitted to
    the series' log dispersions, each corrected for the bias of the log of a chi2 (limma's
    moment estimator, Smyth 2004), by non-linear least squares, and the spread of the
    residuals beyond their sampling variance gives the prior df d0, as in limma-trend (or
    ``d0`` is given: `dispersion_prior` takes it from the whole window)."""
    from scipy.optimize import least_squares
    from scipy.special import digamma, polygamma

    ok = (d >= 1) & np.isfinite(s2) & (level > 0)
    if ok.sum() < POOL_MIN:
        return None
    d, mu = d[ok], level[ok]
    e = np.log(np.maximum(s2[ok], 1e-3)) - digamma(d / 2) + np.log(d / 2)
    scale = float(np.median(mu) + 1.0)
    x = mu / scale

    def resid(theta: np.ndarray) -> np.ndarray:
        return e - np.log(theta[0] + theta[1] * x ** theta[2])

    c0 = max(1.0, float(np.exp(np.median(e))))
    fit = least_squares(resid, x0=np.array([c0, 0.1 * c0, 0.5]),
                        bounds=([1.0, 0.0, 0.0], [np.inf, np.inf, 1.0]))
    c, a, b = (float(v) for v in fit.x)
    res = resid(fit.x)
    if d0 is None:
        excess = float((res**2).sum() / max(res.size - 3, 1) - polygamma(1, d / 2).mean())
        d0 = MAX_PRIOR_DF if excess <= 0 else min(MAX_PRIOR_DF, 2 * _trigamma_inverse(excess))
    # The trend is of E[log sigma^2]; limma's s0^2 (sigma^2 ~ s0^2 d0 / chi2_d0) is below it.
    shift = float(np.exp(digamma(d0 / 2) - np.log(d0 / 2)))
    return np.array([c * shift, a * shift / scale**b, d0, b])


def _trigamma_inverse(x: float) -> float:
    """y with trigamma(y) = x (Newton, as limma's trigammaInverse)."""
    from scipy.special import polygamma

    if x > 1e7:
        return 1.0 / np.sqrt(x)
    if x < 1e-6:
        return 1.0 / x
    y = 0.5 + 1.0 / x
    for _ in range(50):
        tri = float(polygamma(1, y))
        dif = tri * (1 - tri / x) / float(polygamma(2, y))
        y += dif
        if -dif / y < 1e-8:
            break
    return y


def row_prior(fit: NullFit, prior: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
    """Prior dispersion s0^2 and df d0 of each row of ``fit`` (None: no pooling)."""
    if prior is None or fit.family == GAUSSIAN or not (prior[:, 2] > 0).any():
        return None
    level = series_level(fit.family, fit.y, fit.trials, fit.mask)
    return prior_scale(prior, level), prior[:, 2].astype(np.float64)


def prior_scale(prior: np.ndarray, level: np.ndarray) -> np.ndarray:
    """s0^2 = c + alpha level^b (`fit_prior`), for rows (n, 4) or one row (4,)."""
    c, alpha, b = prior[..., 0], prior[..., 1], prior[..., 3]
    return c + alpha * np.maximum(level, 0.0) ** b


def spike_df_ok(df1: np.ndarray, pri: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """The spike's own df suffice: ``MIN_DF`` alone, or ``MIN_SPIKE_DF`` with pooling."""
    d0 = 0.0 if pri is None else pri[1]
    return (df1 >= MIN_DF) | ((df1 >= MIN_SPIKE_DF) & (df1 + d0 >= MIN_DF))


def moderate(
    s2: np.ndarray, df1: np.ndarray, pri: tuple[np.ndarray, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior dispersion and its df; ``s2`` is (n,) or (n, K), ``df1`` (n,)."""
    if pri is None:
        return s2, df1
    s0, d0 = pri
    extra = s2.ndim - 1
    s0 = s0.reshape(s0.shape + (1,) * extra)
    d0b = d0.reshape(d0.shape + (1,) * extra)
    d1 = df1.reshape(df1.shape + (1,) * extra)
    return (d0b * s0 + d1 * s2) / (d0b + d1), df1 + d0
