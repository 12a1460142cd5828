"""Every kind of bad input becomes a Problem naming file, line, column, value and expectation."""

from __future__ import annotations

import openpyxl
import pytest
from conftest import wide_convention, write_text
from test_good_paths import long_convention

from connectors.mapping import parse_delivery
from connectors.validate import Problem

HEADER = "IRIS;ARSA;AAAH;PERCOU;POP;TXCOUV\n"
GOOD = "422180101;125;12;450;1000;45,5\n"


def parse(tmp_path, catalog, clock, body: str, name: str = "caf_2024-03.csv", **changes):
    path = write_text(tmp_path, name, body)
    return parse_delivery(path, wide_convention(**changes), catalog, clock=clock)


def only(parsed, kind: str) -> Problem:
    assert not parsed.ok
    assert parsed.observations.empty  # nothing half-written
    found = [p for p in parsed.problems if p.kind == kind]
    assert len(found) == 1, [str(p) for p in parsed.problems]
    return found[0]


def test_missing_or_renamed_column_names_found_columns_and_closest(tmp_path, small_catalog,
                                                                  may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024,
                   "IRIS;NB_ARSA;AAAH;PERCOU;POP;TXCOUV\n" + GOOD)
    problem = only(parsed, "missing_column")
    assert (problem.file, problem.line, problem.column, problem.value) == (
        "caf_2024-03.csv", 1, "ARSA", None)
    assert "closest found: 'NB_ARSA'" in problem.expected
    assert "columns found: 'IRIS', 'NB_ARSA', 'AAAH'" in problem.expected
    assert str(problem).startswith("caf_2024-03.csv, line 1, column 'ARSA': expected a column")


def test_wrong_separator_is_explained(tmp_path, small_catalog, may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER.replace(";", ",") +
                   GOOD.replace(";", ",").replace("45,5", "45"))
    problems = [p for p in parsed.problems if p.kind == "missing_column"]
    assert {p.column for p in problems} == {"IRIS", "ARSA", "AAAH", "PERCOU", "POP", "TXCOUV"}
    assert all("separated by ','" in p.expected for p in problems)


def test_unknown_territory_code(tmp_path, small_catalog, may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER + GOOD +
                   "999990101;1;2;3;4;5\n")
    problem = only(parsed, "unknown_territory")
    assert (problem.line, problem.column, problem.value) == (3, "IRIS", "999990101")
    assert "territory code known to the catalog at iris level" in problem.expected


def test_territory_of_another_level_is_refused_but_ancestors_accepted(tmp_path, small_catalog,
                                                                      may_2024):
    # 42218 (commune) and 200000001 (EPCI) contain IRIS: fine; 69123 has none: refused.
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER + GOOD +
                   "42218;1;2;3;4;5\n200000001;1;2;3;4;5\n69123;1;2;3;4;5\n")
    problem = only(parsed, "territory_level")
    assert (problem.line, problem.column, problem.value) == (5, "IRIS", "69123")
    assert "'69123' is a commune not covered" in problem.expected
    assert len(parsed.problems) == 1


def test_zero_padding_is_shown_when_it_changed_the_code(tmp_path, small_catalog, may_2024):
    convention = long_convention()
    path = write_text(tmp_path, "x.csv", "champ;commune;mois;famille;detail;nombre;statut\n"
                      "France;4299;2024-03;Aides;RSA;3;diff\n")
    parsed = parse_delivery(path, convention, small_catalog, clock=may_2024)
    problem = only(parsed, "unknown_territory")
    assert (problem.line, problem.column) == (2, "commune")
    assert problem.value == "4299' (read as '04299"


def test_unknown_indicator_code_in_a_wide_convention(tmp_path, small_catalog, may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER + GOOD,
                   columns={"ARSA": {"indicator": "caf_rsa_majore"},
                            "AAAH": {"indicator": "caf_aah"}})
    problem = only(parsed, "unknown_indicator")
    assert (problem.line, problem.column, problem.value) == (1, "ARSA", "caf_rsa_majore")
    assert "indicator code defined in the glossary" in problem.expected


