"""Behaviour of the retrospective change-point mode and of the TCPD metrics.

Why: the review page draws these segments, so a shift must be placed where it happened, pure
noise must stay one segment, and gaps must be gaps; the benchmark must score as TCPDBench does.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from detectors.changepoint import Segmentation, segment

_TCPD_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "tcpd.py"
_spec = importlib.util.spec_from_file_location("benchmarks_tcpd", _TCPD_PATH)
assert _spec is not None and _spec.loader is not None
tcpd = importlib.util.module_from_spec(_spec)
sys.modules["benchmarks_tcpd"] = tcpd
_spec.loader.exec_module(tcpd)


# --- the segmentation ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_level_shift_found_within_two_points(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.r_[rng.normal(10, 1, 60), rng.normal(13, 1, 40)]
    seg = segment(x)
    assert len(seg.change_points) == 1
    assert abs(seg.change_points[0] - 60) <= 2
    assert seg.p_values[0] < 1e-6
    assert seg.segment_means[0] == pytest.approx(10, abs=0.5)
    assert seg.segment_means[1] == pytest.approx(13, abs=0.5)


def test_level_shift_found_without_trend_cost() -> None:
    rng = np.random.default_rng(42)
    x = np.r_[rng.normal(0, 1, 50), rng.normal(-2.5, 1, 50)]
    seg = segment(x, trend=False)
    assert len(seg.change_points) == 1
    assert abs(seg.change_points[0] - 50) <= 2


def test_pure_noise_rarely_split() -> None:
    """False-change rate: at most 5 of 100 seeded white-noise series get any change."""
    split = sum(
        bool(segment(np.random.default_rng(1000 + s).normal(5, 2, 120)).change_points)
        for s in range(100)
    )
    assert split <= 5


def test_autocorrelated_noise_rarely_split() -> None:
    """AR(1) noise (rho 0.6) wanders; read as long-run variance, it is not a string of shifts."""
    split = 0
    for s in range(30):
        rng = np.random.default_rng(2000 + s)
        eps = rng.normal(0, 1, 150)
        x = np.empty(150)
        x[0] = eps[0]
        for i in range(1, 150):
            x[i] = 0.6 * x[i - 1] + eps[i]
        split += bool(segment(x).change_points)
    assert split <= 3


def _gentle_growth(seed: int, n: int = 400) -> np.ndarray:
    """A count that grows by about 1 a step, its pace drifting +-25%: no change of regime."""
    rng = np.random.default_rng(seed)
    pace = 1.0 + 0.25 * np.sin(2 * np.pi * np.arange(n) / 250)
    return 100 + np.cumsum(pace) + rng.normal(0, 0.5, n)


@pytest.mark.parametrize("seed", range(5))
def test_gentle_bends_of_a_smooth_series_are_not_cut(seed: int) -> None:
    """Each bend is significant against so little noise, but none moves the fit visibly."""
    x = _gentle_growth(seed)
    assert segment(x, min_effect=0).change_points != []  # what the floor removes
    assert segment(x).change_points == []


@pytest.mark.parametrize("seed", range(5))
def test_visible_step_in_a_smooth_series_is_kept(seed: int) -> None:
    x = _gentle_growth(seed)
    x[250:] += 0.15 * np.ptp(x)
    assert segment(x).change_points == [250]


def _ar1(seed: int, phi: float, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    eps = rng.normal(0, 1, n)
    x = np.empty(n)
    x[0] = eps[0] / np.sqrt(1 - phi**2)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + eps[i]
    return x


def test_noise_more_persistent_than_the_cap_is_read_from_residuals() -> None:
    """AR(1) at rho 0.9 (above rho_max): differences understate its variance, residuals do not."""
    series = [_ar1(3000 + s, 0.9, 200) for s in range(40)]
    split = sum(bool(segment(x).change_points) for x in series)
    split_from_differences = sum(bool(segment(x, refit_scale=False).change_points) for x in series)
    assert split < 0.7 * split_from_differences


def test_random_walk_cut_less_and_its_real_jump_still_found() -> None:
    walks = [np.cumsum(np.random.default_rng(4000 + s).normal(0, 1, 300)) for s in range(20)]
    cuts = sum(len(segment(x).change_points) for x in walks)
    assert cuts < 0.85 * sum(len(segment(x, refit_scale=False).change_points) for x in walks)
    for x in walks:
        x[150:] += 15  # a jump of 15 step sds
        assert any(abs(c - 150) <= 2 for c in segment(x).change_points)


@pytest.mark.parametrize("seed", range(5))
def test_scale_left_alone_when_residuals_agree(seed: int) -> None:
    """White noise around a shift: the fit's residuals confirm the scale read off differences."""
    rng = np.random.default_rng(seed)
    x = np.r_[rng.normal(10, 1, 60), rng.normal(13, 1, 40)]
    assert segment(x).scale == segment(x, refit_scale=False).scale


