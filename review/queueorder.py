"""Which shifts a queue holds and in what order, from its filters: the queue page lists
them, a shift page opened from the queue finds its previous and next ones, and a decision
goes on to the next one with the same filters."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from sqlalchemy import Connection

from veille.catalog import Catalog
from veille.store import shifts as shift_store

FILTERS = ("theme", "territory", "kind", "status", "wave")
DEFAULTS = {"status": "pending"}


def filters_of(params: Mapping[str, str]) -> dict[str, str]:
    """The queue's filters from a query string (nothing else of it): a missing status
    means the pending ones, an empty one every status."""
    return {k: str(params.get(k, DEFAULTS.get(k, ""))) for k in FILTERS}


def query_of(filters: Mapping[str, str]) -> str:
    """The query string that gives these filters back (the status is always written, so
    "every status" survives a round trip)."""
    return urlencode({k: v for k, v in filters.items() if v or k == "status"})


def severity_key(row: dict) -> tuple:
    """Most severe first: strongest evidence (q), then the largest relative move."""
    rel = abs(float(row["rel_change"])) if row.get("rel_change") is not None else 0.0
    return (float(row["q_value"]), -rel, str(row["shift_id"]))


def queue_rows(conn: Connection, catalog: Catalog, filters: Mapping[str, str]) -> list[dict]:
    """The active shifts the filters select, most severe first."""
    rows = shift_store.list_shifts(conn, status="active",
                                   review_status=filters.get("status") or None,
                                   kind=filters.get("kind") or None)
    if theme := filters.get("theme"):
        rows = [r for r in rows if (i := catalog.indicators.get(r["indicator"]))
                and i.theme.value == theme]
    if territory := filters.get("territory"):
        rows = [r for r in rows if catalog.within([territory], r["territory"])]
    if wave := filters.get("wave"):
        rows = [r for r in rows if str(r["delivery_id"]) == wave]
    rows.sort(key=severity_key)
    return rows


def neighbours(ids: list[str], shift_id: str) -> tuple[str | None, str | None]:
    """The previous and next shift around ``shift_id`` in the queue (None at its ends or
    when it is not in the queue)."""
    if shift_id not in ids:
        return None, ids[0] if ids else None
    at = ids.index(shift_id)
    return (ids[at - 1] if at > 0 else None, ids[at + 1] if at + 1 < len(ids) else None)


def next_after(before: list[str], after: list[str], shift_id: str) -> str | None:
    """After a decision on ``shift_id``: the first shift that followed it in the queue
    (``before``) and is still in it (``after``), else the first one still waiting."""
    remaining = set(after) - {shift_id}
    start = before.index(shift_id) + 1 if shift_id in before else 0
    for candidate in before[start:]:
        if candidate in remaining:
            return candidate
    return next((c for c in after if c != shift_id), None)
