"""Retrospective change-point mode: segment a whole univariate series.

Why: the review page draws the segments of an indicator's history, and the observatory wants to
see where its level (or trend) moved, with the evidence for each move. Online detection lives in
the other detectors; this mode looks at the whole series at once.

Method, with fixed defaults (no per-series tuning; checked on the TCPD benchmark, with a
leave-one-dataset-out check of the relevance floor, see benchmarks/tcpd.py):
1. Missing values (NaN: missing or secret) are dropped, never read as zero; positions are kept,
   so a boundary is reported at the first *observed* point of the new segment.
2. Cost: Gaussian piecewise-linear in time (trend-aware, default) or piecewise-constant least
   squares scaled by the noise variance; or, for small counts, a Poisson deviance of a constant
   rate per exposure scaled by a dispersion (>= 1, quasi-Poisson).
3. Noise scale from first differences (shifts and trends barely touch them), the largest 5%
   set aside as jumps; their lag-1 correlation gives the noise autocorrelation rho (capped at
   rho_max: near 1 it cannot be told apart from a random walk), and the variance is inflated to
   its long-run value s2 (1 + rho) / (1 - rho), so slow wandering is not read as shifts.
4. Search: PELT, the exact optimum of scaled cost + penalty_factor * log(n) per change
   (mBIC-like: a change costs location + mean (+ slope)), with a minimum segment size.
5. Confirmation: each change is tested against merging its two neighbouring segments by a
   likelihood-ratio test (chi-square, 1 df for a level, 2 for level + slope) with a Bonferroni
   factor for the positions searched; the weakest failing change is dropped until all pass.
6. Relevance: a change whose removal would move the fitted line by less than min_effect (5%)
   of the series' range (1st to 99th percentile) is dropped, the smallest first. A long smooth
   series with little noise has statistically significant bends everywhere; none is a change
   anyone sees on the chart.
7. Scale check: the same long-run variance rule is applied to the residuals of the resulting
   fit. If they are significantly larger than the scale used (one-sided chi-square at alpha, on
   the residuals' effective degrees of freedom), the scale is raised to theirs and steps 4-6
   run again, until the fit's own residuals agree with the scale. Differences see the noise
   from one point to the next only: noise that is not Gaussian at that lag (a balance moved by
   a few large transactions, flat the rest of the time) or more persistent than rho_max looks
   small there, and every large move becomes a change; the residuals show the noise the fit
   really leaves. The scale is only ever raised, so an over-cut fit cannot talk it down.
   Each kept change carries its confirmation p-value and cost improvement at the final scale.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Segmentation:
    """Result of `segment`: change points (0-based first index of each new segment) + evidence."""

    change_points: list[int]
    segment_means: list[float]
    p_values: list[float]  # per change: test of "no change here" (Bonferroni-adjusted)
    cost_improvements: list[float]  # per change: drop in scaled cost from splitting
    fitted: np.ndarray = field(repr=False)  # fitted level per index, NaN where value missing
    scale: float  # noise sd (gaussian) or dispersion (poisson) used
    kind: str


# --- segment costs from cumulative sums ----------------------------------------------------


class _Cost:
    """O(1) segment cost on observed points [a, b) (positions in the compressed series)."""

    min_points: int = 1

    def costs(self, a: np.ndarray, b: int) -> np.ndarray:
        """Costs of [a_i, b) for an array of starts, at once (the search's inner loop)."""
        raise NotImplementedError

    def cost(self, a: int, b: int) -> float:
        return float(self.costs(np.array([a]), b)[0])

    def fit(self, a: int, b: int) -> np.ndarray:
        raise NotImplementedError


class _MeanCost(_Cost):
    """Residual sum of squares around the segment mean."""

    def __init__(self, y: np.ndarray, t: np.ndarray) -> None:
        self.y = y
        self.s1 = np.concatenate([[0.0], np.cumsum(y)])
        self.s2 = np.concatenate([[0.0], np.cumsum(y * y)])

    def costs(self, a: np.ndarray, b: int) -> np.ndarray:
        n = b - a
        s = self.s1[b] - self.s1[a]
        return np.maximum(self.s2[b] - self.s2[a] - s * s / n, 0.0)

    def fit(self, a: int, b: int) -> np.ndarray:
        return np.full(b - a, (self.s1[b] - self.s1[a]) / (b - a))


class _LinearCost(_Cost):
    """Residual sum of squares around the segment's least-squares line in time."""

    min_points = 3

    def __init__(self, y: np.ndarray, t: np.ndarray) -> None:
        self.y, self.t = y, t
        c = lambda v: np.concatenate([[0.0], np.cumsum(v)])  # noqa: E731
        self.n1, self.st, self.stt = c(np.ones_like(y)), c(t), c(t * t)
        self.sy, self.syy, self.sty = c(y), c(y * y), c(t * y)

    def _coef(self, a: np.ndarray, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = b - a
        st, sy = self.st[b] - self.st[a], self.sy[b] - self.sy[a]
        stt = self.stt[b] - self.stt[a] - st * st / n
        sty = self.sty[b] - self.sty[a] - st * sy / n
        syy = self.syy[b] - self.syy[a] - sy * sy / n
        slope = np.where(stt > 0, sty / np.where(stt > 0, stt, 1.0), 0.0)
        return slope, sy / n - slope * st / n, np.maximum(syy - slope * sty, 0.0)

    def costs(self, a: np.ndarray, b: int) -> np.ndarray:
        return self._coef(a, b)[2]

    def fit(self, a: int, b: int) -> np.ndarray:
        slope, icpt, _ = self._coef(np.array([a]), b)
        return icpt[0] + slope[0] * self.t[a:b]


class _PoissonCost(_Cost):
    """Poisson deviance of a constant rate per exposure on the segment."""

    def __init__(self, y: np.ndarray, e: np.ndarray) -> None:
        self.y, self.e = y, e
        self.sy = np.concatenate([[0.0], np.cumsum(y)])
        self.se = np.concatenate([[0.0], np.cumsum(e)])
        ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y / e, 1.0)), 0.0)
        self.sylogy = np.concatenate([[0.0], np.cumsum(ylogy)])

    def costs(self, a: np.ndarray, b: int) -> np.ndarray:
        sy, se = self.sy[b] - self.sy[a], self.se[b] - self.se[a]
        rate_term = np.where(sy > 0, sy * np.log(np.where(sy > 0, sy, 1.0) / se), 0.0)
        return np.maximum(2.0 * (self.sylogy[b] - self.sylogy[a] - rate_term), 0.0)

    def fit(self, a: int, b: int) -> np.ndarray:
        rate = (self.sy[b] - self.sy[a]) / (self.se[b] - self.se[a])
        return rate * self.e[a:b]


