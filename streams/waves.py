"""The detect stage cut in three for the bus: plan (wave level), confirm (per chunk),
conclude (wave level, once every chunk is in).

The same detector phases as the embedded runner (`detectors.wave.plan_wave`,
`confirm_tasks`, `conclude_wave`, `detectors.stage.record_wave`), so both runners give the
same shifts with the same q-values. PostgreSQL is the system of record for a wave in
flight: ``waves`` holds its manifest (how many chunks to expect, the wave's BH m),
``wave_tests`` one row per tested chunk. Every write is idempotent by its natural key
(delivery, chunk), so a redelivered message changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from detectors.confirm import Confirmed, ConfirmTask
from detectors.design import make_layout
from detectors.screen import ScreenResult
from detectors.stage import (
    WaveInput,
    build_batch,
    recheck_after_revision,
    record_wave,
    running_rows,
)
from detectors.wave import (
    TestOutcome,
    WaveResult,
    confirm_tasks,
    findings_of,
    judge,
    plan_tasks,
    plan_wave,
)
from detectors.wave_record import blocks, concluded, from_blocks, screened
from veille.catalog import Catalog
from veille.events import Event, ObservationsRecorded, TestsChunk, decode
from veille.store.columnar import ColumnarHistory
from veille.store.schema import events as events_table
from veille.store.schema import wave_tests, waves
from veille.store.series_tests import read_wave, write_wave

CHUNK_TESTS = 64
"""At most this many tests per chunk (one indicator per chunk): a message stays well under
a megabyte and a chunk's confirmation under a second."""


# --- (de)serialising detector tasks and outcomes -----------------------------------------

def _bits(mask: np.ndarray) -> str:
    return "".join("1" if b else "0" for b in np.asarray(mask, dtype=bool))


def _unbits(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), dtype=np.uint8) == ord("1")


def _floats(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=float)]


def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype == bool:
            return {"bits": _bits(value)}
        return {"floats": _floats(value)}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "bits" in value:
        return _unbits(value["bits"])
    if isinstance(value, dict) and "floats" in value:
        return np.array(value["floats"], dtype=float)
    return value


def task_to_dict(task: ConfirmTask) -> dict[str, Any]:
    """A task as JSON-ready data, field by field (floats round-trip exactly through JSON;
    a field the detectors add later travels too)."""
    return {f.name: _encode(getattr(task, f.name)) for f in dataclasses.fields(task)}


def task_from_dict(data: dict[str, Any]) -> ConfirmTask:
    return ConfirmTask(**{name: _decode(value) for name, value in data.items()})


def outcome_to_dict(outcome: TestOutcome) -> dict[str, Any]:
    data = dict(outcome.confirmed.__dict__)
    return {"confirmed": data, "baseline": outcome.baseline}


def outcome_from_dict(data: dict[str, Any]) -> TestOutcome:
    return TestOutcome(Confirmed(**data["confirmed"]), str(data["baseline"]))


# --- plan ---------------------------------------------------------------------------------

@dataclass
class Plan:
    """A planned wave: its chunks (possibly none) and what the FDR step needs to know."""

    wave: WaveInput | None
    n_tests: int
    chunks: list[TestsChunk]
    screen: ScreenResult | None = None


