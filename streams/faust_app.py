"""The Faust app of the distributed runner and its topics, configured from the environment
(set by ``veille worker``: VEILLE_KAFKA, VEILLE_WORKSPACE, VEILLE_KAFKA_SESSION_TIMEOUT,
VEILLE_KAFKA_COMMIT_INTERVAL, VEILLE_KAFKA_FETCH_WAIT_MS). Nothing is opened at import time;
the agents are registered by `streams.app`."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import faust

from streams.bus import TOPICS, prefix, topic_name


def env_float(name: str, default: float) -> float:
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
    broker_session_timeout=env_float("VEILLE_KAFKA_SESSION_TIMEOUT", 60.0),
    broker_heartbeat_interval=max(env_float("VEILLE_KAFKA_SESSION_TIMEOUT", 60.0) / 6, 0.5),
    broker_commit_interval=env_float("VEILLE_KAFKA_COMMIT_INTERVAL", 1.0),
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
