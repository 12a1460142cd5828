"""Read a provider file (CSV, XLSX, XLS, ODS, JSON, JSON Lines) into a table of strings with
source line numbers.

Everything stays text here: numbers, secret markers and codes are interpreted later by the
convention, so that a cell that does not parse can be reported exactly as the provider wrote
it. Each row keeps the line (CSV) or row (spreadsheet) a person sees in an editor, so every
problem can point at it.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connectors.validate import Problem
from veille.config import ReadLimits
from veille.model import FileSpec

_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
               ".xls": "xls", ".ods": "ods", ".json": "json", ".jsonl": "jsonl",
               ".ndjson": "jsonl"}
_SINGLE_BYTE = {"latin-1", "latin1", "iso-8859-1", "iso8859-1", "iso-8859-15", "cp1252",
                "windows-1252", "l1"}
_WIDE_BOMS = [(codecs.BOM_UTF32_LE, "UTF-32 (little-endian, with a byte order mark)"),
              (codecs.BOM_UTF32_BE, "UTF-32 (big-endian, with a byte order mark)"),
              (codecs.BOM_UTF16_LE, "UTF-16 (little-endian, with a byte order mark)"),
              (codecs.BOM_UTF16_BE, "UTF-16 (big-endian, with a byte order mark)")]
_CHILD = Path(__file__).with_name("child_reader.py")
_LIMITS = "read_limits in veille.yaml"


class ReadError(Exception):
    """The file cannot be turned into a table; ``problems`` says why, for the provider."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass
class Table:
    """The data rows of one sheet, as strings ('' for an empty cell)."""

    file: str
    sheet: str | None
    columns: list[str]
    header_line: int
    frame: pd.DataFrame
    lines: np.ndarray
    numbers_typed: bool = False

    @property
    def rows(self) -> int:
        return len(self.frame)


def file_format(path: Path, spec: FileSpec) -> str:
    """The declared format, else the one the extension names; raise ReadError otherwise."""
    if spec.format is not None:
        return spec.format
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise ReadError([Problem(path.name, None, None, None, path.suffix or "(no extension)",
                                 "a .csv, .xlsx, .xls, .ods, .json or .jsonl file",
                                 kind="format")])
    return fmt


def read_table(path: Path, spec: FileSpec, name: str | None = None,
               limits: ReadLimits | None = None) -> Table:
    """Read ``path`` as the convention's FileSpec says; raise ReadError with the reason.
    ``name`` is the file's name as the provider sent it (the archive renames it); a file
    beyond ``limits`` (the workspace's, else the defaults) is refused before it is parsed."""
    name = name or path.name
    limits = limits or ReadLimits()
    fmt = file_format(path, spec)
    if fmt in ("json", "jsonl"):
        return _read_json(name, path, spec, fmt, limits)
    if fmt != "csv":
        return _read_sheet(name, path, spec, fmt, limits)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError([Problem(name, None, None, None, None,
                                 f"a readable file ({exc.strerror or exc})",
                                 kind="unreadable")]) from exc
    return _read_csv(name, data, spec, limits)


# --- CSV -------------------------------------------------------------------------------------

def _decode(name: str, data: bytes, spec: FileSpec) -> str:
    """Decode with the declared encoding; a mismatch is the provider's problem, said plainly."""
    try:
        encoding = codecs.lookup(spec.encoding).name
    except LookupError as exc:
        raise ReadError([Problem(name, None, None, None, spec.encoding,
                                 "an encoding name Python knows (convention file.encoding)",
                                 kind="encoding")]) from exc
    if not encoding.startswith(("utf-16", "utf-32")):
        _refuse_wide_or_binary(name, data, spec.encoding)
    if encoding == "utf-8":
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            byte = data[exc.start:exc.start + 1]
            raise ReadError([Problem(
                name, None, line, None, f"byte 0x{byte.hex()}",
                "text encoded in UTF-8 as the convention says; the file looks like Latin-1 / "
                "Windows-1252 (ask the provider to save as UTF-8, or change file.encoding)",
                kind="encoding")]) from exc
    if encoding in {codecs.lookup(e).name for e in _SINGLE_BYTE} and _is_utf8_text(data):
        first = next(i for i, b in enumerate(data) if b >= 0x80)
        raise ReadError([Problem(
            name, None, data.count(b"\n", 0, first) + 1, None,
            data[first:first + 2].decode("utf-8", "replace"),
            f"text encoded in {spec.encoding} as the convention says; the file is UTF-8 "
            "(accents would be garbled: change file.encoding to utf-8)", kind="encoding")])
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ReadError([Problem(
            name, None, data.count(b"\n", 0, exc.start) + 1, None,
            f"byte 0x{data[exc.start:exc.start + 1].hex()}",
            f"text encoded in {spec.encoding} as the convention says", kind="encoding")]) from exc


