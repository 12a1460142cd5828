"""Receiving a provider file: hash it, archive its raw bytes, record it, announce it.

This runs before any parsing, so that a crash later never loses a file the provider sent,
and re-dropping the same bytes is recognised by its content hash and changes nothing.
Two processes receiving the same bytes at once record one delivery: the content hash is
unique in the store, and the one that loses the race finds the other's delivery.
"""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from veille.catalog import Catalog
from veille.clock import Clock
from veille.config import Workspace
from veille.events import DeliveryReceived
from veille.store import deliveries
from veille.store.outbox import record_event

NOTHING = "rien n'a été reçu"


@dataclass(frozen=True)
class Received:
    """The outcome of receiving a file: a new delivery, one still to finish, or a duplicate."""

    event: DeliveryReceived
    duplicate: bool
    status: str


class FileRefused(Exception):
    """A path that is not a delivery: not a regular file, gone, or changing while it is
    read. The message (French) names it; nothing was archived or recorded."""


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def archive_path(workspace: Workspace, digest: str, name: str) -> Path:
    suffix = "".join(Path(name).suffixes[-1:]).lower()
    return workspace.archive / digest[:2] / f"{digest}{suffix}"


def file_kind(mode: int) -> str | None:
    """What a non-regular file is, in French (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    kinds = [(stat.S_ISLNK, "un lien symbolique"), (stat.S_ISFIFO, "un tube nommé (FIFO)"),
             (stat.S_ISCHR, "un périphérique"), (stat.S_ISBLK, "un périphérique"),
             (stat.S_ISSOCK, "une socket"), (stat.S_ISDIR, "un dossier")]
    return next((name for test, name in kinds if test(mode)), "un fichier spécial")


def read_delivery(path: Path) -> bytes:
    """The bytes of a regular file, read once through one descriptor.

    A symbolic link given here is followed (an analyst's explicit path; the drop folder
    refuses links before this). FIFOs, devices and sockets are refused before they are
    opened: reading one would block, never end, or have side effects. A file whose size or
    modification time changes while it is read is still being written: refused too."""
    try:
        kind = file_kind(os.stat(path).st_mode)
        if kind is not None:
            raise FileRefused(f"{path} : c'est {kind}, pas un fichier ordinaire ; {NOTHING}.")
        # O_NONBLOCK: should the path have become a FIFO meanwhile, do not wait on it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise FileRefused(f"{path} : fichier introuvable ; {NOTHING} (s'il était dans un "
                          "dossier de dépôt, un autre processus l'a peut-être pris en charge)."
                          ) from exc
    except OSError as exc:
        raise FileRefused(f"{path} : illisible ({exc.strerror}) ; {NOTHING}.") from exc
    with os.fdopen(fd, "rb") as handle:
        before = os.fstat(fd)
        kind = file_kind(before.st_mode)
        if kind is not None:
            raise FileRefused(f"{path} : c'est {kind}, pas un fichier ordinaire ; {NOTHING}.")
        data = handle.read()
        after = os.fstat(fd)
    if ((after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)
            or len(data) != after.st_size):
        raise FileRefused(f"{path} : modifié pendant sa lecture (encore en cours d'écriture) ; "
                          f"{NOTHING} : relancez une fois le fichier complet.")
    return data


def _archive(target: Path, data: bytes) -> None:
    """Write ``data`` at ``target`` atomically, through a temporary name of this process
    (two processes archiving the same bytes never write into one file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")
    try:
        with tmp.open("xb") as handle:
            handle.write(data)
        tmp.replace(target)
    except OSError as exc:  # a full disk: no half copy left in the archive
        tmp.unlink(missing_ok=True)
        if exc.filename is None:  # a write names no file: say which one
            raise OSError(exc.errno, exc.strerror, str(tmp)) from exc
        raise


def _known(existing: deliveries.DeliveryRow) -> Received:
    event = DeliveryReceived(
        occurred_at=existing.received_at, delivery_id=existing.id,
        content_hash=existing.content_hash, convention_id=existing.convention_id or "",
        filename=existing.filename, archive_path=existing.archive_path)
    return Received(event, duplicate=existing.status != "received", status=existing.status)


def receive(path: Path, *, workspace: Workspace, catalog: Catalog, engine: Engine,
            clock: Clock, convention_id: str | None = None, history: str = "") -> Received:
    """Archive and record ``path``; a file already fully handled is reported as duplicate.
    ``history`` ("latest" or "all") marks a multi-period export (DeliveryReceived.history).
    Raises FileRefused for a path that is not a complete regular file."""
    data = read_delivery(path)
    digest = content_hash(data)
    if convention_id is None:
        found = catalog.convention_for_file(path.name)
        convention_id = found.id if found is not None else None
    with engine.connect() as conn:
        existing = deliveries.find_by_hash(conn, digest)
    if existing is not None:
        return _known(existing)
    target = archive_path(workspace, digest, path.name)
    if not target.exists():
        _archive(target, data)
    now = clock.now()
    try:
        with engine.begin() as conn:
            delivery_id = deliveries.record_received(
                conn, content_hash=digest, convention_id=convention_id, filename=path.name,
                received_at=now, archive_path=str(target), size_bytes=len(data))
            event = DeliveryReceived(occurred_at=now, delivery_id=delivery_id,
                                     content_hash=digest, convention_id=convention_id or "",
                                     filename=path.name, archive_path=str(target),
                                     history=history)
            record_event(conn, event)
    except IntegrityError:
        # The content hash is unique: another process recorded the same bytes meanwhile.
        with engine.connect() as conn:
            existing = deliveries.find_by_hash(conn, digest)
        if existing is None:
            raise
        return _known(existing)
    return Received(event, duplicate=False, status="received")
