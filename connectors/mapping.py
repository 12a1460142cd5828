"""Turn a provider file into observations, through the convention that describes its layout.

``parse_delivery`` is pure: it reads the file, maps columns to indicators, territories and
periods, and either returns observations or the precise list of problems. It never raises:
an unreadable or malformed file is itself a problem to report to the provider. All work is
vectorised over columns; only failing cells are looked at one by one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from connectors.columns import column_problems
from connectors.headers import match_headers
from connectors.layout import ValueColumns, lay_out
from connectors.period_labels import resolve_periods
from connectors.read import ReadError, Table, read_table
from connectors.territories import resolve_territories
from connectors.validate import (
    Cells,
    Problem,
    Where,
    duplicate_problems,
    empty_problem,
    value_problems,
)
from connectors.values import OK, PROVISIONAL, SECRET, CellStatus, number_expected
from veille.catalog import Catalog
from veille.clock import Clock
from veille.config import ReadLimits
from veille.model import OBSERVATION_STATUSES, Convention, IndicatorKind

OBSERVATION_COLUMNS = ["indicator", "territory", "period", "value", "numerator", "denominator",
                       "status", "sheet", "line"]


@dataclass
class Parsed:
    """What a delivery file says: observations, or the problems that stop it."""

    convention_id: str
    observations: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    rows_read: int = 0
    former_codes: Counter[str] = field(default_factory=Counter)
    """Rows read through a merged commune's old code, by "old -> today"."""
    notes: list[str] = field(default_factory=list)
    skipped_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def empty_observations() -> pd.DataFrame:
    return pd.DataFrame({
        "indicator": pd.Series([], dtype=str), "territory": pd.Series([], dtype=str),
        "period": pd.Series([], dtype=str), "value": pd.Series([], dtype=float),
        "numerator": pd.Series([], dtype=float), "denominator": pd.Series([], dtype=float),
        "status": pd.Series([], dtype=str), "sheet": pd.Series([], dtype=object),
        "line": pd.Series([], dtype="int64")})


def parse_delivery(path: Path, convention: Convention, catalog: Catalog, *,
                   clock: Clock, filename: str | None = None,
                   limits: ReadLimits | None = None) -> Parsed:
    """Read ``path`` under ``convention``; every failure comes back as a Problem.
    ``filename`` is the name the provider gave the file (for reports and periods);
    ``limits`` are the workspace's read limits (the defaults if None)."""
    name = filename or Path(path).name
    try:
        table = read_table(Path(path), convention.file, name, limits)
    except ReadError as exc:
        return Parsed(convention.id, empty_observations(), exc.problems, 0)
    except Exception as exc:  # the contract: a bad file never raises
        return Parsed(convention.id, empty_observations(), [Problem(
            name, None, None, None, None,
            f"a file this convention can read ({type(exc).__name__}: {exc})",
            kind="unreadable")], 0)
    try:
        return _Mapper(table, convention, catalog, clock, name).run()
    except Exception as exc:  # keep the contract even for a case nobody foresaw
        return Parsed(convention.id, empty_observations(), [Problem(
            table.file, table.sheet, None, None, None,
            f"a file this convention can map (internal error {type(exc).__name__}: {exc})",
            kind="internal")], table.rows)


# --- the mapping itself ---------------------------------------------------------------------

