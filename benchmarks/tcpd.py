"""TCPD benchmark of the retrospective change-point mode (`detectors.changepoint.segment`).

Why: the review page draws segments from `segment`; this checks, on series annotated by five
people each, that its *fixed defaults* segment as well as the published default methods.

Run from the repository root (the data folder is found relative to this file, at
`../shared/data/tcpd` from the repository root)::

    .venv/bin/python -m benchmarks.tcpd

It scores every univariate series of the TCPD subset except `quality_control_*` (excluded from
the paper's table; shown in a separate table), skips multivariate series (n_dim > 1) with a note,
and prints per-dataset F1 and cover, then the means, for: `segment` with its defaults, ruptures
Binseg and Pelt (model "l2", penalty 3·log(n), on standardised data, min_size=2, jump=1, NaN
linearly interpolated since ruptures cannot take them) and the "zero" baseline (no change).
The paper's published default scores are printed for reference; they are over the full
37-series set, so the like-for-like comparison is against the ruptures rows of the same run.

Two checks that the defaults are not fitted to these series follow the tables: an ablation of
`segment`'s last two steps (relevance floor, scale check against the residuals), and a
leave-one-dataset-out check of the one numeric default they brought, `min_effect`: for each
series, the value is chosen from a small grid on the other 15 (best mean cover + F1; ties, when
the other 15 cannot tell values apart, to the smallest value, the one that removes least) and
that series is scored with it.

Metrics follow TCPDBench (`analysis/scripts/metrics.py`, `summarize.py`) to the letter: the
predictions are de-duplicated and kept only if 1 <= x <= n-2; index 0 is added to every
annotator's set and to the predictions; margin 5; F1 with precision against the union of
annotators and recall averaged over annotators, F = P*R / (0.5*R + 0.5*P); cover averaged over
annotators.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "tcpd"
MARGIN = 5
PUBLISHED_DEFAULT = {  # (cover, F1), univariate, quality control excluded: paper's table
    "binseg": (0.672, 0.698),
    "pelt": (0.652, 0.674),
    "zero": (0.566, 0.645),
}


# --- metrics (TCPDBench analysis/scripts/metrics.py) ---------------------------------------


def clean_cps(locations: Iterable[int], n_obs: int) -> list[int]:
    """De-duplicate and keep 1 <= x <= n-2, as TCPDBench's summarize.py does."""
    return sorted({int(x) for x in locations if 1 <= x < n_obs - 1})


def true_positives(truth: set[int], predicted: set[int], margin: int = MARGIN) -> set[int]:
    """Annotated points matched to the nearest unused prediction within `margin`."""
    remaining = set(predicted)
    matched: set[int] = set()
    for tau in truth:
        close = sorted((abs(tau - x), x) for x in remaining if abs(tau - x) <= margin)
        if not close:
            continue
        matched.add(tau)
        remaining.remove(close[0][1])
    return matched


def f_measure(
    annotations: Mapping[str, Iterable[int]],
    predictions: Iterable[int],
    margin: int = MARGIN,
    alpha: float = 0.5,
) -> tuple[float, float, float]:
    """(F, precision, recall): precision on the union of annotators, recall averaged over them."""
    sets = [set(a) | {0} for a in annotations.values()]
    predicted = set(predictions) | {0}
    union = set().union(*sets)
    precision = len(true_positives(union, predicted, margin)) / len(predicted)
    recall = sum(len(true_positives(s, predicted, margin)) / len(s) for s in sets) / len(sets)
    f = precision * recall / (alpha * recall + (1 - alpha) * precision)
    return f, precision, recall


def partition_from_cps(locations: Iterable[int], n_obs: int) -> list[set[int]]:
    """Partition of [0, n-1] into segments starting at each change point."""
    cps = sorted({int(x) for x in locations if 0 < x < n_obs})
    bounds = [0, *cps, n_obs]
    return [set(range(a, b)) for a, b in itertools.pairwise(bounds) if b > a]


def overlap(a: set[int], b: set[int]) -> float:
    """Jaccard index of two sets."""
    return len(a & b) / len(a | b)