# --- search --------------------------------------------------------------------------------


def _pelt(cost: _Cost, n: int, scale2: float, penalty: float, min_size: int) -> list[int]:
    """Exact penalised segmentation (Killick et al. 2012); returns internal boundaries."""
    best = np.full(n + 1, np.inf)
    best[0] = -penalty
    last = np.zeros(n + 1, dtype=int)
    candidates = np.array([0])
    for b in range(min_size, n + 1):
        is_ready = b - candidates >= min_size
        ready, waiting = candidates[is_ready], candidates[~is_ready]
        if not ready.size:
            continue
        vals = best[ready] + cost.costs(ready, b) / scale2 + penalty
        i = int(np.argmin(vals))
        best[b], last[b] = vals[i], ready[i]
        # a start whose cost already exceeds the optimum, penalty aside, never wins again
        candidates = np.concatenate([ready[vals - penalty <= best[b]], waiting, [b]])
    cps: list[int] = []
    b = n
    while b > 0:
        b = int(last[b])
        if b > 0:
            cps.append(b)
    return sorted(cps)


# --- scale and autocorrelation -------------------------------------------------------------

_TRIM = 0.05  # share of the largest differences set aside as jumps, not noise
_TRIM_Z = float(stats.norm.ppf(1 - _TRIM / 2))
# sd of a normal sample kept within +-z sd is sd * sqrt(1 - 2 z pdf(z) / (1 - trim)): undo it
_TRIM_CONSISTENCY = float(1 / np.sqrt(1 - 2 * _TRIM_Z * stats.norm.pdf(_TRIM_Z) / (1 - _TRIM)))


