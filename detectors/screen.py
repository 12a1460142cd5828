"""Vectorised screening: approximate p-values for every series of a wave at once.

The baseline model of `detectors.design` (one level per season and a common linear trend) has
a closed-form weighted least-squares solution: by Frisch-Waugh, the season levels are
weighted means within each season and the slope is the weighted regression of the
within-season-centred response on the within-season-centred time. Each IRLS step of the
Poisson or binomial fit is therefore a few (rows x window) @ (window x seasons) products, with
no per-series linear system: a few microseconds per series, in blocks of rows that keep memory
bounded and can run in parallel processes.

Past one-off outliers are set aside (see `detectors.design`) and the baseline is refitted on
the kept points. Each alternative column is then scored against the fit: a score test with the
dispersion re-estimated as the alternative model would (quasi-likelihood, Student reference),
and for the one-period spike Williams' likelihood residual, which tracks the likelihood-ratio
test of the confirmation even for small counts. A level shift or trend change is searched
over its candidate positions (`detectors.design`): the position with the largest score
statistic is kept (the confirmation's rule), its likelihood ratio is maximised along the
column made orthogonal to the baseline (a score alone misjudges large changes), and the
p-value pays for the search (`detectors.design.position_pvalue`, with the correlations of
neighbouring positions from the same sums). For Gaussian series the statistic is the exact
OLS t-test's.

The dispersion of count series is pooled across the territories of each indicator
(`dispersion_prior`, limma-trend): a wave-level estimate made once before the blocks are
screened, carried by each row (``Prepared.prior``) into the screen and the confirmation.

A gap widening must be news about the neighbourhood itself: its p-value is the larger of the
gap test and the one-sided test of the series' own level shift in the widening direction (an
intersection-union test, valid for "both moved"), so a neighbourhood that stayed put while
its parent moved is not reported.

Screening only decides which tests reach statsmodels: tests it drops enter the
multiple-testing step with p = 1, so it can cost power but never add false alarms.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import stats

from detectors.batch import SeriesBatch
from detectors.design import (
    BINOMIAL,
    GAUSSIAN,
    KAPPA,
    MIN_DF,
    MIN_SPIKE_DF,
    POISSON,
    TEST_KINDS,
    TRIM_SHARE,
    TRIM_Z,
    Layout,
    Prepared,
    make_layout,
    position_pvalue,
    prepare,
)
from detectors.fdr import bh_threshold

IRLS_STEPS = 2
FLOAT = np.float32
"""The screen computes in single precision: it only has to rank tests for statsmodels."""


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
        fit = _merge(fit, part, redo)
    return fit, out_pts


# --- dispersion pooled across the territories of an indicator ------------------------------

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
    """(n_series, 2, 3): for each row and count family (Poisson, binomial), the pooled
    dispersion of the row's indicator: log prior = a + b log(level), prior df d0.

    Why: a dispersion estimated from ~50 points (and from 2 to 8 for an annual series) is
    noisy, and its Student reference costs power. The dispersions of the territories of
    one indicator are alike once their size is accounted for (a larger count is more
    overdispersed: variance between mu and mu^2), so they are pooled as in limma-trend
    (Smyth 2004): log s_i^2 is regressed on the log level of the series (slope kept in
    [0, 1]) and the spread of the residuals beyond their sampling variance gives the prior
    df d0 (d0 small when the territories differ, infinite, capped, when they do not). Each
    test then uses (d0 s0^2 + d s^2) / (d0 + d) with d0 + d Student df: calibrated when the
    prior holds, never assumed when it does not. Amounts (Gaussian) are not pooled: their
    scale is the territory's own."""
    out = np.zeros((batch.n_series, 2, 3))
    for rows, pick in indicator_rows(batch, sample):
        prep = prepare(batch, layout, pick, seasonal=seasonal)
        design = Design.of(layout, bool(prep.seasonal[0]))  # one decision per indicator
        for col, family in enumerate((POISSON, BINOMIAL)):
            sel = np.flatnonzero((prep.family == family) & prep.testable[:, :3].any(axis=1))
            if sel.size < POOL_MIN:
                continue
            fit, _ = kept_fit(family, prep, sel, layout, design)
            s2, d, level = null_dispersion(fit)
            coef = fit_prior(s2, d, level)
            if coef is not None:
                out[rows, col] = coef
    return out


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
            x2, x2_flat = _pearson(fit), _pearson(flat)
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


def _pearson(fit: NullFit) -> np.ndarray:
    """Pearson chi2 (residual sum of squares for Gaussian rows) of a baseline fit."""
    m = fit.mask
    return np.where(m, (fit.y - fit.mu) ** 2 / np.maximum(fit.w, 1e-12), 0.0).sum(axis=1)


