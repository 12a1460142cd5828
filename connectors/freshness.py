"""Freshness watch: which conventions are late, from their periodicity and expected lag.

A period is due ``lag_days`` after it ends. A convention is overdue when the earliest
period it has not delivered yet is past due; the delay is counted from that due date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from veille.catalog import Catalog
from veille.clock import Clock
from veille.events import DeliveryOverdue
from veille.periods import end_date, last_closed, shift
from veille.store import deliveries
from veille.store.outbox import record_event


@dataclass(frozen=True)
class Freshness:
    convention_id: str
    provider: str
    last_period: str | None
    expected_period: str
    due_date: dt.date
    days_late: int

    @property
    def overdue(self) -> bool:
        return self.days_late > 0


def due_date(period: str, lag_days: int) -> dt.date:
    return end_date(period) + dt.timedelta(days=lag_days)


def freshness(catalog: Catalog, engine: Engine, clock: Clock) -> list[Freshness]:
    """The state of every convention at the clock's date, latest-first problems first."""
    today = clock.now().date()
    with engine.connect() as conn:
        latest = deliveries.latest_period_by_convention(conn)
    out: list[Freshness] = []
    for convention in catalog.conventions.values():
        last = latest.get(convention.id)
        # the newest period whose due date has passed
        newest_due = last_closed(convention.periodicity,
                                 today - dt.timedelta(days=convention.lag_days))
        first = convention.first_period or newest_due
        expected = first if last is None else shift(last, 1)
        due = due_date(expected, convention.lag_days)
        late = (today - due).days if expected <= newest_due else 0
        out.append(Freshness(convention.id, convention.provider, last, expected, due,
                             max(late, 0)))
    return sorted(out, key=lambda f: (-f.days_late, f.convention_id))


def emit_overdue(catalog: Catalog, engine: Engine, clock: Clock) -> list[DeliveryOverdue]:
    """Record a DeliveryOverdue event per late convention (once per expected period)."""
    emitted: list[DeliveryOverdue] = []
    now = clock.now()
    with engine.begin() as conn:
        for item in freshness(catalog, engine, clock):
            if not item.overdue:
                continue
            event = DeliveryOverdue(
                occurred_at=now, convention_id=item.convention_id, provider=item.provider,
                expected_period=item.expected_period, due_date=item.due_date.isoformat(),
                days_late=item.days_late, last_period=item.last_period)
            if record_event(conn, event):
                emitted.append(event)
    return emitted