def test_unknown_indicator_label_in_a_long_file(tmp_path, small_catalog, may_2024):
    path = write_text(tmp_path, "x.csv", "champ;commune;mois;famille;detail;nombre;statut\n"
                      "France;42218;2024-03;Aides;RSA;3;diff\n"
                      "France;42218;2024-03;Aides;RSa;4;diff\n"
                      "France;42095;2024-03;Aides;RSa;5;diff\n")
    parsed = parse_delivery(path, long_convention(), small_catalog, clock=may_2024)
    problem = only(parsed, "unknown_indicator")
    assert (problem.line, problem.column, problem.value) == (3, "famille|detail", "Aides|RSa")
    assert "closest: 'Aides|RSA'" in problem.expected
    assert "same label on 1 other row(s)" in problem.expected


def test_non_numeric_value(tmp_path, small_catalog, may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER + GOOD + "422180102;abc;2;3;4;5\n")
    problem = only(parsed, "not_a_number")
    assert (problem.file, problem.sheet, problem.line, problem.column, problem.value) == (
        "caf_2024-03.csv", None, 3, "ARSA", "abc")
    assert problem.expected.startswith("a number (decimal comma allowed) or a secret marker")
    assert str(problem).startswith(
        "caf_2024-03.csv, line 3, column 'ARSA': value 'abc' — expected a number")


def test_non_numeric_numerator_names_the_numerator_column(tmp_path, small_catalog, may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER + "422180101;1;2;beaucoup;4;5\n")
    problem = only(parsed, "not_a_number")
    assert (problem.line, problem.column, problem.value) == (2, "PERCOU", "beaucoup")


@pytest.mark.parametrize(("row", "column", "value", "expected"), [
    ("422180101;-3;2;3;4;5", "ARSA", "-3", "a value of at least 0 for caf_rsa (count"),
    ("422180101;3;2;3;4;120,5", "TXCOUV", "120,5",
     "a value of at most 100 for caf_couverture (rate, %)"),
])
def test_value_out_of_range(tmp_path, small_catalog, may_2024, row, column, value, expected):
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER + row + "\n")
    problem = only(parsed, "out_of_range")
    assert (problem.line, problem.column, problem.value) == (2, column, value)
    assert problem.expected.startswith(expected)


def test_amount_below_the_glossary_minimum(tmp_path, small_catalog, may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024,
                   "IRIS;ARSA;MOY\n422180101;1;12,5\n422180102;1;9,99\n",
                   columns={"ARSA": {"indicator": "caf_rsa"},
                            "MOY": {"indicator": "caf_montant_moyen"}})
    problem = only(parsed, "out_of_range")
    assert (problem.line, problem.column, problem.value) == (3, "MOY", "9,99")
    assert problem.expected.startswith("a value of at least 10 for caf_montant_moyen (amount")


def test_count_not_an_integer(tmp_path, small_catalog, may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER + "422180101;12,5;2;3;4;5\n")
    problem = only(parsed, "not_integer")
    assert (problem.line, problem.column, problem.value) == (2, "ARSA", "12,5")
    assert problem.expected.startswith("a whole number: caf_rsa is a count")


def test_numerator_above_denominator(tmp_path, small_catalog, may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER + GOOD +
                   "422180102;1;2;1200;1000;100\n")
    problem = only(parsed, "numerator_above_denominator")
    assert (problem.line, problem.column, problem.value) == (3, "PERCOU", "1200")
    assert "denominator ('POP' = 1000)" in problem.expected


def test_duplicate_rows_report_both_lines(tmp_path, small_catalog, may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER + GOOD +
                   "422180102;1;2;3;4;5\n" + GOOD)
    problems = [p for p in parsed.problems if p.kind == "duplicate"]
    assert [(p.line, p.column, p.value) for p in problems] == [
        (2, "IRIS", "422180101 | 2024-03"), (4, "IRIS", "422180101 | 2024-03")]
    assert "also on line 4" in problems[0].expected
    assert "also on line 2" in problems[1].expected
    assert len(parsed.problems) == 2