def plan(recorded: ObservationsRecorded, *, catalog: Catalog, engine: Engine,
         history: ColumnarHistory, lock: threading.Lock, q: float,
         chunk_tests: int = CHUNK_TESTS) -> Plan:
    """Screen the whole wave (the screen's cutoff is wave-level), then cut the chosen tests
    into chunks of one indicator and at most ``chunk_tests`` tests."""
    with lock:
        history.sync(engine, recorded.indicators)
        wave = build_batch(catalog, history, recorded.indicators, max(recorded.periods))
    if wave is None:
        return Plan(None, 0, [])
    batch = wave.batch
    decided = plan_wave(batch, q)
    tasks = plan_tasks(batch, decided)
    groups: list[list[ConfirmTask]] = []
    current: list[ConfirmTask] = []
    for task in tasks:  # tasks come in row order, so an indicator's tests are contiguous
        indicator = batch.keys[task.series][0]
        if current and (len(current) >= chunk_tests
                        or batch.keys[current[0].series][0] != indicator):
            groups.append(current)
            current = []
        current.append(task)
    if current:
        groups.append(current)
    chunks = [TestsChunk(occurred_at=recorded.occurred_at, delivery_id=recorded.delivery_id,
                         chunk=k, chunks=len(groups), indicator=batch.keys[g[0].series][0],
                         season_length=batch.season_length, periods=list(batch.periods),
                         tests=[task_to_dict(t) for t in g])
              for k, g in enumerate(groups)]
    return Plan(wave, decided.n_tests, chunks, decided.screen)


def chunk_partition_key(chunk: TestsChunk) -> str:
    """Observations travel partitioned by series key: the chunk's first series."""
    first = chunk.tests[0]["series"] if chunk.tests else 0
    return f"{chunk.indicator}|{chunk.delivery_id}|{first}"


def open_wave(engine: Engine, recorded: ObservationsRecorded, planned: Plan) -> bool:
    """Write the wave's manifest (once); False if it was there already."""
    try:
        with engine.begin() as conn:
            conn.execute(insert(waves).values(
                delivery_id=recorded.delivery_id, period=max(recorded.periods),
                indicators=list(recorded.indicators),
                n_series=planned.wave.batch.n_series if planned.wave else 0,
                n_tests=planned.n_tests, expected_chunks=len(planned.chunks),
                status="gathering", planned_at=recorded.occurred_at, outputs=[]))
            if planned.wave is not None and planned.screen is not None:
                record = screened(planned.wave.batch.keys, planned.screen,
                                  planned.wave.absent)
                write_wave(conn, recorded.delivery_id, max(recorded.periods), blocks(record))
        return True
    except IntegrityError:
        return False


def wave_row(conn: Connection, delivery_id: int) -> dict | None:
    row = conn.execute(select(waves).where(waves.c.delivery_id == delivery_id)).first()
    return dict(row._mapping) if row is not None else None


# --- confirm ------------------------------------------------------------------------------

def confirm_chunk(chunk: TestsChunk, engine: Engine, now: dt.datetime,
                  worker: str | None = None) -> bool:
    """Confirm a chunk's tests and store the outcomes (once per delivery and chunk; the
    worker's name is kept to show how a wave's work was spread)."""
    with engine.connect() as conn:
        done = conn.execute(select(wave_tests.c.chunk).where(
            wave_tests.c.delivery_id == chunk.delivery_id,
            wave_tests.c.chunk == chunk.chunk)).first()
    if done is not None:
        return False
    layout = make_layout(len(chunk.periods), chunk.season_length)
    outcomes = confirm_tasks([task_from_dict(t) for t in chunk.tests], layout, chunk.periods)
    try:
        with engine.begin() as conn:
            conn.execute(insert(wave_tests).values(
                delivery_id=chunk.delivery_id, chunk=chunk.chunk,
                outcomes=[outcome_to_dict(o) for o in outcomes], tested_at=now,
                worker=worker))
    except IntegrityError:
        return False
    return True


# --- conclude (the FDR step) --------------------------------------------------------------

def chunks_in(conn: Connection, delivery_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(wave_tests)
                            .where(wave_tests.c.delivery_id == delivery_id)).scalar() or 0)


