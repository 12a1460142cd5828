"""The agents of routing and sending: shifts and pipeline events become alerts by cell, an
alert makes its cell's messages due, the leader's tick drives time-based rules and digests,
and due digests are composed and sent (outbox, Apprise)."""

from __future__ import annotations

import datetime as dt

import faust

from streams.bus import topic_name
from streams.faust_app import (
    alerts_topic,
    app,
    digests_topic,
    env_float,
    routing_topic,
    shifts_topic,
    ticks_topic,
)
from streams.messages import decoded, emit, unexpected
from streams.worker_context import Context, context, work
from veille.clock import FixedClock
from veille.events import (
    AlertRaised,
    AlertResolved,
    AlertRetracted,
    AlertUpdated,
    ClockTicked,
    DigestsDue,
    Event,
    ShiftDetected,
    ShiftRetracted,
)


def _route(ctx: Context, event: Event) -> list[Event]:
    from thresholds.route import route

    return route(event, routing=ctx.routing, engine=ctx.runtime.engine,
                 clock=FixedClock(event.occurred_at))


@app.agent(shifts_topic)
async def route_shift(stream: faust.StreamT) -> None:
    """ShiftDetected / ShiftRetracted -> shift rules -> alerts (by cell)."""
    async for event in decoded(stream, topic_name("shifts")):
        if not isinstance(event, ShiftDetected | ShiftRetracted):
            await unexpected(topic_name("shifts"), event)
            continue
        await emit(await work(_route, context(), event))


@app.agent(routing_topic)
async def route_event(stream: faust.StreamT) -> None:
    """Observations (value rules), quarantines, overdue deliveries, failed notifications,
    reviews -> alerts (by cell)."""
    from thresholds.route import CONSUMES

    async for event in decoded(stream, topic_name("routing")):
        if type(event).__name__ not in CONSUMES:
            await unexpected(topic_name("routing"), event)
            continue
        await emit(await work(_route, context(), event))


@app.agent(alerts_topic)
async def announce_alert(stream: faust.StreamT) -> None:
    """An alert for a cell: its immediate messages are composed now (VEILLE_DIGEST_ON_ALERT;
    otherwise they wait for the next tick, like the embedded runner's `digests send`)."""
    async for event in decoded(stream, topic_name("alerts")):
        if not isinstance(event, AlertRaised | AlertUpdated | AlertResolved | AlertRetracted):
            await unexpected(topic_name("alerts"), event)
            continue
        if context().digest_on_alert:
            await emit([DigestsDue(occurred_at=event.occurred_at, cell_id=event.cell_id)])


@app.agent(ticks_topic)
async def watch_time(stream: faust.StreamT) -> None:
    """A tick: overdue deliveries and freshness rules (routed here, in order), then each
    cell's due digests."""
    async for event in decoded(stream, topic_name("ticks")):
        if not isinstance(event, ClockTicked):
            await unexpected(topic_name("ticks"), event)
            continue
        await emit(await work(_tick, context(), event.occurred_at))


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
    async for event in decoded(stream, topic_name("digests")):
        if not isinstance(event, DigestsDue):
            await unexpected(topic_name("digests"), event)
            continue
        await emit(await work(_send, context(), event))


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


@app.timer(interval=max(env_float("VEILLE_TICK_SECONDS", 60.0), 1.0), on_leader=True)
async def tick() -> None:
    """The leader publishes the time every VEILLE_TICK_SECONDS (0: never, ticks come from
    `veille bus tick`)."""
    if env_float("VEILLE_TICK_SECONDS", 60.0) > 0:
        await ticks_topic.send(key=b"tick", value=ClockTicked(
            occurred_at=dt.datetime.now(dt.UTC)).to_json())
