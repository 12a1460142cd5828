"""A national wave read from where the product keeps its history: speed and memory.

Usage (from the repository root)::

    /work/venv/bin/python benchmarks/detect_national.py                      # full size
    /work/venv/bin/python benchmarks/detect_national.py --communes 5000 --indicators 10
    /work/venv/bin/python benchmarks/detect_national.py --rebuild            # redo setup

Target (issue): 1,750,000 monthly series of 120 points (35,000 communes x 50 indicators),
one new period each, screening + confirmation + FDR in under 90 s on 2 cores, peak memory
under 8 GB.

Setup (timed apart, cached in ``--workdir``, default /tmp/veille-national, keyed by its
parameters): the real commune codes of the COG 2025 (``TYPECOM == COM``, 34,875) with
their municipal population 2021 (INSEE, same shared folder; a commune missing there gets
a drawn one), 50 count indicators with Poisson counts around rate x population x monthly
season x a small drift, cells of 1-4 made secret (NaN, as the store keeps them) for one
indicator in ten, and injected shifts at the new period (a spike of +10 Poisson SD, or a
three-month level shift of +6 SD a month) on series averaging at least 3 a month. Each
indicator is written with the product's ``ColumnarHistory.save(IndicatorMatrix(...))`` into
``<workdir>/history``, exactly the folder layout a workspace has.

Measured phase, in a fresh subprocess so that setup memory does not count: the catalog
(territories with populations, glossary) is built in memory as ``veille.catalog.Catalog``
objects, then the wave is read the way the detect stage reads it,
``detectors.stage.build_batch`` (memory-mapped matrices -> SeriesBatch, exposure from the
catalog populations), and tested with ``detectors.wave.detect_wave``. Prints read,
screen, confirm, FDR and total times, series/s, peak RSS of the process and of its
confirmation workers (``resource.getrusage``), tests, candidates, findings and the recall
of the injected shifts.

Consistency with the store: the matrices are the product's derived copy of the SQL store.
In the product, ``detectors.stage.detect`` first calls ``ColumnarHistory.sync``, which
applies, in delivery order, every accepted delivery past each indicator's watermark (for a
wave: just the new period's rows; see ``benchmarks/ingest_national.py`` for that cost), so
the matrices read here are the store's current values, secret cells as NaN. The benchmark
writes the copies directly (no SQL store of 210 million rows is needed to time the read),
with the watermark at 0, and does not time the sync.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from veille.catalog import Catalog
from veille.model import Indicator, Territory, TerritoryKind
from veille.periods import Periodicity, from_ordinal, ordinal
from veille.store.columnar import ColumnarHistory, IndicatorMatrix

REPO = Path(__file__).resolve().parents[1]
COG = REPO.parent / "shared" / "data" / "insee-cog-2025"
FIRST = "2016-01"
PERIODS = 120
SECRET_EVERY = 10
"""One indicator in ten has its cells of 1-4 kept secret."""
INJECT_PER_INDICATOR = 20
SPIKE_SD, LEVEL_SD = 10.0, 6.0
"""Injected effects in Poisson SDs per month: clear news. With a million tests in one FDR
family a single point needs p around 1e-6; tests/detectors/test_power.py holds spikes to
the recall target at 8 SD and level shifts at 5 SD."""


def commune_codes() -> list[str]:
    with (COG / "v_commune_2025.csv").open(encoding="utf-8", newline="") as handle:
        return sorted(r["COM"] for r in csv.DictReader(handle) if r["TYPECOM"] == "COM")


def insee_populations() -> dict[str, int]:
    """Municipal population 2021 by commune code (13 s to read: setup only)."""
    import openpyxl

    book = openpyxl.load_workbook(COG / "POPULATION_MUNICIPALE_COMMUNES_FRANCE.xlsx",
                                  read_only=True)
    rows = book.active.iter_rows(values_only=True)
    header = list(next(rows))
    code, pop = header.index("codgeo"), header.index("p21_pop")
    return {str(r[code]).zfill(5): int(r[pop]) for r in rows if r[code] and r[pop] is not None}


def indicator_codes(n: int) -> list[str]:
    return [f"nat_ind_{k:02d}" for k in range(n)]


def glossary(n: int) -> dict[str, Indicator]:
    return {code: Indicator(code=code, label=f"Indicateur national {k}",
                            definition="synthetic count for the national benchmark",
                            theme="precarite", unit="personnes", kind="count",
                            polarity="up_is_bad", periodicity="monthly", provider="bench")
            for k, code in enumerate(indicator_codes(n))}


def setup(workdir: Path, n_communes: int, n_indicators: int, seed: int) -> dict:
    """Write the history with the product's columnar store; returns the setup summary."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    codes = commune_codes()
    if n_communes < len(codes):
        codes = sorted(rng.choice(codes, n_communes, replace=False).tolist())
    known = insee_populations()
    drawn = np.exp(rng.normal(6.2, 1.4, len(codes))).round().astype(int) + 10
    pops = np.array([known.get(c, d) for c, d in zip(codes, drawn, strict=True)], dtype=float)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    with (workdir / "territories.csv").open("w", encoding="utf-8") as handle:
        handle.write("code;population\n")
        handle.writelines(f"{c};{int(p)}\n" for c, p in zip(codes, pops, strict=True))

    history = ColumnarHistory(workdir / "history")
    months = np.arange(PERIODS) % 12
    years = np.arange(PERIODS) / 12.0
    injected: list[dict] = []
    secret_cells = 0
    for k, code in enumerate(indicator_codes(n_indicators)):
        rate = np.exp(rng.uniform(np.log(0.05), np.log(8.0))) / 1000  # per inhabitant-month
        season = 1 + rng.uniform(0, 0.3) * np.cos(2 * np.pi * (months - rng.integers(12)) / 12)
        drift = np.exp(rng.normal(0, 0.03) * years)
        noise = np.exp(rng.normal(0, 0.1, len(codes)))  # communes differ beyond size
        mu = (pops * rate * noise)[:, None] * (season * drift)[None, :]
        values = rng.poisson(mu).astype(float)
        eligible = np.flatnonzero(mu[:, -12:].mean(axis=1) >= 3)
        for row in rng.choice(eligible, min(INJECT_PER_INDICATOR, eligible.size),
                              replace=False):
            kind = "spike" if rng.random() < 0.5 else "level_shift"
            cols = [-1] if kind == "spike" else [-3, -2, -1]
            sds = SPIKE_SD if kind == "spike" else LEVEL_SD
            for c in cols:
                m = mu[row, c]
                values[row, c] = rng.poisson(m + sds * np.sqrt(m))
            injected.append({"indicator": code, "territory": codes[row], "kind": kind})
        if k % SECRET_EVERY == SECRET_EVERY - 1:
            secret = (values >= 1) & (values <= 4)
            values[secret] = np.nan
            secret_cells += int(secret.sum())
        empty = np.full_like(values, np.nan)
        history.save(IndicatorMatrix(code, Periodicity.MONTHLY, ordinal(FIRST), list(codes),
                                     values, empty, empty.copy(), watermark=0))
    summary = {"communes": len(codes), "indicators": n_indicators, "seed": seed,
               "series": len(codes) * n_indicators, "periods": PERIODS,
               "secret_cells": secret_cells, "injected": injected,
               "seconds": time.perf_counter() - started}
    (workdir / "setup.json").write_text(json.dumps(summary), encoding="utf-8")
    return summary


