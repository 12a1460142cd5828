"""The screen keeps what a confirm-everything run would find, and scales by vectorising."""


import numpy as np

from detectors.screen import screen
from detectors.simulate import simulate_wave
from detectors.wave import detect_wave


def test_screen_keeps_what_full_confirmation_finds() -> None:
    found_full: set[tuple[int, str]] = set()
    found_screened: set[tuple[int, str]] = set()
    ratios = []
    for seed in range(3):
        batch, _ = simulate_wave(
            400,
            seed=40 + seed,
            change_share=0.15,
            size_sd=(2.0, 6.0),
            group_size=6,
            dispersion=0.01 * seed,
        )
        full = detect_wave(batch, confirm_all=True)
        screened = detect_wave(batch)
        assert screened.n_tests == full.n_tests
        assert screened.n_candidates < full.n_candidates / 4
        found_full |= {(seed * 10_000 + f.series, f.change) for f in full.findings}
        found_screened |= {(seed * 10_000 + f.series, f.change) for f in screened.findings}
        # Where the decision is made (far smaller p-values pass anyway).
        small = (full.pvalues < 1e-2) & (full.pvalues > 1e-6)
        ratios.append(np.log10(full.screen_pvalues[small] / full.pvalues[small]))
    assert len(found_full) > 100
    assert len(found_full & found_screened) >= 0.99 * len(found_full)
    # Screen p-values track the statsmodels ones in that zone: 95 % within a factor 3,
    # and under 1 % more than the screen's margin (20x) less significant.
    r = np.concatenate(ratios)
    assert r.size > 100
    assert np.quantile(np.abs(r), 0.95) < np.log10(3)
    assert np.mean(r > np.log10(20)) < 0.01


def test_screen_sends_few_of_a_large_wave_to_statsmodels() -> None:
    """Speed is measured by `benchmarks/detect_speed.py` (ratio to a statsmodels loop), not
    here: this checks that a wave of 20,000 series is screened down to few candidates."""
    batch, _ = simulate_wave(20_000, seed=1, group_size=6)
    res = screen(batch)
    assert res.n_tests > 50_000
    assert res.candidates.sum() < 0.01 * res.n_tests
