"""Read one sheet of a spreadsheet in a process of its own, within memory and time limits.

The spreadsheet engine (calamine, in Rust) can take the whole process down on a hostile file:
one cell at XFD1048576 besides A1 makes it ask for 512 GiB and abort. So ``connectors.read``
runs it in a child process (``child_reader.py``: ``python -I``, a JSON request on stdin, a
JSON answer on stdout) under an address-space and CPU limit: a crash or a limit costs that
process only, and the parent quarantines the delivery. Before calamine is called, the
sheet's XML is scanned for the cells that hold values, so a sheet too large for the limits is
refused by naming its farthest cell, and formula cells saved without a computed value are
found (calamine reads them as empty). The script imports nothing from the project, so that
it starts in tens of milliseconds.
"""

from __future__ import annotations

import datetime as dt
import io
import posixpath
import re
import zipfile
from typing import Any
from xml.sax.saxutils import unescape

import defusedxml.ElementTree as SafeET
import python_calamine

_P = rb"(?:[\w.-]+:)?"  # an optional namespace prefix (x:c as well as c)
_VALUE_CELL = re.compile(
    rb"<" + _P + rb'c\b[^>]*?\sr="([A-Z]{1,3})([0-9]{1,7})"[^>]*>'
    rb"(?:<" + _P + rb"f\b[^>]*?(?:/>|>[^<]*</" + _P + rb"f>))?"
    rb"<" + _P + rb"(?:v(?:\s[^>]*)?>[^<]|is\b)")
_FORMULA_CELL = re.compile(
    rb"<" + _P + rb"c\b([^>]*)>\s*<" + _P + rb"f\b[^>]*?(?:/>|>([^<]*)</" + _P + rb"f>)\s*"
    rb"(<" + _P + rb"v\s*/>|<" + _P + rb"v>\s*</" + _P + rb"v>)?\s*</" + _P + rb"c>")
_HAS_FORMULA = re.compile(rb"<" + _P + rb"f[\s>/]")
_REF = re.compile(rb'\sr="([A-Z]{1,3})([0-9]{1,7})"')
_STRING_RESULT = re.compile(rb'\st="str"')
_CHUNK = 1 << 22
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DOC_RELS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


class Refused(Exception):
    """The sheet breaks a rule; ``fields`` become a Problem in the parent."""

    def __init__(self, **fields: Any) -> None:
        self.fields = fields
        super().__init__(fields.get("expected", ""))


def column_number(letters: str) -> int:
    """1 for A, 27 for AA, 16384 for XFD."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _choose(names: list[str], wanted: str | int | None) -> str:
    if wanted is None and names:
        return names[0]
    if isinstance(wanted, int) and 0 <= wanted < len(names):
        return names[wanted]
    if isinstance(wanted, str) and wanted in names:
        return wanted
    raise Refused(kind="missing_sheet", sheet=None, line=None, column=None, value=str(wanted),
                  expected=f"a sheet {wanted!r}; sheets found: {', '.join(names)}")


# --- XLSX: scan the sheet's XML -----------------------------------------------------------------

def _xlsx_part(book: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding ``sheet`` (workbook.xml names it, its rels file locates it)."""
    try:
        workbook = SafeET.fromstring(book.read("xl/workbook.xml"))
        rels = SafeET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    except KeyError:
        return None
    target = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_RELS}Relationship")}
    for node in workbook.iter(f"{_MAIN}sheet"):
        if node.get("name") == sheet:
            path = target.get(node.get(f"{_DOC_RELS}id"), "")
            return path.lstrip("/") if path.startswith("/") else posixpath.normpath(
                posixpath.join("xl", path))
    return None


def scan_xlsx(path: str, sheet: str, limits: dict[str, int],
              chunk_size: int = _CHUNK) -> list[list[Any]]:
    """Refuse a sheet whose value cells reach beyond the limits (counted from A1, as it is
    read); return the formula cells saved without a value as [row, column, formula].
    The XML is scanned in blocks of about ``chunk_size`` bytes cut after a row's end, so
    memory stays flat."""
    with zipfile.ZipFile(path) as book:
        part = _xlsx_part(book, sheet)
        if part is None or part not in book.namelist():
            return []
        extent = _Extent()
        uncached: list[list[Any]] = []
        with book.open(part) as stream:
            tail = b""
            while True:
                chunk = stream.read(chunk_size)
                data = tail + chunk
                end = data.rfind(b"row>")
                cut = len(data) if not chunk else end + 4 if end >= 0 else 0
                block, tail = data[:cut], data[cut:]
                extent.add(_VALUE_CELL.findall(block))
                if _HAS_FORMULA.search(block):
                    uncached += _uncached_formulas(block)
                if not chunk:
                    break
    far = extent.far_col if extent.cols > limits["max_columns"] else extent.far_row
    _check_extent(sheet, extent.rows, extent.cols, far, limits)
    return uncached


