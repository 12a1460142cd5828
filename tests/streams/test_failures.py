"""Crash, two workers, bad events: exactly-once effects from idempotent sinks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from conftest import REPO, VEILLE, Pipeline, wait_idle

SLICE = 12  # the six backfills and six waves: enough chunks to kill a worker among them


def _counts(snapshot: dict[str, list]) -> dict[str, int]:
    return {name: len(rows) for name, rows in snapshot.items()}


def test_worker_killed_mid_wave_loses_and_duplicates_nothing(
        tmp_path: Path, pg_factory, broker: str, start_worker) -> None:  # type: ignore[no-untyped-def]
    reference = Pipeline(tmp_path / "ref", pg_factory(), SLICE)
    reference.run_embedded()
    expected = reference.snapshot()

    bus = Pipeline(tmp_path / "bus", pg_factory(), SLICE)
    worker = start_worker(bus.root, bus.db_url, name="crashy", chunk_tests=1)
    killed = []

    def kill_when_busy(k: int) -> None:
        # the whole slice goes out at once; SIGKILL the worker once it is inside a wave
        if k != SLICE - 1:
            return
        from sqlalchemy import create_engine, text

        engine = create_engine("postgresql+psycopg://"
                               + bus.db_url.removeprefix("postgresql://"))
        deadline = time.monotonic() + 120
        row = 0
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                row = conn.execute(text(
                    "select count(*) from waves w where status = 'gathering' and exists "
                    "(select 1 from wave_tests t where t.delivery_id = w.delivery_id)"
                )).scalar()
                conn.commit()
                if row:
                    break
                time.sleep(0.05)
        engine.dispose()
        worker.kill()
        killed.append(bool(row))  # True: killed with a wave partly confirmed
        start_worker(bus.root, bus.db_url, name="crashy", chunk_tests=1)  # restarted

    bus.publish(broker, wait=False, on_each=kill_when_busy)
    assert killed == [True], "the worker was not caught inside a wave"
    got = bus.snapshot()
    assert _counts(got) == _counts(expected)  # nothing lost, nothing twice
    for table in expected:
        assert got[table] == expected[table], table


def test_two_workers_split_the_wave_and_agree_with_one(
        tmp_path: Path, pg_factory, broker: str, start_worker) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, text

    reference = Pipeline(tmp_path / "ref", pg_factory(), SLICE)
    reference.run_embedded()
    expected = reference.snapshot()

    bus = Pipeline(tmp_path / "bus", pg_factory(), SLICE)
    # one test per chunk: a wave's chunks spread over the observations partitions
    a = start_worker(bus.root, bus.db_url, name="a", chunk_tests=1)
    b = start_worker(bus.root, bus.db_url, name="b", chunk_tests=1)
    bus.publish(broker)
    assert a.alive() and b.alive()
    got = bus.snapshot()
    for table in expected:
        assert got[table] == expected[table], table
    engine = create_engine("postgresql+psycopg://" + bus.db_url.removeprefix("postgresql://"))
    with engine.connect() as conn:
        by_worker = dict(conn.execute(text(
            "select worker, count(*) from wave_tests group by worker")).all())
        split = conn.execute(text(
            "select delivery_id from wave_tests group by delivery_id "
            "having count(distinct worker) = 2")).scalars().all()
    engine.dispose()
    assert set(by_worker) == {"a", "b"}, by_worker  # both confirmed chunks
    assert split, "no wave had its chunks confirmed by both workers"


def _cli(*args: str, db_url: str) -> subprocess.CompletedProcess[str]:
    """A `veille` command as an operator (or docker-compose) runs it."""
    env = dict(os.environ, VEILLE_DATABASE_URL=db_url, PYTHONPATH=str(REPO), COLUMNS="250")
    return subprocess.run([*VEILLE, *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_bad_message_goes_to_dead_letters_and_the_worker_goes_on(
        tmp_path: Path, pg_factory, broker: str, start_worker) -> None:  # type: ignore[no-untyped-def]
    from streams.bus import Publisher, dead_letters, ensure_topics
    from veille.events import ClockTicked

    bus = Pipeline(tmp_path / "bus", pg_factory(), 2)
    ensure_topics(broker)
    worker = start_worker(bus.root, bus.db_url)
    publisher = Publisher(broker)
    publisher.send_raw("deliveries", b"junk", b"{not json")
    publisher.send_raw("observations", b"x", json.dumps(
        {"type": "TestsChunk", "schema_version": 99, "occurred_at": "2024-01-01T00:00:00+00:00"}
    ).encode())
    publisher.send_raw("shifts", b"y", json.dumps({"type": "NoSuchEvent"}).encode())
    publisher.send_raw("shifts", b"z", ClockTicked(occurred_at=bus.manifest.reference_time)
                       .to_json())  # a good event on the wrong topic
    publisher.flush()
    publisher.close()
    # then real deliveries, as docker-compose's services send them: the worker goes on
    first, second = bus.deliveries
    done = _cli("publish", str(first.file), "-c", first.convention, "--workspace",
                str(bus.root), "--broker", broker, db_url=bus.db_url)
    assert done.returncode == 0, done.stdout + done.stderr
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(second.file, drop / second.file.name)
    done = _cli("watch", str(drop), "--once", "--quiet-seconds", "0", "--bus", "kafka",
                "--broker", broker, "--workspace", str(bus.root), db_url=bus.db_url)
    assert done.returncode == 0, done.stdout + done.stderr
    wait_idle(broker, bus.db_url)
    assert worker.alive()

    letters = dead_letters(broker)
    assert len(letters) == 4, letters
    reasons = {(d["topic"].rsplit("-", 1)[-1], d["reason"]) for d in letters}
    by_topic: dict[str, list[str]] = {}
    for topic, reason in reasons:
        by_topic.setdefault(topic, []).append(reason)
    assert any("not JSON" in r for r in by_topic["deliveries"])
    assert any("schema_version 99" in r for r in by_topic["observations"])
    assert any("unknown event type 'NoSuchEvent'" in r for r in by_topic["shifts"])
    assert any("ClockTicked is not an event this topic carries" in r
               for r in by_topic["shifts"])
    assert {d["payload"] for d in letters} >= {"{not json"}
    got = bus.snapshot()
    assert len(got["deliveries"]) == 2 and all(r[2] == "accepted" for r in got["deliveries"])
    assert got["observations"] and got["detection_runs"]  # both went through the pipeline

    shown = _cli("bus", "dead-letters", "--broker", broker, db_url=bus.db_url)
    assert shown.returncode == 0 and "schema_version 99" in shown.stdout, shown.stdout
    status = _cli("bus", "status", "--workspace", str(bus.root), "--broker", broker,
                  db_url=bus.db_url)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "4 letter(s)" in status.stdout and "No wave in flight" in status.stdout
