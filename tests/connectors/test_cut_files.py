"""A file cut in the middle of a row (an interrupted transfer) is a defect of the file,
told by its field count: the short row is named, nothing of the file is read. A complete
file whose last line merely lacks its final newline is read as usual."""

from __future__ import annotations

from pathlib import Path

from conftest import wide_convention, write_text
from test_bad_input import GOOD, HEADER, only, parse

from connectors.mapping import parse_delivery


def test_a_row_cut_short_is_named_and_nothing_is_read(tmp_path, small_catalog, may_2024):
    # The transfer stopped inside the row's second value: '1' of '12', and no more fields.
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER + GOOD + "422180102;125;1")
    problem = only(parsed, "short_row")
    assert (problem.file, problem.line, problem.column, problem.value) == (
        "caf_2024-03.csv", 3, "PERCOU", "3 champ(s), le dernier « 1 »")
    assert problem.expected == (
        "6 champs séparés par « ; » comme sur la ligne d'en-tête (ligne 1) : la ligne "
        "s'arrête avant la colonne « PERCOU », le fichier a sans doute été coupé (transfert "
        "interrompu) ; demandez au fournisseur de renvoyer le fichier complet")


def test_a_short_row_inside_the_file_is_refused_too(tmp_path, small_catalog, may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024,
                   HEADER + "422180102;125;12\n" + GOOD)
    problem = only(parsed, "short_row")
    assert (problem.line, problem.column) == (2, "PERCOU")


def test_a_complete_last_line_without_newline_is_read(tmp_path, small_catalog, may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER + GOOD + "422180102;7;3;50;200;25,0")
    assert parsed.ok, [str(p) for p in parsed.problems]
    last = parsed.observations.query("territory == '422180102' and indicator == 'caf_couverture'")
    assert last["value"].tolist() == [25.0] and last["denominator"].tolist() == [200.0]


def test_a_header_ending_with_a_separator_does_not_make_rows_short(tmp_path, small_catalog,
                                                                   may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER.replace("\n", ";\n") + GOOD)
    assert parsed.ok, [str(p) for p in parsed.problems]


def test_blank_lines_and_a_title_block_are_not_short_rows(tmp_path, small_catalog, may_2024):
    path = write_text(tmp_path, "caf_2024-03.csv",
                      "Allocataires par IRIS\n\n" + HEADER + GOOD + "\n\n")
    parsed = parse_delivery(path, wide_convention(file={"skip_rows": 1}), small_catalog,
                            clock=may_2024)
    assert parsed.ok, [str(p) for p in parsed.problems]


def test_the_cut_delivery_is_quarantined_and_the_whole_one_then_accepted(
        tmp_path, db_url, monkeypatch):
    """The issue's case: 208 neighbourhoods x 3 values, the transfer cut inside the 64th
    row's first value ('13' of '1363'): the 192 values before the cut are not recorded."""
    from typer.testing import CliRunner

    from cli.common import console
    from cli.main import app
    from factories import caf_file, write_catalog
    from veille.runtime import open_runtime
    from veille.store import deliveries

    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    monkeypatch.setattr(console, "width", 300)
    ws = write_catalog(tmp_path / "ws")
    codes = [f"Q-{i:03d}" for i in range(208)]
    with (ws / "catalog" / "territories.csv").open("a", encoding="utf-8") as handle:
        handle.writelines(f"{code};quartier;Quartier {code};99001;100\n" for code in codes)
    whole = caf_file(tmp_path, "2024-03", {c: (str(1300 + i), "40", "3,0")
                                           for i, c in enumerate(codes)})
    data = whole.read_bytes()
    cut_at = data.index(b"Q-063;2024-03;1363") + len(b"Q-063;2024-03;13")
    cut = tmp_path / "cut" / whole.name
    cut.parent.mkdir()
    cut.write_bytes(data[:cut_at])

    result = CliRunner().invoke(app, ["ingest", str(cut), "-w", str(ws)])
    assert result.exit_code == 1, result.output
    assert "Quarantined caf_2024-03.csv: report" in " ".join(result.output.split())
    runtime = open_runtime(ws)
    with runtime.engine.connect() as conn:
        (row,) = deliveries.list_deliveries(conn)
    assert (row.status, row.observation_count) == ("quarantined", 0)
    report = Path(row.report_path).read_text(encoding="utf-8")
    assert ("caf_2024-03.csv, line 66, column 'RSA': value '3 champ(s), le dernier « 13 »' — "
            "expected 5 champs séparés par « ; » comme sur la ligne d'en-tête (ligne 2) : la "
            "ligne s'arrête avant la colonne « RSA »") in report
    assert "Ligne incomplète (fichier coupé ?)" in report

    result = CliRunner().invoke(app, ["ingest", str(whole), "-w", str(ws)])
    assert result.exit_code == 0, result.output
    with runtime.engine.connect() as conn:
        accepted = deliveries.list_deliveries(conn, "accepted")
    assert [(d.filename, d.observation_count) for d in accepted] == [("caf_2024-03.csv", 624)]
