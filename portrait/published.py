"""Values as they may leave the system: the store's current observations with the
publication's persisted mask (``veille.store.masks``) applied.

The portrait and every web page read values through here, never straight from the store,
so that a masked value (primary or complementary) cannot reach a page, a chart or a PDF,
and every page shows the same mask as the digests and alerts.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from veille import secrecy
from veille.catalog import Catalog
from veille.store import masks
from veille.store.schema import deliveries, observations

COLUMNS = ["indicator", "territory", "period", "value", "numerator", "denominator",
           "status", "delivery_id", "origin"]


@dataclass
class Published:
    """Per (indicator, territory): period -> value, ``None`` where secrecy masks it.

    Only periods that exist in the store appear; a masked period is present with None, so a
    chart can show a gap and a table can say *secret*.
    """

    series: dict[tuple[str, str], dict[str, float | None]] = field(default_factory=dict)
    delivery_of: dict[tuple[str, str, str], int] = field(default_factory=dict)
    origin_of: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """(indicator, territory, period) -> 'rollup' or 'estimate'; delivered values are absent."""

    unknown: set[tuple[str, str, str]] = field(default_factory=set)
    """Roll-ups with a secret or missing part: unknown, which is not secret."""

    def origin(self, indicator: str, territory: str, period: str) -> str:
        return self.origin_of.get((indicator, territory, period), "delivered")

    def value(self, indicator: str, territory: str, period: str) -> float | None:
        return self.series.get((indicator, territory), {}).get(period)

    def is_masked(self, indicator: str, territory: str, period: str) -> bool:
        points = self.series.get((indicator, territory), {})
        return period in points and points[period] is None

    def points(self, indicator: str, territory: str) -> dict[str, float | None]:
        return self.series.get((indicator, territory), {})

    def merge(self, other: Published) -> None:
        self.series.update(other.series)
        self.delivery_of.update(other.delivery_of)
        self.origin_of.update(other.origin_of)
        self.unknown.update(other.unknown)


def from_frame(frame: pd.DataFrame, catalog: Catalog,
               hidden_keys: Collection[tuple[str, str, str]] | None = None) -> Published:
    """``frame`` (current observations of whole indicators and periods) with the cells of
    ``hidden_keys`` masked (the persisted mask), or, without it, the secrecy rule applied
    to ``frame`` alone."""
    out = Published()
    if frame.empty:
        return out
    if hidden_keys is None:
        masked = secrecy.mask(frame, catalog)
    else:
        masked = frame.assign(masked=[k in hidden_keys for k in zip(
            frame["indicator"], frame["territory"], frame["period"], strict=True)])
    values = masked["value"].to_numpy(dtype=float)
    hidden = masked["masked"].to_numpy(dtype=bool)
    origins = (masked["origin"] if "origin" in masked.columns
               else pd.Series("delivered", index=masked.index))
    for i, (ind, ter, per, dlv, origin, status) in enumerate(zip(
            masked["indicator"], masked["territory"], masked["period"], masked["delivery_id"],
            origins, masked["status"], strict=True)):
        v = values[i]
        out.series.setdefault((ind, ter), {})[per] = (
            None if hidden[i] or math.isnan(v) else float(v))
        out.delivery_of[(ind, ter, per)] = int(dlv)
        if origin != "delivered":
            out.origin_of[(ind, ter, per)] = str(origin)
            if status == "missing":
                out.unknown.add((ind, ter, per))
    for key, points in out.series.items():
        out.series[key] = dict(sorted(points.items()))
    return out


def load(conn: Connection, catalog: Catalog, indicators: Sequence[str],
         periods: Sequence[str] | None = None) -> Published:
    """Published values of ``indicators`` for every territory (secrecy needs the whole
    tree: parents and siblings), optionally only at ``periods``."""
    if not indicators:
        return Published()
    shown = masks.hidden(conn, catalog, indicators, periods)
    return from_frame(current(conn, indicators, periods), catalog, shown)


def current(conn: Connection, indicators: Sequence[str],
            periods: Sequence[str] | None = None) -> pd.DataFrame:
    """Current observations, as ``veille.store.observations.current`` returns them, built
    from plain tuples (pandas inspects SQLAlchemy rows one attribute at a time: 4x slower)."""
    query = select(*(observations.c[name] for name in COLUMNS)).where(
        observations.c.superseded_by.is_(None), observations.c.indicator.in_(list(indicators)))
    if periods is not None:
        query = query.where(observations.c.period.in_(list(periods)))
    rows = [tuple(r) for r in conn.execute(query)]
    return pd.DataFrame.from_records(rows, columns=COLUMNS)


class PublishedCache:
    """Per-indicator cache of published values for a long-running web process.

    Masking an indicator costs tens of milliseconds; the review queue touches dozens of
    indicators on every view. The cache is dropped whenever a delivery is recorded (a new
    delivery id), which is the only way observations change.
    """

    def __init__(self, engine: Engine, catalog: Catalog) -> None:
        self.engine = engine
        self.catalog = catalog
        self._lock = threading.Lock()
        self._version: int | None = None
        self._by_indicator: dict[str, Published] = {}

    def _current_version(self, conn: Connection) -> int:
        return int(conn.execute(select(func.max(deliveries.c.id))).scalar() or 0)

    def get(self, indicators: Iterable[str]) -> Published:
        wanted = sorted(set(indicators))
        with self.engine.begin() as conn, self._lock:
            version = self._current_version(conn)
            if version != self._version:
                self._by_indicator = {}
                self._version = version
            missing = [i for i in wanted if i not in self._by_indicator]
            if missing:
                frame = current(conn, missing)
                shown = masks.hidden(conn, self.catalog, missing)
                for ind, part in frame.groupby("indicator", sort=False):
                    self._by_indicator[str(ind)] = from_frame(part, self.catalog, shown)
                for ind in missing:
                    self._by_indicator.setdefault(ind, Published())
            out = Published()
            for ind in wanted:
                out.merge(self._by_indicator[ind])
        return out

    def warm(self) -> None:
        """Fill the cache for every indicator (run in a background thread at start)."""
        self.get(self.catalog.indicators)