def conclude(recorded: ObservationsRecorded, *, catalog: Catalog, engine: Engine,
             history: ColumnarHistory, lock: threading.Lock, q: float,
             wave: WaveInput | None = None) -> tuple[bool, list[Event]]:
    """If every chunk of the wave is in: BH over the whole wave, shifts recorded with the
    wave's events, the wave marked done — one transaction. Returns (concluded now, events);
    a wave concluded before returns its recorded events again, for re-publishing."""
    started = time.perf_counter()
    with engine.connect() as conn:
        row = wave_row(conn, recorded.delivery_id)
        if row is None:
            return False, []
        if row["status"] == "done":
            return False, outputs_of(conn, row["outputs"])
        if chunks_in(conn, recorded.delivery_id) < row["expected_chunks"]:
            return False, []
        stored = conn.execute(select(wave_tests.c.outcomes).where(
            wave_tests.c.delivery_id == recorded.delivery_id)).all()
    outcomes = [outcome_from_dict(o) for r in stored for o in r.outcomes]
    if wave is None and row["n_series"]:
        with lock:
            history.sync(engine, recorded.indicators)
            wave = build_batch(catalog, history, recorded.indicators, row["period"])
    result, tests = None, None
    if wave is not None:
        with engine.connect() as conn:
            running = running_rows(conn, wave)
            stored_tests = read_wave(conn, recorded.delivery_id)
        judgement = judge(outcomes, row["n_tests"], q, running)
        result = WaveResult(findings=findings_of(wave.batch, judgement),
                            n_tests=row["n_tests"],
                            n_candidates=len(outcomes), n_series=wave.batch.n_series,
                            cutoff=float("nan"), pvalues=np.empty((0, 4)),
                            screen_pvalues=np.empty((0, 4)), q=q, judgement=judgement)
        if stored_tests:
            tests = concluded(from_blocks([(b.indicator, b.arrays, b.details)
                                           for b in stored_tests]),
                              judgement, running)
    with engine.begin() as conn:
        locked = conn.execute(select(waves.c.status).where(
            waves.c.delivery_id == recorded.delivery_id).with_for_update()).scalar()
        if locked == "done":
            return False, []
        first_run, produced = record_wave(conn, recorded, wave, result,
                                          now=recorded.occurred_at, q=q,
                                          seconds=time.perf_counter() - started,
                                          tests=tests)
        if first_run:
            with lock:
                produced += recheck_after_revision(conn, recorded, catalog=catalog,
                                                   history=history, now=recorded.occurred_at,
                                                   q=q)
        conn.execute(update(waves).where(waves.c.delivery_id == recorded.delivery_id).values(
            status="done", completed_at=dt.datetime.now(dt.UTC),
            outputs=[[type(e).__name__, e.key] for e in produced]))
    return True, produced


def outputs_of(conn: Connection, refs: Sequence[Sequence[str]]) -> list[Event]:
    """The recorded events named by (type, key) pairs, from the event log."""
    out: list[Event] = []
    for type_name, key in refs:
        payload = conn.execute(select(events_table.c.payload).where(
            events_table.c.type == type_name, events_table.c.key == key)).scalar()
        if payload is not None:
            out.append(decode(payload))
    return out


def recorded_of(conn: Connection, delivery_id: int) -> ObservationsRecorded | None:
    """The delivery's ObservationsRecorded, from the event log."""
    from veille.store import deliveries

    row = deliveries.get(conn, delivery_id)
    payload = conn.execute(select(events_table.c.payload).where(
        events_table.c.type == "ObservationsRecorded",
        events_table.c.key == row.content_hash)).scalar()
    event = decode(payload) if payload is not None else None
    return event if isinstance(event, ObservationsRecorded) else None


def waves_in_flight(engine: Engine) -> list[dict]:
    """Waves still gathering, with how many chunks are in (for `veille bus status`)."""
    with engine.connect() as conn:
        rows = conn.execute(select(waves).where(waves.c.status != "done")
                            .order_by(waves.c.delivery_id)).all()
        return [dict(r._mapping, chunks_in=chunks_in(conn, r.delivery_id)) for r in rows]


def earlier_in_flight(engine: Engine, delivery_id: int) -> list[int]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(
            select(waves.c.delivery_id).where(waves.c.status != "done",
                                              waves.c.delivery_id < delivery_id))]