def cover_single(predicted: list[set[int]], truth: list[set[int]]) -> float:
    """Covering of the segmentation `truth` by `predicted` (Arbelaez et al. 2010, eq. 8)."""
    total = sum(map(len, predicted))
    assert total == sum(map(len, truth))
    return sum(len(r) * max(overlap(r, p) for p in predicted) for r in truth) / total


def covering(
    annotations: Mapping[str, Iterable[int]], predictions: Iterable[int], n_obs: int
) -> float:
    """Segmentation covering averaged over annotators."""
    predicted = partition_from_cps(predictions, n_obs)
    scores = [cover_single(predicted, partition_from_cps(a, n_obs)) for a in annotations.values()]
    return sum(scores) / len(scores)


def score(
    annotations: Mapping[str, Iterable[int]], locations: Iterable[int], n_obs: int
) -> tuple[float, float]:
    """(cover, F1) of raw predicted locations, after TCPDBench's cleaning."""
    cps = clean_cps(locations, n_obs)
    return covering(annotations, cps, n_obs), f_measure(annotations, cps)[0]


# --- data and methods ----------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One TCPD dataset: values per dimension (NaN where the JSON has null)."""

    name: str
    values: np.ndarray  # shape (n_obs, n_dim)
    is_count: bool

    @property
    def n_obs(self) -> int:
        return int(self.values.shape[0])


def load_series(data_dir: Path = DATA_DIR) -> list[Series]:
    """All datasets in `data_dir/datasets`, sorted by name."""
    out = []
    for path in sorted((data_dir / "datasets").glob("*/*.json")):
        raw = json.loads(path.read_text())
        cols = [[np.nan if v is None else float(v) for v in s["raw"]] for s in raw["series"]]
        is_count = all(s.get("type") == "int" for s in raw["series"])
        out.append(Series(raw["name"], np.array(cols, dtype=float).T, is_count))
    return out


def _interpolate(x: np.ndarray) -> np.ndarray:
    """Linear interpolation of NaN, for the comparison methods that cannot take them."""
    idx = np.arange(len(x))
    ok = ~np.isnan(x)
    return np.interp(idx, idx[ok], x[ok])


