"""Every series of a wave tested or told why not, and any series explained from the wave's
record: seeded data (`seeded_wave`), SQLite and PostgreSQL, through the CLI."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pytest
import seeded_wave as sw
from alembic import command
from sqlalchemy import inspect, select
from typer.testing import CliRunner

from cli.main import app
from detectors.confirm import Confirmed
from detectors.design import TEST_KINDS
from detectors.explain import explain, p_fr, threshold_words
from detectors.fdr import benjamini_hochberg, bh_threshold
from detectors.screen import VARIANCE
from detectors.untested import Untested, series_reason
from detectors.wave import Judgement, judge
from detectors.wave import TestOutcome as Outcome
from detectors.wave_record import SeriesTests, blocks, concluded, dense, run_summary
from factories import store_before
from veille.runtime import Runtime
from veille.store import deliveries, make_engine, migrate
from veille.store import series_tests as test_store
from veille.store import shifts as shift_store
from veille.store.schema import detection_runs, shifts
from veille.store.series_tests import Block


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
    assert run["n_rejected"] == int(benjamini_hochberg(family, run["q"])[0].sum()) >= 1
    assert run["n_follow_rejected"] == run["n_follow_tests"] == 0

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
    # what it needed: q (R + 1) / m, and at that p-value the wave's BH would have taken it
    assert near["rejected"] == run["n_rejected"]
    assert near["needed"] == pytest.approx(run["q"] * (run["n_rejected"] + 1) / run["n_tests"])
    assert best > near["needed"] > near["threshold"]
    moved = family.copy()
    moved[np.flatnonzero(family == best)[0]] = near["needed"] * (1 - 1e-9)
    assert benjamini_hochberg(moved, run["q"])[0].sum() == run["n_rejected"] + 1
    assert near["verdict"].startswith("Non signalée : sa plus petite p-valeur")
    assert (f"il aurait fallu p ≤ {p_fr(near['needed'])} "
            f"(la {run['n_rejected'] + 1}e rejetée de la vague)") in near["verdict"]
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
    assert f"il fallait p ≤ q × {run['n_rejected'] + 1}/m" in text


def test_explain_names_what_it_does_not_know(seeded: Runtime) -> None:
    result = CliRunner().invoke(app, ["explain", "inconnu", sw.BIG, "-w",
                                      str(seeded.workspace.root)])
    assert result.exit_code == 2 and "Indicateur inconnu" in result.output
    result = CliRunner().invoke(app, ["explain", sw.INDICATOR, sw.BIG, "2019", "-w",
                                      str(seeded.workspace.root)])
    assert result.exit_code == 2 and "Aucune vague" in result.output


# What a series needed: q (R + 1) / m, not the largest p rejected (a synthetic wave through
# `detectors.wave.judge` and the wave's record, then BH of `detectors.fdr` on its p-values)

def _outcome(series: int, pvalue: float) -> Outcome:
    nan = float("nan")
    return Outcome(Confirmed(series, "level_shift", pvalue, 6.0, 1, nan, nan, nan, nan,
                                 nan, None, None, "test"), "référence")


def _wave(pvalues: dict[int, float], n_tests: int, running: Collection[int] = (), *,
          before_0002: bool = False) -> tuple[Judgement, Block, dict]:
    """A wave of series 0 to max(pvalues) whose level-shift tests at ``pvalues`` (series ->
    p) were confirmed among ``n_tests``; its judgement, its record's block and run row."""
    n_series = max(pvalues) + 1
    run_rows = np.zeros(n_series, dtype=bool)
    run_rows[list(running)] = True
    judgement = judge([_outcome(s, p) for s, p in pvalues.items()], n_tests, 0.05, run_rows)
    k = len(TEST_KINDS)
    screen_p = np.ones((n_series, k), dtype=np.float32)
    for s, p in pvalues.items():
        screen_p[s, TEST_KINDS.index("level_shift")] = p
    tests = SeriesTests(keys=[("vols", f"T{i}") for i in range(n_series)],
                        untested=np.zeros((n_series, k), dtype=np.uint8), screen_p=screen_p,
                        variance=np.full((n_series, len(VARIANCE)), np.nan, np.float32),
                        flags=np.zeros(n_series, dtype=np.uint8), n_batch=n_series,
                        cutoff=1.0)
    tests = concluded(tests, judgement, run_rows)
    ((arrays, details),) = blocks(tests).values()
    block = Block(1, "vols", "2020", test_store.decode(test_store.encode(arrays)), details)
    run = dict(q=0.05, n_tests=judgement.m, **run_summary(tests, judgement))
    if before_0002:
        del run["n_rejected"], run["n_follow_rejected"]
    return judgement, block, run


