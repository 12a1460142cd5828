"""Behaviour of detect_wave on hand-built and simulated batches."""

import numpy as np
import pytest

from detectors.batch import SeriesBatch
from detectors.simulate import period_labels, simulate_wave
from detectors.wave import detect_wave


def _seasonal_counts(rng: np.random.Generator, n: int, t: int, base: float) -> np.ndarray:
    season = 1 + 0.15 * np.sin(2 * np.pi * np.arange(t) / 12)
    return rng.poisson(base * season, size=(n, t)).astype(float)


def _batch(values: np.ndarray, **kw: object) -> SeriesBatch:
    n, t = values.shape
    return SeriesBatch(
        keys=[("IND", f"T{i}") for i in range(n)],
        periods=period_labels(t, 12),
        season_length=12,
        values=values,
        exposure=kw.pop("exposure", np.full(values.shape, 2000.0)),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_big_spike_is_found_with_its_effect() -> None:
    rng = np.random.default_rng(1)
    values = _seasonal_counts(rng, 200, 120, 60.0)
    values[7, -1] += 60  # about +7.7 noise SDs
    batch = _batch(values, polarity=np.full(200, -1))
    res = detect_wave(batch)
    mine = [f for f in res.findings if f.series == 7]
    assert [f.change for f in mine][:1] == ["spike"]
    f = mine[0]
    assert f.direction == 1 and f.good_news is False and f.period == "2024-12"
    assert f.observed == values[7, -1]
    assert f.interval_low < f.expected < f.interval_high < f.observed
    assert 40 < f.people < 80 and f.people == pytest.approx(f.abs_change)
    assert f.rel_change == pytest.approx(f.abs_change / f.expected)
    assert f.q_value >= f.p_value and f.q_value <= 0.05
    assert "Poisson" in f.method and f.baseline.startswith("mêmes mois 2019-12 à 2024-11")
    assert res.n_tests == 200 * 3  # no parents: no gap tests
    assert res.n_candidates < res.n_tests / 10


def test_secret_cells_are_missing_not_zero() -> None:
    rng = np.random.default_rng(2)
    values = _seasonal_counts(rng, 300, 120, 30.0)
    values[:50, -6:-1] = np.nan  # five secret months just before the new one
    values[50:100, ::3] = np.nan  # scattered secret cells
    res = detect_wave(_batch(values))
    assert not [f for f in res.findings if f.series < 100]
    # The same cells read as zeros would be (wrongly) news: the check can fail.
    zeros = np.nan_to_num(values)
    bad = detect_wave(_batch(zeros))
    assert len({f.series for f in bad.findings if f.series < 100}) > 20


def test_definition_break_is_never_reported() -> None:
    batch, truth = simulate_wave(400, seed=11, break_share=0.25, secret_below=None)
    res = detect_wave(batch)
    broken = truth.break_at >= 0
    assert not [f for f in res.findings if broken[f.series]]
    assert res.n_tests > 0 and (~np.isfinite(res.pvalues[broken])).sum() < broken.sum() * 4
    # Ignoring the breaks reports them as shifts: the check can fail.
    batch.breaks = np.full(batch.n_series, -1)
    naive = detect_wave(batch)
    assert len({f.series for f in naive.findings if broken[f.series]}) > 8


def test_neighbourhood_findings_are_explained_by_the_parent() -> None:
    rng = np.random.default_rng(3)
    n_child, t = 5, 120
    kids = _seasonal_counts(rng, n_child, t, 80.0)
    rest = _seasonal_counts(rng, 1, t, 200.0)
    kids[:, -3:] *= 1.6
    rest[:, -3:] *= 1.6
    parent = kids.sum(axis=0, keepdims=True) + rest
    others = _seasonal_counts(rng, 100, t, 50.0)
    values = np.vstack([parent, kids, others])
    expo = np.full(values.shape, 2000.0)
    expo[0] = 2000.0 * (n_child + 2.5)
    par = np.full(values.shape[0], -1)
    par[1 : n_child + 1] = 0
    res = detect_wave(_batch(values, exposure=expo, parent=par))
    top = [i for i, f in enumerate(res.findings) if f.series == 0 and f.change == "level_shift"]
    assert top, "the commune's level shift is found"
    kids_found = [f for f in res.findings if 1 <= f.series <= n_child and f.direction == 1]
    assert len({f.series for f in kids_found}) == n_child
    assert all(f.explained_by is not None for f in kids_found if f.change != "gap_widening")
    assert all(res.findings[f.explained_by].series == 0 for f in kids_found if f.explained_by)
    assert [f for f in kids_found if f.change == "level_shift" and f.explained_by == top[0]]


@pytest.mark.parametrize(("season_length", "size", "recall"), [(4, 8.0, 0.6), (1, 12.0, 0.5)])
def test_quarterly_and_annual_series(season_length: int, size: float, recall: float) -> None:
    # Annual series have 10 points of baseline and 7 residual degrees of freedom: only
    # large changes can pass a wave-level FDR there.
    t = {4: 40, 1: 15}[season_length]
    batch, truth = simulate_wave(
        300, t, season_length, seed=5, change_share=0.1, size_sd=size, secret_below=None
    )
    res = detect_wave(batch)
    hit = {f.series for f in res.findings if truth.direction[f.series] == f.direction}
    changed = set(np.flatnonzero(truth.kind != "").tolist())
    assert len(hit & changed) >= recall * len(changed)
    assert len({f.series for f in res.findings} - changed) <= 2
    assert res.findings[0].period == batch.periods[-1]


def test_rates_with_denominator_and_amounts() -> None:
    rng = np.random.default_rng(8)
    n, t = 120, 120
    den = rng.integers(200, 2000, size=(n, 1)) * np.ones((1, t))
    num = rng.binomial(den.astype(int), 0.2)
    rate = num / den
    amount = rng.normal(1000, 30, size=(n, t))
    rate[5, -3:] = rng.binomial(den[5, -3:].astype(int), 0.3) / den[5, -3:]
    amount[6, -3:] += 150
    values = np.vstack([rate, amount])
    expo = np.vstack([den, np.full((n, t), np.nan)])
    kind = np.array(["rate"] * n + ["amount"] * n, dtype=object)
    res = detect_wave(_batch(values, exposure=expo, kind=kind))
    found = {(f.series, f.change) for f in res.findings}
    assert (5, "level_shift") in found and (n + 6, "level_shift") in found
    assert len({s for s, _ in found} - {5, n + 6}) <= 1
    rate_f = next(f for f in res.findings if f.series == 5 and f.change == "level_shift")
    assert "binomial" in rate_f.method and rate_f.people > 0
    assert 0.25 < rate_f.observed < 0.35 and 0.17 < rate_f.expected < 0.23
    amt = next(f for f in res.findings if f.series == n + 6 and f.change == "level_shift")
    assert "OLS" in amt.method and amt.people is None and 100 < amt.abs_change < 200


def test_process_pool_gives_the_serial_answer() -> None:
    batch, _ = simulate_wave(150, seed=9, change_share=0.2, size_sd=5.0, group_size=5)
    serial = detect_wave(batch, confirm_all=True)
    pooled = detect_wave(batch, confirm_all=True, parallel_threshold=10, max_workers=2)
    assert serial.n_candidates > 10
    assert [(f.series, f.change) for f in serial.findings] == [
        (f.series, f.change) for f in pooled.findings
    ]
    np.testing.assert_allclose(serial.pvalues, pooled.pvalues)