def test_missing_values_are_gaps_not_zeros() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(50, 1, 100)
    x[[*range(30, 38), 70, 71]] = np.nan  # zero-filled, 30..37 would be a segment of its own
    seg = segment(x)
    assert seg.change_points == []
    assert np.isnan(seg.fitted[[30, 37, 71]]).all()
    assert seg.segment_means[0] == pytest.approx(50, abs=0.5)


def test_change_reported_at_first_observed_index_after_gap() -> None:
    rng = np.random.default_rng(3)
    x = np.r_[rng.normal(0, 0.5, 50), rng.normal(5, 0.5, 50)]
    x[[50, 51]] = np.nan  # the new level is first *seen* at index 52
    assert segment(x, trend=False).change_points == [52]


@pytest.mark.parametrize("seed", range(5))
def test_poisson_shift_with_nan_gaps(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = np.r_[rng.poisson(3, 60), rng.poisson(9, 60)].astype(float)
    y[[5, 6, 30, 58, 90, 91, 92]] = np.nan
    seg = segment(y, kind="poisson")
    assert isinstance(seg, Segmentation)
    assert len(seg.change_points) == 1
    assert abs(seg.change_points[0] - 60) <= 2
    assert seg.segment_means == pytest.approx([3, 9], rel=0.25)
    assert np.isnan(seg.fitted[[5, 30, 91]]).all()


def test_poisson_exposure_explains_count_jump() -> None:
    """Counts double because the population doubles: the rate does not change."""
    rng = np.random.default_rng(11)
    exposure = np.r_[np.full(60, 1000.0), np.full(60, 2000.0)]
    y = rng.poisson(0.004 * exposure).astype(float)
    y[[20, 21]] = np.nan
    assert segment(y, kind="poisson", exposure=exposure).change_points == []
    assert segment(y, kind="poisson").change_points != []


def test_poisson_pure_counts_rarely_split() -> None:
    split = sum(
        bool(
            segment(
                np.random.default_rng(s).poisson(4, 100).astype(float), kind="poisson"
            ).change_points
        )
        for s in range(50)
    )
    assert split <= 3


def test_degenerate_inputs() -> None:
    assert segment(np.full(30, np.nan)).change_points == []
    assert segment(np.full(30, 4.0)).change_points == []
    assert segment(np.array([1.0, 2.0, 3.0])).change_points == []
    assert segment(np.zeros(40), kind="poisson").change_points == []
    with pytest.raises(ValueError):
        segment(np.ones(10), kind="binomial")


# --- TCPD metrics, hand-worked from the definitions ----------------------------------------


def test_clean_cps_dedups_and_drops_endpoints() -> None:
    assert tcpd.clean_cps([0, 1, 5, 5, 43, 44, 60], 45) == [1, 5, 43]


def test_true_positives_without_double_counting() -> None:
    # 1 -> 3 and 10 -> 8 (each 2 away), 20 -> 20; 23 has nothing unused left within 5
    assert tcpd.true_positives({1, 10, 20, 23}, {3, 8, 20}) == {1, 10, 20}
    assert tcpd.true_positives({1, 2, 3}, set()) == set()


def test_f1_hand_worked() -> None:
    # X = {0, 10}; union of annotators {0, 10, 50}: 2 of 2 predictions match, P = 1.
    # Recall: {0} 1/1, {0, 10} 2/2, {0, 50} 1/2 -> R = 5/6; F = R / (0.5 R + 0.5) = 10/11.
    f, p, r = tcpd.f_measure({"1": [], "2": [10], "3": [50]}, [10])
    assert (p, r) == (pytest.approx(1.0), pytest.approx(5 / 6))
    assert f == pytest.approx(10 / 11)
    # no prediction: X = {0}, P = 1/1, R = (1 + 1/2 + 1/2) / 3 = 2/3, F = 0.8
    assert tcpd.f_measure({"1": [], "2": [10], "3": [50]}, [])[0] == pytest.approx(0.8)
    # a prediction 6 away is outside the margin of 5
    assert tcpd.f_measure({"1": [10]}, [16])[1] == pytest.approx(0.5)


def test_cover_hand_worked() -> None:
    # n = 45, no prediction (one segment). Annotator with no change: 1.
    # [0,10) + [10,45): (10*10/45 + 35*35/45) / 45 = 1325/2025; [0,40)+[40,45): 1625/2025.
    expected = (1 + 1325 / 2025 + 1625 / 2025) / 3
    assert tcpd.covering({"1": [], "2": [10], "3": [40]}, [], 45) == pytest.approx(expected)
    # a perfect prediction covers fully
    assert tcpd.covering({"1": [10]}, [10], 45) == pytest.approx(1.0)


def test_partition_and_score_apply_cleaning() -> None:
    assert tcpd.partition_from_cps([3, 5], 8) == [{0, 1, 2}, {3, 4}, {5, 6, 7}]
    # 0 and n-1 are dropped before scoring, so they cannot earn or cost anything
    assert tcpd.score({"1": []}, [0, 44], 45) == (pytest.approx(1.0), pytest.approx(1.0))
