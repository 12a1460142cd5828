"""A table's territory column(s) resolved to the catalog's codes, through the convention's
code table, prefix and zero padding."""

from __future__ import annotations

import numpy as np
import pandas as pd

from connectors.validate import Problem, allowed_territories, first_rows, territory_problem
from veille.catalog import Catalog
from veille.model import Convention


def resolve_territories(frame: pd.DataFrame, lines: np.ndarray, conv: Convention,
                        catalog: Catalog, file: str, sheet: str | None
                        ) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """Final code and validity per row; one problem per distinct refused code."""
    mapping = conv.territory
    cols = mapping.source_columns
    raw = frame[cols[0]].str.strip()
    for col in cols[1:]:
        raw = raw + frame[col].str.strip()
    index, uniques = pd.factorize(raw)
    allowed = allowed_territories(catalog, conv.geography)
    finals, valid = [], np.zeros(len(uniques), dtype=bool)
    for u, value in enumerate(uniques):
        code = mapping.codes.get(value)
        if code is None:
            padded = value.zfill(mapping.zfill) if mapping.zfill and value else value
            code = mapping.codes.get(mapping.prefix + padded, mapping.prefix + padded)
        finals.append(code)
        valid[u] = code in allowed
    problems: list[Problem] = []
    if not valid.all():
        counts = np.bincount(index, minlength=len(uniques))
        first = first_rows(index, len(uniques))
        for w in np.flatnonzero(~valid):
            problems.append(territory_problem(
                catalog, conv, finals[w], uniques[w], file, sheet, int(lines[first[w]]),
                "+".join(cols), int(counts[w]) - 1))
    return np.asarray(finals, dtype=object)[index], valid[index], problems
