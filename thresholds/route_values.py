"""Value rules (level, change, gap) on ``ObservationsRecorded``, with hysteresis: an alert is
raised when a series enters the band, kept (basis refreshed) while it stays, resolved when it
leaves; a revision of the period an alert rests on updates or retracts it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from thresholds.alert_writes import raise_alert, refresh_alert, retract_alert
from thresholds.routing import Routing, dedup_key, published
from thresholds.rules import GapRule, ValueRule, next_state
from thresholds.subscriptions import Subscription
from veille.events import AlertResolved, Event, ObservationsRecorded
from veille.model import Severity
from veille.store import alerts as alert_store


def observations(conn: Connection, event: ObservationsRecorded, routing: Routing,
                 now: dt.datetime) -> list[Event]:
    out: list[Event] = []
    latest = max(event.periods) if event.periods else None
    if latest is None:
        return out
    for indicator in event.indicators:
        subs = routing.index.by_indicator.get(indicator, [])
        if not subs:
            continue
        states = alert_store.states(conn, [s.id for s in subs])
        plan: list[tuple[Subscription, str, str, dict | None]] = []
        needed: set[str] = set()
        for sub in subs:
            for territory in routing.index.targets.get(sub.id, []):
                state = states.get((sub.id, territory))
                periods = [latest] if state is None else sorted(
                    {p for p in event.periods if p >= state["last_period"]} | {latest})
                if state is not None:
                    periods = sorted(set(periods) | {
                        p for p in event.periods if p < state["last_period"]
                        and alert_store.of_series(conn, sub.id, territory, p)})
                for period in periods:
                    plan.append((sub, territory, period, state))
                    needed.update(sub.rule.periods_needed(period))  # type: ignore[union-attr]
        if not plan:
            continue
        values = published(conn, routing.catalog, indicator, sorted(needed))
        for sub, territory, period, _ in plan:
            state = alert_store.states(conn, [sub.id]).get((sub.id, territory))
            out += _evaluate(conn, routing, sub, territory, period, values, state, now)
    return out


def _reference(rule: GapRule, territory: str, routing: Routing, sub: Subscription,
               ) -> str | None:
    catalog = routing.catalog
    if rule.reference == "commune":
        ref = catalog.commune_of(territory)
    elif rule.reference == "parent":
        t = catalog.territories.get(territory)
        ref = t.parent if t is not None else None
    else:
        ref = rule.reference
    cell = routing.cells.get(sub.owner)
    if ref is None or ref == territory or cell is None or not catalog.within(cell.scope, ref):
        return None  # never compare with a territory the cell may not see
    return ref


def _evaluate(conn: Connection, routing: Routing, sub: Subscription, territory: str,
              period: str, values: dict[tuple[str, str], float | None], state: dict | None,
              now: dt.datetime) -> list[Event]:
    rule: ValueRule = sub.rule  # type: ignore[assignment]
    reference = _reference(rule, territory, routing, sub) if isinstance(rule, GapRule) else None
    measure, basis = rule.evaluate(lambda t, p: values.get((t, p)), territory, period,
                                   reference)
    if measure is None:
        return []  # unknown or masked: the state stays as it was
    enter, leave = rule.levels()
    basis.update(rule=rule.model_dump(mode="json"), measure=measure,
                 reference_name=routing.name(reference) if reference else None)
    if state is not None and period < state["last_period"]:
        return _revise_old(conn, routing, sub, territory, period, measure > enter, basis, now)
    same = state is not None and period == state["last_period"]
    prior = bool(state["prev_active"]) if same and state else bool(state and state["active"])
    on = next_state(prior, measure, enter, leave)
    was = bool(state["active"]) if same and state else prior
    key = state["dedup_key"] if state is not None else None
    events: list[Event] = []
    if not prior and on and not (same and was):
        key = dedup_key(sub.owner, sub.id, rule.indicator, territory, period)
        events += raise_alert(conn, routing, sub.owner, sub.id, rule.kind, rule.indicator,
                              territory, period, key, basis, sub.severity or Severity.WARNING, now)
    elif on and key is not None:
        events += refresh_alert(conn, routing, key, basis, now, reopen=same and not was)
    elif not on and key is not None and (was or (same and prior)):
        alert = alert_store.get(conn, key)
        if alert is not None and alert["status"] == "active":
            if same and not prior:
                events += retract_alert(conn, alert, "les données révisées ne franchissent plus "
                                        "le seuil", now)
            else:
                alert_store.update_alert(conn, key, status="resolved", resolved_at=now,
                                         updated_at=now, basis=basis)
                events.append(AlertResolved(occurred_at=now, dedup_key=key,
                                            cell_id=sub.owner))
    alert_store.save_state(conn, {
        "subscription_id": sub.id, "territory": territory, "cell_id": sub.owner,
        "indicator": rule.indicator, "active": on, "last_period": period,
        "prev_active": prior, "dedup_key": key, "measure": measure, "updated_at": now,
    }, existed=state is not None)
    return events


def _revise_old(conn: Connection, routing: Routing, sub: Subscription, territory: str,
                period: str, still: bool, basis: dict, now: dt.datetime) -> list[Event]:
    """A revision of a period an alert was raised on: update it, or retract it."""
    events: list[Event] = []
    for alert in alert_store.of_series(conn, sub.id, territory, period):
        if alert["status"] == "retracted":
            continue
        if still:
            events += refresh_alert(conn, routing, alert["dedup_key"], basis, now, reopen=False,
                                    keep_latest=True)
        else:
            events += retract_alert(conn, alert, "les données révisées ne franchissent plus le "
                                    "seuil", now)
    return events
