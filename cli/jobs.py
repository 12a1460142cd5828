"""The product's jobs, shared by the CLI and the tests: ingest files, watch a folder."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from connectors import drop
from connectors.receive import FileRefused
from streams.embedded import EmbeddedRunner, IngestSummary
from veille.runtime import Runtime
from veille.store import deliveries
from veille.store.deliveries import DeliveryRow


def ingest_files(runtime: Runtime, files: Sequence[Path], *, convention_id: str | None = None,
                 runner: EmbeddedRunner | None = None,
                 on_file: Callable[[Path], None] | None = None,
                 history: str = "") -> IngestSummary:
    """Receive each file then drain the pipeline, one delivery at a time (arrival order).
    A path that is not a complete regular file is refused (``summary.refused``); a new
    delivery this drain did not ingest was taken by another process (``summary.taken``).
    ``history`` ("latest" or "all"): each file is a multi-period export (connectors.history)."""
    runner = runner or EmbeddedRunner(runtime.workspace, runtime.catalog, runtime.engine,
                                      runtime.clock)
    summary = IngestSummary()
    for path in files:
        try:
            received = runner.submit(path, convention_id, history)
        except FileRefused as exc:
            summary.refused.append((path, str(exc)))
            continue
        summary.outcomes.append((path, received))
        if received.duplicate:
            summary.duplicates += 1
        else:
            summary.received += 1
        summary.report.add_counts(runner.run_pending())
        if not received.duplicate and received.event.delivery_id not in summary.report.ingested:
            summary.taken.append(path)
        if on_file is not None:
            on_file(path)
    return summary


def retry_delivery(runtime: Runtime, delivery_id: int, *, convention_id: str | None = None,
                   by: str | None = None) -> tuple[DeliveryRow, list[dict[str, Any]]]:
    """Put a quarantined delivery back in the pipeline and drain it: its row after this
    attempt and its earlier attempts."""
    from connectors.retry import retry_delivery as reopen

    reopen(delivery_id, workspace=runtime.workspace, catalog=runtime.catalog,
           engine=runtime.engine, clock=runtime.clock, convention_id=convention_id, by=by)
    EmbeddedRunner(runtime.workspace, runtime.catalog, runtime.engine,
                   runtime.clock).run_pending()
    with runtime.engine.connect() as conn:
        return deliveries.get(conn, delivery_id), deliveries.attempts_of(conn, delivery_id)


def watch_folder(runtime: Runtime, folder: Path, *, interval: float = 2.0,
                 quiet: float | None = None, once: bool = False,
                 on_batch: Callable[[IngestSummary], None] | None = None,
                 handle: Callable[[Runtime, list[Path]], IngestSummary] | None = None,
                 ) -> IngestSummary:
    """Ingest files as they arrive in ``folder`` by the rules of :mod:`connectors.drop`
    (temporary names skipped, ``quiet`` seconds without change, default the workspace's
    ``drop_quiet_seconds``; non-regular files refused, said once); handled files move to
    ``processed/``. ``handle`` replaces in-process ingestion (the distributed runner
    publishes instead). ``once``: one look, files not yet quiet are left and listed."""
    handle = handle or ingest_files
    quiet = runtime.workspace.settings.drop_quiet_seconds if quiet is None else quiet
    done = folder / "processed"
    done.mkdir(parents=True, exist_ok=True)
    mine = drop.claims_folder(folder)
    drop.recover_claims(folder)
    total = IngestSummary()
    seen: dict[str, drop.Signature] = {}
    told: set[str] = set()
    while True:
        found = drop.scan(folder, seen, quiet=quiet, now=time.time(), once=once)
        seen = found.seen
        news = [(path, why) for path, why in found.refused if why not in told]
        told.update(why for _, why in news)
        claimed: list[Path] = []
        lost: list[Path] = []
        for path, signature in found.ready:
            got = drop.claim(path, signature, mine)
            (claimed if got is not None else lost).append(got or path)
        batch = handle(runtime, claimed) if claimed else IngestSummary()
        again = {path for path, _ in batch.refused}  # changed while read: wait for it
        for path in claimed:
            if path in again:
                drop.put_back(path, folder)
            else:
                os.replace(path, done / path.name)
        batch.refused = news + [(folder / p.name, why) for p, why in batch.refused]
        batch.taken += [p for p in lost if not p.exists()]
        if once:
            batch.waiting = found.waiting
        total.merge(batch)
        if on_batch is not None and (claimed or batch.refused or batch.taken or batch.waiting):
            on_batch(batch)
        if once:
            return total
        time.sleep(interval)