def _standardise(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / (sd if sd > 0 else 1.0)


def run_veille(x: np.ndarray) -> list[int]:
    """The product's change-point mode with its defaults (Gaussian kind)."""
    from detectors.changepoint import segment

    return segment(x).change_points


def _run_ruptures(algo_name: str) -> Callable[[np.ndarray], list[int]]:
    def run(x: np.ndarray) -> list[int]:
        import ruptures as rpt

        y = _standardise(_interpolate(x)).reshape(-1, 1)
        algo = getattr(rpt, algo_name)(model="l2", min_size=2, jump=1).fit(y)
        return algo.predict(pen=3 * np.log(len(y)))[:-1]

    return run


def run_zero(x: np.ndarray) -> list[int]:
    """The paper's baseline: no change at all."""
    return []


METHODS: dict[str, Callable[[np.ndarray], list[int]]] = {
    "veille": run_veille,
    "rpt_binseg": _run_ruptures("Binseg"),
    "rpt_pelt": _run_ruptures("Pelt"),
    "zero": run_zero,
}


def evaluate(
    series: list[Series], annotations: Mapping[str, Mapping[str, list[int]]]
) -> dict[str, dict[str, tuple[float, float]]]:
    """dataset -> method -> (cover, F1)."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for s in series:
        x = s.values[:, 0]
        out[s.name] = {m: score(annotations[s.name], run(x), s.n_obs) for m, run in METHODS.items()}
    return out


LOO_GRID = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1)  # min_effect values the check picks from
ABLATION: dict[str, dict[str, float | bool]] = {
    "differences scale, no floor (previous method)": {"min_effect": 0.0, "refit_scale": False},
    "+ scale check only": {"min_effect": 0.0},
    "+ relevance floor only": {"refit_scale": False},
}


def score_veille(
    series: list[Series], annotations: Mapping[str, Mapping[str, list[int]]], **options: Any
) -> dict[str, tuple[float, float]]:
    """dataset -> (cover, F1) of `segment` with `options` overriding its defaults."""
    from detectors.changepoint import segment

    return {
        s.name: score(
            annotations[s.name], segment(s.values[:, 0], **options).change_points, s.n_obs
        )
        for s in series
    }


def leave_one_out(
    series: list[Series], annotations: Mapping[str, Mapping[str, list[int]]]
) -> tuple[np.ndarray, dict[str, float]]:
    """Mean (cover, F1) when each series is scored with min_effect chosen on the others."""
    by_value = {v: score_veille(series, annotations, min_effect=v) for v in LOO_GRID}
    held: list[tuple[float, float]] = []
    chosen: dict[str, float] = {}
    for s in series:

        def fitness(v: float, out: str = s.name) -> tuple[float, float]:
            rows = [cf for name, cf in by_value[v].items() if name != out]
            return float(np.mean([c + f for c, f in rows])), -v

        chosen[s.name] = max(LOO_GRID, key=fitness)
        held.append(by_value[chosen[s.name]][s.name])
    return np.mean(held, axis=0), chosen


def print_checks(series: list[Series], annotations: Mapping[str, Mapping[str, list[int]]]) -> None:
    """Ablation of the relevance floor and scale check, then the leave-one-dataset-out check."""
    from detectors.changepoint import MIN_EFFECT

    fixed_c, fixed_f = np.mean(list(score_veille(series, annotations).values()), axis=0)
    print(f"\nAblation of segment's steps, mean over the same {len(series)} series, cover / F1:")
    for label, options in ABLATION.items():
        c, f = np.mean(list(score_veille(series, annotations, **options).values()), axis=0)
        print(f"  {label:<48} {c:.3f} / {f:.3f}")
    print(f"  {'both (the defaults)':<48} {fixed_c:.3f} / {fixed_f:.3f}")
    (c, f), chosen = leave_one_out(series, annotations)
    picks = ", ".join(
        f"{v:g} x{list(chosen.values()).count(v)}" for v in sorted(set(chosen.values()))
    )
    print(
        f"\nLeave-one-dataset-out (min_effect from {list(LOO_GRID)} chosen on the other "
        f"{len(series) - 1}): cover {c:.3f} / F1 {f:.3f}; fixed default {MIN_EFFECT:g}: "
        f"{fixed_c:.3f} / {fixed_f:.3f}; values chosen: {picks}"
    )


def print_table(title: str, results: Mapping[str, Mapping[str, tuple[float, float]]]) -> None:
    """Per-dataset cover/F1 for every method, then the means."""
    methods = list(METHODS)
    print(f"\n{title}")
    print(f"{'dataset':<22}" + "".join(f"{m + ' cov/F1':>22}" for m in methods))
    for name, row in results.items():
        print(f"{name:<22}" + "".join(f"{row[m][0]:>14.3f} /{row[m][1]:>5.3f}" for m in methods))
    means = {m: np.mean([row[m] for row in results.values()], axis=0) for m in methods}
    print(f"{'MEAN':<22}" + "".join(f"{means[m][0]:>14.3f} /{means[m][1]:>5.3f}" for m in methods))


def main() -> int:
    """Score every univariate series and print the tables."""
    sys.path.insert(0, str(REPO_ROOT))
    annotations = json.loads((DATA_DIR / "annotations.json").read_text())
    series = load_series()
    multi = [s.name for s in series if s.values.shape[1] > 1]
    uni = [s for s in series if s.values.shape[1] == 1]
    main_set = [s for s in uni if not s.name.startswith("quality_control")]
    qc_set = [s for s in uni if s.name.startswith("quality_control")]
    started = time.perf_counter()
    print_table(
        f"Univariate TCPD series, quality control excluded ({len(main_set)} series)",
        evaluate(main_set, annotations),
    )
    print_table(
        f"quality_control_* series ({len(qc_set)}, reported apart)", evaluate(qc_set, annotations)
    )
    print_checks(main_set, annotations)
    if multi:
        print(f"\nSkipped multivariate series (n_dim > 1, not in the paper's table): {multi}")
    print("\nPublished defaults (paper, all 37 univariate series, QC excluded), cover / F1:")
    for m, (c, f) in PUBLISHED_DEFAULT.items():
        print(f"  {m:<8} {c:.3f} / {f:.3f}")
    print(f"\n({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
