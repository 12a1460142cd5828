"""Turn a provider file into observations, through the convention that describes its layout.

``parse_delivery`` is pure: it reads the file, maps columns to indicators, territories and
periods, and either returns observations or the precise list of problems. It never raises:
an unreadable or malformed file is itself a problem to report to the provider. All work is
vectorised over columns; only failing cells are looked at one by one.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectors.read import ReadError, Table, read_table
from connectors.validate import (
    Cells,
    Problem,
    Where,
    allowed_territories,
    duplicate_problems,
    empty_problem,
    missing_column,
    period_label,
    period_range_problem,
    territory_problem,
    value_problems,
)
from veille.catalog import Catalog
from veille.clock import PARIS, Clock
from veille.config import ReadLimits
from veille.model import OBSERVATION_STATUSES, Convention, FileSpec
from veille.periods import last_closed

OK, SECRET, MISSING, PROVISIONAL = range(4)
OBSERVATION_COLUMNS = ["indicator", "territory", "period", "value", "numerator", "denominator",
                       "status", "sheet", "line"]
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_LESS_THAN = r"^<\d+([.,]\d+)?$"


@dataclass
class Parsed:
    """What a delivery file says: observations, or the problems that stop it."""

    convention_id: str
    observations: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    rows_read: int = 0

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


# --- numbers and markers ---------------------------------------------------------------------

@dataclass
class Numbers:
    """One column of text read as numbers, with what each non-number was."""

    values: np.ndarray
    secret: np.ndarray
    empty: np.ndarray
    bad: np.ndarray


def parse_numbers(text: pd.Series, spec: FileSpec) -> Numbers:
    """Numbers with the convention's decimal and thousands marks; secret markers recognised.

    Markers compare case-insensitively with spaces removed ('N.D.' = 'n.d.', '< 5' = '<5');
    if a '<n' marker is declared, any '<number' is secret too.
    """
    arr = pa.array(text.astype(str))
    arr = pc.utf8_trim_whitespace(arr)
    empty = pc.equal(arr, "").to_numpy(zero_copy_only=False)
    clean = arr
    for mark in _thousands_marks(spec.thousands):
        clean = pc.replace_substring(clean, mark, "")
    if spec.decimal != ".":
        clean = pc.replace_substring(clean, spec.decimal, ".")
    looks = pc.match_substring_regex(clean, _NUMBER)
    try:
        values = pc.cast(pc.if_else(looks, clean, None), pa.float64())
        out = values.to_numpy(zero_copy_only=False).astype(float, copy=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        out = pd.to_numeric(pd.Series(clean.to_pylist()), errors="coerce").to_numpy(float)
    out[~np.isfinite(out)] = np.nan
    unknown = np.isnan(out) & ~empty
    markers = _normalised_markers(spec)
    secret = empty.copy() if "" in markers else np.zeros(len(out), dtype=bool)
    if unknown.any():
        idx = np.flatnonzero(unknown)
        norm = pc.replace_substring_regex(pc.utf8_lower(arr.take(pa.array(idx))), r"\s+", "")
        hit = pc.is_in(norm, value_set=pa.array(sorted(markers), type=norm.type))
        if any(re.match(_LESS_THAN, m) for m in markers):
            hit = pc.or_(hit, pc.match_substring_regex(norm, _LESS_THAN))
        secret[idx[hit.to_numpy(zero_copy_only=False)]] = True
    return Numbers(out, secret, empty, unknown & ~secret)


def _normalised_markers(spec: FileSpec) -> set[str]:
    return {re.sub(r"\s+", "", m.lower()) for m in spec.secret_markers}


def _thousands_marks(thousands: str | None) -> list[str]:
    if thousands is None or thousands == "":
        return []
    if thousands.isspace():
        return [" ", "\u00a0", "\u202f"]
    return [thousands]


def number_expected(spec: FileSpec) -> str:
    """Plain words for what a value cell may hold under this FileSpec."""
    mark = {",": "decimal comma", ".": "decimal point"}.get(spec.decimal,
                                                         f"decimal mark '{spec.decimal}'")
    parts = [f"{mark} allowed"]
    if spec.thousands:
        parts.append("thousands separator " + ("space" if spec.thousands.isspace()
                                               else f"'{spec.thousands}'"))
    markers = ", ".join("an empty cell" if m == "" else f"'{m}'" for m in spec.secret_markers)
    return f"a number ({'; '.join(parts)}) or a secret marker ({markers})"


# --- the mapping itself ----------------------------------------------------------------------

class _Mapper:
    """One pass over a table; keeps the shared state of the steps in one place."""

    def __init__(self, table: Table, convention: Convention, catalog: Catalog, clock: Clock,
                 name: str) -> None:
        self.table, self.conv, self.catalog, self.clock, self.name = (
            table, convention, catalog, clock, name)
        self.problems: list[Problem] = []
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
        return Parsed(self.conv.id, obs, unique, self.table.rows)

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
        if not self.check_columns():
            return self.result()
        if not self.apply_filters():
            return self.result()
        territory, territory_ok = self.territories()
        period, period_ok = self.periods()
        cells, status, columns = (self.wide() if conv.layout == "wide" else self.long())
        indicator_ok = self.known_indicators(cells, columns)
        keep = territory_ok[cells.row] & period_ok[cells.row] & indicator_ok[cells.indicator]
        self.check_values(cells, status, columns, keep)
        self.duplicates(cells, keep, territory, period, columns)
        if self.problems:
            return self.result()
        return self.result(self.observations(cells, status, keep, territory, period))

    def check_columns(self) -> bool:
        """Report every absent column at once; go on only if the structural ones exist."""
        conv = self.conv
        found = self.table.columns
        needed: list[tuple[str, str, bool]] = []
        needed += [(c, "territory code", True) for c in conv.territory.source_columns]
        if conv.period.column:
            needed.append((conv.period.column, "period", True))
        needed += [(c, "filter", True) for c in conv.filters]
        if conv.status:
            needed.append((conv.status.column, "status", True))
        if conv.layout == "wide":
            for col, cm in conv.columns.items():
                needed.append((col, f"indicator {cm.indicator}", False))
                needed += [(c, f"{role} of {cm.indicator}", False)
                           for role, c in (("numerator", cm.numerator),
                                           ("denominator", cm.denominator)) if c]
        else:
            needed += [(c, "indicator label", True)
                       for c in (conv.indicator_columns or (conv.indicator_column,))
                       if c is not None]
            needed += [(c, role, True) for role, c in (("value", conv.value_column),
                       ("numerator", conv.numerator_column),
                       ("denominator", conv.denominator_column)) if c]
        present = set(found)
        seen: set[str] = set()
        structural_missing = False
        wide_present = 0
        for col, role, structural in needed:
            if col in present:
                if not structural and role.startswith("indicator"):
                    wide_present += 1
                continue
            if col in seen:
                continue
            seen.add(col)
            structural_missing |= structural
            sep = self.conv.file.separator if self.table.sheet is None else None
            self.problems.append(missing_column(self.table.file, self.table.sheet,
                                                self.table.header_line, col, role, found, sep))
        return not structural_missing and (conv.layout == "long" or wide_present > 0)

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

    def territories(self) -> tuple[np.ndarray, np.ndarray]:
        """Final code and validity per row; one problem per distinct refused code."""
        mapping = self.conv.territory
        cols = mapping.source_columns
        raw = self.frame[cols[0]].str.strip()
        for col in cols[1:]:
            raw = raw + self.frame[col].str.strip()
        index, uniques = pd.factorize(raw)
        allowed = allowed_territories(self.catalog, self.conv.geography)
        finals, valid = [], np.zeros(len(uniques), dtype=bool)
        for u, value in enumerate(uniques):
            code = mapping.codes.get(value)
            if code is None:
                padded = value.zfill(mapping.zfill) if mapping.zfill and value else value
                code = mapping.codes.get(mapping.prefix + padded, mapping.prefix + padded)
            finals.append(code)
            valid[u] = code in allowed
        if not valid.all():
            counts = np.bincount(index, minlength=len(uniques))
            first = _first_rows(index, len(uniques))
            for w in np.flatnonzero(~valid):
                self.problems.append(territory_problem(
                    self.catalog, self.conv, finals[w], uniques[w], self.table.file,
                    self.table.sheet, int(self.lines[first[w]]), "+".join(cols),
                    int(counts[w]) - 1))
        return np.asarray(finals, dtype=object)[index], valid[index]

    def periods(self) -> tuple[np.ndarray, np.ndarray]:
        """Canonical label and validity per row, from a column, the file name or a value."""
        conv, n = self.conv, len(self.frame)
        last = last_closed(conv.periodicity, self.clock.now().astimezone(PARIS).date())
        pattern = re.compile(conv.period.pattern)

        def label_of(text: str, search: bool) -> tuple[str | None, str]:
            match = pattern.search(text) if search else pattern.fullmatch(text)
            label, expected = period_label(text, match.groupdict() if match else {},
                                           conv.periodicity)
            if label is None:
                return None, f"{expected} (pattern {conv.period.pattern})"
            why = period_range_problem(label, conv, last)
            return (label, "") if why is None else (None, why)

        if conv.period.column is None:
            text = self.name if conv.period.from_filename else str(conv.period.value)
            label, why = label_of(text, search=conv.period.from_filename)
            if label is None:
                self.problem(None, None, text, why + (" in the file name"
                             if conv.period.from_filename else " (convention period.value)"),
                             "period")
                return np.full(n, None, dtype=object), np.zeros(n, dtype=bool)
            return np.full(n, label, dtype=object), np.ones(n, dtype=bool)

        index, uniques = pd.factorize(self.frame[conv.period.column].str.strip())
        labels, valid = [], np.zeros(len(uniques), dtype=bool)
        first = _first_rows(index, len(uniques))
        counts = np.bincount(index, minlength=len(uniques))
        for u, text in enumerate(uniques):
            label, why = label_of(text, search=False)
            labels.append(label)
            valid[u] = label is not None
            if label is None:
                also = f" (same value on {counts[u] - 1} other row(s))" if counts[u] > 1 else ""
                self.problem(int(self.lines[first[u]]), conv.period.column, text, why + also,
                             "period")
        return np.asarray(labels, dtype=object)[index], valid[index]

    def row_status(self) -> np.ndarray:
        """Per-row status from the convention's status column (e.g. est_diffuse)."""
        status = np.full(len(self.frame), OK, dtype=np.int8)
        if self.conv.status is None:
            return status
        text = self.frame[self.conv.status.column].str.strip().str.lower()
        status[text.isin([s.strip().lower() for s in self.conv.status.provisional]
                         ).to_numpy(bool)] = PROVISIONAL
        status[text.isin([s.strip().lower() for s in self.conv.status.secret]
                         ).to_numpy(bool)] = SECRET
        return status

    def wide(self) -> tuple[Cells, _CellStatus, list[tuple[str, str | None, str | None]]]:
        """One column per indicator: cells are laid out indicator by indicator."""
        spec, frame = self.conv.file, self.frame
        present = [(col, cm) for col, cm in self.conv.columns.items() if col in frame.columns]
        n, m = len(frame), len(present)
        # One pass over all value columns end to end (indicator-major, like the cells).
        values = parse_numbers(pd.concat([frame[col] for col, _ in present], ignore_index=True),
                               spec)
        parts = []
        for j, (_, cm) in enumerate(present):
            value = _take(values, slice(j * n, (j + 1) * n))
            if cm.scale != 1.0:
                value.values *= cm.scale
            parts.append((value, self._optional(cm.numerator), self._optional(cm.denominator)))
        codes = list(dict.fromkeys(cm.indicator for _, cm in present))
        position = {c: i for i, c in enumerate(codes)}
        columns = [(col, cm.numerator, cm.denominator) for col, cm in present]
        cells = Cells(
            indicator=np.repeat(np.arange(m), n),
            row=np.tile(np.arange(n), m),
            value=np.concatenate([p[0].values for p in parts]),
            numerator=np.concatenate([p[1].values for p in parts]),
            denominator=np.concatenate([p[2].values for p in parts]),
            codes=[cm.indicator for _, cm in present])
        status = _CellStatus.combine(parts, np.tile(self.row_status(), m))
        # Two columns may carry the same indicator: keep their own positions for locating
        # problems, but make duplicate detection see them as one indicator.
        self._indicator_key = np.asarray([position[cm.indicator] for _, cm in present])
        return cells, status, columns

    def _optional(self, column: str | None) -> Numbers:
        n = len(self.frame)
        if column is None or column not in self.frame.columns:
            nan = np.full(n, np.nan)
            return Numbers(nan, np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool))
        return parse_numbers(self.frame[column], self.conv.file)

    def long(self) -> tuple[Cells, _CellStatus, list[tuple[str, str | None, str | None]]]:
        """One row per (territory, indicator): labels go through indicator_map."""
        conv, frame = self.conv, self.frame
        label_cols = conv.indicator_columns or [str(conv.indicator_column)]
        label = frame[label_cols[0]].str.strip()
        for col in label_cols[1:]:
            label = label + "|" + frame[col].str.strip()
        index, uniques = pd.factorize(label)
        codes = list(dict.fromkeys(conv.indicator_map.values()))
        position = {c: i for i, c in enumerate(codes)}
        ignored = {s.strip() for s in conv.ignore_indicators}
        target = np.full(len(uniques), -1, dtype=np.int64)
        first = _first_rows(index, len(uniques))
        counts = np.bincount(index, minlength=len(uniques))
        keys = list(conv.indicator_map)
        for u, text in enumerate(uniques):
            if text in conv.indicator_map:
                target[u] = position[conv.indicator_map[text]]
            elif text not in ignored:
                close = difflib.get_close_matches(text, keys, n=1, cutoff=0.6)
                hint = f" (closest: '{close[0]}')" if close else ""
                also = f"; same label on {counts[u] - 1} other row(s)" if counts[u] > 1 else ""
                self.problem(int(self.lines[first[u]]), "|".join(label_cols), text,
                             f"an indicator label listed in the convention's indicator_map"
                             f"{hint} or in ignore_indicators{also}", "unknown_indicator")
        per_row = target[index]
        rows = np.flatnonzero(per_row >= 0)
        value = parse_numbers(frame[str(conv.value_column)], conv.file)
        num, den = self._optional(conv.numerator_column), self._optional(conv.denominator_column)
        parts = [(_take(value, rows), _take(num, rows), _take(den, rows))]
        cells = Cells(indicator=per_row[rows], row=rows, value=parts[0][0].values,
                      numerator=parts[0][1].values, denominator=parts[0][2].values,
                      codes=codes)
        status = _CellStatus.combine(parts, self.row_status()[rows])
        columns = [(str(conv.value_column), conv.numerator_column, conv.denominator_column)
                   ] * len(codes)
        self._indicator_key = np.arange(len(codes))
        return cells, status, columns

    def known_indicators(self, cells: Cells, columns: list[tuple[str, str | None, str | None]]
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

    def check_values(self, cells: Cells, status: _CellStatus,
                     columns: list[tuple[str, str | None, str | None]], keep: np.ndarray) -> None:
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
                                        number_expected(self.conv.file))

    def duplicates(self, cells: Cells, keep: np.ndarray, territory: np.ndarray,
                   period: np.ndarray, columns: list[tuple[str, str | None, str | None]]
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

    def observations(self, cells: Cells, status: _CellStatus, keep: np.ndarray,
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


@dataclass
class _CellStatus:
    """Status per cell, and the value/numerator/denominator masks of unparsable text."""

    code: np.ndarray
    bad: list[np.ndarray]

    @staticmethod
    def combine(parts: list[tuple[Numbers, Numbers, Numbers]], row_status: np.ndarray
                ) -> _CellStatus:
        value = np.concatenate([p[0].secret for p in parts])
        empty = np.concatenate([p[0].empty for p in parts])
        code = row_status.astype(np.int8, copy=True)
        code[empty & ~value & (code != SECRET)] = MISSING
        code[value] = SECRET
        bad = [np.concatenate([p[i].bad for p in parts]) for i in range(3)]
        return _CellStatus(code, bad)


def _take(numbers: Numbers, rows: np.ndarray | slice) -> Numbers:
    return Numbers(numbers.values[rows], numbers.secret[rows], numbers.empty[rows],
                   numbers.bad[rows])


def _first_rows(index: np.ndarray, count: int) -> np.ndarray:
    """First row where each factorised value appears."""
    first = np.full(count, -1, dtype=np.int64)
    order = np.arange(len(index))[::-1]
    first[index[::-1]] = order
    return first


def _strings(index: np.ndarray, labels: list) -> pd.Series:
    """Labels by index as a pandas string column, built in Arrow (no Python string per row)."""
    taken = pa.array([str(x) for x in labels], type=pa.string()).take(
        pa.array(np.asarray(index, dtype=np.int64)))
    return pd.Series(taken, dtype="str")
