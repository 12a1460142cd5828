"""Web sessions and login attempts: the rows that make a session revocable and a password
guess expensive. Policy (lifetimes, thresholds, delays) lives in ``review.auth``; this
module only reads and writes rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from veille.store.alerts import now_utc
from veille.store.schema import login_attempts, users, web_sessions


def open_session(conn: Connection, *, session_id: str, username: str, now: dt.datetime,
                 expires_at: dt.datetime) -> None:
    conn.execute(insert(web_sessions).values(id=session_id, username=username,
                                             created_at=now, expires_at=expires_at))


def prune(conn: Connection, before: dt.datetime) -> None:
    """Forget sessions that ended and attempts made before ``before`` (the attempts are
    the login audit trail: the caller keeps weeks of them, the throttle needs one day)."""
    conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < before))
    conn.execute(delete(login_attempts).where(login_attempts.c.at < before))


def session_account(conn: Connection, session_id: str, now: dt.datetime,
                    ) -> dict[str, Any] | None:
    """The account behind a live session: not revoked, not expired, account active."""
    row = conn.execute(
        select(users).join(web_sessions, web_sessions.c.username == users.c.username)
        .where(web_sessions.c.id == session_id, web_sessions.c.revoked_at.is_(None),
               web_sessions.c.expires_at > now, users.c.active.is_(True))).first()
    return dict(row._mapping) if row is not None else None


def revoke_session(conn: Connection, session_id: str, now: dt.datetime) -> None:
    conn.execute(update(web_sessions).where(web_sessions.c.id == session_id,
                                            web_sessions.c.revoked_at.is_(None))
                 .values(revoked_at=now))


def revoke_sessions_of(conn: Connection, username: str, now: dt.datetime) -> int:
    """End every open session of an account; how many were open."""
    result = conn.execute(update(web_sessions).where(web_sessions.c.username == username,
                                                     web_sessions.c.revoked_at.is_(None))
                          .values(revoked_at=now))
    return int(result.rowcount or 0)


def record_attempt(conn: Connection, *, at: dt.datetime, username: str, address: str,
                   outcome: str) -> int:
    """Log one attempt (success, failure or throttled); its row id."""
    return int(conn.execute(insert(login_attempts).values(
        at=at, username=username[:64], address=address[:64], outcome=outcome)
        .returning(login_attempts.c.id)).scalar_one())


def mark_success(conn: Connection, attempt_id: int) -> None:
    conn.execute(update(login_attempts).where(login_attempts.c.id == attempt_id)
                 .values(outcome="success"))


def failures(conn: Connection, since: dt.datetime, *, username: str | None = None,
             address: str | None = None) -> tuple[int, dt.datetime | None]:
    """Failed attempts after ``since`` for one account name (only those after its last
    success) or one address (a success does not reset it): their count and the latest."""
    attempts = login_attempts.c
    if username is not None:
        key = attempts.username == username[:64]
        last_success = conn.execute(select(func.max(attempts.at))
                                    .where(key, attempts.outcome == "success")).scalar()
        if last_success is not None:
            since = max(since, now_utc(last_success) or since)
    else:
        key = attempts.address == str(address)[:64]
    count, last = conn.execute(select(func.count(), func.max(attempts.at))
                               .where(key, attempts.outcome == "failure",
                                      attempts.at > since)).one()
    return int(count or 0), now_utc(last)
