"""The distributed runner: a Faust app whose agents call the same stage functions as the
embedded runner, with PostgreSQL as the store.

    deliveries ──ingest_delivery (+ wave plan)──> observations (chunks, by series key)
    observations ──confirm_tests──> wave-tests (by delivery: the FDR gathering)
    wave-tests ──gather_wave (BH over the whole wave)──> shifts (by series key)
    shifts, routing ──route_shift / route_event──> alerts (by cell)
    alerts ──announce_alert──> digests (by cell);  ticks ──watch_time──> alerts, digests
    digests ──send_digests──> outbox / Apprise (+ NotificationFailed -> routing)

Messages are the core's typed events (``to_json`` / ``decode``); one that does not decode
goes to ``veille-dead-letters`` with the reason and the worker keeps going. Each stage runs
in a thread (the event loop keeps heartbeating), with the event's own time as its clock so
that a redelivered message is judged exactly as the first time. Every sink is idempotent by
its natural key; Kafka gives at-least-once and no transactions are used.

Configuration comes from the environment (set by ``veille worker``): VEILLE_KAFKA,
VEILLE_WORKSPACE, VEILLE_KAFKA_SESSION_TIMEOUT, VEILLE_CHUNK_TESTS, VEILLE_DIGEST_ON_ALERT,
VEILLE_TICK_SECONDS. Nothing is opened at import time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import faust

from streams.bus import TOPICS, prefix, topic_name
from veille.clock import FixedClock
from veille.events import (
    AlertRaised,
    AlertResolved,
    AlertRetracted,
    AlertUpdated,
    ChunkTested,
    ClockTicked,
    DeliveryOverdue,
    DeliveryQuarantined,
    DeliveryReceived,
    DigestsDue,
    Event,
    EventDecodeError,
    NotificationFailed,
    ObservationsRecorded,
    ShiftDetected,
    ShiftRetracted,
    ShiftReviewed,
    TestsChunk,
    decode,
)

log = logging.getLogger("veille.streams")
T = TypeVar("T")


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _datadir() -> Path:
    """Faust's local state goes in the workspace, per worker (not in the current
    directory, where it would litter the checkout or the container's /app)."""
    name = os.environ.get("VEILLE_WORKER_NAME") or socket.gethostname()
    return Path(os.environ.get("VEILLE_WORKSPACE", "workspace")) / "worker-data" / name


app = faust.App(
    prefix(),
    broker=os.environ.get("VEILLE_KAFKA", "kafka://127.0.0.1:9092"),
    datadir=str(_datadir()),
    autodiscover=False,
    web_enabled=False,
    broker_session_timeout=_env_float("VEILLE_KAFKA_SESSION_TIMEOUT", 60.0),
    broker_heartbeat_interval=max(_env_float("VEILLE_KAFKA_SESSION_TIMEOUT", 60.0) / 6, 0.5),
    broker_commit_interval=_env_float("VEILLE_KAFKA_COMMIT_INTERVAL", 1.0),
    consumer_auto_offset_reset="earliest",
    topic_allow_declare=True,
    topic_disable_leader=True,
    producer_acks=-1,
)


