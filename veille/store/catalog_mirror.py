"""Mirror of the catalog's territories and indicators in the store, for joins and pages."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, text

from veille.catalog import Catalog
from veille.store.schema import indicators, territories


def sync_catalog(conn: Connection, catalog: Catalog) -> None:
    """Replace the mirror with the catalog's current content (in the caller's transaction).
    Workers starting together each sync: on PostgreSQL a table lock that conflicts with
    itself makes them take turns (SQLite already serialises writers)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE territories, indicators IN SHARE ROW EXCLUSIVE MODE"))
    conn.execute(delete(territories))
    conn.execute(delete(indicators))
    if catalog.territories:
        conn.execute(insert(territories), [
            {"code": t.code, "kind": t.kind.value, "name": t.name, "parent": t.parent,
             "population": t.population} for t in catalog.territories.values()])
    if catalog.indicators:
        conn.execute(insert(indicators), [
            {"code": i.code, "label": i.label, "theme": i.theme.value, "kind": i.kind.value,
             "unit": i.unit, "periodicity": i.periodicity.value, "provider": i.provider,
             "polarity": i.polarity.value} for i in catalog.indicators.values()])
