"""What every routing step shares: the routing context (catalog, cells, indexed
subscriptions), an alert's natural key, and the values a rule may see (secrecy applied)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from thresholds.index import SubscriptionIndex
from thresholds.subscriptions import SubscriptionSet
from veille.catalog import Catalog
from veille.store import masks
from veille.store import observations as obs_store


@dataclass
class Routing:
    """The routing context: catalog, cells and indexed subscriptions (reloadable)."""

    catalog: Catalog
    index: SubscriptionIndex

    @classmethod
    def build(cls, catalog: Catalog, subscriptions: SubscriptionSet) -> Routing:
        return cls(catalog, SubscriptionIndex.build(catalog, subscriptions))

    @property
    def cells(self) -> dict:
        return self.index.cells

    def name(self, code: str) -> str:
        territory = self.catalog.territories.get(code)
        return territory.name if territory is not None else code

    def label(self, indicator: str) -> str:
        ind = self.catalog.indicators.get(indicator)
        return ind.label if ind is not None else indicator

    def unit(self, indicator: str) -> str:
        ind = self.catalog.indicators.get(indicator)
        return ind.unit if ind is not None else ""


def dedup_key(cell_id: str, rule_id: str, indicator: str, territory: str, period: str) -> str:
    """The natural key of an alert: one per cell, rule, series and period."""
    return f"{cell_id}|{rule_id}|{indicator}|{territory}|{period}"


def published(conn: Connection, catalog: Catalog, indicator: str, periods: list[str],
              ) -> dict[tuple[str, str], float | None]:
    """(territory, period) -> value that may be shown (secrecy applied), for one indicator."""
    frame = obs_store.current(conn, indicators=[indicator], periods=periods)
    shown = masks.published_values(conn, frame, catalog)
    return {(t, p): v for (_, t, p), v in shown.items()}
