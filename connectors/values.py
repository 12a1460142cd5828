"""Cell text read as numbers: the convention's decimal and thousands marks, its secret
markers, and the status (published, secret, missing, provisional) each cell ends with.

Vectorised with Arrow over whole columns; only failing cells are looked at one by one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from veille.model import FileSpec

OK, SECRET, MISSING, PROVISIONAL = range(4)
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_LESS_THAN = r"^<\d+([.,]\d+)?$"


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
    if spec.secret_numbers:  # a numeric code for "unpublished": no value, never a zero
        coded = np.isin(out, np.asarray(spec.secret_numbers, dtype=float))
        secret |= coded
        out[coded] = np.nan
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
    markers = ", ".join(["an empty cell" if m == "" else f"'{m}'" for m in spec.secret_markers]
                        + [f"{n:g}" for n in spec.secret_numbers])
    return f"a number ({'; '.join(parts)}) or a secret marker ({markers})"


@dataclass
class CellStatus:
    """Status per cell, and the value/numerator/denominator masks of unparsable text."""

    code: np.ndarray
    bad: list[np.ndarray]

    @staticmethod
    def combine(parts: list[tuple[Numbers, Numbers, Numbers]], row_status: np.ndarray
                ) -> CellStatus:
        value = np.concatenate([p[0].secret for p in parts])
        empty = np.concatenate([p[0].empty for p in parts])
        code = row_status.astype(np.int8, copy=True)
        code[empty & ~value & (code != SECRET)] = MISSING
        code[value] = SECRET
        bad = [np.concatenate([p[i].bad for p in parts]) for i in range(3)]
        return CellStatus(code, bad)


def take(numbers: Numbers, rows: np.ndarray | slice) -> Numbers:
    return Numbers(numbers.values[rows], numbers.secret[rows], numbers.empty[rows],
                   numbers.bad[rows])
