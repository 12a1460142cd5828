"""veille side by side with the field's standard methods, on Noufaily-style monthly counts.

Usage (from the repository root; R and its ``surveillance`` package are a benchmark-only
need, installed by ``benchmarks/install_r.sh``)::

    .venv/bin/python -m benchmarks.surveillance [--null-waves 6] [--change-waves 4]
        [--territories 60] [--seed 15] [--no-r]

Scenarios, in the manner of Noufaily et al. (2013, Stat. Med. 32:1206), monthly: each wave
is one indicator of ``--territories`` territories observed 96 months, the last month being
the wave's period. A territory's expected count at the last month is log-uniform in
[1, 500]; counts are negative binomial with Var = phi x mean (phi 1 or 3, Noufaily's
quasi-Poisson dispersion); a log-linear trend of 0 or 0.015 a month; seasonality none or
one harmonic of amplitude 0.3 (log scale). The grid is the 2 x 2 x 2 of these; each cell
gets ``--null-waves`` waves without change and ``--change-waves`` waves in which 30 % of
the territories have their last month moved by k SDs of one observation (k in 2, 4, 6, 8,
up or down at random, floored at 0). Seeds: wave j of the run uses seed ``--seed`` x
100,000 + j (j in grid order, nulls first).

Methods, on the same series:

- veille: `detectors.wave.detect_wave` on the wave (q = 0.05), its last 61 months;
- farringtonFlexible (R ``surveillance``, through Rscript): b = 4 years, w = 2, noPeriods
  = 4 (the improved Farrington of Noufaily et al.), nbPlugin threshold, alpha = 0.01
  one-sided (its defaults); its p-value per series also enters BH per wave;
- harmonic GLM: per series, a quasi-Poisson GLM (statsmodels) with trend and one harmonic
  on the 60 months before, and the last month's prediction interval (two-sided z of
  (y - mu) over sqrt(phi mu + var(mu))); alone at 0.01 (two-sided) and with BH per wave.

Reported: per-series false-positive rate on null series, share of null waves with any
false alarm, false discovery proportion, and power by size of change, by expected count,
up and down: at each method's defaults and at a matched per-series false-positive rate
(each method's threshold on its own p-values set to give ``MATCHED_FP`` on the null
series) and at a matched per-wave control (the threshold that gives an alarm in 5 % of
the null waves). A series' veille p-value is the smallest of its four tests'.

Measured (2 cores AMD EPYC, Python 3.11, R 4 + surveillance 1.20.3, load about 6 from
other jobs; defaults, seed 15: 80 waves, 48 null, 4,800 series; veille 17 s, the GLM loop
18 s, farringtonFlexible 216 s): see the README's detection section for the table. Only 48
null waves: a share of null waves with an alarm moves in steps of 0.021, and the per-wave
matched threshold is the 5 % quantile of 48 minima (about the third smallest).
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import statsmodels.api as sm
from scipy import stats

from detectors.batch import SeriesBatch
from detectors.fdr import benjamini_hochberg
from detectors.simulate import period_labels
from detectors.wave import detect_wave

T_LEN = 96
Q = 0.05
MATCHED_FP = 0.005
SIZES = (2, 4, 6, 8)
CHANGE_SHARE = 0.3
GRID = [(phi, trend, season) for phi in (1.0, 3.0) for trend in (0.0, 0.015)
        for season in (0.0, 0.3)]
COUNT_BINS = ((1, 3), (3, 10), (10, 50), (50, 501))
R_SCRIPT = Path(__file__).with_name("farrington.R")


@dataclass
class Wave:
    counts: np.ndarray  # (n, T)
    expected: np.ndarray  # (n,) expected count at the last month, without change
    size: np.ndarray  # (n,) change in SDs, 0 none
    direction: np.ndarray  # (n,) +1, -1, 0
    null: bool


def simulate(seed: int, n: int, phi: float, trend: float, season: float, null: bool) -> Wave:
    rng = np.random.default_rng(seed)
    t = np.arange(T_LEN) - (T_LEN - 1)
    last = np.exp(rng.uniform(np.log(1.0), np.log(500.0), n))
    phase = rng.uniform(0, 2 * np.pi, n)
    shape = season * np.sin(2 * np.pi * t / 12 + phase[:, None])
    mu = last[:, None] * np.exp(trend * t + shape - shape[:, -1:])
    size = np.zeros(n)
    direction = np.zeros(n, dtype=int)
    if not null:
        moved = rng.random(n) < CHANGE_SHARE
        size[moved] = rng.choice(SIZES, moved.sum())
        direction[moved] = rng.choice([-1, 1], moved.sum())
    mu[:, -1] = np.maximum(mu[:, -1] + direction * size * np.sqrt(phi * mu[:, -1]), 0.0)
    if phi > 1:
        r = np.maximum(mu, 1e-9) / (phi - 1)
        counts = rng.negative_binomial(r, r / (r + np.maximum(mu, 1e-9)))
    else:
        counts = rng.poisson(mu)
    return Wave(counts.astype(float), last, size, direction, null)


def veille_pvalues(wave: Wave) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smallest p-value of each series' tests, whether veille reported it, and whether
    any of its tests was made."""
    n = wave.counts.shape[0]
    batch = SeriesBatch(keys=[("IND", f"T{i:04d}") for i in range(n)],
                        periods=period_labels(T_LEN, 12), season_length=12,
                        values=wave.counts, exposure=None,
                        kind=np.full(n, "count", dtype=object),
                        polarity=np.zeros(n, dtype=int), breaks=np.full(n, -1),
                        parent=np.full(n, -1))
    res = detect_wave(batch, q=Q, max_workers=1)
    p = np.where(np.isfinite(res.pvalues), res.pvalues, 1.0).min(axis=1)
    flagged = np.zeros(n, dtype=bool)
    flagged[[f.series for f in res.findings]] = True
    tested = np.isfinite(res.pvalues).any(axis=1)
    return p, flagged, tested


