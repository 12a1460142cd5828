"""Read a provider file (CSV, XLSX, ODS) into a table of strings with source line numbers.

Everything stays text here: numbers, secret markers and codes are interpreted later by the
convention, so that a cell that does not parse can be reported exactly as the provider wrote
it. Each row keeps the line (CSV) or row (spreadsheet) a person sees in an editor, so every
problem can point at it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.validate import Problem
from veille.model import FileSpec

FORMATS = ("csv", "xlsx", "ods")
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
               ".xls": "xls", ".ods": "ods"}
_SINGLE_BYTE = {"latin-1", "latin1", "iso-8859-1", "iso8859-1", "iso-8859-15", "cp1252",
                "windows-1252", "l1"}


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
                                 "a .csv, .xlsx, .xls or .ods file", kind="format")])
    return fmt


def read_table(path: Path, spec: FileSpec, name: str | None = None) -> Table:
    """Read ``path`` as the convention's FileSpec says; raise ReadError with the reason.
    ``name`` is the file's name as the provider sent it (the archive renames it)."""
    name = name or path.name
    fmt = file_format(path, spec)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError([Problem(name, None, None, None, None,
                                 f"a readable file ({exc.strerror or exc})",
                                 kind="unreadable")]) from exc
    if fmt == "csv":
        return _read_csv(name, data, spec)
    return _read_sheet(name, data, spec, fmt)


# --- CSV -------------------------------------------------------------------------------------

def _decode(name: str, data: bytes, spec: FileSpec) -> str:
    """Decode with the declared encoding; a mismatch is the provider's problem, said plainly."""
    try:
        encoding = codecs.lookup(spec.encoding).name
    except LookupError as exc:
        raise ReadError([Problem(name, None, None, None, spec.encoding,
                                 "an encoding name Python knows (convention file.encoding)",
                                 kind="encoding")]) from exc
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


def _is_utf8_text(data: bytes) -> bool:
    """True for bytes that are valid UTF-8 and contain non-ASCII characters."""
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_csv(name: str, data: bytes, spec: FileSpec) -> Table:
    text = _decode(name, data, spec)
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


# --- spreadsheets ----------------------------------------------------------------------------

def _read_sheet(name: str, data: bytes, spec: FileSpec, fmt: str) -> Table:
    """XLSX, XLS and ODS through calamine (Rust): an order of magnitude faster than openpyxl
    or odfpy on provider-sized sheets, and the only engine here that reads Excel 97-2003."""
    try:
        book = pd.ExcelFile(io.BytesIO(data), engine="calamine")
    except Exception as exc:  # zip, XML and engine errors all mean 'not this format'
        raise ReadError([Problem(name, None, None, None, None,
                                 f"a valid {fmt.upper()} spreadsheet ({type(exc).__name__})",
                                 kind="unreadable")]) from exc
    names = [str(n) for n in book.sheet_names]
    if spec.sheet is None:
        sheet = names[0] if names else None
    elif isinstance(spec.sheet, int):
        sheet = names[spec.sheet] if 0 <= spec.sheet < len(names) else None
    else:
        sheet = spec.sheet if spec.sheet in names else None
    if sheet is None:
        raise ReadError([Problem(name, None, None, None, str(spec.sheet),
                                 f"a sheet {spec.sheet!r}; sheets found: {', '.join(names)}",
                                 kind="missing_sheet")])
    try:
        raw = pd.read_excel(book, sheet_name=sheet, header=None, dtype=object)
    except Exception as exc:  # the engines raise many types for a damaged sheet
        raise ReadError([Problem(name, sheet, None, None, None,
                                 f"a readable {fmt.upper()} sheet ({type(exc).__name__})",
                                 kind="unreadable")]) from exc
    raw = raw.iloc[spec.skip_rows:]
    frame = pd.DataFrame({c: _cell_text(raw[c], spec.decimal) for c in raw.columns})
    lines = np.arange(len(frame), dtype=np.int64) + spec.skip_rows + 1
    # Blank rows between a title block and the header are tolerated, as in CSV.
    blank = ~(frame != "").any(axis=1).to_numpy() if len(frame) else np.array([], bool)
    lead = int(np.argmax(~blank)) if (~blank).any() else len(frame)
    frame, lines = frame.iloc[lead:], lines[lead:]
    if frame.empty:
        raise ReadError([Problem(name, sheet, None, None, None,
                                 "a header row followed by data rows (the sheet is empty)",
                                 kind="empty")])
    table = _split_header(name, sheet, frame.reset_index(drop=True), lines, spec)
    table.numbers_typed = True
    return table


def _cell_text(column: pd.Series, decimal: str) -> pd.Series:
    """Spreadsheet cells as text; typed numbers written with the convention's decimal mark."""
    def text(value: object) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, float):
            return repr(value).replace(".", decimal) if decimal != "." else repr(value)
        return str(value)
    return column.map(text).astype(str)


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
    columns = _unique([h if h else f"(column {i + 1})" for i, h in enumerate(header)])
    frame = raw.iloc[spec.header_rows:]
    frame.columns = columns
    lines = lines[spec.header_rows:]
    if len(frame):
        keep = (frame != "").any(axis=1).to_numpy()
        if not keep.all():
            frame, lines = frame[keep], lines[keep]
    return Table(file=name, sheet=sheet, columns=columns, header_line=header_line,
                 frame=frame.reset_index(drop=True), lines=np.asarray(lines, dtype=np.int64))


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            out.append(f"{n}.{seen[n]}")
        else:
            seen[n] = 0
            out.append(n)
    return out
