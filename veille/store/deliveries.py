"""Deliveries: every file received is recorded with its content hash before anything else."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from veille.store.schema import deliveries, delivery_attempts, delivery_problems


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    content_hash: str
    convention_id: str | None
    filename: str
    status: str
    received_at: dt.datetime
    archive_path: str
    report_path: str | None
    observation_count: int
    secret_count: int
    problem_count: int
    periods: list[str]
    indicators: list[str]


def _row(r: Any) -> DeliveryRow:
    return DeliveryRow(r.id, r.content_hash, r.convention_id, r.filename, r.status,
                       r.received_at, r.archive_path, r.report_path, r.observation_count,
                       r.secret_count, r.problem_count, list(r.periods or []),
                       list(r.indicators or []))


def find_by_hash(conn: Connection, content_hash: str) -> DeliveryRow | None:
    row = conn.execute(select(deliveries).where(deliveries.c.content_hash == content_hash)
                       ).first()
    return _row(row) if row is not None else None


def find(conn: Connection, delivery_id: int) -> DeliveryRow | None:
    row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
    return _row(row) if row is not None else None


def get(conn: Connection, delivery_id: int) -> DeliveryRow:
    return _row(conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).one())


def record_received(conn: Connection, *, content_hash: str, convention_id: str | None,
                    filename: str, received_at: dt.datetime, archive_path: str,
                    size_bytes: int) -> int:
    result = conn.execute(insert(deliveries).values(
        content_hash=content_hash, convention_id=convention_id, filename=filename,
        received_at=received_at, status="received", archive_path=archive_path,
        size_bytes=size_bytes, rows_read=0, observation_count=0, secret_count=0,
        revised_count=0, problem_count=0, periods=[], indicators=[]))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def claim(conn: Connection, delivery_id: int, status: str) -> bool:
    """Take a received delivery for ``status`` (accepted or quarantined); False when another
    writer took it first. Run it as the first statement of the writer's transaction: the
    row lock (PostgreSQL) or the write lock (SQLite) makes a second writer wait until the
    first commits, then find the delivery no longer ``received``."""
    result = conn.execute(update(deliveries).where(
        deliveries.c.id == delivery_id, deliveries.c.status == "received").values(status=status))
    return result.rowcount == 1


def start_ingest(conn: Connection, delivery_id: int) -> int:
    """Count one more ingest attempt and return how many were started before this one.
    Committed before the file is read, so attempts that died with their process show."""
    before = int(conn.execute(select(deliveries.c.ingest_attempts).where(
        deliveries.c.id == delivery_id)).scalar_one())
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
        ingest_attempts=deliveries.c.ingest_attempts + 1))
    return before


def mark_accepted(conn: Connection, delivery_id: int, *, rows_read: int,
                  observation_count: int, secret_count: int, revised_count: int,
                  periods: list[str], indicators: list[str],
                  report_path: str | None = None) -> None:
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
        status="accepted", report_path=report_path, rows_read=rows_read,
        observation_count=observation_count,
        secret_count=secret_count, revised_count=revised_count, periods=periods,
        indicators=indicators))


def mark_quarantined(conn: Connection, delivery_id: int, *, report_path: str,
                     rows_read: int, problems: Iterable[dict[str, Any]]) -> int:
    rows = [dict(p, delivery_id=delivery_id) for p in problems]
    if rows:
        conn.execute(insert(delivery_problems), rows)
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
        status="quarantined", report_path=report_path, rows_read=rows_read,
        problem_count=len(rows)))
    return len(rows)


def list_deliveries(conn: Connection, status: str | None = None) -> list[DeliveryRow]:
    query = select(deliveries).order_by(deliveries.c.id)
    if status is not None:
        query = query.where(deliveries.c.status == status)
    return [_row(r) for r in conn.execute(query)]


def problems_of(conn: Connection, delivery_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(delivery_problems).where(
        delivery_problems.c.delivery_id == delivery_id).order_by(delivery_problems.c.id))
    return [dict(r._mapping) for r in rows]


def latest_period_by_convention(conn: Connection) -> dict[str, str]:
    """The most recent period each convention has delivered (accepted files only)."""
    out: dict[str, str] = {}
    for row in conn.execute(select(deliveries.c.convention_id, deliveries.c.periods)
                            .where(deliveries.c.status == "accepted")):
        periods = list(row.periods or [])
        if row.convention_id and periods:
            top = max(periods)
            if top > out.get(row.convention_id, ""):
                out[row.convention_id] = top
    return out


def accepted_since(conn: Connection, after_id: int) -> list[DeliveryRow]:
    """Accepted deliveries with an id above ``after_id``, oldest first."""
    query = (select(deliveries).where(deliveries.c.status == "accepted",
                                      deliveries.c.id > after_id).order_by(deliveries.c.id))
    return [_row(r) for r in conn.execute(query)]


def attempt_count(conn: Connection, delivery_id: int) -> int:
    """Earlier attempts kept for the delivery (0 for one never retried)."""
    return int(conn.execute(select(func.count()).select_from(delivery_attempts).where(
        delivery_attempts.c.delivery_id == delivery_id)).scalar_one())


def reopen(conn: Connection, delivery_id: int, *, attempt: int, report_path: str | None,
           convention_id: str | None, at: dt.datetime, by: str | None) -> bool:
    """Keep the quarantined attempt ``attempt`` and set the delivery back to ``received``
    (False when it is no longer quarantined: another writer took it)."""
    row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).one()
    first = [", ".join(f"{k} {p[k]}" for k in ("line", "column", "value") if p[k] is not None)
             + f": expected {p['expected']}" for p in problems_of(conn, delivery_id)[:10]]
    result = conn.execute(update(deliveries).where(
        deliveries.c.id == delivery_id, deliveries.c.status == "quarantined").values(
        status="received", report_path=None, problem_count=0, rows_read=0,
        ingest_attempts=0, convention_id=convention_id))
    if result.rowcount != 1:
        return False
    conn.execute(insert(delivery_attempts).values(
        delivery_id=delivery_id, attempt=attempt, convention_id=row.convention_id,
        status=row.status, rows_read=row.rows_read, problem_count=row.problem_count,
        report_path=report_path, summary=first, retried_at=at, retried_by=by))
    conn.execute(delete(delivery_problems).where(delivery_problems.c.delivery_id == delivery_id))
    return True


def attempts_of(conn: Connection, delivery_id: int) -> list[dict[str, Any]]:
    """The delivery's earlier attempts, oldest first."""
    rows = conn.execute(select(delivery_attempts).where(
        delivery_attempts.c.delivery_id == delivery_id).order_by(delivery_attempts.c.attempt))
    return [dict(r._mapping) for r in rows]
