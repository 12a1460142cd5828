"""`veille ingest --history`: the real Loire offences export (every year 2016-2025 in one
file) recorded one wave per year and tested in order; by default only the latest year
alerts, with --alerts all every wave does, and the shifts found are the same either way."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from loire_pipeline import CLOCK, LOIRE, read_rows, write_catalog
from sqlalchemy import select
from typer.testing import CliRunner

from cli.common import console
from cli.main import app
from veille.events import ObservationsRecorded
from veille.runtime import open_runtime
from veille.store import deliveries
from veille.store.outbox import events_of
from veille.store.schema import alerts, detection_runs, shifts

runner = CliRunner()
YEARS = [str(y) for y in range(2016, 2026)]
CELL = {"cells": [{"id": "observatoire", "name": "Observatoire", "kind": "observatory",
                   "scope": ["42"], "reviewed_only": False, "schedule": "monthly"}]}
WATCH = {"subscriptions": [
    {"id": "evolutions", "owner": "observatoire", "scope": ["42"], "include": ["commune"],
     "rule": {"kind": "shift"}},
    {"id": "vols", "owner": "observatoire", "scope": ["42"], "include": ["commune"],
     "rule": {"kind": "level", "indicator": "ssmsi_vols_vehicules", "above": 100}},
]}


@pytest.fixture(autouse=True)
def wide_console() -> None:
    console.width = 200


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return read_rows()


def _workspace(root: Path, rows: list[dict[str, str]]) -> Path:
    write_catalog(root, rows)
    (root / "catalog" / "cells.yaml").write_text(yaml.safe_dump(CELL), encoding="utf-8")
    (root / "catalog" / "subscriptions.yaml").write_text(yaml.safe_dump(WATCH),
                                                         encoding="utf-8")
    return root


def _ingest(tmp_path: Path, rows, db_url: str, monkeypatch, *options: str):
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    ws = _workspace(tmp_path / "ws", rows)
    result = runner.invoke(app, ["ingest", "--history", *options, str(LOIRE), "-w", str(ws)])
    assert result.exit_code == 0, result.output
    return open_runtime(ws, clock=CLOCK)


def test_history_is_tested_wave_by_wave_and_only_the_latest_alerts(
        tmp_path, rows, db_url, monkeypatch) -> None:
    runtime = _ingest(tmp_path, rows, db_url, monkeypatch)

    with runtime.engine.connect() as conn:
        listed = deliveries.list_deliveries(conn)
        runs = conn.execute(select(detection_runs.c.period, detection_runs.c.delivery_id)
                            .order_by(detection_runs.c.delivery_id)).all()
        found = conn.execute(select(shifts.c.period, shifts.c.shift_id)).all()
        raised = conn.execute(select(alerts.c.period, alerts.c.subscription_id)).all()
    parent, *waves = listed
    assert parent.filename == LOIRE.name and parent.periods == YEARS
    assert [w.filename for w in waves] == [f"{LOIRE.name} [{y}]" for y in YEARS]
    assert sum(w.observation_count for w in waves) == parent.observation_count > 40_000
    assert [r.period for r in runs] == YEARS  # every wave tested, oldest first
    recorded = [e for e in events_of(runtime.engine, "ObservationsRecorded")
                if isinstance(e, ObservationsRecorded)]
    assert [e.quiet for e in recorded] == [True] * 9 + [False]
    earlier = [s for s in found if s.period < "2025"]
    assert earlier, "the detectors' state: shifts of earlier waves are recorded"
    assert raised and {a.period for a in raised} == {"2025"}
    assert {a.subscription_id for a in raised} == {"vols"}  # the 2020 shift alerts not


def test_alerts_all_replays_every_wave_with_the_same_shifts(
        tmp_path, rows, db_url, monkeypatch) -> None:
    quiet = _ingest(tmp_path / "a", rows, db_url, monkeypatch)
    with quiet.engine.connect() as conn:
        shifts_quiet = set(conn.execute(select(shifts.c.shift_id, shifts.c.last_period)).all())
    quiet.engine.dispose()
    if db_url.startswith("postgresql"):
        pytest.skip("one PostgreSQL database per test: the comparison runs on SQLite")
    loud = _ingest(tmp_path / "b", rows, f"sqlite:///{tmp_path / 'b.db'}", monkeypatch,
                   "--alerts", "all")
    with loud.engine.connect() as conn:
        shifts_loud = set(conn.execute(select(shifts.c.shift_id, shifts.c.last_period)).all())
        periods = {r.period for r in conn.execute(select(alerts.c.period))}
        subscriptions = {r.subscription_id
                         for r in conn.execute(select(alerts.c.subscription_id))}
    assert shifts_loud == shifts_quiet
    assert "2016" in periods and "evolutions" in subscriptions  # earlier waves alert


def test_a_history_file_already_received_is_a_duplicate(tmp_path, rows, db_url,
                                                         monkeypatch) -> None:
    runtime = _ingest(tmp_path, rows, db_url, monkeypatch)
    again = runner.invoke(app, ["ingest", "--history", str(LOIRE), "-w",
                                str(runtime.workspace.root)])
    assert "duplicate (no change)" in again.output
    with runtime.engine.connect() as conn:
        assert len(deliveries.list_deliveries(conn)) == 1 + len(YEARS)
