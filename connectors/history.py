"""A provider's multi-period export (every year of the SSMSI offences, say) recorded as one
wave per period, oldest first, so that detection tests them in order and builds its state
(running shifts) as if the deliveries had come one by one.

The file stays one delivery (its bytes, hash and report); each period becomes a wave: a
delivery row of its own named ``<file> [<period>]`` that points at the same archived bytes
and holds that period's observations. All of it is written in one transaction. By default
(``history == "latest"``) every wave but the latest is ``quiet``: tested, its shifts
recorded, but no alert raised; ``"all"`` lets every wave alert (a replay, wave by wave).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine

from connectors.mapping import Parsed
from connectors.rollup_store import rollup_parents
from veille.catalog import Catalog
from veille.clock import Clock
from veille.events import DeliveryReceived, DeliveryRevised, Event, ObservationsRecorded
from veille.store import deliveries
from veille.store import observations as obs_store
from veille.store.outbox import record_event


def wave_hash(content_hash: str, period: str) -> str:
    """The content key of one period of a history export (unique, 64 characters)."""
    return hashlib.sha256(f"{content_hash}:{period}".encode()).hexdigest()


def record_waves(received: DeliveryReceived, parsed: Parsed, catalog: Catalog, engine: Engine,
                 clock: Clock, *, report_path: str | None) -> list[Event]:
    """Record the export's waves and their events; none when another writer took it."""
    frame = parsed.observations
    periods = sorted(frame["period"].unique().tolist())
    now = clock.now()
    out: list[Event] = []
    with engine.begin() as conn:
        if not deliveries.claim(conn, received.delivery_id, "accepted"):
            return out
        for period in periods:
            wave = frame[frame["period"] == period]
            digest = wave_hash(received.content_hash, period)
            wave_id = deliveries.record_received(
                conn, content_hash=digest, convention_id=received.convention_id,
                filename=f"{received.filename} [{period}]", received_at=now,
                archive_path=received.archive_path, size_bytes=0)
            deliveries.claim(conn, wave_id, "accepted")
            obs_store.bulk_insert(conn, wave, wave_id)
            indicators = sorted(wave["indicator"].unique().tolist())
            revision = obs_store.supersede(conn, wave_id, indicators, [period])
            revision = revision.then(rollup_parents(conn, catalog, wave, wave_id, indicators,
                                                    [period]))
            secret = int((wave["status"] == "secret").sum())
            deliveries.mark_accepted(
                conn, wave_id, rows_read=len(wave), observation_count=len(wave),
                secret_count=secret, revised_count=len(revision.changed), periods=[period],
                indicators=indicators)
            recorded = ObservationsRecorded(
                occurred_at=now, delivery_id=wave_id, content_hash=digest,
                convention_id=received.convention_id, periods=[period], indicators=indicators,
                observation_count=len(wave), secret_count=secret,
                series_count=int(wave[["indicator", "territory"]].drop_duplicates().shape[0]),
                revised_count=len(revision.changed),
                quiet=received.history == "latest" and period != periods[-1],
                export_id=received.delivery_id)
            record_event(conn, recorded)
            out.append(recorded)
            if revision.superseded_rows:
                changed = revision.changed[["indicator", "territory"]].drop_duplicates()
                revised = DeliveryRevised(
                    occurred_at=now, delivery_id=wave_id, convention_id=received.convention_id,
                    superseded_deliveries=revision.superseded_deliveries, periods=[period],
                    changed_series=[[a, b] for a, b in changed.itertuples(index=False)],
                    changed_count=len(revision.changed))
                record_event(conn, revised)
                out.append(revised)
        deliveries.mark_accepted(
            conn, received.delivery_id, report_path=report_path, rows_read=parsed.rows_read,
            observation_count=len(frame), secret_count=int((frame["status"] == "secret").sum()),
            revised_count=0, periods=periods,
            indicators=sorted(frame["indicator"].unique().tolist()))
    return out
