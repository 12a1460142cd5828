"""Deliveries through the pipeline: archive, accept, quarantine, duplicates, revisions,
crash recovery, drop folder and freshness — on real SQLite and PostgreSQL stores."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cli.jobs import ingest_files, watch_folder
from factories import QUARTIERS, caf_file, write_catalog
from veille.clock import FixedClock
from veille.runtime import Runtime, open_runtime
from veille.store import deliveries
from veille.store import observations as obs
from veille.store.outbox import count_events, events_of
from veille.store.schema import observations

CLOCK = FixedClock(dt.datetime(2024, 6, 20, 9, tzinfo=dt.UTC))


@pytest.fixture
def runtime(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    return open_runtime(write_catalog(tmp_path / "ws"), clock=CLOCK)


def _observation_count(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(observations)).scalar() or 0)


def test_accepted_delivery_is_archived_recorded_and_announced(runtime: Runtime,
                                                              tmp_path: Path) -> None:
    path = caf_file(tmp_path, "2024-03")
    summary = ingest_files(runtime, [path])
    assert summary.accepted == 1 and summary.quarantined == 0
    assert _observation_count(runtime) == 3 * len(QUARTIERS)
    received = summary.outcomes[0][1].event
    assert Path(received.archive_path).read_bytes() == path.read_bytes()
    assert received.content_hash in received.archive_path
    with runtime.engine.connect() as conn:
        row = deliveries.get(conn, received.delivery_id)
        current = obs.current(conn, indicators=["part_rsa"])
    assert row.status == "accepted" and row.periods == ["2024-03"]
    assert sorted(row.indicators) == ["caf_alloc", "caf_rsa", "part_rsa"]
    assert current["numerator"].notna().all() and current["denominator"].notna().all()
    counts = count_events(runtime.engine)
    assert counts["DeliveryReceived"] == 1 and counts["ObservationsRecorded"] == 1


def test_redropping_the_same_file_changes_nothing(runtime: Runtime, tmp_path: Path) -> None:
    path = caf_file(tmp_path, "2024-03")
    ingest_files(runtime, [path])
    before = (_observation_count(runtime), count_events(runtime.engine))
    again = ingest_files(runtime, [path])
    assert again.duplicates == 1 and again.received == 0
    assert (_observation_count(runtime), count_events(runtime.engine)) == before


def test_bad_file_is_quarantined_whole_with_a_report(runtime: Runtime, tmp_path: Path) -> None:
    rows = {q: ("400", "40", "10,0") for q in QUARTIERS}
    rows["Q-UN-SUD"] = ("400", "quarante", "10,0")
    rows["Q-INCONNU"] = ("100", "10", "10,0")
    path = caf_file(tmp_path, "2024-04", rows)
    summary = ingest_files(runtime, [path])
    assert summary.quarantined == 1 and summary.accepted == 0
    assert _observation_count(runtime) == 0
    event = events_of(runtime.engine, "DeliveryQuarantined")[0]
    assert event.provider == "caf"
    assert event.problem_count == 2
    report = Path(event.report_path)
    assert report.exists() and report.parent.parent == runtime.workspace.quarantine
    text = report.read_text(encoding="utf-8")
    assert "quarante" in text and "Q-INCONNU" in text
    with runtime.engine.connect() as conn:
        problems = deliveries.problems_of(conn, event.delivery_id)
    by_value = {p["value"]: p for p in problems}
    assert by_value["quarante"]["column"] == "RSA" and by_value["quarante"]["line"] == 4
    assert by_value["Q-INCONNU"]["line"] == 7


def test_file_without_convention_is_quarantined_naming_known_ones(runtime: Runtime,
                                                                  tmp_path: Path) -> None:
    path = caf_file(tmp_path, "2024-03", name="export_inconnu.csv")
    summary = ingest_files(runtime, [path])
    assert summary.quarantined == 1
    event = events_of(runtime.engine, "DeliveryQuarantined")[0]
    assert "caf-mensuel" in event.summary[0] and "police-trim" in event.summary[0]
    assert _observation_count(runtime) == 0


def test_revision_supersedes_keeps_history_and_is_announced(runtime: Runtime,
                                                            tmp_path: Path) -> None:
    ingest_files(runtime, [caf_file(tmp_path, "2024-03")])
    corrected = {q: (str(400 + 10 * i), str(40 + i), f"{(40 + i) / (400 + 10 * i) * 100:.1f}"
                     .replace(".", ",")) for i, q in enumerate(QUARTIERS)}
    corrected["Q-DEUX-EST"] = ("420", "55", "13,1")
    summary = ingest_files(runtime, [caf_file(tmp_path, "2024-03", corrected,
                                              name="caf_2024-03_rectificatif.csv")])
    assert summary.accepted == 1
    revised = events_of(runtime.engine, "DeliveryRevised")
    assert len(revised) == 1
    assert sorted(map(tuple, revised[0].changed_series)) == [
        ("caf_rsa", "Q-DEUX-EST"), ("part_rsa", "Q-DEUX-EST")]
    assert revised[0].superseded_deliveries == [summary.outcomes[0][1].event.delivery_id - 1]
    with runtime.engine.connect() as conn:
        current = obs.current(conn, indicators=["caf_rsa"], territories=["Q-DEUX-EST"])
        trail = obs.history(conn, "caf_rsa", "Q-DEUX-EST")
    assert current["value"].tolist() == [55.0]
    assert trail["value"].tolist() == [42.0, 55.0]
    assert _observation_count(runtime) == 2 * 3 * len(QUARTIERS)


def test_crash_after_receive_resumes_on_redrop(runtime: Runtime, tmp_path: Path) -> None:
    from connectors.receive import receive

    path = caf_file(tmp_path, "2024-03")
    first = receive(path, workspace=runtime.workspace, catalog=runtime.catalog,
                    engine=runtime.engine, clock=CLOCK)
    assert not first.duplicate and _observation_count(runtime) == 0
    summary = ingest_files(runtime, [path])
    assert summary.accepted == 1 and _observation_count(runtime) == 12


def test_failure_while_writing_leaves_nothing_half_written(runtime: Runtime, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           ) -> None:
    import connectors.ingest as ingest_module

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_module.obs_store, "supersede", broken)
    path = caf_file(tmp_path, "2024-03")
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_files(runtime, [path])
    assert _observation_count(runtime) == 0
    assert count_events(runtime.engine).get("ObservationsRecorded", 0) == 0
    monkeypatch.undo()
    assert ingest_files(runtime, [path]).accepted == 1
    assert _observation_count(runtime) == 12


def test_drop_folder_ingests_and_moves_files(runtime: Runtime, tmp_path: Path) -> None:
    drop = tmp_path / "depot"
    drop.mkdir()
    caf_file(drop, "2024-03")
    caf_file(drop, "2024-04")
    total = watch_folder(runtime, drop, once=True, quiet=0)  # just written: no quiet period
    assert total.accepted == 2
    assert sorted(p.name for p in (drop / "processed").iterdir()) == [
        "caf_2024-03.csv", "caf_2024-04.csv"]
    assert not [p for p in drop.iterdir() if p.is_file()]


def test_freshness_flags_late_conventions_once(runtime: Runtime, tmp_path: Path) -> None:
    from connectors.freshness import emit_overdue, freshness

    ingest_files(runtime, [caf_file(tmp_path, "2024-03")])
    state = {f.convention_id: f for f in freshness(runtime.catalog, runtime.engine, CLOCK)}
    caf = state["caf-mensuel"]
    # April is due 40 days after 30 April = 9 June; on 20 June it is 11 days late.
    assert (caf.last_period, caf.expected_period, caf.days_late) == ("2024-03", "2024-04", 11)
    assert caf.due_date == dt.date(2024, 6, 9)
    police = state["police-trim"]
    assert police.last_period is None and police.overdue
    first = emit_overdue(runtime.catalog, runtime.engine, CLOCK)
    assert {e.convention_id for e in first} == {"caf-mensuel", "police-trim"}
    assert emit_overdue(runtime.catalog, runtime.engine, CLOCK) == []
    on_time = FixedClock(dt.datetime(2024, 5, 1, tzinfo=dt.UTC))
    assert not {f.convention_id: f for f in freshness(
        runtime.catalog, runtime.engine, on_time)}["caf-mensuel"].overdue
