"""A provider file that still uses the old code of a merged commune: read as today's commune
and counted in the report, or refused, as the convention says (workspace from `veille
init` on the real COG, rows from the real Loire offences file)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
import yaml
from conftest import CONVENTIONS, DATA
from typer.testing import CliRunner

from cli.common import console
from cli.main import app
from connectors.mapping import parse_delivery
from veille.catalog import load_catalog
from veille.clock import FixedClock

runner = CliRunner()
OFFENCES = DATA / "loire-42-ssmsi-caf-filosofi-rouages" / "DERIVED_42_delinquance_long.csv"
GENILAC, LA_CULA = "42225", "42080"  # La Cula merged into Genilac (COG 2025: COMD)


@pytest.fixture(autouse=True)
def wide_console() -> None:
    console.width = 200


def workspace(root: Path, former_codes: str) -> Path:
    ws = root / "ws"
    result = runner.invoke(app, [
        "init", "-w", str(ws), "-t", "244200770",
        "--cog", str(DATA / "insee-cog-2025" / "v_commune_2025.csv"),
        "--epci", str(DATA / "insee-epci-2025" / "epci.json")])
    assert result.exit_code == 0, result.output
    convention = yaml.safe_load((CONVENTIONS / "ssmsi_delinquance_loire.yaml")
                                .read_text(encoding="utf-8"))
    convention["former_codes"] = former_codes
    catalog = ws / "catalog"
    (catalog / "conventions" / "ssmsi.yaml").write_text(
        yaml.safe_dump(convention, allow_unicode=True), encoding="utf-8")
    (catalog / "glossary.yaml").write_text(yaml.safe_dump({"indicators": [
        {"code": code, "label": label, "definition": label, "theme": "securite",
         "unit": "faits", "kind": "count", "polarity": "up_is_bad", "periodicity": "annual",
         "provider": "ssmsi"} for label, code in convention["indicator_map"].items()]},
        allow_unicode=True), encoding="utf-8")
    (catalog / "providers.yaml").write_text(yaml.safe_dump(
        {"providers": [{"id": "ssmsi", "name": "SSMSI"}]}), encoding="utf-8")
    return ws


def delivery(root: Path, ws: Path) -> Path:
    """The 2025 rows of the workspace's communes, Genilac's under La Cula's old code."""
    communes = {r["code"] for r in csv.DictReader(
        (ws / "catalog" / "territories.csv").open(encoding="utf-8"), delimiter=";")}
    with OFFENCES.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        rows = [r for r in reader if r["annee"] == "2025" and r["code_commune"] in communes]
        columns = reader.fieldnames or []
    for r in rows:
        if r["code_commune"] == GENILAC:
            r["code_commune"] = LA_CULA
    path = root / "2025_42_delinquance_long.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter=";", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_an_old_code_is_mapped_to_todays_commune_and_counted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_DATABASE_URL", f"sqlite:///{tmp_path / 'v.db'}")
    ws = workspace(tmp_path, "map")
    path = delivery(tmp_path, ws)
    catalog = load_catalog(ws / "catalog")
    parsed = parse_delivery(path, catalog.conventions["ssmsi-delinquance-loire"], catalog,
                            clock=FixedClock(dt.datetime(2026, 6, 15, tzinfo=dt.UTC)))
    assert parsed.ok, parsed.problems[:3]
    assert dict(parsed.former_codes) == {f"{LA_CULA} -> {GENILAC}": 15}
    assert (parsed.observations["territory"] == GENILAC).sum() == 14  # one label is ignored
    assert not (parsed.observations["territory"] == LA_CULA).any()
    result = runner.invoke(app, ["ingest", str(path), "-w", str(ws)])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert f"Remarques {path.name} : " in out
    report = Path(out.split(f"Remarques {path.name} : ")[1].split()[0]).read_text(
        encoding="utf-8")
    assert "Former codes of merged communes read as today's commune : 15" in report
    assert f"{LA_CULA} -> {GENILAC} : 15" in report


def test_a_convention_that_refuses_old_codes_quarantines_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_DATABASE_URL", f"sqlite:///{tmp_path / 'v.db'}")
    ws = workspace(tmp_path, "refuse")
    path = delivery(tmp_path, ws)
    result = runner.invoke(app, ["ingest", str(path), "-w", str(ws)])
    assert result.exit_code == 1, result.output
    report = next((ws / "quarantine").rglob("*.rapport.txt")).read_text(encoding="utf-8")
    assert "Ancien code de commune fusionnée / Former code of a merged commune" in report
    assert f"'{LA_CULA}' is the former code of a merged commune, now '{GENILAC}'" in report