def _trimmed_var(v: np.ndarray) -> float:
    """Variance with the largest 5% of deviations from the median set aside, made consistent."""
    dev = np.abs(v - np.median(v))
    return float(np.var(v[dev <= np.quantile(dev, 1 - _TRIM)])) * _TRIM_CONSISTENCY**2


def _long_run_scale2(y: np.ndarray, e: np.ndarray, kind: str, rho_max: float) -> float:
    """Long-run noise variance (Gaussian) or dispersion (Poisson), read off first differences.

    Why differences: shifts and trends barely touch them, so no first fit is needed; the
    largest 5% are set aside as jumps. For AR(1) noise of lag-1 correlation rho,
    var(diff) = 2 s2 (1 - rho) and successive differences correlate at -(1 - rho) / 2; the
    variance that governs segment means is the long-run one, s2 (1 + rho) / (1 - rho).
    """
    if kind == "poisson":
        rate = y.sum() / e.sum()
        d = np.diff(y / e) / np.sqrt(rate * (1 / e[1:] + 1 / e[:-1]))
    else:
        d = np.diff(y)
    dev = np.abs(d - np.median(d))
    kept = np.where(dev <= np.quantile(dev, 1 - _TRIM), d, np.nan)
    pairs = np.isfinite(kept[1:]) & np.isfinite(kept[:-1])
    if pairs.sum() < 3:
        return 0.0
    sd = float(np.nanstd(kept)) * _TRIM_CONSISTENCY
    if sd == 0:
        return 0.0
    # Gnanadesikan-Kettenring: corr = (var(u+v) - var(u-v)) / (var(u+v) + var(u-v)), trimmed
    plus, minus = _trimmed_var(d[1:] + d[:-1]), _trimmed_var(d[1:] - d[:-1])
    corr = (plus - minus) / (plus + minus) if plus + minus > 0 else -0.5
    rho = min(max(1.0 + 2.0 * corr, 0.0), rho_max)
    s2 = sd**2 / (2.0 * (1.0 - rho)) * (1.0 + rho) / (1.0 - rho)
    return max(1.0, s2) if kind == "poisson" else s2


MIN_EFFECT = 0.05  # smallest relevant change: a twentieth of the series' range (see segment)
_MAX_REFITS = 10  # scale raised from residuals at most this often (it converges in 1-4)


# --- confirmation --------------------------------------------------------------------------


def _split_test(
    cost: _Cost, a: int, c: int, b: int, scale2: float, df: int, min_size: int
) -> tuple[float, float]:
    """(Bonferroni p-value, LR statistic) of a change at c against merging [a, c) and [c, b)."""
    lr = (cost.cost(a, b) - cost.cost(a, c) - cost.cost(c, b)) / scale2
    positions = max(1, b - a - 2 * min_size + 1)
    return min(1.0, float(stats.chi2.sf(max(lr, 0.0), df)) * positions), lr


def _confirm(
    cost: _Cost, n: int, cps: list[int], scale2: float, df: int, min_size: int, alpha: float
) -> tuple[list[int], list[float], list[float]]:
    """Drop the weakest unconfirmed change until every change passes its test at `alpha`."""
    cps = list(cps)
    while True:
        bounds = [0, *cps, n]
        tests = [
            _split_test(cost, bounds[i], bounds[i + 1], bounds[i + 2], scale2, df, min_size)
            for i in range(len(cps))
        ]
        if not tests:
            return [], [], []
        worst = int(np.argmax([p for p, _ in tests]))
        if tests[worst][0] <= alpha:
            return cps, [p for p, _ in tests], [lr for _, lr in tests]
        del cps[worst]


