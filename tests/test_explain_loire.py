"""Real data: the Loire recorded offences (SSMSI 2016-2025, one delivery a year, through the
product: `loire_pipeline`). Why were Saint-Étienne's 2020 thefts (a fall during the
lockdown) reported or not, and is every series of the 2020 wave tested or told why not?
Expected figures are computed from the file with the csv module, never pasted."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from loire_pipeline import LOIRE, Run, is_secret, load_convention_yaml, read_rows, run

from detectors.explain import explain_series, p_fr
from detectors.untested import Untested, series_reason
from veille.store import series_tests as test_store
from veille.store.schema import shifts

SAINT_ETIENNE = "42218"
THEFTS = "ssmsi_vols_sans_violence"
ANNUAL_WINDOW = 10


@pytest.fixture(scope="module")
def loire(tmp_path_factory) -> tuple[Run, list[dict[str, str]]]:  # type: ignore[no-untyped-def]
    assert LOIRE.exists(), f"shared data missing: {LOIRE}"
    rows = read_rows()
    return run(tmp_path_factory.mktemp("loire-explain"), rows), rows


def _wave_2020(result: Run) -> dict:
    with result.runtime.engine.connect() as conn:
        (wave,) = [r for r in test_store.runs(conn) if r["period"] == "2020"]
    return wave


def test_saint_etienne_2020_thefts_are_explained_from_the_wave(loire) -> None:  # type: ignore[no-untyped-def]
    result, rows = loire
    own = {r["annee"]: float(r["nombre"]) for r in rows if r["code_commune"] == SAINT_ETIENNE
           and r["indicateur"] == "Vols sans violence contre des personnes"
           and not is_secret(r)}
    before = np.mean([own[y] for y in ("2017", "2018", "2019")])
    assert own["2020"] < 0.9 * before  # the lockdown fall (-13 %) the observatory asks about
    wave = _wave_2020(result)
    with result.runtime.engine.connect() as conn:
        (e,) = explain_series(conn, THEFTS, SAINT_ETIENNE, "2020")
        (block,) = [b for b in test_store.read_wave(conn, wave["delivery_id"])
                    if b.indicator == THEFTS]
        flagged = conn.execute(shifts.select().where(
            shifts.c.indicator == THEFTS, shifts.c.territory == SAINT_ETIENNE,
            shifts.c.period == "2020")).all()
    row = block.row(SAINT_ETIENNE)
    assert row is not None and e.delivery_id == wave["delivery_id"]
    assert e.tested and e.reported == bool(flagged)
    for j, line in enumerate(e.tests):
        stored = block.arrays["screen_p"][row, j]
        assert (line.screen_p is None) == bool(np.isnan(stored))
        assert line.screen_p is None or line.screen_p == pytest.approx(float(stored))
    assert e.threshold == wave["bh_threshold"] and e.m == wave["n_tests"]
    # what a series needed is q (R + 1) / m, above the largest p the wave rejected
    assert e.rejected == wave["n_rejected"] is not None
    assert e.needed == pytest.approx(wave["q"] * (wave["n_rejected"] + 1) / wave["n_tests"])
    assert e.needed > e.threshold
    # five years (2016-2020) allow the dip test only, and say so for the other three
    assert e.tests[0].status in ("screened_out", "not_rejected", "reported")
    assert {t.reason for t in e.tests[1:]} == {"historique trop court"}
    if not e.reported:
        assert e.verdict.startswith("Non signalée") and p_fr(e.needed) in e.verdict
    # the variance used: a big city's counts are far more variable than Poisson
    level, dispersion = block.arrays["variance"][row, 1:3]
    assert level == pytest.approx(np.mean([own[y] for y in ("2016", "2017", "2018", "2019",
                                                            "2020")]), rel=0.05)
    assert dispersion > 2
    assert "variance = " in e.variance


def test_every_series_of_the_2020_wave_is_tested_or_told_why_not(loire) -> None:  # type: ignore[no-untyped-def]
    result, rows = loire
    codes = load_convention_yaml()["indicator_map"]
    published: dict[tuple[str, str], set[int]] = defaultdict(set)
    seen: set[tuple[str, str]] = set()
    for r in rows:
        if r["indicateur"] not in codes or int(r["annee"]) > 2020:
            continue
        key = (codes[r["indicateur"]], r["code_commune"])
        seen.add(key)
        if not is_secret(r):
            published[key].add(int(r["annee"]))
    unpublished = [k for k in seen if 2020 not in published[k]]
    window = range(2020 - ANNUAL_WINDOW + 1, 2020)
    expected = {"not_published": sum(bool(published[k] & set(window)) for k in unpublished),
                "never_published": sum(not published[k] for k in unpublished)}
    wave = _wave_2020(result)
    for code, n in expected.items():
        assert wave["untested"].get(code, 0) == n, code
    assert expected["never_published"] > 0 and expected["not_published"] > 0
    with result.runtime.engine.connect() as conn:
        blocks = test_store.read_wave(conn, wave["delivery_id"])
    n_rows = sum(len(b.arrays["territory"]) for b in blocks)
    assert n_rows == wave["n_tested"] + sum(wave["untested"].values())
    for b in blocks:
        reasons = series_reason(b.arrays["untested"])
        tested = reasons == Untested.TESTED
        # tested means a test entered the wave's family: it has a screened p-value
        assert (np.isfinite(b.arrays["screen_p"]).any(axis=1) == tested).all(), b.indicator
    # the "too few territories to pool", now told: a class of the largest city that
    # the dip test could not take carries that reason, consistent with the pooled df stored
    for b in blocks:
        row = b.row(SAINT_ETIENNE)
        if row is None or b.arrays["untested"][row, 0] not in (Untested.NO_POOL,
                                                                Untested.WEAK_POOL):
            continue
        prior_df = float(b.arrays["variance"][row, 6])
        assert np.isnan(b.arrays["screen_p"][row, 0])
        assert (prior_df == 0) == (b.arrays["untested"][row, 0] == Untested.NO_POOL)
