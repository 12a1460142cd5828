"""Roll-ups written in the delivery's own transaction: the parents a delivery's parts
change are recomputed (``connectors.rollup``) and supersede the roll-ups they replace."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection

from connectors.rollup import needed, roll_up
from veille.catalog import Catalog
from veille.store import observations as obs_store


def rollup_parents(conn: Connection, catalog: Catalog, frame: pd.DataFrame, delivery_id: int,
                   indicators: list[str], periods: list[str]) -> obs_store.RevisionOutcome:
    """Write the parents' roll-ups the delivery changes (``connectors.rollup``), in the
    delivery's transaction, superseding the roll-ups they replace."""
    touched = set(frame["territory"])
    if not needed(catalog, touched):
        return obs_store.RevisionOutcome(0, [], pd.DataFrame())
    current = obs_store.current(conn, indicators=indicators, periods=periods)
    rows = roll_up(current, catalog, touched)
    if rows.empty:
        return obs_store.RevisionOutcome(0, [], pd.DataFrame())
    obs_store.bulk_insert(conn, rows, delivery_id)
    return obs_store.supersede(conn, delivery_id, indicators, periods)
