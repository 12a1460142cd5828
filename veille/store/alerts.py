"""Alerts and their hysteresis state: one row per dedup key, never a second one.

An alert is inserted once under its dedup key (cell, rule, series, period); replays and a
second worker find it there. Its basis may be revised, it may resolve or be retracted, and
it remembers which message carried it (so a retraction reaches those who were told).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from veille.store.schema import alert_state, alerts


def insert_alert(conn: Connection, row: dict[str, Any]) -> bool:
    """Insert unless the dedup key exists; True if this call created it."""
    if conn.execute(select(alerts.c.dedup_key).where(
            alerts.c.dedup_key == row["dedup_key"])).first() is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(insert(alerts).values(**row))
    except IntegrityError:
        return False
    return True


def get(conn: Connection, dedup_key: str) -> dict[str, Any] | None:
    row = conn.execute(select(alerts).where(alerts.c.dedup_key == dedup_key)).first()
    return dict(row._mapping) if row is not None else None


def update_alert(conn: Connection, dedup_key: str, **values: Any) -> None:
    conn.execute(update(alerts).where(alerts.c.dedup_key == dedup_key).values(**values))


def of_shift(conn: Connection, shift_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(alerts).where(alerts.c.shift_id == shift_id))
    return [dict(r._mapping) for r in rows]


def of_series(conn: Connection, subscription_id: str, territory: str, period: str,
              ) -> list[dict[str, Any]]:
    rows = conn.execute(select(alerts).where(alerts.c.subscription_id == subscription_id,
                                             alerts.c.territory == territory,
                                             alerts.c.period == period))
    return [dict(r._mapping) for r in rows]


def list_alerts(conn: Connection, *, cell_id: str | None = None,
                status: str | None = None) -> list[dict[str, Any]]:
    query = select(alerts).order_by(alerts.c.raised_at, alerts.c.dedup_key)
    if cell_id is not None:
        query = query.where(alerts.c.cell_id == cell_id)
    if status is not None:
        query = query.where(alerts.c.status == status)
    return [dict(r._mapping) for r in conn.execute(query)]


def unsent(conn: Connection, cell_id: str) -> list[dict[str, Any]]:
    """Active alerts of a cell that no message has carried yet."""
    rows = conn.execute(select(alerts).where(alerts.c.cell_id == cell_id,
                                             alerts.c.status == "active",
                                             alerts.c.digest_id.is_(None))
                        .order_by(alerts.c.raised_at, alerts.c.dedup_key))
    return [dict(r._mapping) for r in rows]


def ended_untold(conn: Connection, cell_id: str) -> list[dict[str, Any]]:
    """Alerts that were sent and have since resolved, not yet reported as ended."""
    rows = conn.execute(select(alerts).where(alerts.c.cell_id == cell_id,
                                             alerts.c.status == "resolved",
                                             alerts.c.digest_id.is_not(None),
                                             alerts.c.resolution_digest_id.is_(None))
                        .order_by(alerts.c.resolved_at, alerts.c.dedup_key))
    return [dict(r._mapping) for r in rows]


def retracted_untold(conn: Connection) -> list[dict[str, Any]]:
    """Retracted alerts that were sent and whose retraction notice is not composed."""
    rows = conn.execute(select(alerts).where(alerts.c.status == "retracted",
                                             alerts.c.digest_id.is_not(None),
                                             alerts.c.retraction_digest_id.is_(None))
                        .order_by(alerts.c.retracted_at, alerts.c.dedup_key))
    return [dict(r._mapping) for r in rows]


def claim(conn: Connection, keys: Sequence[str], column: str, digest_id: str) -> list[str]:
    """Mark alerts as carried by ``digest_id`` if no other message took them first
    (a second worker composing at the same time gets nothing)."""
    col = alerts.c[column]
    taken: list[str] = []
    for key in keys:
        result = conn.execute(update(alerts).where(alerts.c.dedup_key == key, col.is_(None))
                              .values(**{column: digest_id}))
        if result.rowcount:
            taken.append(key)
    return taken


# --- hysteresis state ------------------------------------------------------------------

def states(conn: Connection, subscription_ids: Sequence[str]) -> dict[tuple[str, str], dict]:
    if not subscription_ids:
        return {}
    rows = conn.execute(select(alert_state).where(
        alert_state.c.subscription_id.in_(list(subscription_ids))))
    return {(r.subscription_id, r.territory): dict(r._mapping) for r in rows}


def save_state(conn: Connection, row: dict[str, Any], existed: bool) -> None:
    if existed:
        conn.execute(update(alert_state).where(and_(
            alert_state.c.subscription_id == row["subscription_id"],
            alert_state.c.territory == row["territory"])).values(**row))
    else:
        try:
            with conn.begin_nested():
                conn.execute(insert(alert_state).values(**row))
        except IntegrityError:
            conn.execute(update(alert_state).where(and_(
                alert_state.c.subscription_id == row["subscription_id"],
                alert_state.c.territory == row["territory"])).values(**row))


def now_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Datetimes read back from SQLite are naive: they were written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)
