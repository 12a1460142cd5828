"""Reading a reference file (CSV, XLSX, JSON) into rows of text, with its columns found
by name whatever their case, and errors that name the file, the line and what was wanted."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veille.errors import VeilleError


class ReferenceFileError(VeilleError):
    """A reference file that cannot be used: missing, unreadable, columns absent, bad row."""

    hint = ("Vérifiez que le fichier est bien celui demandé (l'option qui le nomme est "
            "indiquée ci-dessus), qu'il est complet, puis relancez veille init.")

    def __init__(self, path: Path, what: str, line: int | None = None) -> None:
        where = f"{path}, ligne {line}" if line is not None else str(path)
        super().__init__(f"{where} : {what}")


@dataclass
class Rows:
    """A file's rows as text, with the line each came from (1 = the header)."""

    path: Path
    header: list[str]
    rows: list[list[str]]
    first_line: int = 2

    def column(self, role: str, *names: str) -> int:
        """The position of the first of ``names`` present (case and spaces ignored)."""
        found = self.find(*names)
        if found is None:
            raise ReferenceFileError(
                self.path, f"colonne « {names[0]} » ({role}) absente ; colonnes trouvées : "
                f"{', '.join(self.header[:15]) or 'aucune'} / column '{names[0]}' ({role}) "
                "not found", line=self.first_line - 1)
        return found

    def find(self, *names: str) -> int | None:
        wanted = [n.strip().lower() for n in names]
        keys = [h.strip().lower().lstrip("\ufeff") for h in self.header]
        for name in wanted:
            if name in keys:
                return keys.index(name)
        return None

    def line(self, index: int) -> int:
        return self.first_line + index


def read_rows(path: Path, option: str) -> Rows:
    """A CSV (separator sniffed), an XLSX/XLS/ODS first sheet, or a JSON array of objects."""
    if not path.is_file():
        raise ReferenceFileError(path, f"fichier introuvable (option {option}) / file not found")
    suffix = path.suffix.lower()
    try:
        if suffix in {".xlsx", ".xls", ".ods"}:
            return _spreadsheet(path)
        if suffix in {".json", ".geojson"}:
            return _json(path, json.loads(path.read_bytes().decode("utf-8-sig")))
        return _csv(path)
    except ReferenceFileError:
        raise
    except (UnicodeDecodeError, ValueError, OSError) as exc:
        raise ReferenceFileError(path, f"illisible pour l'option {option} ({exc}) / "
                                 "unreadable") from exc


def _csv(path: Path) -> Rows:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    first = text.split("\n", 1)[0]
    separator = max((";", ",", "\t", "|"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    header = next(reader, [])
    if not header:
        raise ReferenceFileError(path, "fichier vide / empty file")
    return Rows(path, header, [r for r in reader if r])


def _spreadsheet(path: Path) -> Rows:
    import python_calamine

    sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    data = sheet.to_python()
    start = next((i for i, r in enumerate(data) if sum(1 for c in r if c != "") > 2), None)
    if start is None:
        raise ReferenceFileError(path, "aucune ligne d'en-tête trouvée / no header row")
    header = [str(c) for c in data[start]]
    rows = [[_text(c) for c in r] for r in data[start + 1:] if any(c != "" for c in r)]
    return Rows(path, header, rows, first_line=start + 2)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _json(path: Path, data: Any) -> Rows:
    if isinstance(data, dict) and isinstance(data.get("features"), list):
        data = [f.get("properties") or {} for f in data["features"]]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ReferenceFileError(path, "un tableau JSON d'objets (ou un GeoJSON) est attendu / "
                                 "expected a JSON array of objects")
    header = list(dict.fromkeys(k for d in data for k in d))
    return Rows(path, header, [[_cell(d.get(k)) for k in header] for d in data])


def _cell(value: Any) -> str:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return _text(value)


def require(rows: Rows, columns: Sequence[tuple[str, Sequence[str]]]) -> list[int]:
    """Positions of every (role, names) column, or one error naming the first missing."""
    return [rows.column(role, *names) for role, names in columns]
