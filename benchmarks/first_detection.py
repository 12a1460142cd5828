"""From an empty folder to a first detection on the Loire files, as a user types it.

Usage (from the repository root)::

    /work/main/.venv/bin/python -m benchmarks.first_detection [--workdir /tmp/veille-first]

Runs, each as its own ``python -m cli.main`` process (imports included, as a user pays
them), the commands of ``tests/first_detection.loire_path`` (the path
``tests/test_first_detection.py`` tests): ``veille init`` for Saint-Étienne Métropole from
INSEE's COG, EPCI and population files, ``veille conventions draft`` on the SSMSI offences
(2016-2025) and the CNAF file (2020-2024), the drafts' edits (``first_detection.EDITS``,
applied as code: counted, not timed), ``veille check``, ``veille ingest --history`` on both
files (every year a wave, detected in order), ``veille detect`` (the waves tested) and
``veille portrait`` of the Métropole.
Prints the machine, the time of each command, the total machine time (target: under two
minutes) and the number of edits the drafts needed. The store is SQLite in the workspace.

Measured (2 cores AMD EPYC, Python 3.11, shared with other jobs): see the README, section
"Votre territoire / your own territory".
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from first_detection import EDITS, apply_edits, draft_path, loire_path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/veille-first"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    workspace = args.workdir / "loire"
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "160",
           "VEILLE_DATABASE_URL": f"sqlite:///{workspace / 'veille.db'}"}
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}")
    total, edits = 0.0, 0
    for command in loire_path(workspace):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "cli.main", *command], cwd=args.workdir,
                              env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        total += seconds
        shown = " ".join(c if "/" not in c else Path(c).name for c in command)
        print(f"{seconds:6.1f} s  veille {shown}")
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:])
            raise SystemExit(f"failed: veille {shown}")
        if command[:2] == ["conventions", "draft"]:
            file = Path(command[-1]).name
            edits += apply_edits(workspace, draft_path(workspace, done.stdout), EDITS[file])
    print(f"total machine time: {total:.1f} s (target: under 120 s); "
          f"edits to the drafts: {edits}")


if __name__ == "__main__":
    main()