def _rejected_with(pvalues: dict[int, float], n_tests: int, running: Collection[int],
                   series: int, p: float) -> bool:
    """Whether ``series`` is rejected once its p-value is ``p``, the others unchanged."""
    judgement, *_ = _wave({**pvalues, series: p}, n_tests, running)
    k = [o.confirmed.series for o in judgement.outcomes].index(series)
    return bool(judgement.reject[k])


def test_needed_is_q_times_r_plus_one_over_m_the_loire_2020_case() -> None:
    # the Loire's 2020 wave: 357 tests, one rejected at p = 2.8e-6; a series at p = 5e-4
    pvalues = {0: 2.8e-6, 1: 5e-4, 2: 0.2}
    judgement, block, run = _wave(pvalues, 357)
    assert judgement.n_rejected == run["n_rejected"] == 1
    assert run["bh_threshold"] == 2.8e-6
    e = explain(block, 1, run)
    assert not e.reported and e.rejected == 1 and e.m == 357
    assert e.needed == pytest.approx(0.05 * 2 / 357)
    assert e.needed > 50 * e.threshold  # what the old explanation said was needed
    assert "il aurait fallu p ≤ 0,00028 (la 2e rejetée de la vague)" in e.verdict
    # the wave's BH (detectors.fdr) on the same p-values: just under it, the series is in
    family = np.ones(357)
    family[:3] = [pvalues[0], e.needed * (1 - 1e-9), pvalues[2]]
    assert benjamini_hochberg(family, 0.05)[0][:3].tolist() == [True, True, False]
    assert _rejected_with(pvalues, 357, set(), 1, e.needed * (1 - 1e-9))
    # a p-value between the largest rejected and what was needed is reported too
    assert _rejected_with(pvalues, 357, set(), 1, 100 * e.threshold)
    words, needed = threshold_words(e)
    assert needed == p_fr(e.needed) and "1 test rejeté (p ≤ 2,8e-06)" in words
    # a wave recorded before explain_0002 (R unknown) says the threshold, as it did
    *_, old = _wave(pvalues, 357, before_0002=True)
    e_old = explain(block, 1, old)
    assert e_old.rejected is None and e_old.needed == e_old.threshold == 2.8e-6
    assert "il aurait fallu p ≤ 2,8e-06, soit" in e_old.verdict
    assert threshold_words(e_old) == ("p ≤ ", p_fr(2.8e-6))


def test_needed_in_the_follow_up_family_and_with_no_rejection() -> None:
    # series 0 and 3 hold running shifts: their tests form a family of 2 x 4 = 8 of their own
    pvalues = {0: 1e-9, 3: 0.03, 5: 0.2}
    judgement, block, run = _wave(pvalues, 40, running={0, 3})
    assert (judgement.m_follow, judgement.n_follow_rejected) == (8, 1)
    assert run["n_follow_rejected"] == 1 and run["n_rejected"] == 0
    e = explain(block, 3, run)
    assert e.follow and not e.reported and e.m == 8
    assert e.needed == pytest.approx(0.05 * 2 / 8)
    assert "(la 2e rejetée de la famille de suivi)" in e.verdict
    assert _rejected_with(pvalues, 40, {0, 3}, 3, e.needed * (1 - 1e-9))
    # the news family rejected none: q / m, the first to be rejected
    news = explain(block, 5, run)
    assert not news.follow and news.rejected == 0
    assert news.needed == pytest.approx(0.05 / 40) and "(la 1re rejetée" in news.verdict
    assert threshold_words(news)[0].startswith("aucun test rejeté")
    assert _rejected_with(pvalues, 40, {0, 3}, 5, news.needed * (1 - 1e-9))


