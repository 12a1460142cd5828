"""The quarantine report: both files next to the delivery, every problem in the CSV."""

from __future__ import annotations

import csv

from conftest import wide_convention, write_text

from connectors.mapping import parse_delivery
from connectors.report import write_report


def test_report_lists_every_problem_with_its_location(tmp_path, small_catalog, may_2024):
    path = write_text(tmp_path, "caf_2024-03.csv", "IRIS;ARSA;AAAH;PERCOU;POP;TXCOUV\n"
                      "422180101;abc;2;3;4;5\n999990101;1;2;3;4;5\n422180102;1;2;9;4;5\n")
    parsed = parse_delivery(path, wide_convention(), small_catalog, clock=may_2024)
    assert len(parsed.problems) == 3

    report = write_report(parsed, path)

    assert report == tmp_path / "caf_2024-03.csv.rapport.txt"
    text = report.read_text(encoding="utf-8")
    assert "Rapport de contrôle de livraison / Delivery validation report" in text
    assert "Lignes lues / Rows read : 3" in text
    assert "Valeur non numérique / Non-numeric value" in text
    assert "Code territoire inconnu / Unknown territory code" in text
    for problem in parsed.problems:
        assert f"  - {problem}" in text
    with (tmp_path / "caf_2024-03.csv.errors.csv").open(encoding="utf-8-sig",
                                                        newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[0][:6] == ["fichier/file", "onglet/sheet", "ligne/line", "colonne/column",
                           "valeur/value", "attendu/expected"]
    assert [(r[2], r[3], r[4], r[6]) for r in rows[1:]] == [
        ("2", "ARSA", "abc", "not_a_number"), ("3", "IRIS", "999990101", "unknown_territory"),
        ("4", "PERCOU", "9", "numerator_above_denominator")]
    assert all(r[0] == "caf_2024-03.csv" for r in rows[1:])


def test_report_for_an_unreadable_file(tmp_path, small_catalog, may_2024):
    path = tmp_path / "caf_2024-03.xlsx"
    path.write_bytes(b"garbage")
    parsed = parse_delivery(path, wide_convention(), small_catalog, clock=may_2024)
    text = write_report(parsed, path).read_text(encoding="utf-8")
    assert "Fichier illisible / Unreadable file" in text
    assert "a valid XLSX spreadsheet" in text
