"""Shift rules: ``ShiftDetected`` reaches the cells that take unreviewed detections,
``ShiftReviewed`` (confirmed) the review-gated ones; a dismissed or retracted shift retracts
the alerts it raised, and a dismissed shift confirmed later reopens them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from thresholds.alert_writes import raise_alert, refresh_alert, retract_alert
from thresholds.index import ShiftFacts
from thresholds.routing import Routing, dedup_key, published
from thresholds.rules import shift_severity
from veille.events import Event, ShiftReviewed
from veille.store import alerts as alert_store
from veille.store import shifts as shift_store

CONFIRMED = {"confirm", "confirmed", "confirme", "confirmé"}
DISMISSED = {"dismiss", "dismissed", "ecarte", "écarté", "reject", "rejected"}


def shift_facts(shift: dict) -> ShiftFacts:
    return ShiftFacts(shift["indicator"], shift["territory"], shift["kind"],
                      int(shift["direction"]), shift["good_news"], float(shift["q_value"]))


def shift_alerts(conn: Connection, shift: dict, facts: ShiftFacts, routing: Routing,
                 now: dt.datetime, *, reviewed: bool) -> list[Event]:
    subs = [s for s in routing.index.shift_matches(facts)
            if (c := routing.cells.get(s.owner)) is not None and c.reviewed_only == reviewed]
    if not subs:
        return []
    values = published(conn, routing.catalog, facts.indicator, [shift["period"]])
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
        out += raise_alert(conn, routing, sub.owner, sub.id, "shift", facts.indicator,
                           facts.territory, shift["period"], key, basis, severity, now,
                           shift_id=shift["shift_id"])
    return out


def reviewed(conn: Connection, event: ShiftReviewed, routing: Routing,
             now: dt.datetime) -> list[Event]:
    decision = event.decision.strip().lower()
    if decision in DISMISSED:
        return retract_shift(conn, event.shift_id, "évolution écartée lors de la revue par "
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
            out += refresh_alert(conn, routing, alert["dedup_key"], alert["basis"] or {}, now,
                                 reopen=True)
    return out + shift_alerts(conn, shift, shift_facts(shift), routing, now, reviewed=True)


def retract_shift(conn: Connection, shift_id: str, reason: str, now: dt.datetime,
                  ) -> list[Event]:
    out: list[Event] = []
    for alert in alert_store.of_shift(conn, shift_id):
        out += retract_alert(conn, alert, reason, now)
    return out
