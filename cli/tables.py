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


def print_table(console: Console, table: Table) -> None:
    """``table`` on ``console`` at the terminal's width, figure columns never cut."""
    needed = 1
    for column in table.columns:
        cells = [_plain(c) for c in column.cells]
        if cells and all(FIGURE.match(c) for c in cells):
            column.no_wrap = True
        header = [_plain(column.header)]
        needed += max(_least(cells, column.no_wrap), _least(header, False)) + 3
    terminal = shutil.get_terminal_size((console.width, 24)).columns
    width = max(terminal, needed)
    if width <= console.width:
        console.print(table, width=width)
        return
    # Rich never prints wider than its console: a console of the width needed, same file
    wide = Console(file=console.file, width=width, force_terminal=console.is_terminal,
                   color_system=console.color_system, no_color=console.no_color)  # type: ignore[arg-type]
    wide.print(table)