def test_duplicate_rows_in_a_long_file(tmp_path, small_catalog, may_2024):
    path = write_text(tmp_path, "x.csv", "champ;commune;mois;famille;detail;nombre;statut\n"
                      "France;42218;2024-03;Aides;RSA;3;diff\n"
                      "France;42218;2024-03;Aides;AAH;3;diff\n"
                      "Métropole;42218;2024-03;Aides;RSA;4;diff\n", encoding="utf-8")
    parsed = parse_delivery(path, long_convention(), small_catalog, clock=may_2024)
    problems = [p for p in parsed.problems if p.kind == "duplicate"]
    assert [(p.line, p.column, p.value) for p in problems] == [
        (2, "nombre", "caf_rsa | 42218 | 2024-03"), (4, "nombre", "caf_rsa | 42218 | 2024-03")]


@pytest.mark.parametrize(("period", "expected"), [
    ("2024-T1", "a monthly period such as 2024-03"),
    ("2024-13", "a monthly period such as 2024-03"),
    ("mars 2024", "a monthly period such as 2024-03"),
    ("2022-12", "a period from 2023-01 on (the convention's first period); 2022-12 is earlier"),
    ("2024-05", "a period that has ended: the last closed one is 2024-04"),
])
def test_period_outside_the_convention(tmp_path, small_catalog, may_2024, period, expected):
    parsed = parse(tmp_path, small_catalog, may_2024, "IRIS;mois;ARSA;AAAH;PERCOU;POP;TXCOUV\n"
                   f"422180101;2024-03;1;2;3;4;5\n422180102;{period};1;2;3;4;5\n",
                   period={"column": "mois"})
    problem = only(parsed, "period")
    assert (problem.line, problem.column, problem.value) == (3, "mois", period)
    assert problem.expected.startswith(expected)


def test_period_in_the_file_name_not_over_yet(tmp_path, small_catalog, may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER + GOOD, name="caf_2024-06.csv")
    problem = only(parsed, "period")
    assert (problem.line, problem.column, problem.value) == (None, None, "caf_2024-06.csv")
    assert "last closed one is 2024-04" in problem.expected
    assert problem.expected.endswith("in the file name")


@pytest.mark.parametrize("body", ["", HEADER, HEADER + ";;;;;\n\n"])
def test_empty_file(tmp_path, small_catalog, may_2024, body):
    parsed = parse(tmp_path, small_catalog, may_2024, body)
    problem = only(parsed, "empty")
    assert problem.file == "caf_2024-03.csv"
    assert problem.expected.startswith("a header row followed by data rows") or \
        problem.expected.startswith("at least one data row")
    assert parsed.rows_read == 0


def test_filters_that_keep_nothing_are_reported(tmp_path, small_catalog, may_2024):
    path = write_text(tmp_path, "x.csv", "champ;commune;mois;famille;detail;nombre;statut\n"
                      "DOM;42218;2024-03;Aides;RSA;3;diff\n")
    parsed = parse_delivery(path, long_convention(), small_catalog, clock=may_2024)
    problem = only(parsed, "empty")
    assert "champ = ['France', 'Métropole']" in problem.expected


def test_declared_utf8_but_latin1_bytes(tmp_path, small_catalog, may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024,
                   "IRIS;Libellé;ARSA;AAAH;PERCOU;POP;TXCOUV\n" + GOOD,
                   file={"encoding": "utf-8"})
    problem = only(parsed, "encoding")
    assert (problem.line, problem.value) == (1, "byte 0xe9")
    assert "UTF-8" in problem.expected and "Latin-1" in problem.expected


