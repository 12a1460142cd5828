"""The event log: events are recorded in the store, in the same transaction as the facts
they announce, and each stage remembers the last event it handled (idempotent replay)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from veille.events import Event, decode
from veille.store.schema import events, stage_offsets


def record_event(conn: Connection, event: Event) -> bool:
    """Append ``event`` unless one of the same type and key exists; True if appended."""
    exists = conn.execute(
        select(events.c.id).where(events.c.type == type(event).__name__,
                                  events.c.key == event.key)).first()
    if exists is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(insert(events).values(
                type=type(event).__name__, key=event.key, payload=event.to_dict(),
                created_at=event.occurred_at))
    except IntegrityError:
        return False
    return True


def pending(engine: Engine, stage: str, types: Sequence[str], limit: int = 1000,
            ) -> list[tuple[int, Event]]:
    """Events of ``types`` after the stage's offset, oldest first."""
    with engine.connect() as conn:
        offset = conn.execute(select(stage_offsets.c.last_event_id)
                              .where(stage_offsets.c.stage == stage)).scalar() or 0
        rows = conn.execute(
            select(events.c.id, events.c.payload)
            .where(events.c.id > offset, events.c.type.in_(list(types)))
            .order_by(events.c.id).limit(limit)).all()
    return [(row.id, decode(row.payload)) for row in rows]


def advance(conn: Connection, stage: str, event_id: int) -> None:
    """Move the stage's offset forward (never backward), in the caller's transaction."""
    current = conn.execute(select(stage_offsets.c.last_event_id)
                           .where(stage_offsets.c.stage == stage)).scalar()
    if current is None:
        conn.execute(insert(stage_offsets).values(stage=stage, last_event_id=event_id))
    elif event_id > current:
        conn.execute(update(stage_offsets).where(stage_offsets.c.stage == stage)
                     .values(last_event_id=event_id))


def events_of(engine: Engine, type_name: str) -> list[Event]:
    with engine.connect() as conn:
        rows = conn.execute(select(events.c.payload).where(events.c.type == type_name)
                            .order_by(events.c.id)).all()
    return [decode(r.payload) for r in rows]


def count_events(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(events.c.type, func.count()).group_by(events.c.type)).all()
    return {r[0]: r[1] for r in rows}
