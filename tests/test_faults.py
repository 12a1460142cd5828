"""Faults the product can name meet a message in French (what, where, what to do) and exit
code 2, never a traceback; the store stays whole and the next good command goes through.

Every fault is real: a broken file on disk, a second process holding SQLite's write lock, a
PostgreSQL backend terminated by an admin connection, a tmpfs filled to the last byte. A
hook on SQLAlchemy's statements only chooses *when* a fault strikes in a command.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from sqlalchemy import Engine, event, func, select, text
from typer.testing import CliRunner, Result

from cli.main import app
from factories import CAF, caf_file, write_catalog
from veille.store import make_engine
from veille.store.schema import deliveries, observations

runner = CliRunner()


def _said(result: Result) -> str:
    """The output as one line (Rich wraps long messages)."""
    return " ".join(result.output.split())


def _named(result: Result) -> str:
    """A named fault: exit 2, the message and what to do, no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    said = _said(result)
    assert "Erreur :" in said and "Que faire :" in said and "Traceback" not in said
    return said


def _state(url: str) -> tuple[list[tuple[int, str]], dict[int, int]]:
    """Deliveries (id, status) and observation counts per delivery: the store's content."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = [(r.id, r.status) for r in conn.execute(
                select(deliveries.c.id, deliveries.c.status).order_by(deliveries.c.id))]
            counts = dict(conn.execute(select(observations.c.delivery_id, func.count())
                                       .group_by(observations.c.delivery_id)).all())
            if engine.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    finally:
        engine.dispose()
    return rows, counts


@pytest.fixture
def sqlite_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A workspace on its default SQLite store, holding one accepted delivery."""
    monkeypatch.delenv("VEILLE_DATABASE_URL", raising=False)
    ws = write_catalog(tmp_path / "ws")
    first = runner.invoke(app, ["ingest", str(caf_file(tmp_path, "2024-03")), "-w", str(ws)])
    assert first.exit_code == 0, first.output
    return ws, f"sqlite:///{ws / 'veille.db'}"


