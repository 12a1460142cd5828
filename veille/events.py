"""Every event of the pipeline, typed and versioned, in one place.

Both runners (embedded and Faust) and the tests build and read events through this module.
Events serialise to JSON-ready dicts carrying their ``type`` and ``schema_version`` so that
a consumer can refuse, with a clear reason, a message it does not understand.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

E = TypeVar("E", bound="Event")

_REGISTRY: dict[str, type[Event]] = {}


class EventDecodeError(ValueError):
    """A message that is not a known event of a known version."""


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of all events. ``key`` is the idempotency / partitioning key."""

    schema_version: ClassVar[int] = 1
    occurred_at: dt.datetime

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    @property
    def key(self) -> str:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["occurred_at"] = self.occurred_at.isoformat()
        return {"type": type(self).__name__, "schema_version": self.schema_version, **data}

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8")


def decode(payload: bytes | str | dict[str, Any]) -> Event:
    """Rebuild an event from its JSON form; raise EventDecodeError saying what is wrong."""
    try:
        data = dict(payload) if isinstance(payload, dict) else json.loads(payload)
    except (ValueError, TypeError) as exc:
        raise EventDecodeError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise EventDecodeError("an event must be a JSON object")
    name = data.pop("type", None)
    cls = _REGISTRY.get(str(name))
    if cls is None:
        raise EventDecodeError(f"unknown event type {name!r}")
    version = data.pop("schema_version", None)
    if version != cls.schema_version:
        raise EventDecodeError(
            f"{name} schema_version {version!r} is not supported (expected {cls.schema_version})")
    try:
        data["occurred_at"] = dt.datetime.fromisoformat(data["occurred_at"])
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise EventDecodeError(f"{name} has unknown fields {sorted(unknown)}")
        return cls(**data)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, EventDecodeError):
            raise
        raise EventDecodeError(f"{name} is malformed: {exc}") from exc


@dataclass(frozen=True, kw_only=True)
class DeliveryReceived(Event):
    """A provider file was archived and recorded; nothing is parsed yet."""

    delivery_id: int
    content_hash: str
    convention_id: str
    filename: str
    archive_path: str
    attempt: int = 1
    """2, 3, ... when the analyst re-processes it (`veille deliveries retry`)."""
    history: str = ""
    """A provider's multi-period export (`veille ingest --history`): recorded one wave per
    period, in order; "latest": only the latest wave may alert, "all": every wave may."""

    @property
    def key(self) -> str:
        return self.content_hash if self.attempt == 1 else f"{self.content_hash}#{self.attempt}"


@dataclass(frozen=True, kw_only=True)
class DeliveryQuarantined(Event):
    """A file with errors: kept aside with its report, the provider contact is to be told.

    The contact is named by its provider's id, never by its Apprise URL (which may hold a
    password): the notifier resolves the URL from the catalog when it sends. Version 2
    dropped ``contact_url``."""

    schema_version: ClassVar[int] = 2
    delivery_id: int
    content_hash: str
    convention_id: str | None
    filename: str
    report_path: str
    problem_count: int
    summary: list[str] = field(default_factory=list)
    provider: str | None = None
    attempt: int = 1

    @property
    def key(self) -> str:
        return self.content_hash if self.attempt == 1 else f"{self.content_hash}#{self.attempt}"


@dataclass(frozen=True, kw_only=True)
class ObservationsRecorded(Event):
    """A delivery's observations are in the store: one wave to run detection on."""

    delivery_id: int
    content_hash: str
    convention_id: str
    periods: list[str]
    indicators: list[str]
    observation_count: int
    secret_count: int
    series_count: int
    revised_count: int = 0
    former_codes: dict[str, int] = field(default_factory=dict)
    """Rows read through a merged commune's old code, by "old -> today" (optional: older
    messages without it decode as none)."""
    quiet: bool = False
    """An earlier wave of a history export: tested (the detectors' state is built) but it
    raises no alert, nor do its shifts."""
    export_id: int | None = None
    """The history export (its delivery) this wave was cut from."""

    @property
    def key(self) -> str:
        return self.content_hash


@dataclass(frozen=True, kw_only=True)
class DeliveryRevised(Event):
    """A delivery re-sent periods already recorded: old values superseded, kept as history."""

    delivery_id: int
    convention_id: str
    superseded_deliveries: list[int]
    periods: list[str]
    changed_series: list[list[str]]
    changed_count: int

    @property
    def key(self) -> str:
        return f"revision:{self.delivery_id}"


@dataclass(frozen=True, kw_only=True)
class DeliveryOverdue(Event):
    """A convention's expected delivery has not arrived by its due date. The provider's
    contact is named by ``provider`` (an id; version 2 dropped ``contact_url``)."""

    schema_version: ClassVar[int] = 2
    convention_id: str
    provider: str
    expected_period: str
    due_date: str
    days_late: int
    last_period: str | None

    @property
    def key(self) -> str:
        return f"overdue:{self.convention_id}:{self.expected_period}"


