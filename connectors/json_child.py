"""Read a JSON or JSON Lines delivery in a process of its own, within memory and time limits.

Like ``sheet_child.py`` (run the same way, by ``child_reader.py``: ``python -I``, a JSON
request on stdin, a JSON answer on stdout, under an address-space and CPU limit), so that a
hostile document (nested a million deep, a gigabyte of records) costs this process only.
Before parsing, the nesting depth is counted on the bytes; after, the records are counted
and flattened to columns of text (``a.b`` for a nested field, ``a.0`` for a list's first
item) and the columns and cells are held to the workspace's read limits. Imports nothing
from the project, so that it starts in tens of milliseconds.
"""

from __future__ import annotations

import json
import re
from typing import Any

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(rb"[\[\]{}]")
_LIMITS = "read_limits in veille.yaml"


class Refused(Exception):
    """The document breaks a rule; ``fields`` become a Problem in the parent."""

    def __init__(self, **fields: Any) -> None:
        self.fields = {"sheet": None, "line": None, "column": None, "value": None, **fields}
        super().__init__(fields.get("expected", ""))


def check_depth(data: bytes, limit: int) -> None:
    """Refuse a document nested deeper than ``limit`` (arrays and objects), naming the line
    where it goes too deep; strings are blanked first so their brackets do not count."""
    blanked = _STRING.sub(lambda m: b'"' + b"x" * (len(m.group()) - 2) + b'"', data)
    depth = 0
    for match in _BRACKET.finditer(blanked):
        depth += 1 if match.group() in (b"[", b"{") else -1
        if depth > limit:
            line = data.count(b"\n", 0, match.start()) + 1
            raise Refused(kind="too_large", line=line, value=f"{depth} levels",
                          expected=f"JSON nested at most {limit} levels deep "
                                   f"({_LIMITS}: max_depth)")


def records_at(document: Any, path: str | None) -> list[tuple[str | None, Any]]:
    """The records a dotted ``path`` points at: a list (no key), or an object whose members
    are records keyed by their name (a code, say)."""
    node = document
    for step in [s for s in (path or "").split(".") if s]:
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            found = (", ".join(list(map(str, node))[:12]) if isinstance(node, dict)
                     else type(node).__name__)
            raise Refused(kind="unreadable", value=step,
                          expected=f"records at '{path}' (file.records); at '{step}' the "
                                   f"document holds: {found}")
    if isinstance(node, list):
        return [(None, r) for r in node]
    if isinstance(node, dict):
        return [(str(k), v) for k, v in node.items()]
    raise Refused(kind="unreadable", value=type(node).__name__,
                  expected=f"a list or an object of records at '{path or '(document)'}' "
                           "(file.records)")


def text(value: Any, decimal: str) -> str:
    """A JSON scalar as the text a provider's CSV would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        shown = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
        return shown.replace(".", decimal) if decimal != "." else shown
    return str(value)


def flatten(value: Any, prefix: str, out: dict[str, str], decimal: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            flatten(item, f"{prefix}.{key}" if prefix else str(key), out, decimal)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            flatten(item, f"{prefix}.{i}" if prefix else str(i), out, decimal)
    else:
        out[prefix or "value"] = text(value, decimal)


def parse(data: bytes, request: dict[str, Any]) -> tuple[list[tuple[str | None, Any]],
                                                          list[int]]:
    """The records and the line each starts on (JSON Lines) or its number (JSON)."""
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Refused(kind="encoding", line=data.count(b"\n", 0, exc.start) + 1,
                      value=f"byte 0x{data[exc.start:exc.start + 1].hex()}",
                      expected="JSON encoded in UTF-8") from exc
    records: list[tuple[str | None, Any]] = []
    lines: list[int] = []
    if request["format"] == "jsonl":
        for number, line in enumerate(content.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                records.append((None, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise Refused(kind="unreadable", line=number, column=None,
                              value=line[max(0, exc.pos - 20):exc.pos + 20],
                              expected=f"one JSON value per line ({exc.msg}, character "
                                       f"{exc.pos + 1})") from exc
            lines.append(number)
        return records, lines
    try:
        document = json.loads(content)
    except json.JSONDecodeError as exc:
        raise Refused(kind="unreadable", line=exc.lineno, value=None,
                      expected=f"a JSON document ({exc.msg}, line {exc.lineno} column "
                               f"{exc.colno})") from exc
    records = records_at(document, request.get("records"))
    return records, list(range(1, len(records) + 1))


def read(request: dict[str, Any]) -> dict[str, Any]:
    """Check, parse and flatten; a broken rule answers ``refused``."""
    limits = {k: int(request[k]) for k in ("max_columns", "max_cells", "max_depth",
                                            "max_records")}
    try:
        with open(request["path"], "rb") as handle:
            data = handle.read()
        check_depth(data, limits["max_depth"])
        records, lines = parse(data, request)
        if len(records) > limits["max_records"]:
            raise Refused(kind="too_large", value=f"{len(records):,} records",
                          expected=f"at most {limits['max_records']:,} records "
                                   f"({_LIMITS}: max_records)")
        rows: list[dict[str, str]] = []
        columns: dict[str, None] = {}
        if any(key is not None for key, _ in records):
            columns["key"] = None
        for key, record in records:
            flat: dict[str, str] = {} if key is None else {"key": key}
            flatten(record, "", flat, request["decimal"])
            rows.append(flat)
            for column in flat:
                columns.setdefault(column, None)
            if len(columns) > limits["max_columns"]:
                raise Refused(kind="too_large", line=lines[len(rows) - 1],
                              value=f"{len(columns):,} fields",
                              expected=f"records of at most {limits['max_columns']:,} fields, "
                                       f"nested ones counted ({_LIMITS}: max_columns)")
        if len(rows) * len(columns) > limits["max_cells"]:
            raise Refused(kind="too_large", value=f"{len(rows):,} × {len(columns):,}",
                          expected=f"at most {limits['max_cells']:,} cells "
                                   f"({_LIMITS}: max_cells)")
    except Refused as exc:
        return {"refused": exc.fields}
    except (RecursionError, MemoryError, OSError, ValueError) as exc:
        return {"failed": f"{type(exc).__name__}: {exc}"[:300], "stage": "read"}
    header = list(columns)
    return {"columns": header, "lines": lines,
            "rows": [[row.get(c, "") for c in header] for row in rows]}
