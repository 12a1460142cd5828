"""The embedded runner: calls the pipeline's stages in-process, reading their input events
from the store's event log. No server is needed; the database is SQLite by default.

Each stage keeps an offset in the store; because every stage is idempotent, a crash between
a stage's work and its offset moving only repeats work that changes nothing. Processes that
share a workspace (two ``veille ingest``, a watcher, the web site) drain it one at a time:
the stages' offsets and the columnar history are the workspace's, not a process's.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from connectors.ingest import ingest
from connectors.receive import Received, receive
from detectors.stage import detect
from thresholds.route import CONSUMES as ROUTE_CONSUMES
from thresholds.route import route
from thresholds.routing import Routing
from thresholds.subscriptions import load_subscriptions
from veille.catalog import Catalog
from veille.clock import Clock
from veille.config import Workspace
from veille.events import DeliveryQuarantined, DeliveryReceived, Event, ObservationsRecorded
from veille.store.columnar import ColumnarHistory
from veille.store.outbox import advance, pending

Handler = Callable[[Event], list[Event]]


@dataclass
class Stage:
    name: str
    consumes: tuple[str, ...]
    handle: Handler


@dataclass
class RunReport:
    """What one drain of the pipeline produced, by event type, and the deliveries it
    ingested (id -> accepted or quarantined): one missing there was taken by another
    process."""

    produced: dict[str, int] = field(default_factory=dict)
    ingested: dict[int, str] = field(default_factory=dict)

    def add(self, events: Iterable[Event]) -> None:
        for event in events:
            name = type(event).__name__
            self.produced[name] = self.produced.get(name, 0) + 1
            if isinstance(event, ObservationsRecorded):
                self.ingested[event.delivery_id] = "accepted"
                if event.export_id is not None:
                    self.ingested[event.export_id] = "accepted"
            elif isinstance(event, DeliveryQuarantined):
                self.ingested[event.delivery_id] = "quarantined"

    def add_counts(self, other: RunReport) -> None:
        for name, count in other.produced.items():
            self.produced[name] = self.produced.get(name, 0) + count
        self.ingested.update(other.ingested)


@dataclass
class IngestSummary:
    """Counts over many files, for the end-of-command summary. ``taken``: files whose
    delivery another process handled meanwhile; ``refused``: paths that are not a complete
    regular file, with the reason; ``waiting``: drop-folder files left for a later pass."""

    received: int = 0
    duplicates: int = 0
    report: RunReport = field(default_factory=RunReport)
    outcomes: list[tuple[Path, Received]] = field(default_factory=list)
    taken: list[Path] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)
    waiting: list[tuple[Path, str]] = field(default_factory=list)

    def merge(self, other: IngestSummary) -> None:
        self.received += other.received
        self.duplicates += other.duplicates
        self.report.add_counts(other.report)
        self.outcomes.extend(other.outcomes)
        self.taken.extend(other.taken)
        self.refused.extend(other.refused)
        self.waiting.extend(other.waiting)

    @property
    def accepted(self) -> int:
        return self.report.produced.get("ObservationsRecorded", 0)

    @property
    def quarantined(self) -> int:
        return self.report.produced.get("DeliveryQuarantined", 0)


@contextmanager
def drain_lock(workspace: Workspace) -> Iterator[None]:
    """One drain at a time per workspace, across processes (an advisory lock on a file of
    the workspace, released by the system if the process dies; POSIX, as the product)."""
    with (workspace.root / ".veille-pipeline.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class EmbeddedRunner:
    """Runs the stages of the pipeline in this process, in event order."""

    def __init__(self, workspace: Workspace, catalog: Catalog, engine: Engine,
                 clock: Clock) -> None:
        self.workspace = workspace
        self.catalog = catalog
        self.engine = engine
        self.clock = clock
        self.history = ColumnarHistory(workspace.history)
        self.routing = Routing.build(catalog, load_subscriptions(catalog))
        self.stages: list[Stage] = [
            Stage("ingest", ("DeliveryReceived",), self._ingest),
            Stage("detect", ("ObservationsRecorded",), self._detect),
            Stage("route", ROUTE_CONSUMES, self._route),
        ]

    def _ingest(self, event: Event) -> list[Event]:
        assert isinstance(event, DeliveryReceived)
        return ingest(event, workspace=self.workspace, catalog=self.catalog,
                      engine=self.engine, clock=self.clock).events

    def _detect(self, event: Event) -> list[Event]:
        assert isinstance(event, ObservationsRecorded)
        events, _ = detect(event, catalog=self.catalog, engine=self.engine,
                           history=self.history, clock=self.clock,
                           q=self.workspace.settings.fdr_q)
        return events

    def _route(self, event: Event) -> list[Event]:
        return route(event, routing=self.routing, engine=self.engine, clock=self.clock)

    def add_stage(self, stage: Stage) -> None:
        self.stages.append(stage)

    def submit(self, path: Path, convention_id: str | None = None,
               history: str = "") -> Received:
        """Receive a file (archive + record + DeliveryReceived); processing is run_pending's."""
        return receive(path, workspace=self.workspace, catalog=self.catalog,
                       engine=self.engine, clock=self.clock, convention_id=convention_id,
                       history=history)

    def run_pending(self) -> RunReport:
        """Drain every stage until no stage has input left (waiting first for another
        process's drain of the same workspace to finish)."""
        report = RunReport()
        progressed = True
        with drain_lock(self.workspace):
            while progressed:
                progressed = False
                for stage in self.stages:
                    for event_id, event in pending(self.engine, stage.name, stage.consumes):
                        report.add(stage.handle(event))
                        with self.engine.begin() as conn:
                            advance(conn, stage.name, event_id)
                        progressed = True
        return report