def _move(cost: _Cost, a: int, c: int, b: int, e: np.ndarray, kind: str) -> float:
    """How far the fit on [a, b) moves (largest gap, in rate units for Poisson) without c."""
    merged, split = cost.fit(a, b), np.r_[cost.fit(a, c), cost.fit(c, b)]
    if kind == "poisson":
        merged, split = merged / e[a:b], split / e[a:b]
    return float(np.max(np.abs(merged - split)))


def _drop_irrelevant(
    cost: _Cost, n: int, cps: list[int], e: np.ndarray, kind: str, floor: float
) -> list[int]:
    """Drop the change whose removal moves the fit least, while that move is under `floor`.

    Why: a relevant change (Dette & Wied 2016) is one whose size matters, not merely one that is
    significant. On a long smooth series with little noise (a population count), every gentle
    bend is significant, yet merging across it moves the drawn fit by a fraction of a percent of
    the series' range: nobody sees it on the chart, and it is not a change of regime.
    """
    cps = list(cps)
    while cps:
        bounds = [0, *cps, n]
        moves = [
            _move(cost, bounds[i], bounds[i + 1], bounds[i + 2], e, kind) for i in range(len(cps))
        ]
        weakest = int(np.argmin(moves))
        if moves[weakest] >= floor:
            break
        del cps[weakest]
    return cps


def _residual_scale2(
    y: np.ndarray, e: np.ndarray, cost: _Cost, cps: list[int], kind: str, rho_max: float
) -> tuple[float, float]:
    """Long-run noise variance (or dispersion) left unexplained by the segmentation `cps`.

    Same rule as from the differences (trimmed variance, AR(1) inflation with the lag-1
    autocorrelation capped at rho_max), applied to what the fitted segments leave over, with
    the degrees of freedom of the fitted segments given back. Why: differences only see the
    noise from one point to the next. Noise that is not Gaussian at that scale (a balance that
    moves by a few large transactions, the rest of the days flat) reads as tiny there, and every
    large move then looks like a change; the residuals of the fit show the noise it really has.
    """
    bounds = [0, *cps, len(y)]
    fit = np.concatenate([cost.fit(a, b) for a, b in itertools.pairwise(bounds)])
    if kind == "poisson":
        ok = fit > 0
        r = (y[ok] - fit[ok]) / np.sqrt(fit[ok])  # Pearson residuals
    else:
        r = y - fit
    params = (len(cps) + 1) * (2 if isinstance(cost, _LinearCost) else 1)
    if len(r) - params < 3:
        return 0.0, 0.0
    var = _trimmed_var(r) * len(r) / (len(r) - params)
    centred = r - r.mean()
    denom = float(centred @ centred)
    rho = float(centred[1:] @ centred[:-1]) / denom if denom > 0 else 0.0
    rho = min(max(rho, 0.0), rho_max)
    # a variance of AR(1) residuals is as precise as one from n (1 - rho^2) / (1 + rho^2) draws
    return var * (1.0 + rho) / (1.0 - rho), (len(r) - params) * (1 - rho**2) / (1 + rho**2)


# --- public API ----------------------------------------------------------------------------