def _refuse_wide_or_binary(name: str, data: bytes, declared: str) -> None:
    """UTF-16/32 text read as a one-byte encoding shows as NUL bytes between letters and
    every column seems missing: name the encoding instead. Other NUL bytes mean a binary
    file (NUL never appears in text)."""
    wide = next((label for bom, label in _WIDE_BOMS if data.startswith(bom)), None)
    sample = data[:4096]
    if wide is None and len(sample) >= 4:
        odd, even = sample[1::2].count(0), sample[0::2].count(0)
        if odd > len(sample) // 4 and even == 0:
            wide = "UTF-16 (little-endian, without a byte order mark)"
        elif even > len(sample) // 4 and odd == 0:
            wide = "UTF-16 (big-endian, without a byte order mark)"
    if wide is not None:
        python_name = "utf-32" if wide.startswith("UTF-32") else "utf-16"
        raise ReadError([Problem(
            name, None, None, None, wide,
            f"text encoded in {declared} as the convention says; this file is "
            f"{wide.split(' ')[0]}, two or four bytes a character (ask the provider to save it "
            f"as {declared}, or set file.encoding to {python_name} in the convention)",
            kind="encoding")])
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ReadError([Problem(
            name, None, data.count(b"\n", 0, nul) + 1, None, "byte 0x00",
            "a text file; this one holds NUL bytes (a binary or damaged file, not a CSV "
            "export)", kind="encoding")])


def _is_utf8_text(data: bytes) -> bool:
    """True for bytes that are valid UTF-8 and contain non-ASCII characters."""
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_csv(name: str, data: bytes, spec: FileSpec, limits: ReadLimits) -> Table:
    text = _decode(name, data, spec)
    if "\r" in text:  # CRLF and CR-only (old Mac) line ends read as LF: lines stay exact
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Drop title lines ourselves so that line numbers stay exact, then tolerate blank lines
    # before the header (common after a title block).
    offset, consumed = 0, 0
    while consumed < spec.skip_rows:
        nxt = text.find("\n", offset)
        if nxt < 0:
            offset = len(text)
            break
        offset, consumed = nxt + 1, consumed + 1
    while offset < len(text):
        end = text.find("\n", offset)
        if end < 0 or text[offset:end].strip():
            break
        offset, consumed = end + 1, consumed + 1
    body = text[offset:]
    if not body.strip():
        raise ReadError([Problem(name, None, None, None, None,
                                 "a header row followed by data rows (the file is empty)",
                                 kind="empty")])
    _check_csv_size(name, body, consumed, spec, limits)
    try:
        raw = pd.read_csv(
            io.StringIO(body), sep=spec.separator, quotechar=spec.quotechar, header=None,
            dtype=str, na_filter=False, skip_blank_lines=False, engine="c",
        )
    except pd.errors.ParserError as exc:
        match = re.search(r"line (\d+), saw (\d+)", str(exc))
        expected = re.search(r"Expected (\d+) fields", str(exc))
        line = consumed + int(match.group(1)) if match else None
        raise ReadError([Problem(
            name, None, line, None, f"{match.group(2)} fields" if match else None,
            f"{expected.group(1) if expected else 'the same number of'} fields separated by "
            f"'{spec.separator}', as on the header row", kind="unreadable")]) from exc
    except (ValueError, pd.errors.EmptyDataError) as exc:
        raise ReadError([Problem(name, None, None, None, None,
                                 f"a CSV file separated by '{spec.separator}' ({exc})",
                                 kind="unreadable")]) from exc
    raw = raw.fillna("")
    lines = np.arange(len(raw), dtype=np.int64) + consumed + 1
    if any(raw[c].str.contains("\n", regex=False).any() for c in raw.columns):
        # Quoted cells spanning several lines push every later row down.
        extra = sum(raw[c].str.count("\n").to_numpy(dtype=np.int64) for c in raw.columns)
        lines = lines + np.concatenate([[0], np.cumsum(extra)[:-1]])
    short = _short_rows(name, body, raw, lines, spec)
    if short:
        raise ReadError(short)
    return _split_header(name, None, raw, lines, spec)


