"""Benchmark: roll-ups of a national delivery by commune (``connectors.rollup.roll_up``).

The tree is France's real one from ``insee-epci-2025``: 1,255 EPCIs (their member communes,
with municipal populations) under their départements (no population: not summed, since
nothing proves the tree holds all of a département). One delivery: every commune x 50 count
indicators, one year, seeded values. Prints the time of the roll-up computation alone (the
ingest benchmark measures reading and writing) and the machine.

    python benchmarks/rollup_national.py [--indicators 50]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

# this file's name is the package's: run as a script, its folder must not shadow it
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from connectors.rollup import roll_up  # noqa: E402
from veille.catalog import Catalog, load_catalog  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "insee-epci-2025"


def write_catalog(root: Path, indicators: int) -> Catalog:
    epcis = json.loads((DATA / "epci.json").read_text(encoding="utf-8"))
    departements = [d["code"] for d in json.loads(
        (DATA / "departements.json").read_text(encoding="utf-8"))
        if not d["code"].startswith("98")]
    lines = ["code;kind;name;parent;population"]
    lines += [f"{d};departement;{d};;" for d in departements]
    seen: set[str] = set()
    for epci in epcis:
        first = epci["membres"][0]["code"]
        dep = first[:3] if first.startswith("97") else first[:2]
        lines.append(f"{epci['code']};epci;EPCI;{dep};{epci['populationMunicipale']}")
        for member in epci["membres"]:
            if member["code"] not in seen:
                seen.add(member["code"])
                lines.append(f"{member['code']};commune;commune;{epci['code']};"
                             f"{member['populationMunicipale']}")
    root.mkdir(parents=True, exist_ok=True)
    (root / "territories.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    glossary = [{"code": f"ind_{k:02d}", "label": f"indicateur {k}", "definition": "test",
                 "theme": "precarite", "unit": "personnes", "kind": "count",
                 "periodicity": "annual", "provider": "p"} for k in range(indicators)]
    (root / "glossary.yaml").write_text(yaml.safe_dump({"indicators": glossary}),
                                        encoding="utf-8")
    return load_catalog(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--indicators", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        catalog = write_catalog(Path(tmp) / "catalog", args.indicators)
    communes = [c for c, t in catalog.territories.items() if t.kind.value == "commune"]
    rng = np.random.default_rng(2026)
    n = len(communes) * args.indicators
    frame = pd.DataFrame({
        "indicator": np.repeat(sorted(catalog.indicators), len(communes)),
        "territory": communes * args.indicators, "period": "2024",
        "value": rng.integers(0, 1000, n).astype(float), "numerator": np.nan,
        "denominator": np.nan, "status": "ok", "delivery_id": 1, "origin": "delivered"})
    started = time.perf_counter()
    rows = roll_up(frame, catalog, set(communes))
    seconds = time.perf_counter() - started
    print(f"roll-up of {n:,} commune values ({len(communes):,} communes x "
          f"{args.indicators} indicators) -> {len(rows):,} EPCI rows: {seconds:.1f} s")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
