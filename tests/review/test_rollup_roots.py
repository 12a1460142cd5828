"""Roll-ups through the store, on SQLite and PostgreSQL: a workspace of two real EPCIs
(Saint-Étienne Métropole and Roannais Agglomération, INSEE tree) and the département above
them, fed with the real CNAF file by commune. Every expected value is computed here with
pandas from the file; the portrait and the site work for each EPCI and the département."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from loire_rollup import (
    CAF_COLUMNS,
    ROANNAIS,
    SEM,
    caf_frame,
    members,
    write_caf,
    write_workspace,
)
from review_site import Browser
from sqlalchemy import select

from cli.jobs import ingest_files
from portrait.build import build_portrait, roots
from review.app import create_app
from review.auth import create_user
from streams.embedded import EmbeddedRunner
from veille.clock import FixedClock
from veille.runtime import Runtime, open_runtime
from veille.store import observations as obs_store
from veille.store.outbox import events_of
from veille.store.schema import observations

CLOCK = FixedClock(dt.datetime(2025, 9, 1, 9, tzinfo=dt.UTC))
NOW = CLOCK.now()


@pytest.fixture
def runtime(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    write_workspace(tmp_path / "ws", (SEM, ROANNAIS))
    out = open_runtime(tmp_path / "ws", clock=CLOCK)
    yield out
    out.engine.dispose()


def expected_sums(frame: pd.DataFrame, communes: list[str]) -> dict[tuple[str, str], float]:
    """(indicator, year) -> the sum over ``communes``, by pandas."""
    part = frame[frame["code_commune"].isin(communes)]
    sums = part[list(CAF_COLUMNS)].astype(float).groupby(part["annee"]).sum()
    return {(CAF_COLUMNS[c], str(y)): float(sums.loc[y, c]) for y in sums.index for c in sums}


def stored(runtime: Runtime, territory: str) -> dict[tuple[str, str], tuple]:
    with runtime.engine.connect() as conn:
        frame = obs_store.current(conn, territories=[territory])
    return {(r.indicator, r.period): (r.value, r.status, r.origin)
            for r in frame.itertuples(index=False)}


def test_epcis_are_rolled_up_from_their_communes(runtime: Runtime, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    frame = caf_frame(list(runtime.catalog.territories))
    summary = ingest_files(runtime, [write_caf(tmp_path / "in", frame)])
    assert summary.accepted == 1
    for epci, count in ((SEM, 53), (ROANNAIS, 40)):
        communes = members(ws, epci)
        assert len(communes) == count
        got = stored(runtime, epci)
        want = expected_sums(frame, communes)
        assert set(got) == set(want)
        for key, total in want.items():
            assert got[key] == (pytest.approx(total), "ok", "rollup")
    # the département holds 320 communes; two EPCIs do not cover it: never summed
    assert stored(runtime, "42") == {}


def test_a_revised_part_recomputes_its_parents(runtime: Runtime, tmp_path: Path) -> None:
    frame = caf_frame(list(runtime.catalog.territories))
    ingest_files(runtime, [write_caf(tmp_path / "in", frame)])
    before = stored(runtime, ROANNAIS)
    commune = members(tmp_path / "ws", SEM)[0]
    revised = frame[(frame["annee"] == "2024") & (frame["code_commune"] == commune)].copy()
    old = float(revised["foyers_RSA"].iloc[0])
    revised["foyers_RSA"] = str(int(old) + 10)
    sem_before = stored(runtime, SEM)[("caf_rsa", "2024")][0]
    ingest_files(runtime, [write_caf(tmp_path / "rev", revised, "revision_caf_long.csv")])
    assert stored(runtime, SEM)[("caf_rsa", "2024")] == (pytest.approx(sem_before + 10), "ok",
                                                          "rollup")
    assert stored(runtime, ROANNAIS) == before  # not a part of it: untouched
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(observations.c.value, observations.c.superseded_by).where(
            observations.c.indicator == "caf_rsa", observations.c.territory == SEM,
            observations.c.period == "2024").order_by(observations.c.id)).all()
    assert [r.value for r in rows] == [pytest.approx(sem_before), pytest.approx(sem_before + 10)]
    assert rows[0].superseded_by is not None and rows[1].superseded_by is None
    revised_events = events_of(runtime.engine, "DeliveryRevised")
    assert ["caf_rsa", SEM] in revised_events[-1].changed_series  # type: ignore[attr-defined]

    secret = revised.copy()
    secret["foyers_RSA"] = "s"
    ingest_files(runtime, [write_caf(tmp_path / "sec", secret, "secret_caf_long.csv")])
    value, status, origin = stored(runtime, SEM)[("caf_rsa", "2024")]
    assert (status, origin) == ("missing", "rollup") and pd.isna(value)
    assert stored(runtime, SEM)[("caf_foyers", "2024")][1] == "ok"  # other indicators known


def test_a_delivered_parent_wins_over_the_roll_up(runtime: Runtime, tmp_path: Path) -> None:
    frame = caf_frame(list(runtime.catalog.territories))
    ingest_files(runtime, [write_caf(tmp_path / "in", frame)])
    own = frame[(frame["annee"] == "2024")].head(1).copy()
    own["code_commune"] = SEM
    own["foyers_RSA"] = "12345"
    ingest_files(runtime, [write_caf(tmp_path / "own", own, "epci_caf_long.csv")])
    assert stored(runtime, SEM)[("caf_rsa", "2024")] == (12345.0, "ok", "delivered")
    commune = members(tmp_path / "ws", SEM)[1]
    part = frame[(frame["annee"] == "2024") & (frame["code_commune"] == commune)].copy()
    part["foyers_RSA"] = str(int(float(part["foyers_RSA"].iloc[0])) + 5)
    ingest_files(runtime, [write_caf(tmp_path / "part", part, "part_caf_long.csv")])
    assert stored(runtime, SEM)[("caf_rsa", "2024")] == (12345.0, "ok", "delivered")


def test_every_epci_and_the_departement_have_a_portrait(runtime: Runtime,
                                                        tmp_path: Path) -> None:
    frame = caf_frame(list(runtime.catalog.territories))
    ingest_files(runtime, [write_caf(tmp_path / "in", frame)])
    assert [t.code for t in roots(runtime.catalog)] == [ROANNAIS, SEM, "42"]
    for epci, count in ((SEM, 53), (ROANNAIS, 40)):
        sums = expected_sums(frame, members(tmp_path / "ws", epci))
        with runtime.engine.connect() as conn:
            portrait = build_portrait(conn, runtime.catalog, "2024", now=NOW, root=epci)
        assert portrait.agglomeration.territory.code == epci
        assert len(portrait.communes) == count
        lines = {line.indicator.code: line for b in portrait.agglomeration.themes
                 for line in b.lines}
        assert set(lines) == set(CAF_COLUMNS.values())
        for code, line in lines.items():
            assert (line.value, line.origin) == (pytest.approx(sums[(code, "2024")]), "rollup")
        commune_line = next(line for b in portrait.communes[0].themes for line in b.lines
                            if line.indicator.code == "caf_foyers")
        assert commune_line.agglomeration_value == pytest.approx(sums[("caf_foyers", "2024")])
        assert commune_line.agglomeration_origin == "rollup"
    with runtime.engine.connect() as conn:
        departement = build_portrait(conn, runtime.catalog, "2024", now=NOW, root="42")
    assert len(departement.communes) == 93
    first = departement.commune(members(tmp_path / "ws", ROANNAIS)[0])
    assert first is not None  # a commune of the second EPCI has its note
    line = next(line for b in first.themes for line in b.lines)
    assert line.agglomeration_value is not None  # compared with its own EPCI


def test_the_site_serves_every_root_and_every_commune(runtime: Runtime,
                                                      tmp_path: Path) -> None:
    frame = caf_frame(list(runtime.catalog.territories))
    ingest_files(runtime, [write_caf(tmp_path / "in", frame)])
    create_user(runtime.engine, runtime.catalog, username="ana", password="mot-de-passe-solide",
                role="analyst", commune=None, scope=None, display_name="Ana", now=NOW)
    roannais_commune = members(tmp_path / "ws", ROANNAIS)[0]
    create_user(runtime.engine, runtime.catalog, username="dir", role="ccas",
                password="mot-de-passe-solide", commune=roannais_commune, scope=None,
                display_name="Dir", now=NOW)
    runner = EmbeddedRunner(runtime.workspace, runtime.catalog, runtime.engine, runtime.clock)
    app = create_app(runtime, after_decision=runner.run_pending, session_secret="test")
    with TestClient(app):
        browser = Browser(app)
        assert browser.login("ana").status_code == 303
        page = browser.get(f"/portrait/2024/commune/{roannais_commune}")
        assert page.status_code == 200, page.text
        assert "Σ" in page.text  # the agglomeration column holds a roll-up
        for root in (SEM, ROANNAIS, "42"):
            page = browser.get(f"/portrait/2024/territoire/{root}")
            assert page.status_code == 200, page.text
            assert runtime.catalog.territories[root].name in page.text
        assert "Note départementale" in browser.get("/portrait/2024/territoire/42").text
        assert browser.get("/portrait/2024/territoire/42001").status_code == 404
        director = Browser(app)
        assert director.login("dir").status_code == 303
        assert director.get(f"/portrait/2024/commune/{roannais_commune}").status_code == 200
