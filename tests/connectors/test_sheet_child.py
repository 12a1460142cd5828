"""The spreadsheet scan run in the child process: it finds the same farthest cell and the
same formulas without a saved value however the sheet's XML falls into blocks."""

from __future__ import annotations

import openpyxl
import pytest

from connectors.sheet_child import Refused, scan_xlsx

WIDE = {"max_columns": 2_000, "max_cells": 20_000_000}


@pytest.fixture
def book(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Données"
    workbook.create_sheet("Autre")["ZZ9"] = 1  # another sheet's extent is not this one's
    for row in range(1, 201):
        sheet.append([f"{row:09d}", row, row * 2, f"=B{row}*2" if row % 50 == 0 else row])
    sheet["AB300"] = "far"
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    return path


@pytest.mark.parametrize("chunk_size", [1 << 22, 997, 64])
def test_formulas_found_whatever_the_blocks(book, chunk_size):
    assert scan_xlsx(str(book), "Données", WIDE, chunk_size) == [
        [row, 4, f"=B{row}*2"] for row in (50, 100, 150, 200)]


@pytest.mark.parametrize("chunk_size", [1 << 22, 997, 64])
def test_the_farthest_cell_is_named_whatever_the_blocks(book, chunk_size):
    with pytest.raises(Refused) as refused:
        scan_xlsx(str(book), "Données", {"max_columns": 27, "max_cells": 10**9}, chunk_size)
    assert {k: refused.value.fields[k] for k in ("sheet", "line", "column", "value")} == {
        "sheet": "Données", "line": 300, "column": "AB", "value": "AB300"}
    with pytest.raises(Refused) as refused:
        scan_xlsx(str(book), "Données", {"max_columns": 100, "max_cells": 8_000}, chunk_size)
    assert refused.value.fields["value"] == "AB300"
    assert "300 rows × 28 columns = 8,400 cells, counted from A1" in \
        refused.value.fields["expected"]