def _short_rows(name: str, body: str, raw: pd.DataFrame, lines: np.ndarray,
                spec: FileSpec) -> list[Problem]:
    """Data rows with fewer fields than the header names: a file cut in the middle of a row
    (its last field cut short, the next ones absent), never a row to read with blanks.

    The C parser pads such rows with empty cells, so fields are counted again with the csv
    module. A complete last line without a final newline has all its fields and passes;
    a header ending in empty names (a trailing separator) does not make rows short."""
    if len(raw) <= spec.header_rows:
        return []
    counts = np.fromiter((len(r) for r in csv.reader(
        io.StringIO(body, newline=""), delimiter=spec.separator, quotechar=spec.quotechar)),
        dtype=np.int64)
    if len(counts) != len(raw):
        return []  # the two parsers see different records: no guess on which row is which
    named = (raw.iloc[:spec.header_rows] != "").to_numpy()
    width = int(named.shape[1] - np.argmax(named[:, ::-1].any(axis=0)))
    rows = np.arange(spec.header_rows, len(raw))
    filled = (raw.iloc[spec.header_rows:] != "").any(axis=1).to_numpy()
    header = raw.iloc[spec.header_row]
    problems = []
    for i in rows[filled & (counts[rows] < width)]:
        found = int(counts[i])
        missing = str(header.iloc[found]).strip() or f"(column {found + 1})"
        last = str(raw.iat[i, found - 1]) if found else ""
        problems.append(Problem(
            name, None, int(lines[i]), missing, f"{found} champ(s), le dernier « {last} »",
            f"{width} champs séparés par « {spec.separator} » comme sur la ligne d'en-tête "
            f"(ligne {int(lines[spec.header_row])}) : la ligne s'arrête avant la colonne "
            f"« {missing} », le fichier a sans doute été coupé (transfert interrompu) ; "
            "demandez au fournisseur de renvoyer le fichier complet", kind="short_row"))
    return problems


def _check_csv_size(name: str, body: str, consumed: int, spec: FileSpec,
                    limits: ReadLimits) -> None:
    """Refuse, before parsing, a header wider than ``max_columns``, more than ``max_cells``
    cells, or a line longer than ``max_line_chars`` (the parser would take minutes)."""
    end = body.find("\n")
    first = body if end < 0 else body[:end]
    width = first.count(spec.separator) + 1
    if spec.quotechar in first and width <= limits.max_columns:
        # A field beyond csv's own size limit is left to the line-length check below.
        with contextlib.suppress(csv.Error):
            width = len(next(csv.reader([first], delimiter=spec.separator,
                                        quotechar=spec.quotechar)))
    if width > limits.max_columns:
        raise ReadError([Problem(name, None, consumed + 1, None, f"{width:,} columns",
                                 f"a header of at most {limits.max_columns:,} columns "
                                 f"({_LIMITS}: max_columns)", kind="too_large")])
    lines = body.rstrip("\n").count("\n") + 1
    if lines * width > limits.max_cells:
        raise ReadError([Problem(name, None, None, None,
                                 f"{lines:,} lines × {width:,} columns",
                                 f"a file of at most {limits.max_cells:,} cells "
                                 f"({_LIMITS}: max_cells)", kind="too_large")])
    if len(body) > limits.max_line_chars:
        lengths = np.fromiter(map(len, body.split("\n")), dtype=np.int64)
        over = np.flatnonzero(lengths > limits.max_line_chars)
        if len(over):
            raise ReadError([Problem(name, None, consumed + int(over[0]) + 1, None,
                                     f"{int(lengths[over[0]]):,} characters",
                                     f"lines of at most {limits.max_line_chars:,} characters "
                                     f"({_LIMITS}: max_line_chars)", kind="too_large")])