def catalog_from(workdir: Path, n_indicators: int) -> Catalog:
    """The catalog the product would load, built in memory."""
    territories: dict[str, Territory] = {}
    with (workdir / "territories.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            territories[row["code"]] = Territory(
                code=row["code"], kind=TerritoryKind.COMMUNE, name=f"commune {row['code']}",
                population=int(row["population"]))
    return Catalog(root=workdir, indicators=glossary(n_indicators), territories=territories)


def measure(workdir: Path, q: float) -> None:
    """The measured phase (run in a fresh process)."""
    from detectors.stage import build_batch, wave_tests
    from detectors.wave import detect_wave
    from detectors.wave_record import blocks
    from veille.store.series_tests import encode

    summary = json.loads((workdir / "setup.json").read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    catalog = catalog_from(workdir, summary["indicators"])
    t1 = time.perf_counter()
    period = from_ordinal(ordinal(FIRST) + PERIODS - 1, Periodicity.MONTHLY)
    wave = build_batch(catalog, ColumnarHistory(workdir / "history"),
                       indicator_codes(summary["indicators"]), period)
    t2 = time.perf_counter()
    assert wave is not None
    rss_read = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    result = detect_wave(wave.batch, q=q)
    t3 = time.perf_counter()
    record = wave_tests(wave, result, None)
    assert record is not None
    stored = [encode(arrays) for arrays, _ in blocks(record).values()]
    t4 = time.perf_counter()
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2

    found = {f.key for f in result.findings}
    injected = {(s["indicator"], s["territory"]) for s in summary["injected"]}
    hits = len(injected & found)
    tm = result.timings
    n = wave.batch.n_series
    print(f"wave {period}: {n:,} series x {wave.batch.n_periods} periods "
          f"({summary['communes']:,} communes x {summary['indicators']} indicators), "
          f"q = {q}")
    print(f"  catalog (in memory)   {t1 - t0:8.2f} s")
    print(f"  read (build_batch)    {t2 - t1:8.2f} s   peak RSS so far {rss_read:.2f} GB")
    print(f"  screen                {tm['screen']:8.2f} s")
    print(f"  confirm               {tm['confirm']:8.2f} s")
    print(f"  FDR                   {tm['fdr']:8.2f} s")
    print(f"  detect_wave total     {tm['total']:8.2f} s   (target < 90 s at full size)")
    print(f"  read + detect         {t3 - t1:8.2f} s   {n / (t3 - t1):,.0f} series/s")
    size = sum(map(len, stored))
    print(f"  record of every series {t4 - t3:7.2f} s   {size / 1e6:.1f} MB in {len(stored)} "
          f"blocks ({size / record.n_series:.0f} B a series, {record.n_series:,} series)")
    print(f"  peak RSS              {rss_self:.2f} GB main, {rss_children:.2f} GB largest "
          "confirmation worker (target < 8 GB)")
    print(f"  tests {result.n_tests:,}   candidates {result.n_candidates:,}   "
          f"findings {len(result.findings):,} on {len(found):,} series")
    print(f"  injected shifts found {hits}/{len(injected)} "
          f"(recall {hits / max(len(injected), 1):.1%}); other findings "
          f"{len(found - injected):,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/veille-national"))
    parser.add_argument("--communes", type=int, default=35_000)
    parser.add_argument("--indicators", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--q", type=float, default=0.05)
    parser.add_argument("--rebuild", action="store_true", help="redo the setup")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_only:
        measure(args.workdir, args.q)
        return

    key = f"{args.communes}x{args.indicators}-seed{args.seed}"
    workdir = args.workdir / key
    done = workdir / "setup.json"
    if args.rebuild or not done.exists():
        summary = setup(workdir, args.communes, args.indicators, args.seed)
        print(f"setup: {summary['series']:,} series written with ColumnarHistory.save in "
              f"{summary['seconds']:.1f} s ({summary['secret_cells']:,} secret cells, "
              f"{len(summary['injected'])} injected shifts) -> {workdir / 'history'}")
    else:
        summary = json.loads(done.read_text(encoding="utf-8"))
        print(f"setup: cached in {workdir} (made in {summary['seconds']:.1f} s; --rebuild "
              "to redo)")
    subprocess.run([sys.executable, __file__, "--measure-only", "--workdir", str(workdir),
                    "--q", str(args.q)], check=True)


if __name__ == "__main__":
    main()