class _Extent:
    """The last row and column holding a value, and a cell on each (to name it)."""

    def __init__(self) -> None:
        self.rows = self.cols = 0
        self.far_row = self.far_col = ""

    def add(self, cells: list[tuple[bytes, bytes]]) -> None:
        if not cells:
            return
        widest = max({letters.decode() for letters, _ in cells}, key=column_number)
        if column_number(widest) > self.cols:
            self.cols = column_number(widest)
            self.far_col = widest + next(n for c, n in cells if c == widest.encode()).decode()
        deepest = max(int(number) for _, number in cells)
        if deepest > self.rows:
            self.rows = deepest
            self.far_row = next(c + n for c, n in cells if int(n) == deepest).decode()


def _uncached_formulas(block: bytes) -> list[list[Any]]:
    found: list[list[Any]] = []
    for match in _FORMULA_CELL.finditer(block):
        attrs, formula, empty_value = match.groups()
        if empty_value is not None and _STRING_RESULT.search(attrs):
            continue  # a formula whose saved result is the empty string
        text = ("=" + unescape(formula.decode("utf-8", "replace"))) if formula else "(formula)"
        ref = _REF.search(attrs)
        if ref is None:
            found.append([None, None, text])
        else:
            found.append([int(ref.group(2)), column_number(ref.group(1).decode()), text])
    return found


def _check_extent(sheet: str, rows: int, cols: int, far: str | None,
                  limits: dict[str, int]) -> None:
    if cols <= limits["max_columns"] and rows * cols <= limits["max_cells"]:
        return
    found = f"{rows:,} rows × {cols:,} columns = {rows * cols:,} cells, counted from A1"
    where = re.fullmatch(r"([A-Z]+)(\d+)", far or "")
    raise Refused(
        kind="too_large", sheet=sheet, line=int(where.group(2)) if where else None,
        column=where.group(1) if where else None, value=far or f"{rows} × {cols}",
        expected=(f"a sheet of at most {limits['max_columns']:,} columns and "
                  f"{limits['max_cells']:,} cells (read_limits in veille.yaml); "
                  + (f"this cell makes it {found}" if where else f"the sheet holds {found}")))


# --- ODS: formulas saved without a value ------------------------------------------------------

def _scan_ods(path: str, sheet: str) -> list[list[Any]]:
    """Formula cells of ``sheet`` that carry no value type (never computed), with positions
    that count repeated rows and cells as ODS does."""
    with zipfile.ZipFile(path) as book:
        data = book.read("content.xml")
    if b"table:formula" not in data:
        return []
    found: list[list[Any]] = []
    row = col = 0
    inside = False
    for event, node in SafeET.iterparse(io.BytesIO(data), events=("start", "end")):
        tag = node.tag
        if event == "start":
            if tag == f"{_TABLE}table":
                inside, row = node.get(f"{_TABLE}name") == sheet, 0
            elif tag == f"{_TABLE}table-row":
                col = 0
            continue
        if tag in (f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell"):
            formula = node.get(f"{_TABLE}formula")
            if inside and formula and node.get(f"{_OFFICE}value-type") is None:
                found.append([row + 1, col + 1, formula.removeprefix("of:")])
            col += int(node.get(f"{_TABLE}number-columns-repeated", "1"))
            node.clear()
        elif tag == f"{_TABLE}table-row":
            row += int(node.get(f"{_TABLE}number-rows-repeated", "1"))
            node.clear()
    return found


# --- cells as text ----------------------------------------------------------------------------

def cell_text(value: Any, decimal: str) -> str:
    """A cell as text; typed numbers written with the convention's decimal mark."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        text = repr(value)
        return text.replace(".", decimal) if decimal != "." else text
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return str(dt.datetime(value.year, value.month, value.day))
    return str(value)


def read(request: dict[str, Any]) -> dict[str, Any]:
    """Choose the sheet, check it, read it. A broken rule answers ``refused``; an engine
    error answers ``failed`` with the stage (``open`` or ``read``) and the error's name."""
    path, fmt = request["path"], request["format"]
    limits = {"max_columns": int(request["max_columns"]), "max_cells": int(request["max_cells"])}
    stage = "open"
    try:
        book = python_calamine.CalamineWorkbook.from_path(path)
        sheet = _choose([str(n) for n in book.sheet_names], request["sheet"])
        stage = "read"
        uncached = (scan_xlsx(path, sheet, limits) if fmt == "xlsx"
                    else _scan_ods(path, sheet) if fmt == "ods" else [])
        grid = book.get_sheet_by_name(sheet)
        rows, cols = (grid.end[0] + 1, grid.end[1] + 1) if grid.end else (0, 0)
        _check_extent(sheet, rows, cols, None, limits)
        values = grid.to_python(skip_empty_area=False)
    except Refused as exc:
        return {"refused": exc.fields}
    except BaseException as exc:  # a Rust panic (pyo3's PanicException) is no Exception
        return {"failed": f"{type(exc).__name__}: {exc}"[:300], "stage": stage}
    decimal = request["decimal"]
    return {"sheet": sheet, "formulas": uncached,
            "rows": [[cell_text(v, decimal) for v in row] for row in values]}
