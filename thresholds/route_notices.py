"""Notices about the pipeline itself: an overdue or quarantined delivery goes to the
provider's cell, a failed notification to the observatory."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from thresholds.alert_writes import raise_alert
from thresholds.routing import Routing, dedup_key
from veille.events import DeliveryOverdue, DeliveryQuarantined, Event, NotificationFailed
from veille.model import CellKind, Severity
from veille.store import alerts as alert_store


def provider_notices(conn: Connection, event: DeliveryOverdue | DeliveryQuarantined,
                     routing: Routing, now: dt.datetime) -> list[Event]:
    if isinstance(event, DeliveryOverdue):
        provider, kind = event.provider, "overdue"
        basis: dict[str, Any] = {"convention": event.convention_id,
                                 "expected_period": event.expected_period,
                                 "due_date": event.due_date, "days_late": event.days_late,
                                 "last_period": event.last_period,
                                 "period": event.expected_period}
    else:
        convention = routing.catalog.conventions.get(event.convention_id or "")
        provider, kind = (convention.provider if convention else ""), "quarantine"
        basis = {"filename": event.filename, "problem_count": event.problem_count,
                 "summary": list(event.summary)[:10], "report_path": event.report_path,
                 "convention": event.convention_id, "period": now.date().isoformat()}
    out: list[Event] = []
    for cell in routing.cells.values():
        if cell.kind is not CellKind.PROVIDER or cell.provider != provider:
            continue
        key = dedup_key(cell.id, kind, event.convention_id or "-", provider, event.key)
        out += raise_alert(conn, routing, cell.id, kind, kind, event.convention_id or "-", provider,
                           str(basis["period"]), key, basis, Severity.WARNING, now)
    return out


def failure_notices(conn: Connection, event: NotificationFailed, routing: Routing,
                    now: dt.datetime) -> list[Event]:
    carried = alert_store.list_alerts(conn, cell_id=event.cell_id)
    if any(a["digest_id"] == event.message_id and a["rule_kind"] == "failure"
           for a in carried):
        return []  # a failure notice that failed is logged, not announced again
    basis = {"message_id": event.message_id, "recipient": event.recipient,
             "channel": event.channel, "attempts": event.attempts, "error": event.error,
             "cell": event.cell_id, "period": now.date().isoformat()}
    out: list[Event] = []
    for cell in routing.cells.values():
        if cell.kind is not CellKind.OBSERVATORY:
            continue
        key = dedup_key(cell.id, "failure", event.cell_id, event.recipient, event.message_id)
        out += raise_alert(conn, routing, cell.id, "failure", "failure", "-", event.cell_id,
                           now.date().isoformat(), key, basis, Severity.WARNING, now)
    return out
