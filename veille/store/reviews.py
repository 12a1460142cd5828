"""Review decisions (an append-only audit trail) and queries sent to providers.

A shift's current review status lives on ``shifts.review_status``; every decision that set
it is kept in ``review_decisions`` with who, when, why and the status it replaced, so a
revised decision never erases the earlier one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from veille.store.schema import provider_queries, review_decisions, shifts


def add_decision(conn: Connection, *, shift_id: str, decision: str, reason: str | None,
                 comment: str, reviewer: str, at: dt.datetime, previous_status: str) -> int:
    result = conn.execute(insert(review_decisions).values(
        shift_id=shift_id, decision=decision, reason=reason, comment=comment,
        reviewer=reviewer, decided_at=at, previous_status=previous_status))
    conn.execute(update(shifts).where(shifts.c.shift_id == shift_id)
                 .values(review_status=decision))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def trail(conn: Connection, shift_id: str) -> list[dict[str, Any]]:
    """Every decision on a shift, oldest first."""
    rows = conn.execute(select(review_decisions).where(review_decisions.c.shift_id == shift_id)
                        .order_by(review_decisions.c.decided_at, review_decisions.c.id))
    return [dict(r._mapping) for r in rows]


def latest(conn: Connection, shift_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The last decision of each shift (for its comment), by shift id."""
    if not shift_ids:
        return {}
    out: dict[str, dict[str, Any]] = {}
    ids = list(shift_ids)
    for start in range(0, len(ids), 500):
        rows = conn.execute(select(review_decisions)
                            .where(review_decisions.c.shift_id.in_(ids[start:start + 500]))
                            .order_by(review_decisions.c.decided_at, review_decisions.c.id))
        for r in rows:
            out[r.shift_id] = dict(r._mapping)
    return out


def open_query(conn: Connection, *, delivery_id: int, shift_id: str, question: str,
               asked_by: str, at: dt.datetime) -> int:
    """Put a delivery under query (once per shift while the query is open)."""
    existing = conn.execute(select(provider_queries.c.id).where(
        provider_queries.c.shift_id == shift_id, provider_queries.c.closed_at.is_(None))).first()
    if existing is not None:
        return int(existing.id)
    result = conn.execute(insert(provider_queries).values(
        delivery_id=delivery_id, shift_id=shift_id, question=question, asked_by=asked_by,
        asked_at=at))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def close_queries(conn: Connection, shift_id: str, by: str, at: dt.datetime) -> int:
    result = conn.execute(update(provider_queries).where(
        provider_queries.c.shift_id == shift_id, provider_queries.c.closed_at.is_(None))
        .values(closed_at=at, closed_by=by))
    return int(result.rowcount or 0)


def queries_of_delivery(conn: Connection, delivery_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(provider_queries)
                        .where(provider_queries.c.delivery_id == delivery_id)
                        .order_by(provider_queries.c.asked_at))
    return [dict(r._mapping) for r in rows]


def deliveries_under_query(conn: Connection) -> set[int]:
    rows = conn.execute(select(provider_queries.c.delivery_id)
                        .where(provider_queries.c.closed_at.is_(None)).distinct())
    return {int(r.delivery_id) for r in rows}
