"""The site's answer to "why did it not flag this?": the explain page and the queue's
tested/untested counts per wave, on the seeded wave (`seeded_wave`), through the app
in-process on SQLite and PostgreSQL, then once in Chromium."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import seeded_wave as sw
from review_site import PASSWORD, Browser
from sqlalchemy import select
from test_browser import ARTIFACTS, _login, chromium, serving  # noqa: F401  (the browser fixture)

from detectors.explain import p_fr
from detectors.wave_record import dense
from review.app import create_app
from review.auth import create_user
from veille.runtime import Runtime
from veille.store import series_tests as test_store
from veille.store.schema import observations, shifts

NOW = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)


def _site(root: Path) -> tuple[Runtime, object]:
    runtime = sw.run(root)
    for username, role, commune in (("ana", "analyst", None), ("dir", "ccas", sw.BIG)):
        create_user(runtime.engine, runtime.catalog, username=username, password=PASSWORD,
                    role=role, commune=commune, now=NOW)
    return runtime, create_app(runtime, session_secret="test-secret")


@pytest.fixture
def analyst(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[tuple[Runtime, Browser]]:
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    runtime, app = _site(tmp_path)
    browser = Browser(app)
    assert browser.login("ana").status_code == 303
    yield runtime, browser
    runtime.engine.dispose()


def test_queue_counts_tested_and_untested_series_per_wave(analyst) -> None:  # type: ignore[no-untyped-def]
    runtime, browser = analyst
    page = browser.get("/revue").text
    assert "Séries testées par vague" in page
    # the agglomeration's roll-ups: one is unknown (a hidden commune is part of it), so it
    # has no value to test; the others are tested like the communes
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(observations.c.indicator, observations.c.period,
                                   observations.c.status).where(
            observations.c.origin == "rollup")).all()
    last = max(period for _, period, _ in rows)
    rolled = {ind: status for ind, period, status in rows if period == last}
    unknown = sum(1 for status in rolled.values() if status == "missing")
    assert unknown == 1
    assert f'<td class="num tested-n">{len(sw.POPULATION) - 3 + len(rolled) - unknown}</td>' \
        in page
    assert f'<td class="num untested-n">{3 + unknown}</td>' in page
    for n, words in ((1, "effectifs trop faibles (aucun fait avant cette période)"),
                     (1, "historique trop court"),
                     (1 + unknown, "pas de valeur publiée à cette période (absente ou secrète)")):
        assert f"{n} : {words}" in page


def test_explain_page_shows_the_stored_tests_and_the_threshold(analyst) -> None:  # type: ignore[no-untyped-def]
    runtime, browser = analyst
    with runtime.engine.connect() as conn:
        (block,) = test_store.read_wave(conn, 1)
        run = test_store.run_of(conn, 1)
        shift_id = conn.execute(select(shifts.c.shift_id)).scalar_one()
    assert run is not None
    html = browser.get(f"/revue/explication/{sw.INDICATOR}/{sw.BIG}?periode=2024").text
    assert "Signalée" in html
    row = block.row(sw.BIG)
    for p in dense(block.arrays, block.details)["p"][row, :3]:
        assert f'<td class="num p-value">{p_fr(float(p))}</td>' in html
    # the largest p rejected, then what a series needed: q (R + 1) / m
    r = run["n_rejected"]
    assert f"rejeté{'s' if r > 1 else ''} (p ≤ {p_fr(run['bh_threshold'])})" in html
    assert f"p ≤ q × {r + 1}/m = <strong>{p_fr(0.05 * (r + 1) / run['n_tests'])}</strong>" \
        in html
    assert f"({run['n_tests']} tests, q = 0,05)" in html
    assert "Variance utilisée : Comptage (quasi-Poisson)" in html

    quiet = browser.get(f"/revue/explication/{sw.INDICATOR}/{sw.ORDINARY[3]}").text
    assert "Non signalée" in quiet and "écarté au tri" in quiet
    hidden = browser.get(f"/revue/explication/{sw.INDICATOR}/{sw.HIDDEN}").text
    assert "Non testée à cette vague : pas de valeur publiée" in hidden

    # reached from the series page and the shift page
    link = f"/revue/explication/{sw.INDICATOR}/{sw.BIG}"
    assert link in browser.get(f"/series/{sw.INDICATOR}/{sw.BIG}").text
    assert f"{link}?periode=2024" in browser.get(f"/revue/evolution/{shift_id}").text
    assert browser.get(f"/revue/explication/inconnu/{sw.BIG}").status_code == 404


def test_explain_page_is_for_analysts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_DATABASE_URL", f"sqlite:///{tmp_path / 'web.db'}")
    runtime, app = _site(tmp_path)
    director = Browser(app)
    assert director.login("dir").status_code == 303
    assert director.get(f"/revue/explication/{sw.INDICATOR}/{sw.BIG}").status_code == 403
    assert "explain-link" not in director.get(f"/series/{sw.INDICATOR}/{sw.BIG}").text
    runtime.engine.dispose()


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Runtime, str]]:
    monkeypatch.setenv("VEILLE_DATABASE_URL", f"sqlite:///{tmp_path / 'web.db'}")
    runtime, app = _site(tmp_path)
    with serving(app) as base:
        yield runtime, base


def test_in_chromium_an_analyst_goes_from_the_series_to_why_it_was_not_flagged(
        served, chromium) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    runtime, base = served
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    _login(page, base, "ana")
    assert "Séries testées par vague" in page.inner_text("section.waves-tested")
    code = sw.ORDINARY[3]
    page.goto(f"{base}/series/{sw.INDICATOR}/{code}")
    page.click("#explain-link")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/revue/explication/{sw.INDICATOR}/{code}")
    assert page.inner_text(".verdict").startswith("Non signalée")
    assert page.locator("table.tests tbody tr").count() == 4
    with runtime.engine.connect() as conn:
        (block,) = test_store.read_wave(conn, 1)
    screen = block.arrays["screen_p"][block.row(code)]
    cells = page.locator("table.tests tbody tr td:nth-child(3)").all_inner_texts()
    assert cells[:3] == [p_fr(float(v)) for v in screen[:3]]
    assert np.isnan(screen[3]) and cells[3] == "n.d."
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explication.png"), full_page=True)
    page.close()
