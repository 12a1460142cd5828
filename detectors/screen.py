"""Vectorised screening: approximate p-values for every series of a wave at once.

The screen fits the baseline (null) model of `detectors.design` to all series together by a
few batched IRLS steps (one small normal-equation system per series, solved in one numpy
call), then scores each alternative column against it: a score test with the dispersion
re-estimated as the alternative model would (quasi-likelihood, Student reference), and for
the one-period spike Williams' likelihood residual, which tracks the likelihood-ratio test of
the confirmation even for small counts (a Pearson z would overstate upward spikes and
understate dips there). For Gaussian series the result is the exact OLS t-test.

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
    active_columns,
    make_layout,
    prepare,
)
from detectors.fdr import bh_threshold

IRLS_STEPS = 4


@dataclass
class ScreenResult:
    """Approximate p-values (n_series x 4, NaN = not testable) and the kept candidates."""

    pvalues: np.ndarray
    testable: np.ndarray
    candidates: np.ndarray
    cutoff: float

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
    return screen_prepared(layout, prepare(batch, layout), q, floor, margin, chunk)


def screen_prepared(
    layout: Layout,
    prep: Prepared,
    q: float = 0.05,
    floor: float = 0.002,
    margin: float = 20.0,
    chunk: int = 20_000,
) -> ScreenResult:
    """`screen` on inputs already laid out by `detectors.design.prepare`."""
    n_series = prep.family.shape[0]
    pvalues = np.full(prep.testable.shape, np.nan)
    for lo in range(0, n_series, chunk):
        rows = slice(lo, min(lo + chunk, n_series))
        pvalues[rows] = screen_pvalues(layout, prep, rows)
    testable = prep.testable & np.isfinite(pvalues)
    pvalues[~testable] = np.nan
    tested = pvalues[testable]
    cutoff = max(floor, margin * bh_threshold(tested, q)) if tested.size else floor
    candidates = testable & (pvalues <= cutoff)
    return ScreenResult(pvalues, testable, candidates, cutoff)


def screen_pvalues(layout: Layout, prep: Prepared, rows: slice) -> np.ndarray:
    """Approximate p-values for a block of rows, one column per test kind."""
    n = rows.stop - rows.start
    out = np.full((n, len(TEST_KINDS)), np.nan)
    fam = prep.family[rows]
    for family in (POISSON, BINOMIAL, GAUSSIAN):
        sel = np.flatnonzero(fam == family) + rows.start
        if sel.size == 0:
            continue
        local = sel - rows.start
        y, tr = prep.y[sel], prep.trials[sel]
        own: np.ndarray = np.asarray(prep.testable[sel, :3].any(axis=1))
        if own.any():
            fit = fit_null(family, y, tr, prep.offset[sel], prep.mask[sel] & own[:, None], layout)
            for j, kind in enumerate(TEST_KINDS[:3]):
                stat, df, ident = score_stat(fit, layout.extras[kind], kind == "spike")
                out[local, j] = np.where(ident, 2 * stats.t.sf(np.abs(stat), df), np.nan)
        gap = prep.testable[sel, 3]
        if gap.any():
            gmask = prep.gap_mask[sel] & gap[:, None]
            fit = fit_null(family, y, tr, prep.gap_offset[sel], gmask, layout)
            stat, df, ident = score_stat(fit, layout.extras["gap_widening"], False)
            out[local, 3] = np.where(ident, stats.t.sf(prep.gap_sign[sel] * stat, df), np.nan)
    return out


@dataclass
class NullFit:
    family: int
    y: np.ndarray
    trials: np.ndarray
    mask: np.ndarray
    mu: np.ndarray  # fitted mean in response units
    w: np.ndarray  # working weights, 0 where masked
    ainv: np.ndarray  # (n, p, p) inverse information
    x: np.ndarray
    df: np.ndarray  # residual degrees of freedom of the null model


def fit_null(
    family: int,
    y: np.ndarray,
    trials: np.ndarray,
    offset: np.ndarray,
    mask: np.ndarray,
    layout: Layout,
) -> NullFit:
    """Batched IRLS of the baseline model, one system per row."""
    x = layout.x0
    n, width = y.shape
    p = x.shape[1]
    outer = np.einsum("tp,tq->tpq", x, x).reshape(width, p * p)
    m = mask.astype(float)
    if family == POISSON:
        mu = y + 0.5
        eta = np.log(mu)
    elif family == BINOMIAL:
        pi = (y + 0.5) / (trials + 1.0)
        eta = np.log(pi / (1 - pi))
        mu = trials * pi
    else:
        mu = np.zeros_like(y)
        eta = mu
    steps = 1 if family == GAUSSIAN else IRLS_STEPS
    for _ in range(steps):
        if family == POISSON:
            w = mu * m
            z = eta - offset + (y - mu) / mu
        elif family == BINOMIAL:
            var = mu * (1 - mu / trials)
            w = var * m
            z = eta - offset + (y - mu) / np.maximum(var, 1e-12)
        else:
            w = m
            z = y - offset
        a = _information(w, outer, n, p)
        beta = np.linalg.solve(a, ((w * z) @ x)[..., None])[..., 0]
        eta = np.clip(beta @ x.T + offset, -30, 30)
        if family == POISSON:
            mu = np.exp(eta)
        elif family == BINOMIAL:
            mu = trials / (1 + np.exp(-eta))
        else:
            mu = eta
    if family == POISSON:
        w = mu * m
    elif family == BINOMIAL:
        w = mu * (1 - mu / trials) * m
    else:
        w = m
    ainv = np.linalg.inv(_information(w, outer, n, p))
    df = mask.sum(axis=1) - active_columns(layout, mask).sum(axis=1)
    return NullFit(family, y, trials, mask, mu, w, ainv, x, df)


def _information(w: np.ndarray, outer: np.ndarray, n: int, p: int) -> np.ndarray:
    """X'WX per row; unobserved columns get a unit diagonal, and a relative ridge of 1e-10
    keeps a degenerate row from stopping the whole batch (its tests are then flagged as not
    identifiable)."""
    a = (w @ outer).reshape(n, p, p)
    diag = np.einsum("npp->np", a)
    a[:, np.arange(p), np.arange(p)] = np.where(diag > 0, diag * (1 + 1e-10), 1.0)
    return a


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
    fit: NullFit, col: np.ndarray, single_point: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed statistic for adding ``col``, its Student degrees of freedom, and whether the
    column is identifiable (not a combination of the baseline columns on observed points)."""
    m = fit.mask
    resid = np.where(m, fit.y - fit.mu, 0.0)
    u = resid @ col
    xtwc = (fit.w * col) @ fit.x
    v = (fit.w @ (col * col)) - np.einsum("np,npq,nq->n", xtwc, fit.ainv, xtwc)
    ident = v > 1e-7 * np.maximum(fit.w @ (col * col), 1e-300)
    v = np.maximum(v, 1e-12)
    df1 = np.maximum(fit.df - 1, 1)
    if fit.family == GAUSSIAN:
        rss1 = np.maximum((resid**2).sum(axis=1) - u * u / v, 0.0)
        sigma2 = rss1 / df1
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = np.where(sigma2 > 1e-12, u / np.sqrt(sigma2 * v), 0.0)
        return stat, df1, ident
    varfun = np.where(m, fit.w, 1.0)
    x2 = np.where(m, resid**2 / np.maximum(varfun, 1e-12), 0.0).sum(axis=1)
    phi = np.maximum(1.0, (x2 - u * u / v) / df1)
    if single_point:
        idx = int(np.flatnonzero(col)[-1])
        w_t = np.maximum(fit.w[:, idx], 1e-12)
        one_minus_h = np.clip(v / w_t, 1e-6, 1.0)
        r_p2 = resid[:, idx] ** 2 / w_t
        r_d2 = deviance_units(fit.family, fit.y[:, idx], fit.mu[:, idx], fit.trials[:, idx])
        r_l2 = np.maximum(r_d2, 0.0) + (1 - one_minus_h) * r_p2 / one_minus_h
        stat = np.sign(u) * np.sqrt(r_l2 / phi)
    else:
        stat = u / np.sqrt(phi * v)
    return stat, df1, ident
