"""False-alarm control over one delivery wave, and de-duplication against parent findings.

Benjamini-Hochberg runs over every test of the wave: the tests the screen dropped enter with
p = 1 (they count in m), so screening can never inflate the false discovery rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from statsmodels.stats.multitest import multipletests


def benjamini_hochberg(pvalues: np.ndarray, q: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Reject flags and BH q-values; NaN entries are not tests (not rejected, q = NaN)."""
    p = np.asarray(pvalues, dtype=float)
    reject = np.zeros(p.shape, dtype=bool)
    qvalues = np.full(p.shape, np.nan)
    tested = np.isfinite(p)
    if tested.any():
        rej, qv, _, _ = multipletests(np.clip(p[tested], 0.0, 1.0), alpha=q, method="fdr_bh")
        reject[tested] = rej
        qvalues[tested] = qv
    return reject, qvalues


def bh_threshold(pvalues: np.ndarray, q: float = 0.05) -> float:
    """Largest p-value BH would reject at ``q`` (0.0 when it rejects nothing)."""
    p = np.sort(np.asarray(pvalues, dtype=float)[np.isfinite(pvalues)])
    if p.size == 0:
        return 0.0
    below = np.flatnonzero(p <= q * np.arange(1, p.size + 1) / p.size)
    return float(p[below[-1]]) if below.size else 0.0


def link_to_parents(
    series: Sequence[int],
    kinds: Sequence[str],
    directions: Sequence[int],
    parent: np.ndarray,
) -> list[int | None]:
    """For each finding, the index of its parent territory's finding telling the same news.

    Same indicator and period are implied (one batch row per indicator x territory, one
    period per wave); the direction must match. A finding of the same kind is preferred,
    then the parent's most relevant one in list order. Gap findings are never explained by
    the parent: a gap is news about the neighbourhood relative to it.
    """
    by_series: dict[int, list[int]] = {}
    for idx, s in enumerate(series):
        by_series.setdefault(int(s), []).append(idx)
    out: list[int | None] = []
    for s, kind, direction in zip(series, kinds, directions, strict=True):
        par = int(parent[int(s)])
        found: int | None = None
        if par >= 0 and kind != "gap_widening":
            same_dir = [
                j
                for j in by_series.get(par, [])
                if directions[j] == direction and kinds[j] != "gap_widening"
            ]
            same_kind = [j for j in same_dir if kinds[j] == kind]
            pick = same_kind or same_dir
            found = pick[0] if pick else None
        out.append(found)
    return out
