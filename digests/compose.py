"""Composing messages: which alerts go to which cell now, rendered once and queued per
recipient in the outbox, under a natural id so that composing twice changes nothing.

* a cell on the ``immediate`` schedule gets one message with everything pending;
* other cells get alerts at or above their ``immediate_severity`` at once, one message
  each, and the rest in the digest of their weekly or monthly slot ('<cell>:mois-2026-03');
* an alert retracted after it was sent produces a short notice to those who were told.

Nothing is composed for a cell inside its quiet hours.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, Engine

from digests.channels import mask_url
from digests.charts import sparkline
from digests.maps import cell_map
from digests.present import DigestView, digest_view, retraction_view
from digests.render import render
from digests.schedule import in_quiet_hours, slot_label
from veille.catalog import Catalog
from veille.model import Cell, Severity
from veille.periods import period_range, shift
from veille.store import alerts as alert_store
from veille.store import masks
from veille.store import notifications as store
from veille.store import observations as obs_store
from veille.store import shifts as shift_store

CHART_PERIODS = 24


class _Taken(Exception):
    """Another worker claimed some of these alerts first: this composition is dropped."""


def _short(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]


def compose_due(now: dt.datetime, *, catalog: Catalog, cells: dict[str, Cell], engine: Engine,
                base_url: str) -> list[str]:
    """Compose every message due at ``now``; returns the new message ids."""
    composed: list[str] = []
    with engine.connect() as conn:
        retracted = alert_store.retracted_untold(conn)
    for alert in retracted:
        cell = cells.get(alert["cell_id"])
        if cell is not None and not in_quiet_hours(cell, now):
            composed += _compose_retraction(now, cell, alert, catalog, engine, base_url)
    for cell in cells.values():
        if in_quiet_hours(cell, now) or not cell.members:
            continue
        composed += _compose_immediate(now, cell, catalog, engine, base_url)
        composed += _compose_scheduled(now, cell, catalog, engine, base_url)
    return composed


def _compose_immediate(now: dt.datetime, cell: Cell, catalog: Catalog, engine: Engine,
                       base_url: str) -> list[str]:
    with engine.connect() as conn:
        pending = alert_store.unsent(conn, cell.id)
        ended = alert_store.ended_untold(conn, cell.id) if cell.schedule == "immediate" else []
    if cell.schedule == "immediate":
        if not pending and not ended:
            return []
        return _compose(now, cell, f"{cell.id}:immediat:{now:%Y%m%dT%H%M%S}", "alert",
                        pending, ended, catalog, engine, base_url)
    if cell.immediate_severity is None:
        return []
    urgent = [a for a in pending if Severity(a["severity"]).rank >= cell.immediate_severity.rank]
    out: list[str] = []
    for alert in urgent:
        out += _compose(now, cell, f"{cell.id}:alerte:{_short(alert['dedup_key'])}", "alert",
                        [alert], [], catalog, engine, base_url)
    return out


def _compose_scheduled(now: dt.datetime, cell: Cell, catalog: Catalog, engine: Engine,
                       base_url: str) -> list[str]:
    slot = slot_label(cell, now)
    if slot is None:
        return []
    digest_id = f"{cell.id}:{slot}"
    with engine.connect() as conn:
        if store.get_digest(conn, digest_id) is not None:
            return []
        pending = alert_store.unsent(conn, cell.id)
        ended = alert_store.ended_untold(conn, cell.id)
    return _compose(now, cell, digest_id, "digest", pending, ended, catalog, engine, base_url,
                    slot=slot)


def _compose(now: dt.datetime, cell: Cell, digest_id: str, kind: str,
             alerts: list[dict[str, Any]], ended: list[dict[str, Any]], catalog: Catalog,
             engine: Engine, base_url: str, slot: str | None = None) -> list[str]:
    try:
        with engine.begin() as conn:
            charts = alert_charts(conn, catalog, alerts)
            view = digest_view(cell, kind, alerts, ended, catalog, base_url, charts, now,
                               map_png=cell_map(catalog, cell, alerts))
            status = "pending" if alerts or ended else "empty"
            if not _store_message(conn, view, digest_id, cell.id, slot or kind, status, now):
                return []
            keys = [a["dedup_key"] for a in alerts]
            if len(alert_store.claim(conn, keys, "digest_id", digest_id)) != len(keys):
                raise _Taken(digest_id)
            ended_keys = [a["dedup_key"] for a in ended]
            if len(alert_store.claim(conn, ended_keys, "resolution_digest_id", digest_id)
                   ) != len(ended_keys):
                raise _Taken(digest_id)
            if status == "pending":
                for member in cell.members:
                    store.enqueue(conn, digest_id=digest_id, cell_id=cell.id,
                                  recipient=member.name, channel=mask_url(member.url), at=now)
    except _Taken:
        return []
    return [digest_id] if status == "pending" else []


def _compose_retraction(now: dt.datetime, cell: Cell, alert: dict[str, Any], catalog: Catalog,
                        engine: Engine, base_url: str) -> list[str]:
    digest_id = f"{cell.id}:retrait:{_short(alert['dedup_key'])}"
    try:
        with engine.begin() as conn:
            told = store.delivered_recipients(conn, alert["digest_id"])
            view = retraction_view(cell, alert, catalog, base_url, now)
            status = "pending" if told else "empty"
            if not _store_message(conn, view, digest_id, cell.id, "retraction", status, now):
                return []
            if not alert_store.claim(conn, [alert["dedup_key"]], "retraction_digest_id",
                                     digest_id):
                raise _Taken(digest_id)
            for row in told:
                store.enqueue(conn, digest_id=digest_id, cell_id=cell.id,
                              recipient=row["recipient"], channel=row["channel"], at=now)
    except _Taken:
        return []
    return [digest_id] if told else []


def _store_message(conn: Connection, view: DigestView, digest_id: str, cell_id: str,
                   slot: str, status: str, now: dt.datetime) -> bool:
    rendered = render(view)
    return store.insert_digest(conn, {
        "digest_id": digest_id, "cell_id": cell_id, "kind": view.kind, "slot": slot,
        "subject": rendered.subject, "body_text": rendered.text, "body_html": rendered.html,
        "alert_count": view.alert_count, "status": status, "created_at": now})


def alert_charts(conn: Connection, catalog: Catalog, alerts: list[dict[str, Any]],
                 ) -> dict[str, bytes]:
    """A sparkline per alert of a series, drawn from published values only."""
    wanted: dict[str, list[tuple[dict[str, Any], list[str]]]] = defaultdict(list)
    for alert in alerts:
        if alert["indicator"] not in catalog.indicators:
            continue
        periods: list[str] = []
        if alert.get("shift_id"):
            row = shift_store.get(conn, alert["shift_id"])
            periods = list((row or {}).get("chart", {}).get("periods") or [])
        if not periods:
            end = (alert["basis"] or {}).get("period") or alert["period"]
            try:
                periods = period_range(shift(end, -(CHART_PERIODS - 1)), end)
            except ValueError:
                continue
        wanted[alert["indicator"]].append((alert, periods))
    charts: dict[str, bytes] = {}
    for indicator, items in wanted.items():
        periods = sorted({p for _, ps in items for p in ps})
        frame = obs_store.current(conn, indicators=[indicator], periods=periods)
        shown = masks.published_values(conn, frame, catalog)
        for alert, ps in items:
            values = [shown.get((indicator, alert["territory"], p)) for p in ps]
            rule = (alert["basis"] or {}).get("rule") or {}
            level = rule.get("above", rule.get("below")) if rule.get("kind") == "level" else None
            png = sparkline(values, threshold=level)
            if png is not None:
                charts[alert["dedup_key"]] = png
    return charts
