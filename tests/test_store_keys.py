"""The store enforces its natural keys on SQLite and PostgreSQL: an observation is unique
by (series, period, delivery), a delivery by its content hash, and a delivery is taken by
one writer only. A store already holding doubled rows is reported by the migration, not
crashed on, and nothing is changed until they are removed."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from cli.common import console
from cli.main import app
from connectors.ingest import ingest
from connectors.receive import receive
from factories import QUARTIERS, caf_file, store_before, write_catalog
from veille.clock import FixedClock
from veille.events import ObservationsRecorded
from veille.runtime import open_runtime
from veille.store import deliveries, make_engine, migrate
from veille.store.integrity import DEDUPE_SQL, DuplicateKeys
from veille.store.schema import observations

NOW = dt.datetime(2024, 6, 20, 9, tzinfo=dt.UTC)
ROW = dict(indicator="caf_rsa", territory="Q-UN-NORD", period="2024-03", value=40.0,
           status="ok")


def _delivery(conn, digest: str) -> int:
    return deliveries.record_received(conn, content_hash=digest, convention_id="caf-mensuel",
                                      filename=f"{digest[:8]}.csv", received_at=NOW,
                                      archive_path="/dev/null", size_bytes=1)


def test_a_second_row_for_one_key_is_refused_by_the_store(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        first, second = _delivery(conn, "a" * 64), _delivery(conn, "b" * 64)
        conn.execute(insert(observations).values(**ROW, delivery_id=first))
        conn.execute(insert(observations).values(**ROW, delivery_id=second))  # a revision
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(observations).values(**ROW, delivery_id=first))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(observations)).scalar() == 2


def test_a_content_hash_is_one_delivery(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        _delivery(conn, "c" * 64)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _delivery(conn, "c" * 64)
    with engine.connect() as conn:
        assert len(deliveries.list_deliveries(conn)) == 1


def test_a_second_writer_waits_then_finds_the_delivery_taken(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        delivery = _delivery(conn, "d" * 64)
    outcome: list[bool] = []

    def second_writer() -> None:
        with engine.begin() as conn:
            outcome.append(deliveries.claim(conn, delivery, "quarantined"))

    with engine.begin() as conn:
        assert deliveries.claim(conn, delivery, "accepted")
        other = threading.Thread(target=second_writer)
        other.start()
        time.sleep(0.5)
        assert other.is_alive() and not outcome  # it waits for the first writer
    other.join(timeout=30)
    assert outcome == [False]
    with engine.connect() as conn:
        assert deliveries.get(conn, delivery).status == "accepted"


def test_two_ingest_stages_racing_record_the_delivery_once(tmp_path: Path, db_url: str,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           ) -> None:
    """Without the embedded runner's drain lock (two workers, two workspaces on one
    PostgreSQL): the claim alone lets one writer through."""
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    runtime = open_runtime(write_catalog(tmp_path / "ws"), clock=FixedClock(NOW))
    received = receive(caf_file(tmp_path, "2024-03"), workspace=runtime.workspace,
                       catalog=runtime.catalog, engine=runtime.engine, clock=runtime.clock)
    start = threading.Barrier(2)
    results: list[list] = []

    def writer() -> None:
        engine = make_engine(db_url)
        start.wait()
        results.append(ingest(received.event, workspace=runtime.workspace,
                              catalog=runtime.catalog, engine=engine,
                              clock=runtime.clock).events)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(len(events) for events in results) == [0, 1]
    assert isinstance(max(results, key=len)[0], ObservationsRecorded)
    with runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(observations)).scalar() == \
            3 * len(QUARTIERS)


def test_a_migration_meeting_doubled_rows_says_so_and_changes_nothing(
        tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(db_url)
    store_before(engine, "keys@-1")  # the store as it was before keys_0001 ...
    with engine.begin() as conn:  # ... where a race had doubled a delivery's rows
        delivery = _delivery(conn, "e" * 64)
        for _ in range(2):
            conn.execute(insert(observations).values(**ROW, delivery_id=delivery))
    with pytest.raises(DuplicateKeys) as refused:
        migrate(engine)
    assert str(refused.value) == (
        "La base contient 1 clé(s) d'observation en double (même série, période et "
        "livraison), écrites par des ingestions concurrentes : caf_rsa / Q-UN-NORD / "
        f"2024-03 / livraison {delivery} (2 lignes). La contrainte d'unicité ne peut pas "
        "être posée ; la base n'a pas été modifiée.")
    indexes = {i["name"] for i in inspect(engine).get_indexes("observations")}
    assert "ux_observation_key" not in indexes and "ix_observation_key" in indexes

    monkeypatch.setattr(console, "width", 300)
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    ws = write_catalog(tmp_path / "ws")
    result = CliRunner().invoke(app, ["check", "-w", str(ws)])
    shown = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "Traceback" not in shown
    assert "Erreur : La base contient 1 clé(s) d'observation en double" \
        in shown
    assert f"Que faire : Gardez une ligne par clé (la première enregistrée), par exemple : " \
           f"{DEDUPE_SQL}; puis relancez la commande" in shown
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(observations)).scalar() == 2

    with engine.begin() as conn:  # what the message says to do
        conn.execute(text(DEDUPE_SQL))
    result = CliRunner().invoke(app, ["check", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    indexes = {i["name"] for i in inspect(engine).get_indexes("observations")}
    assert "ux_observation_key" in indexes
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(observations)).scalar() == 1
