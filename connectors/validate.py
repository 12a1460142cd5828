"""Checks on a parsed delivery; each failure is a Problem a provider can act on.

A problem names the file, the sheet, the line (as seen in an editor or a spreadsheet), the
column and the value found, and says in plain words what was expected. Checks are
vectorised: they build masks over all cells, and only the cells that fail become Problems.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

import numpy as np

from veille.catalog import Catalog
from veille.model import PLAUSIBLE_MAXIMUM, Convention, Indicator, IndicatorKind, TerritoryKind
from veille.periods import PeriodError, Periodicity, ordinal, periodicity_of

MAX_LISTED = 12
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a delivery, located as precisely as the file allows."""

    file: str
    sheet: str | None
    line: int | None
    column: str | None
    value: str | None
    expected: str
    kind: str = "invalid"

    def __post_init__(self) -> None:
        """Control characters from the file (NUL, line breaks) are shown escaped, so that
        the report stays one problem a line and PostgreSQL's text columns accept it."""
        for f in fields(self):
            text = getattr(self, f.name)
            if isinstance(text, str) and _CONTROL.search(text):
                object.__setattr__(self, f.name, _CONTROL.sub(
                    lambda m: f"\\x{ord(m.group()):02x}", text))

    def __str__(self) -> str:
        where = [self.file]
        if self.sheet is not None:
            where.append(f"sheet '{self.sheet}'")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        found = f"value '{self.value}' — " if self.value is not None else ""
        return f"{', '.join(where)}: {found}expected {self.expected}"


def _listing(names: Sequence[str]) -> str:
    shown = [f"'{n}'" for n in names[:MAX_LISTED]]
    more = f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
    return ", ".join(shown) + more


def missing_column(file: str, sheet: str | None, header_line: int, wanted: str, role: str,
                   found: list[str], separator: str | None) -> Problem:
    """A column the convention needs is absent: say what was found and the closest name."""
    close = difflib.get_close_matches(wanted, found, n=1, cutoff=0.6)
    hint = f" (closest found: '{close[0]}')" if close else ""
    if separator is not None and len(found) == 1:
        seps = [s for s in (";", ",", "\t", "|") if s != separator and s in found[0]]
        if seps:
            hint += f"; the header seems separated by '{seps[0]}', not '{separator}'"
    return Problem(file, sheet, header_line, wanted, None,
                   f"a column named '{wanted}' ({role}){hint}; columns found: {_listing(found)}",
                   kind="missing_column")


def allowed_territories(catalog: Catalog, level: TerritoryKind) -> set[str]:
    """Codes a convention at ``level`` may deliver: that level and everything above it."""
    allowed: set[str] = set()
    for code, territory in catalog.territories.items():
        if territory.kind is level:
            allowed.add(code)
            allowed.update(a.code for a in catalog.ancestors(code))
    return allowed


def territory_problem(catalog: Catalog, convention: Convention, code: str, raw: str,
                      file: str, sheet: str | None, line: int, column: str,
                      others: int) -> Problem:
    """Why one territory code is refused: unknown, or of a level the convention excludes."""
    level = convention.geography
    also = f" (same code on {others} other row(s))" if others else ""
    known = catalog.territories.get(code)
    shown = raw if raw == code else f"{raw}' (read as '{code}"
    today = catalog.former_codes.get(code)
    if known is None and today is not None:
        return Problem(file, sheet, line, column, shown,
                       f"today's code of the commune: '{code}' is the former code of a merged "
                       f"commune, now '{today}', and this convention refuses former codes "
                       f"(former_codes: refuse){also}", kind="former_code")
    if known is None:
        expected = (f"a territory code known to the catalog at {level.value} level or above"
                    f"{also}")
        return Problem(file, sheet, line, column, shown, expected, kind="unknown_territory")
    return Problem(file, sheet, line, column, shown,
                   f"a territory at {level.value} level or one containing such territories; "
                   f"'{code}' is a {known.kind.value} not covered by this convention{also}",
                   kind="territory_level")


