"""Secrecy: cells hidden (primary, secondary), information loss and time, on the demo's
whole publication, the real Loire tables and the national commune table.

Run:  python -m benchmarks.secrecy [--demo DIR] [--national-indicators 50] [--skip-national]
      [--skip-tauargus]   (Tau-Argus: pip install pytauargus, in the dev extra)

The demo workspace (``veille demo -w DIR``) is read from its store; its mask is computed
from scratch per publication unit (linked indicators x year), as `veille.store.masks` does
at publication. Each table is audited afterwards (every viewer combined: the worst case).
Information loss = sum of the values hidden by secondary suppression.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine

from benchmarks.secrecy_tables import loire_caf, loire_offences, national
from veille.catalog import Catalog, load_catalog
from veille.secrecy import mask
from veille.secrecy_audit import Viewer, audit
from veille.store import masks
from veille.store import observations as obs


def protect_units(frame: pd.DataFrame, catalog: Catalog) -> tuple[pd.DataFrame, float]:
    """The mask of every publication unit, and the seconds it took."""
    family = masks.families(catalog)
    units = frame["indicator"].map(family) + "|" + frame["period"].str[:4]
    start = time.perf_counter()
    parts = [mask(part, catalog) for _, part in frame.groupby(units, sort=True)]
    return pd.concat(parts).loc[frame.index], time.perf_counter() - start


def figures(name: str, frame: pd.DataFrame, catalog: Catalog, audit_it: bool = True) -> None:
    frame = frame.reset_index(drop=True)
    out, seconds = protect_units(frame, catalog)
    reasons = out["secrecy"]
    secondary = reasons == "complementary"
    primary = int(reasons.isin(["secret", "small"]).sum())
    line = (f"{name}: {len(frame):,} cells; primary {primary:,}"
            f", secondary {int(secondary.sum()):,} (loss {out.loc[secondary, 'value'].sum():,.0f}"
            f" = {out.loc[secondary, 'value'].sum() / np.nansum(out['value']):.2%} of the "
            f"total value); protect {seconds:.1f} s")
    if audit_it:
        start = time.perf_counter()
        report = audit(frame, catalog, out["masked"].to_numpy(), Viewer("all"))
        line += (f"; audit {time.perf_counter() - start:.1f} s: {len(report.under)} "
                 f"under-protected of {report.protected_cells:,}, "
                 f"{len(report.shown_primary)} primary shown")
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo", type=Path, help="a demo workspace (veille demo -w DIR)")
    parser.add_argument("--national-indicators", type=int, default=50)
    parser.add_argument("--skip-national", action="store_true")
    parser.add_argument("--skip-tauargus", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
          f"Python {platform.python_version()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        figures("Loire offences 2023-2025", *loire_offences(root / "offences"))
        figures("Loire CAF 2020-2024 (threshold 11)", *loire_caf(root / "caf"))
        if not args.skip_tauargus:
            from benchmarks.secrecy_tauargus import side_by_side

            for name, (frame, catalog), threshold in (
                    ("CAF", loire_caf(root / "caf-ta"), 11),
                    ("offences", loire_offences(root / "off-ta"), 5)):
                print(f"Loire {name} vs Tau-Argus OPT:",
                      side_by_side(frame, catalog, "42", threshold), flush=True)
        if args.demo is not None:
            catalog = load_catalog(args.demo / "catalog")
            engine = create_engine(f"sqlite:///{args.demo / 'veille.db'}")
            with engine.connect() as conn:
                frame = obs.current(conn, indicators=sorted(catalog.indicators))
            figures("demo, whole publication", frame, catalog)
        if not args.skip_national:
            frame, catalog = national(root / "national", args.national_indicators)
            figures(f"national, {args.national_indicators} indicators", frame, catalog,
                    audit_it=False)


if __name__ == "__main__":
    main()
