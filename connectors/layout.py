"""A table's value cells laid out indicator by indicator, for the two layouts a convention
may declare: wide (one column per indicator) and long (one row per territory and indicator,
labels mapped through ``indicator_map``)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from connectors.validate import Cells, Problem, first_rows
from connectors.values import OK, PROVISIONAL, SECRET, CellStatus, Numbers, parse_numbers, take
from veille.model import Convention

ValueColumns = list[tuple[str, str | None, str | None]]
"""Per indicator position: the (value, numerator, denominator) columns its cells come from."""


@dataclass
class LaidOut:
    """The cells, their status, their source columns, and the key that makes two columns of
    one indicator the same indicator for duplicate detection."""

    cells: Cells
    status: CellStatus
    columns: ValueColumns
    indicator_key: np.ndarray
    problems: list[Problem] = field(default_factory=list)


def lay_out(frame: pd.DataFrame, lines: np.ndarray, conv: Convention, file: str,
            sheet: str | None) -> LaidOut:
    """The cells of ``frame`` under the convention's layout."""
    status = row_status(frame, conv)
    if conv.layout == "wide":
        return wide(frame, conv, status)
    return long(frame, lines, conv, status, file, sheet)


def row_status(frame: pd.DataFrame, conv: Convention) -> np.ndarray:
    """Per-row status from the convention's status column (e.g. est_diffuse)."""
    status = np.full(len(frame), OK, dtype=np.int8)
    if conv.status is None:
        return status
    text = frame[conv.status.column].str.strip().str.lower()
    status[text.isin([s.strip().lower() for s in conv.status.provisional]
                     ).to_numpy(bool)] = PROVISIONAL
    status[text.isin([s.strip().lower() for s in conv.status.secret]).to_numpy(bool)] = SECRET
    return status


def optional_numbers(frame: pd.DataFrame, column: str | None, conv: Convention) -> Numbers:
    """The numbers of an optional column (all missing when the convention names none)."""
    n = len(frame)
    if column is None or column not in frame.columns:
        nan = np.full(n, np.nan)
        return Numbers(nan, np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool))
    return parse_numbers(frame[column], conv.file)


def wide(frame: pd.DataFrame, conv: Convention, rows_status: np.ndarray) -> LaidOut:
    """One column per indicator: cells are laid out indicator by indicator."""
    present = [(col, cm) for col, cm in conv.columns.items() if col in frame.columns]
    n, m = len(frame), len(present)
    # One pass over all value columns end to end (indicator-major, like the cells).
    values = parse_numbers(pd.concat([frame[col] for col, _ in present], ignore_index=True),
                           conv.file)
    parts = []
    for j, (_, cm) in enumerate(present):
        value = take(values, slice(j * n, (j + 1) * n))
        if cm.scale != 1.0:
            value.values *= cm.scale
        parts.append((value, optional_numbers(frame, cm.numerator, conv),
                      optional_numbers(frame, cm.denominator, conv)))
    codes = list(dict.fromkeys(cm.indicator for _, cm in present))
    position = {c: i for i, c in enumerate(codes)}
    cells = Cells(
        indicator=np.repeat(np.arange(m), n),
        row=np.tile(np.arange(n), m),
        value=np.concatenate([p[0].values for p in parts]),
        numerator=np.concatenate([p[1].values for p in parts]),
        denominator=np.concatenate([p[2].values for p in parts]),
        codes=[cm.indicator for _, cm in present])
    # Two columns may carry the same indicator: keep their own positions for locating
    # problems, but make duplicate detection see them as one indicator.
    return LaidOut(cells, CellStatus.combine(parts, np.tile(rows_status, m)),
                   [(col, cm.numerator, cm.denominator) for col, cm in present],
                   np.asarray([position[cm.indicator] for _, cm in present]))


def long(frame: pd.DataFrame, lines: np.ndarray, conv: Convention, rows_status: np.ndarray,
         file: str, sheet: str | None) -> LaidOut:
    """One row per (territory, indicator): labels go through indicator_map; a label mapped
    to {value column: indicator} gives one cell per value column (a count and a rate)."""
    label_cols = conv.indicator_columns or [str(conv.indicator_column)]
    label = frame[label_cols[0]].str.strip()
    for col in label_cols[1:]:
        label = label + "|" + frame[col].str.strip()
    index, uniques = pd.factorize(label)
    codes = conv.indicator_codes
    position = {c: i for i, c in enumerate(codes)}
    value_cols = conv.value_columns
    ignored = {s.strip() for s in conv.ignore_indicators}
    target = np.full((len(value_cols), len(uniques)), -1, dtype=np.int64)
    first = first_rows(index, len(uniques))
    counts = np.bincount(index, minlength=len(uniques))
    keys = list(conv.indicator_map)
    problems: list[Problem] = []
    column_of: dict[int, str] = {}
    for u, text in enumerate(uniques):
        entry = conv.indicator_map.get(text)
        if entry is not None:
            pairs = {str(conv.value_column): entry} if isinstance(entry, str) else entry
            for column, code in pairs.items():
                target[value_cols.index(column), u] = position[code]
                column_of.setdefault(position[code], column)
        elif text not in ignored:
            close = difflib.get_close_matches(text, keys, n=1, cutoff=0.6)
            hint = f" (closest: '{close[0]}')" if close else ""
            also = f"; same label on {counts[u] - 1} other row(s)" if counts[u] > 1 else ""
            problems.append(Problem(
                file, sheet, int(lines[first[u]]), "|".join(label_cols), text,
                f"an indicator label listed in the convention's indicator_map{hint} or in "
                f"ignore_indicators{also}", "unknown_indicator"))
    num = optional_numbers(frame, conv.numerator_column, conv)
    den = optional_numbers(frame, conv.denominator_column, conv)
    parts, indicator, row_index = [], [], []
    for v, column in enumerate(value_cols):
        per_row = target[v][index]
        rows = np.flatnonzero(per_row >= 0)
        value = parse_numbers(frame[column], conv.file)
        parts.append((take(value, rows), take(num, rows), take(den, rows)))
        indicator.append(per_row[rows])
        row_index.append(rows)
    rows = np.concatenate(row_index)
    cells = Cells(indicator=np.concatenate(indicator), row=rows,
                  value=np.concatenate([p[0].values for p in parts]),
                  numerator=np.concatenate([p[1].values for p in parts]),
                  denominator=np.concatenate([p[2].values for p in parts]), codes=codes)
    columns = [(column_of.get(i, str(conv.value_column)), conv.numerator_column,
                conv.denominator_column) for i in range(len(codes))]
    return LaidOut(cells, CellStatus.combine(parts, rows_status[rows]), columns,
                   np.arange(len(codes)), problems)
