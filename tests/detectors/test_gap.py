"""Gap widening is news about the neighbourhood: a neighbourhood that stayed put while its
parent moved (because a sibling moved) must not be reported as a widening gap."""

from dataclasses import replace

import numpy as np

from detectors.batch import SeriesBatch
from detectors.confirm import ConfirmTask, confirm
from detectors.design import make_layout, prepare
from detectors.simulate import period_labels
from detectors.wave import detect_wave


def _commune(seed: int, sibling_jump: float, own_jump: float) -> SeriesBatch:
    """Row 0: the commune (sum of rows 1-4 + the rest); row 1 jumps by ``sibling_jump``,
    row 2 by ``own_jump`` over the last 3 months; 60 unrelated series keep BH honest."""
    rng = np.random.default_rng(seed)
    t = 120
    season = 1 + 0.1 * np.sin(2 * np.pi * np.arange(t) / 12)
    means = np.array([600.0, 150.0, 100.0, 80.0])
    kids = rng.poisson(means[:, None] * season, size=(4, t)).astype(float)
    kids[0, -3:] = rng.poisson(means[0] * sibling_jump * season[-3:])
    kids[1, -3:] = rng.poisson(means[1] * own_jump * season[-3:])
    rest = rng.poisson(300.0 * season, size=(1, t)).astype(float)
    commune = kids.sum(axis=0, keepdims=True) + rest
    others = rng.poisson(120.0 * season, size=(60, t)).astype(float)
    values = np.vstack([commune, kids, others])
    expo = np.full(values.shape, 5000.0)
    expo[0] = 5000.0 * 6
    parent = np.full(values.shape[0], -1)
    parent[1:5] = 0
    n = values.shape[0]
    return SeriesBatch(
        keys=[("IND", f"T{i}") for i in range(n)],
        periods=period_labels(t, 12),
        season_length=12,
        values=values,
        exposure=expo,
        parent=parent,
    )


def test_parent_moving_alone_is_not_a_gap_widening_of_the_flat_neighbourhoods() -> None:
    flagged_gap_only = 0
    for seed in range(4):
        batch = _commune(seed, sibling_jump=2.2, own_jump=1.0)
        res = detect_wave(batch)
        # The sibling's own rise is found; the flat neighbourhoods get no gap finding.
        assert any(f.series == 1 and f.direction == 1 for f in res.findings)
        flat = [f for f in res.findings if f.series in (2, 3, 4)]
        assert not flat, [(f.series, f.change, f.p_value) for f in flat]
        # Without the own-level condition the gap test alone would fire on them.
        layout = make_layout(batch.n_periods, 12)
        prep = prepare(batch, layout)
        for i in (2, 3, 4):
            task = ConfirmTask(
                i, "gap_widening", int(prep.family[i]), prep.y[i], prep.trials[i],
                prep.gap_offset[i], prep.gap_mask[i], int(prep.gap_sign[i]),
            )
            gap_only = confirm(task, layout).pvalue
            both = confirm(
                replace(task, own_offset=prep.offset[i], own_mask=prep.mask[i]), layout
            ).pvalue
            assert both >= gap_only
            flagged_gap_only += gap_only < 1e-4
    assert flagged_gap_only >= 4


def test_neighbourhood_falling_away_from_a_flat_parent_is_still_a_gap() -> None:
    found = 0
    for seed in range(4):
        batch = _commune(10 + seed, sibling_jump=1.0, own_jump=0.55)
        res = detect_wave(batch)
        mine = {f.change for f in res.findings if f.series == 2 and f.direction == -1}
        found += "gap_widening" in mine
        assert mine, "the neighbourhood's own fall is found"
    assert found >= 3
