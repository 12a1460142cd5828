"""Recall and precision of the detectors on many seeded demo territories.

Why: one demo territory holds nine changes of 3 noise SDs or more, so its recall moves in
steps of 0.11 and its precision hangs on two or three chance extremes; the detectors'
power is a property of the method, measured here over several seeds (each seed draws a
new territory, new noise and the same story of injected changes; nothing is tuned on
them). Each seed replays the demo's deliveries through the embedded pipeline (ingestion,
detection, revision, retraction), as `veille demo` does, without digests and portrait.

Run from the repository root::

    .venv/bin/python -m benchmarks.demo_power [--seeds 10] [--first 2026] [--workers 2]

Prints per seed: recall (changes of 3 SDs or more found in their window), true and false
shifts, precision, waves tested; then the pooled figures, recall per kind, and the false
alarms per wave next to the per-wave Benjamini-Hochberg bound (q: a wave with no change
gives a false shift with probability at most q); last, the rejections of all waves next to the
shifts recorded: a running shift is rejected again at every wave while it lasts, in its
wave's follow-up family (it extends the shift: no new news, and it no longer lifts the news
threshold, `detectors.wave.conclude_wave`), so there are many more rejections than shifts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cli.demo_run import score_territory
from veille.config import Settings


def run_seed(seed: int, root: str) -> dict:
    """One seeded territory, replayed and scored (`cli.demo_run.score_territory`)."""
    started = time.perf_counter()
    workspace = Path(root) / f"seed-{seed}"
    result, waves = score_territory(workspace, seed)
    return {"seed": seed, "by_kind": result.by_kind(), "true": result.true_shifts,
            "false": [f"{s['indicator']} {s['territory']} {s['period']} {s['kind']}"
                      for s in result.false_shifts],
            "rejections": _rejections(workspace),
            "waves": waves, "seconds": time.perf_counter() - started}


def _rejections(workspace: Path) -> int:
    """How many tests the waves rejected (every Benjamini-Hochberg rejection: news, or a
    running shift found again)."""
    from sqlalchemy import select

    from veille.runtime import open_runtime
    from veille.store.schema import detection_runs

    runtime = open_runtime(workspace)
    with runtime.engine.connect() as conn:
        return sum(int(n) for (n,) in conn.execute(select(detection_runs.c.n_shifts)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="how many territories")
    parser.add_argument("--first", type=int, default=2026, help="first seed")
    parser.add_argument("--workers", type=int, default=2, help="processes")
    args = parser.parse_args()
    console = Console()
    seeds = list(range(args.first, args.first + args.seeds))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="veille-power-") as root, \
            ProcessPoolExecutor(max_workers=args.workers) as pool:
        rows = list(pool.map(run_seed, seeds, [root] * len(seeds)))
    table = Table("seed", "recall", "true", "false", "precision", "waves", "s")
    kinds: dict[str, list[int]] = {}
    for r in rows:
        found = sum(f for f, _ in r["by_kind"].values())
        total = sum(t for _, t in r["by_kind"].values())
        for kind, (f, t) in r["by_kind"].items():
            kinds.setdefault(kind, [0, 0])
            kinds[kind][0] += f
            kinds[kind][1] += t
        shifts = r["true"] + len(r["false"])
        table.add_row(str(r["seed"]), f"{found}/{total} = {found / total:.2f}", str(r["true"]),
                      str(len(r["false"])), f"{r['true'] / max(shifts, 1):.2f}",
                      str(r["waves"]), f"{r['seconds']:.0f}")
    console.print(table)
    found = sum(f for f, _ in kinds.values())
    total = sum(t for _, t in kinds.values())
    true = sum(r["true"] for r in rows)
    false = sum(len(r["false"]) for r in rows)
    waves = sum(r["waves"] for r in rows)
    console.print(f"Pooled over {len(rows)} seeds: recall {found}/{total} = {found / total:.3f}; "
                  f"precision {true}/{true + false} = {true / max(true + false, 1):.3f}")
    console.print("Recall per kind: " + ", ".join(
        f"{kind} {f}/{t}" for kind, (f, t) in sorted(kinds.items())))
    console.print(f"False shifts per wave: {false}/{waves} = {false / max(waves, 1):.3f} "
                  f"(per-wave bound with no change in the wave: q = {Settings().fdr_q})")
    rejected = sum(r["rejections"] for r in rows)
    console.print(f"Rejections over all waves: {rejected} (news, and running shifts found "
                  f"again in their follow-up family) for {true + false} shifts recorded")
    console.print(f"({time.perf_counter() - started:.0f} s, {args.workers} processes, "
                  f"{dt.date.today().isoformat()})")


if __name__ == "__main__":
    main()
