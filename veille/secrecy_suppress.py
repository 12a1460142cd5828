"""Secondary suppression: hide the cheapest published cells until every primary cell's
feasible interval is at least its protection level.

An audit-and-repair loop over all linked tables at once (the relations of
``veille.secrecy_relations``): the feasible interval of every primary cell is solved with
HiGHS (``veille.secrecy_intervals``); for a cell still too narrow, the relations binding it
at its optimum (non-zero duals) name the published cells that pin it, and the cheapest of
them (information loss = the value hidden; a rate costs its numerator) is hidden. Repeat
until no primary cell is under-protected. Every choice is sorted by (cost, indicator,
territory, period), so the same data gives the same mask on every run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from veille.secrecy_intervals import Interval, active, intervals
from veille.secrecy_relations import Cells, Relation

MAX_ROUNDS = 200


@dataclass
class Outcome:
    hidden: np.ndarray
    secondary: list[int] = field(default_factory=list)
    rounds: int = 0
    under: list[Interval] = field(default_factory=list)   # left under-protected (none, normally)


def cost_of(cells: Cells, numerator_of: dict[int, int]) -> np.ndarray:
    """Information lost by hiding each cell: its value; a rate, its numerator's."""
    cost = np.nan_to_num(cells.values.copy(), nan=0.0)
    for rate, num in numerator_of.items():
        cost[rate] = 0.0 if math.isnan(cells.values[num]) else cells.values[num]
    cost[~cells.additive & ~np.isin(np.arange(len(cost)), list(numerator_of))] = 1.0
    return np.maximum(cost, 0.0)


def under_protected(cells: Cells, hidden: np.ndarray, protection: np.ndarray,
                    targets: list[int], cache: dict | None = None
                    ) -> tuple[list[Interval], dict[int, list[Relation]]]:
    found = intervals(cells, hidden, targets, cache, protection)
    under = [iv for v, (iv, _) in sorted(found.items()) if iv.width < protection[v] - 1e-6]
    return under, {v: rels for v, (_, rels) in found.items()}


def protect(cells: Cells, primary: np.ndarray, protection: np.ndarray,
            cost: np.ndarray, kept: np.ndarray | None = None) -> Outcome:
    """Hidden cells (primary + secondary) leaving no primary cell under-protected;
    ``kept`` cells are hidden from the start (an earlier version hid them)."""
    hidden = primary | kept if kept is not None else primary.copy()
    hidden |= np.isnan(cells.values)   # no value to publish: never a candidate to hide
    targets = [int(i) for i in np.flatnonzero(primary & cells.additive & (protection > 0))]
    order = sorted(range(len(cells.keys)), key=lambda i: cells.keys[i])
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    by_cell: dict[int, list[int]] = {}
    for k, r in enumerate(cells.relations):
        for c in (*r.cells, *((r.gate,) if r.gate is not None else ())):
            by_cell.setdefault(c, []).append(k)
    ident = {id(r): k for k, r in enumerate(cells.relations)}
    out = Outcome(hidden)
    cache: dict = {}
    for rounds in range(1, MAX_ROUNDS + 1):
        out.rounds = rounds
        under, binding = under_protected(cells, hidden, protection, targets, cache)
        if not under:
            out.under = []
            return out
        touched: set[int] = set()
        picked_any = False
        for iv in under:
            rels = binding[iv.cell] or [r for r in active(cells.relations, hidden)
                                        if iv.cell in r.cells]
            if any(ident[id(r)] in touched for r in rels):
                continue   # a cell hidden this round already changes this one's interval
            pick = _cheapest(rels, hidden, cost, rank)
            if pick is None:
                continue
            hidden[pick] = True
            out.secondary.append(pick)
            touched.update(by_cell.get(pick, ()))
            picked_any = True
        if not picked_any:
            out.under = under
            return out
    out.under = under_protected(cells, hidden, protection, targets, cache)[0]
    return out


def _cheapest(rels: list[Relation], hidden: np.ndarray, cost: np.ndarray,
              rank: np.ndarray) -> int | None:
    candidates = {c for r in rels for c in r.cells if not hidden[c]}
    candidates |= {r.gate for r in rels if r.gate is not None and not hidden[r.gate]}
    if not candidates:
        return None
    return min(candidates, key=lambda c: (cost[c], rank[c]))
