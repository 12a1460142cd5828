"""CLI tables (issue 16): the terminal's full width is used, and a figure is never cut,
whatever the terminal's width (COLUMNS), even when that means printing wider than it."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.table import Table

from cli.tables import print_table

FIGURES = ["1 234 567,89", "2025-12", "−12,5 %", "244200770", "0,0003"]
TEXT = ("Part des allocataires à bas revenus dans la population couverte par la caisse "
        "d'allocations familiales")


def _table() -> Table:
    table = Table("Indicateur", "Valeur", "Période", "Écart", "Code", "q")
    for i in range(3):
        table.add_row(f"{TEXT} ({i})", *FIGURES)
    return table


def _printed(columns: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("COLUMNS", str(columns))
    out = io.StringIO()
    print_table(Console(file=out, width=columns, color_system=None), _table())
    return out.getvalue().splitlines()


@pytest.mark.parametrize("columns", [40, 60, 80, 120, 200, 300])
def test_no_figure_is_ever_cut_or_wrapped(columns: int, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    lines = _printed(columns, monkeypatch)
    text = "\n".join(lines)
    assert "…" not in text
    for figure in FIGURES:  # each figure whole, on one line, once per row
        assert sum(line.count(figure) for line in lines) == 3, (columns, figure, text)
    words = TEXT.split()
    for word in words:  # text wraps between words, never inside one
        assert word in text


def test_a_wide_terminal_is_used_and_a_narrow_one_wraps_text_not_figures(
        monkeypatch: pytest.MonkeyPatch) -> None:
    wide = _printed(300, monkeypatch)
    assert max(len(line) for line in wide) > 120  # the long label is not squeezed into 80
    assert len(wide) < len(_printed(80, monkeypatch))  # fewer lines: no needless wrapping
    narrow = _printed(40, monkeypatch)
    # too narrow for the figures side by side: the table is wider than the terminal
    assert max(len(line) for line in narrow) > 40
