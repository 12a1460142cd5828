"""Sending: the chain of stages of one queued message to one recipient.

    claim (lease) -> dedup against the notification log -> send (one Apprise call)
    -> record the outcome in the log -> retry with exponential backoff
    -> after N failures: failed, and NotificationFailed for the observatory

A restart re-reads the outbox: delivered rows are done, pending ones are taken up, a lease
left by a dead worker expires and is taken up again (the log stops a second delivery when
the outcome was recorded). Quiet hours postpone a row without spending an attempt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlalchemy import Engine

from digests.channels import AppriseChannel, Channel, Message, OutboxChannel, SendResult
from digests.compose import compose_due
from digests.schedule import in_quiet_hours, quiet_until
from veille.catalog import Catalog
from veille.config import Workspace
from veille.events import DigestSent, Event, NotificationFailed
from veille.model import Cell
from veille.store import notifications as store
from veille.store.outbox import record_event

LEASE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff: dt.timedelta = dt.timedelta(minutes=1)

    def delay(self, attempt: int) -> dt.timedelta:
        """1, 2, 4, 8... times the base delay after the 1st, 2nd, 3rd... failure."""
        return self.backoff * (2 ** (attempt - 1))


def channel_for(workspace: Workspace) -> Channel:
    """The workspace's channel: files in the outbox (default) or Apprise."""
    settings = workspace.settings
    if settings.notify == "apprise":
        return AppriseChannel()
    return OutboxChannel(workspace.outbox, settings.notify_from)


def policy_for(workspace: Workspace) -> RetryPolicy:
    s = workspace.settings
    return RetryPolicy(s.notify_attempts, dt.timedelta(seconds=s.notify_backoff_seconds))


def _url(cells: dict[str, Cell], cell_id: str, recipient: str) -> str | None:
    cell = cells.get(cell_id)
    if cell is None:
        return None
    return next((m.url for m in cell.members if m.name == recipient), None)


def send_due(now: dt.datetime, *, cells: dict[str, Cell], engine: Engine, channel: Channel,
             policy: RetryPolicy | None = None,
             after_each: Callable[[dict], None] | None = None,
             cell_ids: Collection[str] | None = None) -> list[Event]:
    """Try every outbox row due at ``now`` (of ``cell_ids`` only, when given: a worker keyed
    by cell sends its cells' rows); returns DigestSent / NotificationFailed events."""
    policy = policy or RetryPolicy()
    events: list[Event] = []
    with engine.connect() as conn:
        rows = store.due(conn, now)
    if cell_ids is not None:
        rows = [r for r in rows if r["cell_id"] in cell_ids]
    for row in rows:
        cell = cells.get(row["cell_id"])
        if cell is not None and in_quiet_hours(cell, now):
            with engine.begin() as conn:
                store.postpone(conn, row["id"], quiet_until(cell, now), now)
            continue
        with engine.begin() as conn:
            attempt = store.claim(conn, row["id"], now, LEASE)
            if attempt is None:
                continue  # another worker has it
            already = store.delivered(conn, row["digest_id"], row["recipient"])
            if already:
                store.settle(conn, row["id"], status="delivered", at=now)
            digest = store.get_digest(conn, row["digest_id"])
        if not already:
            url = _url(cells, row["cell_id"], row["recipient"])
            if digest is None or url is None:
                result = SendResult(False, retryable=False,
                                    error="destinataire ou message introuvable")
            else:
                message = Message(row["digest_id"], row["cell_id"], digest["subject"],
                                  digest["body_text"], digest["body_html"])
                try:
                    result = channel.send(message, row["recipient"], url)
                except Exception as exc:  # a channel bug must not lose the row
                    result = SendResult(False, True, f"{type(exc).__name__}")
            events += _record(engine, row, attempt, result, now, policy)
        events += _finish(engine, row["digest_id"], row["cell_id"], now)
        if after_each is not None:
            after_each(row)
    return events


def _record(engine: Engine, row: dict, attempt: int, result: SendResult, now: dt.datetime,
            policy: RetryPolicy) -> list[Event]:
    events: list[Event] = []
    with engine.begin() as conn:
        entry = {"digest_id": row["digest_id"], "cell_id": row["cell_id"],
                 "recipient": row["recipient"], "channel": row["channel"],
                 "attempt": attempt, "at": now}
        if result.ok:
            store.log(conn, outcome="delivered", error=None, **entry)
            store.settle(conn, row["id"], status="delivered", at=now)
        elif result.retryable and attempt < policy.attempts:
            store.log(conn, outcome="retry", error=result.error, **entry)
            store.settle(conn, row["id"], status="pending", at=now, error=result.error,
                         next_attempt_at=now + policy.delay(attempt))
        else:
            store.log(conn, outcome="failed", error=result.error, **entry)
            store.settle(conn, row["id"], status="failed", at=now, error=result.error)
            failed = NotificationFailed(occurred_at=now, message_id=row["digest_id"],
                                        cell_id=row["cell_id"], recipient=row["recipient"],
                                        channel=row["channel"], attempts=attempt,
                                        error=result.error)
            if record_event(conn, failed):
                events.append(failed)
    return events


def _finish(engine: Engine, digest_id: str, cell_id: str, now: dt.datetime) -> list[Event]:
    """When no recipient of a message is left to try: mark it and announce DigestSent."""
    with engine.begin() as conn:
        if store.open_count(conn, digest_id):
            return []
        digest = store.get_digest(conn, digest_id)
        if digest is None or digest["status"] != "pending":
            return []
        rows = store.outbox_rows(conn, digest_id)
        ok = [r for r in rows if r["status"] == "delivered"]
        status = "sent" if len(ok) == len(rows) else ("partial" if ok else "failed")
        store.finish_digest(conn, digest_id, status, now)
        event = DigestSent(occurred_at=now, digest_id=digest_id, cell_id=cell_id,
                           alert_count=digest["alert_count"], recipients=len(ok),
                           delivered=status == "sent")
        return [event] if record_event(conn, event) else []


def deliver_due(now: dt.datetime, *, catalog: Catalog, cells: dict[str, Cell], engine: Engine,
                channel: Channel, base_url: str, policy: RetryPolicy | None = None,
                ) -> tuple[list[str], list[Event]]:
    """Compose what is due, then send what is queued: the time-driven half of delivery."""
    composed = compose_due(now, catalog=catalog, cells=cells, engine=engine, base_url=base_url)
    return composed, send_due(now, cells=cells, engine=engine, channel=channel, policy=policy)
