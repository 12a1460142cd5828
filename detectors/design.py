"""The models shared by the screen and the confirmation, so that both test the same thing.

Every test looks at the last period of the batch (the new one) inside a window of recent
history (5 years for monthly series, 10 for quarterly and annual ones: all the history a wave
reads) that never crosses a definition break. Quarterly series get the longer window because
five years is 20 points for four seasonal levels and a trend: the trend is then so loosely
pinned that a trend broken in the last six quarters is barely told apart from it (measured on
ten seeded demo territories, `benchmarks/demo_power.py`: quarterly trend changes found 2/10
with 5 years, 7/10 with 8; with running shifts kept out of the news family, all trend
changes 14/20 with 8 years and 17/20 with 10; on ten held-out territories 15/20 and 17/20).

The null model is the baseline: one level per month or quarter (one level for annual series)
and a linear trend (a drift of a few per cent a year must not read as a shift). A monthly or
quarterly indicator that shows no seasonality (a pooled test over its territories,
`detectors.seasonality.seasonal_rows`) gets one level instead of twelve or four: eleven fewer
parameters to estimate from five years make a one-period dip about 10 % sharper (the
month's own level rests on 60 points instead of 5). Each test adds one column to it:

- spike (or dip): an indicator of the last period;
- level_shift: a step at an unknown recent position: an indicator of the last k periods,
  k = 2 .. ``LEVEL_SPAN`` (12 months, 6 quarters, 3 years);
- trend_change: a broken trend at an unknown recent position, starting h periods before the
  end, h = 3 .. ``TREND_SPAN`` (12 months, 6 quarters, 4 years);
- gap_widening: a step over the last ``LEVEL_K`` periods (3 months, 2 quarters, 2 years), on
  a model of the series relative to its parent's rate (the parent rate enters as an
  offset), tested one-sided towards a wider gap.

Why unknown positions: a sustained change must accumulate evidence wave after wave. With a
step fixed over the last 3 months, a shift older than that puts its elevated months in the
baseline, where they inflate the trend and the dispersion, and the evidence never grows. With
the step placed at the change, the elevated months are explained by the step and every new
wave adds points to it. The position is not known in advance: the test of a kind is the one
at the position with the largest score statistic, and its p-value pays for the search with
Hunter-Worsley's bound over the chain of positions (`position_pvalue`: an upper bound, valid
whatever the correlations, 1.3 to 3.5 times smaller than Bonferroni's for steps and broken
trends at neighbouring positions).

Counts are Poisson with log link and log exposure offset (quasi: the dispersion is estimated
from the series' own residuals, moderated by the dispersion of the other territories of the
indicator at the same level, see `detectors.pooled_dispersion.dispersion_prior`, and never
assumed to be 1 below what the data say), rates with a known denominator are binomial with
logit link, amounts and bare rates are Gaussian.

Baselines are robust to past one-off events (a lockdown month, a data incident): a past point
whose Pearson residual from the baseline fit lies beyond ``TRIM_Z`` robust standard deviations
(MAD of the residuals, never below the model's own variance) is set aside, at most
``TRIM_SHARE`` of the points, and the baseline is refitted without it. Only points before the
trend window can be set aside (the last periods are what is being tested). The dispersion of
the kept points is divided by ``KAPPA``, the variance of a standard normal truncated at
``TRIM_Z``, so that trimming does not bias it low. The screen and the statsmodels
confirmation fit the same kept points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from detectors.batch import SeriesBatch
from detectors.untested import Untested, first_reason

TEST_KINDS = ("spike", "level_shift", "trend_change", "gap_widening")
POISSON, BINOMIAL, GAUSSIAN = 0, 1, 2
FAMILY_NAMES = {POISSON: "poisson", BINOMIAL: "binomial", GAUSSIAN: "gaussian"}
MIN_DF = 6
WINDOW = {12: 61, 4: 40, 1: 10}
LEVEL_K = {12: 3, 4: 2, 1: 2}
TREND_H = {12: 12, 4: 6, 1: 4}
LEVEL_SPAN = {12: 12, 4: 6, 1: 3}
"""Level shifts are searched starting in the last 2 .. LEVEL_SPAN periods."""
TREND_SPAN = TREND_H
"""Trend changes are searched starting in the last 3 .. TREND_SPAN periods."""
MIN_LEVEL, MIN_TREND = 2, 3
MIN_SPIKE_DF = 2
"""Own residual df a count spike test needs when its dispersion is pooled (the pooled
dispersion brings the rest of ``MIN_DF``): an annual spike can be tested against the
previous four years (level and trend from four points, two residual df)."""
TRIM_Z = 3.5
TRIM_SHARE = 0.1
KAPPA = float(
    1 - 2 * TRIM_Z * stats.norm.pdf(TRIM_Z) / (2 * stats.norm.cdf(TRIM_Z) - 1)
)
"""E[Z^2 | |Z| < TRIM_Z]: the Pearson chi2 of the kept points is divided by it."""


@dataclass(frozen=True)
class Layout:
    """The window and the design columns common to every series of a batch."""

    start: int
    season_length: int
    x0: np.ndarray  # (W, p): one level per season, trend in years
    extras: dict[str, np.ndarray]  # test kind -> its first (or only) column (W,)
    columns: dict[str, np.ndarray]  # test kind -> candidate columns (W, K), one per position
    x0_flat: np.ndarray  # (W, 2): one level and the trend (indicators without seasonality)

    def base(self, seasonal: bool = True) -> np.ndarray:
        """The baseline design of a seasonal series, or of one without seasonality."""
        return self.x0 if seasonal else self.x0_flat

    @property
    def width(self) -> int:
        return int(self.x0.shape[0])

    def effect(self, kind: str, position: int = 0) -> np.ndarray:
        """Window positions whose observed value the finding reports on."""
        if kind == "trend_change" or kind == "spike":
            out = np.zeros(self.width, dtype=bool)
            out[-1] = True
            return out
        return self.columns[kind][:, position] != 0

    def column(self, kind: str, position: int = 0) -> np.ndarray:
        return self.columns[kind][:, position]

    def positions(self, kind: str) -> int:
        """How many positions the test of ``kind`` searches."""
        return int(self.columns[kind].shape[1])

    def since(self, kind: str, position: int = 0) -> int:
        """Window index of the first period the change is measured on."""
        return int(np.flatnonzero(self.columns[kind][:, position])[0])

    @property
    def trimmable(self) -> np.ndarray:
        """Window positions that may be set aside as past outliers: before every searched
        position (the recent periods are what is being tested)."""
        out = np.ones(self.width, dtype=bool)
        for cols in self.columns.values():
            out &= ~(cols != 0).any(axis=1)
        return out


def make_layout(n_periods: int, season_length: int) -> Layout:
    width = min(WINDOW[season_length], n_periods)
    start = n_periods - width
    t = np.arange(start, n_periods)
    # One level per month/quarter and no intercept: a season with no observed point (all
    # secret) is then a zero column, dropped, instead of a collinearity.
    cols = [(t % season_length == s).astype(float) for s in range(season_length)]
    trend = (t - (n_periods - 1)) / season_length
    x0 = np.column_stack([*cols, trend])
    x0_flat = np.column_stack([np.ones(width), trend])
    k = min(LEVEL_K[season_length], width - 1)
    level = np.zeros(width)
    level[-k:] = 1.0
    spike = np.zeros(width)
    spike[-1] = 1.0
    steps = range(MIN_LEVEL, max(MIN_LEVEL, min(LEVEL_SPAN[season_length], width - 1)) + 1)
    levels = np.column_stack([(t >= n_periods - j).astype(float) for j in steps])
    slopes = range(MIN_TREND, max(MIN_TREND, min(TREND_SPAN[season_length], width - 2)) + 1)
    trends = np.column_stack(
        [np.maximum(0.0, (t - (n_periods - 1 - h))) / season_length for h in slopes]
    )
    columns = {
        "spike": spike[:, None],
        "level_shift": levels,
        "trend_change": trends,
        "gap_widening": level[:, None],
    }
    extras = {kind: cols[:, 0] for kind, cols in columns.items()}
    return Layout(start=start, season_length=season_length, x0=x0, extras=extras,
                  columns=columns, x0_flat=x0_flat)


@dataclass
class Prepared:
    """Per-series model inputs on the window (rows = series)."""

    family: np.ndarray  # (n,) POISSON / BINOMIAL / GAUSSIAN
    y: np.ndarray  # response in model units (count, numerator or value), 0 where masked
    trials: np.ndarray  # binomial denominators (1 elsewhere)
    offset: np.ndarray  # link-scale offset for the series' own model
    mask: np.ndarray  # observed, inside the segment
    gap_offset: np.ndarray  # offset with the parent's level added
    gap_mask: np.ndarray
    gap_sign: np.ndarray  # +1 if the series sits above its parent, -1 below
    testable: np.ndarray  # (n, 4) bool, one column per TEST_KINDS
    seasonal: np.ndarray  # (n,) bool: the baseline has seasonal levels (`Layout.base`)
    prior: np.ndarray | None = None  # (n, 4) pooled dispersion (c, alpha, df, b), see screen
    untested: np.ndarray | None = None  # (n, 4) uint8 `detectors.untested.Untested` codes
    variance: np.ndarray | None = None  # (n, 7) the screen's `detectors.screen.VARIANCE`


def prepare(
    batch: SeriesBatch,
    layout: Layout,
    rows: np.ndarray | None = None,
    prior: np.ndarray | None = None,
    seasonal: np.ndarray | None = None,
) -> Prepared:
    """Model inputs for ``rows`` of the batch (all rows by default).

    ``seasonal`` (all rows of the batch, default all True) says which rows' baseline has
    seasonal levels (`detectors.seasonality.seasonal_rows`).

    Working on a block of rows keeps memory bounded on a national wave; a parent outside the
    block is read from the batch directly, so a block gives the rows' answer exactly.
    ``prior`` is the wave's pooled dispersion (`detectors.pooled_dispersion.dispersion_prior`, all
    rows of the batch); each row keeps its own family's.
    """
    idx = np.arange(batch.n_series) if rows is None else np.asarray(rows, dtype=np.int64)
    family, y, trials, offset, mask, level = _own(batch, layout, idx)
    par = batch.parent[idx]
    has_par = par >= 0
    if has_par.any():
        p_rows = np.unique(par[has_par])
        p_family, _, _, _, p_mask_u, p_level_u = _own(batch, layout, p_rows)
        where = np.searchsorted(p_rows, np.where(has_par, par, p_rows[0]))
        p_fam = p_family[where]
        p_mask = p_mask_u[where]
        p_level = p_level_u[where]
    else:
        p_fam = np.full(idx.size, -1)
        p_mask = np.zeros_like(mask)
        p_level = np.full(mask.shape, np.nan)
    same_fam = has_par & (p_fam == family)
    gap_mask = mask & p_mask & np.isfinite(p_level) & same_fam[:, None]
    gap_offset = offset + np.where(gap_mask, p_level, 0.0)
    before = gap_mask & (layout.extras["gap_widening"] == 0)[None, :]
    with np.errstate(invalid="ignore"):
        diff = np.where(before, level - p_level, 0.0).sum(axis=1)
    gap_sign = np.where(np.nan_to_num(diff) >= 0, 1, -1)

    own_seasonal = (np.ones(idx.size, dtype=bool) if seasonal is None
                    else np.asarray(seasonal, dtype=bool)[idx])
    untested = _untested(layout, family, y, mask, gap_mask, before, own_seasonal,
                         published=np.isfinite(batch.values[idx, -1]),
                         cut=batch.breaks[idx] > layout.start, comparable=same_fam)
    testable = untested == Untested.TESTED
    own_prior = None
    if prior is not None:
        own_prior = np.zeros((idx.size, 4))
        for col, fam in enumerate((POISSON, BINOMIAL)):
            here = family == fam
            own_prior[here] = prior[idx[here], col]
    return Prepared(family, y, trials, offset, mask, gap_offset, gap_mask, gap_sign, testable,
                    own_seasonal, own_prior, untested)


def _own(
    batch: SeriesBatch, layout: Layout, idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Family, response, trials, offset, mask and link-scale level of rows ``idx``."""
    n = idx.size
    sl = slice(layout.start, batch.n_periods)
    v = batch.values[idx, sl]
    expo = None if batch.exposure is None else batch.exposure[idx, sl]
    has_expo = np.zeros_like(v, dtype=bool) if expo is None else np.isfinite(expo) & (expo > 0)
    kind = batch.kind[idx]
    family = np.full(n, GAUSSIAN, dtype=np.int64)
    family[kind == "count"] = POISSON
    rate_den = (kind == "rate") & has_expo.any(axis=1)
    family[rate_den] = BINOMIAL
    fam2 = family[:, None]

    t_idx = np.arange(layout.start, batch.n_periods)
    in_segment = t_idx[None, :] >= batch.breaks[idx][:, None]
    mask = np.isfinite(v) & in_segment
    mask &= np.where(fam2 == GAUSSIAN, True, v >= 0)
    expo_rows: np.ndarray = np.asarray(has_expo.any(axis=1))
    need_expo = (fam2 == BINOMIAL) | ((fam2 == POISSON) & expo_rows[:, None])
    mask &= ~need_expo | has_expo
    safe_expo = np.where(has_expo, expo if expo is not None else 1.0, 1.0)

    trials = np.where(fam2 == BINOMIAL, np.round(safe_expo), 1.0)
    y = np.where(fam2 == BINOMIAL, np.round(np.nan_to_num(v) * trials), np.nan_to_num(v))
    mask &= np.where(fam2 == BINOMIAL, (y <= trials) & (trials >= 1), True)
    mask &= ~not_started(np.where(mask, y, np.nan), family == POISSON)
    y = np.where(mask, y, 0.0)
    offset = np.where((fam2 == POISSON) & has_expo, np.log(safe_expo), 0.0)

    # Level on the link scale, for the gap model of the rows whose parent this is.
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(has_expo, v / safe_expo, v)
        pois = np.log(np.where(fam2 == POISSON, rate, np.nan))
        p = np.where(fam2 == BINOMIAL, np.clip(v, 0, 1), np.nan)
        binl = np.log(p / (1 - p))
    level = np.where(fam2 == POISSON, pois, np.where(fam2 == BINOMIAL, binl, v))
    return family, y, trials, offset, mask, level