def glm_pvalues(wave: Wave) -> np.ndarray:
    """Two-sided prediction-interval p-value of the last month, per series."""
    t = np.arange(60, dtype=float)
    x = np.column_stack([np.ones(60), t / 12, np.sin(2 * np.pi * t / 12),
                         np.cos(2 * np.pi * t / 12)])
    x_new = np.array([1.0, 60 / 12, np.sin(2 * np.pi * 60 / 12), np.cos(2 * np.pi * 60 / 12)])
    out = np.ones(wave.counts.shape[0])
    for i, y in enumerate(wave.counts):
        past, now = y[-61:-1], y[-1]
        if past.sum() == 0:
            continue
        res = sm.GLM(past, x, family=sm.families.Poisson()).fit(scale="X2")
        phi = max(float(res.scale), 1.0)
        mu = float(np.exp(x_new @ res.params))
        var_mu = mu**2 * float(x_new @ res.cov_params() @ x_new)
        z = (now - mu) / np.sqrt(phi * mu + var_mu)
        out[i] = 2 * stats.norm.sf(abs(z))
    return out


def farrington_pvalues(waves: list[Wave], workdir: Path) -> list[np.ndarray]:
    """farringtonFlexible's p-value of the last month of every series (one Rscript run)."""
    src = workdir / "counts.csv"
    with src.open("w", newline="") as handle:
        writer = csv.writer(handle)
        for j, w in enumerate(waves):
            for i, y in enumerate(w.counts):
                writer.writerow([j, i, *map(int, y)])
    dst = workdir / "pvalues.csv"
    subprocess.run(["Rscript", str(R_SCRIPT), str(src), str(dst)], check=True)
    out = [np.ones(w.counts.shape[0]) for w in waves]
    with dst.open() as handle:
        for j, i, p in csv.reader(handle):
            out[int(j)][int(i)] = float(p) if p not in ("NA", "") else 1.0
    return out


def bh_flags(p: np.ndarray) -> np.ndarray:
    return benjamini_hochberg(p, Q)[0]


def summary(name: str, waves: list[Wave], flags: list[np.ndarray]) -> dict[str, float]:
    """FP rate per null series, null waves with any alarm, FDP, power up and down."""
    null_series = np.concatenate([f[w.size == 0] for w, f in zip(waves, flags, strict=True)])
    null_waves = [f.any() for w, f in zip(waves, flags, strict=True) if w.null]
    found = sum(int(f.sum()) for f in flags)
    false = sum(int(f[w.size == 0].sum()) for w, f in zip(waves, flags, strict=True))
    direction = np.concatenate([w.direction for w in waves])
    flag = np.concatenate(flags)
    return {"method": name, "fp": float(null_series.mean()),
            "null_waves": float(np.mean(null_waves)),
            "fdp": false / found if found else 0.0,
            "up": float(flag[direction > 0].mean()), "down": float(flag[direction < 0].mean())}


def matched(p_all: list[np.ndarray], waves: list[Wave]) -> list[np.ndarray]:
    """Flags at the threshold that gives ``MATCHED_FP`` on the null series."""
    null_p = np.concatenate([p[w.size == 0] for w, p in zip(waves, p_all, strict=True)])
    cut = float(np.quantile(null_p, MATCHED_FP))
    return [p <= cut for p in p_all]


def wave_matched(p_all: list[np.ndarray], waves: list[Wave]) -> list[np.ndarray]:
    """Flags at the per-series threshold that gives an alarm in a share ``Q`` of the null
    waves (the per-wave control BH aims at, matched)."""
    lowest = [float(p.min()) for w, p in zip(waves, p_all, strict=True) if w.null]
    cut = float(np.quantile(lowest, Q))
    return [p < cut for p in p_all]


