"""Re-process a quarantined delivery from its archived bytes with today's catalog.

When the convention, not the file, was wrong, the provider's bytes are right: sending them
again would be a duplicate (same content hash) and change nothing. The analyst fixes the
convention and retries: the delivery goes back to ``received`` with a new DeliveryReceived
(attempt n + 1), the pipeline ingests it as any delivery, and the earlier attempt is kept
(its status, counts, first problems and a copy of its report) in ``delivery_attempts``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Connection, Engine, select

from connectors.report import report_paths
from veille.catalog import Catalog
from veille.clock import Clock
from veille.config import Workspace
from veille.errors import VeilleError
from veille.events import DeliveryReceived
from veille.store import deliveries
from veille.store.outbox import record_event
from veille.store.schema import events


class RetryRefused(VeilleError):
    """The delivery cannot be retried (unknown, not quarantined, archive gone)."""

    hint = ("Seule une livraison en quarantaine se relance : « veille deliveries --status "
            "quarantined » les liste.")


def retry_delivery(delivery_id: int, *, workspace: Workspace, catalog: Catalog,
                   engine: Engine, clock: Clock, convention_id: str | None = None,
                   by: str | None = None) -> DeliveryReceived:
    """Put quarantined delivery ``delivery_id`` back in the pipeline (run it with the
    runner's ``run_pending``); ``convention_id`` overrides the one it was received with
    (default: that one if it still exists, else the one its file name matches today)."""
    with engine.connect() as conn:
        row = deliveries.find(conn, delivery_id)
    if row is None:
        raise RetryRefused(f"la livraison {delivery_id} n'existe pas")
    if row.status != "quarantined":
        raise RetryRefused(f"la livraison {delivery_id} ({row.filename}) est "
                           f"« {row.status} », pas en quarantaine : rien à relancer")
    if not Path(row.archive_path).is_file():
        raise RetryRefused(f"la copie archivée de la livraison {delivery_id} manque : "
                           f"{row.archive_path}")
    if convention_id is None:
        found = catalog.convention_for_file(row.filename)
        convention_id = (row.convention_id if row.convention_id in catalog.conventions
                         else found.id if found is not None else row.convention_id)
    elif convention_id not in catalog.conventions:
        raise RetryRefused(f"convention inconnue « {convention_id} » ; connues : "
                           f"{', '.join(sorted(catalog.conventions)) or 'aucune'}")
    now = clock.now()
    with engine.begin() as conn:
        attempt = deliveries.attempt_count(conn, delivery_id) + 1
        kept = _keep_report(row.report_path, attempt)
        if not deliveries.reopen(conn, delivery_id, attempt=attempt, report_path=kept,
                                 convention_id=convention_id, at=now, by=by):
            raise RetryRefused(f"la livraison {delivery_id} a changé d'état pendant la "
                               "relance (un autre processus l'a prise)")
        event = DeliveryReceived(
            occurred_at=now, delivery_id=delivery_id, content_hash=row.content_hash,
            convention_id=convention_id or "", filename=row.filename,
            archive_path=row.archive_path, attempt=attempt + 1,
            history=_history_mode(conn, row.content_hash))
        record_event(conn, event)
    return event


def _history_mode(conn: Connection, content_hash: str) -> str:
    """A history export is retried as one (the mode its first reception said)."""
    payload = conn.execute(select(events.c.payload).where(
        events.c.type == "DeliveryReceived", events.c.key == content_hash)).scalar()
    return str((payload or {}).get("history", ""))


def _keep_report(report_path: str | None, attempt: int) -> str | None:
    """Copy the attempt's report (text and CSV) to ``tentative-<n>/`` beside it, so the
    next attempt's report does not replace it; the copy's path."""
    if report_path is None or not Path(report_path).is_file():
        return report_path
    text = Path(report_path)
    folder = text.parent / f"tentative-{attempt}"
    folder.mkdir(exist_ok=True)
    for path in report_paths(text.with_name(text.name.removesuffix(".rapport.txt"))):
        if path.is_file():
            shutil.copy2(path, folder / path.name)
    return str(folder / text.name)
