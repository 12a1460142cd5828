"""Shifts: detected changes with their evidence; retracted, never deleted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from veille.store.schema import detection_runs, shifts


def get(conn: Connection, shift_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(shifts).where(shifts.c.shift_id == shift_id)).first()
    return dict(row._mapping) if row is not None else None


def active_on(conn: Connection, keys: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Active shifts on any of the (indicator, territory) series."""
    if not keys:
        return []
    wanted = set(keys)
    return [s for s in active_for(conn, sorted({k[0] for k in keys}))
            if (s["indicator"], s["territory"]) in wanted]


def active_for(conn: Connection, indicators: Sequence[str]) -> list[dict[str, Any]]:
    """Active shifts on any territory of the indicators."""
    rows = conn.execute(select(shifts).where(shifts.c.status == "active",
                                             shifts.c.indicator.in_(list(indicators))))
    return [dict(r._mapping) for r in rows]


def insert_shift(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(shifts).values(**row))


def extend(conn: Connection, shift_id: str, last_period: str, evidence: dict[str, Any]) -> None:
    """A shift seen again in a later wave: same news, fresher evidence."""
    conn.execute(update(shifts).where(shifts.c.shift_id == shift_id)
                 .values(last_period=last_period, **evidence))


def retract(conn: Connection, shift_id: str, at: dt.datetime, reason: str) -> None:
    conn.execute(update(shifts).where(shifts.c.shift_id == shift_id).values(
        status="retracted", retracted_at=at, retraction_reason=reason))


def record_run(conn: Connection, **values: Any) -> bool:
    """Remember that a delivery's wave was tested; False if it already was (idempotence)."""
    exists = conn.execute(select(detection_runs.c.delivery_id).where(
        detection_runs.c.delivery_id == values["delivery_id"])).first()
    if exists is not None:
        return False
    conn.execute(insert(detection_runs).values(**values))
    return True


def list_shifts(conn: Connection, *, territory: Sequence[str] | None = None,
                indicators: Sequence[str] | None = None, kind: str | None = None,
                status: str | None = None, review_status: str | None = None,
                ) -> list[dict[str, Any]]:
    query = select(shifts).order_by(shifts.c.q_value, shifts.c.period.desc())
    if territory is not None:
        query = query.where(shifts.c.territory.in_(list(territory)))
    if indicators is not None:
        query = query.where(shifts.c.indicator.in_(list(indicators)))
    if kind is not None:
        query = query.where(shifts.c.kind == kind)
    if status is not None:
        query = query.where(shifts.c.status == status)
    if review_status is not None:
        query = query.where(shifts.c.review_status == review_status)
    return [dict(r._mapping) for r in conn.execute(query)]
