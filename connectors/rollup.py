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


def _parents(catalog: Catalog) -> dict[str, str | None]:
    return {code: t.parent for code, t in catalog.territories.items()}


def _chain(parent_of: dict[str, str | None], code: str) -> list[str]:
    """The codes above ``code``, nearest first (a loop in the tree stops the walk)."""
    out: list[str] = []
    current = parent_of.get(code)
    while current is not None and current not in out and current in parent_of:
        out.append(current)
        current = parent_of.get(current)
    return out


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
    indicators = _additive_indicators(catalog, [str(i) for i in current["indicator"].unique()])
    frame = _normalised(current[current["indicator"].isin(indicators)])
    if frame.empty:
        return pd.DataFrame(columns=ROW)
    scales = {ind: _rate_scale(catalog, ind, part[part["origin"] == "delivered"])
              for ind, part in frame.groupby("indicator")
              if catalog.indicators[ind].kind is IndicatorKind.RATE}
    tree = _tree_rollups(frame, catalog, touched, scales)
    linked = {link.child for link in catalog.links} | {link.parent for link in catalog.links}
    small = frame[frame["territory"].isin(linked)]
    cur = _records(small)
    delivered = {k for k, r in cur.items() if r[ORIGIN] == "delivered"}
    pairs = sorted(set(zip(frame["indicator"], frame["period"], strict=True)))
    estimates = pd.DataFrame(_qpv_estimates(catalog, cur, delivered, pairs, scales, touched),
                             columns=ROW)
    return pd.concat([p for p in (tree, estimates) if not p.empty] or [estimates],
                     ignore_index=True)


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[ROW].copy()
    for name in ("value", "numerator", "denominator"):
        out[name] = pd.to_numeric(out[name], errors="coerce").astype(float)
    for name in ("indicator", "territory", "period", "status", "origin"):
        out[name] = out[name].astype(object)
    return out.reset_index(drop=True)


KEY = ["indicator", "territory", "period"]


def _tree_rollups(frame: pd.DataFrame, catalog: Catalog, touched: set[str],
                  scales: dict[str, float]) -> pd.DataFrame:
    """Sums up the tree, one depth at a time from the deepest parents (vectorised: a
    national delivery has millions of parts)."""
    children = summable_children(catalog)
    parent_of = _parents(catalog)
    affected = {a for t in touched for a in _chain(parent_of, t)} & set(children)
    by_depth: dict[int, list[str]] = defaultdict(list)
    for parent in affected:
        by_depth[len(_chain(parent_of, parent))].append(parent)
    is_rate = {i: catalog.indicators[i].kind is IndicatorKind.RATE
               for i in frame["indicator"].unique()}
    state, out = frame, []
    for depth in sorted(by_depth, reverse=True):
        parents = sorted(by_depth[depth])
        edges = pd.DataFrame([(c, p) for p in parents for c in children[p]],
                             columns=["territory", "parent"])
        parts = state.merge(edges, on="territory")
        if parts.empty:
            continue
        rate = parts["indicator"].map(is_rate).to_numpy(dtype=bool)
        known = (~parts["status"].isin(["secret", "missing"])).to_numpy() & np.where(
            rate, parts["numerator"].notna() & parts["denominator"].notna(),
            parts["value"].notna())
        parts = parts.assign(known=known)
        sums = parts.groupby(["indicator", "parent", "period"], sort=True).agg(
            known=("known", "sum"), value=("value", "sum"), numerator=("numerator", "sum"),
            denominator=("denominator", "sum")).reset_index()
        result = _parent_rows(sums, {p: len(children[p]) for p in parents}, is_rate, scales)
        new = _changed(result, state)
        if new.empty:
            continue
        out.append(new)
        replaced = pd.MultiIndex.from_frame(new[KEY])
        state = pd.concat([state[~pd.MultiIndex.from_frame(state[KEY]).isin(replaced)], new],
                          ignore_index=True)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=ROW)


