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

Modules: `streams.faust_app` (app, topics), `streams.worker_context` (what a worker opens),
`streams.messages` (keys, decoding, dead letters), `streams.agents_detect` and
`streams.agents_alert` (the agents). Importing this module registers every agent: it is
the one a worker starts from.
"""

from streams import agents_alert, agents_detect
from streams.faust_app import app

AGENTS = (agents_detect, agents_alert)
"""The agent modules, imported for their registration on ``app``."""

__all__ = ["AGENTS", "app"]
