"""Processes racing on one file or one drop folder: `veille ingest` twice, `veille watch`
and `veille ingest`, two watchers. Real processes (tests/together.py), real SQLite and
PostgreSQL stores, ten rounds each: every file is one delivery, every key one row, and
each process ends cleanly saying what it did (no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from together import Racers

from factories import caf_file, write_catalog
from veille.runtime import open_runtime
from veille.store import make_engine
from veille.store.integrity import duplicate_observations
from veille.store.schema import deliveries, observations

ROUNDS = 10
CODES = [f"Q-{i:03d}" for i in range(208)]  # 208 neighbourhoods x 3 columns = 624 values


@pytest.fixture
def workspace(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """The test catalog with 208 more neighbourhoods, migrated once before the races."""
    ws = write_catalog(tmp_path / "ws")
    with (ws / "catalog" / "territories.csv").open("a", encoding="utf-8") as handle:
        handle.writelines(f"{code};quartier;Quartier {code};99001;100\n" for code in CODES)
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    open_runtime(ws).engine.dispose()
    return ws, db_url


def month_file(folder: Path, index: int) -> Path:
    """The ``index``-th monthly file from January 2023 (624 values)."""
    rows = {code: (str(1000 + i), str(100 + i % 50), "10,0") for i, code in enumerate(CODES)}
    year, month = divmod(index - 1, 12)
    return caf_file(folder, f"{2023 + year}-{month + 1:02d}", rows)


def assert_store_whole(db_url: str, files: list[Path]) -> None:
    """One delivery per file, 624 rows each, no key twice, every delivery accepted."""
    engine = make_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(select(deliveries.c.id, deliveries.c.filename, deliveries.c.status,
                                   deliveries.c.observation_count)).all()
        counts = dict(conn.execute(select(observations.c.delivery_id, func.count())
                                   .group_by(observations.c.delivery_id)).all())
        doubled = duplicate_observations(conn)[0]
    engine.dispose()
    assert sorted(r.filename for r in rows) == sorted(f.name for f in files)
    assert {r.status for r in rows} == {"accepted"}
    assert doubled == 0
    assert all(counts[r.id] == r.observation_count == 624 for r in rows), (rows, counts)


def clean(code: int, output: str) -> None:
    assert "Traceback" not in output and "Error" not in output, output
    assert code == 0, output


def test_two_ingests_of_one_file_write_it_once(workspace: tuple[Path, str],
                                               tmp_path: Path) -> None:
    ws, db_url = workspace
    racers = Racers(2, {"VEILLE_DATABASE_URL": db_url})
    files = []
    try:
        for month in range(1, ROUNDS + 1):
            path = month_file(tmp_path, month)
            files.append(path)
            results = racers.round([["ingest", str(path), "-w", str(ws)]] * 2)
            for code, output in results:
                clean(code, output)
            second = [out for _, out in results
                      if "Déjà prise" in out or "duplicate (no change)" in out]
            assert len(second) == 1, results  # the other one wrote it
            if "Déjà prise" in second[0]:
                assert (f"{path.name} : la livraison" in second[0]
                        and "traitée par un autre processus au même moment (elle est "
                        "acceptée) ; cette commande n'a rien écrit de plus" in second[0])
    finally:
        racers.close()
    assert_store_whole(db_url, files)


def test_watch_and_ingest_on_one_drop_folder(workspace: tuple[Path, str]) -> None:
    ws, db_url = workspace
    drop = ws / "depot"
    drop.mkdir()
    racers = Racers(2, {"VEILLE_DATABASE_URL": db_url})
    files = []
    try:
        for month in range(1, ROUNDS + 1):
            path = month_file(drop, month)
            files.append(path)
            (watched, watch_out), (ingested, ingest_out) = racers.round([
                ["watch", str(drop), "--once", "--quiet-seconds", "0", "-w", str(ws)],
                ["ingest", str(path), "-w", str(ws)]])
            clean(watched, watch_out)
            if ingested == 2:  # the watcher had claimed it before this one read it
                assert (f"Refusé {path} : fichier introuvable ; rien n'a été reçu (s'il était "
                        "dans un dossier de dépôt, un autre processus l'a peut-être pris en "
                        "charge)") in ingest_out
                assert "Traceback" not in ingest_out
            else:
                clean(ingested, ingest_out)
            assert (drop / "processed" / path.name).exists() and not path.exists()
    finally:
        racers.close()
    assert_store_whole(db_url, files)
    assert not list((drop / ".veille-en-cours").rglob("*.csv"))


def test_two_watchers_on_one_drop_folder(workspace: tuple[Path, str]) -> None:
    ws, db_url = workspace
    drop = ws / "depot"
    drop.mkdir()
    racers = Racers(2, {"VEILLE_DATABASE_URL": db_url})
    files = []
    try:
        for first in range(1, 2 * ROUNDS, 2):  # two files a round
            files += [month_file(drop, first), month_file(drop, first + 1)]
            results = racers.round([["watch", str(drop), "--once", "--quiet-seconds", "0",
                                     "-w", str(ws)]] * 2)
            for code, output in results:
                clean(code, output)
            assert sorted(p.name for p in (drop / "processed").iterdir()) == sorted(
                f.name for f in files)
    finally:
        racers.close()
    assert_store_whole(db_url, files)
