"""Periods of observation: one canonical label per period, so every stage agrees on keys.

Labels are ``YYYY`` (annual), ``YYYY-Qn`` (quarterly) and ``YYYY-MM`` (monthly). They sort
lexicographically within a periodicity, and map to an integer ordinal for arithmetic.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum


class Periodicity(StrEnum):
    """How often a convention delivers an indicator."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"

    @property
    def per_year(self) -> int:
        return {"monthly": 12, "quarterly": 4, "annual": 1}[self.value]

    @property
    def label_fr(self) -> str:
        return {"monthly": "mensuelle", "quarterly": "trimestrielle", "annual": "annuelle"}[
            self.value
        ]


_PATTERNS = {
    Periodicity.ANNUAL: re.compile(r"^(\d{4})$"),
    Periodicity.QUARTERLY: re.compile(r"^(\d{4})-Q([1-4])$"),
    Periodicity.MONTHLY: re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
}


class PeriodError(ValueError):
    """A period label that does not fit the expected periodicity."""


def periodicity_of(label: str) -> Periodicity:
    """Return the periodicity a label is written in."""
    for periodicity, pattern in _PATTERNS.items():
        if pattern.match(label):
            return periodicity
    raise PeriodError(f"'{label}' is not a period label (expected YYYY, YYYY-Qn or YYYY-MM)")


def ordinal(label: str) -> int:
    """Number of periods since year 0, in the label's own periodicity."""
    periodicity = periodicity_of(label)
    year = int(label[:4])
    if periodicity is Periodicity.ANNUAL:
        return year
    sub = int(label[6:]) if periodicity is Periodicity.QUARTERLY else int(label[5:])
    return year * periodicity.per_year + sub - 1


def from_ordinal(value: int, periodicity: Periodicity) -> str:
    """Inverse of :func:`ordinal`."""
    if periodicity is Periodicity.ANNUAL:
        return f"{value:04d}"
    year, sub = divmod(value, periodicity.per_year)
    if periodicity is Periodicity.QUARTERLY:
        return f"{year:04d}-Q{sub + 1}"
    return f"{year:04d}-{sub + 1:02d}"


def shift(label: str, steps: int) -> str:
    """The period ``steps`` periods after (or before, if negative) ``label``."""
    return from_ordinal(ordinal(label) + steps, periodicity_of(label))


def period_range(first: str, last: str) -> list[str]:
    """All labels from ``first`` to ``last`` inclusive."""
    periodicity = periodicity_of(first)
    if periodicity_of(last) is not periodicity:
        raise PeriodError(f"'{first}' and '{last}' have different periodicities")
    return [from_ordinal(o, periodicity) for o in range(ordinal(first), ordinal(last) + 1)]


def season_of(label: str) -> int:
    """Position within the year (0-based): month or quarter index; 0 for annual."""
    periodicity = periodicity_of(label)
    return ordinal(label) % periodicity.per_year if periodicity is not Periodicity.ANNUAL else 0


def end_date(label: str) -> dt.date:
    """Last day of the period, from which delivery lags are counted."""
    periodicity = periodicity_of(label)
    nxt = shift(label, 1)
    year = int(nxt[:4])
    if periodicity is Periodicity.ANNUAL:
        start = dt.date(year, 1, 1)
    elif periodicity is Periodicity.QUARTERLY:
        start = dt.date(year, 3 * (int(nxt[6:]) - 1) + 1, 1)
    else:
        start = dt.date(year, int(nxt[5:]), 1)
    return start - dt.timedelta(days=1)


def last_closed(periodicity: Periodicity, today: dt.date) -> str:
    """The most recent period that has ended on ``today``."""
    if periodicity is Periodicity.ANNUAL:
        return f"{today.year - 1:04d}"
    if periodicity is Periodicity.QUARTERLY:
        current = today.year * 4 + (today.month - 1) // 3
        return from_ordinal(current - 1, periodicity)
    return from_ordinal(today.year * 12 + today.month - 1 - 1, periodicity)


def label_fr(label: str) -> str:
    """French label for readers: 'mars 2024', '1er trimestre 2024', '2e trimestre 2024',
    '2024'."""
    periodicity = periodicity_of(label)
    if periodicity is Periodicity.ANNUAL:
        return label
    if periodicity is Periodicity.QUARTERLY:
        rank = "1er" if label[6] == "1" else f"{label[6]}e"
        return f"{rank} trimestre {label[:4]}"
    months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
              "septembre", "octobre", "novembre", "décembre"]
    return f"{months[int(label[5:]) - 1]} {label[:4]}"
