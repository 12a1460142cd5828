"""Roll-ups: a parent's value computed from its parts, when no provider delivered it.

Counts are summed up the tree (IRIS -> quartier -> commune -> EPCI -> département ->
région); a rate is recomputed from the summed numerators and denominators; an amount (a
median, an average rent) is never summed. A part that is secret, missing or unknown makes
the parent unknown (a row with status ``missing`` and no value), so an old total never
outlives a part that became secret. A value a provider delivered for the parent always wins.
A QPV straddles IRIS: it is estimated from the IRIS values and the shares of
``territory_links.csv``, and marked as an estimate.

Roll-ups are observations of the delivery that caused them (origin ``rollup`` or
``estimate``), written in the same transaction as the delivery by the ingest stage, which
both runners call: the store stays the system of record, a replay changes nothing, and a
revised part re-computes its parents (the new row supersedes the old one like any revision).
Secrecy is applied at the edge to them as to every other value.

Which parents are summed: a parent whose tree children cover it. When the catalog gives the
populations of the parent and of all its children, they must add up (within 1 %); a
département or a région is summed only when they do, since a workspace often holds only part
of one (a few EPCIs of a département). QPV children are never summed into their commune:
they overlap its quartiers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from veille.catalog import Catalog
from veille.model import IndicatorKind, TerritoryKind

COVERAGE_TOLERANCE = 0.01
PROVEN_ONLY = {TerritoryKind.DEPARTEMENT, TerritoryKind.REGION}
"""Kinds summed only when populations show that the workspace holds all of them."""
UNIT_SCALE = {"%": 100.0, "‰": 1000.0}
ROW = ["indicator", "territory", "period", "value", "numerator", "denominator", "status",
       "origin"]


def summable_children(catalog: Catalog) -> dict[str, list[str]]:
    """Parent -> the children whose sum is the parent (QPVs left out), for covered parents."""
    kids: dict[str, list[str]] = defaultdict(list)
    for territory in catalog.territories.values():
        if territory.parent is not None and territory.kind is not TerritoryKind.QPV:
            kids[territory.parent].append(territory.code)
    out = {}
    for parent, children in kids.items():
        above = catalog.territories.get(parent)
        if above is None or above.kind is TerritoryKind.QPV:
            continue
        pops = [catalog.territories[c].population for c in children]
        if above.population is not None and all(p is not None for p in pops):
            total = sum(p for p in pops if p is not None)
            if abs(total - above.population) > COVERAGE_TOLERANCE * max(above.population, 1):
                continue
        elif above.kind in PROVEN_ONLY:
            continue
        out[parent] = sorted(children)
    return out


def _depth(catalog: Catalog, code: str) -> int:
    return len(catalog.ancestors(code))


def _rate_scale(catalog: Catalog, indicator: str, rows: pd.DataFrame) -> float:
    """What a rate's value is per unit of numerator/denominator (100 for a %), read from
    the delivered rows, else from the unit."""
    ok = rows[(rows["numerator"] > 0) & (rows["denominator"] > 0) & rows["value"].notna()]
    if not ok.empty:
        ratio = float(np.median(ok["value"] * ok["denominator"] / ok["numerator"]))
        if ratio > 0:
            return float(10 ** round(math.log10(ratio)))
    unit = catalog.indicators[indicator].unit.strip()
    return UNIT_SCALE.get(unit, 1.0)


def _additive_indicators(catalog: Catalog, indicators: list[str]) -> list[str]:
    return [i for i in indicators if i in catalog.indicators
            and catalog.indicators[i].kind in (IndicatorKind.COUNT, IndicatorKind.RATE)]


def needed(catalog: Catalog, touched: set[str]) -> bool:
    """Whether a delivery touching ``touched`` can change any parent or QPV estimate."""
    linked = {link.child for link in catalog.links}
    return any(catalog.territories[t].parent is not None or t in linked
               for t in touched if t in catalog.territories)


def roll_up(current: pd.DataFrame, catalog: Catalog, touched: set[str]) -> pd.DataFrame:
    """The roll-up rows to write, given the current observations (``current``: every
    territory, for the indicators and periods of a delivery) and the territories it
    touched. Rows equal to what the store already holds are left out (idempotent)."""
    indicators = _additive_indicators(catalog, sorted(set(current["indicator"])))
    frame = current[current["indicator"].isin(indicators)]
    if frame.empty:
        return pd.DataFrame(columns=ROW)
    children = summable_children(catalog)
    affected = {a.code for t in touched for a in catalog.ancestors(t)} & set(children)
    cur = {(r.indicator, r.territory, r.period): r for r in frame.itertuples(index=False)}
    delivered = {k for k, r in cur.items() if r.origin == "delivered"}
    scales = {ind: _rate_scale(catalog, ind, part[part["origin"] == "delivered"])
              for ind, part in frame.groupby("indicator")
              if catalog.indicators[ind].kind is IndicatorKind.RATE}
    pairs = sorted({(r.indicator, r.period) for r in frame.itertuples(index=False)})
    out: list[dict] = []
    for parent in sorted(affected, key=lambda c: -_depth(catalog, c)):
        for indicator, period in pairs:
            if (indicator, parent, period) in delivered:
                continue
            parts = [cur.get((indicator, c, period)) for c in children[parent]]
            if all(p is None for p in parts):
                continue  # nothing below this parent was ever delivered for this series
            row = _combine(indicator, parent, period, parts, [1.0] * len(parts),
                           catalog.indicators[indicator].kind, scales.get(indicator), "rollup")
            _keep(row, cur, out)
    out += _qpv_estimates(catalog, cur, delivered, pairs, scales, touched)
    return pd.DataFrame(out, columns=ROW)


def _qpv_estimates(catalog: Catalog, cur: dict, delivered: set, pairs: list,
                   scales: dict[str, float], touched: set[str]) -> list[dict]:
    """QPVs whose linked IRIS were touched: the share-weighted sum of those IRIS."""
    links: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for link in catalog.links:
        links[link.parent].append((link.child, link.share))
    out: list[dict] = []
    for qpv, members in sorted(links.items()):
        if not any(child in touched for child, _ in members):
            continue
        for indicator, period in pairs:
            if (indicator, qpv, period) in delivered:
                continue
            parts = [cur.get((indicator, child, period)) for child, _ in members]
            if all(p is None for p in parts):
                continue
            row = _combine(indicator, qpv, period, parts, [s for _, s in members],
                           catalog.indicators[indicator].kind, scales.get(indicator),
                           "estimate")
            _keep(row, cur, out)
    return out


def _known(part: Any, kind: IndicatorKind) -> bool:
    if part is None or part.status in ("secret", "missing"):
        return False
    names = ("value",) if kind is IndicatorKind.COUNT else ("numerator", "denominator")
    return all(not pd.isna(getattr(part, n)) for n in names)


def _combine(indicator: str, territory: str, period: str, parts: list, shares: list[float],
             kind: IndicatorKind, scale: float | None, origin: str) -> dict:
    """One parent row: the weighted sum of its parts, or unknown when any part is."""
    row: dict[str, Any] = {
        "indicator": indicator, "territory": territory, "period": period, "value": None,
        "numerator": None, "denominator": None, "status": "missing", "origin": origin}
    if not parts or not all(_known(p, kind) for p in parts):
        return row
    if kind is IndicatorKind.COUNT:
        row["value"] = float(sum(s * float(p.value) for p, s in zip(parts, shares,
                                                                     strict=True)))
    else:
        num = float(sum(s * float(p.numerator) for p, s in zip(parts, shares, strict=True)))
        den = float(sum(s * float(p.denominator) for p, s in zip(parts, shares, strict=True)))
        if den <= 0:
            return row
        row.update(numerator=num, denominator=den, value=num / den * (scale or 1.0))
    row["status"] = "ok"
    return row


def _same(old: Any, row: dict) -> bool:
    if old is None or old.origin != row["origin"] or (
            old.status != row["status"]):
        return False
    for name in ("value", "numerator", "denominator"):
        a, b = getattr(old, name), row[name]
        if pd.isna(a) != (b is None) or (b is not None and not math.isclose(
                float(a), b, rel_tol=1e-9, abs_tol=1e-9)):
            return False
    return True


def _keep(row: dict, cur: dict, out: list[dict]) -> None:
    """Record ``row`` as the parent's current value (parents above read it) and keep it to
    write unless the store already holds the same."""
    key = (row["indicator"], row["territory"], row["period"])
    if _same(cur.get(key), row):
        return
    cur[key] = SimpleNamespace(**row)
    out.append(row)
