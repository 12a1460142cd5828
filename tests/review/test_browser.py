"""In a real browser: headless Chromium (Debian's) driven by Playwright against the site
served by uvicorn on 127.0.0.1. Screenshots go to test-artifacts/ (git-ignored)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import uvicorn
import yaml
from review_site import PASSWORD, Site, build_site

from cli.jobs import ingest_files
from factories import caf_file
from veille.store import deliveries

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("VEILLE_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: object) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port: its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,  # type: ignore[arg-type]
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Site, str]]:
    monkeypatch.setenv("VEILLE_DATABASE_URL", f"sqlite:///{tmp_path / 'web.db'}")
    site = build_site(tmp_path / "ws")
    with serving(site.app) as base:
        yield site, base


@pytest.fixture
def chromium():  # type: ignore[no-untyped-def]
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"Chromium is required in CI ({CHROMIUM}): install.sh installs it")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/connexion")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _decide(page, base: str, shift_id: str, decision: str, *, reason: str = "",  # type: ignore[no-untyped-def]
            comment: str = "") -> None:
    page.goto(f"{base}/revue")
    page.click(f'tr[data-shift="{shift_id}"] a')
    page.check(f'input[name=decision][value={decision}]')
    if reason:
        page.select_option("#decision-form select[name=reason]", reason)
    if comment:
        page.fill("#decision-form textarea[name=comment]", comment)
    page.click("#decision-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert f"/evolution/{shift_id}" not in page.url  # on to the next one of the queue
    page.goto(f"{base}/revue/evolution/{shift_id}")


def test_analyst_reviews_and_the_portrait_shows_exactly_the_confirmed_one(served,
                                                                           chromium) -> None:
    _site, base = served
    ARTIFACTS.mkdir(exist_ok=True)
    page = chromium.new_page(viewport={"width": 1366, "height": 900}, locale="fr-FR")
    _login(page, base, "ana")
    assert page.url.endswith("/revue")
    assert page.locator("tr.shift").count() == 4
    page.screenshot(path=str(ARTIFACTS / "revue.png"), full_page=True)
    _decide(page, base, "s-nord", "confirmed", comment="Hausse confirmée par le CCAS")
    assert "confirmée" in page.inner_text("#review-status")
    page.screenshot(path=str(ARTIFACTS / "evolution.png"), full_page=True)
    _decide(page, base, "s-est", "dismissed", reason="known_local_event",
            comment="Fermeture temporaire de l'antenne CAF")
    assert "écartée" in page.inner_text("#review-status")
    page.goto(f"{base}/revue")
    assert page.locator("tr.shift").count() == 2

    page.goto(f"{base}/portrait/2025/commune/99001")
    assert page.locator("li.shift").count() == 1
    assert page.locator('li.shift[data-shift="s-nord"]').count() == 1
    assert "Hausse confirmée par le CCAS" in page.inner_text("li.shift")
    page.screenshot(path=str(ARTIFACTS / "portrait-commune.png"), full_page=False)
    page.goto(f"{base}/portrait/2025/commune/99002")
    assert page.locator("li.shift").count() == 0
    page.goto(f"{base}/portrait/2025")
    assert "Note d'agglomération" in page.inner_text("article.note h2")
    page.screenshot(path=str(ARTIFACTS / "portrait-agglomeration.png"), full_page=False)
    page.close()


def test_ccas_director_cannot_reach_another_commune(served, chromium) -> None:
    _site, base = served
    page = chromium.new_page(locale="fr-FR")
    _login(page, base, "dir-une")
    assert page.url.endswith("/abonnements")
    assert "CCAS de Ville-Une" in page.content()
    response = page.goto(f"{base}/portrait/2025/commune/99002")
    assert response is not None and response.status == 403
    assert "Accès refusé" in page.inner_text("h1")
    response = page.goto(f"{base}/series/caf_rsa/Q-DEUX-EST")
    assert response is not None and response.status == 403
    response = page.goto(f"{base}/revue")
    assert response is not None and response.status == 403
    response = page.goto(f"{base}/portrait/2025/commune/99001")
    assert response is not None and response.status == 200
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ccas-portrait.png"))
    page.close()


def test_the_banner_shows_no_text_of_the_url_and_a_forged_id_is_refused(served,
                                                                        chromium) -> None:
    """Issue 18, in Chromium: ``?message=`` text is never shown (nor run), a real action
    shows its French text, and the other cell's id slipped into the form is refused."""
    site, base = served
    path = site.runtime.workspace.catalog_dir / "subscriptions.yaml"
    page = chromium.new_page(locale="fr-FR")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(page, base, "dir-une")
    payload = "<img src=x onerror=alert(1)>Votre compte est suspendu, appelez le 01 02 03"
    page.goto(f"{base}/abonnements?message={quote(payload)}")
    assert page.locator(".flash").count() == 0
    assert "suspendu" not in page.inner_text("body")

    page.click("text=Nouveau seuil pour CCAS de Ville-Une")
    form = page.locator("form.threshold")
    form.locator("select[name=kind]").select_option("shift")
    form.locator("input[name=label]").fill("RSA, toute la commune")
    form.locator("button[value=enregistrer]").click()
    page.wait_for_load_state("networkidle")
    assert page.inner_text(".flash") == "Abonnement enregistré."
    assert "RSA, toute la commune" in page.inner_text("#cell-ccas-une")

    before = path.read_text(encoding="utf-8")
    page.click("text=Nouveau seuil pour CCAS de Ville-Une")
    page.evaluate("""() => {
        const input = document.createElement('input');
        input.type = 'hidden'; input.name = 'sub_id'; input.value = 'rsa-deux';
        document.querySelector('form.threshold').appendChild(input);
    }""")
    page.fill("#threshold", "10")
    with page.expect_navigation() as navigation:
        page.locator("form.threshold button[value=enregistrer]").click()
    assert navigation.value is not None and navigation.value.status == 400
    assert "son identifiant est attribué par le site" in page.inner_text("p.error")
    assert path.read_text(encoding="utf-8") == before
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "abonnement-refuse.png"))
    assert dialogs == []
    page.close()