# --- spreadsheets ----------------------------------------------------------------------------

def _read_sheet(name: str, path: Path, spec: FileSpec, fmt: str,
                limits: ReadLimits) -> Table:
    """XLSX, XLS and ODS through calamine (Rust), an order of magnitude faster than openpyxl
    or odfpy and the only engine here that reads Excel 97-2003, run in a child process
    (connectors/sheet_child.py) so that a file that crashes it is only quarantined."""
    answer = _sheet_cells(name, path, spec, fmt, limits)
    sheet = str(answer["sheet"])
    raw = pd.DataFrame(answer["rows"], dtype=str).iloc[spec.skip_rows:]
    lines = np.arange(len(raw), dtype=np.int64) + spec.skip_rows + 1
    # Blank rows between a title block and the header are tolerated, as in CSV.
    blank = ~(raw != "").any(axis=1).to_numpy() if len(raw) else np.array([], bool)
    lead = int(np.argmax(~blank)) if (~blank).any() else len(raw)
    raw, lines = raw.iloc[lead:], lines[lead:]
    if raw.empty:
        raise ReadError([Problem(name, sheet, None, None, None,
                                 "a header row followed by data rows (the sheet is empty)",
                                 kind="empty")])
    table = _split_header(name, sheet, raw.reset_index(drop=True), lines, spec)
    table.numbers_typed = True
    formulas = [Problem(name, sheet, row, _column_name(table, col), formula,
                        f"a value saved with the file: cell {_cell_ref(row, col)} holds a "
                        "formula whose result was never computed (open the file in a "
                        "spreadsheet program and save it again, or paste the values)",
                        kind="formula")
                for row, col, formula in answer["formulas"]
                if row is None or row >= int(lines[0])]
    if formulas:
        raise ReadError(formulas)
    return table


def _sheet_cells(name: str, path: Path, spec: FileSpec, fmt: str,
                 limits: ReadLimits) -> dict[str, Any]:
    """The chosen sheet's cells as text, read by the child within the memory and time
    limits; a refusal, an engine error, a crash or a timeout raises ReadError."""
    request = {"path": str(path), "format": fmt, "sheet": spec.sheet, "decimal": spec.decimal}
    return _child("sheet", name, request, fmt, limits)


def _read_json(name: str, path: Path, spec: FileSpec, fmt: str, limits: ReadLimits) -> Table:
    """JSON (the records at ``file.records``) or JSON Lines, parsed and flattened by a child
    process within the read limits (connectors/json_child.py). A row's line is the record's
    number (JSON) or its line in the file (JSON Lines)."""
    answer = _child("json", name, {
        "path": str(path), "format": fmt, "records": spec.records, "decimal": spec.decimal,
        "max_depth": limits.max_depth, "max_records": limits.max_records}, fmt, limits)
    columns = [str(c).strip() for c in answer["columns"]]
    if not answer["rows"]:
        raise ReadError([Problem(name, None, None, None, None,
                                 "at least one record (the document holds none)",
                                 kind="empty")])
    _refuse_duplicate_columns(name, None, 1, columns)
    frame = pd.DataFrame(answer["rows"], columns=columns, dtype=str)
    return Table(file=name, sheet=None, columns=columns, header_line=1, frame=frame,
                 lines=np.asarray(answer["lines"], dtype=np.int64), numbers_typed=True)


