"""Real receivers on loopback (an SMTP server, JSON webhooks that succeed, fail for a while
or always fail) and a small alert workspace on SQLite or PostgreSQL."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
import yaml
from aiosmtpd.controller import Controller
from sqlalchemy import Engine

from factories import write_catalog
from thresholds.routing import Routing
from thresholds.subscriptions import directory, load_subscriptions
from veille.catalog import Catalog, load_catalog
from veille.clock import FixedClock
from veille.events import ObservationsRecorded
from veille.store import deliveries, make_engine, migrate
from veille.store import observations as obs
from veille.store.catalog_mirror import sync_catalog

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday, 10:00 in Paris


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpSink:
    host: str
    port: int
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"

    def url(self, to: str, sender: str = "veille@observatoire.example") -> str:
        return (f"mailto://{self.host}:{self.port}?from={sender}&to={to}&mode=insecure"
                f"&name=Observatoire")

    def bodies(self) -> list[str]:
        out = []
        for message in self.messages:
            parts = [p.get_content() for p in message.walk()
                     if p.get_content_type() in {"text/plain", "text/html"}]
            out.append("\n".join(parts))
        return out


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    port = free_port()
    sink = SmtpSink("127.0.0.1", port)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink
    controller.stop()


@dataclass
class Webhook:
    """A JSON receiver: answers 500 to the first ``fail_first`` requests (or to all)."""

    port: int
    fail_first: int = 0
    always_fail: bool = False
    requests: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    accepted: list[dict] = field(default_factory=list)

    def url(self, path: str = "hook", auth: str = "") -> str:
        return f"json://{auth}127.0.0.1:{self.port}/{path}"


@pytest.fixture
def webhook_factory() -> Iterator:
    servers: list[ThreadingHTTPServer] = []

    def make(fail_first: int = 0, always_fail: bool = False) -> Webhook:
        hook = Webhook(free_port(), fail_first, always_fail)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.requests.append(body)
                hook.headers.append(dict(self.headers))
                failing = hook.always_fail or len(hook.requests) <= hook.fail_first
                if not failing:
                    hook.accepted.append(body)
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", hook.port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return hook

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


@dataclass
class AlertWorld:
    """A workspace's catalog, store and clock, with helpers to feed observations."""

    root: Path
    catalog: Catalog
    engine: Engine
    clock: FixedClock
    deliveries: int = 0

    @property
    def cells(self) -> dict:
        return directory(self.catalog)

    def routing(self) -> Routing:
        return Routing.build(self.catalog, load_subscriptions(self.catalog))

    def reload(self, cells: list[dict] | None = None, subscriptions: list[dict] | None = None,
               ) -> None:
        folder = self.root / "catalog"
        if cells is not None:
            (folder / "cells.yaml").write_text(yaml.safe_dump({"cells": cells},
                                                              allow_unicode=True))
        if subscriptions is not None:
            (folder / "subscriptions.yaml").write_text(
                yaml.safe_dump({"subscriptions": subscriptions}, allow_unicode=True))
        self.catalog = load_catalog(folder)

    def observe(self, indicator: str, values: dict[tuple[str, str], float | None],
                numerators: dict[tuple[str, str], float] | None = None,
                ) -> ObservationsRecorded:
        """Record a delivery of ``values`` ((territory, period) -> value; None = secret)."""
        self.deliveries += 1
        digest = hashlib.sha256(f"{indicator}{self.deliveries}{values}".encode()).hexdigest()
        rows = [{"indicator": indicator, "territory": t, "period": p,
                 "value": float("nan") if v is None else v,
                 "numerator": (numerators or {}).get((t, p), float("nan")),
                 "denominator": float("nan"), "status": "secret" if v is None else "ok"}
                for (t, p), v in values.items()]
        frame = pd.DataFrame(rows)
        periods = sorted({p for _, p in values})
        with self.engine.begin() as conn:
            did = deliveries.record_received(
                conn, content_hash=digest, convention_id="caf-mensuel",
                filename=f"{digest[:8]}.csv", received_at=self.clock.now(),
                archive_path="/dev/null", size_bytes=1)
            obs.bulk_insert(conn, frame, did)
            obs.supersede(conn, did, [indicator], periods)
            deliveries.mark_accepted(conn, did, rows_read=len(rows),
                                     observation_count=len(rows), secret_count=0,
                                     revised_count=0, periods=periods, indicators=[indicator])
        return ObservationsRecorded(occurred_at=self.clock.now(), delivery_id=did,
                                    content_hash=digest, convention_id="caf-mensuel",
                                    periods=periods, indicators=[indicator],
                                    observation_count=len(rows), secret_count=0,
                                    series_count=len(rows))


def make_world(tmp_path: Path, url: str) -> AlertWorld:
    root = write_catalog(tmp_path / "ws")
    catalog = load_catalog(root / "catalog")
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        sync_catalog(conn, catalog)
    return AlertWorld(root, catalog, engine, FixedClock(T0))


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> AlertWorld:
    """On SQLite and PostgreSQL."""
    return make_world(tmp_path, db_url)


@pytest.fixture
def lite(tmp_path: Path) -> AlertWorld:
    """SQLite only (delivery mechanics already covered on both stores)."""
    return make_world(tmp_path, f"sqlite:///{tmp_path / 'alerts.db'}")