def period_label(text: str, match: dict[str, str | None], periodicity: Periodicity
                 ) -> tuple[str | None, str]:
    """Canonical label from a pattern match, or (None, what was expected)."""
    example = {Periodicity.ANNUAL: "2024", Periodicity.QUARTERLY: "2024-Q1 or 2024-T1",
               Periodicity.MONTHLY: "2024-03"}[periodicity]
    article = "an" if periodicity.value[0] in "aeiou" else "a"
    expected = f"{article} {periodicity.value} period such as {example}"
    year, quarter, month = match.get("year"), match.get("quarter"), match.get("month")
    if year is None:
        return None, expected
    if periodicity is Periodicity.ANNUAL:
        return (year, expected) if quarter is None and month is None else (None, expected)
    if periodicity is Periodicity.QUARTERLY:
        if quarter is None or month is not None:
            return None, expected
        label = f"{year}-Q{int(quarter)}"
    else:
        if month is None or quarter is not None:
            return None, expected
        label = f"{year}-{int(month):02d}"
    try:
        periodicity_of(label)
    except PeriodError:
        return None, expected
    return label, expected


def period_range_problem(label: str, convention: Convention, last: str) -> str | None:
    """Say why a well-formed period is outside the convention, or None if it is inside."""
    if convention.first_period is not None and ordinal(label) < ordinal(convention.first_period):
        return (f"a period from {convention.first_period} on (the convention's first period); "
                f"{label} is earlier")
    if ordinal(label) > ordinal(last):
        return f"a period that has ended: the last closed one is {last}; {label} is not over yet"
    return None


@dataclass
class Cells:
    """Parsed cells in long form with what is needed to locate a failing one."""

    indicator: np.ndarray  # int index into ``codes``
    row: np.ndarray        # int index into the table rows
    value: np.ndarray      # float, NaN when secret, missing or unparsable
    numerator: np.ndarray
    denominator: np.ndarray
    codes: list[str]


@dataclass(frozen=True)
class Where:
    """How to locate a cell: the file, sheet, line of each table row, and source columns.

    ``columns[i]`` holds the (value, numerator, denominator) column names of indicator i.
    """

    file: str
    sheet: str | None
    lines: np.ndarray
    columns: Sequence[tuple[str, str | None, str | None]]


