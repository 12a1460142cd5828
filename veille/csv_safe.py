"""CSV files that are safe to open in a spreadsheet (OWASP's rule against formula injection).

A cell whose text starts with ``= + - @``, a tab or a carriage return is taken as a formula
by Excel and LibreOffice: ``=HYPERLINK(...)`` from a provider's file would run in the
quarantine report a provider opens. Every CSV the product writes goes through
:func:`writer`, which prefixes such a cell with a single quote (shown as text, not run).

Numbers stay numbers: an ``int`` or ``float`` is never touched, and neither is a text cell
that is a plain number (``-3``, ``-3,5``, ``+2.1e3``); only other text is neutralised, so a
negative count in a numeric column is still a negative count.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)([eE][+-]?[0-9]+)?")


def neutralise(value: object) -> object:
    """``value`` as a spreadsheet will show it, never run it."""
    if isinstance(value, str) and value.startswith(DANGEROUS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` with every cell passed through :func:`neutralise`."""

    def __init__(self, handle: Any, **options: Any) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._writer.writerow([neutralise(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(handle: Any, **options: Any) -> SafeWriter:
    """A drop-in for ``csv.writer(handle, **options)`` that writes spreadsheet-safe cells."""
    return SafeWriter(handle, **options)