def null_dispersion(fit: NullFit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pearson dispersion of the baseline fit (truncation-corrected), its df, and the
    series' level (mean count, or mean denominator for a binomial series)."""
    d = fit.df.astype(np.float64)
    s2 = _pearson(fit) / (KAPPA * np.maximum(d, 1))
    return s2.astype(np.float64), d, series_level(fit.family, fit.y, fit.trials, fit.mask)


def series_level(family: int, y: np.ndarray, trials: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean count (Poisson: the mean fitted count, the season levels making them equal) or
    mean denominator (binomial) over the kept points: what the dispersion grows with."""
    m = mask.astype(np.float64)
    src = y if family == POISSON else trials
    return (src * m).sum(axis=-1) / np.maximum(m.sum(axis=-1), 1.0)


def fit_prior(s2: np.ndarray, d: np.ndarray, level: np.ndarray) -> np.ndarray | None:
    """limma's moment estimator with a linear trend in log level: (a, b, d0) or None."""
    from scipy.special import digamma, polygamma

    ok = (d >= 1) & np.isfinite(s2) & (level > 0)
    if ok.sum() < POOL_MIN:
        return None
    d, x = d[ok], np.log(level[ok])
    e = np.log(np.maximum(s2[ok], 1e-3)) - digamma(d / 2) + np.log(d / 2)
    xc = x - x.mean()
    sxx = float((xc * xc).sum())
    b = float((xc * (e - e.mean())).sum() / sxx) if sxx > 1e-9 else 0.0
    b = min(max(b, 0.0), 1.0)
    a0 = float((e - b * x).mean())
    resid = e - a0 - b * x
    excess = float((resid**2).sum() / max(resid.size - 2, 1) - polygamma(1, d / 2).mean())
    d0 = MAX_PRIOR_DF if excess <= 0 else min(MAX_PRIOR_DF, 2 * _trigamma_inverse(excess))
    a = a0 + float(digamma(d0 / 2) - np.log(d0 / 2))
    return np.array([a, b, d0])


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
    """s0^2 = exp(a + b log level), for rows (n, 3) or one row (3,)."""
    a, b = prior[..., 0], prior[..., 1]
    return np.exp(a + b * np.log(np.maximum(level, 1e-9)))


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


def _wls(
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
        lin, sw, tc, stt = _wls(w, y - offset, design)
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
            lin, _, _, _ = _wls(w, z, design)
            eta = np.clip(lin + offset, -30, 30)
            mu = np.exp(eta) if family == POISSON else trials / (1 + np.exp(-eta))
        w = mu * m if family == POISSON else mu * (1 - mu / trials) * m
        sw, tc, stt = _centre_time(w, design)
    act = (m @ (design.x0 != 0).astype(m.dtype)) > 0
    df = mask.sum(axis=1) - act.sum(axis=1)
    return NullFit(family, y, trials, mask, mu, w, design, sw, tc, stt, df)


def _merge(fit: NullFit, part: NullFit, rows: np.ndarray) -> NullFit:
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
    out[n_elig < 10] = False
    return out


def searched_pvalue(
    fit: NullFit, cols: np.ndarray, pri: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """p-value of a change at an unknown position: the largest statistic over the candidate
    columns, corrected for the search (`detectors.design.position_pvalue`), NaN if no
    column is identifiable."""
    stat, df_t, ident, phi, rho = _score_many(fit, cols, pri)
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
        part = _rows(fit, near)
        refined = profile_stat(part, cols.T[best[near]], phi[near, best[near]])
        p[near] = position_pvalue(refined, df_t[near], rho[near], ident[near])
    return np.where(found, p, np.nan)


PROFILE_ABOVE = 0.5
"""Screened p-values of searched kinds at or above this keep the score's value (a cutoff
is far below it, and the likelihood ratio differs from the score by a factor of a few)."""


def _rows(fit: NullFit, rows: np.ndarray) -> NullFit:
    """``fit`` restricted to ``rows``."""
    out = {}
    for name in ("y", "trials", "mask", "mu", "w", "sw", "tc", "stt", "df"):
        out[name] = getattr(fit, name)[rows]
    return NullFit(family=fit.family, design=fit.design, **out)


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
    stat, df_t, ident, _, _ = _score_many(fit, cols, pri)
    return stat, df_t, ident


def _score_many(
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


__all__ = [
    "ScreenResult",
    "dispersion_prior",
    "score_many",
    "screen",
    "screen_block",
    "screen_prepared",
    "searched_pvalue",
]
