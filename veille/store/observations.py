"""Observations: written in bulk, never updated in place; a revision supersedes.

Each row keeps the delivery it came from. The current value of a series at a period is
the row with ``superseded_by IS NULL``; older rows stay, pointing at the delivery that
replaced them, so the history of revisions is never lost.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, exists, select, update

from veille.model import OBSERVATION_STATUSES
from veille.store.database import store_fault
from veille.store.schema import observations

COLUMNS = ["indicator", "territory", "period", "value", "numerator", "denominator",
           "status", "delivery_id", "origin"]
ORIGINS = ("delivered", "rollup", "estimate")
"""Where a value comes from: a provider's file, the sum of its parts (``connectors.rollup``),
or a QPV estimated from its IRIS shares."""
NUMERIC = ("value", "numerator", "denominator")
PERIOD_LABEL = re.compile(r"^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$")


@dataclass(frozen=True)
class RevisionOutcome:
    """What a delivery replaced: the deliveries it superseded and the series whose value
    actually changed (same values re-sent are superseded but not 'changed')."""

    superseded_rows: int
    superseded_deliveries: list[int]
    changed: pd.DataFrame

    def then(self, later: RevisionOutcome) -> RevisionOutcome:
        """This outcome followed by a later one of the same delivery (its roll-ups)."""
        if not later.superseded_rows:
            return self
        if not self.superseded_rows:
            return later
        return RevisionOutcome(
            self.superseded_rows + later.superseded_rows,
            sorted(set(self.superseded_deliveries) | set(later.superseded_deliveries)),
            pd.concat([self.changed, later.changed], ignore_index=True))


def _sqlite_insert(cursor: Any, frame: pd.DataFrame, delivery_id: int) -> None:
    """executemany, binding only what varies per row: the cost is per bound value, so the
    delivery id, status and period (constant within a group, and validated labels) are
    written into the statement, and numerator/denominator only when the group has any."""
    for (status, period, origin), group in frame.groupby(["status", "period", "origin"],
                                                         sort=False):
        if (status not in OBSERVATION_STATUSES or not PERIOD_LABEL.match(str(period))
                or origin not in ORIGINS):
            raise ValueError(f"refusing to write status {status!r} / period {period!r} / "
                             f"origin {origin!r}")
        names = ["indicator", "territory", "value"]
        if group["numerator"].notna().any() or group["denominator"].notna().any():
            names += ["numerator", "denominator"]
        columns = []
        for name in names:
            array = group[name].to_numpy(dtype=object, copy=True)
            if name in NUMERIC:
                array[pd.isna(array)] = None
            columns.append(array)
        cursor.executemany(
            f"INSERT INTO observations ({', '.join(names)}, period, status, delivery_id, origin) "
            f"VALUES ({', '.join('?' * len(names))}, '{period}', '{status}', {int(delivery_id)}, "
            f"'{origin}')",
            zip(*columns, strict=True))


def bulk_insert(conn: Connection, frame: pd.DataFrame, delivery_id: int) -> int:
    """Insert a delivery's observations in the caller's transaction, as fast as the driver
    allows: COPY on PostgreSQL, a lean executemany on SQLite."""
    if frame.empty:
        return 0
    if "origin" not in frame.columns:
        frame = frame.assign(origin="delivered")
    dbapi = conn.connection.driver_connection
    try:
        if conn.dialect.name == "postgresql":
            buffer = io.StringIO()
            out = frame.assign(delivery_id=delivery_id)[COLUMNS]
            out.to_csv(buffer, sep="\t", header=False, index=False, na_rep="\\N")
            buffer.seek(0)
            statement = f"COPY observations ({', '.join(COLUMNS)}) FROM STDIN"
            with (dbapi.cursor() as cursor,  # type: ignore[union-attr]
                  cursor.copy(statement) as copy):
                while chunk := buffer.read(1 << 20):
                    copy.write(chunk)
        else:
            cursor = dbapi.cursor()  # type: ignore[union-attr]
            _sqlite_insert(cursor, frame, delivery_id)
            cursor.close()
    except conn.dialect.loaded_dbapi.Error as exc:  # the driver's own, not through SQLAlchemy
        fault = store_fault(conn.engine, exc,
                            disconnect=conn.dialect.is_disconnect(exc, dbapi, None))
        if fault is not None:
            raise fault from exc
        raise
    return len(frame)


def supersede(conn: Connection, delivery_id: int, indicators: Sequence[str],
              periods: Sequence[str]) -> RevisionOutcome:
    """Mark current rows that ``delivery_id`` re-delivers as superseded by it."""
    old = observations.alias("old")
    new = observations.alias("new")
    same_key = and_(new.c.delivery_id == delivery_id, new.c.indicator == old.c.indicator,
                    new.c.territory == old.c.territory, new.c.period == old.c.period)
    candidates = and_(old.c.superseded_by.is_(None), old.c.delivery_id != delivery_id,
                      old.c.indicator.in_(list(indicators)), old.c.period.in_(list(periods)))
    any_overlap = conn.execute(select(old.c.id).where(candidates).limit(1)).first()
    empty = pd.DataFrame(columns=["indicator", "territory", "period", "old_value",
                                  "new_value", "old_delivery"])
    if any_overlap is None:
        return RevisionOutcome(0, [], empty)
    rows = conn.execute(
        select(old.c.indicator, old.c.territory, old.c.period, old.c.value.label("old_value"),
               new.c.value.label("new_value"), old.c.delivery_id.label("old_delivery"),
               old.c.status.label("old_status"), new.c.status.label("new_status"))
        .select_from(old.join(new, same_key)).where(candidates)).all()
    frame = pd.DataFrame(rows, columns=["indicator", "territory", "period", "old_value",
                                        "new_value", "old_delivery", "old_status",
                                        "new_status"])
    superseded_from = sorted({int(d) for d in frame["old_delivery"]})
    conn.execute(
        update(observations)
        .where(observations.c.superseded_by.is_(None),
               observations.c.delivery_id != delivery_id,
               observations.c.indicator.in_(list(indicators)),
               observations.c.period.in_(list(periods)),
               exists().where(and_(new.c.delivery_id == delivery_id,
                                   new.c.indicator == observations.c.indicator,
                                   new.c.territory == observations.c.territory,
                                   new.c.period == observations.c.period)))
        .values(superseded_by=delivery_id))
    old_v = frame["old_value"].astype(float)
    new_v = frame["new_value"].astype(float)
    differs = ~np.isclose(old_v, new_v, equal_nan=True) | (
        frame["old_status"] != frame["new_status"])
    changed = frame.loc[differs, ["indicator", "territory", "period", "old_value",
                                  "new_value", "old_delivery"]].reset_index(drop=True)
    return RevisionOutcome(len(frame), superseded_from, changed)


def current(conn: Connection, *, indicators: Sequence[str] | None = None,
            territories: Sequence[str] | None = None,
            periods: Sequence[str] | None = None) -> pd.DataFrame:
    """Current observations (latest delivery wins) as a DataFrame."""
    query = select(observations.c.indicator, observations.c.territory, observations.c.period,
                   observations.c.value, observations.c.numerator, observations.c.denominator,
                   observations.c.status, observations.c.delivery_id, observations.c.origin
                   ).where(observations.c.superseded_by.is_(None))
    if indicators is not None:
        query = query.where(observations.c.indicator.in_(list(indicators)))
    if territories is not None:
        query = query.where(observations.c.territory.in_(list(territories)))
    if periods is not None:
        query = query.where(observations.c.period.in_(list(periods)))
    rows = conn.execute(query).all()
    return pd.DataFrame(rows, columns=COLUMNS)


def history(conn: Connection, indicator: str, territory: str) -> pd.DataFrame:
    """Every row ever recorded for one series, superseded ones included (revision trail)."""
    rows = conn.execute(
        select(observations).where(observations.c.indicator == indicator,
                                   observations.c.territory == territory)
        .order_by(observations.c.period, observations.c.id)).all()
    return pd.DataFrame([dict(r._mapping) for r in rows])