class _Mapper:
    """One pass over a table; keeps the shared state of the steps in one place."""

    def __init__(self, table: Table, convention: Convention, catalog: Catalog, clock: Clock,
                 name: str) -> None:
        self.table, self.conv, self.catalog, self.clock, self.name = (
            table, convention, catalog, clock, name)
        self.problems: list[Problem] = []
        self.former: Counter[str] = Counter()
        self.notes: list[str] = []
        self.skipped = 0
        self.frame = table.frame
        self.lines = table.lines

    def result(self, observations: pd.DataFrame | None = None) -> Parsed:
        """Problems in reading order: by line, then by column position in the header. A cell
        read twice (a count that is also a rate's numerator) is reported once."""
        obs = observations if observations is not None else empty_observations()
        position = {c: i for i, c in enumerate(self.table.columns)}
        unique = list(dict.fromkeys(self.problems))
        unique.sort(key=lambda p: (-1 if p.line is None else p.line,
                                   position.get(p.column or "", len(position))))
        return Parsed(self.conv.id, obs, unique, self.table.rows, self.former, self.notes,
                      self.skipped)

    def problem(self, line: int | None, column: str | None, value: str | None, expected: str,
                kind: str) -> None:
        self.problems.append(Problem(self.table.file, self.table.sheet, line, column, value,
                                     expected, kind))

    # steps ---------------------------------------------------------------------------------

    def run(self) -> Parsed:
        table, conv = self.table, self.conv
        if table.rows == 0:
            self.problems.append(empty_problem(table.file, table.sheet, None,
                                               " after the header (the file has none)"))
            return self.result()
        self.notes += match_headers(table, conv)
        self.frame = table.frame
        problems, go_on = column_problems(table, conv)
        self.problems += problems
        if not go_on or not self.apply_filters():
            return self.result()
        resolved = self.skip_outside()
        if resolved is None:
            return self.result()
        territory, territory_ok = resolved
        period, period_ok, problems = resolve_periods(
            self.frame, self.lines, conv, self.clock, self.name, table.file, table.sheet)
        self.problems += problems
        laid = lay_out(self.frame, self.lines, conv, table.file, table.sheet)
        self.problems += laid.problems
        self._indicator_key = laid.indicator_key
        cells, status, columns = laid.cells, laid.status, laid.columns
        self.fractions(cells)
        indicator_ok = self.known_indicators(cells, columns)
        keep = territory_ok[cells.row] & period_ok[cells.row] & indicator_ok[cells.indicator]
        self.check_values(cells, status, columns, keep)
        self.duplicates(cells, keep, territory, period, columns)
        if self.problems:
            return self.result()
        return self.result(self.observations(cells, status, keep, territory, period))

    def apply_filters(self) -> bool:
        if not self.conv.filters:
            return True
        mask = np.ones(len(self.frame), dtype=bool)
        for col, wanted in self.conv.filters.items():
            values = [wanted] if isinstance(wanted, str) else list(wanted)
            mask &= self.frame[col].str.strip().isin([v.strip() for v in values]).to_numpy()
        if not mask.all():
            self.frame = self.frame[mask].reset_index(drop=True)
            self.lines = self.lines[mask]
        if len(self.frame) == 0:
            conds = " and ".join(f"{c} = {v!r}" for c, v in self.conv.filters.items())
            self.problems.append(empty_problem(self.table.file, self.table.sheet, None,
                                               f" where {conds} (the convention's filters)"))
            return False
        return True

    def skip_outside(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Territory per row; rows of real territories outside the workspace are dropped
        and counted (None when no row is left)."""
        found = resolve_territories(self.frame, self.lines, self.conv, self.catalog,
                                    self.table.file, self.table.sheet, self.former)
        self.problems += found.problems
        self.notes += found.notes
        if not found.skipped.any():
            return found.code, found.valid
        keep = ~found.skipped
        self.skipped = int(found.skipped.sum())
        self.frame = self.frame[keep].reset_index(drop=True)
        self.lines = self.lines[keep]
        if len(self.frame) == 0:
            self.problems.append(empty_problem(
                self.table.file, self.table.sheet, None,
                " for a territory of the workspace (every row is outside it)"))
            return None
        return found.code[keep], found.valid[keep]

    def fractions(self, cells: Cells) -> None:
        """Counts with decimals (census weighted counts) under ``fractional_counts``: round
        them half up here, or keep them; ``refuse`` leaves them to the value checks."""
        if self.conv.fractional_counts != "round":
            return
        counts = np.asarray([getattr(self.catalog.indicators.get(c), "kind", None)
                             is IndicatorKind.COUNT for c in cells.codes], dtype=bool)
        with np.errstate(invalid="ignore"):
            which = (counts[cells.indicator] & np.isfinite(cells.value)
                     & (np.abs(cells.value - np.round(cells.value)) > 1e-9))
        if which.any():
            cells.value[which] = np.floor(cells.value[which] + 0.5)
            self.notes.append(f"{int(which.sum())} effectif(s) décimal(aux) arrondi(s) à "
                              f"l'unité / {int(which.sum())} decimal count(s) rounded "
                              "(fractional_counts: round)")

    def known_indicators(self, cells: Cells, columns: ValueColumns
                         ) -> np.ndarray:
        """Indicator codes the convention names must be in the glossary."""
        ok = np.ones(len(cells.codes), dtype=bool)
        for i, code in enumerate(cells.codes):
            if code in self.catalog.indicators:
                continue
            ok[i] = False
            used = np.flatnonzero(cells.indicator == i)
            if self.conv.layout == "wide":
                line, column = self.table.header_line, columns[i][0]
            elif len(used):
                line = int(self.lines[cells.row[used[0]]])
                column = "|".join(self.conv.indicator_columns or [str(self.conv.indicator_column)])
            else:
                continue
            self.problem(line, column, code, "an indicator code defined in the glossary "
                         "(the convention maps this column or label to it)", "unknown_indicator")
        return ok

    def check_values(self, cells: Cells, status: CellStatus,
                     columns: ValueColumns, keep: np.ndarray) -> None:
        """Value checks on the cells that have a valid key and are not secret."""
        checked = keep & ((status.code == OK) | (status.code == PROVISIONAL))
        value = np.where(checked, cells.value, np.nan)
        numerator = np.where(checked, cells.numerator, np.nan)
        denominator = np.where(checked, cells.denominator, np.nan)
        view = Cells(cells.indicator, cells.row, value, numerator, denominator, cells.codes)
        bad = [b & keep & (status.code != SECRET) for b in status.bad]
        where = Where(self.table.file, self.table.sheet, self.lines, columns)
        frame = self.frame

        def text(k: int, part: int) -> str | None:
            column = columns[int(cells.indicator[k])][part]
            return None if column is None else str(frame[column].iat[int(cells.row[k])])

        self.problems += value_problems(view, text, bad, self.catalog.indicators, where,
                                        number_expected(self.conv.file),
                                        fractions=self.conv.fractional_counts == "keep")

    def duplicates(self, cells: Cells, keep: np.ndarray, territory: np.ndarray,
                   period: np.ndarray, columns: ValueColumns
                   ) -> None:
        """The same key twice in the file: report every occurrence.

        In a wide file whose columns carry distinct indicators, a duplicate can only be a
        repeated (territory, period) row: it is checked and reported per row, not per cell.
        """
        where = Where(self.table.file, self.table.sheet, self.lines, columns)
        t_index, _ = pd.factorize(territory)
        p_index, _ = pd.factorize(period)
        n_periods = int(p_index.max()) + 2 if len(p_index) else 1
        per_row = (self.conv.layout == "wide"
                   and len(np.unique(self._indicator_key)) == len(self._indicator_key))
        if per_row:
            rows = np.zeros(len(self.frame), dtype=bool)
            rows[cells.row[keep]] = True
            idx = np.flatnonzero(rows)
            key = t_index[idx].astype(np.int64) * n_periods + p_index[idx]
            if not pd.Series(key).duplicated(keep=False).any():
                return
            column = "+".join(self.conv.territory.source_columns)
            self.problems += duplicate_problems(
                key, idx, where, lambda k: f"{territory[idx[k]]} | {period[idx[k]]}",
                lambda k: column)
            return
        idx = np.flatnonzero(keep)
        row = cells.row[idx]
        n_ind = int(self._indicator_key.max()) + 1 if len(self._indicator_key) else 1
        key = ((t_index[row].astype(np.int64) * n_periods + p_index[row]) * n_ind
               + self._indicator_key[cells.indicator[idx]])
        if not pd.Series(key).duplicated(keep=False).any():
            return

        def label(k: int) -> str:
            c = idx[k]
            return (f"{cells.codes[cells.indicator[c]]} | {territory[cells.row[c]]} | "
                    f"{period[cells.row[c]]}")

        self.problems += duplicate_problems(key, row, where, label,
                                            lambda k: columns[cells.indicator[idx[k]]][0])

    def observations(self, cells: Cells, status: CellStatus, keep: np.ndarray,
                     territory: np.ndarray, period: np.ndarray) -> pd.DataFrame:
        idx = np.flatnonzero(keep) if not keep.all() else slice(None)
        row = cells.row[idx]
        code = status.code[idx]
        value = cells.value[idx]
        numerator = cells.numerator[idx].copy()
        value = np.where(code == OK, value, np.where(code == PROVISIONAL, value, np.nan))
        numerator[code == SECRET] = np.nan
        territory_index, territory_labels = pd.factorize(territory)
        period_index, period_labels = pd.factorize(period)
        return pd.DataFrame({
            "indicator": _strings(cells.indicator[idx], cells.codes),
            "territory": _strings(territory_index[row], list(territory_labels)),
            "period": _strings(period_index[row], list(period_labels)),
            "value": value,
            "numerator": numerator,
            "denominator": cells.denominator[idx],
            "status": _strings(code, list(OBSERVATION_STATUSES)),
            "sheet": pd.Series([self.table.sheet] * len(value), dtype=object)
            if self.table.sheet is not None else np.full(len(value), None, dtype=object),
            "line": self.lines[row].astype(np.int64),
        })


def _strings(index: np.ndarray, labels: list) -> pd.Series:
    """Labels by index as a pandas string column, built in Arrow (no Python string per row)."""
    taken = pa.array([str(x) for x in labels], type=pa.string()).take(
        pa.array(np.asarray(index, dtype=np.int64)))
    return pd.Series(taken, dtype="str")
