"""The period of each row of a table: from a column, the file name or the convention, read
with the convention's pattern and checked against the last closed period."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from connectors.validate import Problem, first_rows, period_label, period_range_problem
from veille.clock import PARIS, Clock
from veille.model import Convention
from veille.periods import last_closed


def resolve_periods(frame: pd.DataFrame, lines: np.ndarray, conv: Convention, clock: Clock,
                    name: str, file: str, sheet: str | None
                    ) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """Canonical label and validity per row; one problem per distinct refused value."""
    n = len(frame)
    last = last_closed(conv.periodicity, clock.now().astimezone(PARIS).date())
    pattern = re.compile(conv.period.pattern)
    problems: list[Problem] = []

    def problem(line: int | None, column: str | None, value: str, expected: str) -> None:
        problems.append(Problem(file, sheet, line, column, value, expected, "period"))

    def label_of(text: str, search: bool) -> tuple[str | None, str]:
        match = pattern.search(text) if search else pattern.fullmatch(text)
        label, expected = period_label(text, match.groupdict() if match else {},
                                       conv.periodicity)
        if label is None:
            return None, f"{expected} (pattern {conv.period.pattern})"
        why = period_range_problem(label, conv, last)
        return (label, "") if why is None else (None, why)

    if conv.period.column is None:
        text = name if conv.period.from_filename else str(conv.period.value)
        label, why = label_of(text, search=conv.period.from_filename)
        if label is None:
            problem(None, None, text, why + (" in the file name" if conv.period.from_filename
                                             else " (convention period.value)"))
            return np.full(n, None, dtype=object), np.zeros(n, dtype=bool), problems
        return np.full(n, label, dtype=object), np.ones(n, dtype=bool), problems

    index, uniques = pd.factorize(frame[conv.period.column].str.strip())
    labels, valid = [], np.zeros(len(uniques), dtype=bool)
    first = first_rows(index, len(uniques))
    counts = np.bincount(index, minlength=len(uniques))
    for u, text in enumerate(uniques):
        label, why = label_of(text, search=False)
        labels.append(label)
        valid[u] = label is not None
        if label is None:
            also = f" (same value on {counts[u] - 1} other row(s))" if counts[u] > 1 else ""
            problem(int(lines[first[u]]), conv.period.column, text, why + also)
    return np.asarray(labels, dtype=object)[index], valid[index], problems
