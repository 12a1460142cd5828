"""A table's territory column(s) resolved to the catalog's codes, through the convention's
code table, prefix and zero padding, then the old codes of merged communes
(catalog/former_codes.csv) when the convention maps them."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from connectors.validate import Problem, allowed_territories, first_rows, territory_problem
from veille.catalog import Catalog
from veille.model import Convention


def resolve_territories(frame: pd.DataFrame, lines: np.ndarray, conv: Convention,
                        catalog: Catalog, file: str, sheet: str | None,
                        former: Counter[str] | None = None
                        ) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
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
    finals, valid = [], np.zeros(len(uniques), dtype=bool)
    for u, value in enumerate(uniques):
        code = mapping.codes.get(value)
        if code is None:
            padded = value.zfill(mapping.zfill) if mapping.zfill and value else value
            code = mapping.codes.get(mapping.prefix + padded, mapping.prefix + padded)
        today = catalog.former_codes.get(code) if code not in allowed else None
        if today is not None and conv.former_codes == "map":
            if former is not None:
                former[f"{code} -> {today}"] += int(counts[u])
            code = today
        finals.append(code)
        valid[u] = code in allowed
    problems: list[Problem] = []
    if not valid.all():
        first = first_rows(index, len(uniques))
        for w in np.flatnonzero(~valid):
            problems.append(territory_problem(
                catalog, conv, finals[w], uniques[w], file, sheet, int(lines[first[w]]),
                "+".join(cols), int(counts[w]) - 1))
    return np.asarray(finals, dtype=object)[index], valid[index], problems
