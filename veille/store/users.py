"""Web accounts: who may log in, with which role and over which territory.

Passwords are stored as argon2 hashes only (hashing lives in ``review.auth``); this module
just reads and writes rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select, update

from veille.store.schema import users

ROLES = ("analyst", "ccas", "clspd", "reader")


def get(conn: Connection, username: str) -> dict[str, Any] | None:
    row = conn.execute(select(users).where(users.c.username == username)).first()
    return dict(row._mapping) if row is not None else None


def add(conn: Connection, *, username: str, display_name: str, password_hash: str, role: str,
        commune: str | None, scope: list[str], now: dt.datetime) -> None:
    """Create an account; the caller has checked role and scope against the catalog."""
    if role not in ROLES:
        raise ValueError(f"unknown role '{role}' (known: {', '.join(ROLES)})")
    conn.execute(insert(users).values(
        username=username, display_name=display_name, password_hash=password_hash, role=role,
        commune=commune, scope=list(scope), active=True, created_at=now))


def set_password(conn: Connection, username: str, password_hash: str) -> None:
    conn.execute(update(users).where(users.c.username == username)
                 .values(password_hash=password_hash))


def set_active(conn: Connection, username: str, active: bool) -> None:
    conn.execute(update(users).where(users.c.username == username).values(active=active))


def list_users(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(users).order_by(users.c.username))]
