"""A table's territory column(s) resolved to the catalog's codes, through the convention's
code table, prefix and zero padding, or by name (``territory.match: name``), then the
old codes of merged communes (catalog/former_codes.csv) when the convention maps them.

A code (or name) of a real territory outside the workspace, listed in the catalog's
``known_codes.csv``, is not an error: its rows are skipped and counted. A code that exists
nowhere still stops the file."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from connectors.names import place_key
from connectors.validate import (
    MAX_LISTED,
    Problem,
    allowed_territories,
    first_rows,
    territory_problem,
)
from veille.catalog import Catalog
from veille.model import Convention


@dataclass
class Resolved:
    """Per row: the final code, whether it is valid, whether it is skipped (outside)."""

    code: np.ndarray
    valid: np.ndarray
    skipped: np.ndarray
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def resolve_territories(frame: pd.DataFrame, lines: np.ndarray, conv: Convention,
                        catalog: Catalog, file: str, sheet: str | None,
                        former: Counter[str] | None = None) -> Resolved:
    """Final code and validity per row; one problem per distinct refused code. Rows read
    through a merged commune's old code are counted in ``former``, keyed "old -> today"."""
    mapping = conv.territory
    cols = mapping.source_columns
    raw = frame[cols[0]].str.strip()
    for col in cols[1:]:
        raw = raw + frame[col].str.strip()
    index, uniques = pd.factorize(raw)
    allowed = allowed_territories(catalog, conv.geography)
    counts = np.bincount(index, minlength=len(uniques))
    by_name = _names(catalog, allowed) if mapping.match == "name" else {}
    finals: list[str] = []
    valid = np.zeros(len(uniques), dtype=bool)
    outside = np.zeros(len(uniques), dtype=bool)
    ambiguous: dict[int, list[str]] = {}
    for u, value in enumerate(uniques):
        code = mapping.codes.get(value)
        if code is None and mapping.match == "name":
            hits = by_name.get(place_key(value), [])
            inside = [c for c in hits if c in allowed]
            if len(inside) > 1:
                ambiguous[u] = inside
            # one territory of the workspace wins; names only outside it are skipped
            code = inside[0] if len(inside) == 1 else hits[0] if hits else value
        elif code is None:
            padded = value.zfill(mapping.zfill) if mapping.zfill and value else value
            code = mapping.codes.get(mapping.prefix + padded, mapping.prefix + padded)
        today = catalog.former_codes.get(code) if code not in allowed else None
        if today is not None and conv.former_codes == "map":
            if former is not None:
                former[f"{code} -> {today}"] += int(counts[u])
            code = today
        finals.append(code)
        valid[u] = code in allowed and u not in ambiguous
        outside[u] = (not valid[u] and u not in ambiguous and code not in catalog.territories
                      and code in catalog.known_codes and code not in catalog.former_codes)
    out = Resolved(np.asarray(finals, dtype=object)[index], valid[index], outside[index])
    first = first_rows(index, len(uniques))
    for w in (int(i) for i in np.flatnonzero(~valid & ~outside)):
        line, column, others = int(lines[first[w]]), "+".join(cols), int(counts[w]) - 1
        if w in ambiguous:
            out.problems.append(_ambiguous(catalog, uniques[w], ambiguous[w], file, sheet,
                                           line, column, others))
        elif mapping.match == "name" and finals[w] == uniques[w]:
            out.problems.append(Problem(
                file, sheet, line, column, uniques[w],
                f"a territory name of the catalog at {conv.geography.value} level or above "
                "(compared without accents, case, hyphens, 'Saint'/'St' or leading article); "
                "no territory has this name: add it to territory.codes"
                + (f" (same name on {others} other row(s))" if others else ""),
                kind="unknown_territory"))
        else:
            out.problems.append(territory_problem(catalog, conv, finals[w], uniques[w], file,
                                                  sheet, line, column, others))
    if outside.any():
        out.notes.append(_outside_note(catalog, [finals[w] for w in np.flatnonzero(outside)],
                                       int(counts[outside].sum())))
    return out


def _names(catalog: Catalog, allowed: set[str]) -> dict[str, list[str]]:
    """Codes by name key: the workspace's territories the convention may deliver, then the
    real territories outside it (known_codes.csv)."""
    out: dict[str, list[str]] = {}
    for code in sorted(allowed):
        out.setdefault(place_key(catalog.territories[code].name), []).append(code)
    for code, known in catalog.known_codes.items():
        if code not in catalog.territories and known.label:
            out.setdefault(place_key(known.label), []).append(code)
    return out


def _ambiguous(catalog: Catalog, name: str, codes: list[str], file: str, sheet: str | None,
               line: int, column: str, others: int) -> Problem:
    def label(code: str) -> str:
        known = catalog.territories.get(code)
        shown = known.name if known else catalog.known_codes[code].label
        return f"{code} {shown}"
    also = f" (same name on {others} other row(s))" if others else ""
    return Problem(file, sheet, line, column, name,
                   f"a name that designates one territory; it matches "
                   f"{', '.join(label(c) for c in codes[:MAX_LISTED])}: map it to its code in "
                   f"territory.codes{also}", kind="ambiguous_territory")


def _outside_note(catalog: Catalog, codes: list[str], rows: int) -> str:
    kinds = Counter(catalog.known_codes[c].kind or "?" for c in codes)
    listed = ", ".join(f"{c} {catalog.known_codes[c].label}".strip() for c in codes[:5])
    more = f" et {len(codes) - 5} autres / and {len(codes) - 5} more" if len(codes) > 5 else ""
    by_kind = ", ".join(f"{n} {k}" for k, n in kinds.most_common())
    return (f"{rows} ligne(s) ignorée(s) : {len(codes)} territoire(s) réel(s) hors de l'espace "
            f"de travail ({by_kind}) / {rows} row(s) skipped: {len(codes)} real territories "
            f"outside the workspace ({listed}{more})")