def _parent_rows(sums: pd.DataFrame, expected: dict[str, int], is_rate: dict[str, bool],
                 scales: dict[str, float]) -> pd.DataFrame:
    """One row per (indicator, parent, period): the sum, or unknown when a part is."""
    rate = sums["indicator"].map(is_rate).to_numpy(dtype=bool)
    scale = sums["indicator"].map(scales).fillna(1.0).to_numpy(dtype=float)
    den = sums["denominator"].to_numpy(dtype=float)
    good = (sums["known"].to_numpy() == sums["parent"].map(expected).to_numpy()) & (
        ~rate | (den > 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(rate, sums["numerator"].to_numpy(dtype=float) / den * scale,
                         sums["value"].to_numpy(dtype=float))
    return pd.DataFrame({
        "indicator": sums["indicator"], "territory": sums["parent"], "period": sums["period"],
        "value": np.where(good, value, np.nan),
        "numerator": np.where(good & rate, sums["numerator"], np.nan),
        "denominator": np.where(good & rate, den, np.nan),
        "status": np.where(good, "ok", "missing").astype(object), "origin": "rollup"})


def _changed(result: pd.DataFrame, state: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``result`` to write: not for a delivered parent, not equal to the
    parent's current roll-up."""
    old = state[state["territory"].isin(set(result["territory"]))]
    merged = result.merge(old, on=KEY, how="left", suffixes=("", "_old"))
    keep = merged["origin_old"] != "delivered"
    same = (merged["origin_old"] == "rollup") & (merged["status"] == merged["status_old"])
    for name in ("value", "numerator", "denominator"):
        a, b = merged[name].to_numpy(dtype=float), merged[f"{name}_old"].to_numpy(dtype=float)
        same &= (np.isnan(a) & np.isnan(b)) | np.isclose(a, b, rtol=1e-9, atol=1e-9)
    return merged.loc[keep & ~same, ROW].reset_index(drop=True)


Part = tuple[float, float, float, str, str]
"""value, numerator, denominator (NaN for none), status, origin: plain tuples, since a
national delivery has millions of parts (a NamedTuple costs 5x more to build)."""
VALUE, NUMERATOR, DENOMINATOR, STATUS, ORIGIN = range(5)


def _records(frame: pd.DataFrame) -> dict[tuple[str, str, str], Part]:
    """(indicator, territory, period) -> the current row, NaN for no number (built from
    plain arrays: iterating pandas rows is 20x slower on a national delivery)."""
    numbers = [pd.to_numeric(frame[n], errors="coerce").to_numpy(dtype=float).tolist()
               for n in ("value", "numerator", "denominator")]
    texts = [frame[n].to_numpy(dtype=object).tolist()
             for n in ("indicator", "territory", "period", "status", "origin")]
    return {(i, t, p): (v, n, d, st, o) for i, t, p, st, o, v, n, d in zip(
        *texts, *numbers, strict=True)}


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


def _known(part: Part | None, kind: IndicatorKind) -> bool:
    if part is None or part[STATUS] in ("secret", "missing"):
        return False
    if kind is IndicatorKind.COUNT:
        return not math.isnan(float(part[VALUE]))
    return not (math.isnan(float(part[NUMERATOR])) or math.isnan(float(part[DENOMINATOR])))


def _combine(indicator: str, territory: str, period: str, parts: list, shares: list[float],
             kind: IndicatorKind, scale: float | None, origin: str) -> dict:
    """One parent row: the weighted sum of its parts, or unknown when any part is."""
    row: dict[str, Any] = {
        "indicator": indicator, "territory": territory, "period": period, "value": None,
        "numerator": None, "denominator": None, "status": "missing", "origin": origin}
    if not parts or not all(_known(p, kind) for p in parts):
        return row
    if kind is IndicatorKind.COUNT:
        row["value"] = float(sum(s * p[VALUE] for p, s in zip(parts, shares, strict=True)))
    else:
        num = float(sum(s * p[NUMERATOR] for p, s in zip(parts, shares, strict=True)))
        den = float(sum(s * p[DENOMINATOR] for p, s in zip(parts, shares, strict=True)))
        if den <= 0:
            return row
        row.update(numerator=num, denominator=den, value=num / den * (scale or 1.0))
    row["status"] = "ok"
    return row


def _same(old: Part | None, row: dict) -> bool:
    if old is None or old[ORIGIN] != row["origin"] or old[STATUS] != row["status"]:
        return False
    for a, b in zip(old[:3], (row["value"], row["numerator"], row["denominator"]),
                    strict=True):
        if math.isnan(a) != (b is None) or (b is not None and not math.isclose(
                a, b, rel_tol=1e-9, abs_tol=1e-9)):
            return False
    return True


def _keep(row: dict, cur: dict, out: list[dict]) -> None:
    """Record ``row`` as the parent's current value (parents above read it) and keep it to
    write unless the store already holds the same."""
    key = (row["indicator"], row["territory"], row["period"])
    if _same(cur.get(key), row):
        return
    value, num, den = (math.nan if row[n] is None else float(row[n])
                       for n in ("value", "numerator", "denominator"))
    cur[key] = (value, num, den, row["status"], row["origin"])
    out.append(row)