def test_declared_latin1_but_utf8_bytes(tmp_path, small_catalog, may_2024):
    path = tmp_path / "caf_2024-03.csv"
    path.write_bytes((HEADER + GOOD + "# Crêt de Roc\n").encode("utf-8"))
    parsed = parse_delivery(path, wide_convention(), small_catalog, clock=may_2024)
    problem = only(parsed, "encoding")
    assert (problem.line, problem.value) == (3, "ê")
    assert "the file is UTF-8" in problem.expected


def test_row_with_too_many_fields(tmp_path, small_catalog, may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER + GOOD + "422180102;1;2;3;4;5;6\n")
    problem = only(parsed, "unreadable")
    assert (problem.line, problem.value) == (3, "7 fields")
    assert problem.expected == "6 fields separated by ';', as on the header row"


def test_corrupt_spreadsheet(tmp_path, small_catalog, may_2024):
    path = tmp_path / "caf_2024-03.xlsx"
    path.write_bytes(b"this is not a zip file")
    parsed = parse_delivery(path, wide_convention(), small_catalog, clock=may_2024)
    problem = only(parsed, "unreadable")
    assert problem.file == "caf_2024-03.xlsx"
    assert problem.expected.startswith("a valid XLSX spreadsheet")


def test_missing_sheet(tmp_path, small_catalog, may_2024):
    book = openpyxl.Workbook()
    book.active.title = "Feuil1"
    path = tmp_path / "caf_2024-03.xlsx"
    book.save(path)
    parsed = parse_delivery(path, wide_convention(file={"sheet": "Données"}), small_catalog,
                            clock=may_2024)
    problem = only(parsed, "missing_sheet")
    assert problem.value == "Données" and "sheets found: Feuil1" in problem.expected


def test_spreadsheet_text_is_kept_as_written_like_in_csv(tmp_path, small_catalog, may_2024):
    # 'NA' used to be blanked by the spreadsheet engine's missing-value list, so it was
    # silently taken for a secret cell; it is text the convention does not declare.
    book = openpyxl.Workbook()
    book.active.append(HEADER.strip().split(";"))
    book.active.append(["422180101", "NA", 12, 450, 1000, 45.5])
    path = tmp_path / "caf_2024-03.xlsx"
    book.save(path)
    parsed = parse_delivery(path, wide_convention(), small_catalog, clock=may_2024)
    problem = only(parsed, "not_a_number")
    assert (problem.line, problem.column, problem.value) == (2, "ARSA", "NA")


def test_unsupported_format(tmp_path, small_catalog, may_2024):
    path = tmp_path / "caf_2024-03.dbf"
    path.write_bytes(b"\x03\x7c\x01\x01")
    parsed = parse_delivery(path, wide_convention(), small_catalog, clock=may_2024)
    problem = only(parsed, "format")
    assert problem.value == ".dbf" and ".xlsx, .xls, .ods, .json or .jsonl" in problem.expected


def test_truncated_xls_is_unreadable(tmp_path, small_catalog, may_2024):
    path = tmp_path / "caf_2024-03.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    parsed = parse_delivery(path, wide_convention(), small_catalog, clock=may_2024)
    problem = only(parsed, "unreadable")
    assert "a valid XLS spreadsheet" in problem.expected


def test_unreadable_path(tmp_path, small_catalog, may_2024):
    parsed = parse_delivery(tmp_path / "absent_2024-03.csv", wide_convention(), small_catalog,
                            clock=may_2024)
    problem = only(parsed, "unreadable")
    assert problem.file == "absent_2024-03.csv"


def test_several_problems_are_all_reported_in_line_order(tmp_path, small_catalog, may_2024):
    parsed = parse(tmp_path, small_catalog, may_2024, HEADER + "422180101;x;-1;3;4;5\n"
                   "422180102;1;2;3;4;5\n" + "420950101;1,5;2;3;4;101\n")
    assert [(p.line, p.column, p.kind) for p in parsed.problems] == [
        (2, "ARSA", "not_a_number"), (2, "AAAH", "out_of_range"),
        (4, "ARSA", "not_integer"), (4, "TXCOUV", "out_of_range")]
