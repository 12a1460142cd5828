"""The baseline's closed-form fit for many series at once (the screen's workhorse).

The baseline model of `detectors.design` (one level per season and a common linear trend) has
a closed-form weighted least-squares solution: by Frisch-Waugh, the season levels are
weighted means within each season and the slope is the weighted regression of the
within-season-centred response on the within-season-centred time. Each IRLS step of the
Poisson or binomial fit is therefore a few (rows x window) @ (window x seasons) products, with
no per-series linear system. Past one-off outliers are set aside and the baseline refitted on
the kept points (`kept_fit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detectors.design import GAUSSIAN, POISSON, TRIM_SHARE, TRIM_Z, Layout, Prepared

IRLS_STEPS = 2
FLOAT = np.float32
"""The screen computes in single precision: it only has to rank tests for statsmodels."""


@dataclass(frozen=True)
class Design:
    """The baseline design in the form the closed-form fit uses."""

    seasons: np.ndarray  # (W, S) one-hot season of each window position
    time: np.ndarray  # (W,) trend column
    x0: np.ndarray  # (W, p) the full baseline design (for the active-column count)

    @staticmethod
    def of(layout: Layout, seasonal: bool = True) -> Design:
        x0 = layout.base(seasonal).astype(FLOAT)
        s = x0.shape[1] - 1  # season levels (one without seasonality), then the trend
        return Design(x0[:, :s].copy(), x0[:, s].copy(), x0)


@dataclass
class NullFit:
    family: int
    y: np.ndarray
    trials: np.ndarray
    mask: np.ndarray
    mu: np.ndarray  # fitted mean in response units
    w: np.ndarray  # working weights (variance function), 0 where masked
    design: Design
    sw: np.ndarray  # (n, S) weight per season
    tc: np.ndarray  # (n, W) time centred within season (weighted)
    stt: np.ndarray  # (n,) weighted sum of squares of tc
    df: np.ndarray  # residual degrees of freedom of the null model


def wls(
    w: np.ndarray, z: np.ndarray, d: Design
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted fit of season levels + slope: fitted values, season weights, centred time
    and its weighted sum of squares (Frisch-Waugh, closed form)."""
    sw, tc, stt = _centre_time(w, d)
    wz = w * z
    zbar = (wz @ d.seasons) / np.where(sw > 0, sw, 1.0)
    slope = (wz * tc).sum(axis=1) / np.where(stt > 0, stt, 1.0)
    return zbar @ d.seasons.T + slope[:, None] * tc, sw, tc, stt


