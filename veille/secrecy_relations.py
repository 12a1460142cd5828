"""The linear relations a reader can combine to recover a hidden value.

Every published value is a constant to an attacker, every hidden one an unknown, and these
relations tie them together (DESIGN.md, principle 5):

* **territory tree**: a parent count is the sum of its children that partition it (IRIS ->
  quartier -> commune -> EPCI -> département; QPV are not part of any partition). A child
  that is not in the data makes the relation an inequality (parent >= the children known);
* **QPV**, which overlap without partitioning: a QPV count is at most its commune's, at
  least the sum of the IRIS it wholly contains and at most the sum of the IRIS it touches
  (``territory_links.csv``);
* **rates**, at the precision they are published: a published rate ``r`` with ``d``
  decimals gives ``(r - h) D <= s N <= (r + h) D`` (``h = 0.5 10^-d``, ``s`` the unit's
  scale), linear in the numerator N and the denominator D, whichever of them is hidden;
  the relation holds only while the rate itself is published (its *gate*);
* **breakdowns**: an indicator whose glossary lists ``parts`` is their sum;
* **periods**: a count published for a year and for its quarters or months is their sum.

The attacker is assumed to know each relation exactly as the true values satisfy it (a
provider's rounding residue included): the worst case, so an audit that passes here passes
for any weaker reader.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from veille.catalog import Catalog
from veille.model import IndicatorKind, TerritoryKind
from veille.periods import Periodicity

INF = math.inf
UNIT_SCALE = {"%": 100.0, "‰": 1000.0}


@dataclass(frozen=True)
class Relation:
    """``lower <= sum(coef * cell) <= upper``; active only while ``gate`` (a rate) is
    published, when there is a gate."""

    cells: tuple[int, ...]
    coefs: tuple[float, ...]
    lower: float
    upper: float
    gate: int | None = None


@dataclass
class Cells:
    """The publication's cells, indexed 0..n-1 in the order of the frame given."""

    keys: list[tuple[str, str, str]]
    values: np.ndarray          # NaN where the value is unknown (a provider's secret)
    additive: np.ndarray        # counts: what protection levels are about
    relations: list[Relation] = field(default_factory=list)

    def index(self) -> dict[tuple[str, str, str], int]:
        return {k: i for i, k in enumerate(self.keys)}


def decimals(value: float) -> int:
    """How many decimals a published figure carries (at most 6)."""
    for d in range(7):
        if abs(round(value, d) - value) < 1e-9 * max(1.0, abs(value)):
            return d
    return 6


def _exact(cells: list[int], coefs: list[float], values: list[float]) -> Relation | None:
    """``sum(coef * cell) = r``, r the true residue; with unknown values in it, the
    relation is kept only if the unknowns can make it hold (else the data is not additive
    and no reader can rely on it)."""
    known, unknown_signs = 0.0, []
    for c, a in zip(cells, coefs, strict=True):
        v = values[c]
        if v != v:  # NaN: unknown
            unknown_signs.append(a)
        else:
            known += a * v
    if not unknown_signs:
        return Relation(tuple(cells), tuple(coefs), known, known)
    rest = -known   # what the unknowns (>= 0) must add up to
    if (rest > 1e-9 and not any(a > 0 for a in unknown_signs)) or (
            rest < -1e-9 and not any(a < 0 for a in unknown_signs)):
        return None
    return Relation(tuple(cells), tuple(coefs), 0.0, 0.0)


def _at_most(cells: list[int], coefs: list[float], values: list[float],
             gate: int | None = None) -> Relation:
    """``sum(coef * cell) <= max(0, r)``: an inequality, loosened to what the truth gives."""
    r = 0.0
    for c, a in zip(cells, coefs, strict=True):
        v = values[c]
        if v != v:
            r = 0.0
            break
        r += a * v
    return Relation(tuple(cells), tuple(coefs), -INF, max(0.0, r) + 1e-9, gate)


def build(frame: pd.DataFrame, catalog: Catalog) -> Cells:
    """Cells and relations of ``frame`` (indicator, territory, period, value)."""
    keys = list(zip(frame["indicator"].astype(str).tolist(),
                    frame["territory"].astype(str).tolist(),
                    frame["period"].astype(str).tolist(), strict=True))
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
    plain = values.tolist()
    kinds = {code: ind.kind for code, ind in catalog.indicators.items()}
    additive = np.array([kinds.get(k[0], IndicatorKind.COUNT) is IndicatorKind.COUNT
                         for k in keys])
    cells = Cells(keys, values, additive)
    at = cells.index()
    by_slice: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, (ind, _ter, per) in enumerate(keys):
        by_slice[(ind, per)].append(i)
    partition: dict[str, list[str]] = defaultdict(list)
    for t in sorted(catalog.territories.values(), key=lambda t: t.code):
        if t.parent is not None and t.kind is not TerritoryKind.QPV:
            partition[t.parent].append(t.code)
    rel = cells.relations
    qpvs = _qpv_geometry(catalog)
    for (ind, per), members in sorted(by_slice.items()):
        if kinds.get(ind, IndicatorKind.COUNT) is not IndicatorKind.COUNT:
            continue
        _tree(rel, at, ind, per, members, keys, partition, plain)
        _qpv(rel, at, ind, per, qpvs, plain)
    _rates(rel, at, keys, plain, catalog)
    _parts(rel, at, keys, plain, catalog)
    _periods(rel, at, keys, plain, kinds)
    return cells


