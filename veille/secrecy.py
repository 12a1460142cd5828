"""Statistical secrecy (secret statistique), written once for every edge of the system.

Digests, alerts, the portrait and the web pages ask this module which values may leave the
system. Two rules, applied to one indicator and one period at a time:

* **primary**: a value the provider marked secret, or a count (or a rate's numerator or
  denominator) under the threshold of the indicator or, failing that, of its convention;
* **secondary** (complementary suppression): a value that could be recovered by subtraction
  is masked too. Within a parent territory and its children (commune and its quartiers,
  quartier and its IRIS), a group where exactly one value is masked would give it away
  (parent minus the published children), so a second value is masked: the smallest
  published child, or the parent when no other child is published. This repeats until no
  group anywhere in the tree has a single masked value.

Amounts (average rents...) are not additive, so only the primary rule applies to them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping

import pandas as pd

from veille.catalog import Catalog
from veille.model import Indicator, IndicatorKind

DEFAULT_THRESHOLD = 5

PRIMARY = "secret"
SMALL = "small"
COMPLEMENTARY = "complementary"

Key = tuple[str, str, str]
"""(indicator, territory, period)"""


def threshold_for(catalog: Catalog, indicator: str) -> int:
    """The indicator's own threshold, else the strictest convention that delivers it."""
    ind = catalog.indicators.get(indicator)
    if ind is not None and ind.secrecy_threshold is not None:
        return ind.secrecy_threshold
    limits = [c.secrecy_threshold for c in catalog.conventions.values()
              if indicator in c.indicator_codes]
    return max(limits) if limits else DEFAULT_THRESHOLD


def _number(value: object) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def primary_reason(indicator: Indicator | None, threshold: int, value: object,
                   numerator: object = None, denominator: object = None,
                   status: str = "ok") -> str:
    """Why one value is secret on its own ('' when it is not)."""
    v, num, den = _number(value), _number(numerator), _number(denominator)
    if status == "secret" or (v is None and status != "missing"):
        return PRIMARY
    kind = indicator.kind if indicator is not None else IndicatorKind.COUNT
    if kind is IndicatorKind.COUNT and v is not None and v < threshold:
        return SMALL
    if kind is IndicatorKind.RATE and any(x is not None and x < threshold for x in (num, den)):
        return SMALL
    return ""


def _additive(indicator: Indicator | None, value: object, numerator: object) -> float | None:
    """The additive quantity behind a value: the count itself, or a rate's numerator."""
    kind = indicator.kind if indicator is not None else IndicatorKind.COUNT
    if kind is IndicatorKind.COUNT:
        return _number(value)
    if kind is IndicatorKind.RATE:
        return _number(numerator)
    return None


def mask(frame: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """``frame`` (indicator, territory, period, value[, numerator, denominator, status]) with
    two more columns: ``masked`` (bool) and ``secrecy`` (why: secret, small, complementary).

    Pass every territory of the tree that is available for the indicators and periods
    concerned: complementary suppression needs the parent and the siblings of a value.
    """
    out = frame.copy()
    if out.empty:
        out["masked"] = pd.Series(dtype=bool)
        out["secrecy"] = pd.Series(dtype=str)
        return out
    for column, default in (("numerator", None), ("denominator", None), ("status", "ok")):
        if column not in out.columns:
            out[column] = default
    thresholds: dict[str, int] = {}
    reasons: list[str] = []
    additive: list[float | None] = []
    for row in out.itertuples(index=False):
        ind = catalog.indicators.get(row.indicator)
        if row.indicator not in thresholds:
            thresholds[row.indicator] = threshold_for(catalog, row.indicator)
        reasons.append(primary_reason(ind, thresholds[row.indicator], row.value,
                                      row.numerator, row.denominator, str(row.status)))
        additive.append(_additive(ind, row.value, row.numerator))
    keys = list(zip(out["indicator"], out["territory"], out["period"], strict=True))
    reason_of = dict(zip(keys, reasons, strict=True))
    additive_of = dict(zip(keys, additive, strict=True))
    _complementary(reason_of, additive_of, catalog)
    out["secrecy"] = [reason_of[k] for k in keys]
    out["masked"] = out["secrecy"] != ""
    return out


def _complementary(reason_of: dict[Key, str], additive_of: Mapping[Key, float | None],
                   catalog: Catalog) -> None:
    """Mask a second value in every parent/children group that has exactly one masked."""
    children: dict[str, list[str]] = defaultdict(list)
    for territory in catalog.territories.values():
        if territory.parent is not None:
            children[territory.parent].append(territory.code)
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for ind, code, period in reason_of:
        if additive_of.get((ind, code, period)) is None and not reason_of[(ind, code, period)]:
            continue  # a published non-additive value (an amount) forms no group
        groups[(ind, period)].add(code)
    changed = True
    while changed:
        changed = False
        for (ind, period), present in groups.items():
            for parent in [p for p in present if children.get(p)]:
                members = [c for c in children[parent] if c in present]
                if not members:
                    continue
                group = [parent, *members]
                masked = [t for t in group if reason_of[(ind, t, period)]]
                if len(masked) != 1:
                    continue
                published = [c for c in members if not reason_of[(ind, c, period)]]
                if published:
                    pick = min(published, key=lambda c: (
                        additive_of.get((ind, c, period)) or 0.0, c))
                else:
                    pick = parent
                reason_of[(ind, pick, period)] = COMPLEMENTARY
                changed = True


def published_values(frame: pd.DataFrame, catalog: Catalog) -> dict[Key, float | None]:
    """(indicator, territory, period) -> value, or None where secrecy masks it."""
    masked = mask(frame, catalog)
    return {(r.indicator, r.territory, r.period): (None if r.masked else _number(r.value))
            for r in masked.itertuples(index=False)}
