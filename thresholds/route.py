"""The route stage: events in, alerts out, once per dedup key (cell, rule, series, period).

* ``ObservationsRecorded`` -> value rules (level, change, gap) with hysteresis: an alert is
  raised when a series enters the band, kept (basis refreshed) while it stays, resolved when
  it leaves; a revision of the period an alert rests on updates or retracts it.
* ``ShiftDetected`` -> shift rules of cells that take unreviewed detections;
  ``ShiftReviewed`` (confirmed) -> those of review-gated cells; a dismissed or retracted
  shift retracts the alerts it raised; a dismissed shift confirmed later reopens them.
* ``DeliveryOverdue`` / ``DeliveryQuarantined`` -> the provider's cell;
  ``NotificationFailed`` -> the observatory.
* ``watch_freshness`` (time-driven, `thresholds.freshness`) -> freshness rules.

Every write happens with its events in one transaction; replaying an event or running two
workers finds the rows already there and produces nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine

from thresholds.route_notices import failure_notices, provider_notices
from thresholds.route_shifts import retract_shift, reviewed, shift_alerts, shift_facts
from thresholds.route_values import observations
from thresholds.routing import Routing
from veille.clock import Clock
from veille.events import (
    DeliveryOverdue,
    DeliveryQuarantined,
    Event,
    NotificationFailed,
    ObservationsRecorded,
    ShiftDetected,
    ShiftRetracted,
    ShiftReviewed,
)
from veille.store.outbox import record_event

CONSUMES = ("ObservationsRecorded", "ShiftDetected", "ShiftRetracted", "ShiftReviewed",
            "DeliveryOverdue", "DeliveryQuarantined", "NotificationFailed")


def route(event: Event, *, routing: Routing, engine: Engine, clock: Clock) -> list[Event]:
    """Turn one pipeline event into alert events (possibly none); idempotent. An earlier
    wave of a history export (``quiet``) raises none."""
    if isinstance(event, ObservationsRecorded | ShiftDetected) and event.quiet:
        return []
    with engine.begin() as conn:
        if isinstance(event, ObservationsRecorded):
            out = observations(conn, event, routing, clock.now())
        elif isinstance(event, ShiftDetected):
            facts = shift_facts(event.__dict__)
            out = shift_alerts(conn, event.__dict__, facts, routing, clock.now(), reviewed=False)
        elif isinstance(event, ShiftReviewed):
            out = reviewed(conn, event, routing, clock.now())
        elif isinstance(event, ShiftRetracted):
            out = retract_shift(conn, event.shift_id,
                                "évolution retirée après révision des données", clock.now())
        elif isinstance(event, DeliveryOverdue | DeliveryQuarantined):
            out = provider_notices(conn, event, routing, clock.now())
        elif isinstance(event, NotificationFailed):
            out = failure_notices(conn, event, routing, clock.now())
        else:
            out = []
        recorded = [e for e in out if record_event(conn, e)]
    return recorded


def route_all(events: Iterable[Event], *, routing: Routing, engine: Engine,
              clock: Clock) -> list[Event]:
    """Route several events in order (tests, replays)."""
    out: list[Event] = []
    for event in events:
        out += route(event, routing=routing, engine=engine, clock=clock)
    return out
