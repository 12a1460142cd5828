"""Feasible intervals of hidden cells: what an attacker can deduce, by linear programming.

For a set of hidden cells, everything published is a constant; each hidden cell is an
unknown >= 0 tied to the others by the relations of ``veille.secrecy_relations``. The
smallest and largest value a hidden cell can take under all of them (two LPs per cell,
solved with HiGHS through ``highspy``, the model built once per connected component and
re-solved warm with a new objective) is its feasible interval. A cell is protected when
that interval is at least its protection level wide.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import highspy
import numpy as np

from veille.secrecy_relations import Cells, Relation

INF = math.inf


@dataclass(frozen=True)
class Interval:
    cell: int
    lower: float
    upper: float

    @property
    def width(self) -> float:
        return self.upper - self.lower


def active(relations: Iterable[Relation], hidden: np.ndarray) -> list[Relation]:
    """Relations a reader can use: those with a hidden cell, whose gate is published."""
    return [r for r in relations
            if (r.gate is None or not hidden[r.gate]) and any(hidden[c] for c in r.cells)]


def components(relations: list[Relation], hidden: np.ndarray
               ) -> list[tuple[list[int], list[Relation]]]:
    """Hidden cells grouped by the relations that link them, with those relations."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in relations:
        vars_ = [c for c in r.cells if hidden[c]]
        root = find(vars_[0])
        for v in vars_[1:]:
            other = find(v)
            if other != root:
                parent[max(other, root)] = min(other, root)
                root = min(other, root)
    groups: dict[int, tuple[list[int], list[Relation]]] = defaultdict(lambda: ([], []))
    for v in sorted(parent):
        groups[find(v)][0].append(v)
    for r in relations:
        groups[find(next(c for c in r.cells if hidden[c]))][1].append(r)
    return [groups[k] for k in sorted(groups)]


