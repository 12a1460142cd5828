"""The bus outside the worker: topic names, publishing deliveries (kafka-python, acks=all,
idempotent keys) and looking at the bus (`veille bus status`).

Kept apart from the Faust app so that publishing and status need no event loop. Lag and
completeness are counted from the fetch high watermark, never from ListOffsets (Tansu's
end offsets under-count).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.receive import FileRefused, Received, receive
from veille.events import ClockTicked, DeliveryReceived, Event
from veille.runtime import Runtime

if TYPE_CHECKING:
    from streams.embedded import IngestSummary


def prefix() -> str:
    """Topic prefix and consumer group (VEILLE_BUS_PREFIX; several pipelines, one broker)."""
    return os.environ.get("VEILLE_BUS_PREFIX", "veille")

TOPICS: dict[str, int] = {
    "deliveries": 1,  # one partition: deliveries are ingested in arrival order
    "observations": 8,  # chunks of a wave's tests, partitioned by series key
    "wave-tests": 8,  # FDR gathering, keyed by delivery id
    "shifts": 8,  # keyed by series key
    "routing": 8,  # other events the route stage reads, keyed by convention / event key
    "alerts": 8,  # keyed by cell
    "ticks": 1,  # time-driven work, in order
    "digests": 8,  # keyed by cell
    "dead-letters": 1,  # messages that failed to decode, with the reason
}


def topic_name(short: str) -> str:
    return f"{prefix()}-{short}"


def bootstrap() -> str:
    """host:port of the broker (VEILLE_KAFKA; a kafka:// prefix is accepted)."""
    url = os.environ.get("VEILLE_KAFKA", "kafka://127.0.0.1:9092")
    return url.split("://", 1)[-1]


def ensure_topics(servers: str | None = None) -> None:
    """Create the pipeline's topics with their partition counts (existing ones are kept)."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=servers or bootstrap(), client_id="veille-admin")
    try:
        existing = set(admin.list_topics())
        new = [NewTopic(topic_name(t), n, 1) for t, n in TOPICS.items()
               if topic_name(t) not in existing]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new)
    finally:
        admin.close()


class Publisher:
    """A kafka-python producer with acks=all and idempotence: a delivery's message is keyed
    by its content hash, so publishing it twice is recognised downstream."""

    def __init__(self, servers: str | None = None) -> None:
        from kafka import KafkaProducer

        self.producer = KafkaProducer(
            bootstrap_servers=servers or bootstrap(), acks="all", enable_idempotence=True,
            linger_ms=5, retries=5, client_id="veille-publisher")

    def send(self, short: str, key: str, event: Event) -> None:
        self.producer.send(topic_name(short), key=key.encode(), value=event.to_json())

    def send_raw(self, short: str, key: bytes | None, value: bytes) -> None:
        self.producer.send(topic_name(short), key=key, value=value)

    def flush(self) -> None:
        self.producer.flush(timeout=30)

    def close(self) -> None:
        self.producer.flush(timeout=30)
        self.producer.close(timeout=10)


def publish_delivery(publisher: Publisher, received: DeliveryReceived) -> None:
    publisher.send("deliveries", received.content_hash, received)


@dataclass
class Published:
    path: Path
    received: Received
    sent: bool


def publish_files(runtime: Runtime, files: Sequence[Path], *, publisher: Publisher,
                  convention_id: str | None = None,
                  on_file: Callable[[Published], None] | None = None) -> list[Published]:
    """Archive and record each file (the system of record first), then publish it. A file
    already fully handled is not published again; one recorded but not yet ingested is
    (the ingest stage is idempotent on its delivery)."""
    out: list[Published] = []
    for path in files:
        received = receive(path, workspace=runtime.workspace, catalog=runtime.catalog,
                           engine=runtime.engine, clock=runtime.clock,
                           convention_id=convention_id)
        sent = not received.duplicate
        if sent:
            publish_delivery(publisher, received.event)
        publisher.flush()
        item = Published(path, received, sent)
        out.append(item)
        if on_file is not None:
            on_file(item)
    return out


def publish_tick(publisher: Publisher, at: dt.datetime) -> None:
    """Ask the workers to run the time-driven stages (freshness, due digests) as of ``at``."""
    publisher.send("ticks", "tick", ClockTicked(occurred_at=at))
    publisher.flush()


# --- status ---------------------------------------------------------------------------------

@dataclass
class PartitionLag:
    topic: str
    partition: int
    committed: int
    high_watermark: int

    @property
    def lag(self) -> int:
        return max(self.high_watermark - self.committed, 0)


def partition_lags(servers: str | None = None, group: str | None = None,
                   ) -> list[PartitionLag]:
    """Committed offset of the workers' group and fetch high watermark, per partition."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    servers = servers or bootstrap()
    group = group or prefix()
    admin = KafkaAdminClient(bootstrap_servers=servers, client_id="veille-status")
    try:
        topics = sorted(t for t in admin.list_topics() if t.startswith(prefix() + "-"))
        try:
            found = admin.list_group_offsets(group)
            found = found.get(group, {}) if group in found else found
            committed = {(tp.topic, tp.partition): meta.offset for tp, meta in found.items()}
        except KafkaError:  # the group does not exist yet (not an API mismatch: raise)
            committed = {}
    finally:
        admin.close()
    consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False,
                             group_id=None, client_id="veille-status",
                             fetch_max_wait_ms=100, consumer_timeout_ms=1000)
    try:
        parts = [TopicPartition(t, p) for t in topics
                 for p in sorted(consumer.partitions_for_topic(t) or [])]
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, max(committed.get((tp.topic, tp.partition), 0), 0))
        pending = set(parts)
        for _ in range(20):
            consumer.poll(timeout_ms=200, max_records=1)
            pending = {tp for tp in pending if consumer.highwater(tp) is None}
            if not pending:
                break
        return [PartitionLag(tp.topic, tp.partition,
                             max(committed.get((tp.topic, tp.partition), 0), 0),
                             consumer.highwater(tp) or 0) for tp in parts]
    finally:
        consumer.close()


def dead_letters(servers: str | None = None, limit: int = 100) -> list[dict]:
    """The dead-letter topic's messages (reason and original payload), oldest first."""
    import json

    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=servers or bootstrap(), group_id=None,
                             enable_auto_commit=False, consumer_timeout_ms=1500)
    try:
        tp = TopicPartition(topic_name("dead-letters"), 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        out = []
        for message in consumer:
            out.append(json.loads(message.value))
            if len(out) >= limit:
                break
        return out
    finally:
        consumer.close()


def folder_publisher(servers: str) -> Callable[[Runtime, list[Path]], IngestSummary]:
    """The drop folder's handler for the distributed runner: publish instead of ingesting."""
    from streams.embedded import IngestSummary

    ensure_topics(servers.split("://", 1)[-1])
    publisher = Publisher(servers.split("://", 1)[-1])

    def handle(runtime: Runtime, files: list[Path]) -> IngestSummary:
        summary = IngestSummary()
        for path in files:
            try:
                published = publish_files(runtime, [path], publisher=publisher)
            except FileRefused as exc:  # changed while read: the watcher waits for it
                summary.refused.append((path, str(exc)))
                continue
            for item in published:
                summary.outcomes.append((item.path, item.received))
                if item.sent:
                    summary.received += 1
                else:
                    summary.duplicates += 1
        return summary

    return handle
