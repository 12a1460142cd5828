"""The drop folder's rules (connectors/drop.py): a file still being written is never taken,
temporary names are never taken, links, FIFOs and devices are refused with a message naming
them and nothing of them is archived; `veille ingest FILE` follows a link the analyst gives
but refuses what is not a regular file. Real stores, real processes where timing matters."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.common import console
from cli.jobs import watch_folder
from cli.main import app
from connectors import drop
from factories import caf_file, write_catalog
from veille.runtime import Runtime, open_runtime
from veille.store import deliveries, make_engine

REPO = Path(__file__).resolve().parents[1]
PLANTED = "root:x:0:0:PLANTED-SECRET:/root:/bin/bash"


@pytest.fixture
def runtime(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    monkeypatch.setattr(console, "width", 300)
    return open_runtime(write_catalog(tmp_path / "ws"))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "depot"
    path.mkdir()
    return path


def recorded(runtime: Runtime) -> list[deliveries.DeliveryRow]:
    with runtime.engine.connect() as conn:
        return deliveries.list_deliveries(conn)


def archived(runtime: Runtime) -> list[Path]:
    return sorted(p for p in runtime.workspace.archive.rglob("*") if p.is_file())


def nothing_anywhere(runtime: Runtime, text: str) -> None:
    """``text`` is in no file the workspace kept (archive, quarantine, reports)."""
    for base in (runtime.workspace.archive, runtime.workspace.quarantine):
        for path in base.rglob("*"):
            if path.is_file():
                assert text.encode() not in path.read_bytes(), path


def test_a_file_still_being_written_is_taken_whole_only_once_complete(tmp_path: Path,
                                                                      folder: Path) -> None:
    """A provider writes half the file, pauses longer than the old 2 s poll, then ends."""
    ws = write_catalog(tmp_path / "ws")
    whole = caf_file(tmp_path, "2024-03").read_bytes()
    target = folder / "caf_2024-03.csv"
    env = dict(os.environ, PYTHONPATH=str(REPO), VEILLE_DATABASE_URL=f"sqlite:///{ws}/v.db")
    env.pop("VEILLE_WORKSPACE", None)
    watcher = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "watch", str(folder), "--interval", "0.5",
         "--quiet-seconds", "3", "-w", str(ws)], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "data = open(sys.argv[1], 'rb').read(); half = len(data) // 2\n"
        "with open(sys.argv[2], 'wb') as out:\n"
        "    out.write(data[:half]); out.flush(); time.sleep(2.5); out.write(data[half:])\n"),
        str(tmp_path / "caf_2024-03.csv"), str(target)])
    processed = folder / "processed" / target.name
    try:
        while writer.poll() is None:
            assert not processed.exists(), "taken while still being written"
            time.sleep(0.1)
        deadline = time.monotonic() + 90
        while not processed.exists() and time.monotonic() < deadline:
            assert watcher.poll() is None, watcher.communicate()[0]
            time.sleep(0.2)
    finally:
        watcher.send_signal(signal.SIGINT)
        output = watcher.communicate(timeout=90)[0]
    assert watcher.returncode == 0 and "Traceback" not in output, output
    assert processed.read_bytes() == whole
    engine = make_engine(env["VEILLE_DATABASE_URL"])
    with engine.connect() as conn:
        rows = deliveries.list_deliveries(conn)
    assert [(r.filename, r.status, r.observation_count) for r in rows] == [
        ("caf_2024-03.csv", "accepted", 12)]
    assert Path(rows[0].archive_path).read_bytes() == whole


def test_temporary_names_are_never_taken_and_a_renamed_file_is(runtime: Runtime,
                                                               folder: Path,
                                                               tmp_path: Path) -> None:
    whole = caf_file(tmp_path, "2024-03").read_bytes()
    for name in ("caf_2024-03.csv.part", ".caf_2024-03.csv", "~$caf_2024-03.csv",
                 "caf_2024-03.csv.tmp", "caf_2024-03.csv.filepart"):
        (folder / name).write_bytes(whole)
    total = watch_folder(runtime, folder, once=True, quiet=0)
    assert (total.received, total.refused, recorded(runtime), archived(runtime)) == (0, [], [], [])
    assert len([p for p in folder.iterdir() if p.is_file()]) == 5
    (folder / "caf_2024-03.csv.part").rename(folder / "caf_2024-03.csv")  # write, then rename
    total = watch_folder(runtime, folder, once=True, quiet=0)
    assert total.accepted == 1
    assert [(r.filename, r.status) for r in recorded(runtime)] == [("caf_2024-03.csv",
                                                                   "accepted")]
    assert (folder / "processed" / "caf_2024-03.csv").read_bytes() == whole


def test_a_file_changed_within_the_quiet_period_waits(runtime: Runtime, folder: Path) -> None:
    path = caf_file(folder, "2024-03")
    total = watch_folder(runtime, folder, once=True, quiet=30)
    assert total.received == 0 and path.exists() and recorded(runtime) == []
    assert total.waiting == [(path, "caf_2024-03.csv : modifié il y a 0 s, pris après 30 s "
                                    "sans changement")]
    past = time.time() - 60
    os.utime(path, (past, past))
    assert watch_folder(runtime, folder, once=True, quiet=30).accepted == 1


def test_a_file_changed_after_the_look_is_put_back_not_taken(folder: Path) -> None:
    path = caf_file(folder, "2024-03")
    past = time.time() - 60
    os.utime(path, (past, past))
    found = drop.scan(folder, {}, quiet=5, now=time.time(), once=True)
    assert [p for p, _ in found.ready] == [path]
    with path.open("ab") as handle:  # the provider writes again
        handle.write(b"Q-UN-NORD;2024-03;1;1;100,0\r\n")
    assert drop.claim(path, found.ready[0][1], drop.claims_folder(folder)) is None
    assert path.exists() and not list((folder / drop.CLAIMS).rglob("*.csv"))


def test_links_fifos_and_devices_in_the_drop_folder_are_refused(runtime: Runtime,
                                                                folder: Path,
                                                                tmp_path: Path) -> None:
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "passwd").write_text(PLANTED + "\n", encoding="utf-8")
    os.symlink(outside / "passwd", folder / "caf_2024-01.csv")
    caf_file(tmp_path, "2024-02")
    os.symlink(tmp_path / "caf_2024-02.csv", folder / "caf_2024-02.csv")
    os.mkfifo(folder / "caf_2024-03.csv")
    os.link(outside / "passwd", folder / "caf_2024-04.csv")
    try:
        os.mknod(folder / "caf_2024-05.csv", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        device = True
    except PermissionError:  # no CAP_MKNOD here: the FIFO stands for special files
        device = False
    good = caf_file(folder, "2024-06")
    os.utime(good, (time.time() - 60,) * 2)

    result = CliRunner().invoke(app, ["watch", str(folder), "--once", "--quiet-seconds", "5",
                                      "-w", str(runtime.workspace.root)])
    shown = " ".join(result.output.split())
    assert result.exit_code == 0 and "Traceback" not in shown, result.output
    assert (f"Refusé caf_2024-01.csv : lien symbolique (vers {outside / 'passwd'}) refusé : le "
            "dossier de dépôt n'accepte que des fichiers ordinaires, un lien peut désigner un "
            "fichier hors du dossier ; rien n'a été lu ni archivé. Déposez le fichier "
            "lui-même.") in shown
    assert f"Refusé caf_2024-02.csv : lien symbolique (vers {tmp_path / 'caf_2024-02.csv'})" \
        in shown
    assert ("Refusé caf_2024-03.csv : c'est un tube nommé (FIFO), refusé : le dossier de dépôt "
            "n'accepte que des fichiers ordinaires ; rien n'a été lu ni archivé.") in shown
    assert ("Refusé caf_2024-04.csv : lien physique refusé (ce fichier a 2 noms, peut-être "
            "hors du dossier de dépôt) ; rien n'a été lu ni archivé. Déposez une copie du "
            "fichier.") in shown
    if device:
        assert "Refusé caf_2024-05.csv : c'est un périphérique, refusé" in shown
    assert "1 accepted, 0 quarantined, 0 duplicates, 0 pris par un autre processus, " \
           f"{4 + device} refusé(s)" in shown
    # only the good file went through; the refused entries are where they were
    assert [(r.filename, r.status) for r in recorded(runtime)] == [("caf_2024-06.csv",
                                                                   "accepted")]
    assert len(archived(runtime)) == 1
    nothing_anywhere(runtime, "PLANTED-SECRET")
    assert (folder / "caf_2024-01.csv").is_symlink() and (folder / "caf_2024-03.csv").exists()
    assert sorted(p.name for p in (folder / "processed").iterdir()) == ["caf_2024-06.csv"]


def test_claims_of_a_watcher_that_died_are_put_back_and_taken(runtime: Runtime,
                                                              folder: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stranded = folder / drop.CLAIMS / f"{socket.gethostname()}-{dead.pid}"
    stranded.mkdir(parents=True)
    caf_file(stranded, "2024-03")
    total = watch_folder(runtime, folder, once=True, quiet=0)
    assert total.accepted == 1 and not stranded.exists()
    assert (folder / "processed" / "caf_2024-03.csv").exists()


def test_ingest_follows_a_link_the_analyst_gives(runtime: Runtime, tmp_path: Path) -> None:
    """An explicit path is the analyst's choice: a link is followed (the drop folder, fed
    by providers, refuses links)."""
    target = caf_file(tmp_path, "2024-03")
    link = tmp_path / "derniere" / "caf_2024-03.csv"
    link.parent.mkdir()
    link.symlink_to(target)
    result = CliRunner().invoke(app, ["ingest", str(link), "-w", str(runtime.workspace.root)])
    assert result.exit_code == 0, result.output
    assert [(r.filename, r.status) for r in recorded(runtime)] == [("caf_2024-03.csv",
                                                                   "accepted")]


@pytest.mark.parametrize(("kind", "said"), [("fifo", "c'est un tube nommé (FIFO)"),
                                            ("device", "c'est un périphérique"),
                                            ("folder", "c'est un dossier")])
def test_ingest_refuses_what_is_not_a_regular_file(runtime: Runtime, tmp_path: Path,
                                                   kind: str, said: str) -> None:
    """A FIFO would block the command forever, /dev/zero would never end: a real process
    with a time limit, so that a hang fails the test."""
    if kind == "fifo":
        path = tmp_path / "caf_2024-03.csv"
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    else:
        path = tmp_path / "caf_2024-03"
        path.mkdir()
    good = caf_file(tmp_path, "2024-04")
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="300")
    done = subprocess.run([sys.executable, "-m", "cli.main", "ingest", str(path), str(good),
                           "-w", str(runtime.workspace.root)], env=env, capture_output=True,
                          text=True, timeout=60)
    shown = " ".join(done.stdout.split())
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"Refusé {path} : {said}, pas un fichier ordinaire ; rien n'a été reçu." in shown
    assert "Traceback" not in done.stdout + done.stderr
    # the refused path left nothing; the good file next to it went through
    assert [(r.filename, r.status) for r in recorded(runtime)] == [("caf_2024-04.csv",
                                                                   "accepted")]
    assert len(archived(runtime)) == 1
