"""Score and likelihood-ratio statistics of an alternative column against a baseline fit.

Each alternative column is scored against the fit: a score test with the dispersion
re-estimated as the alternative model would (quasi-likelihood, Student reference), and for
the one-period spike Williams' likelihood residual, which tracks the likelihood-ratio test of
the confirmation even for small counts. A level shift or trend change is searched over its
candidate positions: the position with the largest score statistic is kept (the
confirmation's rule), its likelihood ratio is maximised along the column made orthogonal to
the baseline (a score alone misjudges large changes), and the p-value pays for the search
(`detectors.design.position_pvalue`). For Gaussian series the statistic is the exact OLS
t-test's.
"""

from __future__ import annotations

import numpy as np

from detectors.design import BINOMIAL, GAUSSIAN, KAPPA, POISSON, position_pvalue
from detectors.null_fit import NullFit, restrict
from detectors.pooled_dispersion import moderate


def searched_pvalue(
    fit: NullFit, cols: np.ndarray, pri: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """p-value of a change at an unknown position: the largest statistic over the candidate
    columns, corrected for the search (`detectors.design.position_pvalue`), NaN if no
    column is identifiable."""
    stat, df_t, ident, phi, rho = score_columns(fit, cols, pri)
    score = np.where(ident, np.abs(stat), -1.0)
    best = np.argmax(score, axis=1)
    rows = np.arange(stat.shape[0])
    found = score[rows, best] >= 0
    stat_best = stat[rows, best]
    p = position_pvalue(stat_best, df_t, rho, ident)
    # The likelihood ratio only matters where the screen decides: far from any cutoff
    # (p >= PROFILE_ABOVE) the score's p-value stands, and the rows cost nothing more.
    near = np.flatnonzero(found & (p < PROFILE_ABOVE))
    if fit.family != GAUSSIAN and near.size:
        part = restrict(fit, near)
        refined = profile_stat(part, cols.T[best[near]], phi[near, best[near]])
        p[near] = position_pvalue(refined, df_t[near], rho[near], ident[near])
    return np.where(found, p, np.nan)


PROFILE_ABOVE = 0.5
"""Screened p-values of searched kinds at or above this keep the score's value (a cutoff
is far below it, and the likelihood ratio differs from the score by a factor of a few)."""


def profile_stat(fit: NullFit, col: np.ndarray, phi: np.ndarray, steps: int = 4) -> np.ndarray:
    """Likelihood-ratio statistic (signed, over the dispersion ``phi``) of adding
    one column per row ((n, W)), the likelihood being maximised along the column made
    orthogonal to the baseline (a few Newton steps). The score statistic alone misjudges
    large changes (its variance is the null model's); this tracks the confirmation's
    likelihood-ratio test, and is exact to second order."""
    m = fit.mask
    d = fit.design
    w = np.where(m, fit.w, 0.0).astype(np.float64)
    c = col.astype(np.float64)
    seasons = d.seasons.astype(np.float64)
    sw = fit.sw.astype(np.float64)
    cbar = ((w * c) @ seasons) / np.where(sw > 0, sw, 1.0)
    cc = c - cbar @ seasons.T
    tc = fit.tc.astype(np.float64)
    stt = fit.stt.astype(np.float64)
    k = np.where(stt > 0, (w * cc * tc).sum(axis=1) / np.where(stt > 0, stt, 1.0), 0.0)
    ct = np.where(m, cc - k[:, None] * tc, 0.0)
    y = np.where(m, fit.y, 0.0).astype(np.float64)
    mu0 = np.where(m, fit.mu, 0.0).astype(np.float64)
    v = np.maximum((w * ct * ct).sum(axis=1), 1e-12)
    resid = y - mu0
    gamma = (resid * ct).sum(axis=1) / v
    if fit.family == POISSON:
        for _ in range(steps):
            e = np.exp(np.clip(gamma[:, None] * ct, -30, 30))
            g1 = (ct * (y - mu0 * e)).sum(axis=1)
            g2 = np.maximum((ct * ct * mu0 * e).sum(axis=1), 1e-12)
            gamma = gamma + g1 / g2
        e = np.exp(np.clip(gamma[:, None] * ct, -30, 30))
        lr = 2 * (y * gamma[:, None] * ct - mu0 * (e - 1)).sum(axis=1)
    else:
        n = np.where(m, fit.trials, 1.0).astype(np.float64)
        p0 = np.clip(mu0 / n, 1e-12, 1 - 1e-12)
        eta0 = np.log(p0 / (1 - p0))
        for _ in range(steps):
            pi = 1 / (1 + np.exp(-np.clip(eta0 + gamma[:, None] * ct, -30, 30)))
            g1 = (ct * (y - n * pi)).sum(axis=1)
            g2 = np.maximum((ct * ct * n * pi * (1 - pi)).sum(axis=1), 1e-12)
            gamma = gamma + g1 / g2
        eta = np.clip(eta0 + gamma[:, None] * ct, -30, 30)
        ll = y * gamma[:, None] * ct - n * (np.logaddexp(0, eta) - np.logaddexp(0, eta0))
        lr = 2 * np.where(m, ll, 0.0).sum(axis=1)
    return np.sign(gamma) * np.sqrt(np.maximum(lr, 0.0) / phi)


def score_many(
    fit: NullFit, cols: np.ndarray, pri: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`score_stat` for K columns at once ((W, K) -> (n, K) statistics)."""
    stat, df_t, ident, _, _ = score_columns(fit, cols, pri)
    return stat, df_t, ident


def score_columns(
    fit: NullFit, cols: np.ndarray, pri: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Score statistics, Student df, identifiability, dispersion and the correlations of
    neighbouring columns' statistics (n, K-1) for K columns, from a few matrix products: the
    projection of each column on the baseline is never formed, only its weighted sums
    (season totals and the cross-product with the centred time)."""
    m = fit.mask
    d = fit.design
    w = fit.w.astype(np.float64)
    c = cols.astype(np.float64)
    n_w, k = c.shape
    s = d.seasons.shape[1]
    resid = np.where(m, fit.y - fit.mu, 0.0).astype(np.float64)
    u = resid @ c
    per_season = (c[:, :, None] * d.seasons[:, None, :].astype(np.float64)).reshape(n_w, k * s)
    a = (w @ per_season).reshape(-1, k, s)
    sw = fit.sw.astype(np.float64)
    safe = np.where(sw > 0, sw, 1.0)
    sww = w @ (c * c)
    scc = sww - (a * a / safe[:, None, :]).sum(axis=2)
    cross = (w * fit.tc.astype(np.float64)) @ c
    stt = fit.stt.astype(np.float64)
    v = scc - np.where(stt > 0, 1.0, 0.0)[:, None] * cross**2 / np.where(stt > 0, stt, 1.0)[
        :, None
    ]
    ident = v > 1e-7 * np.maximum(sww, 1e-300)
    v = np.maximum(v, 1e-12)
    # Covariances of neighbouring residualised columns, by the same sums.
    s_next = w @ (c[:, :-1] * c[:, 1:]) - (a[:, :-1] * a[:, 1:] / safe[:, None, :]).sum(axis=2)
    s_next -= np.where(stt > 0, 1.0, 0.0)[:, None] * cross[:, :-1] * cross[:, 1:] / np.where(
        stt > 0, stt, 1.0)[:, None]
    rho = s_next / np.sqrt(v[:, :-1] * v[:, 1:])
    df1 = np.maximum(fit.df - 1, 1).astype(np.float64)
    if fit.family == GAUSSIAN:
        rss = (resid**2).sum(axis=1)
        sigma2 = np.maximum(rss[:, None] - u * u / v, 0.0) / (KAPPA * df1[:, None])
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = np.where(sigma2 > 1e-12, u / np.sqrt(sigma2 * v), 0.0)
        return stat, df1, ident, sigma2, rho
    varfun = np.where(m, fit.w, 1.0).astype(np.float64)
    x2 = np.where(m, resid**2 / np.maximum(varfun, 1e-12), 0.0).sum(axis=1)
    own = np.maximum(x2[:, None] - u * u / v, 0.0) / (KAPPA * df1[:, None])
    post, df_t = moderate(own, df1, pri)
    phi = np.maximum(1.0, post)
    return u / np.sqrt(phi * v), df_t, ident, phi, rho


def deviance_units(family: int, y: np.ndarray, mu: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """Unit deviances (Poisson, binomial or squared residual)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if family == POISSON:
            t1 = np.where(y > 0, y * np.log(y / mu), 0.0)
            return 2 * (t1 - (y - mu))
        if family == BINOMIAL:
            t1 = np.where(y > 0, y * np.log(y / mu), 0.0)
            f = trials - y
            t2 = np.where(f > 0, f * np.log(f / (trials - mu)), 0.0)
            return 2 * (t1 + t2)
    return (y - mu) ** 2


def score_stat(
    fit: NullFit,
    col: np.ndarray,
    single_point: bool,
    pri: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed statistic for adding ``col``, its Student degrees of freedom, and whether the
    column is identifiable (not a combination of the baseline columns on observed points).
    ``pri``: pooled dispersion (s0^2, d0) per row, for count families."""
    m = fit.mask
    d = fit.design
    w = fit.w
    col = col.astype(w.dtype)
    resid = np.where(m, fit.y - fit.mu, 0.0)
    u = resid @ col
    # Residual of col after the weighted projection on the baseline (closed form).
    safe = np.where(fit.sw > 0, fit.sw, 1.0)
    cbar = ((w * col) @ d.seasons) / safe
    cc = col - cbar @ d.seasons.T
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(fit.stt > 0, (w * cc * fit.tc).sum(axis=1) / fit.stt, 0.0)
    ct = cc - k[:, None] * fit.tc
    v = (w * ct * ct).sum(axis=1)
    ident = v > 1e-7 * np.maximum(w @ (col * col), 1e-300)
    v = np.maximum(v, 1e-12)
    df1 = np.maximum(fit.df - 1, 1)
    if fit.family == GAUSSIAN:
        rss1 = np.maximum((resid**2).sum(axis=1) - u * u / v, 0.0)
        sigma2 = rss1 / (KAPPA * df1)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = np.where(sigma2 > 1e-12, u / np.sqrt(sigma2 * v), 0.0)
        return stat, df1, ident
    varfun = np.where(m, w, 1.0)
    x2 = np.where(m, resid**2 / np.maximum(varfun, 1e-12), 0.0).sum(axis=1)
    post, df_t = moderate(np.maximum(x2 - u * u / v, 0.0) / (KAPPA * df1), df1, pri)
    phi = np.maximum(1.0, post)
    if single_point:
        idx = int(np.flatnonzero(col)[-1])
        w_t = np.maximum(w[:, idx], 1e-12)
        one_minus_h = np.clip(v / w_t, 1e-6, 1.0)
        r_p2 = resid[:, idx] ** 2 / w_t
        r_d2 = deviance_units(fit.family, fit.y[:, idx], fit.mu[:, idx], fit.trials[:, idx])
        r_l2 = np.maximum(r_d2, 0.0) + (1 - one_minus_h) * r_p2 / one_minus_h
        stat = np.sign(u) * np.sqrt(r_l2 / phi)
    else:
        stat = u / np.sqrt(phi * v)
    return stat, df_t, ident
