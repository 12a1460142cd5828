"""Decisions: kept with who and when, revisable, routed to review-gated cells, and the
only way a shift reaches the portrait."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
from markupsafe import escape
from sqlalchemy import select

from portrait.build import build_portrait
from portrait.render import render_html, render_pdf
from veille.store import alerts as alert_store
from veille.store import reviews as review_store
from veille.store.outbox import events_of
from veille.store.schema import shifts


def _status(site, shift_id: str) -> str:
    with site.runtime.engine.connect() as conn:
        return str(conn.execute(select(shifts.c.review_status)
                                .where(shifts.c.shift_id == shift_id)).scalar())


def test_decisions_are_audited_and_revisable(browser, site) -> None:
    browser.login("ana")
    url = "/revue/evolution/s-nord/decision"
    assert browser.post(url, {"decision": "confirmed", "comment": "Hausse réelle"}
                        ).status_code == 303
    assert _status(site, "s-nord") == "confirmed"
    # dismissing needs a reason: refused without one, nothing changes
    browser.post(url, {"decision": "dismissed"})
    assert _status(site, "s-nord") == "confirmed"
    browser.post(url, {"decision": "dismissed", "reason": "provider_error",
                       "comment": "Fichier corrigé attendu"})
    assert _status(site, "s-nord") == "dismissed"
    with site.runtime.engine.connect() as conn:
        trail = review_store.trail(conn, "s-nord")
    assert [(d["decision"], d["previous_status"], d["reviewer"]) for d in trail] == [
        ("confirmed", "pending", "ana"), ("dismissed", "confirmed", "ana")]
    assert trail[1]["reason"] == "provider_error" and trail[0]["comment"] == "Hausse réelle"
    page = browser.get("/revue/evolution/s-nord").text
    assert "Hausse réelle" in page and "erreur du fournisseur" in page
    events = [e for e in events_of(site.runtime.engine, "ShiftReviewed")]
    assert [(e.shift_id, e.decision) for e in events] == [("s-nord", "confirmed"),
                                                          ("s-nord", "dismissed")]


def test_asking_the_provider_puts_the_delivery_under_query(browser, site) -> None:
    browser.login("ana")
    browser.post("/revue/evolution/s-est/decision",
                 {"decision": "queried", "comment": "Pouvez-vous vérifier le quartier Est ?"})
    assert _status(site, "s-est") == "queried"
    with site.runtime.engine.connect() as conn:
        assert review_store.deliveries_under_query(conn) == {site.delivery_id}
    assert "(en question)" in browser.get("/revue?status=").text
    browser.post("/revue/evolution/s-est/decision", {"decision": "confirmed"})
    with site.runtime.engine.connect() as conn:
        assert review_store.deliveries_under_query(conn) == set()
        assert review_store.queries_of_delivery(conn, site.delivery_id)[0]["closed_by"] == "ana"


def test_confirmation_reaches_review_gated_cells_and_dismissal_retracts(browser, site) -> None:
    with site.runtime.engine.connect() as conn:
        assert alert_store.of_shift(conn, "s-nord") == []
    browser.login("ana")
    browser.post("/revue/evolution/s-nord/decision", {"decision": "confirmed"})
    with site.runtime.engine.connect() as conn:
        raised = alert_store.of_shift(conn, "s-nord")
    assert [(a["cell_id"], a["status"]) for a in raised] == [("ccas-une", "active")]
    assert raised[0]["basis"]["reviewed"] is True
    browser.post("/revue/evolution/s-nord/decision", {"decision": "dismissed",
                                                      "reason": "noise"})
    with site.runtime.engine.connect() as conn:
        assert [a["status"] for a in alert_store.of_shift(conn, "s-nord")] == ["retracted"]
    # the analyst changes their mind: the alert stands again, and the cell is told so
    browser.post("/revue/evolution/s-nord/decision", {"decision": "confirmed"})
    with site.runtime.engine.connect() as conn:
        again = alert_store.of_shift(conn, "s-nord")
    assert [(a["cell_id"], a["status"], a["revision"]) for a in again] == [
        ("ccas-une", "active", 1)]
    updates = events_of(site.runtime.engine, "AlertUpdated")
    assert [e.dedup_key for e in updates] == [raised[0]["dedup_key"]]


def test_bulk_decisions_for_a_wave(browser, site) -> None:
    browser.login("ana")
    queue = browser.get(f"/revue?wave={site.delivery_id}").text
    order = [queue.index(f'data-shift="{s}"') for s in ("s-nord", "s-est", "s-part")]
    assert order == sorted(order), "most severe (smallest q) first"
    refused = browser.post("/revue/lot", [("decision", "dismissed"), ("shift_ids", "s-est"),
                                          ("shift_ids", "s-part")])
    assert refused.status_code == 303 and "refus" in refused.headers["location"]
    assert _status(site, "s-est") == "pending"
    done = browser.post("/revue/lot", [("decision", "confirmed"), ("shift_ids", "s-est"),
                                       ("shift_ids", "s-part")])
    assert done.status_code == 303
    assert (_status(site, "s-est"), _status(site, "s-part")) == ("confirmed", "confirmed")
    assert _status(site, "s-nord") == "pending"
    pending = browser.get("/revue").text
    assert 'data-shift="s-nord"' in pending and 'data-shift="s-est"' not in pending


def test_secret_values_never_reach_pages_or_api(browser) -> None:
    browser.login("ana")
    points = {p["period"]: p for p in browser.get("/api/series/caf_rsa/Q-DEUX-OUEST").json()[
        "points"]}
    assert points["2025-05"] == {"period": "2025-05", "value": None, "secret": True}
    # Est could be recovered as Ville-Deux minus Ouest: masked too (complementary)
    est = {p["period"]: p for p in browser.get("/api/series/caf_rsa/Q-DEUX-EST").json()[
        "points"]}
    assert est["2025-05"]["secret"] is True
    assert est["2025-04"]["secret"] is False
    page = browser.get("/revue/evolution/s-ouest").text
    assert "couvertes par le secret statistique" in page
    assert "Observé" not in page
    queue = browser.get("/revue").text
    row = queue[queue.index('data-shift="s-ouest"'):]
    row = row[:row.index("</tr>")]
    assert "secret statistique" in row and "observé" not in row


def _portrait(site):
    with site.runtime.engine.connect() as conn:
        return build_portrait(conn, site.runtime.catalog, "2025",
                              now=dt.datetime(2025, 7, 20, tzinfo=dt.UTC))


def test_portrait_shows_confirmed_shifts_only_with_comment_and_glossary(browser, site,
                                                                        tmp_path) -> None:
    assert _portrait(site).all_shifts() == []
    browser.login("ana")
    browser.post("/revue/evolution/s-nord/decision",
                 {"decision": "confirmed", "comment": "Ouverture d'un centre d'hébergement"})
    browser.post("/revue/evolution/s-est/decision", {"decision": "dismissed",
                                                     "reason": "known_local_event"})
    browser.post("/revue/evolution/s-part/decision",
                 {"decision": "queried", "comment": "Dénominateur à vérifier"})
    portrait = _portrait(site)
    shown = portrait.all_shifts()
    assert [s.shift_id for s in shown] == ["s-nord"]
    assert shown[0].comment == "Ouverture d'un centre d'hébergement"
    nord = next(s for s in portrait.commune("99001").sections if s.territory.code == "Q-UN-NORD")
    assert nord.all_shifts()[0].shift_id == "s-nord"
    # the glossary defines every indicator used (no police data here: no burglaries)
    assert {g.indicator.code for g in portrait.glossary} == {"caf_rsa", "caf_alloc", "part_rsa"}
    assert all(g.last_delivery is not None and g.last_period == "2025-05"
               for g in portrait.glossary)
    ouest = next(s for s in portrait.commune("99002").sections
                 if s.territory.code == "Q-DEUX-OUEST")
    rsa = next(line for b in ouest.themes for line in b.lines
               if line.indicator.code == "caf_rsa")
    assert rsa.period == "2025-05" and rsa.masked and rsa.value is None
    assert rsa.trend.values[-1] is None
    # the web page of the commune note says the same
    page = browser.get("/portrait/2025/commune/99001").text
    assert escape("Ouverture d'un centre d'hébergement") in page
    assert 'data-shift="s-nord"' in page
    assert 'data-shift="s-est"' not in page and 'data-shift="s-part"' not in page

    html = render_html(portrait)
    pdf = tmp_path / "portrait.pdf"
    render_pdf(html, pdf)
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed: bash install.sh installs it")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    assert "Ouverture d'un centre d'hébergement" in flat
    assert "Glossaire des indicateurs" in flat and "Foyers percevant le RSA." in flat
    assert "Dénominateur à vérifier" not in flat
    # the RSA row of the Ouest section shows the secrecy mark, not the value 3
    section = text[text.index("Quartier – Ouest"):]
    lines = section.splitlines()
    at = next(i for i, line in enumerate(lines)
              if line.strip().startswith("Foyers allocataires du RSA"))
    cell = [line.split() for line in lines[at - 1:at + 2]]  # the value cell spans lines
    assert any("s" in words for words in cell)
    assert not any("3" in words for words in cell)