def test_the_analyst_presses_relancer_on_a_quarantined_delivery(served, chromium,
                                                                tmp_path: Path) -> None:
    """Issue 13, in Chromium: a delivery quarantined because its convention named the wrong
    column shows its problem and a « Relancer » button; once the convention on disk is
    fixed, pressing it re-reads the archived file: accepted, the first attempt kept."""
    site, base = served
    path = caf_file(tmp_path, "2025-06")
    text = path.read_bytes().decode("latin-1").replace("code;mois", "quartier;mois")
    path.write_bytes(text.encode("latin-1"))
    delivery = ingest_files(site.runtime, [path]).outcomes[0][1].event.delivery_id
    page = chromium.new_page(viewport={"width": 1366, "height": 900}, locale="fr-FR")
    _login(page, base, "ana")
    page.goto(f"{base}/livraisons")
    row = page.locator(f"#livraison-{delivery}")
    assert "en quarantaine" in row.inner_text()
    assert "colonne « code »" in page.inner_text("tr.problems")

    convention = site.runtime.workspace.catalog_dir / "conventions" / "caf-mensuel.yaml"
    data = yaml.safe_load(convention.read_text(encoding="utf-8"))
    data["territory"] = {"column": "quartier"}
    convention.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with page.expect_navigation():
        row.locator("button", has_text="Relancer").click()
    page.wait_for_load_state("networkidle")
    assert page.inner_text(".flash") == "Livraison relancée : acceptée."
    row = page.locator(f"#livraison-{delivery}")
    assert "acceptée" in row.inner_text() and row.locator("button").count() == 0
    assert "Tentative 1 : en quarantaine, 1 problème(s)" in page.inner_text("tr.attempt")
    assert "par ana" in page.inner_text("tr.attempt")
    with site.runtime.engine.connect() as conn:
        assert deliveries.get(conn, delivery).observation_count == 12
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "livraison-relancee.png"), full_page=True)
    page.close()
