"""Freshness rules, time-driven: raise when a series has had no data for ``max_days`` after
the end of its last period, resolve when data arrives."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine

from thresholds.alert_writes import raise_alert
from thresholds.routing import Routing, dedup_key
from thresholds.rules import FreshnessRule
from thresholds.subscriptions import Subscription
from veille.events import AlertResolved, Event
from veille.model import Severity
from veille.periods import end_date
from veille.store import alerts as alert_store
from veille.store import observations as obs_store
from veille.store.outbox import record_event


def watch_freshness(now: dt.datetime, *, routing: Routing, engine: Engine) -> list[Event]:
    """Freshness rules: raise when a series has had no data for ``max_days`` after the end
    of its last period, resolve when data arrives. Time-driven; idempotent."""
    subs = routing.index.freshness
    if not subs:
        return []
    out: list[Event] = []
    with engine.begin() as conn:
        states = alert_store.states(conn, [s.id for s in subs])
        for sub in subs:
            rule: FreshnessRule = sub.rule  # type: ignore[assignment]
            codes = routing.index.targets.get(sub.id, [])
            frame = obs_store.current(conn, indicators=[rule.indicator], territories=codes)
            frame = frame[frame["value"].notna()] if not frame.empty else frame
            last = (frame.groupby("territory")["period"].max().to_dict()
                    if not frame.empty else {})
            for territory in codes:
                out += _freshness_step(conn, routing, sub, rule, territory,
                                       last.get(territory), states.get((sub.id, territory)),
                                       now)
        out = [e for e in out if record_event(conn, e)]
    return out


def _freshness_step(conn: Connection, routing: Routing, sub: Subscription,
                    rule: FreshnessRule, territory: str, last: str | None, state: dict | None,
                    now: dt.datetime) -> list[Event]:
    if last is None:
        return []
    days = (now.date() - end_date(last)).days
    on = days > rule.max_days
    basis = {"period": last, "days": days, "rule": rule.model_dump(mode="json")}
    events: list[Event] = []
    key = state["dedup_key"] if state is not None else None
    if on and not (state is not None and state["active"] and state["last_period"] == last):
        key = dedup_key(sub.owner, sub.id, rule.indicator, territory, last)
        events += raise_alert(conn, routing, sub.owner, sub.id, "freshness", rule.indicator,
                              territory, last, key, basis, sub.severity or Severity.WARNING, now)
    if not on and state is not None and state["active"] and key is not None:
        alert = alert_store.get(conn, key)
        if alert is not None and alert["status"] == "active":
            alert_store.update_alert(conn, key, status="resolved", resolved_at=now,
                                     updated_at=now)
            events.append(AlertResolved(occurred_at=now, dedup_key=key, cell_id=sub.owner))
    alert_store.save_state(conn, {
        "subscription_id": sub.id, "territory": territory, "cell_id": sub.owner,
        "indicator": rule.indicator, "active": on, "last_period": last,
        "prev_active": bool(state and state["active"]), "dedup_key": key,
        "measure": float(days), "updated_at": now}, existed=state is not None)
    return events
