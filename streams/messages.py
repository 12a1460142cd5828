"""Events on the bus: which topic and key an output event goes to, and decoding what comes
in, a message that does not decode going to ``veille-dead-letters`` with the reason."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import faust

from streams.faust_app import (
    alerts_topic,
    dead_letters_topic,
    digests_topic,
    routing_topic,
    shifts_topic,
    wave_tests_topic,
)
from veille.events import (
    AlertRaised,
    AlertResolved,
    AlertRetracted,
    AlertUpdated,
    ChunkTested,
    DeliveryOverdue,
    DeliveryQuarantined,
    DigestsDue,
    Event,
    EventDecodeError,
    NotificationFailed,
    ObservationsRecorded,
    ShiftDetected,
    ShiftRetracted,
    ShiftReviewed,
    decode,
)

log = logging.getLogger("veille.streams")


def key_of(event: Event) -> tuple[faust.TopicT | None, str]:
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
        topic, key = key_of(event)
        if topic is not None:
            await topic.send(key=key.encode(), value=event.to_json())


async def decoded(stream: faust.StreamT, source: str) -> Any:
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


async def unexpected(source: str, event: Event) -> None:
    await dead_letter(source, event.to_json(),
                      f"{type(event).__name__} is not an event this topic carries")
