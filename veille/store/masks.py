"""The mask, persisted: computed once per publication unit, then read by every edge.

A **unit** is a family of linked indicators (a rate with its numerator and denominator, a
total with its parts) over one year (every territory, every period of the year): the
relations of ``veille.secrecy_relations`` never leave a unit, so each unit's mask can be
computed alone. A unit's mask is stored with the fingerprint (SHA-256) of the current
values it was computed from; it is computed again only when those values change (a new
delivery, a revision, or a change of the rule: ``RULE_VERSION``), never by a restart, and
the same values give the same mask.

A revision keeps every cell the unit hid before hidden (reason ``kept`` when no rule asks
for it any more): a cell once hidden never appears later, so no reader can difference the
old and the new figures around it. The values hidden are kept (never shown) so that the
auditor can check a revision against the earlier publication.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence

import pandas as pd
from sqlalchemy import Connection, delete, insert, select, update

from veille import secrecy
from veille.catalog import Catalog
from veille.store import observations as obs_store
from veille.store.schema import secrecy_cells, secrecy_units

Key = tuple[str, str, str]


def families(catalog: Catalog) -> dict[str, str]:
    """Indicator -> its family's name (the family's first code): indicators linked as
    rate, numerator and denominator, or as a total and its parts."""
    parent = {code: code for code in catalog.indicators}

    def find(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    for code, ind in catalog.indicators.items():
        for other in (ind.numerator, ind.denominator, *ind.parts):
            if other in parent:
                a, b = sorted((find(code), find(other)))
                parent[b] = a
    return {code: find(code) for code in catalog.indicators}


def unit_name(family: str, period: str) -> str:
    return f"{family}|{period[:4]}"


RULE_VERSION = "2"
"""Bumped when the secrecy rule changes (2: cells nobody knows are unknowns to the
attacker), so that every unit's mask is computed again under the new rule, keeping what the
old one hid."""


def fingerprint(frame: pd.DataFrame) -> str:
    rows = frame.sort_values(["indicator", "territory", "period"])
    text = f"rule {RULE_VERSION}\n" + "\n".join(f"{i}|{t}|{p}|{v!r}|{s}" for i, t, p, v, s in zip(
        rows["indicator"], rows["territory"], rows["period"], rows["value"], rows["status"],
        strict=True))
    return hashlib.sha256(text.encode()).hexdigest()


def hidden(conn: Connection, catalog: Catalog, indicators: Iterable[str],
           periods: Sequence[str] | None = None, now: dt.datetime | None = None
           ) -> dict[Key, str]:
    """Hidden cells (key -> reason) of ``indicators`` (at ``periods``), after bringing the
    masks of their units up to date with the store."""
    family_of = families(catalog)
    wanted = {family_of.get(i, i) for i in indicators}
    members = sorted(i for i, f in family_of.items() if f in wanted)
    years = sorted({p[:4] for p in periods}) if periods is not None else None
    frame = obs_store.current(conn, indicators=members)
    if years is not None:
        frame = frame[frame["period"].str[:4].isin(years)]
    units = frame["indicator"].map(family_of) + "|" + frame["period"].str[:4]
    names = sorted(set(units))
    stored = {r.unit: r.fingerprint for r in conn.execute(
        select(secrecy_units.c.unit, secrecy_units.c.fingerprint)
        .where(secrecy_units.c.unit.in_(names)))} if names else {}
    for name, part in frame.groupby(units, sort=True):
        fp = fingerprint(part)
        if stored.get(str(name)) != fp:
            _compute(conn, catalog, str(name), part, fp, now or dt.datetime.now(dt.UTC))
    if not names:
        return {}
    query = select(secrecy_cells.c.indicator, secrecy_cells.c.territory,
                   secrecy_cells.c.period, secrecy_cells.c.reason
                   ).where(secrecy_cells.c.unit.in_(names))
    out = {(r.indicator, r.territory, r.period): r.reason for r in conn.execute(query)}
    if periods is not None:
        keep = set(periods)
        out = {k: v for k, v in out.items() if k[2] in keep}
    wanted_ind = set(indicators)
    return {k: v for k, v in out.items() if k[0] in wanted_ind}


def _compute(conn: Connection, catalog: Catalog, unit: str, part: pd.DataFrame,
             fp: str, now: dt.datetime) -> None:
    before = {(r.indicator, r.territory, r.period) for r in conn.execute(
        select(secrecy_cells.c.indicator, secrecy_cells.c.territory, secrecy_cells.c.period)
        .where(secrecy_cells.c.unit == unit))}
    masked = secrecy.mask(part, catalog, keep=before)
    rows = [{"unit": unit, "indicator": r.indicator, "territory": r.territory,
             "period": r.period, "reason": r.secrecy,
             "value": None if pd.isna(r.value) else float(r.value)}
            for r in masked[masked["masked"]].itertuples(index=False)]
    conn.execute(delete(secrecy_cells).where(secrecy_cells.c.unit == unit))
    if rows:
        conn.execute(insert(secrecy_cells), rows)
    version = conn.execute(select(secrecy_units.c.version)
                           .where(secrecy_units.c.unit == unit)).scalar()
    values = {"fingerprint": fp, "hidden": len(rows), "computed_at": now}
    if version is None:
        conn.execute(insert(secrecy_units).values(unit=unit, version=1, **values))
    else:
        conn.execute(update(secrecy_units).where(secrecy_units.c.unit == unit)
                     .values(version=version + 1, **values))


def published_values(conn: Connection, frame: pd.DataFrame, catalog: Catalog
                     ) -> dict[Key, float | None]:
    """(indicator, territory, period) -> value of ``frame``'s rows, None where the
    publication's mask hides it: what every edge may show."""
    if frame.empty:
        return {}
    periods = sorted(set(frame["period"]))
    masked = hidden(conn, catalog, sorted(set(frame["indicator"])), periods)
    out: dict[Key, float | None] = {}
    for i, t, p, v in zip(frame["indicator"], frame["territory"], frame["period"],
                          frame["value"], strict=True):
        out[(i, t, p)] = None if (i, t, p) in masked or pd.isna(v) else float(v)
    return out
