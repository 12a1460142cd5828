"""Formula injection (issue 18): every CSV the product writes neutralises cells a spreadsheet
would run (OWASP: a leading = + - @ tab or CR gets a single quote), and keeps numbers
numbers. Each writer is tested with a planted ``=HYPERLINK(...)``."""

from __future__ import annotations

import ast
import csv
import dataclasses
import datetime as dt
import io
from pathlib import Path

import numpy as np
import pytest

from cli.jobs import ingest_files
from demo import files as demo_files
from demo import geography, truth
from demo.scenario import MALFORMED
from factories import QUARTIERS, caf_file, write_catalog
from veille.clock import FixedClock
from veille.csv_safe import neutralise
from veille.runtime import open_runtime
from veille.store import deliveries
from veille.store.outbox import events_of

REPO = Path(__file__).resolve().parents[1]
PRODUCT = ["veille", "connectors", "detectors", "thresholds", "digests", "portrait", "streams",
           "review", "cli", "demo"]
# Writers that are not files for people, so not spreadsheet cells: the helper itself, and
# the PostgreSQL COPY buffer of bulk inserts (quoting a value there would corrupt the store).
NOT_FOR_SPREADSHEETS = {"veille/csv_safe.py", "veille/store/observations.py"}
HYPERLINK = '=HYPERLINK("http://evil.example/vol","Cliquez ici")'
CLOCK = FixedClock(dt.datetime(2024, 6, 20, 9, tzinfo=dt.UTC))


def _raw_writers(path: Path) -> list[str]:
    """Calls that write CSV without the safe helper: csv.writer, csv.DictWriter, .to_csv."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            raw_csv = (isinstance(owner, ast.Name) and owner.id == "csv"
                       and node.func.attr in ("writer", "DictWriter"))
            if raw_csv or node.func.attr == "to_csv":
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_every_csv_writer_of_the_product_goes_through_the_safe_helper() -> None:
    raw = [hit for package in PRODUCT for path in sorted((REPO / package).rglob("*.py"))
           if str(path.relative_to(REPO)) not in NOT_FOR_SPREADSHEETS
           for hit in _raw_writers(path)]
    assert raw == [], f"CSV written without veille.csv_safe: {raw}"


@pytest.mark.parametrize(("value", "shown"), [
    (HYPERLINK, "'" + HYPERLINK),
    ("+33 1 23 45 67 89", "'+33 1 23 45 67 89"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("-", "'-"),
    # plain numbers stay numbers, whatever their sign or decimal mark
    ("-3", "-3"), ("-3,5", "-3,5"), ("+2.5e3", "+2.5e3"), ("-.5", "-.5"),
    (-3, -3), (-2.5, -2.5),
    # harmless text is untouched
    ("Nord", "Nord"), ("a=b", "a=b"), ("", ""),
])
def test_the_owasp_rule_neutralises_text_and_keeps_numbers(value: object,
                                                           shown: object) -> None:
    assert neutralise(value) == shown


def _rows(text: str, delimiter: str = ";") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def test_quarantine_errors_csv_neutralises_a_planted_formula(tmp_path: Path, db_url: str,
                                                             monkeypatch) -> None:
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    runtime = open_runtime(write_catalog(tmp_path / "ws"), clock=CLOCK)
    rows = {q: ("400", "40", "10,0") for q in QUARTIERS}
    rows["Q-UN-SUD"] = ("400", HYPERLINK, "10,0")
    rows["@SUM(1+1)*cmd|' /C calc'!A0"] = ("400", "40", "10,0")
    rows["Q-UN-NORD"] = ("400", "-2+3", "10,0")
    bad = caf_file(tmp_path, "2024-04", rows)
    assert ingest_files(runtime, [bad]).quarantined == 1

    event = events_of(runtime.engine, "DeliveryQuarantined")[0]
    errors = Path(event.report_path.removesuffix(".rapport.txt") + ".errors.csv")
    table = _rows(errors.read_text(encoding="utf-8-sig"))
    values = {r[4]: r for r in table[1:]}
    assert "'" + HYPERLINK in values, table
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in values
    assert "'-2+3" in values
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in table for cell in r), table
    assert values["'" + HYPERLINK][2] == "4"  # the line number is still a number
    with runtime.engine.connect() as conn:  # nothing of the bad file was recorded
        assert deliveries.get(conn, event.delivery_id).status == "quarantined"
        assert deliveries.get(conn, event.delivery_id).observation_count in (0, None)
    # and the next good delivery still goes through
    assert ingest_files(runtime, [caf_file(tmp_path, "2024-03")]).accepted == 1


def test_demo_territories_and_links_csv_neutralise_planted_names() -> None:
    geo = geography.build_geography(np.random.default_rng(2026))
    code, _name = geo.communes[0]
    planted = dataclasses.replace(geo, communes=[(code, HYPERLINK), *geo.communes[1:]])
    table = _rows(geography.territories_csv(planted))
    row = next(r for r in table if r[0] == code)
    assert row[2] == "'" + HYPERLINK and row[4].isdigit()
    qpv = next(iter(geo.qpv_links))
    planted_links = dataclasses.replace(geo, qpv_links={qpv: [(HYPERLINK, 0.25)]})
    assert _rows(geography.links_csv(planted_links))[1] == ["'" + HYPERLINK, qpv, "0.25"]


def test_demo_provider_files_neutralise_a_planted_cell_and_keep_numbers() -> None:
    text = demo_files._csv_text([["zone", "valeur", "taux"], [HYPERLINK, -3, "-3,5"]], ";")
    assert _rows(text)[1] == ["'" + HYPERLINK, "-3", "-3,5"]


def test_demo_malformed_file_neutralises_a_planted_label() -> None:
    header = ["code_zone", "libelle_zone", "niveau", "classe", "faits", "est_diffuse"]
    rows = [header,
            ["99008", HYPERLINK, "quartier", MALFORMED["bad_class"], "12", "diff"],
            ["99008", "Commune", "commune", "Autre", "-3", "diff"]]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    data, _problems = truth.malform(buf.getvalue().encode("utf-8"))
    table = _rows(data.decode("utf-8"), ",")
    assert table[1][1] == "'" + HYPERLINK
    assert not any(cell.startswith("=") for r in table for cell in r)
    assert any(r[4] == "-3" for r in table[1:])  # a number stays a number
