"""Opening a workspace for a command: settings, catalog, migrated store, clock."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from veille.catalog import Catalog, load_catalog
from veille.clock import Clock, SystemClock
from veille.config import Workspace
from veille.store import make_engine, migrate
from veille.store.catalog_mirror import sync_catalog


@dataclass
class Runtime:
    workspace: Workspace
    catalog: Catalog
    engine: Engine
    clock: Clock


def open_runtime(root: Path, clock: Clock | None = None) -> Runtime:
    """Load and check the catalog, migrate the store and mirror the catalog into it."""
    workspace = Workspace.open(root)
    workspace.ensure()
    catalog = load_catalog(workspace.catalog_dir)
    engine = make_engine(workspace.database_url,
                         busy_timeout=workspace.settings.busy_timeout_seconds)
    migrate(engine)
    with engine.begin() as conn:
        sync_catalog(conn, catalog)
    return Runtime(workspace, catalog, engine, clock or SystemClock())