class Component:
    """One connected component as a HiGHS model, re-solved per hidden cell."""

    def __init__(self, variables: list[int], relations: list[Relation], cells: Cells,
                 hidden: np.ndarray) -> None:
        self.variables = variables
        self.relations = relations
        col = {v: j for j, v in enumerate(variables)}
        lows, ups = [], []
        entries: list[list[tuple[int, float]]] = [[] for _ in variables]
        for i, r in enumerate(relations):
            const = 0.0
            for c, a in zip(r.cells, r.coefs, strict=True):
                if hidden[c]:
                    entries[col[c]].append((i, a))
                else:
                    const += a * cells.values[c]
            lows.append(-highspy.kHighsInf if r.lower == -INF else r.lower - const)
            ups.append(highspy.kHighsInf if r.upper == INF else r.upper - const)
        self.col = col
        self.single = (entries, lows[0], ups[0]) if len(relations) == 1 else None
        if self.single is not None:
            return
        lp = highspy.HighsLp()
        lp.num_col_ = len(variables)
        lp.num_row_ = len(relations)
        lp.col_cost_ = np.zeros(len(variables))
        lp.col_lower_ = np.zeros(len(variables))
        lp.col_upper_ = np.full(len(variables), highspy.kHighsInf)
        lp.row_lower_ = np.array(lows, dtype=float)
        lp.row_upper_ = np.array(ups, dtype=float)
        start, index, value = [0], [], []
        for column in entries:
            for i, a in column:
                index.append(i)
                value.append(a)
            start.append(len(index))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.array(start, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(value, dtype=float)
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("presolve", "off")
        self.highs.passModel(lp)
        self._cost = -1
        # every optimum is a feasible point: the values each cell took at them bound its
        # interval from inside, often enough to show it wide enough without solving
        self.low_seen = np.full(len(variables), INF)
        self.high_seen = np.full(len(variables), -INF)

    def _optimum(self, j: int, sense: highspy.ObjSense) -> tuple[float, list[float]]:
        h = self.highs
        if self._cost != j:
            if self._cost >= 0:
                h.changeColCost(self._cost, 0.0)
            h.changeColCost(j, 1.0)
            self._cost = j
        h.changeObjectiveSense(sense)
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            solution = h.getSolution()
            point = np.asarray(solution.col_value)
            np.minimum(self.low_seen, point, out=self.low_seen)
            np.maximum(self.high_seen, point, out=self.high_seen)
            return float(h.getInfo().objective_function_value), list(solution.row_dual)
        # unbounded, or infeasible data (a relation the true values do not satisfy):
        # nothing deducible
        return (INF if sense == highspy.ObjSense.kMaximize else 0.0), []

    def _one_row(self, j: int) -> tuple[float, float]:
        """One relation ``L <= sum(a x) <= U``, x >= 0: the interval in closed form."""
        assert self.single is not None
        entries, low, up = self.single
        a = entries[j][0][1]
        others = [col[0][1] for k, col in enumerate(entries) if k != j]
        pos = INF if any(b > 0 for b in others) else 0.0
        neg = -INF if any(b < 0 for b in others) else 0.0
        ends = sorted(((low - pos) / a, (up - neg) / a))
        return max(0.0, ends[0]), ends[1]

    def interval(self, cell: int, enough: float = INF) -> tuple[Interval, set[int]]:
        """The cell's feasible interval and the relations binding it at either end.

        Once the feasible points already seen span ``enough``, the interval returned is
        theirs: inside the true one, and wide enough (no binding relation is needed then)."""
        j = self.col[cell]
        if self.single is not None:
            low, high = self._one_row(j)
            return Interval(cell, low, high), ({0} if high < INF else set())
        if self.high_seen[j] - self.low_seen[j] >= enough:
            return Interval(cell, float(self.low_seen[j]), float(self.high_seen[j])), set()
        high, dual_high = self._optimum(j, highspy.ObjSense.kMaximize)
        if high == INF:   # unbounded above: the width is infinite whatever the lower end
            return Interval(cell, 0.0, INF), set()
        if high - self.low_seen[j] >= enough:
            return Interval(cell, float(self.low_seen[j]), high), set()
        low, dual_low = self._optimum(j, highspy.ObjSense.kMinimize)
        binding = {i for duals in (dual_low, dual_high) for i, d in enumerate(duals)
                   if abs(d) > 1e-9}
        return Interval(cell, max(0.0, low), high), binding


Found = dict[int, tuple[Interval, list[Relation]]]


def intervals(cells: Cells, hidden: np.ndarray, targets: Iterable[int],
              cache: dict[tuple, Found] | None = None,
              enough: np.ndarray | None = None) -> Found:
    """Feasible interval of each target (a hidden cell), with the relations binding it.

    With ``enough`` (a width per cell: the protection levels), a target shown to be at
    least that wide gets an interval inside its true one, at less cost; the others, the
    exact interval.

    A cell whose value nobody knows (a roll-up of a secret part: no value, status
    ``missing``) is shown to no one, so it is an unknown too, never a constant.

    ``cache`` keeps each component's answers across calls: a component whose cells and
    relations did not change is not solved again (secondary suppression re-audits after
    every round)."""
    wanted = sorted(set(targets))
    wanted_set = set(wanted)
    hidden = hidden | np.isnan(cells.values)
    rels = active(cells.relations, hidden)
    out: dict[int, tuple[Interval, list[Relation]]] = {}
    linked: set[int] = set()
    for variables, comp_rels in components(rels, hidden):
        todo = [v for v in variables if v in wanted_set]
        if not todo:
            continue
        signature = (tuple(variables), tuple(id(r) for r in comp_rels))
        known = cache.get(signature) if cache is not None else None
        if known is None:
            known = {}
            model = Component(variables, comp_rels, cells, hidden)
            for v in todo:
                found, binding = model.interval(v, INF if enough is None else enough[v])
                known[v] = (found, [comp_rels[i] for i in sorted(binding)])
            if cache is not None:
                cache[signature] = known
        out.update(known)
        linked.update(todo)
    for v in wanted:
        if v not in linked:
            out[v] = (Interval(v, 0.0, INF), [])
    return out