def segment(
    values: np.ndarray,
    *,
    kind: str = "gaussian",
    exposure: np.ndarray | None = None,
    min_size: int = 5,
    trend: bool = True,
    penalty_factor: float = 4.0,
    alpha: float = 0.01,
    rho_max: float = 0.7,
    min_effect: float = MIN_EFFECT,
    refit_scale: bool = True,
) -> Segmentation:
    """Segment a whole series into stretches of stable level (or trend, if `trend`).

    kind: "gaussian", or "poisson" for small counts (rate per `exposure` if given; the trend
    option does not apply). min_size: fewest observed points per segment. penalty_factor:
    penalty per change, in units of log(n) of the scaled cost. alpha: level of each change's
    confirmation test. rho_max: cap on the noise autocorrelation used to inflate the variance.
    min_effect: smallest relevant change, as a share of the series' range (of the rate, for
    "poisson"): a change whose removal would move the fit by less is dropped. refit_scale: raise
    the noise scale to what the fit leaves unexplained, when that is significantly larger, and
    segment again (False: the scale read off the differences only).
    """
    if kind not in ("gaussian", "poisson"):
        raise ValueError(f"kind must be 'gaussian' or 'poisson', not {kind!r}")
    x = np.asarray(values, dtype=float)
    e_full = np.ones_like(x) if exposure is None else np.asarray(exposure, dtype=float)
    if e_full.shape != x.shape:
        raise ValueError("exposure must have the same shape as values")
    observed = np.flatnonzero(np.isfinite(x) & np.isfinite(e_full) & (e_full > 0))
    y, e, t = x[observed], e_full[observed], observed.astype(float)
    if kind == "poisson" and np.any(y < 0):
        raise ValueError("poisson kind needs non-negative counts")
    use_trend = trend and kind == "gaussian"
    if kind == "poisson":
        cost: _Cost = _PoissonCost(y, e)
    elif use_trend:
        cost = _LinearCost(y, t - (t.mean() if len(t) else 0.0))
    else:
        cost = _MeanCost(y, t)
    min_size = max(min_size, cost.min_points)
    n = len(y)
    df = 2 if use_trend else 1
    cps: list[int] = []
    p_values: list[float] = []
    gains: list[float] = []
    scale2 = 0.0
    if n >= 2 * min_size and (kind == "gaussian" or y.sum() > 0):
        scale2 = _long_run_scale2(y, e, kind, rho_max)
        if scale2 > 0:
            # the range of the bulk of the values, so that one wild value cannot dwarf every move
            low, high = np.quantile(y / e if kind == "poisson" else y, [0.01, 0.99])
            floor = min_effect * float(high - low)

            def fit(s2: float) -> tuple[list[int], list[float], list[float]]:
                found = _pelt(cost, n, s2, penalty_factor * np.log(n), min_size)
                found = _confirm(cost, n, found, s2, df, min_size, alpha)[0] if found else []
                found = _drop_irrelevant(cost, n, found, e, kind, floor) if found else []
                return _confirm(cost, n, found, s2, df, min_size, alpha) if found else ([], [], [])

            cps, p_values, gains = fit(scale2)
            # the noise is at least what the fit leaves unexplained: raise the scale and refit
            # until the segmentation's own residuals no longer call for a larger one
            for _ in range(_MAX_REFITS if refit_scale else 0):
                left, dof = _residual_scale2(y, e, cost, cps, kind, rho_max)
                if kind == "poisson":
                    left = max(1.0, left)
                if dof < 1 or left <= scale2 * stats.chi2.ppf(1 - alpha, dof) / dof:
                    break
                scale2 = left
                cps, p_values, gains = fit(scale2)
    return _result(x, observed, y, e, cost, cps, p_values, gains, scale2, kind)


def _result(
    x: np.ndarray,
    observed: np.ndarray,
    y: np.ndarray,
    e: np.ndarray,
    cost: _Cost,
    cps: list[int],
    p_values: list[float],
    gains: list[float],
    scale2: float,
    kind: str,
) -> Segmentation:
    """Map compressed boundaries back to original indices and summarise each segment."""
    bounds = [0, *cps, len(y)]
    fitted = np.full(x.shape, np.nan)
    means: list[float] = []
    for a, b in itertools.pairwise(bounds):
        if b <= a:
            continue
        fitted[observed[a:b]] = cost.fit(a, b)
        means.append(
            float(y[a:b].sum() / e[a:b].sum()) if kind == "poisson" else float(y[a:b].mean())
        )
    scale = float(scale2) if kind == "poisson" else float(np.sqrt(scale2))
    return Segmentation(
        change_points=[int(observed[c]) for c in cps],
        segment_means=means,
        p_values=p_values,
        cost_improvements=gains,
        fitted=fitted,
        scale=scale,
        kind=kind,
    )