@pytest.mark.parametrize("seed", range(12))
def test_a_p_value_at_the_needed_value_is_always_rejected(seed: int) -> None:
    """Random waves: every test not rejected would have been at p = q (R + 1) / m, the
    others unchanged; and BH of `detectors.fdr` agrees with the judgement's R."""
    rng = np.random.default_rng(seed)
    n_series = int(rng.integers(20, 60))
    m = int(rng.integers(n_series, 4 * n_series))
    strong = rng.random(n_series) < 0.2
    p = np.where(strong, rng.uniform(0, 2e-3, n_series), rng.uniform(0, 1, n_series))
    pvalues = {s: float(p[s]) for s in range(n_series)}
    running = set(np.flatnonzero(rng.random(n_series) < 0.15).tolist())
    judgement, block, run = _wave(pvalues, m, running)
    news = np.ones(judgement.m)
    news[:n_series] = [1.0 if s in running else pvalues[s] for s in range(n_series)]
    assert judgement.n_rejected == int(benjamini_hochberg(news, 0.05)[0].sum())
    for k, o in enumerate(judgement.outcomes):
        s = o.confirmed.series
        e = explain(block, s, run)
        assert e.reported == bool(judgement.reject[k])
        family_m = judgement.m_follow if s in running else judgement.m
        family_r = judgement.n_follow_rejected if s in running else judgement.n_rejected
        assert e.needed == pytest.approx(0.05 * (family_r + 1) / family_m, rel=1e-12)
        if not e.reported:
            assert pvalues[s] > e.needed  # not rejected: above what it needed
            assert _rejected_with(pvalues, m, running, s, e.needed * (1 - 1e-9))


def test_waves_recorded_before_explain_0002_keep_their_answer(db_url: str) -> None:
    """The migration adds the rejection counts, empty for the waves already recorded: those
    still say the largest p rejected; the migration goes down and up again."""
    engine = make_engine(db_url)
    config = store_before(engine, "explain@-1")  # the store as it was before explain_0002 ...
    columns = {c["name"] for c in inspect(engine).get_columns("detection_runs")}
    assert "bh_threshold" in columns and not columns & {"n_rejected", "n_follow_rejected"}
    pvalues = {0: 2.8e-6, 1: 5e-4}
    _, block, old = _wave(pvalues, 357, before_0002=True)
    with engine.begin() as conn:  # ... where a wave was recorded
        delivery = deliveries.record_received(
            conn, content_hash="f" * 64, convention_id="c", filename="f.csv",
            received_at=dt.datetime(2021, 3, 1, tzinfo=dt.UTC), archive_path="/dev/null",
            size_bytes=1)
        assert shift_store.record_run(
            conn, delivery_id=delivery, period="2020", n_series=2, n_candidates=2,
            n_shifts=1, seconds=1.0, ran_at=dt.datetime(2021, 3, 1, tzinfo=dt.UTC), **old)
    migrate(engine)
    with engine.connect() as conn:
        run = test_store.run_of(conn, delivery)
    assert run is not None and run["n_rejected"] is None and run["n_follow_rejected"] is None
    e = explain(block, 1, run)
    assert e.rejected is None and e.needed == e.threshold == 2.8e-6
    assert "rejetée de la vague" not in e.verdict
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "explain@-1")
        command.upgrade(config, "heads")
    columns = {c["name"] for c in inspect(engine).get_columns("detection_runs")}
    assert {"n_rejected", "n_follow_rejected"} <= columns
    engine.dispose()
