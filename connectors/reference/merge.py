"""Re-running ``veille init`` updates what it wrote and never what the analyst changed.

It remembers what it wrote last (``catalog/.veille-init.json``). For each entry it would
write now: absent from the file and never written before -> added; absent but written
before -> the analyst removed it, left out; equal to what it wrote last -> updated to
today's reference files; different from what it wrote last -> the analyst's edit, kept.
Entries the analyst added are kept as they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = ".veille-init.json"


@dataclass
class Merge:
    """The merged entries (in order) and what happened to each."""

    entries: dict[str, Any] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_edits: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    analysts: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated)


def merge(generated: Mapping[str, Any], current: Mapping[str, Any],
          previous: Mapping[str, Any]) -> Merge:
    out = Merge()
    for key, value in generated.items():
        if key not in current:
            if key in previous:
                out.left_out.append(key)
            else:
                out.entries[key] = value
                out.added.append(key)
        elif current[key] == value:
            out.entries[key] = value
            out.unchanged.append(key)
        elif key in previous and previous[key] == current[key]:
            out.entries[key] = value
            out.updated.append(key)
        else:
            out.entries[key] = current[key]
            out.kept_edits.append(key)
    for key, value in current.items():
        if key not in out.entries and key not in out.left_out:
            out.entries[key] = value
            out.analysts.append(key)
    return out


def read_state(catalog: Path) -> dict[str, Any]:
    path = catalog / STATE_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}  # a damaged memory only makes every difference count as an edit
    return data if isinstance(data, dict) else {}


def write_state(catalog: Path, state: dict[str, Any]) -> None:
    write_atomic(catalog / STATE_FILE, json.dumps(state, ensure_ascii=False, sort_keys=True))


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and a rename: an interrupted init leaves the old file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    tmp.replace(path)
