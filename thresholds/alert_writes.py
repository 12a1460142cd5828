"""Writing alerts: raise once per natural key, keep the basis current, retract. Each write
returns the events it owes, recorded by the caller in the same transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from thresholds.routing import Routing
from veille.events import AlertRaised, AlertRetracted, AlertUpdated, Event
from veille.model import Severity
from veille.store import alerts as alert_store
from veille.wording import headline


def raise_alert(conn: Connection, routing: Routing, owner: str, rule_id: str, kind: str,
                indicator: str, territory: str, period: str, key: str, basis: dict,
                severity: Severity, now: dt.datetime, shift_id: str | None = None) -> list[Event]:
    """Raise the alert of ``key`` once (a replay finds it there); a retracted episode that
    comes back after a revision stands again."""
    message = headline(kind, basis, routing.label(indicator), routing.name(territory),
                       routing.unit(indicator))
    row = {"dedup_key": key, "cell_id": owner, "subscription_id": rule_id,
           "rule_kind": kind, "indicator": indicator, "territory": territory,
           "period": period, "severity": severity.value, "status": "active",
           "shift_id": shift_id, "basis": basis, "message": message, "revision": 0,
           "raised_at": now, "updated_at": now}
    if alert_store.insert_alert(conn, row):
        return [AlertRaised(occurred_at=now, dedup_key=key, cell_id=owner, rule_id=rule_id,
                            indicator=indicator, territory=territory, period=period,
                            severity=severity.value, message=message, shift_id=shift_id)]
    existing = alert_store.get(conn, key)
    if existing is not None and existing["status"] == "retracted" and kind != "shift":
        # the same episode comes back after a revision: the alert stands again
        return refresh_alert(conn, routing, key, basis, now, reopen=True)
    return []


def refresh_alert(conn: Connection, routing: Routing, key: str, basis: dict, now: dt.datetime, *,
                  reopen: bool, keep_latest: bool = False) -> list[Event]:
    """Keep an alert's basis current; an update of the values it was raised on (a revision)
    is an AlertUpdated, a later period of the same episode is silent."""
    alert = alert_store.get(conn, key)
    if alert is None:
        return []
    old = alert["basis"] or {}
    revised = old.get("period") == basis.get("period") and (
        old.get("value") != basis.get("value") or old.get("measure") != basis.get("measure"))
    if keep_latest and old.get("period") != basis.get("period"):
        return []  # an old period revised while the episode moved on: the latest stands
    if not reopen and not revised and old == basis:
        return []
    message = headline(alert["rule_kind"], basis, routing.label(alert["indicator"]),
                       routing.name(alert["territory"]), routing.unit(alert["indicator"]))
    values: dict[str, Any] = {"basis": basis, "message": message, "updated_at": now}
    if reopen:
        values.update(status="active", resolved_at=None, retracted_at=None,
                      retraction_reason=None)
    if revised or reopen:
        values["revision"] = alert["revision"] + 1
    alert_store.update_alert(conn, key, **values)
    if revised or reopen:
        return [AlertUpdated(occurred_at=now, dedup_key=key, cell_id=alert["cell_id"],
                             revision=alert["revision"] + 1, message=message)]
    return []


def retract_alert(conn: Connection, alert: dict, reason: str, now: dt.datetime) -> list[Event]:
    """Retract an alert (once), saying why."""
    if alert["status"] == "retracted":
        return []
    alert_store.update_alert(conn, alert["dedup_key"], status="retracted", retracted_at=now,
                             retraction_reason=reason, updated_at=now)
    return [AlertRetracted(occurred_at=now, dedup_key=alert["dedup_key"],
                           cell_id=alert["cell_id"], reason=reason)]