def _centre_time(w: np.ndarray, d: Design) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Season weights, time centred within season, and sum of w tc^2 (0 if no slope can be
    fitted, e.g. one point per season)."""
    sw = w @ d.seasons
    wt = w * d.time
    tbar = (wt @ d.seasons) / np.where(sw > 0, sw, 1.0)
    tc = d.time - tbar @ d.seasons.T
    stt = (wt * tc).sum(axis=1)
    ok = stt > 1e-6 * np.maximum(w.sum(axis=1), 1e-30)
    tc *= ok[:, None]
    return sw, tc, np.where(ok, stt, 0.0)


def fit_null(
    family: int,
    y: np.ndarray,
    trials: np.ndarray,
    offset: np.ndarray,
    mask: np.ndarray,
    design: Design,
) -> NullFit:
    """IRLS of the baseline model for many rows at once, each step in closed form.

    It starts from the exact fit without trend (season totals), so that two Newton steps
    reach the maximum likelihood (the trend is a few per cent a year)."""
    m = mask.astype(y.dtype)
    seasons = design.seasons
    if family == GAUSSIAN:
        w = m
        lin, sw, tc, stt = wls(w, y - offset, design)
        mu = lin + offset
    else:
        ys = (y * m) @ seasons
        if family == POISSON:
            ex = np.exp(offset)
            es = (ex * m) @ seasons
            rate = (ys + 0.1) / np.where(es > 0, es, 1.0)
            mu = ex * (rate @ seasons.T)
        else:
            ns = (trials * m) @ seasons
            pi = (ys + 0.5) / (ns + 1.0)
            mu = trials * (pi @ seasons.T)
        for _ in range(IRLS_STEPS):
            if family == POISSON:
                w = mu * m
                z = np.log(mu) - offset + (y - mu) / mu
            else:
                var = np.maximum(mu * (1 - mu / trials), 1e-12)
                w = var * m
                z = np.log(mu / (trials - mu)) - offset + (y - mu) / var
            lin, _, _, _ = wls(w, z, design)
            eta = np.clip(lin + offset, -30, 30)
            mu = np.exp(eta) if family == POISSON else trials / (1 + np.exp(-eta))
        w = mu * m if family == POISSON else mu * (1 - mu / trials) * m
        sw, tc, stt = _centre_time(w, design)
    act = (m @ (design.x0 != 0).astype(m.dtype)) > 0
    df = mask.sum(axis=1) - act.sum(axis=1)
    return NullFit(family, y, trials, mask, mu, w, design, sw, tc, stt, df)


def merge_rows(fit: NullFit, part: NullFit, rows: np.ndarray) -> NullFit:
    """``fit`` with ``rows`` replaced by ``part`` (a refit of those rows)."""
    out = {}
    for name in ("y", "trials", "mask", "mu", "w", "sw", "tc", "stt", "df"):
        arr = getattr(fit, name).copy()
        arr[rows] = getattr(part, name)
        out[name] = arr
    return NullFit(family=fit.family, design=fit.design, **out)


def outliers(fit: NullFit, layout: Layout) -> np.ndarray:
    """Past points whose Pearson residual is beyond ``TRIM_Z`` robust SDs (at most
    ``TRIM_SHARE`` of them per series, the largest first)."""
    eligible = fit.mask & layout.trimmable[None, :]
    n_elig = eligible.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if fit.family == GAUSSIAN:
            r = np.abs(fit.y - fit.mu)
        else:
            r = np.abs(fit.y - fit.mu) / np.sqrt(np.maximum(fit.w, 1e-12))
    r = np.where(eligible, r, np.inf)
    srt = np.sort(r, axis=1)
    rows = np.arange(r.shape[0])
    k = np.maximum(n_elig, 1)
    med = 0.5 * (srt[rows, (k - 1) // 2] + srt[rows, k // 2])
    scale = 1.4826 * med
    if fit.family != GAUSSIAN:
        scale = np.maximum(scale, 1.0)  # never below the model's own variance
    limit = np.where(scale > 0, TRIM_Z * scale, np.inf)
    cap = np.floor(TRIM_SHARE * n_elig).astype(np.int64)
    # The (cap+1)-th largest residual: only residuals above it may go.
    pos = np.clip(n_elig - cap - 1, 0, r.shape[1] - 1)
    kth = np.where(cap > 0, srt[rows, pos], np.inf)
    limit = np.maximum(limit, kth)
    out = eligible & (r > limit[:, None])
    if fit.family == POISSON and out.any():
        at = np.nonzero(out)
        out[at] = _improbable_count(fit.y[at], fit.mu[at])
    out[n_elig < 10] = False
    return out


def _improbable_count(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Counts whose Poisson tail at the fitted mean is beyond a Gaussian's at ``TRIM_Z``.

    Why: at a mean of 0.05 a month, a single event has a Pearson residual of 4.2 but a
    probability of 5 %; set aside, it would leave a series of zeros, whose level is then
    biased to nothing. The exact tail keeps such counts (above a mean of 10 or so, the
    Gaussian and the Poisson tails agree)."""
    from scipy import special

    y64, mu64 = y.astype(np.float64), np.maximum(mu.astype(np.float64), 1e-12)
    up = special.pdtrc(np.maximum(y64 - 1, 0), mu64)  # P(Y >= y)
    up = np.where(y64 > 0, up, 1.0)
    down = special.pdtr(y64, mu64)  # P(Y <= y)
    tail = np.where(y64 >= mu64, up, down)
    return tail < float(special.ndtr(-TRIM_Z))


def restrict(fit: NullFit, rows: np.ndarray) -> NullFit:
    """``fit`` restricted to ``rows``."""
    out = {}
    for name in ("y", "trials", "mask", "mu", "w", "sw", "tc", "stt", "df"):
        out[name] = getattr(fit, name)[rows]
    return NullFit(family=fit.family, design=fit.design, **out)


def pearson(fit: NullFit) -> np.ndarray:
    """Pearson chi2 (residual sum of squares for Gaussian rows) of a baseline fit."""
    m = fit.mask
    return np.where(m, (fit.y - fit.mu) ** 2 / np.maximum(fit.w, 1e-12), 0.0).sum(axis=1)


def kept_fit(
    family: int, prep: Prepared, sel: np.ndarray, layout: Layout, design: Design
) -> tuple[NullFit, np.ndarray]:
    """Baseline fit of rows ``sel`` (all of one family) on their kept points, and the past
    outliers set aside (see `detectors.design`)."""
    y, tr = prep.y[sel].astype(FLOAT), prep.trials[sel].astype(FLOAT)
    own = np.asarray(prep.testable[sel][:, :3].any(axis=1))
    mask = prep.mask[sel] & own[:, None]
    off = prep.offset[sel].astype(FLOAT)
    fit = fit_null(family, y, tr, off, mask, design)
    out_pts = outliers(fit, layout)
    redo = np.flatnonzero(out_pts.any(axis=1))
    if redo.size:
        part = fit_null(
            family, y[redo], tr[redo], off[redo], mask[redo] & ~out_pts[redo], design
        )
        fit = merge_rows(fit, part, redo)
    return fit, out_pts
