"""How a sample file is written: its format, encoding, separator, the title lines and the
header rows above its data, and (JSON) where its records are.

Only the first bytes and rows are looked at (``SAMPLE_BYTES``, ``SAMPLE_ROWS``), so that a
large or pathological file costs no more than a small one: the real reader reads the whole
file afterwards, under the workspace's read limits."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.read import file_format, read_table
from veille.config import ReadLimits
from veille.errors import VeilleError
from veille.model import FileSpec

SAMPLE_BYTES = 256 * 1024
SAMPLE_ROWS = 300
MAX_HEADER_ROWS = 3
MAX_JSON_BYTES = 64 * 1024 * 1024
SEPARATORS = (";", ",", "\t", "|")
_NUMERIC = re.compile(r"[-+]?(\d[\d\s\u00a0\u202f]*([.,]\d+)?|[.,]\d+)")


class DraftError(VeilleError):
    hint = ("Vérifiez que le fichier est bien un fichier de données du fournisseur et que "
            "l'espace de travail contient son territoire (veille init), puis relancez.")


@dataclass
class Sniffed:
    """What the sample says about the file: the FileSpec fields, and the header rows read
    (``header`` names the columns; ``labels`` is a second header row of labels, if any)."""

    spec: dict[str, Any]
    header: list[str]
    labels: list[str] | None


def is_number(text: str) -> bool:
    return bool(_NUMERIC.fullmatch(text.strip()))


def sniff(path: Path, limits: ReadLimits | None = None) -> Sniffed:
    """The file's FileSpec fields, from its first bytes (CSV) or first rows (sheets, JSON)."""
    fmt = file_format(path, FileSpec())
    if fmt in ("json", "jsonl"):
        records = records_path(path) if fmt == "json" else None
        spec: dict[str, Any] = {"format": fmt, "decimal": "."}
        if records:
            spec["records"] = records
        table = read_table(path, FileSpec.model_validate(spec), limits=limits)
        return Sniffed(spec, table.columns, None)
    if fmt == "csv":
        data = _sample(path)
        encoding = guess_encoding(data)
        text = data.decode(encoding if encoding != "utf-8" else "utf-8-sig", errors="replace")
        separator = guess_separator(text)
        rows, lines = _csv_rows(text, separator)
        spec = {"format": "csv", "encoding": encoding, "separator": separator}
    else:
        table = read_table(path, FileSpec.model_validate(
            {"format": fmt, "header_rows": 1, "decimal": "."}), limits=limits)
        rows = [[c if not c.startswith("(column ") else "" for c in table.columns]]
        rows += table.frame.head(SAMPLE_ROWS).to_numpy(dtype=str).tolist()
        lines = [table.header_line, *table.lines[:SAMPLE_ROWS].tolist()]
        spec = {"format": fmt, "decimal": "."}
    first, count = header_block(rows)
    spec |= {"skip_rows": lines[first] - 1, "header_rows": count, "header_row": 0}
    labels = [c.strip() for c in rows[first + 1]] if count > 1 else None
    return Sniffed(spec, [c.strip() for c in rows[first]], labels)


def _sample(path: Path) -> bytes:
    """The first ``SAMPLE_BYTES``, cut at the last line end when the file is longer."""
    with path.open("rb") as handle:
        data = handle.read(SAMPLE_BYTES + 1)
    if len(data) > SAMPLE_BYTES:
        data = data[:SAMPLE_BYTES]
        end = max(data.rfind(b"\n"), data.rfind(b"\r"))
        data = data[:end + 1] if end > 0 else data
    return data


def guess_encoding(data: bytes) -> str:
    """UTF-8 when the bytes decode as such, else Windows-1252 if they use its 0x80-0x9F
    characters (curly quotes, œ, €), else Latin-1: the encodings French exports come in."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return "cp1252" if any(0x80 <= b <= 0x9F for b in data) else "latin-1"


def guess_separator(text: str) -> str:
    """The separator that splits the most lines into the same number (> 1) of fields."""
    lines = [line for line in text.splitlines()[:SAMPLE_ROWS] if line.strip()]
    best, score = ";", (0, 0)
    for sep in SEPARATORS:
        try:
            widths = [len(r) for r in csv.reader(lines, delimiter=sep)]
        except csv.Error:  # a field over csv's limit: not this separator's table
            continue
        counts: dict[int, int] = {}
        for w in widths:
            if w > 1:
                counts[w] = counts.get(w, 0) + 1
        if counts:
            width = max(counts, key=lambda w: (counts[w], w))
            if (counts[width], width) > score:
                best, score = sep, (counts[width], width)
    return best


def _csv_rows(text: str, separator: str) -> tuple[list[list[str]], list[int]]:
    """The sample's first records and the line each starts on (as read.py numbers them)."""
    reader = csv.reader(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n")),
                        delimiter=separator)
    rows: list[list[str]] = []
    lines: list[int] = []
    last = 0
    try:
        for row in reader:
            if len(rows) >= SAMPLE_ROWS:
                break
            rows.append(row)
            lines.append(last + 1)
            last = reader.line_num
    except csv.Error as exc:
        raise DraftError(f"ligne {last + 1} : {exc} (séparateur « {separator} ») ; "
                         "le fichier ne se lit pas comme un tableau") from exc
    if not rows:
        raise DraftError("le fichier est vide")
    return rows, lines


def header_block(rows: list[list[str]]) -> tuple[int, int]:
    """(index of the first header row, number of header rows): the first row filled over
    at least half the table's width with text, then the following rows that hold no
    number either (a row of labels under a row of codes)."""
    width = max((sum(1 for c in r if c.strip()) for r in rows), default=0)

    def texts(row: list[str]) -> bool:
        filled = [c for c in row if c.strip()]
        return (len(filled) >= max(1, width / 2)
                and sum(is_number(c) for c in filled) <= len(filled) // 4)

    first = next((i for i, r in enumerate(rows) if texts(r)), 0)
    count = 1
    while (count < MAX_HEADER_ROWS and first + count < len(rows) - 1
           and texts(rows[first + count])
           and not any(is_number(c) for c in rows[first + count] if c.strip())):
        count += 1
    return first, count


def records_path(path: Path) -> str | None:
    """The dotted path to the first list of objects in a JSON document, breadth first
    (None: the document itself is that list, or none was found, or the document is over
    ``MAX_JSON_BYTES``: the reader then says what it finds)."""
    if path.stat().st_size > MAX_JSON_BYTES:
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, OSError):
        return None
    queue: list[tuple[str, object]] = [("", document)]
    while queue:
        where, node = queue.pop(0)
        if isinstance(node, list) and node and all(isinstance(x, dict) for x in node[:50]):
            return where or None
        if isinstance(node, dict) and where.count(".") < 4:
            queue += [(f"{where}.{k}" if where else str(k), v) for k, v in node.items()
                      if isinstance(v, (dict, list))]
    return None
