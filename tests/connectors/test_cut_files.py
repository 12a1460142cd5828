"""A file cut in the middle of a row (an interrupted transfer) is a defect of the file,
told by its field count: the short row is named, nothing of the file is read. A complete
file whose last line merely lacks its final newline is read as usual."""

from __future__ import annotations

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
