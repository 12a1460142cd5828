"""Which column of a sample table holds what: the territory (its values matched against
the workspace tree's codes, or its names), the period (a column, else the file name), a
status column flagging unpublished values, and the numeric columns (value candidates),
with the decimal mark and the secret markers the numbers are written with.

Work is vectorised over distinct values; at most ``MAX_ROWS`` rows are looked at."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from connectors.names import place_key, plain
from connectors.values import parse_numbers
from veille.catalog import Catalog
from veille.model import FileSpec, PeriodMapping

MAX_ROWS = 200_000
MAX_DISTINCT = 20_000
_PERIOD = re.compile(PeriodMapping.model_fields["pattern"].default)
_PERIOD_WORDS = ("annee", "year", "date", "period", "millesime", "mois", "trimestre", "an")
_SECRET_WORDS = {"ndiff", "nd", "n.d.", "secret", "s", "c", "confidentiel", "nc", "n.c.",
                 "non diffuse", "non diffusable", "sec"}
FILENAME_YEAR = r"(?<!\d)(?P<year>(?:19|20)\d{2})(?!\d)"


@dataclass
class TerritoryRole:
    column: str
    match: str  # "code" or "name"
    geography: str
    zfill: int | None
    matched: int
    distinct: int
    codes: dict[str, str] = field(default_factory=dict)
    """Names the tree does not hold as written, mapped to the one name they begin with
    (INSEE's extracts cut long names: 'Saint-Clément-de-Rivièr')."""


@dataclass
class PeriodRole:
    column: str | None
    periodicity: str
    labels: list[str] = field(default_factory=list)
    pattern: str | None = None  # from the file name


@dataclass
class StatusRole:
    column: str
    secret: list[str]


@dataclass
class NumberColumn:
    name: str
    numbers: int
    secret: int
    integers: bool
    minimum: float
    maximum: float
    markers: list[str]


def sample(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.head(MAX_ROWS)


def distinct(series: pd.Series) -> list[str]:
    values = pd.unique(series.str.strip())
    return [v for v in values[:MAX_DISTINCT] if v]


def decimal_mark(frame: pd.DataFrame, separator: str | None) -> str:
    """',' when more cells read 12,5 than 12.5; else '.' if any cell is 12.5, else the
    mark that cannot be the separator."""
    head = frame.head(2000)
    comma = dot = 0
    for column in head.columns:
        text = head[column].str.strip()
        comma += int(text.str.fullmatch(r"-?\d+,\d+").sum())
        dot += int(text.str.fullmatch(r"-?\d+\.\d+").sum())
    if comma > dot:
        return ","
    if dot:
        return "."
    return "." if separator == "," else ","


def territory_role(frame: pd.DataFrame, catalog: Catalog) -> TerritoryRole | None:
    """The column whose distinct values match the most territories of the tree (or real
    ones outside it), by code, by zero-padded code, else by name."""
    kinds = {c: t.kind.value for c, t in catalog.territories.items()}
    for code, known in catalog.known_codes.items():
        kinds.setdefault(code, "commune" if known.kind == "former_commune" else known.kind)
    for code in catalog.former_codes:
        kinds.setdefault(code, "commune")
    names: dict[str, str] = {}
    for code, known in catalog.known_codes.items():
        if known.label and known.kind != "former_commune":
            names.setdefault(place_key(known.label), code)
    for code, territory in catalog.territories.items():
        names[place_key(territory.name)] = code
    best: TerritoryRole | None = None
    for column in frame.columns:
        values = distinct(frame[column])
        if not values:
            continue
        found = _by_code(values, kinds)
        zfill = None
        if all(v.isdigit() and len(v) < 5 for v in values[:200]):
            padded = _by_code([v.zfill(5) for v in values], kinds)
            if len(padded) > len(found):
                found, zfill = padded, 5
        match = "code"
        cut: dict[str, str] = {}
        if not found:
            found = [names[k] for k in (place_key(v) for v in values) if k in names]
            match = "name"
            if found:
                cut = _cut_names([v for v in values if place_key(v) not in names], names)
        if not found:
            continue
        geography = pd.Series([kinds[c] for c in found]).mode().iat[0]
        role = TerritoryRole(column, match, geography, zfill, len(found) + len(cut),
                             len(values), cut)
        if best is None or (role.matched, role.match == "code") > (best.matched,
                                                                    best.match == "code"):
            best = role
    return best


def _cut_names(unmatched: list[str], names: dict[str, str]) -> dict[str, str]:
    """Each unmatched name that begins exactly one name of the tree (at most 50 looked at)."""
    out = {}
    for value in unmatched[:50]:
        key = place_key(value)
        hits = {code for name, code in names.items() if name.startswith(key)} if key else set()
        if len(hits) == 1:
            out[value] = hits.pop()
    return out


def _by_code(values: list[str], kinds: dict[str, str]) -> list[str]:
    return [v for v in values if v in kinds]


def period_role(frame: pd.DataFrame, filename: str, skip: set[str]) -> PeriodRole | None:
    """A column whose every value reads as a period (a year, 2024-T1, 2024-03) and that
    is named like one or repeats; else the last year in the file name."""
    candidates = []
    for column in frame.columns:
        if column in skip:
            continue
        values = distinct(frame[column])
        if not values or len(values) > 600:
            continue
        matches = [_PERIOD.fullmatch(v) for v in values]
        if not all(m and 1950 <= int(m["year"]) <= 2100 for m in matches):
            continue
        named = any(w == plain(column) or w in re.split(r"[\W_]+", plain(column))
                    for w in _PERIOD_WORDS)
        if not named and len(values) * 2 > len(frame):
            continue
        groups = [m.groupdict() for m in matches if m]
        periodicity = ("quarterly" if any(g["quarter"] for g in groups) else
                       "monthly" if any(g["month"] for g in groups) else "annual")
        candidates.append((named, PeriodRole(column, periodicity, sorted(values))))
    if candidates:
        return max(candidates, key=lambda c: c[0])[1]
    years = re.findall(FILENAME_YEAR, filename)
    if years:
        return PeriodRole(None, "annual", [years[-1]], FILENAME_YEAR)
    return None


def status_role(frame: pd.DataFrame, skip: set[str]) -> StatusRole | None:
    """A column of a few words, one of which says "not published" (ndiff, secret, nd)."""
    for column in frame.columns:
        if column in skip:
            continue
        values = distinct(frame[column].head(MAX_ROWS))
        if not 2 <= len(values) <= 6:
            continue
        secret = [v for v in values if plain(v) in _SECRET_WORDS]
        if secret and len(secret) < len(values):
            return StatusRole(column, secret)
    return None


def number_columns(frame: pd.DataFrame, decimal: str, skip: set[str]) -> list[NumberColumn]:
    """Columns mostly of numbers (in the file's decimal mark) that vary and are not codes;
    the few words found among the numbers are their secret markers."""
    spec = FileSpec(decimal=decimal, secret_markers=[""])
    out = []
    for column in frame.columns:
        if column in skip or plain(column).startswith(("code", "id ", "siren", "insee")):
            continue
        parsed = parse_numbers(frame[column], spec)
        numbers = np.isfinite(parsed.values)
        filled = int((~parsed.empty).sum())
        if not numbers.any() or numbers.sum() < 0.5 * filled:
            continue
        values = parsed.values[numbers]
        if values.min() == values.max() and not parsed.empty.any():
            continue  # a constant: a code of the file, not a measure
        words = sorted(set(frame[column][parsed.bad].str.strip()))
        if len(words) > 5 or any(len(w) > 12 for w in words):
            continue
        markers = ([""] if parsed.empty.any() else []) + words
        out.append(NumberColumn(column, int(numbers.sum()), int(parsed.empty.sum()
                                                                  + parsed.bad.sum()),
                                bool(np.all(values == np.round(values))),
                                float(values.min()), float(values.max()), markers))
    return out


def is_label_of(frame: pd.DataFrame, column: str, keys: list[str]) -> bool:
    """True when ``column`` takes one value per value of ``keys`` (a name beside a code)."""
    if not keys:
        return False
    return bool((frame.groupby(keys, sort=False)[column].nunique() <= 1).all())
