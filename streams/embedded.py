"""The embedded runner: calls the pipeline's stages in-process, reading their input events
from the store's event log. No server is needed; the database is SQLite by default.

Each stage keeps an offset in the store; because every stage is idempotent, a crash between
a stage's work and its offset moving only repeats work that changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
from veille.events import DeliveryReceived, Event, ObservationsRecorded
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
    """What one drain of the pipeline produced, by event type."""

    produced: dict[str, int] = field(default_factory=dict)

    def add(self, events: Iterable[Event]) -> None:
        for event in events:
            name = type(event).__name__
            self.produced[name] = self.produced.get(name, 0) + 1

    def add_counts(self, other: RunReport) -> None:
        for name, count in other.produced.items():
            self.produced[name] = self.produced.get(name, 0) + count


@dataclass
class IngestSummary:
    """Counts over many files, for the end-of-command summary."""

    received: int = 0
    duplicates: int = 0
    report: RunReport = field(default_factory=RunReport)
    outcomes: list[tuple[Path, Received]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.report.produced.get("ObservationsRecorded", 0)

    @property
    def quarantined(self) -> int:
        return self.report.produced.get("DeliveryQuarantined", 0)


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

    def submit(self, path: Path, convention_id: str | None = None) -> Received:
        """Receive a file (archive + record + DeliveryReceived); processing is run_pending's."""
        return receive(path, workspace=self.workspace, catalog=self.catalog,
                       engine=self.engine, clock=self.clock, convention_id=convention_id)

    def run_pending(self) -> RunReport:
        """Drain every stage until no stage has input left."""
        report = RunReport()
        progressed = True
        while progressed:
            progressed = False
            for stage in self.stages:
                for event_id, event in pending(self.engine, stage.name, stage.consumes):
                    report.add(stage.handle(event))
                    with self.engine.begin() as conn:
                        advance(conn, stage.name, event_id)
                    progressed = True
        return report
