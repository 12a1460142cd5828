"""Simulated history: counts drawn at IRIS level around rate x population, with trend,
seasonality and deprivation gradient, then known changes injected and every territory computed
as an aggregate of IRIS, so that neighbourhood, commune and agglomeration figures agree.

The expected mean and variance of every count are carried alongside the draws, so that the size
of each injected change can be stated exactly in noise standard deviations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from demo.geography import Geography
from demo.glossary import (
    BREAK_INDICATOR,
    BREAK_JUMP,
    BREAK_PERIOD,
    PERIODICITY,
    Spec,
)
from veille.periods import Periodicity, ordinal, period_range, season_of

PERIODS = {
    "monthly": period_range("2016-01", "2025-12"),
    "quarterly": period_range("2016-Q1", "2025-Q4"),
    "annual": period_range("2016", "2024"),
}
# Lockdown of spring 2020: recorded offences fell (violence within families rose).
COVID = {"2020-03": 0.8, "2020-04": 0.55, "2020-05": 0.7}
TREND_HORIZON = 6


@dataclass(frozen=True)
class Change:
    """A known change injected in the wave periods (never in the backfill)."""

    id: str
    indicator: str
    territory: str
    kind: str            # level_shift, spike, dip, trend_change
    first_period: str
    size_sd: float       # level shift / spike: the jump; trend: deviation at the 6th period
    direction: int = 1
    small: bool = False


@dataclass
class Simulation:
    """IRIS-level draws and their expected mean / variance, per indicator."""

    geo: Geography
    specs: dict[str, Spec]
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    mean: dict[str, np.ndarray] = field(default_factory=dict)
    var: dict[str, np.ndarray] = field(default_factory=dict)
    amounts: dict[str, np.ndarray] = field(default_factory=dict)
    injected: list[dict] = field(default_factory=list)
    _cache: dict[tuple[str, tuple[str, ...]], np.ndarray] = field(default_factory=dict)

    def periods(self, code: str) -> list[str]:
        return PERIODS[PERIODICITY[self.specs[code].provider]]

    def values(self, code: str, territories: list[str]) -> np.ndarray:
        """Territory x period values as the provider computes them (counts summed, ratios of
        sums, amounts weighted by their base)."""
        key = (code, tuple(territories))
        if key not in self._cache:
            self._cache[key] = self._values(code, territories)
        return self._cache[key]

    def _values(self, code: str, territories: list[str]) -> np.ndarray:
        spec = self.specs[code]
        weights = self.geo.weights(territories)
        if spec.kind == "rate":
            num = np.rint(weights @ self.counts[spec.num])  # type: ignore[index]
            den = np.rint(weights @ self.counts[spec.of])  # type: ignore[index]
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(den > 0, 100.0 * num / np.maximum(den, 1), np.nan)
        if spec.kind == "amount":
            base = weights @ self.counts[spec.of]  # type: ignore[index]
            total = weights @ (self.counts[spec.of] * self.amounts[code])  # type: ignore[index]
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(base > 0, total / np.maximum(base, 1e-9), np.nan)
        return np.rint(weights @ self.counts[code])

    def base_counts(self, code: str, territories: list[str]) -> np.ndarray:
        """The count that decides secrecy: itself, a ratio's smaller term, an amount's base."""
        spec = self.specs[code]
        if spec.kind == "rate":
            return np.minimum(self.values(spec.num, territories),  # type: ignore[arg-type]
                              self.values(spec.of, territories))  # type: ignore[arg-type]
        if spec.kind == "amount":
            return self.values(spec.of, territories)  # type: ignore[arg-type]
        return self.values(code, territories)


def _modulation(spec: Spec, periods: list[str]) -> np.ndarray:
    per_year = Periodicity(PERIODICITY[spec.provider]).per_year
    first = ordinal(periods[0])
    years = np.array([(ordinal(p) - first) / per_year for p in periods])
    out = (1.0 + spec.trend) ** years
    if spec.season and per_year > 1:
        idx = np.array([season_of(p) for p in periods])
        out = out * (1.0 + spec.season * np.cos(2 * math.pi * (idx - spec.peak) / per_year))
    if spec.provider == "police":
        factor = 1.1 if spec.code == "pol_violences_intrafamiliales" else None
        out = out * np.array([(factor or COVID[p]) if p in COVID else 1.0 for p in periods])
    if spec.code == BREAK_INDICATOR:
        out = out * np.array([1.0 + BREAK_JUMP if p >= BREAK_PERIOD else 1.0 for p in periods])
    return out


def _multiplier(sim: Simulation, change: Change, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """IRIS x period multiplier realising ``change``; records its exact size as it goes."""
    periods = sim.periods(change.indicator)
    t0 = periods.index(change.first_period)
    row = sim.geo.weights([change.territory])[0]
    mu, sd = float(row @ mean[:, t0]), math.sqrt(float(row @ var[:, t0]))
    delta = change.direction * change.size_sd * sd
    profile = np.zeros(len(periods))
    if change.kind in ("spike", "dip"):
        profile[t0] = 1.0
    elif change.kind == "level_shift":
        profile[t0:] = 1.0
    else:
        profile[t0:] = np.arange(1, len(periods) - t0 + 1) / TREND_HORIZON
    mult = np.ones_like(mean)
    mult[row > 0, :] = 1.0 + delta / mu * profile
    ancestors = [a for a in sim.geo.ancestors(change.territory)]
    spread = []
    for code in ancestors:
        arow = sim.geo.weights([code])[0]
        spread.append({"territory": code,
                       "size_sd": round(abs(delta) / math.sqrt(float(arow @ var[:, t0])), 2)})
    sim.injected.append({
        "change": change, "baseline_mean": round(mu, 2), "noise_sd": round(sd, 3),
        "size_units": round(abs(delta), 2),
        "slope_units_per_period": round(abs(delta) / TREND_HORIZON, 3)
        if change.kind == "trend_change" else None,
        "propagates_to": spread,
    })
    return mult


def simulate(geo: Geography, specs: list[Spec], changes: list[Change],
             rng: np.random.Generator) -> Simulation:
    """Draw every indicator at IRIS level, injecting ``changes`` into their series."""
    sim = Simulation(geo, {s.code: s for s in specs})
    pop = np.array([i.population for i in geo.iris], dtype=float)
    dep = {q.code: q.deprivation for q in geo.quartiers}
    centred = np.array([dep[i.quartier] - 0.5 for i in geo.iris])
    by_indicator: dict[str, list[Change]] = {}
    for change in changes:
        by_indicator.setdefault(change.indicator, []).append(change)
    for spec in specs:
        if spec.kind == "rate":
            continue
        periods = sim.periods(spec.code)
        level = np.exp(spec.gradient * centred)[:, None] * _modulation(spec, periods)[None, :]
        if spec.kind == "amount":
            noise = rng.normal(0.0, 0.015, size=level.shape)
            sim.amounts[spec.code] = spec.rate * level * (1.0 + noise)
            continue
        if spec.of is None:
            mean = spec.rate * pop[:, None] * level
            var = mean + (mean**2 / spec.nb_k if spec.nb_k else 0.0)
        else:
            share = np.clip(spec.p * level, 0.0, 0.95)
            mean = sim.mean[spec.of] * share
            var = sim.var[spec.of] * share**2 + sim.mean[spec.of] * share * (1 - share)
        mult = np.ones_like(mean)
        for change in by_indicator.get(spec.code, []):
            mult = mult * _multiplier(sim, change, mean, var)
        if spec.of is None:
            lam = mean * mult
            if spec.nb_k:
                lam = lam * rng.gamma(spec.nb_k, 1.0 / spec.nb_k, size=lam.shape)
            draws = rng.poisson(lam)
        else:
            draws = rng.binomial(sim.counts[spec.of], np.clip(share * mult, 0.0, 0.98))
        sim.counts[spec.code], sim.mean[spec.code], sim.var[spec.code] = draws, mean, var
    return sim


def dependants(specs: list[Spec], code: str) -> list[str]:
    """Indicators whose values move when ``code`` moves (shares of it and ratios using it)."""
    out: list[str] = []
    frontier = [code]
    while frontier:
        current = frontier.pop(0)
        for s in specs:
            if s.code not in out and (s.of == current or s.num == current):
                out.append(s.code)
                if s.kind == "count":
                    frontier.append(s.code)
    return out
