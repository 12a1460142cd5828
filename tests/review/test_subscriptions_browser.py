"""A CCAS director alone with the form, in Chromium (issue 16): creates a threshold with a
decimal comma, meets a French error beside the field for an entry out of range, previews
the rule on the latest published values, saves it, reads it back as a sentence, edits and
deletes it; then follows every link of the digests each role receives. Screenshots of the
form and of a series page go to test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import uvicorn
import yaml
from digest_world import BASE_URL, RECIPIENTS, build_digest_site, links, recipient_cell, smtp_server
from review_site import PASSWORD
from test_browser import ARTIFACTS, _free_port, _login, chromium, served  # noqa: F401

PART_RSA = "Part des allocataires au RSA (%)"


def _rules(path: Path, cell: str) -> list[dict]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["subscriptions"]
    return [e for e in entries if e["owner"] == cell]


def test_a_ccas_director_sets_previews_edits_and_deletes_a_threshold(
        served, chromium) -> None:  # noqa: F811
    site, base = served
    path = site.runtime.workspace.catalog_dir / "subscriptions.yaml"
    ARTIFACTS.mkdir(exist_ok=True)
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    _login(page, base, "dir-une")
    page.goto(f"{base}/abonnements")
    page.click("text=Nouveau seuil pour CCAS de Ville-Une")
    # no identifier to invent: the site draws it
    assert page.locator("input[name=id], input[name=sub_id]").count() == 0
    page.select_option("#indicator", label=PART_RSA)
    assert page.inner_text("#levels .unit >> nth=0") == "%"
    assert "entre 0\u202f% et 100\u202f%" in page.inner_text("#range")
    page.select_option("#territory", "99001")

    # an entry out of the indicator's range: a French error beside its field, the menu kept
    page.fill("#threshold", "142,5")
    page.click("button[value=enregistrer]")
    page.wait_for_load_state("networkidle")
    error = page.locator("#err-threshold")
    assert "hors de la plage de cet indicateur" in error.inner_text()
    assert "entre 0\u202f% et 100\u202f%" in error.inner_text()
    field = page.locator(".field", has=page.locator("#threshold"))
    assert field.locator("#err-threshold").count() == 1  # beside the field, not elsewhere
    assert page.get_attribute("#threshold", "aria-invalid") == "true"
    assert "pydantic" not in page.content() and "String should" not in page.content()
    assert page.locator("header.top nav a[href='/abonnements']").count() == 1
    assert _rules(path, "ccas-une") == [r for r in _rules(path, "ccas-une")
                                        if r["id"] == "rsa-une"]
    page.screenshot(path=str(ARTIFACTS / "abonnement-erreur.png"), full_page=True)

    # a decimal comma, an end of alert, a severity and a name; then the preview
    page.fill("#threshold", "10,5")
    page.fill("#leave", "9,5")
    page.check("input[name=each_quartier]")
    page.select_option("#severity", label="vigilance")
    page.fill("#label", "RSA au-dessus de 10 %")
    page.click("button[value=apercu]")
    page.wait_for_load_state("networkidle")
    preview = page.inner_text("#preview")
    assert "Avec les dernières données, cette règle alerterait pour :" in preview
    assert re.search(r"Ville-Une \(\d+,\d\u202f% en mai 2025\)", preview), preview
    assert "Nord (" in preview and "Sans alerte : Sud (" in preview
    assert "dépasse 10,5\u202f%" in preview
    assert len(_rules(path, "ccas-une")) == 1  # a preview saves nothing
    page.screenshot(path=str(ARTIFACTS / "abonnement-apercu.png"), full_page=True)

    page.click("button[value=enregistrer]")
    page.wait_for_load_state("networkidle")
    assert page.inner_text(".flash") == "Abonnement enregistré."
    saved = [r for r in _rules(path, "ccas-une") if r["id"] != "rsa-une"]
    assert len(saved) == 1 and saved[0]["rule"] == {
        "kind": "level", "indicator": "part_rsa", "above": 10.5, "leave": 9.5}
    assert saved[0]["severity"] == "warning" and saved[0]["include"] == ["commune",
                                                                          "quartier"]
    rule = page.locator(f"li.rule[data-sub='{saved[0]['id']}']")
    sentence = rule.inner_text()
    assert ("Alerte si « Part des allocataires au RSA » dépasse 10,5\u202f% à Ville-Une et "
            "dans chacun de ses quartiers") in sentence
    assert "repasse sous 9,5\u202f%" in sentence and "(niveau : vigilance)" in sentence
    page.screenshot(path=str(ARTIFACTS / "abonnements-liste.png"), full_page=True)

    # edit: the form comes back filled, with a decimal comma
    rule.locator("text=Modifier").click()
    assert page.input_value("#threshold") == "10,5"
    page.fill("#threshold", "25")
    page.fill("#leave", "")
    page.click("button[value=enregistrer]")
    page.wait_for_load_state("networkidle")
    assert page.inner_text(".flash") == "Abonnement modifié."
    edited = [r for r in _rules(path, "ccas-une") if r["id"] == saved[0]["id"]]
    assert edited[0]["rule"]["above"] == 25.0 and edited[0]["rule"].get("leave") is None
    assert "dépasse 25\u202f%" in page.locator(f"li.rule[data-sub='{saved[0]['id']}']"
                                                 ).inner_text()

    # the series, from the list
    page.locator(f"li.rule[data-sub='{saved[0]['id']}'] >> text=Voir la série").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/series/part_rsa/99001")
    assert page.locator("figure.series-chart svg").count() == 1
    assert page.locator("details.values").get_attribute("open") is None  # folded
    box = page.locator("figure.series-chart svg").bounding_box()
    assert box is not None and box["width"] >= 900
    page.screenshot(path=str(ARTIFACTS / "serie.png"), full_page=True)

    # delete
    page.goto(f"{base}/abonnements")
    page.locator(f"li.rule[data-sub='{saved[0]['id']}'] button").click()
    page.wait_for_load_state("networkidle")
    assert page.inner_text(".flash") == "Abonnement supprimé."
    assert [r["id"] for r in _rules(path, "ccas-une")] == ["rsa-une"]
    page.close()


def test_the_series_page_marks_the_detection_its_baseline_and_interval(
        served, chromium) -> None:  # noqa: F811
    _site, base = served
    ARTIFACTS.mkdir(exist_ok=True)
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    _login(page, base, "ana")
    page.goto(f"{base}/series/caf_rsa/Q-UN-NORD")
    svg = page.inner_html("figure.series-chart")
    for legend in ("valeur publiée", "évolution détectée", "intervalle attendu (référence)",
                   "valeur attendue (référence)", "Période (années)", "nombre de foyers"):
        assert legend in svg, legend
    assert "changement de niveau durable" in svg and "mai 2025" in svg  # mark, last value
    assert page.locator("a[href='/revue/evolution/s-nord']").count() == 1
    page.click("details.values summary")  # the table, folded under the chart, opens
    assert page.locator("details.values table tr").count() == 30
    page.screenshot(path=str(ARTIFACTS / "serie-analyste.png"), full_page=True)
    page.close()


@pytest.fixture
def digest_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The site with its messages sent (real SMTP), served on loopback over http (the
    links' https base URL is swapped for it, so the cookie is not marked Secure)."""
    import threading
    import time

    monkeypatch.setenv("VEILLE_DATABASE_URL", f"sqlite:///{tmp_path / 'web.db'}")
    with smtp_server() as (sink, smtp_port):
        site = build_digest_site(tmp_path / "ws", smtp_port, monkeypatch,
                                 cookie_secure=False)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(site.app, host="127.0.0.1", port=port,  # type: ignore[arg-type]
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield sink, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_every_link_of_a_digest_opens_in_the_browser_for_its_recipient(
        digest_served, chromium) -> None:  # noqa: F811
    sink, base = digest_served
    by_cell: dict[str, list[str]] = {}
    for message in sink.messages:
        by_cell.setdefault(recipient_cell(message), []).extend(links(message))
    assert set(by_cell) == set(RECIPIENTS)
    for cell, urls in by_cell.items():
        context = chromium.new_context(locale="fr-FR")
        page = context.new_page()
        first = urls[0].replace(BASE_URL, base)
        page.goto(first)
        assert "/connexion" in page.url  # not logged in: the login page first...
        page.fill("input[name=username]", RECIPIENTS[cell])
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.url == first, (page.url, first)  # ...which leads to the page
        for url in sorted(set(urls)):
            response = page.goto(url.replace(BASE_URL, base))
            assert response is not None and response.status == 200, (cell, url)
            assert page.locator("header.top").count() == 1  # the site's menu, on every page
        context.close()
