"""`veille init` for all of France: every département of the COG 2025 as --territory, with
the EPCI file and the population series (shared data), from an empty folder, then again
(the idempotent re-run), then the catalog read back as `veille check` reads it.

Usage (from the repository root)::

    python -m benchmarks.init_france [--workdir /tmp/veille-init-france]

Target (issue 13): under 30 s for about 35,000 communes and 1,255 EPCI. Prints the time of
each step of the first run, the re-run's time, the catalog load time, and the counts.
"""

from __future__ import annotations

import argparse
import csv
import platform
import shutil
import time
from pathlib import Path

from connectors.reference.build import InitFiles, init_workspace
from veille.catalog import load_catalog

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FILES = InitFiles(cog=DATA / "insee-cog-2025" / "v_commune_2025.csv",
                  epci=DATA / "insee-epci-2025" / "epci.json",
                  population=DATA / "insee-cog-2025"
                  / "POPULATION_MUNICIPALE_COMMUNES_FRANCE.xlsx")


def departements() -> list[str]:
    with FILES.cog.open(encoding="utf-8", newline="") as handle:
        return sorted({r["DEP"] for r in csv.DictReader(handle) if r["TYPECOM"] == "COM"})


def timed_run(workspace: Path, codes: list[str]) -> tuple[float, dict[str, float], object]:
    steps: dict[str, float] = {}
    last = [time.perf_counter(), ""]

    def step(text: str) -> None:
        now = time.perf_counter()
        if last[1]:
            steps[str(last[1])] = now - float(last[0])
        last[0], last[1] = now, text

    start = time.perf_counter()
    result = init_workspace(workspace, codes, FILES, step)
    end = time.perf_counter()
    steps[str(last[1])] = end - float(last[0])
    return end - start, steps, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/veille-init-france"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    codes = departements()
    total, steps, result = timed_run(args.workdir, codes)
    tree = result.tree  # type: ignore[attr-defined]
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{len(__import__('os').sched_getaffinity(0))} cores, Python "
          f"{platform.python_version()}")
    print(f"first run: {total:.1f} s for {len(codes)} départements, "
          f"{tree.count('commune')} communes, {tree.count('arrondissement')} arrondissements, "
          f"{tree.count('epci')} EPCI, {tree.count('region')} régions, "
          f"{len(tree.former)} former codes")
    for name, seconds in steps.items():
        print(f"  {name:<45} {seconds:6.2f} s")
    again, _, second = timed_run(args.workdir, codes)
    t = second.written.territories  # type: ignore[attr-defined]
    print(f"re-run: {again:.1f} s ({len(t.added)} added, {len(t.updated)} updated, "
          f"{len(t.unchanged)} unchanged)")
    start = time.perf_counter()
    catalog = load_catalog(args.workdir / "catalog")
    print(f"catalog read back (veille check's load): {time.perf_counter() - start:.1f} s, "
          f"{len(catalog.territories)} territories, {len(catalog.cells)} cells, "
          f"{sum(len(v) for v in catalog.populations.values())} population rows")


if __name__ == "__main__":
    main()
