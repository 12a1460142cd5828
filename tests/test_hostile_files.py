"""Hostile and broken provider files (issue 18): each one is quarantined with a report that
says what is wrong and where, nothing accepted before is lost, and the next good delivery
still goes through — on real SQLite and PostgreSQL stores, with the spreadsheet reader run
in its real child process."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from sqlalchemy import func, select

from cli.jobs import ingest_files
from connectors.receive import receive
from factories import QUARTIERS, caf_file, write_catalog
from veille.clock import FixedClock
from veille.runtime import Runtime, open_runtime
from veille.store import deliveries
from veille.store.outbox import events_of
from veille.store.schema import observations

REPO = Path(__file__).resolve().parents[1]
CLOCK = FixedClock(dt.datetime(2024, 6, 20, 9, tzinfo=dt.UTC))
GOOD_ROWS = {code: (str(400 + 10 * i), str(40 + i), f"{(40 + i) / (400 + 10 * i) * 100:.1f}"
                    .replace(".", ",")) for i, code in enumerate(QUARTIERS)}


@pytest.fixture
def runtime(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    return open_runtime(write_catalog(tmp_path / "ws"), clock=CLOCK)


def with_limits(runtime: Runtime, **limits: int) -> Runtime:
    """The same workspace reopened with ``read_limits`` set in its veille.yaml."""
    (runtime.workspace.root / "veille.yaml").write_text(
        yaml.safe_dump({"read_limits": limits}), encoding="utf-8")
    return open_runtime(runtime.workspace.root, clock=CLOCK)


def _observation_count(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(observations)).scalar() or 0)


def quarantined_between_good_ones(runtime: Runtime, tmp_path: Path, hostile: Path,
                                  heading: str) -> list[dict]:
    """Ingest a good month, the hostile file, then another good month; check the hostile
    one is quarantined whole with its report (French heading ``heading``, no NUL byte) and
    both good ones are recorded; return the hostile file's stored problems."""
    recorded = _observation_count(runtime)
    before = ingest_files(runtime, [caf_file(tmp_path, "2024-02")])
    bad = ingest_files(runtime, [hostile])
    after = ingest_files(runtime, [caf_file(tmp_path, "2024-03")])
    assert (before.accepted, bad.accepted, bad.quarantined, after.accepted) == (1, 0, 1, 1)
    assert _observation_count(runtime) == recorded + 2 * 3 * len(QUARTIERS)
    event = events_of(runtime.engine, "DeliveryQuarantined")[-1]
    assert event.filename == hostile.name
    report = Path(event.report_path)
    text = report.read_text(encoding="utf-8")
    errors = report.with_name(hostile.name + ".errors.csv").read_bytes()
    assert heading in text
    assert "\x00" not in text and b"\x00" not in errors
    assert (report.parent / hostile.name).read_bytes() == hostile.read_bytes()
    with runtime.engine.connect() as conn:
        assert deliveries.get(conn, event.delivery_id).status == "quarantined"
        return deliveries.problems_of(conn, event.delivery_id)