def value_problems(cells: Cells, text: Callable[[int, int], str | None],
                   unparsable: Sequence[np.ndarray], indicators: dict[str, Indicator],
                   where: Where, number_text: str, fractions: bool = False) -> list[Problem]:
    """Non-numeric text, out-of-range values, non-integer counts, numerators above denominators,
    numerators and denominators that are no plausible count.

    ``unparsable`` holds, for the value, numerator and denominator (parts 0, 1, 2), the masks of
    cells that are neither a number nor a secret marker; ``text(k, part)`` gives the text of
    cell k as the provider wrote it (called for failing cells only). ``fractions``: counts
    may hold decimals (census weighted counts, the convention's ``fractional_counts``).
    """
    found: list[tuple[int, int, Problem]] = []

    def add(mask: np.ndarray, part: int, kind: str, expected: Callable[[int, int], str]) -> None:
        for k in np.flatnonzero(mask):
            i = int(cells.indicator[k])
            found.append((int(k), part, Problem(
                where.file, where.sheet, int(where.lines[cells.row[k]]), where.columns[i][part],
                text(int(k), part), expected(int(k), i), kind)))

    for part, mask in enumerate(unparsable):
        add(mask, part, "not_a_number", lambda k, i: number_text)

    n_ind = len(cells.codes)
    minimum, upper = np.full(n_ind, -np.inf), np.full(n_ind, np.inf)
    is_count = np.zeros(n_ind, dtype=bool)
    specs: list[Indicator | None] = [indicators.get(c) for c in cells.codes]
    for i, spec in enumerate(specs):
        if spec is None:
            continue
        if spec.minimum is not None:
            minimum[i] = spec.minimum
        if spec.kind is IndicatorKind.COUNT:
            minimum[i] = max(minimum[i], 0.0)
            is_count[i] = True
        upper[i] = spec.upper_bound

    def about(i: int) -> str:
        spec = specs[i]
        return f"{cells.codes[i]} ({spec.kind.value}, {spec.unit})" if spec else cells.codes[i]

    def ceiling(i: int) -> str:
        spec = specs[i]
        plausible = (spec is not None and spec.maximum is None
                     and upper[i] == PLAUSIBLE_MAXIMUM[spec.kind])
        why = (": the plausibility bound of its kind (set 'maximum' in the glossary to "
               "change it)") if plausible else ""
        return f"a value of at most {_fmt(upper[i])} for {about(i)}{why}"

    ind, value = cells.indicator, cells.value
    with np.errstate(invalid="ignore"):
        low = value < minimum[ind]
        high = value > upper[ind]
        frac = (is_count[ind] & ~low & ~high & (np.abs(value - np.round(value)) > 1e-9)
                & (not fractions))
        over = cells.numerator > cells.denominator
        count_max = PLAUSIBLE_MAXIMUM[IndicatorKind.COUNT]
        implausible = [(part, (counts < 0) | (counts > count_max)) for part, counts in
                       ((1, cells.numerator), (2, cells.denominator))]
    add(low, 0, "out_of_range", lambda k, i: f"a value of at least {_fmt(minimum[i])} "
        f"for {about(i)}")
    add(high, 0, "out_of_range", lambda k, i: ceiling(i))
    add(frac, 0, "not_integer", lambda k, i: f"a whole number: {cells.codes[i]} is a count "
        "(if the provider's counts are estimates, set fractional_counts: keep or round in the "
        "convention)")
    add(over, 1, "numerator_above_denominator", lambda k, i: (
        f"a numerator not greater than its denominator ('{where.columns[i][2]}' = "
        f"{_fmt(cells.denominator[k])})"))
    for part, mask in implausible:
        role = "numerator" if part == 1 else "denominator"

        def count(k: int, i: int, role: str = role) -> str:
            return (f"a {role} between 0 and {_fmt(count_max)} for {cells.codes[i]}: a count "
                    "of people or cases (plausibility bound)")
        add(mask, part, "out_of_range", count)
    found.sort(key=lambda item: (item[0], item[1]))
    return [p for _, _, p in found]


def _fmt(x: float) -> str:
    return f"{x:g}"


def duplicate_problems(key: np.ndarray, rows: np.ndarray, where: Where,
                       label: Callable[[int], str], column: Callable[[int], str | None]
                       ) -> list[Problem]:
    """The same (indicator, territory, period) twice in one file: report every occurrence."""
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    idx = np.flatnonzero(counts[inverse] > 1)
    groups: dict[int, list[int]] = {}
    for i in idx:
        groups.setdefault(int(key[i]), []).append(int(i))
    out: list[Problem] = []
    for members in groups.values():
        member_lines: list[int] = [int(where.lines[rows[k]]) for k in members]
        for k, line in zip(members, member_lines, strict=True):
            others = sorted({m for m in member_lines if m != line}) or [line]
            listed = ", ".join(str(m) for m in others[:MAX_LISTED])
            out.append(Problem(where.file, where.sheet, line, column(k), label(k),
                               f"one row per indicator, territory and period; the same key "
                               f"is also on line {listed}", kind="duplicate"))
    out.sort(key=lambda p: (p.line or 0, p.column or ""))
    return out


def empty_problem(file: str, sheet: str | None, line: int | None, detail: str = "") -> Problem:
    return Problem(file, sheet, line, None, None, f"at least one data row{detail}", kind="empty")


def first_rows(index: np.ndarray, count: int) -> np.ndarray:
    """First row where each factorised value appears."""
    first = np.full(count, -1, dtype=np.int64)
    order = np.arange(len(index))[::-1]
    first[index[::-1]] = order
    return first
