"""The bus gives exactly what the embedded runner gives, on the demo's first deliveries
(the six backfills, then monthly and quarterly waves up to the first revision and the first
shifts: DEMO_SLICE files; the full 70 would take minutes on the bus)."""

from __future__ import annotations

from pathlib import Path

from conftest import Pipeline

DEMO_SLICE = 40


def test_bus_equals_embedded(tmp_path: Path, pg_factory, broker: str, start_worker) -> None:  # type: ignore[no-untyped-def]
    embedded = Pipeline(tmp_path / "embedded", pg_factory(), DEMO_SLICE)
    embedded.run_embedded()
    expected = embedded.snapshot()
    assert expected["shifts"], "the slice must hold shifts, or the test proves little"
    assert expected["alerts"] and expected["digests"] and expected["log"]

    bus = Pipeline(tmp_path / "bus", pg_factory(), DEMO_SLICE)
    start_worker(bus.root, bus.db_url)
    bus.publish(broker)
    got = bus.snapshot()
    for table in expected:
        assert got[table] == expected[table], table
