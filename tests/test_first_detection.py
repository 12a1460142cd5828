"""From an empty folder to a first detection on the Loire files, with only the commands a
user types (``first_detection.loire_path``) and the drafts' edits: `veille init` (Saint-
Étienne Métropole from INSEE's files), `veille conventions draft` on the offences and the
CAF file, `veille check`, `veille ingest --history` (offences 2016-2025, CAF 2020-2024:
each year a wave, detected in order) and `veille portrait`. The Métropole's portrait then
has a note per commune and an agglomeration note whose values are roll-ups of the
communes' (no provider delivers the EPCI), computed here with pandas from the files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import yaml
from first_detection import CAF, EDITS, OFFENCES, SEM, apply_edits, draft_path, loire_path
from loire_rollup import members
from sqlalchemy import select
from typer.testing import CliRunner

from cli.common import console
from cli.main import app
from portrait.build import build_portrait
from veille.runtime import open_runtime
from veille.store.schema import detection_runs

runner = CliRunner()


def test_the_typed_path_reaches_a_portrait_with_rolled_up_values(
        tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    console.width = 200
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    ws = tmp_path / "loire"
    drafts: dict[str, Path] = {}
    outputs = []
    for args in loire_path(ws):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        outputs.append(result.output)
        if args[:2] == ["conventions", "draft"]:
            drafts[Path(args[-1]).name] = draft_path(ws, result.output)
            apply_edits(ws, drafts[Path(args[-1]).name], EDITS[Path(args[-1]).name])
    assert "53 communes" in outputs[-1]

    runtime = open_runtime(ws)
    with runtime.engine.connect() as conn:
        runs = conn.execute(select(detection_runs.c.period, detection_runs.c.n_tests)).all()
        portrait = build_portrait(conn, runtime.catalog, "2024", now=dt.datetime.now(dt.UTC),
                                  root=SEM)
    assert {str(y) for y in range(2016, 2026)} <= {r.period for r in runs}  # every wave
    assert sum(r.n_tests for r in runs if r.period >= "2020") > 0  # tested once 4 years in
    assert "Vagues testées" in outputs[-2]
    assert len(portrait.communes) == 53 == len(members(ws, SEM))
    assert all(note.themes for note in portrait.communes)
    lines = {line.indicator.code: line for b in portrait.agglomeration.themes
             for line in b.lines}
    caf_columns = yaml.safe_load(drafts[CAF.name].read_text(encoding="utf-8"))["columns"]
    caf = pd.read_csv(CAF, sep=";", dtype=str)
    held = caf[caf["code_commune"].isin(members(ws, SEM)) & (caf["annee"] == "2024")]
    for column, mapping in caf_columns.items():
        line = lines[mapping["indicator"]]
        assert line.origin == "rollup"
        assert line.value == pytest.approx(held[column].astype(float).sum())
    offence_codes = set(yaml.safe_load(drafts[OFFENCES.name].read_text(encoding="utf-8"))
                        ["indicator_map"].values())
    assert offence_codes & set(lines)  # the offences are in the agglomeration note too
    runtime.engine.dispose()
