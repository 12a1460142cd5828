"""Printing a table: the terminal's full width, and never a figure cut.

Rich fits a table to the console (80 columns when it cannot ask a terminal) by wrapping
or cutting cells; a cut figure ("1 23…") is worse than a long line. Columns whose cells
are all figures (numbers, dates, periods, codes) never wrap; text columns wrap between
words; and when even that does not fit (the sum of the figures and of each column's
longest word), the table is printed wider than the terminal rather than cut.
"""

from __future__ import annotations

import re
import shutil

from rich.console import Console
from rich.table import Table
from rich.text import Text

FIGURE = re.compile(r"^[\s\d+\-−–.,:/%€\[\]()<>=≤TQSZ_]*$")


def _plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _least(texts: list[str], whole: bool) -> int:
    """The narrowest a column can be without cutting: its longest cell (a figure
    column), else its longest word."""
    if whole:
        return max((len(t) for t in texts), default=0)
    return max((len(w) for t in texts for w in t.split()), default=0)


def _widths(natural: list[int], least: list[int], room: int) -> list[int]:
    """Each column's width: its natural one if all fit in ``room``, else at least its
    least and the rest of the room shared by how much each would still like."""
    if sum(natural) <= room:
        return natural
    spare = room - sum(least)
    wants = [n - m for n, m in zip(natural, least, strict=True)]
    if spare <= 0 or not sum(wants):
        return least
    return [m + spare * w // sum(wants) for m, w in zip(least, wants, strict=True)]


def print_table(console: Console, table: Table) -> None:
    """``table`` on ``console`` at the terminal's width, figure columns never cut."""
    natural, least = [], []
    for column in table.columns:
        cells = [_plain(c) for c in column.cells]
        if any(c.strip() for c in cells) and all(FIGURE.match(c) for c in cells):
            column.no_wrap = True
        header = _plain(column.header)
        lines = [part for c in cells for part in c.splitlines()] + [header]
        natural.append(max(len(t) for t in lines))
        least.append(max(_least(cells, column.no_wrap), _least([header], column.no_wrap)))
    frame = 3 * len(table.columns) + 1  # borders and one space each side of a cell
    terminal = shutil.get_terminal_size((console.width, 24)).columns
    widths = _widths(natural, least, terminal - frame)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width  # decided here: Rich's own fitting may cut a figure
    width = max(terminal, sum(widths) + frame)
    if width <= console.width:
        console.print(table, width=width)
        return
    # Rich never prints wider than its console: a console of the width needed, same file
    wide = Console(file=console.file, width=width, force_terminal=console.is_terminal,
                   color_system=console.color_system, no_color=console.no_color)  # type: ignore[arg-type]
    wide.print(table)