def caf_book(path: Path, month: str, cells: dict[str, object] | None = None) -> Path:
    """The CAF test file as an XLSX sheet (title row, header, one row per quarter), with
    ``cells`` written over it (an '=' text is stored as a formula, without a result)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Feuil1"
    sheet.append(["Allocataires CAF par quartier"])
    sheet.append(["code", "mois", "ALLOC", "RSA", "PART_RSA"])
    for code, (alloc, rsa, part) in GOOD_ROWS.items():
        sheet.append([code, month, int(alloc), int(rsa), float(part.replace(",", "."))])
    for ref, value in (cells or {}).items():
        sheet[ref] = value
    book.save(path)
    return path


# --- spreadsheets that crash the reader --------------------------------------------------------

def test_xlsx_whose_only_cell_is_at_xfd1048576_is_refused_by_its_extent(runtime: Runtime,
                                                                       tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Feuil1"
    book.active["XFD1048576"] = 1
    hostile = tmp_path / "caf_2024-04.xlsx"
    book.save(hostile)
    started = time.monotonic()
    problems = quarantined_between_good_ones(runtime, tmp_path, hostile,
                                             "Fichier au-delà des limites de lecture")
    assert time.monotonic() - started < 30
    assert len(problems) == 1
    p = problems[0]
    assert (p["file"], p["sheet"], p["line"], p["column"], p["value"]) == (
        "caf_2024-04.xlsx", "Feuil1", 1048576, "XFD", "XFD1048576")
    assert "at most 2,000 columns and 20,000,000 cells (read_limits in veille.yaml)" in \
        p["expected"]
    assert "1,048,576 rows × 16,384 columns" in p["expected"]


def test_reader_that_dies_in_its_child_process_costs_only_that_file(runtime: Runtime,
                                                                    tmp_path: Path) -> None:
    # Limits raised so that the extent check lets A1 + XFD1048576 through: calamine then asks
    # for 512 GiB and aborts — in the child, held to 256 MiB; the parent quarantines.
    runtime = with_limits(runtime, max_columns=20_000, max_cells=10**12, sheet_memory_mb=256)
    book = openpyxl.Workbook()
    book.active["A1"] = "code"
    book.active["XFD1048576"] = 1
    hostile = tmp_path / "caf_2024-04.xlsx"
    book.save(hostile)
    problems = quarantined_between_good_ones(runtime, tmp_path, hostile, "Fichier illisible")
    assert len(problems) == 1
    assert problems[0]["expected"].startswith(
        "an XLSX file that can be read within 256 MiB of memory and 120 s")
    assert "the reader stopped (SIG" in problems[0]["expected"]
    assert "memory allocation of" in problems[0]["expected"]


def test_delivery_left_received_by_a_crash_is_quarantined_at_the_next_run(
        runtime: Runtime, tmp_path: Path) -> None:
    # The state the old reader left: the hostile file archived and recorded, its ingest
    # never finished. The next run handles it first, then the good file.
    book = openpyxl.Workbook()
    book.active["A1"] = "code"
    book.active["XFD1048576"] = 1
    hostile = tmp_path / "caf_2024-04.xlsx"
    book.save(hostile)
    left = receive(hostile, workspace=runtime.workspace, catalog=runtime.catalog,
                   engine=runtime.engine, clock=CLOCK)
    summary = ingest_files(runtime, [caf_file(tmp_path, "2024-03")])
    assert (summary.accepted, summary.quarantined) == (1, 1)
    with runtime.engine.connect() as conn:
        assert deliveries.get(conn, left.event.delivery_id).status == "quarantined"
        (problem,) = deliveries.problems_of(conn, left.event.delivery_id)
    assert problem["value"] == "XFD1048576"
    assert _observation_count(runtime) == 3 * len(QUARTIERS)


def test_delivery_whose_ingest_died_twice_is_set_aside_unread(runtime: Runtime,
                                                             tmp_path: Path) -> None:
    # Two runs died while reading this file: each had counted its attempt before reading
    # (committed), then the process was gone. This is the state they leave in the store; a
    # third run must not read it again but quarantine it, and go on with the next file.
    path = caf_file(tmp_path, "2024-04")
    left = receive(path, workspace=runtime.workspace, catalog=runtime.catalog,
                   engine=runtime.engine, clock=CLOCK)
    for _ in range(2):
        with runtime.engine.begin() as conn:
            deliveries.start_ingest(conn, left.event.delivery_id)
    summary = ingest_files(runtime, [caf_file(tmp_path, "2024-03")])
    assert (summary.accepted, summary.quarantined) == (1, 1)
    event = events_of(runtime.engine, "DeliveryQuarantined")[0]
    assert event.delivery_id == left.event.delivery_id
    assert "the 2 earlier attempts to ingest it stopped before finishing" in event.summary[0]
    text = Path(event.report_path).read_text(encoding="utf-8")
    assert "Lecture interrompue à répétition" in text
    assert _observation_count(runtime) == 3 * len(QUARTIERS)


def test_cli_ingest_of_the_crashing_xlsx_exits_cleanly_and_the_queue_moves_on(
        tmp_path: Path) -> None:
    ws = write_catalog(tmp_path / "ws")
    book = openpyxl.Workbook()
    book.active["A1"] = "code"
    book.active["XFD1048576"] = 1
    hostile = tmp_path / "caf_2024-04.xlsx"
    book.save(hostile)
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200",
           "VEILLE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}

    def veille(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli.main", *args, "-w", str(ws)],
                              capture_output=True, text=True, env=env, timeout=120,
                              check=False)

    bad = veille("ingest", str(hostile))
    assert bad.returncode == 1, bad.stderr
    assert "Traceback" not in bad.stdout + bad.stderr
    assert "Quarantined" in bad.stdout and "caf_2024-04.xlsx" in bad.stdout
    good = veille("ingest", str(caf_file(tmp_path, "2024-03")))
    assert good.returncode == 0, good.stdout + good.stderr
    listed = veille("deliveries")
    assert "quarantined" in listed.stdout and "accepted" in listed.stdout


def test_ods_bomb_and_ods_formula_without_value_are_refused(runtime: Runtime,
                                                           tmp_path: Path) -> None:
    rows = [["Allocataires CAF", "", "", "", ""], ["code", "mois", "ALLOC", "RSA", "PART_RSA"]]
    rows += [[code, "2024-04", a, "@FORMULA@" if code == "Q-UN-SUD" else r, p]
             for code, (a, r, p) in GOOD_ROWS.items()]
    plain = tmp_path / "plain.ods"
    pd.DataFrame(rows).to_excel(plain, engine="odf", header=False, index=False)

    def variant(name: str, pattern: bytes, new: bytes) -> Path:
        """``plain`` with the first match of ``pattern`` in content.xml replaced."""
        target = tmp_path / name
        with zipfile.ZipFile(plain) as src, zipfile.ZipFile(target, "w") as out:
            for item in src.infolist():
                data = src.read(item.filename)
                if item.filename == "content.xml":
                    data, n = re.subn(pattern, new, data, count=1)
                    assert n == 1
                out.writestr(item, data)
        return target

    formula = variant("caf_2024-04.ods",
                      rb"<table:table-cell[^>]*@FORMULA@.*?</table:table-cell>",
                      b'<table:table-cell table:formula="of:=[.C4]/10"/>')
    problems = quarantined_between_good_ones(runtime, tmp_path, formula,
                                             "Formule sans valeur enregistrée")
    assert [(p["line"], p["column"], p["value"]) for p in problems] == [
        (4, "RSA", "=[.C4]/10")]
    assert "cell D4 holds a formula whose result was never computed" in problems[0]["expected"]

    bomb = variant("caf_2024-05.ods", rb"<table:table-row>",
                   b'<table:table-row table:number-rows-repeated="1048575">'
                   b'<table:table-cell table:number-columns-repeated="16383" '
                   b'office:value-type="string"><text:p>x</text:p></table:table-cell>'
                   b"</table:table-row><table:table-row>")
    assert ingest_files(runtime, [bomb]).quarantined == 1
    event = events_of(runtime.engine, "DeliveryQuarantined")[-1]
    assert event.filename == "caf_2024-05.ods"
    assert "a valid ODS spreadsheet (CalamineError: Cell limit exceeded" in event.summary[0]
    assert ingest_files(runtime, [caf_file(tmp_path, "2024-05")]).accepted == 1


# --- size limits ---------------------------------------------------------------------------

def test_header_of_a_million_columns_is_refused_in_seconds(runtime: Runtime,
                                                          tmp_path: Path) -> None:
    hostile = tmp_path / "caf_2024-04.csv"
    header = ";".join(f"c{i}" for i in range(1_000_000))
    hostile.write_bytes(f"Titre\r\n{header}\r\n{';'.join(['1'] * 1_000_000)}\r\n"
                        .encode("latin-1"))
    started = time.monotonic()
    problems = quarantined_between_good_ones(runtime, tmp_path, hostile,
                                             "Fichier au-delà des limites de lecture")
    assert time.monotonic() - started < 30  # the old reader was killed after 180 s
    assert [(p["line"], p["value"]) for p in problems] == [(2, "1,000,000 columns")]
    assert problems[0]["expected"] == (
        "a header of at most 2,000 columns (read_limits in veille.yaml: max_columns)")


@pytest.mark.parametrize(("limits", "line", "value", "expected"), [
    ({"max_columns": 4}, 2, "5 columns", "a header of at most 4 columns"),
    ({"max_cells": 20}, None, "5 lines × 5 columns", "a file of at most 20 cells"),
    ({"max_line_chars": 100}, 4, "178 characters", "lines of at most 100 characters"),
])
def test_read_limits_are_set_per_workspace(runtime: Runtime, tmp_path: Path, limits: dict,
                                           line: int | None, value: str,
                                           expected: str) -> None:
    runtime = with_limits(runtime, **limits)
    rows = dict(GOOD_ROWS)
    rows["Q-UN-SUD"] = ("400", "40" + " " * 150, "10,0")
    hostile = caf_file(tmp_path, "2024-04", rows)
    before = ingest_files(runtime, [hostile])
    assert before.quarantined == 1
    with runtime.engine.connect() as conn:
        (problem,) = deliveries.problems_of(conn, before.outcomes[0][1].event.delivery_id)
    assert (problem["line"], problem["value"]) == (line, value)
    assert problem["expected"].startswith(expected)
    assert "read_limits in veille.yaml" in problem["expected"]
    assert _observation_count(runtime) == 0


# --- silent acceptances ------------------------------------------------------------------------

def test_duplicated_header_is_refused_naming_both_positions(runtime: Runtime,
                                                          tmp_path: Path) -> None:
    text = caf_file(tmp_path, "2024-04").read_bytes().decode("latin-1")
    lines = text.split("\r\n")
    lines[1] += ";RSA"
    lines[2:-1] = [line + ";999" for line in lines[2:-1]]
    hostile = tmp_path / "caf_2024-04.csv"
    hostile.write_bytes("\r\n".join(lines).encode("latin-1"))
    problems = quarantined_between_good_ones(runtime, tmp_path, hostile,
                                             "Colonne en double dans l'en-tête")
    assert [(p["line"], p["column"]) for p in problems] == [(2, "RSA")]
    assert problems[0]["expected"] == (
        "column names that appear once in the header; 'RSA' is column 4 and column 6")


def test_count_of_1e300_is_refused_by_the_plausibility_bound(runtime: Runtime,
                                                            tmp_path: Path) -> None:
    rows = dict(GOOD_ROWS)
    rows["Q-DEUX-EST"] = ("400", "1e300", "10,0")
    hostile = caf_file(tmp_path, "2024-04", rows)
    problems = quarantined_between_good_ones(runtime, tmp_path, hostile,
                                             "Valeur hors bornes")
    assert sorted((p["line"], p["column"], p["value"], p["expected"]) for p in problems) == [
        (5, "RSA", "1e300", "a numerator between 0 and 1e+09 for part_rsa: a count of people "
         "or cases (plausibility bound)"),
        (5, "RSA", "1e300", "a numerator not greater than its denominator ('ALLOC' = 400)"),
        (5, "RSA", "1e300", "a value of at most 1e+09 for caf_rsa (count, foyers): the "
         "plausibility bound of its kind (set 'maximum' in the glossary to change it)")]


def test_xlsx_formula_without_a_saved_value_is_refused_naming_the_cell(runtime: Runtime,
                                                                       tmp_path: Path) -> None:
    hostile = caf_book(tmp_path / "caf_2024-04.xlsx", "2024-04", {"D4": "=C4/10"})
    good = ingest_files(runtime, [caf_book(tmp_path / "caf_2024-05.xlsx", "2024-05")])
    assert good.accepted == 1  # the same sheet with values is read
    problems = quarantined_between_good_ones(runtime, tmp_path, hostile,
                                             "Formule sans valeur enregistrée")
    assert [(p["sheet"], p["line"], p["column"], p["value"]) for p in problems] == [
        ("Feuil1", 4, "RSA", "=C4/10")]
    assert problems[0]["expected"].startswith(
        "a value saved with the file: cell D4 holds a formula whose result was never computed")


# --- unclear messages ------------------------------------------------------------------------

@pytest.mark.parametrize(("encoding", "named"), [
    ("utf-16", "UTF-16 (little-endian, with a byte order mark)"),
    ("utf-16-le", "UTF-16 (little-endian, without a byte order mark)"),
    ("utf-16-be", "UTF-16 (big-endian, without a byte order mark)"),
])
def test_utf16_file_is_named_as_such(runtime: Runtime, tmp_path: Path, encoding: str,
                                     named: str) -> None:
    hostile = tmp_path / "caf_2024-04.csv"
    hostile.write_bytes(caf_file(tmp_path, "2024-04").read_bytes().decode("latin-1")
                        .encode(encoding))
    problems = quarantined_between_good_ones(runtime, tmp_path, hostile,
                                             "Encodage des caractères")
    assert [p["value"] for p in problems] == [named]
    assert problems[0]["expected"].startswith(
        "text encoded in latin-1 as the convention says; this file is UTF-16")
    assert "set file.encoding to utf-16" in problems[0]["expected"]


def test_nul_bytes_are_named_and_never_reach_the_report(runtime: Runtime,
                                                        tmp_path: Path) -> None:
    hostile = tmp_path / "caf_2024-04.csv"
    data = caf_file(tmp_path, "2024-04").read_bytes()
    hostile.write_bytes(data.replace(b"Q-UN-SUD", b"Q-UN\x00SUD"))
    problems = quarantined_between_good_ones(runtime, tmp_path, hostile,
                                             "Encodage des caractères")
    assert [(p["line"], p["value"]) for p in problems] == [(4, "byte 0x00")]
    assert "holds NUL bytes" in problems[0]["expected"]


def test_cr_only_line_ends_are_read_with_exact_line_numbers(runtime: Runtime,
                                                             tmp_path: Path) -> None:
    good = tmp_path / "caf_2024-05.csv"
    good.write_bytes(caf_file(tmp_path, "2024-05").read_bytes().replace(b"\r\n", b"\r"))
    assert ingest_files(runtime, [good]).accepted == 1
    rows = dict(GOOD_ROWS)
    rows["Q-DEUX-EST"] = ("400", "quarante", "10,0")
    hostile = tmp_path / "caf_2024-04.csv"
    hostile.write_bytes(caf_file(tmp_path, "2024-04", rows).read_bytes()
                        .replace(b"\r\n", b"\r"))
    problems = quarantined_between_good_ones(runtime, tmp_path, hostile,
                                             "Valeur non numérique")
    assert [(p["line"], p["column"], p["value"]) for p in problems] == [(5, "RSA", "quarante")]
