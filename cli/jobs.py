"""The product's jobs, shared by the CLI and the tests: ingest files, watch a folder."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from streams.embedded import EmbeddedRunner, IngestSummary
from veille.runtime import Runtime


def ingest_files(runtime: Runtime, files: Sequence[Path], *, convention_id: str | None = None,
                 runner: EmbeddedRunner | None = None,
                 on_file: Callable[[Path], None] | None = None) -> IngestSummary:
    """Receive each file then drain the pipeline, one delivery at a time (arrival order)."""
    runner = runner or EmbeddedRunner(runtime.workspace, runtime.catalog, runtime.engine,
                                      runtime.clock)
    summary = IngestSummary()
    for path in files:
        received = runner.submit(path, convention_id)
        summary.outcomes.append((path, received))
        if received.duplicate:
            summary.duplicates += 1
        else:
            summary.received += 1
        summary.report.add_counts(runner.run_pending())
        if on_file is not None:
            on_file(path)
    return summary


def stable_files(folder: Path, previous: dict[Path, int]) -> tuple[list[Path], dict[Path, int]]:
    """Files whose size did not change since the last poll (a provider may still be writing)."""
    sizes = {p: p.stat().st_size for p in sorted(folder.iterdir())
             if p.is_file() and not p.name.startswith(".")}
    ready = [p for p, size in sizes.items() if previous.get(p) == size]
    return ready, sizes


def watch_folder(runtime: Runtime, folder: Path, *, interval: float = 2.0,
                 once: bool = False, on_batch: Callable[[IngestSummary], None] | None = None,
                 handle: Callable[[Runtime, list[Path]], IngestSummary] | None = None,
                 ) -> IngestSummary:
    """Ingest files as they arrive in ``folder``; handled files move to ``processed/``.
    ``handle`` replaces in-process ingestion (the distributed runner publishes instead)."""
    handle = handle or ingest_files
    done = folder / "processed"
    done.mkdir(parents=True, exist_ok=True)
    total = IngestSummary()
    seen: dict[Path, int] = {}
    while True:
        ready, seen = stable_files(folder, seen)
        if once:
            ready = sorted(p for p in folder.iterdir() if p.is_file()
                           and not p.name.startswith("."))
        if ready:
            batch = handle(runtime, ready)
            for path in ready:
                shutil.move(str(path), done / path.name)
                seen.pop(path, None)
            total.received += batch.received
            total.duplicates += batch.duplicates
            total.report.add_counts(batch.report)
            total.outcomes.extend(batch.outcomes)
            if on_batch is not None:
                on_batch(batch)
        if once:
            return total
        time.sleep(interval)
