"""The detectors' power on ten seeded demo territories (the issue's power target).

Each seed draws a new territory and new noise around the same story of injected changes
(nine of 3 noise SDs or more: level shifts, a dip, a spike, two trend changes) and replays
its deliveries through the embedded pipeline (`cli.demo_run.score_territory`); nothing
is tuned on these seeds. One territory moves recall in steps of 0.11, so the targets are
checked on the ten together (`benchmarks/demo_power.py` prints the same figures).

What holds: recall >= 0.85 over the 90 changes (measured 79/90), precision >= 0.9 over all
shifts (measured 0.906 with issue 15's negative-binomial variance relation, 0.92 before), at
least 90 % of the level shifts, 70 % of the trend changes and half of the dips found in
their window, and false shifts per wave within the Benjamini-Hochberg bound q. Precision
rests on the news family (`detectors.wave.conclude_wave`): a running shift, found again at
every wave while it lasts, no longer lifts the threshold of the other tests of its wave
(with it, precision was 0.87). Recall rests on power per test: the positions of a level
shift or trend change searched with Hunter-Worsley's bound instead of Bonferroni, one level
instead of twelve for indicators without seasonality, and ten years of history for
quarterly series. On ten held-out seeds (2036-2045) the build gives recall 0.81 and
precision 0.92 (0.83 and 0.91 before issue 15): the recall target sits at the method's
expected value, not below it with a margin (see the README).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from cli.demo_run import score_territory
from detectors.evaluation import Score
from veille.config import Settings

SEEDS = list(range(2026, 2036))


def _one(args: tuple[str, int]) -> tuple[Score, int]:
    root, seed = args
    return score_territory(Path(root) / f"seed-{seed}", seed)


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Score, int]]:
    root = str(tmp_path_factory.mktemp("power"))
    with ProcessPoolExecutor(max_workers=2) as pool:
        return list(pool.map(_one, [(root, seed) for seed in SEEDS]))


def _pooled(scores: list[tuple[Score, int]]) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for score, _ in scores:
        for kind, (found, total) in score.by_kind().items():
            f, t = out.get(kind, (0, 0))
            out[kind] = (f + found, t + total)
    return out


@pytest.mark.slow
def test_recall_over_ten_territories_meets_the_target(scores) -> None:
    by_kind = _pooled(scores)
    found = sum(f for f, _ in by_kind.values())
    total = sum(t for _, t in by_kind.values())
    assert total == 9 * len(SEEDS)
    assert found >= 0.85 * total, by_kind
    assert by_kind["level_shift"][0] >= 0.9 * by_kind["level_shift"][1], by_kind
    assert by_kind["dip"][0] >= 0.5 * by_kind["dip"][1], by_kind
    assert by_kind["trend_change"][0] >= 0.7 * by_kind["trend_change"][1], by_kind


@pytest.mark.slow
def test_false_shifts_per_wave_stay_within_the_wave_level_bound(scores) -> None:
    false = sum(len(score.false_shifts) for score, _ in scores)
    waves = sum(w for _, w in scores)
    assert waves >= 60 * len(SEEDS)
    assert false / waves <= Settings().fdr_q, (false, waves)


@pytest.mark.slow
def test_precision_over_ten_territories_meets_the_target(scores) -> None:
    true = sum(score.true_shifts for score, _ in scores)
    false = sum(len(score.false_shifts) for score, _ in scores)
    assert true / (true + false) >= 0.9, (true, false)
