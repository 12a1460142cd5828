"""Digests, the notification outbox and the notification log.

The outbox (one row per message and recipient) is the queue, not Apprise: a row is claimed
with a lease before sending, so a second worker or a restart never takes it twice, and the
log keeps every attempt (who, which channel, what happened) for the observatory.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from veille.store.schema import digests, notification_log, notification_outbox

__all__ = ["notification_log", "notification_outbox"]


def insert_digest(conn: Connection, row: dict[str, Any]) -> bool:
    """Create a message under its natural id; False if it exists (already composed)."""
    if conn.execute(select(digests.c.digest_id).where(
            digests.c.digest_id == row["digest_id"])).first() is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(insert(digests).values(**row))
    except IntegrityError:
        return False
    return True


def get_digest(conn: Connection, digest_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(digests).where(digests.c.digest_id == digest_id)).first()
    return dict(row._mapping) if row is not None else None


def list_digests(conn: Connection, cell_id: str | None = None) -> list[dict[str, Any]]:
    query = select(digests).order_by(digests.c.created_at, digests.c.digest_id)
    if cell_id is not None:
        query = query.where(digests.c.cell_id == cell_id)
    return [dict(r._mapping) for r in conn.execute(query)]


def finish_digest(conn: Connection, digest_id: str, status: str, at: dt.datetime) -> None:
    conn.execute(update(digests).where(digests.c.digest_id == digest_id)
                 .values(status=status, finished_at=at))


def enqueue(conn: Connection, *, digest_id: str, cell_id: str, recipient: str, channel: str,
            at: dt.datetime) -> None:
    try:
        with conn.begin_nested():
            conn.execute(insert(notification_outbox).values(
                digest_id=digest_id, cell_id=cell_id, recipient=recipient, channel=channel,
                status="pending", attempts=0, next_attempt_at=at, created_at=at,
                updated_at=at))
    except IntegrityError:
        pass  # already queued: the natural key (message, recipient) holds


def due(conn: Connection, now: dt.datetime, limit: int = 500) -> list[dict[str, Any]]:
    """Rows to try now: pending ones whose time has come, and leases that expired (a
    worker died while sending)."""
    rows = conn.execute(
        select(notification_outbox)
        .where(notification_outbox.c.status.in_(["pending", "sending"]),
               notification_outbox.c.next_attempt_at <= now)
        .order_by(notification_outbox.c.id).limit(limit))
    return [dict(r._mapping) for r in rows]


def claim(conn: Connection, row_id: int, now: dt.datetime, lease: dt.timedelta) -> int | None:
    """Take a row for sending; returns the attempt number, or None if another worker has it."""
    result = conn.execute(
        update(notification_outbox)
        .where(notification_outbox.c.id == row_id,
               notification_outbox.c.status.in_(["pending", "sending"]),
               notification_outbox.c.next_attempt_at <= now)
        .values(status="sending", attempts=notification_outbox.c.attempts + 1,
                next_attempt_at=now + lease, updated_at=now))
    if result.rowcount != 1:
        return None
    return int(conn.execute(select(notification_outbox.c.attempts).where(
        notification_outbox.c.id == row_id)).scalar_one())


def settle(conn: Connection, row_id: int, *, status: str, at: dt.datetime,
           next_attempt_at: dt.datetime | None = None, error: str | None = None) -> None:
    values: dict[str, Any] = {"status": status, "updated_at": at, "last_error": error}
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    conn.execute(update(notification_outbox).where(notification_outbox.c.id == row_id)
                 .values(**values))


def postpone(conn: Connection, row_id: int, until: dt.datetime, at: dt.datetime) -> None:
    """Quiet hours: wait without spending an attempt."""
    conn.execute(update(notification_outbox).where(notification_outbox.c.id == row_id)
                 .values(next_attempt_at=until, updated_at=at))


def outbox_rows(conn: Connection, digest_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(notification_outbox).where(
        notification_outbox.c.digest_id == digest_id).order_by(notification_outbox.c.id))
    return [dict(r._mapping) for r in rows]


def log(conn: Connection, **values: Any) -> None:
    conn.execute(insert(notification_log).values(**values))


def delivered(conn: Connection, digest_id: str, recipient: str) -> bool:
    """The notification log's answer to 'was this already delivered to them?'."""
    return conn.execute(select(notification_log.c.id).where(and_(
        notification_log.c.digest_id == digest_id, notification_log.c.recipient == recipient,
        notification_log.c.outcome == "delivered")).limit(1)).first() is not None


def delivered_recipients(conn: Connection, digest_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(notification_log.c.recipient, notification_log.c.channel)
                        .where(notification_log.c.digest_id == digest_id,
                               notification_log.c.outcome == "delivered").distinct())
    return [dict(r._mapping) for r in rows]


def log_entries(conn: Connection, *, cell_id: str | None = None,
                digest_id: str | None = None, limit: int | None = None,
                ) -> list[dict[str, Any]]:
    query = select(notification_log).order_by(notification_log.c.at, notification_log.c.id)
    if cell_id is not None:
        query = query.where(notification_log.c.cell_id == cell_id)
    if digest_id is not None:
        query = query.where(notification_log.c.digest_id == digest_id)
    if limit is not None:
        query = query.limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def open_count(conn: Connection, digest_id: str) -> int:
    return int(conn.execute(select(func.count()).select_from(notification_outbox).where(
        notification_outbox.c.digest_id == digest_id,
        or_(notification_outbox.c.status == "pending",
            notification_outbox.c.status == "sending"))).scalar_one())


def attempt_outcomes(conn: Connection, at: dt.datetime) -> dict[str, int]:
    """How the send attempts made at ``at`` (one run of the sender) ended, by outcome
    (delivered, retry, failed)."""
    rows = conn.execute(select(notification_log.c.outcome, func.count())
                        .where(notification_log.c.at == at)
                        .group_by(notification_log.c.outcome))
    return {outcome: int(count) for outcome, count in rows}


def awaiting_retry(conn: Connection) -> tuple[int, dt.datetime | None]:
    """Sends that failed and wait for another attempt, and when the next one is due."""
    count, first = conn.execute(
        select(func.count(), func.min(notification_outbox.c.next_attempt_at))
        .where(notification_outbox.c.status == "pending",
               notification_outbox.c.attempts > 0)).one()
    return int(count), first