@dataclass(frozen=True, kw_only=True)
class ShiftDetected(Event):
    """A statistically significant change in one series, with its evidence."""

    shift_id: str
    delivery_id: int
    indicator: str
    territory: str
    period: str
    kind: str
    direction: int
    good_news: bool | None
    observed: float
    expected: float
    interval_low: float
    interval_high: float
    abs_change: float
    rel_change: float | None
    people: float | None
    p_value: float
    q_value: float
    method: str
    baseline: str
    explained_by: str | None = None
    quiet: bool = False
    """Found in an earlier wave of a history export: recorded, never routed to alerts."""

    @property
    def key(self) -> str:
        return self.shift_id


@dataclass(frozen=True, kw_only=True)
class ShiftRetracted(Event):
    """A shift that no longer holds after a revision: withdrawn, never silently deleted."""

    shift_id: str
    indicator: str
    territory: str
    period: str
    reason: str

    @property
    def key(self) -> str:
        return f"retract:{self.shift_id}"


@dataclass(frozen=True, kw_only=True)
class ShiftReviewed(Event):
    """The observatory's decision on a shift (confirm, dismiss, ask the provider)."""

    shift_id: str
    decision: str
    reviewer: str
    comment: str = ""

    @property
    def key(self) -> str:
        return f"review:{self.shift_id}:{self.occurred_at.isoformat()}"


@dataclass(frozen=True, kw_only=True)
class AlertRaised(Event):
    """A cell's rule fired for one series and period."""

    dedup_key: str
    cell_id: str
    rule_id: str
    indicator: str
    territory: str
    period: str
    severity: str
    message: str
    shift_id: str | None = None

    @property
    def key(self) -> str:
        return self.dedup_key


@dataclass(frozen=True, kw_only=True)
class AlertUpdated(Event):
    """A revision changed the values an alert rests on; the alert stands, its basis moved."""

    dedup_key: str
    cell_id: str
    revision: int
    message: str

    @property
    def key(self) -> str:
        return f"updated:{self.dedup_key}:{self.revision}"


@dataclass(frozen=True, kw_only=True)
class AlertResolved(Event):
    """The alert's condition ended (left the hysteresis band)."""

    dedup_key: str
    cell_id: str

    @property
    def key(self) -> str:
        return f"resolved:{self.dedup_key}"


@dataclass(frozen=True, kw_only=True)
class AlertRetracted(Event):
    dedup_key: str
    cell_id: str
    reason: str

    @property
    def key(self) -> str:
        return f"retracted:{self.dedup_key}"


@dataclass(frozen=True, kw_only=True)
class DigestSent(Event):
    digest_id: str
    cell_id: str
    alert_count: int
    recipients: int
    delivered: bool

    @property
    def key(self) -> str:
        return self.digest_id


@dataclass(frozen=True, kw_only=True)
class NotificationFailed(Event):
    """A message could not be delivered to one recipient after every attempt; the
    observatory is told. ``recipient`` is the member's name, ``channel`` the masked URL."""

    message_id: str
    cell_id: str
    recipient: str
    channel: str
    attempts: int
    error: str

    @property
    def key(self) -> str:
        return f"failed:{self.message_id}:{self.recipient}"


@dataclass(frozen=True, kw_only=True)
class TestsChunk(Event):
    """A bounded chunk of one wave's candidate tests (one indicator), carrying the window
    observations each test needs: the distributed confirmation's unit of work. ``tests``
    holds serialised detector tasks; ``chunks`` is the wave's manifest (how many to expect).
    """

    delivery_id: int
    chunk: int
    chunks: int
    indicator: str
    season_length: int
    periods: list[str]
    tests: list[dict[str, Any]]

    @property
    def key(self) -> str:
        return f"chunk:{self.delivery_id}:{self.chunk}"


@dataclass(frozen=True, kw_only=True)
class ChunkTested(Event):
    """A chunk's outcomes are in the store; the FDR step counts them against the manifest."""

    delivery_id: int
    chunk: int
    chunks: int

    @property
    def key(self) -> str:
        return f"tested:{self.delivery_id}:{self.chunk}"


@dataclass(frozen=True, kw_only=True)
class ClockTicked(Event):
    """Time passed: overdue deliveries, freshness rules and due digests are looked at as of
    ``occurred_at`` (the time-driven half of the pipeline)."""

    @property
    def key(self) -> str:
        return f"tick:{self.occurred_at.isoformat()}"


@dataclass(frozen=True, kw_only=True)
class DigestsDue(Event):
    """Compose and send what one cell has due as of ``occurred_at``."""

    cell_id: str

    @property
    def key(self) -> str:
        return f"due:{self.cell_id}:{self.occurred_at.isoformat()}"


def event_types() -> dict[str, type[Event]]:
    """Every event class by name (topics and docs are generated from it)."""
    return dict(_REGISTRY)