def _fetch_wait_patch() -> None:
    """Faust hard-codes the consumer's fetch_max_wait_ms (1500). Kafka answers a fetch as
    soon as data arrives, but Tansu answers a fetch over several partitions only when the
    wait runs out: ~0.5 s per hop, six hops per delivery. VEILLE_KAFKA_FETCH_WAIT_MS sets
    it (the tests and benchmark: 100 ms; unset, Faust's value stays)."""
    wait = os.environ.get("VEILLE_KAFKA_FETCH_WAIT_MS")
    if not wait:
        return
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    original = AIOKafkaConsumerThread._create_worker_consumer
    if getattr(original, "veille_fetch_wait", False):
        return

    def create(self: AIOKafkaConsumerThread, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = int(wait)  # read when the consumer starts
        return consumer

    create.veille_fetch_wait = True  # type: ignore[attr-defined]
    AIOKafkaConsumerThread._create_worker_consumer = create  # type: ignore[method-assign]


_fetch_wait_patch()


def _topic(short: str) -> faust.TopicT:
    return app.topic(topic_name(short), partitions=TOPICS[short], key_type=bytes,
                     value_type=bytes, key_serializer="raw", value_serializer="raw")


deliveries_topic = _topic("deliveries")
observations_topic = _topic("observations")
wave_tests_topic = _topic("wave-tests")
shifts_topic = _topic("shifts")
routing_topic = _topic("routing")
alerts_topic = _topic("alerts")
ticks_topic = _topic("ticks")
digests_topic = _topic("digests")
dead_letters_topic = _topic("dead-letters")


# --- the worker's context (opened on first use, never at import) -----------------------------

@dataclass
class Context:
    runtime: Any
    name: str
    routing: Any
    history: Any
    history_lock: threading.Lock
    q: float
    chunk_tests: int
    digest_on_alert: bool
    wave_wait: float


@cache
def context() -> Context:
    from streams.waves import CHUNK_TESTS
    from thresholds.routing import Routing
    from thresholds.subscriptions import load_subscriptions
    from veille.runtime import open_runtime
    from veille.store.columnar import ColumnarHistory

    runtime = open_runtime(Path(os.environ.get("VEILLE_WORKSPACE", "workspace")))
    name = os.environ.get("VEILLE_WORKER_NAME") or socket.gethostname()
    # each worker keeps its own derived copy of the history, synced from the store
    history = ColumnarHistory(runtime.workspace.root / "worker-history" / name)
    return Context(
        runtime=runtime, name=name,
        routing=Routing.build(runtime.catalog, load_subscriptions(runtime.catalog)),
        history=history, history_lock=threading.Lock(),
        q=runtime.workspace.settings.fdr_q,
        chunk_tests=int(os.environ.get("VEILLE_CHUNK_TESTS", CHUNK_TESTS)),
        digest_on_alert=os.environ.get("VEILLE_DIGEST_ON_ALERT", "1") not in {"0", "false"},
        wave_wait=_env_float("VEILLE_WAVE_WAIT", 600.0))


async def _work(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Stage work runs in a thread: the loop keeps the consumer group's heartbeats going.
    Its duration is logged (info) to see where a wave's time goes."""
    started = time.perf_counter()
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    finally:
        log.info("%s: %.3f s", getattr(fn, "__name__", fn), time.perf_counter() - started)


# --- sending events --------------------------------------------------------------------------

def _key(event: Event) -> tuple[faust.TopicT | None, str]:
    """Which topic an output event goes to, and its partition key."""
    if isinstance(event, ShiftDetected | ShiftRetracted):
        return shifts_topic, f"{event.indicator}|{event.territory}"
    if isinstance(event, AlertRaised | AlertUpdated | AlertResolved | AlertRetracted):
        return alerts_topic, event.cell_id
    if isinstance(event, ObservationsRecorded):
        return routing_topic, event.convention_id  # a convention's waves routed in order
    if isinstance(event, DeliveryQuarantined | DeliveryOverdue | NotificationFailed
                  | ShiftReviewed):
        return routing_topic, event.key
    if isinstance(event, ChunkTested):
        return wave_tests_topic, str(event.delivery_id)
    if isinstance(event, DigestsDue):
        return digests_topic, event.cell_id
    return None, ""  # DeliveryRevised, DigestSent: recorded in the store, no consumer


async def emit(events: list[Event]) -> None:
    for event in events:
        topic, key = _key(event)
        if topic is not None:
            await topic.send(key=key.encode(), value=event.to_json())


async def _decoded(stream: faust.StreamT, source: str) -> Any:
    """Decode each message; a message that does not decode goes to the dead-letter topic."""
    async for value in stream:
        try:
            event = decode(value)
        except EventDecodeError as exc:
            await dead_letter(source, value, str(exc))
            continue
        yield event


async def dead_letter(source: str, value: bytes | None, reason: str) -> None:
    log.warning("dead letter from %s: %s", source, reason)
    text = (value or b"").decode("utf-8", errors="replace")
    await dead_letters_topic.send(key=source.encode(), value=json.dumps(
        {"topic": source, "reason": reason, "payload": text[:100_000],
         "at": dt.datetime.now(dt.UTC).isoformat()}, ensure_ascii=False).encode())


async def _unexpected(source: str, event: Event) -> None:
    await dead_letter(source, event.to_json(),
                      f"{type(event).__name__} is not an event this topic carries")


# --- agents ----------------------------------------------------------------------------------

@app.agent(deliveries_topic)
async def ingest_delivery(stream: faust.StreamT) -> None:
    """DeliveryReceived -> ingest -> wave plan (chunks) + events for routing."""
    async for event in _decoded(stream, topic_name("deliveries")):
        if not isinstance(event, DeliveryReceived):
            await _unexpected(topic_name("deliveries"), event)
            continue
        ctx = context()
        await _wait_for_earlier_waves(ctx, event.delivery_id)
        outputs, chunks, concluded = await _work(_ingest_and_plan, ctx, event)
        for chunk in chunks:
            from streams.waves import chunk_partition_key

            await observations_topic.send(key=chunk_partition_key(chunk).encode(),
                                          value=chunk.to_json())
        await emit(outputs + concluded)


async def _wait_for_earlier_waves(ctx: Context, delivery_id: int) -> None:
    """Waves complete in arrival order, as in the embedded runner: a delivery is ingested
    once the waves before it are concluded (a wave stuck longer than VEILLE_WAVE_WAIT is
    left to `veille bus status` to report, and ingestion goes on)."""
    from streams.waves import earlier_in_flight

    waited = 0.0
    while waited < ctx.wave_wait:
        stuck = await _work(earlier_in_flight, ctx.runtime.engine, delivery_id)
        if not stuck:
            return
        await asyncio.sleep(0.2)
        waited += 0.2
    log.error("waves %s still gathering after %.0f s; ingesting delivery %s anyway",
              stuck, waited, delivery_id)


def _ingest_and_plan(ctx: Context, received: DeliveryReceived,
                     ) -> tuple[list[Event], list[TestsChunk], list[Event]]:
    from connectors.ingest import ingest
    from streams import waves

    rt = ctx.runtime
    clock = FixedClock(received.occurred_at)
    outputs = ingest(received, workspace=rt.workspace, catalog=rt.catalog, engine=rt.engine,
                     clock=clock).events
    if not outputs:  # handled before (a redelivery): re-publish what it produced
        outputs = _recorded_outputs(rt.engine, received)
    recorded = next((e for e in outputs if isinstance(e, ObservationsRecorded)), None)
    chunks: list[TestsChunk] = []
    concluded: list[Event] = []
    if recorded is not None:
        with rt.engine.connect() as conn:
            row = waves.wave_row(conn, recorded.delivery_id)
        if row is None or row["status"] != "done":
            planned = waves.plan(recorded, catalog=rt.catalog, engine=rt.engine,
                                 history=ctx.history, lock=ctx.history_lock, q=ctx.q,
                                 chunk_tests=ctx.chunk_tests)
            waves.open_wave(rt.engine, recorded, planned)
            chunks = planned.chunks
            if not chunks:  # nothing to confirm: the wave is complete already
                _, concluded = waves.conclude(recorded, catalog=rt.catalog, engine=rt.engine,
                                              history=ctx.history, lock=ctx.history_lock,
                                              q=ctx.q, wave=planned.wave)
    return outputs, chunks, concluded


def _recorded_outputs(engine: Any, received: DeliveryReceived) -> list[Event]:
    from sqlalchemy import select

    from veille.store.schema import events

    with engine.connect() as conn:
        rows = conn.execute(select(events.c.payload).where(
            events.c.key == received.content_hash,
            events.c.type.in_(["ObservationsRecorded", "DeliveryQuarantined"]))).all()
    return [decode(r.payload) for r in rows]


@app.agent(observations_topic)
async def confirm_tests(stream: faust.StreamT) -> None:
    """A chunk of a wave's tests -> statsmodels -> outcomes in the store -> ChunkTested."""
    from streams.waves import confirm_chunk

    async for event in _decoded(stream, topic_name("observations")):
        if not isinstance(event, TestsChunk):
            await _unexpected(topic_name("observations"), event)
            continue
        ctx = context()
        await _work(confirm_chunk, event, ctx.runtime.engine, event.occurred_at, ctx.name)
        await emit([ChunkTested(occurred_at=event.occurred_at, delivery_id=event.delivery_id,
                                chunk=event.chunk, chunks=event.chunks)])


@app.agent(wave_tests_topic)
async def gather_wave(stream: faust.StreamT) -> None:
    """The FDR step: when every chunk of a wave is in, BH over the whole wave."""
    async for event in _decoded(stream, topic_name("wave-tests")):
        if not isinstance(event, ChunkTested):
            await _unexpected(topic_name("wave-tests"), event)
            continue
        produced = await _work(_gather, context(), event)
        await emit(produced)


def _gather(ctx: Context, tested: ChunkTested) -> list[Event]:
    from streams import waves

    rt = ctx.runtime
    with rt.engine.connect() as conn:
        recorded = waves.recorded_of(conn, tested.delivery_id)
    if recorded is None:
        return []
    _, produced = waves.conclude(recorded, catalog=rt.catalog, engine=rt.engine,
                                 history=ctx.history, lock=ctx.history_lock, q=ctx.q)
    return produced


def _route(ctx: Context, event: Event) -> list[Event]:
    from thresholds.route import route

    return route(event, routing=ctx.routing, engine=ctx.runtime.engine,
                 clock=FixedClock(event.occurred_at))


@app.agent(shifts_topic)
async def route_shift(stream: faust.StreamT) -> None:
    """ShiftDetected / ShiftRetracted -> shift rules -> alerts (by cell)."""
    async for event in _decoded(stream, topic_name("shifts")):
        if not isinstance(event, ShiftDetected | ShiftRetracted):
            await _unexpected(topic_name("shifts"), event)
            continue
        await emit(await _work(_route, context(), event))


@app.agent(routing_topic)
async def route_event(stream: faust.StreamT) -> None:
    """Observations (value rules), quarantines, overdue deliveries, failed notifications,
    reviews -> alerts (by cell)."""
    from thresholds.route import CONSUMES

    async for event in _decoded(stream, topic_name("routing")):
        if type(event).__name__ not in CONSUMES:
            await _unexpected(topic_name("routing"), event)
            continue
        await emit(await _work(_route, context(), event))


@app.agent(alerts_topic)
async def announce_alert(stream: faust.StreamT) -> None:
    """An alert for a cell: its immediate messages are composed now (VEILLE_DIGEST_ON_ALERT;
    otherwise they wait for the next tick, like the embedded runner's `digests send`)."""
    async for event in _decoded(stream, topic_name("alerts")):
        if not isinstance(event, AlertRaised | AlertUpdated | AlertResolved | AlertRetracted):
            await _unexpected(topic_name("alerts"), event)
            continue
        if context().digest_on_alert:
            await emit([DigestsDue(occurred_at=event.occurred_at, cell_id=event.cell_id)])


@app.agent(ticks_topic)
async def watch_time(stream: faust.StreamT) -> None:
    """A tick: overdue deliveries and freshness rules (routed here, in order), then each
    cell's due digests."""
    async for event in _decoded(stream, topic_name("ticks")):
        if not isinstance(event, ClockTicked):
            await _unexpected(topic_name("ticks"), event)
            continue
        await emit(await _work(_tick, context(), event.occurred_at))


def _tick(ctx: Context, at: dt.datetime) -> list[Event]:
    from connectors.freshness import emit_overdue
    from thresholds.freshness import watch_freshness
    from thresholds.route import route

    rt = ctx.runtime
    clock = FixedClock(at)
    out: list[Event] = []
    for overdue in emit_overdue(rt.catalog, rt.engine, clock):
        out += route(overdue, routing=ctx.routing, engine=rt.engine, clock=clock)
    out += watch_freshness(at, routing=ctx.routing, engine=rt.engine)
    out += [DigestsDue(occurred_at=at, cell_id=c) for c, cell in ctx.routing.cells.items()
            if cell.members]
    return out


@app.agent(digests_topic)
async def send_digests(stream: faust.StreamT) -> None:
    """Compose what a cell has due and send it (outbox + notification log, idempotent)."""
    async for event in _decoded(stream, topic_name("digests")):
        if not isinstance(event, DigestsDue):
            await _unexpected(topic_name("digests"), event)
            continue
        await emit(await _work(_send, context(), event))


def _send(ctx: Context, due: DigestsDue) -> list[Event]:
    from digests.compose import compose_due
    from digests.send import channel_for, policy_for, send_due

    rt = ctx.runtime
    cells = ctx.routing.cells
    cell = cells.get(due.cell_id)
    if cell is None:
        return []
    compose_due(due.occurred_at, catalog=rt.catalog, cells={cell.id: cell}, engine=rt.engine,
                base_url=rt.workspace.settings.base_url)
    return send_due(due.occurred_at, cells=cells, engine=rt.engine,
                    channel=channel_for(rt.workspace), policy=policy_for(rt.workspace),
                    cell_ids={cell.id})


@app.timer(interval=max(_env_float("VEILLE_TICK_SECONDS", 60.0), 1.0), on_leader=True)
async def tick() -> None:
    """The leader publishes the time every VEILLE_TICK_SECONDS (0: never, ticks come from
    `veille bus tick`)."""
    if _env_float("VEILLE_TICK_SECONDS", 60.0) > 0:
        await ticks_topic.send(key=b"tick", value=ClockTicked(
            occurred_at=dt.datetime.now(dt.UTC)).to_json())
