"""The agents of ingestion and detection: a delivery is ingested and its wave planned in
chunks of tests; each chunk is confirmed (statsmodels); the wave is gathered for the FDR step
once every chunk is in."""

from __future__ import annotations

import asyncio
from typing import Any

import faust

from streams.bus import topic_name
from streams.faust_app import app, deliveries_topic, observations_topic, wave_tests_topic
from streams.messages import decoded, emit, unexpected
from streams.worker_context import Context, context, log, work
from veille.clock import FixedClock
from veille.events import (
    ChunkTested,
    DeliveryReceived,
    Event,
    ObservationsRecorded,
    TestsChunk,
    decode,
)


@app.agent(deliveries_topic)
async def ingest_delivery(stream: faust.StreamT) -> None:
    """DeliveryReceived -> ingest -> wave plan (chunks) + events for routing."""
    async for event in decoded(stream, topic_name("deliveries")):
        if not isinstance(event, DeliveryReceived):
            await unexpected(topic_name("deliveries"), event)
            continue
        ctx = context()
        await _wait_for_earlier_waves(ctx, event.delivery_id)
        outputs, chunks, concluded = await work(_ingest_and_plan, ctx, event)
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
        stuck = await work(earlier_in_flight, ctx.runtime.engine, delivery_id)
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

    async for event in decoded(stream, topic_name("observations")):
        if not isinstance(event, TestsChunk):
            await unexpected(topic_name("observations"), event)
            continue
        ctx = context()
        await work(confirm_chunk, event, ctx.runtime.engine, event.occurred_at, ctx.name)
        await emit([ChunkTested(occurred_at=event.occurred_at, delivery_id=event.delivery_id,
                                chunk=event.chunk, chunks=event.chunks)])


@app.agent(wave_tests_topic)
async def gather_wave(stream: faust.StreamT) -> None:
    """The FDR step: when every chunk of a wave is in, BH over the whole wave."""
    async for event in decoded(stream, topic_name("wave-tests")):
        if not isinstance(event, ChunkTested):
            await unexpected(topic_name("wave-tests"), event)
            continue
        produced = await work(_gather, context(), event)
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
