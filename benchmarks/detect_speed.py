"""Speed of the detectors: screen + targeted confirmation vs confirming every series.

Usage::

    python benchmarks/detect_speed.py                  # both parts, defaults below
    python benchmarks/detect_speed.py --sample 5000 --series 100000
    python benchmarks/detect_speed.py --skip-loop      # scaling run only
    python benchmarks/detect_speed.py --series 0       # comparison only

Part 1 (``--sample`` series, default 5,000, demo-like monthly counts with 5 % injected
changes of 2-6 noise SDs, neighbourhoods nested in communes): ``detect_wave`` against a plain
per-series loop that runs the same statsmodels confirmation on every testable test of every
series, then the same Benjamini-Hochberg step. Prints both wall times, the ratio (target
>= 20x) and the share of the loop's detections that ``detect_wave`` also makes (target
>= 99 %).

Part 2 (``--series`` N, default 100,000, x 120 monthly periods generated in memory): one
``detect_wave`` call; prints the stage timings, throughput, peak RSS
(``resource.getrusage``, this process and its screening workers) and a linear extrapolation
to a national wave (1,750,000 series: 35,000 communes x 50 indicators; target < 90 s,
< 8 GB). The screen runs in blocks over two forked processes above 60,000 series; fits run
with one BLAS thread.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from threadpoolctl import threadpool_limits

from detectors.confirm import ConfirmTask, confirm
from detectors.design import TEST_KINDS, make_layout, prepare
from detectors.fdr import benjamini_hochberg
from detectors.pooled_dispersion import dispersion_prior
from detectors.screen import screen_prepared
from detectors.simulate import simulate_wave
from detectors.wave import detect_wave


def per_series_loop(batch) -> set[tuple[int, str]]:  # type: ignore[no-untyped-def]
    """Confirm every testable test series by series, then BH: the reference."""
    layout = make_layout(batch.n_periods, batch.season_length)
    # Same pooled dispersion, identifiability rule and kept points (past outliers set
    # aside) as detect_wave: all are part of deciding what is tested and how.
    prep = prepare(batch, layout, prior=dispersion_prior(batch, layout))
    testable = screen_prepared(layout, prep).testable
    pvalues = np.where(testable, 1.0, np.nan)
    for i in range(batch.n_series):
        for j, kind in enumerate(TEST_KINDS):
            if not testable[i, j]:
                continue
            gap = kind == "gap_widening"
            task = ConfirmTask(
                series=i,
                kind=kind,
                family=int(prep.family[i]),
                y=prep.y[i],
                trials=prep.trials[i],
                offset=prep.gap_offset[i] if gap else prep.offset[i],
                mask=prep.gap_mask[i] if gap else prep.mask[i],
                gap_sign=int(prep.gap_sign[i]),
                own_offset=prep.offset[i] if gap else None,
                own_mask=prep.mask[i] if gap else None,
                prior=None if gap or prep.prior is None else tuple(map(float, prep.prior[i])),
            )
            pvalues[i, j] = confirm(task, layout).pvalue
    reject, _ = benjamini_hochberg(pvalues.ravel())
    reject = reject.reshape(pvalues.shape)
    return {(int(i), TEST_KINDS[j]) for i, j in np.argwhere(reject)}


def _kind(change: str) -> str:
    return "spike" if change == "dip" else change


def compare(n: int, seed: int) -> None:
    batch, _ = simulate_wave(
        n, seed=seed, dispersion=0.01, change_share=0.05, size_sd=(2.0, 6.0), group_size=6
    )
    t0 = time.perf_counter()
    res = detect_wave(batch)
    t_wave = time.perf_counter() - t0
    found = {(f.series, _kind(f.change)) for f in res.findings}
    print(f"[part 1] {n} series x {batch.n_periods} months, {res.n_tests} tests")
    print(
        f"  detect_wave: {t_wave:.2f} s  (screen {res.timings['screen']:.2f} s, "
        f"{res.n_candidates} candidates confirmed in {res.timings['confirm']:.2f} s)"
    )
    t0 = time.perf_counter()
    with threadpool_limits(1):
        ref = per_series_loop(batch)
    t_loop = time.perf_counter() - t0
    share = len(ref & found) / len(ref) if ref else 1.0
    print(f"  per-series statsmodels loop: {t_loop:.2f} s")
    print(f"  ratio: {t_loop / t_wave:.1f}x (target >= 20x)")
    print(
        f"  loop detections: {len(ref)}, found by detect_wave: {len(ref & found)} "
        f"= {100 * share:.2f} % (target >= 99 %); detect_wave only: {len(found - ref)}"
    )


def scale(n: int, seed: int) -> None:
    t0 = time.perf_counter()
    batch, _ = simulate_wave(
        n, seed=seed, dispersion=0.01, change_share=0.01, size_sd=(2.0, 6.0), group_size=6
    )
    t_gen = time.perf_counter() - t0
    res = detect_wave(batch)
    total = res.timings["total"]
    rss_mb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    ) / 1024
    print(f"[part 2] {n} series x {batch.n_periods} months (generated in {t_gen:.1f} s)")
    print(
        f"  detect_wave: {total:.2f} s = screen {res.timings['screen']:.2f} s + confirm "
        f"{res.timings['confirm']:.2f} s ({res.n_candidates} candidates of {res.n_tests} "
        f"tests) + fdr {res.timings['fdr']:.2f} s; {len(res.findings)} findings"
    )
    print(f"  throughput: {n / total:,.0f} series/s; peak RSS {rss_mb:,.0f} MB")
    national = 1_750_000
    per = {k: res.timings[k] * national / n for k in ("screen", "confirm", "total")}
    batch_gb = 2 * national * batch.n_periods * 8 / 1e9
    print(
        f"  extrapolated to {national:,} series: ~{per['total']:.0f} s (screen "
        f"{per['screen']:.0f} s, confirm {per['confirm']:.0f} s; linear, target < 90 s); "
        f"memory ~{batch_gb:.1f} GB for the float64 batch (values + exposure) + bounded "
        f"screen blocks (target < 8 GB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=5000)
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--skip-loop", action="store_true")
    args = parser.parse_args()
    if not args.skip_loop and args.sample > 0:
        compare(args.sample, args.seed)
    if args.series > 0:
        scale(args.series, args.seed + 1)


if __name__ == "__main__":
    main()
