"""The draft as commented YAML: the same mapping the loader reads, each line with what was
seen in the file or what to check, and the glossary entries its indicators need."""

from __future__ import annotations

from typing import Any

import yaml


def flow(value: Any) -> str:
    """One YAML scalar, list or mapping on one line, quoted where YAML needs it."""
    text = yaml.safe_dump([value], default_flow_style=True, allow_unicode=True,
                          width=10**6).strip()
    return text[1:-1]


class Lines:
    """YAML written line by line, each key with its value and an optional comment."""

    def __init__(self) -> None:
        self.out: list[str] = []

    def comment(self, text: str, indent: int = 0) -> None:
        for part in text.splitlines() or [""]:
            self.out.append(f"{' ' * indent}# {part}".rstrip())

    def put(self, key: str, value: Any = None, note: str = "", indent: int = 0,
            item: bool = False) -> None:
        lead = " " * indent + ("- " if item else "")
        shown = f"{lead}{flow(key)}:" + ("" if value is None else f" {flow(value)}")
        self.out.append(f"{shown}  # {note}" if note else shown)

    def text(self) -> str:
        return "\n".join(self.out) + "\n"


def entry_lines(entries: list[dict[str, Any]], notes: dict[str, str], indent: int) -> str:
    """Glossary or providers entries as a YAML list at ``indent``, commented per field."""
    lines = Lines()
    for entry in entries:
        for i, (key, value) in enumerate(entry.items()):
            lines.put(key, value, notes.get(key, ""), indent=indent + (0 if i == 0 else 2),
                      item=i == 0)
    return lines.text()
