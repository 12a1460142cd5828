"""The store on SQLite and PostgreSQL: migrations, bulk writes, revisions, event log."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, inspect, select

from veille.events import DeliveryOverdue, ObservationsRecorded
from veille.store import deliveries, make_engine, migrate
from veille.store import observations as obs
from veille.store.outbox import advance, pending, record_event
from veille.store.schema import observations

NOW = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)


def _delivery(conn, digest: str) -> int:
    return deliveries.record_received(conn, content_hash=digest, convention_id="c",
                                      filename=f"{digest}.csv", received_at=NOW,
                                      archive_path="/dev/null", size_bytes=1)


def _frame(values: list[float | None], period: str = "2025-01") -> pd.DataFrame:
    return pd.DataFrame({
        "indicator": ["rsa"] * len(values), "territory": [f"T{i}" for i in range(len(values))],
        "period": [period] * len(values),
        "value": [np.nan if v is None else v for v in values],
        "numerator": np.nan, "denominator": np.nan,
        "status": ["secret" if v is None else "ok" for v in values]})


def test_migrate_creates_schema_and_is_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"deliveries", "observations", "events", "delivery_problems",
            "territories", "indicators", "alembic_version"} <= tables


def test_bulk_insert_keeps_secret_as_null(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        d = _delivery(conn, "a" * 64)
        assert obs.bulk_insert(conn, _frame([10.0, None, 3.0]), d) == 3
    with engine.connect() as conn:
        rows = conn.execute(select(observations.c.territory, observations.c.value,
                                   observations.c.status).order_by(observations.c.territory)
                            ).all()
    assert [(r.territory, r.value, r.status) for r in rows] == [
        ("T0", 10.0, "ok"), ("T1", None, "secret"), ("T2", 3.0, "ok")]


def test_revision_supersedes_and_keeps_history(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        first = _delivery(conn, "b" * 64)
        obs.bulk_insert(conn, _frame([10.0, 20.0, 30.0]), first)
        assert obs.supersede(conn, first, ["rsa"], ["2025-01"]).superseded_rows == 0
    with engine.begin() as conn:
        second = _delivery(conn, "c" * 64)
        obs.bulk_insert(conn, _frame([10.0, 25.0, 30.0]), second)
        outcome = obs.supersede(conn, second, ["rsa"], ["2025-01"])
    assert outcome.superseded_rows == 3
    assert outcome.superseded_deliveries == [first]
    assert outcome.changed[["territory", "old_value", "new_value"]].values.tolist() == [
        ["T1", 20.0, 25.0]]
    with engine.connect() as conn:
        current = obs.current(conn, indicators=["rsa"])
        trail = obs.history(conn, "rsa", "T1")
    assert sorted(current["value"].tolist()) == [10.0, 25.0, 30.0]
    assert set(current["delivery_id"]) == {second}
    assert trail["value"].tolist() == [20.0, 25.0]
    assert trail["superseded_by"].tolist()[0] == second


def test_events_are_recorded_once_and_consumed_in_order(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    overdue = DeliveryOverdue(occurred_at=NOW, convention_id="c", provider="p",
                              expected_period="2025-01", due_date="2025-02-10", days_late=19,
                              last_period="2024-12")
    recorded = ObservationsRecorded(occurred_at=NOW, delivery_id=1, content_hash="h",
                                    convention_id="c", periods=["2025-01"], indicators=["rsa"],
                                    observation_count=3, secret_count=1, series_count=3)
    with engine.begin() as conn:
        assert record_event(conn, overdue) is True
        assert record_event(conn, overdue) is False
        assert record_event(conn, recorded) is True
    todo = pending(engine, "detect", ["ObservationsRecorded", "DeliveryOverdue"])
    assert [type(e).__name__ for _, e in todo] == ["DeliveryOverdue", "ObservationsRecorded"]
    assert todo[1][1] == recorded
    with engine.begin() as conn:
        advance(conn, "detect", todo[0][0])
    assert [e for _, e in pending(engine, "detect", ["ObservationsRecorded",
                                                      "DeliveryOverdue"])] == [recorded]


def test_unique_content_hash(db_url: str) -> None:
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        _delivery(conn, "d" * 64)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _delivery(conn, "d" * 64)


def test_concurrent_catalog_syncs_take_turns(db_url: str, tmp_path) -> None:
    """Two workers starting at once both mirror the catalog: neither may fail."""
    import threading

    from factories import write_catalog
    from veille.catalog import load_catalog
    from veille.store.catalog_mirror import sync_catalog
    from veille.store.schema import territories

    catalog = load_catalog(write_catalog(tmp_path) / "catalog")
    engine = make_engine(db_url)
    migrate(engine)
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def sync() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                with engine.begin() as conn:
                    sync_catalog(conn, catalog)
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=sync) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(territories)).scalar()
    assert count == len(catalog.territories)
