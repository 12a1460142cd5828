"""A quarantined delivery is re-processed from its archived bytes once its convention is
fixed: a new attempt of the same delivery, both reports kept, on both databases. Sending the
same bytes again is a duplicate, and the report and the CLI say what to do instead."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from loire_pipeline import CLOCK, read_rows, write_catalog, yearly_deliveries
from typer.testing import CliRunner

from cli.jobs import ingest_files
from cli.main import app
from connectors.retry import RetryRefused, retry_delivery
from veille.events import DeliveryReceived
from veille.runtime import open_runtime
from veille.store import deliveries
from veille.store.outbox import events_of

runner = CliRunner()
LABEL = "Violences sexuelles"


@pytest.fixture
def broken(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The Loire workspace whose convention forgot one of the file's labels, and the real
    2024 offences file of the département."""
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    rows = [r for r in read_rows() if r["annee"] == "2024"]
    ws = tmp_path / "ws"
    write_catalog(ws, rows)
    convention = next((ws / "catalog" / "conventions").glob("*.yaml"))
    data = yaml.safe_load(convention.read_text(encoding="utf-8"))
    data["indicator_map"].pop(LABEL)
    convention.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    glossary = ws / "catalog" / "glossary.yaml"
    entries = yaml.safe_load(glossary.read_text(encoding="utf-8"))
    entries["indicators"] = [e for e in entries["indicators"]
                             if e["code"] != "ssmsi_violences_sexuelles"]
    glossary.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    (path,) = yearly_deliveries(rows, tmp_path / "deliveries")
    return ws, path


def _fix(ws: Path) -> None:
    convention = next((ws / "catalog" / "conventions").glob("*.yaml"))
    data = yaml.safe_load(convention.read_text(encoding="utf-8"))
    data["ignore_indicators"].append(LABEL)
    convention.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_a_quarantined_file_is_retried_after_its_convention_is_fixed(broken) -> None:
    ws, path = broken
    runtime = open_runtime(ws, clock=CLOCK)
    first = ingest_files(runtime, [path])
    delivery = first.outcomes[0][1].event.delivery_id
    with runtime.engine.connect() as conn:
        row = deliveries.get(conn, delivery)
    assert row.status == "quarantined" and row.problem_count == 1
    report = Path(str(row.report_path))
    assert f"veille deliveries retry {delivery}" in report.read_text(encoding="utf-8")

    again = runner.invoke(app, ["ingest", str(path), "-w", str(ws)])
    said = " ".join(again.output.split())
    assert f"Doublon {path.name}" in said and f"veille deliveries retry {delivery}" in said

    _fix(ws)
    done = runner.invoke(app, ["deliveries", "retry", str(delivery), "-w", str(ws)])

    assert done.exit_code == 0, done.output
    assert "tentative 2 : acceptée" in done.output
    runtime = open_runtime(ws, clock=CLOCK)
    with runtime.engine.connect() as conn:
        row = deliveries.get(conn, delivery)
        attempts = deliveries.attempts_of(conn, delivery)
        assert deliveries.problems_of(conn, delivery) == []
    assert row.status == "accepted" and row.observation_count > 4000
    assert [(a["attempt"], a["status"], a["problem_count"]) for a in attempts] == [
        (1, "quarantined", 1)]
    kept = Path(attempts[0]["report_path"])
    assert kept.parent.name == "tentative-1" and LABEL in kept.read_text(encoding="utf-8")
    assert report.is_file()  # the quarantine report stays where the provider was told
    received = [e for e in events_of(runtime.engine, "DeliveryReceived")
                if isinstance(e, DeliveryReceived) and e.delivery_id == delivery]
    assert [e.attempt for e in received] == [1, 2]
    assert len(events_of(runtime.engine, "ObservationsRecorded")) == 1

    with pytest.raises(RetryRefused, match=r"acceptée|accepted"):
        retry_delivery(delivery, workspace=runtime.workspace, catalog=runtime.catalog,
                       engine=runtime.engine, clock=runtime.clock)


def test_a_retry_that_fails_again_keeps_both_reports(broken) -> None:
    ws, path = broken
    runtime = open_runtime(ws, clock=CLOCK)
    delivery = ingest_files(runtime, [path]).outcomes[0][1].event.delivery_id

    done = runner.invoke(app, ["deliveries", "retry", str(delivery), "-w", str(ws)])

    assert done.exit_code == 1, done.output
    with runtime.engine.connect() as conn:
        row = deliveries.get(conn, delivery)
        attempts = deliveries.attempts_of(conn, delivery)
    assert row.status == "quarantined" and row.problem_count == 1
    assert Path(str(row.report_path)).is_file() and Path(attempts[0]["report_path"]).is_file()
    assert len(events_of(runtime.engine, "DeliveryQuarantined")) == 2
    missing = runner.invoke(app, ["deliveries", "retry", "999", "-w", str(ws)])
    assert missing.exit_code == 2 and "n'existe pas" in missing.output
