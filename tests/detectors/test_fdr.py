"""Benjamini-Hochberg and parent linking, against values computed here step by step."""

import numpy as np

from detectors.fdr import benjamini_hochberg, bh_threshold, link_to_parents


def _bh_by_hand(p: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    m = p.size
    order = np.argsort(p)
    k_max = 0
    for rank, idx in enumerate(order, start=1):
        if p[idx] <= q * rank / m:
            k_max = rank
    reject = np.zeros(m, dtype=bool)
    reject[order[:k_max]] = True
    qv = np.empty(m)
    running = 1.0
    for rank in range(m, 0, -1):
        idx = order[rank - 1]
        running = min(running, p[idx] * m / rank)
        qv[idx] = running
    return reject, qv


def test_bh_matches_step_up_rule_computed_by_hand() -> None:
    rng = np.random.default_rng(7)
    p = np.concatenate([rng.uniform(size=80), rng.uniform(0, 0.002, size=20)])
    reject, qv = benjamini_hochberg(p, 0.05)
    want_reject, want_q = _bh_by_hand(p, 0.05)
    assert reject.sum() >= 15
    np.testing.assert_array_equal(reject, want_reject)
    np.testing.assert_allclose(qv, want_q)
    thr = bh_threshold(p, 0.05)
    assert thr == p[reject].max()
    assert not (p[~reject] <= thr).any()


def test_untested_entries_are_not_tests_and_screened_out_count_in_m() -> None:
    p = np.array([0.001, 0.02, np.nan, 0.04, np.nan])
    reject, qv = benjamini_hochberg(p, 0.05)
    assert np.isnan(qv[2]) and np.isnan(qv[4])
    np.testing.assert_allclose(qv[[0, 1, 3]], [0.003, 0.03, 0.04])
    assert reject[[0, 1, 3]].all()
    # The same tests plus screened-out ones at p = 1: m grows, rejections cannot grow.
    padded = np.concatenate([p, np.ones(20)])
    reject2, _ = benjamini_hochberg(padded, 0.05)
    assert reject2.sum() < reject.sum()
    assert bh_threshold(np.array([0.5, 0.9]), 0.05) == 0.0


def test_link_to_parents_same_direction_prefers_same_kind() -> None:
    parent = np.array([-1, 0, 0, 0, -1])
    series = [0, 0, 1, 2, 3, 4]
    kinds = ["trend_change", "level_shift", "level_shift", "spike", "gap_widening", "spike"]
    directions = [1, 1, 1, -1, 1, 1]
    links = link_to_parents(series, kinds, directions, parent)
    assert links == [None, None, 1, None, None, None]
    # Without a same-kind finding the parent's same-direction finding explains it.
    links = link_to_parents([0, 1], ["trend_change", "spike"], [1, 1], parent)
    assert links == [None, 0]