def power_table(name: str, waves: list[Wave], flags: list[np.ndarray]) -> list[str]:
    size = np.concatenate([w.size for w in waves])
    direction = np.concatenate([w.direction for w in waves])
    expected = np.concatenate([w.expected for w in waves])
    flag = np.concatenate(flags)
    lines = []
    for sign, word in ((1, "up"), (-1, "down")):
        cells = []
        for k in SIZES:
            sel = (direction == sign) & (size == k)
            cells.append(f"{flag[sel].mean():.2f}" if sel.any() else "-")
        for lo, hi in COUNT_BINS:
            sel = (direction == sign) & (expected >= lo) & (expected < hi)
            cells.append(f"{flag[sel].mean():.2f}" if sel.any() else "-")
        lines.append(f"| {name} | {word} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--null-waves", type=int, default=6)
    parser.add_argument("--change-waves", type=int, default=4)
    parser.add_argument("--territories", type=int, default=60)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--no-r", action="store_true", help="skip farringtonFlexible")
    args = parser.parse_args()
    waves = []
    for phi, trend, season in GRID:
        kinds = [True] * args.null_waves + [False] * args.change_waves
        for null in kinds:
            waves.append(simulate(args.seed * 100_000 + len(waves), args.territories, phi,
                                  trend, season, null))
    started = time.perf_counter()
    v = [veille_pvalues(w) for w in waves]
    seconds = {"veille": time.perf_counter() - started}
    started = time.perf_counter()
    g = [glm_pvalues(w) for w in waves]
    seconds["glm"] = time.perf_counter() - started
    methods: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {
        "veille (BH per wave)": ([f for _, f, _ in v], [p for p, _, _ in v]),
        "harmonic GLM, p < 0.01": ([p < 0.01 for p in g], g),
        "harmonic GLM + BH per wave": ([bh_flags(p) for p in g], g),
    }
    if not args.no_r:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            f = farrington_pvalues(waves, Path(tmp))
        seconds["farrington"] = time.perf_counter() - started
        methods["farringtonFlexible, alpha 0.01"] = ([p < 0.01 for p in f], f)
        methods["farringtonFlexible + BH per wave"] = ([bh_flags(p) for p in f], f)
    n_series = sum(w.counts.shape[0] for w in waves)
    n_null = sum(w.null for w in waves)
    print(f"{len(waves)} waves ({n_null} null) x {args.territories} territories = "
          f"{n_series} series, seed {args.seed}; seconds: "
          + ", ".join(f"{k} {s:.0f}" for k, s in seconds.items()))
    tested = np.concatenate([t for _, _, t in v])
    expected = np.concatenate([w.expected for w in waves])
    print(f"veille tested {tested[expected >= 1].mean():.3f} of the series with expected "
          f"count >= 1 ({tested[expected < 3].mean():.3f} of those under 3)")
    print("\nAt each method's defaults")
    print("| method | FP rate per series | null waves with an alarm | FDP | power up | "
          "power down |\n|---|---|---|---|---|---|")
    for name, (flags, _) in methods.items():
        s = summary(name, waves, flags)
        print(f"| {name} | {s['fp']:.4f} | {s['null_waves']:.3f} | {s['fdp']:.3f} | "
              f"{s['up']:.3f} | {s['down']:.3f} |")
    print(f"\nAt a matched per-series FP rate of {MATCHED_FP}")
    print("| method | FP rate | power up | power down |\n|---|---|---|---|")
    seen = set()
    tables = []
    for name, (_, p_all) in methods.items():
        base = name.split(",")[0].split(" +")[0].split(" (")[0]
        if base in seen:
            continue
        seen.add(base)
        flags = matched(p_all, waves)
        s = summary(base, waves, flags)
        print(f"| {base} | {s['fp']:.4f} | {s['up']:.3f} | {s['down']:.3f} |")
        tables += power_table(base, waves, flags)
    print(f"\nAt a matched per-wave control: an alarm in {Q:.0%} of the null waves")
    print("| method | null waves with an alarm | FP rate | power up | power down |\n"
          "|---|---|---|---|---|")
    done = set()
    for name, (_, p_all) in methods.items():
        base = name.split(",")[0].split(" +")[0].split(" (")[0]
        if base in done:
            continue
        done.add(base)
        s = summary(base, waves, wave_matched(p_all, waves))
        print(f"| {base} | {s['null_waves']:.3f} | {s['fp']:.4f} | {s['up']:.3f} | "
              f"{s['down']:.3f} |")
    head = " | ".join([f"{k} SD" for k in SIZES] + [f"mean {lo}-{hi - 1}" for lo, hi in
                                                     COUNT_BINS])
    print(f"\nPower at the matched FP rate, by size of change and by expected count\n"
          f"| method | direction | {head} |\n|---|---|" + "---|" * 8)
    print("\n".join(tables))


if __name__ == "__main__":
    main()
