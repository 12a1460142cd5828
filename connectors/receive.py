"""Receiving a provider file: hash it, archive its raw bytes, record it, announce it.

This runs before any parsing, so that a crash later never loses a file the provider sent,
and re-dropping the same bytes is recognised by its content hash and changes nothing.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from veille.catalog import Catalog
from veille.clock import Clock
from veille.config import Workspace
from veille.events import DeliveryReceived
from veille.store import deliveries
from veille.store.outbox import record_event


@dataclass(frozen=True)
class Received:
    """The outcome of receiving a file: a new delivery, one still to finish, or a duplicate."""

    event: DeliveryReceived
    duplicate: bool
    status: str


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def archive_path(workspace: Workspace, digest: str, name: str) -> Path:
    suffix = "".join(Path(name).suffixes[-1:]).lower()
    return workspace.archive / digest[:2] / f"{digest}{suffix}"


def receive(path: Path, *, workspace: Workspace, catalog: Catalog, engine: Engine,
            clock: Clock, convention_id: str | None = None) -> Received:
    """Archive and record ``path``; a file already fully handled is reported as duplicate."""
    data = path.read_bytes()
    digest = content_hash(data)
    if convention_id is None:
        found = catalog.convention_for_file(path.name)
        convention_id = found.id if found is not None else None
    with engine.begin() as conn:
        existing = deliveries.find_by_hash(conn, digest)
        if existing is not None:
            event = DeliveryReceived(
                occurred_at=existing.received_at, delivery_id=existing.id,
                content_hash=digest, convention_id=existing.convention_id or "",
                filename=existing.filename, archive_path=existing.archive_path)
            return Received(event, duplicate=existing.status != "received",
                            status=existing.status)
    target = archive_path(workspace, digest, path.name)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        try:
            shutil.copyfile(path, tmp)
            tmp.replace(target)
        except OSError:  # a full disk: no half copy left in the archive
            tmp.unlink(missing_ok=True)
            raise
    now = clock.now()
    with engine.begin() as conn:
        delivery_id = deliveries.record_received(
            conn, content_hash=digest, convention_id=convention_id, filename=path.name,
            received_at=now, archive_path=str(target), size_bytes=len(data))
        event = DeliveryReceived(occurred_at=now, delivery_id=delivery_id,
                                 content_hash=digest, convention_id=convention_id or "",
                                 filename=path.name, archive_path=str(target))
        record_event(conn, event)
    return Received(event, duplicate=False, status="received")
