"""Ingest benchmark: a national-scale wide CSV (every commune x 50 indicators).

Run:  python benchmarks/ingest_national.py [--communes 35000] [--indicators 50]

Each measurement runs in its own process so that its peak memory (max RSS) is its own:
1. baseline A: ``pandas.read_csv`` + ``DataFrame.to_sql`` of the file as it is (wide);
2. baseline B: the same, melted to one row per value (what a store of observations holds);
3. veille: the product's ingest (receive + archive, parse, validate, revision check,
   one-transaction write) through the embedded runner, on SQLite.
The commune codes are the real ones of the COG 2025 (``../shared/data/insee-cog-2025``).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
COG = REPO.parent / "shared" / "data" / "insee-cog-2025" / "v_commune_2025.csv"


def make_workspace(root: Path, communes: int, indicators: int, seed: int = 1) -> Path:
    """Catalog with real commune codes, and one wide delivery file with secret cells."""
    cog = pd.read_csv(COG, dtype=str)
    cog = cog[cog["TYPECOM"] == "COM"].head(communes)
    catalog = root / "catalog"
    (catalog / "conventions").mkdir(parents=True, exist_ok=True)
    territories = pd.DataFrame({"code": cog["COM"], "kind": "commune", "name": cog["LIBELLE"],
                                "parent": None, "population": 1000})
    territories.to_csv(catalog / "territories.csv", sep=";", index=False)
    codes = [f"ind_{i:02d}" for i in range(indicators)]
    glossary = {"indicators": [
        {"code": c, "label": f"Indicateur {c}", "definition": "Benchmark.",
         "theme": "precarite", "unit": "personnes", "kind": "count", "periodicity": "annual",
         "provider": "bench"} for c in codes]}
    (catalog / "glossary.yaml").write_text(yaml.safe_dump(glossary), encoding="utf-8")
    (catalog / "providers.yaml").write_text(yaml.safe_dump(
        {"providers": [{"id": "bench", "name": "Bench"}]}), encoding="utf-8")
    convention = {"id": "national", "provider": "bench", "label": "National", "layout": "wide",
                  "periodicity": "annual", "lag_days": 90, "geography": "commune",
                  "filename_pattern": "^national", "territory": {"column": "CODGEO"},
                  "period": {"column": "ANNEE"},
                  "columns": {c.upper(): {"indicator": c} for c in codes}}
    (catalog / "conventions" / "national.yaml").write_text(yaml.safe_dump(convention))
    rng = np.random.default_rng(seed)
    values = rng.poisson(40, (len(cog), indicators)).astype(object)
    values[rng.random(values.shape) < 0.05] = "s"
    frame = pd.DataFrame(values, columns=[c.upper() for c in codes])
    frame.insert(0, "ANNEE", "2024")
    frame.insert(0, "CODGEO", cog["COM"].to_numpy())
    frame.to_csv(root / "national_2024.csv", sep=";", index=False)
    return root / "national_2024.csv"


def run_baseline(path: Path, db: Path, melt: bool) -> dict:
    start = time.perf_counter()
    frame = pd.read_csv(path, sep=";", decimal=",", dtype={"CODGEO": str},
                        na_values=["s"], keep_default_na=False)
    if melt:
        frame = frame.melt(id_vars=["CODGEO", "ANNEE"], var_name="indicator")
    import sqlite3

    with sqlite3.connect(db) as conn:
        frame.to_sql("observations", conn, index=False, chunksize=100_000)
    return {"seconds": time.perf_counter() - start, "rows": len(frame)}


def run_veille(root: Path, path: Path) -> dict:
    """The ingest stage alone: receive (hash, archive, record), parse, validate, revision
    check and the one-transaction write. Detection has its own benchmarks."""
    import datetime as dt

    from connectors.ingest import ingest
    from connectors.receive import receive
    from veille.clock import FixedClock
    from veille.runtime import open_runtime
    from veille.store import deliveries

    runtime = open_runtime(root, clock=FixedClock(dt.datetime(2025, 6, 1, tzinfo=dt.UTC)))
    start = time.perf_counter()
    received = receive(path, workspace=runtime.workspace, catalog=runtime.catalog,
                       engine=runtime.engine, clock=runtime.clock)
    ingest(received.event, workspace=runtime.workspace, catalog=runtime.catalog,
           engine=runtime.engine, clock=runtime.clock)
    seconds = time.perf_counter() - start
    with runtime.engine.connect() as conn:
        row = deliveries.get(conn, received.event.delivery_id)
    return {"seconds": seconds, "rows": row.observation_count, "secret": row.secret_count,
            "status": row.status}


def child(args: argparse.Namespace) -> None:
    root = Path(args.root)
    path = root / "national_2024.csv"
    if args.child == "veille":
        result = run_veille(root, path)
    else:
        result = run_baseline(path, root / f"{args.child}.db", melt=args.child == "melted")
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def measure(kind: str, root: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--root", str(root)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=35_000)
    parser.add_argument("--indicators", type=int, default=50)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = make_workspace(root, args.communes, args.indicators)
        size = path.stat().st_size / 1e6
        n_values = args.communes * args.indicators
        print(f"File: {path.name}, {size:.1f} MB, {args.communes} communes x "
              f"{args.indicators} indicators = {n_values:,} values")
        print(f"Machine: {platform.processor() or platform.machine()}, "
              f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}")
        wide = measure("wide", root)
        melted = measure("melted", root)
        ours = measure("veille", root)
    print(f"{'run':<34}{'seconds':>9}{'rows':>11}{'peak RSS MB':>13}")
    for name, r in (("baseline A: read_csv + to_sql (wide)", wide),
                    ("baseline B: read_csv + melt + to_sql", melted),
                    ("veille ingest (validate, archive...)", ours)):
        print(f"{name:<34}{r['seconds']:>9.2f}{r['rows']:>11,}{r['peak_rss_mb']:>13.0f}")
    print(f"veille status: {ours['status']}, secret cells: {ours['secret']:,}")
    print(f"ratio veille / baseline A: {ours['seconds'] / wide['seconds']:.2f}")
    print(f"ratio veille / baseline B: {ours['seconds'] / melted['seconds']:.2f}")


if __name__ == "__main__":
    main()
