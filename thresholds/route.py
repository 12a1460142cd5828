"""The route stage: events in, alerts out, once per dedup key (cell, rule, series, period).

* ``ObservationsRecorded`` -> value rules (level, change, gap) with hysteresis: an alert is
  raised when a series enters the band, kept (basis refreshed) while it stays, resolved when
  it leaves; a revision of the period an alert rests on updates or retracts it.
* ``ShiftDetected`` -> shift rules of cells that take unreviewed detections;
  ``ShiftReviewed`` (confirmed) -> those of review-gated cells; a dismissed or retracted
  shift retracts the alerts it raised; a dismissed shift confirmed later reopens them.
* ``DeliveryOverdue`` / ``DeliveryQuarantined`` -> the provider's cell;
  ``NotificationFailed`` -> the observatory.
* :func:`watch_freshness` (time-driven) -> freshness rules.

Every write happens with its events in one transaction; replaying an event or running two
workers finds the rows already there and produces nothing new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from thresholds.index import ShiftFacts, SubscriptionIndex
from thresholds.rules import FreshnessRule, GapRule, ValueRule, next_state, shift_severity
from thresholds.subscriptions import Subscription, SubscriptionSet
from veille import secrecy
from veille.catalog import Catalog
from veille.clock import Clock
from veille.events import (
    AlertRaised,
    AlertResolved,
    AlertRetracted,
    AlertUpdated,
    DeliveryOverdue,
    DeliveryQuarantined,
    Event,
    NotificationFailed,
    ObservationsRecorded,
    ShiftDetected,
    ShiftRetracted,
    ShiftReviewed,
)
from veille.model import CellKind, Severity
from veille.periods import end_date
from veille.store import alerts as alert_store
from veille.store import observations as obs_store
from veille.store import shifts as shift_store
from veille.store.outbox import record_event
from veille.wording import headline

CONSUMES = ("ObservationsRecorded", "ShiftDetected", "ShiftRetracted", "ShiftReviewed",
            "DeliveryOverdue", "DeliveryQuarantined", "NotificationFailed")
CONFIRMED = {"confirm", "confirmed", "confirme", "confirmé"}
DISMISSED = {"dismiss", "dismissed", "ecarte", "écarté", "reject", "rejected"}


@dataclass
class Routing:
    """The routing context: catalog, cells and indexed subscriptions (reloadable)."""

    catalog: Catalog
    index: SubscriptionIndex

    @classmethod
    def build(cls, catalog: Catalog, subscriptions: SubscriptionSet) -> Routing:
        return cls(catalog, SubscriptionIndex.build(catalog, subscriptions))

    @property
    def cells(self) -> dict:
        return self.index.cells

    def name(self, code: str) -> str:
        territory = self.catalog.territories.get(code)
        return territory.name if territory is not None else code

    def label(self, indicator: str) -> str:
        ind = self.catalog.indicators.get(indicator)
        return ind.label if ind is not None else indicator

    def unit(self, indicator: str) -> str:
        ind = self.catalog.indicators.get(indicator)
        return ind.unit if ind is not None else ""


def dedup_key(cell_id: str, rule_id: str, indicator: str, territory: str, period: str) -> str:
    """The natural key of an alert: one per cell, rule, series and period."""
    return f"{cell_id}|{rule_id}|{indicator}|{territory}|{period}"


def route(event: Event, *, routing: Routing, engine: Engine, clock: Clock) -> list[Event]:
    """Turn one pipeline event into alert events (possibly none); idempotent."""
    with engine.begin() as conn:
        if isinstance(event, ObservationsRecorded):
            out = _observations(conn, event, routing, clock.now())
        elif isinstance(event, ShiftDetected):
            facts = _facts(event.__dict__)
            out = _shift(conn, event.__dict__, facts, routing, clock.now(), reviewed=False)
        elif isinstance(event, ShiftReviewed):
            out = _reviewed(conn, event, routing, clock.now())
        elif isinstance(event, ShiftRetracted):
            out = _retract_shift(conn, event.shift_id,
                                 "évolution retirée après révision des données", clock.now())
        elif isinstance(event, DeliveryOverdue | DeliveryQuarantined):
            out = _provider(conn, event, routing, clock.now())
        elif isinstance(event, NotificationFailed):
            out = _failure(conn, event, routing, clock.now())
        else:
            out = []
        recorded = [e for e in out if record_event(conn, e)]
    return recorded


# --- value rules -------------------------------------------------------------------------

def _observations(conn: Connection, event: ObservationsRecorded, routing: Routing,
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
        values = _published(conn, routing.catalog, indicator, sorted(needed))
        for sub, territory, period, _ in plan:
            state = alert_store.states(conn, [sub.id]).get((sub.id, territory))
            out += _evaluate(conn, routing, sub, territory, period, values, state, now)
    return out


def _published(conn: Connection, catalog: Catalog, indicator: str, periods: list[str],
               ) -> dict[tuple[str, str], float | None]:
    """(territory, period) -> value that may be shown (secrecy applied), for one indicator."""
    frame = obs_store.current(conn, indicators=[indicator], periods=periods)
    shown = secrecy.published_values(frame, catalog)
    return {(t, p): v for (_, t, p), v in shown.items()}


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
        events += _raise(conn, routing, sub.owner, sub.id, rule.kind, rule.indicator,
                         territory, period, key, basis, sub.severity or Severity.WARNING, now)
    elif on and key is not None:
        events += _refresh(conn, routing, key, basis, now, reopen=same and not was)
    elif not on and key is not None and (was or (same and prior)):
        alert = alert_store.get(conn, key)
        if alert is not None and alert["status"] == "active":
            if same and not prior:
                events += _retract(conn, alert, "les données révisées ne franchissent plus "
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
            events += _refresh(conn, routing, alert["dedup_key"], basis, now, reopen=False,
                               keep_latest=True)
        else:
            events += _retract(conn, alert, "les données révisées ne franchissent plus le "
                                            "seuil", now)
    return events


def _raise(conn: Connection, routing: Routing, owner: str, rule_id: str, kind: str,
           indicator: str, territory: str, period: str, key: str, basis: dict,
           severity: Severity, now: dt.datetime, shift_id: str | None = None) -> list[Event]:
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
        return _refresh(conn, routing, key, basis, now, reopen=True)
    return []


def _refresh(conn: Connection, routing: Routing, key: str, basis: dict, now: dt.datetime, *,
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


def _retract(conn: Connection, alert: dict, reason: str, now: dt.datetime) -> list[Event]:
    if alert["status"] == "retracted":
        return []
    alert_store.update_alert(conn, alert["dedup_key"], status="retracted", retracted_at=now,
                             retraction_reason=reason, updated_at=now)
    return [AlertRetracted(occurred_at=now, dedup_key=alert["dedup_key"],
                           cell_id=alert["cell_id"], reason=reason)]


# --- shifts ------------------------------------------------------------------------------

def _facts(shift: dict) -> ShiftFacts:
    return ShiftFacts(shift["indicator"], shift["territory"], shift["kind"],
                      int(shift["direction"]), shift["good_news"], float(shift["q_value"]))


def _shift(conn: Connection, shift: dict, facts: ShiftFacts, routing: Routing,
           now: dt.datetime, *, reviewed: bool) -> list[Event]:
    subs = [s for s in routing.index.shift_matches(facts)
            if (c := routing.cells.get(s.owner)) is not None and c.reviewed_only == reviewed]
    if not subs:
        return []
    values = _published(conn, routing.catalog, facts.indicator, [shift["period"]])
    shown = values.get((facts.territory, shift["period"])) is not None
    basis: dict[str, Any] = {
        "shift_id": shift["shift_id"], "shift_kind": facts.kind, "direction": facts.direction,
        "good_news": facts.good_news, "period": shift["period"], "q_value": facts.q_value,
        "p_value": shift["p_value"], "method": shift["method"], "baseline": shift["baseline"],
        "reviewed": reviewed, "masked": not shown}
    if shown:
        basis.update({k: shift[k] for k in ("observed", "expected", "interval_low",
                                            "interval_high", "abs_change", "rel_change")})
        basis["value"] = shift["observed"]
    out: list[Event] = []
    for sub in subs:
        key = dedup_key(sub.owner, sub.id, facts.indicator, facts.territory, shift["period"])
        severity = sub.severity or shift_severity(facts.q_value)
        out += _raise(conn, routing, sub.owner, sub.id, "shift", facts.indicator, facts.territory,
                      shift["period"], key, basis, severity, now, shift_id=shift["shift_id"])
    return out


def _reviewed(conn: Connection, event: ShiftReviewed, routing: Routing,
              now: dt.datetime) -> list[Event]:
    decision = event.decision.strip().lower()
    if decision in DISMISSED:
        return _retract_shift(conn, event.shift_id, "évolution écartée lors de la revue par "
                                                    "l'observatoire", now)
    if decision not in CONFIRMED:
        return []
    shift = shift_store.get(conn, event.shift_id)
    if shift is None or shift["status"] != "active":
        return []
    # Confirmed after a dismissal (the analyst changed their mind): the alerts the
    # dismissal retracted stand again, and the cells that were told are told so.
    out: list[Event] = []
    for alert in alert_store.of_shift(conn, event.shift_id):
        if alert["status"] == "retracted":
            out += _refresh(conn, routing, alert["dedup_key"], alert["basis"] or {}, now,
                            reopen=True)
    return out + _shift(conn, shift, _facts(shift), routing, now, reviewed=True)


def _retract_shift(conn: Connection, shift_id: str, reason: str, now: dt.datetime,
                   ) -> list[Event]:
    out: list[Event] = []
    for alert in alert_store.of_shift(conn, shift_id):
        out += _retract(conn, alert, reason, now)
    return out


# --- providers, failures, freshness -------------------------------------------------------

def _provider(conn: Connection, event: DeliveryOverdue | DeliveryQuarantined,
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
        out += _raise(conn, routing, cell.id, kind, kind, event.convention_id or "-", provider,
                      str(basis["period"]), key, basis, Severity.WARNING, now)
    return out


def _failure(conn: Connection, event: NotificationFailed, routing: Routing,
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
        out += _raise(conn, routing, cell.id, "failure", "failure", "-", event.cell_id,
                      now.date().isoformat(), key, basis, Severity.WARNING, now)
    return out


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
        events += _raise(conn, routing, sub.owner, sub.id, "freshness", rule.indicator,
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


def route_all(events: Iterable[Event], *, routing: Routing, engine: Engine,
              clock: Clock) -> list[Event]:
    """Route several events in order (tests, replays)."""
    out: list[Event] = []
    for event in events:
        out += route(event, routing=routing, engine=engine, clock=clock)
    return out

