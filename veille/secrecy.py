"""Statistical secrecy (secret statistique), written once for every edge of the system.

Digests, alerts, the portrait and the web pages ask this module which values may leave the
system (through the persisted mask, ``veille.store.masks``, computed here).

* **primary**: a value the provider marked secret, a count under the threshold of the
  indicator or, failing that, of its convention (zero too where the convention says
  ``secrecy_zero``), a rate whose numerator or denominator is under it (its own columns or
  the glossary's numerator and denominator indicators);
* **secondary**: the published cells an attacker would combine with the others to narrow a
  primary cell are hidden too, until every primary cell's feasible interval, solved by
  linear programming over every linked table at once (territory tree, QPV, rates at their
  published precision, breakdowns, period totals: ``veille.secrecy_relations``) is at least
  its **protection level** wide (the convention's ``protection_level``, by default its
  threshold). See ``veille.secrecy_suppress``.

Amounts (average rents...) are not additive: only the primary rule applies to them.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np
import pandas as pd

from veille import secrecy_relations, secrecy_suppress
from veille.catalog import Catalog
from veille.model import IndicatorKind

DEFAULT_THRESHOLD = 5

PRIMARY = "secret"
SMALL = "small"
COMPLEMENTARY = "complementary"
KEPT = "kept"
"""hidden by an earlier version of the publication, so it stays hidden (a revision)"""

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


def protection_for(catalog: Catalog, indicator: str) -> int:
    """Width a primary cell's feasible interval must reach: the strictest convention's
    ``protection_level`` among those delivering the indicator, else its threshold."""
    levels = [c.protection_level for c in catalog.conventions.values()
              if indicator in c.indicator_codes and c.protection_level is not None]
    return max(levels) if levels else threshold_for(catalog, indicator)


def _zero_is_secret(catalog: Catalog, indicator: str) -> bool:
    return any(c.secrecy_zero for c in catalog.conventions.values()
               if indicator in c.indicator_codes)


def primary(frame: pd.DataFrame, catalog: Catalog) -> list[str]:
    """Each row's primary reason ('' when it may be published on its own): a value the
    provider marked secret or gave none for (``missing`` rows are absent, not secret), a
    count under its threshold (zero too where a convention says ``secrecy_zero``), a rate
    whose numerator or denominator is under it (its own columns, or the glossary's numerator
    and denominator rows when they are primary). ``frame`` has the columns of ``mask``."""
    codes = frame["indicator"].astype(str).tolist()
    spec = {c: catalog.indicators.get(c) for c in set(codes)}
    kind = {c: IndicatorKind.COUNT if i is None else i.kind for c, i in spec.items()}
    limit = {c: (threshold_for(catalog, c), _zero_is_secret(catalog, c)) for c in spec}
    threshold = np.array([limit[c][0] for c in codes], dtype=float)
    zero = np.array([limit[c][1] for c in codes])
    count = np.array([kind[c] is IndicatorKind.COUNT for c in codes])
    rate = np.array([kind[c] is IndicatorKind.RATE for c in codes])

    def numbers(column: str) -> np.ndarray:
        return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)

    value, num, den = numbers("value"), numbers("numerator"), numbers("denominator")
    status = frame["status"].astype(str).to_numpy()
    with np.errstate(invalid="ignore"):
        small = ((count & (value < threshold)) | (zero & (value == 0.0))
                 | (rate & ((num < threshold) | (den < threshold))))
    secret = (status == "secret") | (np.isnan(value) & (status != "missing"))
    reasons = np.where(secret, PRIMARY, np.where(small, SMALL, "")).astype(object).tolist()
    at = {k: i for i, k in enumerate(zip(codes, frame["territory"].tolist(),
                                         frame["period"].tolist(), strict=True))}
    for i, (ind_code, ter, per) in enumerate(at):
        ind = spec[ind_code]
        if ind is None or ind.kind is not IndicatorKind.RATE or reasons[i]:
            continue
        linked = [at.get((code, ter, per)) for code in (ind.numerator, ind.denominator) if code]
        if any(j is not None and reasons[j] for j in linked):
            reasons[i] = SMALL
    return reasons


def mask(frame: pd.DataFrame, catalog: Catalog, keep: Collection[Key] = ()) -> pd.DataFrame:
    """``frame`` (indicator, territory, period, value[, numerator, denominator, status]) with
    two more columns: ``masked`` (bool) and ``secrecy`` (why: secret, small, complementary).

    Pass every territory, linked indicator and period that is published together:
    secondary suppression needs everything a reader could combine. The result depends on
    the data only (rows are taken in key order), never on the order given. ``keep``:
    cells an earlier version of the publication hid, which stay hidden.
    """
    out = frame.copy()
    if out.empty:
        out["masked"] = pd.Series(dtype=bool)
        out["secrecy"] = pd.Series(dtype=str)
        return out
    for column, default in (("numerator", None), ("denominator", None), ("status", "ok")):
        if column not in out.columns:
            out[column] = default
    keys = list(zip(out["indicator"].astype(str).tolist(), out["territory"].astype(str).tolist(),
                    out["period"].astype(str).tolist(), strict=True))
    order = sorted(range(len(keys)), key=keys.__getitem__)   # stable: ties keep their order
    ordered = out.iloc[order]
    reasons = primary(ordered, catalog)
    cells = secrecy_relations.build(ordered, catalog)
    first = np.array([bool(r) for r in reasons])
    wanted = set(keep)
    kept = np.array([not first[i] and k in wanted for i, k in enumerate(cells.keys)])
    levels = {i: float(protection_for(catalog, i)) for i in {k[0] for k in cells.keys}}
    protection = np.array([levels[k[0]] for k in cells.keys])
    numerator_of = _numerators(cells, catalog)
    outcome = secrecy_suppress.protect(
        cells, first, protection, secrecy_suppress.cost_of(cells, numerator_of), kept)
    for k in np.flatnonzero(kept).tolist():
        reasons[k] = KEPT
    for k in outcome.secondary:
        reasons[k] = COMPLEMENTARY
    secrecy = np.empty(len(order), dtype=object)
    secrecy[order] = reasons
    out["secrecy"] = secrecy
    out["masked"] = secrecy != ""
    return out


def _numerators(cells: secrecy_relations.Cells, catalog: Catalog) -> dict[int, int]:
    """Rate cell -> its numerator's cell, where both are in the publication."""
    at = cells.index()
    out: dict[int, int] = {}
    for i, (ind, ter, per) in enumerate(cells.keys):
        spec = catalog.indicators.get(ind)
        if spec is not None and spec.kind is IndicatorKind.RATE and spec.numerator:
            j = at.get((spec.numerator, ter, per))
            if j is not None:
                out[i] = j
    return out


def published_values(frame: pd.DataFrame, catalog: Catalog) -> dict[Key, float | None]:
    """(indicator, territory, period) -> value, or None where secrecy masks it."""
    masked = mask(frame, catalog)
    return {(r.indicator, r.territory, r.period): (None if r.masked else _number(r.value))
            for r in masked.itertuples(index=False)}
