"""The ingest stage: DeliveryReceived -> ObservationsRecorded (+ DeliveryRevised), or
DeliveryQuarantined.

A file with any problem is quarantined whole, with a report naming file, sheet, line,
column, value and what was expected; nothing of it is written. A valid file is written in
one transaction together with its events, so a crash leaves either all or nothing.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from connectors.mapping import Parsed, parse_delivery
from connectors.report import write_report
from connectors.rollup_store import rollup_parents
from connectors.validate import Problem
from veille.catalog import Catalog
from veille.clock import Clock
from veille.config import Workspace
from veille.events import (
    DeliveryQuarantined,
    DeliveryReceived,
    DeliveryRevised,
    Event,
    ObservationsRecorded,
)
from veille.store import deliveries
from veille.store import observations as obs_store
from veille.store.outbox import record_event

MAX_INTERRUPTED = 2
"""Ingest attempts of one delivery that may die with their process (a crash, memory
exhausted, a kill) before it is quarantined unread, so that one file never blocks the
deliveries after it."""


@dataclass(frozen=True)
class IngestOutcome:
    events: list[Event]
    parsed: Parsed

    @property
    def accepted(self) -> bool:
        return any(isinstance(e, ObservationsRecorded) for e in self.events)


def _unknown_convention(received: DeliveryReceived, catalog: Catalog) -> Parsed:
    known = ", ".join(sorted(catalog.conventions)) or "none"
    problem = Problem(
        file=received.filename, sheet=None, line=None, column=None,
        value=received.convention_id or None,
        expected=("a known convention: name it with --convention ID or give the file a name "
                  f"matching a convention's filename_pattern (known: {known})"))
    return Parsed(convention_id=received.convention_id, observations=pd.DataFrame(),
                  problems=[problem], rows_read=0)


def _interrupted(received: DeliveryReceived, attempts: int) -> Parsed:
    problem = Problem(
        file=received.filename, sheet=None, line=None, column=None, value=None,
        expected=(f"a file that can be read to the end: the {attempts} earlier attempts to "
                  "ingest it stopped before finishing (the process crashed, ran out of memory "
                  "or was killed); it is set aside so that the deliveries after it go through"),
        kind="interrupted")
    return Parsed(convention_id=received.convention_id, observations=pd.DataFrame(),
                  problems=[problem], rows_read=0)


def ingest(received: DeliveryReceived, *, workspace: Workspace, catalog: Catalog,
           engine: Engine, clock: Clock) -> IngestOutcome:
    """Parse, validate and record one received delivery (idempotent on its delivery id).
    No events when it was handled before, or when another writer (a second ``veille
    ingest`` of the same file, a watcher, a worker) took it while this one parsed."""
    with engine.begin() as conn:
        status = deliveries.get(conn, received.delivery_id).status
        earlier = (deliveries.start_ingest(conn, received.delivery_id)
                   if status == "received" else 0)
    if status != "received":
        return IngestOutcome([], Parsed(received.convention_id, pd.DataFrame(), [], 0))
    convention = catalog.conventions.get(received.convention_id)
    if earlier >= MAX_INTERRUPTED:
        parsed = _interrupted(received, earlier)
    elif convention is None:
        parsed = _unknown_convention(received, catalog)
    else:
        parsed = parse_delivery(Path(received.archive_path), convention, catalog, clock=clock,
                                filename=received.filename,
                                limits=workspace.settings.read_limits)
    if parsed.problems:
        event = _quarantine(received, parsed, workspace, catalog, engine, clock)
        return IngestOutcome([event] if event is not None else [], parsed)
    if received.history:
        from connectors.history import record_waves

        return IngestOutcome(record_waves(received, parsed, catalog, engine, clock,
                                          report_path=accepted_report(received, parsed,
                                                                      workspace)), parsed)
    return IngestOutcome(_record(received, parsed, catalog, engine, clock, workspace), parsed)


def _quarantine(received: DeliveryReceived, parsed: Parsed, workspace: Workspace,
                catalog: Catalog, engine: Engine, clock: Clock) -> DeliveryQuarantined | None:
    """Quarantine the delivery with its report; None when another writer took it first
    (the delivery is claimed before its report is written, so two writers never write the
    same report at once)."""
    folder = workspace.quarantine / f"{received.delivery_id:06d}"
    kept = folder / received.filename
    with engine.begin() as conn:
        if not deliveries.claim(conn, received.delivery_id, "quarantined"):
            return None
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(received.archive_path, kept)
        report = write_report(parsed, kept, received.delivery_id)
        convention = catalog.conventions.get(received.convention_id)
        event = DeliveryQuarantined(
            occurred_at=clock.now(), delivery_id=received.delivery_id,
            content_hash=received.content_hash, convention_id=received.convention_id or None,
            filename=received.filename, report_path=str(report),
            problem_count=len(parsed.problems), summary=[str(p) for p in parsed.problems[:10]],
            provider=convention.provider if convention else None, attempt=received.attempt)
        deliveries.mark_quarantined(
            conn, received.delivery_id, report_path=str(report), rows_read=parsed.rows_read,
            problems=[{"file": p.file, "sheet": p.sheet, "line": p.line, "column": p.column,
                       "value": p.value, "expected": p.expected} for p in parsed.problems])
        record_event(conn, event)
    return event


def accepted_report(received: DeliveryReceived, parsed: Parsed, workspace: Workspace
                     ) -> str | None:
    """An accepted file whose reading needed notes (rows skipped, headers matched, counts
    rounded, merged communes' former codes) gets its report too, under
    reports/<delivery>/, so the analyst sees them."""
    if not parsed.notes and not parsed.former_codes:
        return None
    folder = workspace.root / "reports" / f"{received.delivery_id:06d}"
    folder.mkdir(parents=True, exist_ok=True)
    return str(write_report(parsed, folder / received.filename, received.delivery_id))


def _record(received: DeliveryReceived, parsed: Parsed, catalog: Catalog, engine: Engine,
            clock: Clock, workspace: Workspace) -> list[Event]:
    frame = parsed.observations
    periods = sorted(frame["period"].unique().tolist())
    indicators = sorted(frame["indicator"].unique().tolist())
    now = clock.now()
    out: list[Event] = []
    with engine.begin() as conn:
        if not deliveries.claim(conn, received.delivery_id, "accepted"):
            return out  # another writer took it while this one parsed
        obs_store.bulk_insert(conn, frame, received.delivery_id)
        revision = obs_store.supersede(conn, received.delivery_id, indicators, periods)
        revision = revision.then(rollup_parents(conn, catalog, frame, received.delivery_id,
                                                indicators, periods))
        secret = int((frame["status"] == "secret").sum())
        deliveries.mark_accepted(
            conn, received.delivery_id, report_path=accepted_report(received, parsed, workspace),
            rows_read=parsed.rows_read,
            observation_count=len(frame), secret_count=secret,
            revised_count=len(revision.changed), periods=periods,
            indicators=indicators)
        recorded = ObservationsRecorded(
            occurred_at=now, delivery_id=received.delivery_id,
            content_hash=received.content_hash, convention_id=received.convention_id,
            periods=periods, indicators=indicators, observation_count=len(frame),
            secret_count=secret,
            series_count=int(frame[["indicator", "territory"]].drop_duplicates().shape[0]),
            revised_count=len(revision.changed), former_codes=dict(parsed.former_codes))
        record_event(conn, recorded)
        out.append(recorded)
        if revision.superseded_rows:
            changed = revision.changed[["indicator", "territory"]].drop_duplicates()
            revised = DeliveryRevised(
                occurred_at=now, delivery_id=received.delivery_id,
                convention_id=received.convention_id,
                superseded_deliveries=revision.superseded_deliveries,
                periods=sorted(revision.changed["period"].unique().tolist()) or periods,
                changed_series=[[a, b] for a, b in changed.itertuples(index=False)],
                changed_count=len(revision.changed))
            record_event(conn, revised)
            out.append(revised)
    return out