@pytest.fixture
def on_statement() -> Iterator[Callable[[str, Callable[[Any], None]], list[bool]]]:
    """``install(prefix, action)``: run ``action(connection)`` once, just before the first
    statement of any engine that starts with ``prefix`` (and names the status 'accepted'
    when it updates a delivery): a real fault at a chosen moment of a real command."""
    hooks = []

    def install(prefix: str, action: Callable[[Any], None]) -> list[bool]:
        fired: list[bool] = []

        def hook(conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if fired or not statement.startswith(prefix):
                return
            if statement.startswith("UPDATE deliveries") and "accepted" not in str(parameters):
                return
            fired.append(True)
            action(conn)

        event.listen(Engine, "before_cursor_execute", hook)
        hooks.append(hook)
        return fired

    yield install
    for hook in hooks:
        event.remove(Engine, "before_cursor_execute", hook)


# --- hand-edited files ------------------------------------------------------------------

@pytest.mark.parametrize(("field", "change"), [
    ("period.pattern", {"period": {"column": "mois", "pattern": r"(?P<year>\d{4}"}}),
    ("filename_pattern", {"filename_pattern": "^caf_("}),
])
@pytest.mark.parametrize("command", ["check", "ingest"])
def test_invalid_regular_expression_names_convention_and_field(
        sqlite_ws: tuple[Path, str], tmp_path: Path, field: str, change: dict,
        command: str) -> None:
    ws, url = sqlite_ws
    path = ws / "catalog" / "conventions" / "caf-mensuel.yaml"
    path.write_text(yaml.safe_dump({**CAF, **change}), encoding="utf-8")
    before = _state(url)
    good = caf_file(tmp_path, "2024-04")
    args = ["check"] if command == "check" else ["ingest", str(good)]
    said = _named(runner.invoke(app, [*args, "-w", str(ws)]))
    assert (f"conventions/caf-mensuel.yaml, entry 'caf-mensuel', field '{field}': "
            "Value error, expression régulière invalide") in said
    assert "missing ), unterminated subpattern" in said
    assert "Corrigez les fichiers nommés ci-dessus" in said
    assert _state(url) == before
    path.write_text(yaml.safe_dump(CAF), encoding="utf-8")
    again = runner.invoke(app, ["ingest", str(good), "-w", str(ws)])
    assert again.exit_code == 0 and "accepted" in again.output


@pytest.mark.parametrize(("content", "where"), [
    (b"fdr_q: 0.05\nnotify: [outbox\n", "ligne 3, colonne 1 : YAML invalide : while parsing "
                                        "a flow sequence (ligne 2, colonne 9)"),
    (b"fdr_q: 0.05\ntimezone: Europe/Paris # \xe9t\xe9\n",
     "ligne 2, colonne 26 : octet 0xe9 qui n'est pas de l'UTF-8"),
    (b"- fdr_q\n", "attendu des réglages « nom: valeur »"),
])
def test_broken_settings_file_names_file_line_and_column(
        sqlite_ws: tuple[Path, str], tmp_path: Path, content: bytes, where: str) -> None:
    ws, url = sqlite_ws
    before = _state(url)
    (ws / "veille.yaml").write_bytes(content)
    good = caf_file(tmp_path, "2024-04")
    said = _named(runner.invoke(app, ["ingest", str(good), "-w", str(ws)]))
    assert f"{ws / 'veille.yaml'}" in said and where in said
    assert _state(url) == before
    (ws / "veille.yaml").write_text("fdr_q: 0.05\n", encoding="utf-8")
    again = runner.invoke(app, ["ingest", str(good), "-w", str(ws)])
    assert again.exit_code == 0 and "accepted" in again.output


@pytest.mark.parametrize(("file", "content", "where"), [
    ("providers.yaml",
     "providers:\n- id: caf\n  name: CAF du Test\n  contact_url: mailto://a@caf.example\n"
     "  contact_url: mailto://b@caf.example\n- id: police\n  name: DDSP\n"
     "  contact_url: json://127.0.0.1:9/police\n",
     "providers.yaml: ligne 5, colonne 3 : clé « contact_url » en double (déjà ligne 4)"),
    ("conventions/caf-mensuel.yaml", yaml.safe_dump(CAF) + "lag_days: 10\n",
     "conventions/caf-mensuel.yaml: ligne 29, colonne 1 : clé « lag_days » en double "
     "(déjà ligne 20)"),
    ("glossary.yaml", "indicators:\n  - {code: caf_rsa, label: [RSA\n",
     "glossary.yaml: ligne 3, colonne 1 : YAML invalide"),
    ("cells.yaml", "cells: []\n# r\xe9sum\xe9\n".encode("latin-1"),
     "cells.yaml: ligne 2, colonne 4 : octet 0xe9 qui n'est pas de l'UTF-8"),
])
def test_catalog_yaml_problems_name_file_line_and_column(
        sqlite_ws: tuple[Path, str], file: str, content: str | bytes, where: str) -> None:
    ws, url = sqlite_ws
    before = _state(url)
    path = ws / "catalog" / file
    kept = path.read_bytes() if path.exists() else None
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    said = _named(runner.invoke(app, ["check", "-w", str(ws)]))
    assert where in said, said
    assert _state(url) == before
    if kept is None:
        path.unlink()
    else:
        path.write_bytes(kept)
    assert runner.invoke(app, ["check", "-w", str(ws)]).exit_code == 0


# --- the store --------------------------------------------------------------------------

HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")  # the write lock, held until this process is killed
db.execute("UPDATE deliveries SET filename = filename")
print("holding", flush=True)
time.sleep(120)
"""


def _hold_write_lock(db: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


@pytest.mark.parametrize("when", ["before the command", "between receiving and writing"])
def test_sqlite_locked_by_another_writer_says_who_and_what_to_do(
        sqlite_ws: tuple[Path, str], tmp_path: Path, on_statement: Callable, when: str,
        ) -> None:
    ws, url = sqlite_ws
    (ws / "veille.yaml").write_text("busy_timeout_seconds: 0.5\n", encoding="utf-8")
    holders: list[subprocess.Popen[str]] = []
    if when == "before the command":
        holders.append(_hold_write_lock(ws / "veille.db"))
    else:  # the ingest stage reads its delivery, then a second writer takes the lock
        on_statement("SELECT deliveries.id, deliveries.content_hash",
                     lambda _conn: holders.append(_hold_write_lock(ws / "veille.db")))
    before = _state(url)
    good = caf_file(tmp_path, "2024-04")
    try:
        said = _named(runner.invoke(app, ["ingest", str(good), "-w", str(ws)]))
        assert (f"La base de données {ws / 'veille.db'} est verrouillée : une autre écriture "
                "la tient depuis plus de 0.5 s") in said
        assert f"Ouverte aussi par : processus {holders[0].pid} : {sys.executable} -c" in said
        assert "Attendez que l'autre commande se termine" in said
        assert "busy_timeout_seconds dans veille.yaml" in said
    finally:
        for holder in holders:
            holder.kill()
            holder.wait()
    after = _state(url)
    assert after[1] == before[1]  # not one observation written
    assert [s for _, s in after[0]] in (["accepted"], ["accepted", "received"])
    again = runner.invoke(app, ["ingest", str(good), "-w", str(ws)])
    assert again.exit_code == 0 and "accepted" in again.output
    assert _state(url)[1] == {1: 12, 2: 12}


def test_postgresql_connection_lost_mid_ingest_writes_nothing(
        tmp_path: Path, pg_url: str, pg_admin: str, monkeypatch: pytest.MonkeyPatch,
        on_statement: Callable) -> None:
    monkeypatch.setenv("VEILLE_DATABASE_URL", pg_url)
    ws = write_catalog(tmp_path / "ws")
    first = runner.invoke(app, ["ingest", str(caf_file(tmp_path, "2024-03")), "-w", str(ws)])
    assert first.exit_code == 0, first.output

    def terminate(conn: Any) -> None:
        """The observations are copied in; the admin ends the backend before the commit."""
        pid = conn.connection.driver_connection.info.backend_pid
        with psycopg.connect(pg_admin, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()

    fired = on_statement("UPDATE deliveries SET status", terminate)
    good = caf_file(tmp_path, "2024-04")
    said = _named(runner.invoke(app, ["ingest", str(good), "-w", str(ws)]))
    assert fired
    database = pg_url.rsplit("/", 1)[1]
    assert (f"La connexion à la base PostgreSQL « {database} » sur 127.0.0.1:5432 a été "
            "perdue (terminating connection due to administrator command") in said
    assert "Rien n'a été écrit à moitié" in said
    rows, counts = _state(pg_url)
    assert rows == [(1, "accepted"), (2, "received")] and counts == {1: 12}
    again = runner.invoke(app, ["ingest", str(good), "-w", str(ws)])
    assert again.exit_code == 0 and "accepted" in again.output
    assert _state(pg_url) == ([(1, "accepted"), (2, "accepted")], {1: 12, 2: 12})


def test_postgresql_unreachable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         ) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("VEILLE_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{port}/veille")
    said = _named(runner.invoke(app, ["check", "-w", str(write_catalog(tmp_path / "ws"))]))
    assert (f"Impossible de joindre la base PostgreSQL « veille » sur 127.0.0.1:{port} "
            "(connection failed") in said and "Connection refused" in said
    assert "Vérifiez que PostgreSQL tourne et est joignable" in said


# --- a full disk ------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB tmpfs (needs root: mounting is the only honest full disk; elsewhere
    the test is skipped, saying so)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def _fill(disk: Path) -> Path:
    """Write zeros until the disk refuses one more byte."""
    filler = disk / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    assert os.statvfs(disk).f_bavail == 0
    return filler


def test_full_disk_under_the_store_mid_ingest_rolls_back_whole(
        small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        on_statement: Callable) -> None:
    url = f"sqlite:///{small_disk / 'veille.db'}"
    monkeypatch.setenv("VEILLE_DATABASE_URL", url)
    ws = write_catalog(tmp_path / "ws")
    assert runner.invoke(app, ["ingest", str(caf_file(tmp_path, "2024-03")),
                               "-w", str(ws)]).exit_code == 0
    fillers: list[Path] = []
    on_statement("UPDATE deliveries SET status", lambda _conn: fillers.append(_fill(small_disk)))
    good = caf_file(tmp_path, "2024-04")
    said = _named(runner.invoke(app, ["ingest", str(good), "-w", str(ws)]))
    assert fillers
    assert (f"Disque plein : la base de données {small_disk / 'veille.db'} ne peut plus "
            "grandir") in said
    assert "Libérez de la place sur ce disque, puis relancez la même commande" in said
    fillers[0].unlink()
    assert _state(url) == ([(1, "accepted"), (2, "received")], {1: 12})
    again = runner.invoke(app, ["ingest", str(good), "-w", str(ws)])
    assert again.exit_code == 0 and "accepted" in again.output
    assert _state(url) == ([(1, "accepted"), (2, "accepted")], {1: 12, 2: 12})


def test_full_disk_under_the_archive_leaves_no_half_copy(
        small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'veille.db'}"
    monkeypatch.setenv("VEILLE_DATABASE_URL", url)
    ws = write_catalog(small_disk / "ws")
    assert runner.invoke(app, ["ingest", str(caf_file(tmp_path, "2024-03")),
                               "-w", str(ws)]).exit_code == 0
    archived = sorted(p for p in (ws / "archive").rglob("*") if p.is_file())
    filler = _fill(small_disk)
    good = caf_file(tmp_path, "2024-04")
    said = _named(runner.invoke(app, ["ingest", str(good), "-w", str(ws)]))
    assert f"Disque plein en écrivant {ws / 'archive'}" in said
    assert "No space left on device" in said
    assert sorted(p for p in (ws / "archive").rglob("*") if p.is_file()) == archived
    assert _state(url) == ([(1, "accepted")], {1: 12})
    filler.unlink()
    again = runner.invoke(app, ["ingest", str(good), "-w", str(ws)])
    assert again.exit_code == 0 and "accepted" in again.output
    assert _state(url) == ([(1, "accepted"), (2, "accepted")], {1: 12, 2: 12})