START_EVIDENCE = 1e-4
"""Leading zeros less likely than this under the level that follows are a series' start."""


def not_started(y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(n, W) the leading zeros of count series (``y``: NaN where unobserved) that are the
    series' start, not counts: a territory that became covered, a new offence code.

    Why: 0, 0, 0, 6, 37, 135 is a series that begins at its fourth value; read as counts,
    the zeros drag the baseline's level and trend, and the first years look like a change.
    A run of k zeros is a start when k zeros are less likely than ``START_EVIDENCE`` for a
    Poisson count at the mean of the values after them (exp(-k mean) < START_EVIDENCE:
    three zeros before a mean of 3 or more); a series that is often zero keeps its zeros."""
    seen = np.isfinite(y)
    nonzero = seen & (y != 0)
    leading = seen & (np.cumsum(nonzero, axis=1) == 0)
    k = leading.sum(axis=1)
    rest = seen & ~leading
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_rest = np.where(rest, y, 0.0).sum(axis=1) / np.maximum(rest.sum(axis=1), 1)
    start = counts & (k > 0) & (k * mean_rest > -np.log(START_EVIDENCE))
    return leading & start[:, None]


def n_active_columns(layout: Layout, mask: np.ndarray, seasonal: np.ndarray) -> np.ndarray:
    """(n,) how many baseline columns have an observed point (the seasonal design or the
    one-level one, row by row)."""
    m = mask.astype(float)
    full = ((m @ (layout.x0 != 0).astype(float)) > 0).sum(axis=1)
    flat = ((m @ (layout.x0_flat != 0).astype(float)) > 0).sum(axis=1)
    return np.where(seasonal, full, flat)


def _untested(
    layout: Layout,
    family: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray,
    gap_mask: np.ndarray,
    gap_before: np.ndarray,
    seasonal: np.ndarray,
    *,
    published: np.ndarray,
    cut: np.ndarray,
    comparable: np.ndarray,
) -> np.ndarray:
    """(n, 4) why each test cannot be made on the window (`detectors.untested`; TESTED
    where it can). ``published``: a value at the last period; ``cut``: a definition break
    inside the window; ``comparable``: a reference territory of the same family."""
    n_obs = mask.sum(axis=1)
    p_eff = n_active_columns(layout, mask, seasonal)
    counts = family != GAUSSIAN
    short = np.where(cut, Untested.SINCE_BREAK, Untested.TOO_SHORT)[:, None]
    last = np.where(published, Untested.VALUE_UNUSABLE, Untested.NOT_PUBLISHED)[:, None]
    # A count spike may rest on fewer own points: its dispersion can be pooled across the
    # territories of the indicator (the screen drops it when no pooling is possible).
    need_spike = p_eff + 1 + np.where(counts, MIN_SPIKE_DF, MIN_DF)
    widest = layout.columns["trend_change"][:, -1] > 0
    trend_pts = (mask & widest[None, :]).sum(axis=1)
    g_obs = gap_mask.sum(axis=1)
    g_p = n_active_columns(layout, gap_mask, seasonal)
    gap_short = ~gap_mask[:, -1] | (g_obs < g_p + 1 + MIN_DF) | (gap_before.sum(axis=1) == 0)
    no_last = ~mask[:, -1]
    # A count with no event in its baseline has no level to compare with (the fit's
    # boundary); any other small count is tested, its dispersion pooled along the
    # indicator's mean-variance relation (`detectors.pooled_dispersion.fit_prior`).
    small = counts & ((y * mask)[:, :-1].sum(axis=1) <= 0)
    base_short = n_obs < p_eff + 1 + MIN_DF
    n = mask.shape[0]
    kinds = len(TEST_KINDS)
    col = np.arange(kinds)[None, :]
    shape = (n, kinds)
    reasons = first_reason(
        shape,
        (no_last[:, None], Untested.NOT_PUBLISHED),
        ((col == 0) & (n_obs < need_spike)[:, None], Untested.TOO_SHORT),
        ((col > 0) & base_short[:, None], Untested.TOO_SHORT),
        (small[:, None], Untested.MEAN_TOO_SMALL),
        ((col == 2) & (trend_pts < 3)[:, None], Untested.TREND_TOO_SHORT),
        ((col == 3) & ~comparable[:, None], Untested.NO_PARENT),
        ((col == 3) & gap_short[:, None], Untested.PARENT_TOO_SHORT),
    )
    # the generic codes take the series' own wording (unpublished or unusable; cut short by
    # a break or simply short)
    reasons = np.where(reasons == Untested.NOT_PUBLISHED, last, reasons)
    return np.where(reasons == Untested.TOO_SHORT, short, reasons).astype(np.uint8)


def position_pvalue(stat: np.ndarray, df: np.ndarray, rho: np.ndarray,
                    ident: np.ndarray) -> np.ndarray:
    """p-value of the largest of K correlated statistics: ``stat`` is the one at the best
    position (Student, ``df``), ``rho`` (n, K-1) the correlations of the statistics at
    neighbouring positions and ``ident`` (n, K) which positions are identifiable.

    Hunter-Worsley's bound on the union of the K exceedances, with the chain of neighbouring
    positions as its tree: sum of the single tails minus the pairwise joint tails. It is an
    upper bound (valid whatever the correlations, like Bonferroni, which is the same sum
    without the joint tails) and close to exact for a chain of steps or slopes, whose
    neighbours are 0.8 to 0.99 correlated: Bonferroni overstates such a p-value 1.3 to 3.5
    times. The joint tails are read from a Gaussian copula of the single tails (Owen's T),
    which under-subtracts for heavier tails, so the bound stays on the conservative side.
    """
    # scipy.special rather than scipy.stats: the same functions without the per-call
    # overhead, which would show in the one-test-at-a-time confirmation.
    stat = np.asarray(stat, dtype=float)
    p1 = 2 * special.stdtr(df, -np.abs(stat))
    z = -special.ndtri(np.clip(p1 / 2, 1e-300, 0.5))
    r = np.clip(np.nan_to_num(np.asarray(rho, dtype=float)), -0.999999, 0.999999)
    edge = ident[..., :-1] & ident[..., 1:]
    zz = z[..., None]
    tail = special.ndtr(-zz)
    same = tail - 2 * special.owens_t(zz, np.sqrt((1 - r) / (1 + r)))
    opposite = tail - 2 * special.owens_t(zz, np.sqrt((1 + r) / (1 - r)))
    joint = 2 * np.where(edge, np.maximum(same, 0.0) + np.maximum(opposite, 0.0), 0.0)
    bound = ident.sum(axis=-1) * p1 - joint.sum(axis=-1)
    return np.clip(bound, p1, 1.0)
