"""Seeded demo-like waves with known truth, for tests and benchmarks.

Counts are Poisson, or negative binomial (gamma-Poisson, variance mu + alpha mu^2), around a
monthly rate (x 3 per quarter, x 12 per year) x a population of 300 to 5,000, with a yearly
seasonal pattern, a slow drift of rate and population, and secret cells (counts below the
secrecy threshold become NaN, never 0). Changes are injected on the mean, sized in noise SDs
of one observation (sqrt(mu + alpha mu^2)) at the affected periods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detectors.batch import SeriesBatch
from detectors.design import LEVEL_K, TREND_H

INJECTABLE = ("spike", "level_shift", "trend_change")


@dataclass(frozen=True)
class Truth:
    """What was injected: per series kind ('' none), direction, size (noise SDs)."""

    kind: np.ndarray
    direction: np.ndarray
    size_sd: np.ndarray
    affected: np.ndarray  # mean changed at the end (injected rows and their parents)
    break_at: np.ndarray  # first period of the new definition, -1 if none


def period_labels(n_periods: int, season_length: int, last_year: int = 2024) -> list[str]:
    first_year = last_year + 1 - int(np.ceil(n_periods / season_length))
    start = (last_year + 1 - first_year) * season_length - n_periods
    out = []
    for k in range(start, start + n_periods):
        year, sub = first_year + k // season_length, k % season_length + 1
        if season_length == 12:
            out.append(f"{year}-{sub:02d}")
        elif season_length == 4:
            out.append(f"{year}-Q{sub}")
        else:
            out.append(str(year))
    return out


def simulate_wave(
    n_series: int = 1000,
    n_periods: int = 120,
    season_length: int = 12,
    seed: int = 0,
    *,
    dispersion: float = 0.0,
    pop_range: tuple[float, float] = (300.0, 5000.0),
    rate_range: tuple[float, float] = (0.01, 0.1),
    secret_below: int | None = 5,
    missing_share: float = 0.0,
    change_share: float = 0.0,
    change_kinds: tuple[str, ...] = INJECTABLE,
    size_sd: float | tuple[float, float] = 3.0,
    group_size: int = 0,
    break_share: float = 0.0,
    season_amplitude: float = 0.2,
) -> tuple[SeriesBatch, Truth]:
    """A wave of count series; ``group_size`` > 1 makes blocks of one parent + children;
    each series' seasonal amplitude (log scale) is drawn up to ``season_amplitude``."""
    rng = np.random.default_rng(seed)
    n, t_len, s = n_series, n_periods, season_length
    t = np.arange(t_len)
    pop = np.exp(rng.uniform(np.log(pop_range[0]), np.log(pop_range[1]), n))
    growth = rng.normal(0.0, 0.01, n)
    expo = pop[:, None] * np.exp(growth[:, None] * t / s)
    rate = np.exp(rng.uniform(np.log(rate_range[0]), np.log(rate_range[1]), n))
    rate *= 12 / s  # rate_range is monthly: a quarter or a year counts 3 or 12 months
    slope = rng.normal(0.0, 0.03, n)
    amp = rng.uniform(0.0, season_amplitude, n) if s > 1 else np.zeros(n)
    phase = rng.uniform(0, 2 * np.pi, n)
    season = amp[:, None] * np.sin(2 * np.pi * t / s + phase[:, None]) if s > 1 else 0.0
    mu = expo * rate[:, None] * np.exp(season + slope[:, None] * t / s)

    parent = np.full(n, -1, dtype=np.int64)
    is_parent = np.zeros(n, dtype=bool)
    if group_size > 1:
        for start in range(0, n - group_size + 1, group_size):
            is_parent[start] = True
            parent[start + 1 : start + group_size] = start

    kind = np.full(n, "", dtype=object)
    direction = np.zeros(n, dtype=np.int64)
    sizes = np.zeros(n)
    eligible = np.flatnonzero(~is_parent)
    n_change = round(change_share * eligible.size)
    changed = rng.choice(eligible, n_change, replace=False) if n_change else eligible[:0]
    if isinstance(size_sd, tuple):
        sizes[changed] = rng.uniform(size_sd[0], size_sd[1], n_change)
    else:
        sizes[changed] = size_sd
    kind[changed] = rng.choice(np.array(change_kinds, dtype=object), n_change)
    direction[changed] = rng.choice([-1, 1], n_change)
    sd = np.sqrt(mu + dispersion * mu**2)
    k, h = LEVEL_K[s], TREND_H[s]
    for i in changed:
        bump = direction[i] * sizes[i] * sd[i]
        if kind[i] == "spike":
            mu[i, -1] += bump[-1]
        elif kind[i] == "level_shift":
            mu[i, -k:] += bump[-k:]
        elif kind[i] == "trend_change":
            mu[i, -h:] += bump[-h:] * np.arange(1, h + 1) / h
    mu = np.maximum(mu, 0.1)

    lam = mu
    if dispersion > 0:
        lam = rng.gamma(1.0 / dispersion, mu * dispersion)
    counts = rng.poisson(lam).astype(float)
    if group_size > 1:
        # A parent is its children plus the rest of its territory (same kind of noise).
        for top in np.flatnonzero(is_parent):
            kids = np.flatnonzero(parent == top)
            counts[top] += counts[kids].sum(axis=0)
            expo[top] += expo[kids].sum(axis=0)
    affected = np.zeros(n, dtype=bool)
    affected[changed] = True
    affected[parent[changed][parent[changed] >= 0]] = True

    break_at = np.full(n, -1, dtype=np.int64)
    n_break = round(break_share * n)
    if n_break:
        rows = rng.choice(n, n_break, replace=False)
        break_at[rows] = rng.integers(t_len - 40, t_len - 10, n_break)
        for i in rows:
            factor = rng.choice([0.5, 2.0])
            counts[i, break_at[i] :] = rng.poisson(factor * lam[i, break_at[i] :])

    values = counts.copy()
    if secret_below is not None:
        values[counts < secret_below] = np.nan
    if missing_share > 0:
        values[rng.random(values.shape) < missing_share] = np.nan
    batch = SeriesBatch(
        keys=[("IND01", f"T{i:06d}") for i in range(n)],
        periods=period_labels(t_len, s),
        season_length=s,
        values=values,
        exposure=expo,
        kind=np.full(n, "count", dtype=object),
        polarity=rng.choice([-1, 0, 1], n),
        breaks=break_at,
        parent=parent,
    )
    return batch, Truth(kind, direction, sizes, affected, break_at)
