"""Retrospective change-point mode: segment a whole univariate series.

Why: the review page draws the segments of an indicator's history, and the observatory wants to
see where its level (or trend) moved, with the evidence for each move. Online detection lives in
the other detectors; this mode looks at the whole series at once.

Method, with fixed defaults (no per-series tuning; chosen once on the TCPD benchmark, see
benchmarks/tcpd.py):
1. Missing values (NaN: missing or secret) are dropped, never read as zero; positions are kept,
   so a boundary is reported at the first *observed* point of the new segment.
2. Cost: Gaussian piecewise-linear in time (trend-aware, default) or piecewise-constant least
   squares scaled by the noise variance; or, for small counts, a Poisson deviance of a constant
   rate per exposure scaled by a dispersion (>= 1, quasi-Poisson).
3. Noise scale from first differences (shifts and trends barely touch them), the largest 5%
   set aside as jumps; their lag-1 correlation gives the noise autocorrelation rho (capped), and
   the variance is inflated to its long-run value, so slow wandering is not read as shifts.
4. Search: PELT, the exact optimum of scaled cost + penalty_factor * log(n) per change
   (mBIC-like: a change costs location + mean (+ slope)), with a minimum segment size.
5. Confirmation: each change is tested against merging its two neighbouring segments by a
   likelihood-ratio test (chi-square, 1 df for a level, 2 for level + slope) with a Bonferroni
   factor for the positions searched; the weakest failing change is dropped until all pass.
   Each kept change carries that p-value and its cost improvement.
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

    def cost(self, a: int, b: int) -> float:
        raise NotImplementedError

    def fit(self, a: int, b: int) -> np.ndarray:
        raise NotImplementedError


class _MeanCost(_Cost):
    """Residual sum of squares around the segment mean."""

    def __init__(self, y: np.ndarray, t: np.ndarray) -> None:
        self.y = y
        self.s1 = np.concatenate([[0.0], np.cumsum(y)])
        self.s2 = np.concatenate([[0.0], np.cumsum(y * y)])

    def cost(self, a: int, b: int) -> float:
        n = b - a
        s = self.s1[b] - self.s1[a]
        return max(float(self.s2[b] - self.s2[a] - s * s / n), 0.0)

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

    def _coef(self, a: int, b: int) -> tuple[float, float, float]:
        n = b - a
        st, sy = self.st[b] - self.st[a], self.sy[b] - self.sy[a]
        stt = self.stt[b] - self.stt[a] - st * st / n
        sty = self.sty[b] - self.sty[a] - st * sy / n
        syy = self.syy[b] - self.syy[a] - sy * sy / n
        slope = sty / stt if stt > 0 else 0.0
        return slope, sy / n - slope * st / n, max(float(syy - slope * sty), 0.0)

    def cost(self, a: int, b: int) -> float:
        return self._coef(a, b)[2]

    def fit(self, a: int, b: int) -> np.ndarray:
        slope, icpt, _ = self._coef(a, b)
        return icpt + slope * self.t[a:b]


class _PoissonCost(_Cost):
    """Poisson deviance of a constant rate per exposure on the segment."""

    def __init__(self, y: np.ndarray, e: np.ndarray) -> None:
        self.y, self.e = y, e
        self.sy = np.concatenate([[0.0], np.cumsum(y)])
        self.se = np.concatenate([[0.0], np.cumsum(e)])
        ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y / e, 1.0)), 0.0)
        self.sylogy = np.concatenate([[0.0], np.cumsum(ylogy)])

    def cost(self, a: int, b: int) -> float:
        sy, se = self.sy[b] - self.sy[a], self.se[b] - self.se[a]
        rate_term = sy * np.log(sy / se) if sy > 0 else 0.0
        return max(float(2.0 * (self.sylogy[b] - self.sylogy[a] - rate_term)), 0.0)

    def fit(self, a: int, b: int) -> np.ndarray:
        rate = (self.sy[b] - self.sy[a]) / (self.se[b] - self.se[a])
        return rate * self.e[a:b]


# --- search --------------------------------------------------------------------------------


def _pelt(cost: _Cost, n: int, scale2: float, penalty: float, min_size: int) -> list[int]:
    """Exact penalised segmentation (Killick et al. 2012); returns internal boundaries."""
    best = np.full(n + 1, np.inf)
    best[0] = -penalty
    last = np.zeros(n + 1, dtype=int)
    candidates = [0]
    for b in range(min_size, n + 1):
        ready = [a for a in candidates if b - a >= min_size]
        waiting = [a for a in candidates if b - a < min_size]
        if not ready:
            continue
        vals = np.array([best[a] + cost.cost(a, b) / scale2 for a in ready]) + penalty
        i = int(np.argmin(vals))
        best[b], last[b] = vals[i], ready[i]
        # a start whose cost already exceeds the optimum, penalty aside, never wins again
        candidates = [a for a, v in zip(ready, vals, strict=True) if v - penalty <= best[b]]
        candidates += waiting
        candidates.append(b)
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
) -> Segmentation:
    """Segment a whole series into stretches of stable level (or trend, if `trend`).

    kind: "gaussian", or "poisson" for small counts (rate per `exposure` if given; the trend
    option does not apply). min_size: fewest observed points per segment. penalty_factor:
    penalty per change, in units of log(n) of the scaled cost. alpha: level of each change's
    confirmation test. rho_max: cap on the residual autocorrelation used to inflate the noise.
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
    cps: list[int] = []
    scale2 = 0.0
    if n >= 2 * min_size and (kind == "gaussian" or y.sum() > 0):
        scale2 = _long_run_scale2(y, e, kind, rho_max)
        if scale2 > 0:
            cps = _pelt(cost, n, scale2, penalty_factor * np.log(n), min_size)
    df = 2 if use_trend else 1
    cps, p_values, gains = (
        _confirm(cost, n, cps, scale2, df, min_size, alpha) if cps else ([], [], [])
    )
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