def _child(reader: str, name: str, request: dict[str, Any], fmt: str,
           limits: ReadLimits) -> dict[str, Any]:
    """Run a reading child on ``request`` within the memory and time limits; a refusal, an
    engine error, a crash or a timeout raises ReadError."""
    request = {**request, "max_columns": limits.max_columns, "max_cells": limits.max_cells,
               "memory_mb": limits.sheet_memory_mb, "seconds": limits.sheet_seconds}
    budget = (f"an {fmt.upper()} file that can be read within "
              f"{limits.sheet_memory_mb:,} MiB of memory and {limits.sheet_seconds} s "
              f"({_LIMITS}: sheet_memory_mb, sheet_seconds)")
    try:
        done = subprocess.run(  # noqa: S603 (our own script, run by this interpreter)
            [sys.executable, "-I", str(_CHILD), reader], input=json.dumps(request).encode(),
            capture_output=True, timeout=limits.sheet_seconds, check=False,
            env={**os.environ, "RUST_BACKTRACE": "0"})
    except subprocess.TimeoutExpired as exc:
        raise ReadError([Problem(name, None, None, None, None,
                                 f"{budget}; the reader was stopped after "
                                 f"{limits.sheet_seconds} s", kind="too_large")]) from exc
    if done.returncode != 0:
        raise ReadError([Problem(name, None, None, None, None,
                                 f"{budget}; the reader stopped ({_stopped(done)})",
                                 kind="unreadable")])
    answer: dict[str, Any] = json.loads(done.stdout)
    if "refused" in answer:
        raise ReadError([Problem(name, **answer["refused"])])
    if "failed" in answer:
        what = (f"a readable {fmt.upper()} document" if fmt.startswith("json")
                else f"a valid {fmt.upper()} spreadsheet" if answer["stage"] == "open"
                else f"a readable {fmt.upper()} sheet")
        raise ReadError([Problem(name, None, None, None, None,
                                 f"{what} ({answer['failed']})", kind="unreadable")])
    return answer


def _stopped(done: subprocess.CompletedProcess[bytes]) -> str:
    """How the child ended: the signal or exit status, and the last line it wrote."""
    code = done.returncode
    how = signal.Signals(-code).name if code < 0 else f"exit status {code}"
    said = [line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines()
            if line.strip() and not line.startswith(("note:", " "))]
    return f"{how}: {said[-1][:200]}" if said else how


def _letters(col: int) -> str:
    """A spreadsheet's name for a 1-based column: A, ..., Z, AA, ..."""
    letters = ""
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell_ref(row: int | None, col: int | None) -> str:
    return "(position not saved)" if row is None or col is None else f"{_letters(col)}{row}"


def _column_name(table: Table, col: int | None) -> str | None:
    """The header name of a 1-based sheet column, as problems name columns."""
    return table.columns[col - 1] if col is not None and col <= len(table.columns) else None


# --- header ----------------------------------------------------------------------------------

def _split_header(name: str, sheet: str | None, raw: pd.DataFrame, lines: np.ndarray,
                  spec: FileSpec) -> Table:
    """Take the header rows off, name the columns from the chosen one, drop blank rows."""
    if len(raw) < spec.header_rows:
        raise ReadError([Problem(name, sheet, None, None, None,
                                 f"{spec.header_rows} header row(s) then data rows",
                                 kind="empty")])
    header = [str(v).strip().lstrip("\ufeff") for v in raw.iloc[spec.header_row]]
    header_line = int(lines[spec.header_row])
    columns = [h if h else f"(column {i + 1})" for i, h in enumerate(header)]
    _refuse_duplicate_columns(name, sheet, header_line, columns)
    frame = raw.iloc[spec.header_rows:]
    frame.columns = columns
    lines = lines[spec.header_rows:]
    if len(frame):
        keep = (frame != "").any(axis=1).to_numpy()
        if not keep.all():
            frame, lines = frame[keep], lines[keep]
    return Table(file=name, sheet=sheet, columns=columns, header_line=header_line,
                 frame=frame.reset_index(drop=True), lines=np.asarray(lines, dtype=np.int64))


def _refuse_duplicate_columns(name: str, sheet: str | None, line: int,
                              columns: list[str]) -> None:
    """Two columns of one name: which one the convention means is unknown, so neither is
    taken; each repeated name is reported with every position it holds."""
    positions: dict[str, list[int]] = {}
    for i, column in enumerate(columns, start=1):
        positions.setdefault(column, []).append(i)
    problems = []
    for column, where in positions.items():
        if len(where) > 1:
            shown = " and ".join(f"column {i}" + (f" ({_letters(i)})" if sheet is not None
                                                  else "") for i in where)
            problems.append(Problem(name, sheet, line, column, None,
                                    f"column names that appear once in the header; "
                                    f"'{column}' is {shown}", kind="duplicate_column"))
    if problems:
        raise ReadError(problems)
