"""The analyst's « Relancer » button: a delivery quarantined because its convention was
wrong is re-processed from its archive once the convention on disk is fixed, in the site,
on SQLite and PostgreSQL; other roles can neither see the page nor press the button."""

from __future__ import annotations

import yaml
from review_site import Browser, Site

from cli.jobs import ingest_files
from factories import caf_file
from veille.store import deliveries


def test_the_analyst_retries_a_quarantined_delivery_after_fixing_its_convention(
        browser: Browser, site: Site, tmp_path) -> None:
    path = caf_file(tmp_path, "2025-06")
    text = path.read_bytes().decode("latin-1").replace("code;mois", "quartier;mois")
    path.write_bytes(text.encode("latin-1"))
    delivery = ingest_files(site.runtime, [path]).outcomes[0][1].event.delivery_id
    browser.login("ana")

    page = browser.get("/livraisons").text
    assert f'action="/livraisons/{delivery}/relancer"' in page
    assert "colonne « code »" in page and "en quarantaine" in page

    convention = site.runtime.workspace.catalog_dir / "conventions" / "caf-mensuel.yaml"
    data = yaml.safe_load(convention.read_text(encoding="utf-8"))
    data["territory"] = {"column": "quartier"}
    convention.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    done = browser.post(f"/livraisons/{delivery}/relancer", {})

    assert done.status_code == 303
    assert done.headers["location"] == "/livraisons?message=relance-acceptee"
    after = browser.get(done.headers["location"]).text
    assert "Livraison relancée : acceptée." in after
    assert f'action="/livraisons/{delivery}/relancer"' not in after
    assert "Tentative 1 : en quarantaine, 1 problème(s)" in after
    with site.runtime.engine.connect() as conn:
        row = deliveries.get(conn, delivery)
        attempts = deliveries.attempts_of(conn, delivery)
    assert row.status == "accepted" and row.observation_count == 12
    assert [(a["status"], a["retried_by"]) for a in attempts] == [("quarantined", "ana")]

    again = browser.post(f"/livraisons/{delivery}/relancer", {})
    assert again.headers["location"] == "/livraisons?message=relance-refusee"


def test_only_analysts_may_retry(browser: Browser, site: Site, tmp_path) -> None:
    path = caf_file(tmp_path, "2025-06", name="caf_bad.csv")
    path.write_bytes(path.read_bytes().replace(b"code;mois", b"zone;mois"))
    delivery = ingest_files(site.runtime, [path]).outcomes[0][1].event.delivery_id
    browser.login("dir-une")

    assert browser.post(f"/livraisons/{delivery}/relancer", {}).status_code == 403
    with site.runtime.engine.connect() as conn:
        assert deliveries.get(conn, delivery).status == "quarantined"
        assert deliveries.attempts_of(conn, delivery) == []
