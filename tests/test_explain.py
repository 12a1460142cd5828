"""Every series of a wave tested or told why not, and any series explained from the wave's
record: seeded data (`seeded_wave`), SQLite and PostgreSQL, through the CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import seeded_wave as sw
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from detectors.fdr import bh_threshold
from detectors.untested import Untested, series_reason
from detectors.wave_record import dense
from veille.runtime import Runtime
from veille.store import series_tests as test_store
from veille.store.schema import detection_runs, shifts


@pytest.fixture
def seeded(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    runtime = sw.run(tmp_path)
    yield runtime
    runtime.engine.dispose()


def cli(runtime: Runtime, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "-w", str(runtime.workspace.root)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def _run(runtime: Runtime) -> dict:
    with runtime.engine.connect() as conn:
        return dict(conn.execute(select(detection_runs)).one()._mapping)


def test_untested_series_are_recorded_with_their_reason(seeded: Runtime) -> None:
    run = _run(seeded)
    assert run["untested"] == dict(Counter(sw.EXPECTED_REASONS.values()))
    assert run["n_tested"] == len(sw.SERIES) - len(sw.EXPECTED_REASONS)
    with seeded.engine.connect() as conn:
        (block,) = test_store.read_wave(conn, run["delivery_id"])
    reasons = series_reason(block.arrays["untested"])
    fate = {str(t): Untested(int(r)).code
            for t, r in zip(block.arrays["territory"], reasons, strict=True)}
    assert fate == {code: sw.EXPECTED_REASONS.get(code, "tested") for code in sw.SERIES}
    # the secret 2024 cell and the roll-up it makes unknown are not in the wave's batch,
    # but they are in the record
    assert run["n_series"] == len(sw.SERIES) - 2
    # the gap test of every commune: the agglomeration has no value at 2024
    tested = reasons == Untested.TESTED
    assert (block.arrays["untested"][tested, 3] == Untested.NO_PARENT).all()

    listed = json.loads(cli(seeded, "shifts", "--untested", "--wave",
                            str(run["delivery_id"]), "--json"))
    assert {(s["territory"], s["reason"]) for s in listed["series"]} == set(
        sw.EXPECTED_REASONS.items())
    text = cli(seeded, "shifts", "--untested")
    for words in ("effectifs trop faibles", "historique trop court",
                  "pas de valeur publiée à cette période"):
        assert words in text
    assert "Séries testées et non testées, par vague" in text


def _explain(runtime: Runtime, territory: str) -> dict:
    (found,) = json.loads(cli(runtime, "explain", sw.INDICATOR, territory, "2024", "--json"))
    return found


def test_explain_flagged_and_unflagged_series_from_the_stored_tests(seeded: Runtime) -> None:
    run = _run(seeded)
    with seeded.engine.connect() as conn:
        (block,) = test_store.read_wave(conn, run["delivery_id"])
        recorded = [dict(r._mapping) for r in conn.execute(select(shifts))]
    a = dense(block.arrays, block.details)
    confirmed = a["p"][np.isfinite(a["p"])]
    # the wave's BH threshold is BH's over its m tests (the unconfirmed ones at p = 1)
    family = np.concatenate([confirmed, np.ones(run["n_tests"] - confirmed.size)])
    assert run["bh_threshold"] == pytest.approx(bh_threshold(family, run["q"]), rel=0, abs=0)
    assert run["bh_threshold"] > 0

    flagged = _explain(seeded, sw.BIG)
    row = block.row(sw.BIG)
    assert flagged["reported"] and flagged["verdict"].startswith("Signalée")
    assert [t["p"] for t in flagged["tests"][:3]] == a["p"][row, :3].tolist()
    assert flagged["threshold"] == run["bh_threshold"] and flagged["m"] == run["n_tests"]
    (shift,) = [s for s in recorded if s["territory"] == sw.BIG]
    kind = "spike" if shift["kind"] in ("spike", "dip") else shift["kind"]
    line = next(t for t in flagged["tests"] if t["kind"] == kind)
    assert line["p"] == shift["p_value"] <= flagged["threshold"]
    assert line["q"] == pytest.approx(shift["q_value"])
    assert line["detail"]["method"] == shift["method"]
    assert "Comptage (quasi-Poisson)" in flagged["variance"]

    # confirmed but not reported: its best p is above the wave's threshold
    missed = [str(t) for i, t in enumerate(a["territory"])
              if np.isfinite(a["p"][i]).any() and not a["reported"][i].any()]
    assert missed, "the seed must hold a confirmed, unreported series"
    near = _explain(seeded, missed[0])
    best = min(t["p"] for t in near["tests"] if t["p"] is not None)
    assert not near["reported"] and best > near["threshold"]
    assert near["verdict"].startswith("Non signalée : sa plus petite p-valeur")
    assert best == np.nanmin(a["p"][block.row(missed[0])])

    # screened out: approximate p-values only, the screen's cutoff named
    quiet = _explain(seeded, sw.ORDINARY[3])
    row = block.row(sw.ORDINARY[3])
    assert all(t["p"] is None for t in quiet["tests"])
    assert [t["screen_p"] for t in quiet["tests"][:3]] == pytest.approx(
        a["screen_p"][row, :3].tolist())
    assert min(t["screen_p"] for t in quiet["tests"][:3]) > run["screen_cutoff"]
    assert "au tri" in quiet["verdict"]

    # untested: the reason, no threshold to meet
    tiny = _explain(seeded, sw.TINY)
    assert not tiny["tested"] and "effectifs trop faibles" in tiny["verdict"]

    text = cli(seeded, "explain", sw.INDICATOR, sw.BIG)
    assert "Seuil de Benjamini-Hochberg de la vague" in text and "Les quatre tests" in text


def test_explain_names_what_it_does_not_know(seeded: Runtime) -> None:
    result = CliRunner().invoke(app, ["explain", "inconnu", sw.BIG, "-w",
                                      str(seeded.workspace.root)])
    assert result.exit_code == 2 and "Indicateur inconnu" in result.output
    result = CliRunner().invoke(app, ["explain", sw.INDICATOR, sw.BIG, "2019", "-w",
                                      str(seeded.workspace.root)])
    assert result.exit_code == 2 and "Aucune vague" in result.output