def _tree(rel: list[Relation], at: dict, ind: str, per: str, members: list[int],
          keys: list, partition: dict[str, list[str]], values: list[float]) -> None:
    for i in members:
        children = [at[(ind, c, per)] for c in partition.get(keys[i][1], ())
                    if (ind, c, per) in at]
        if not children:
            continue
        row, coefs = [i, *children], [1.0] + [-1.0] * len(children)
        if len(children) == len(partition[keys[i][1]]):
            exact = _exact(row, coefs, values)
            if exact is not None:
                rel.append(exact)
        else:
            rel.append(_at_most([*children, i], [1.0] * len(children) + [-1.0], values))


def _qpv_geometry(catalog: Catalog) -> list[tuple[str, str | None, list[str], list[str]]]:
    """Each QPV: its commune, the IRIS it wholly contains, every IRIS it touches."""
    links: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for link in catalog.links:
        links[link.parent].append((link.child, link.share))
    return [(t.code, catalog.commune_of(t.code),
             [c for c, s in links.get(t.code, []) if s >= 1.0],
             [c for c, _ in links.get(t.code, [])])
            for t in sorted(catalog.territories.values(), key=lambda t: t.code)
            if t.kind is TerritoryKind.QPV]


def _qpv(rel: list[Relation], at: dict, ind: str, per: str,
         qpvs: list[tuple[str, str | None, list[str], list[str]]], values: list[float]) -> None:
    for code, commune, whole_codes, touched in qpvs:
        q = at.get((ind, code, per))
        if q is None:
            continue
        if commune is not None and (ind, commune, per) in at:
            rel.append(_at_most([q, at[(ind, commune, per)]], [1.0, -1.0], values))
        whole = [at[(ind, c, per)] for c in whole_codes if (ind, c, per) in at]
        if whole:
            rel.append(_at_most([*whole, q], [1.0] * len(whole) + [-1.0], values))
        inside = [at.get((ind, c, per)) for c in touched]
        if inside and all(i is not None for i in inside):
            rows = [i for i in inside if i is not None]
            rel.append(_at_most([q, *rows], [1.0] + [-1.0] * len(rows), values))


def _rates(rel: list[Relation], at: dict, keys: list, values: list[float],
           catalog: Catalog) -> None:
    rates = {c: i for c, i in catalog.indicators.items()
             if i.kind is IndicatorKind.RATE and i.numerator and i.denominator}
    for i, (ind, ter, per) in enumerate(keys):
        spec = rates.get(ind)
        if spec is None or math.isnan(values[i]):
            continue
        n = at.get((spec.numerator or "", ter, per))
        d = at.get((spec.denominator or "", ter, per))
        if n is None or d is None:
            continue
        scale = UNIT_SCALE.get(spec.unit.strip(), 100.0)
        h = 0.5 * 10.0 ** -decimals(values[i])
        lo, hi = (values[i] - h) / scale, (values[i] + h) / scale
        rel.append(_at_most([n, d], [1.0, -hi], values, gate=i))
        rel.append(_at_most([d, n], [lo, -1.0], values, gate=i))


def _parts(rel: list[Relation], at: dict, keys: list, values: list[float],
           catalog: Catalog) -> None:
    totals = {c: i.parts for c, i in catalog.indicators.items() if i.parts}
    if not totals:
        return
    for i, (ind, ter, per) in enumerate(keys):
        if ind not in totals:
            continue
        _total_of(rel, i, [at.get((p, ter, per)) for p in totals[ind]], values)


def _total_of(rel: list[Relation], total: int, parts: list[int | None],
              values: list[float]) -> None:
    """Cell ``total`` against its parts (None: not published): equal to their sum when
    all are there, else at least the sum of those that are."""
    present = [p for p in parts if p is not None]
    if not present:
        return
    if len(present) == len(parts):
        exact = _exact([total, *present], [1.0] + [-1.0] * len(present), values)
        if exact is not None:
            rel.append(exact)
    else:
        rel.append(_at_most([*present, total], [1.0] * len(present) + [-1.0], values))


def _periods(rel: list[Relation], at: dict, keys: list, values: list[float],
             kinds: dict[str, IndicatorKind]) -> None:
    subs = {Periodicity.QUARTERLY: [f"Q{q}" for q in range(1, 5)],
            Periodicity.MONTHLY: [f"{m:02d}" for m in range(1, 13)]}
    for i, (ind, ter, per) in enumerate(keys):
        if kinds.get(ind, IndicatorKind.COUNT) is not IndicatorKind.COUNT:
            continue
        if len(per) != 4:   # an annual label
            continue
        for labels in subs.values():
            _total_of(rel, i, [at.get((ind, ter, f"{per}-{s}")) for s in labels], values)
