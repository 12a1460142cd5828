"""What the detectors flag on the Loire recorded offences, and in 2020 (the lockdown).

Usage (from the repository root)::

    /work/venv/bin/python -m benchmarks.loire_2020 [--workdir /tmp/veille-loire] [--zeros]

Runs the pipeline of ``tests/test_loire_detection.py`` (same code: ``tests/loire_pipeline``):
a workspace whose catalog is made from the SSMSI file (320 communes of the Loire under the
département, 14 offence classes, annual counts, up is bad), ten yearly deliveries
2016..2025 ingested in order through ``cli.jobs.ingest_files`` on SQLite, each one
followed by the detect stage. Prints per-wave figures (series, tests, candidates,
findings, shifts recorded), the shifts recorded at 2020 (indicator, territory, kind,
observed, expected, q), and the département totals of the published counts (2020 against
the 2016-2019 mean) with, per indicator, the département's 2020 shift and the number of
communes flagged in 2020, so the verdict can be read against the data. An annual spike or
dip can be tested from five published years (the four before as baseline) because its
dispersion is pooled across the communes of the indicator (`detectors.pooled_dispersion`).
``--zeros`` also replays the file with unpublished cells wrongly read as 0, for contrast.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from loire_pipeline import (
    BIG_COMMUNE,
    DEPARTEMENT,
    SMALL_COMMUNE,
    Run,
    is_secret,
    load_convention_yaml,
    lockdown_falls,
    read_rows,
    recorded_shifts,
    run,
    small_commune_flags,
)

from detectors.explain import explain_series
from veille.store.schema import detection_runs


def waves(result: Run) -> list[dict]:
    with result.runtime.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(detection_runs).order_by(detection_runs.c.delivery_id))]


def print_waves(result: Run) -> None:
    shifts = recorded_shifts(result.runtime)
    by_period = Counter(s["period"] for s in shifts)
    kinds: dict[str, Counter] = defaultdict(Counter)
    for s in shifts:
        kinds[s["period"]][f"{s['kind']}{'+' if s['direction'] > 0 else '-'}"] += 1
    print(f"{'wave':<6}{'series':>8}{'tests':>8}{'cands':>7}{'finds':>7}{'shifts':>8}  kinds")
    for w in waves(result):
        p = w["period"]
        print(f"{p:<6}{w['n_series']:>8}{w['n_tests']:>8}{w['n_candidates']:>7}"
              f"{w['n_shifts']:>7}{by_period[p]:>8}  {dict(kinds[p]) or ''}")


def print_shifts(shifts: list[dict], title: str) -> None:
    print(f"\n{title}")
    if not shifts:
        print("  (none)")
        return
    print(f"  {'indicator':<34}{'territory':<10}{'kind':<13}{'observed':>9}"
          f"{'expected':>10}{'q':>9}")
    for s in shifts:
        print(f"  {s['indicator']:<34}{s['territory']:<10}{s['kind']:<13}"
              f"{s['observed']:>9.0f}{s['expected']:>10.1f}{s['q_value']:>9.4f}")


def print_departement(rows: list[dict[str, str]], shifts: list[dict]) -> None:
    """The département totals next to what was flagged in 2020: the département's own
    shift (kind, direction, q) and how many communes were flagged, up and down."""
    codes = load_convention_yaml()["indicator_map"]
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        if r["indicateur"] in codes and not is_secret(r):
            totals[codes[r["indicateur"]]][r["annee"]] += float(r["nombre"])
    at_2020 = [s for s in shifts if s["period"] == "2020"]
    print(f"\nDépartement {DEPARTEMENT}, sum of published commune counts "
          "(what the département row carries), and what is flagged in 2020")
    print(f"  {'indicator':<34}{'2016-19':>9}{'2020':>8}{'change':>9}{'2021':>8}{'2025':>8}"
          f"  {'département 2020':<26}{'communes 2020 (+/-)':>20}")
    for code, t in sorted(totals.items()):
        before = sum(t[str(y)] for y in range(2016, 2020)) / 4
        dep = [s for s in at_2020 if s["indicator"] == code and s["territory"] == DEPARTEMENT]
        dep_word = (f"{dep[0]['kind']}{'+' if dep[0]['direction'] > 0 else '-'} "
                    f"q={dep[0]['q_value']:.2g}") if dep else "-"
        com = [s for s in at_2020 if s["indicator"] == code and s["territory"] != DEPARTEMENT]
        up = sum(s["direction"] > 0 for s in com)
        print(f"  {code:<34}{before:>9.0f}{t['2020']:>8.0f}"
              f"{(t['2020'] / before - 1) * 100 if before else float('nan'):>8.0f}%"
              f"{t['2021']:>8.0f}{t['2025']:>8.0f}  {dep_word:<26}"
              f"{f'{up}/{len(com) - up}':>20}")


def print_targets(result: Run, rows: list[dict[str, str]], shifts: list[dict]) -> None:
    """The issue's targets: the big communes' 2020 falls flagged, each with its dip test's
    p-value (confirmed, or the screen's) and the wave's first BH rejection bound, and the
    small communes' flags per year."""
    falls = lockdown_falls(rows, shifts)
    print(f"\nCommunes of {BIG_COMMUNE:,} inhabitants or more: offence classes whose 2020 "
          "count fell 20 % or more below 2017-2019, and by more than 3 sqrt(mean)")
    print(f"  {'indicator':<34}{'commune':<9}{'pop':>8}{'2017-19':>9}{'2020':>7}"
          f"{'change':>8}  flagged  dip test")
    with result.runtime.engine.connect() as conn:
        for f in falls:
            said = explain_series(conn, f.indicator, f.commune, "2020")
            spike = said[0].tests[0] if said else None
            if spike is None:
                how = "no record"
            elif spike.reason:
                how = f"untested: {spike.reason}"
            else:
                p = spike.p if spike.p is not None else spike.screen_p
                how = (f"p = {p:.2g} ({'confirmed' if spike.p is not None else 'screen'}; "
                       f"the wave's BH needed {said[0].needed:.1e})")
            print(f"  {f.indicator:<34}{f.commune:<9}{f.population:>8}{f.before:>9.0f}"
                  f"{f.in_2020:>7.0f}{(f.in_2020 / f.before - 1) * 100:>7.0f}%  "
                  f"{'yes' if f.flagged else 'no':<9}{how}")
    flagged = sum(f.flagged for f in falls)
    print(f"  flagged {flagged}/{len(falls)} (target: at least half)")
    flags = small_commune_flags(rows, shifts)
    print(f"Communes under {SMALL_COMMUNE:,} inhabitants, shifts per year: "
          f"{dict(sorted(flags.items())) or 'none'} (target: at most one a year)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/veille-loire"))
    parser.add_argument("--zeros", action="store_true",
                        help="also replay with unpublished cells read as 0 (wrong), to compare")
    args = parser.parse_args()
    rows = read_rows()
    shutil.rmtree(args.workdir, ignore_errors=True)

    started = time.perf_counter()
    result = run(args.workdir / "published", rows)
    seconds = time.perf_counter() - started
    print(f"Loire SSMSI 2016-2025: {len(rows)} rows, {sum(map(is_secret, rows))} unpublished; "
          f"10 deliveries ingested and detected in {seconds:.1f} s\n")
    print_waves(result)
    shifts = recorded_shifts(result.runtime)
    print_shifts([s for s in shifts if s["period"] == "2020"], "Shifts recorded at 2020")
    print_shifts([s for s in shifts if s["period"] != "2020"], "Shifts recorded at other years")
    print_departement(rows, shifts)
    print_targets(result, rows, shifts)

    if args.zeros:
        wrong = run(args.workdir / "zeros", rows, zero_secrets=True)
        print("\nSame file with unpublished cells read as 0 (wrong):")
        print_waves(wrong)
        print_shifts(recorded_shifts(wrong.runtime), "Shifts recorded (zero-filled)")


if __name__ == "__main__":
    main()
