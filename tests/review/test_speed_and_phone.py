"""Issue 16 in Chromium: an analyst reviews the queue with the keyboard only (decisions
stored), a decision on a shift page opens the next one of the queue with its filters, and
every page at 390 px has no horizontal scroll, for each role. Screenshots of the queue and
the portrait's charts at 390 px go to test-artifacts/."""

from __future__ import annotations

from review_site import PASSWORD
from test_browser import ARTIFACTS, chromium, served  # noqa: F401  (fixtures)

from veille.store import reviews as review_store
from veille.store import shifts as shift_store

PAGES = {  # role's login: pages it may open
    "ana": ["/revue", "/revue/evolution/s-nord", "/series/caf_rsa/Q-UN-NORD", "/abonnements",
            "/syntheses", "/portrait/2025", "/portrait/2025/commune/99001"],
    "dir-une": ["/abonnements", "/syntheses", "/series/caf_rsa/99001",
                "/portrait/2025/commune/99001"],
    "clspd-une": ["/syntheses", "/series/caf_rsa/Q-UN-NORD", "/portrait/2025/commune/99001"],
    "elu": ["/portrait/2025", "/portrait/2025/commune/99002"],
}


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/connexion")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state("networkidle")


def _status(site, shift_id: str) -> str:  # type: ignore[no-untyped-def]
    with site.runtime.engine.connect() as conn:
        return str(shift_store.get(conn, shift_id)["review_status"])


def test_an_analyst_reviews_the_queue_with_the_keyboard_only(served, chromium) -> None:  # noqa: F811
    site, base = served
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    _login(page, base, "ana")
    assert page.url.endswith("/revue")
    assert "j" in page.inner_text("#keys") and "confirmer" in page.inner_text("#keys")
    order = page.eval_on_selector_all("tr.shift", "rows => rows.map(r => r.dataset.shift)")
    assert order == ["s-nord", "s-est", "s-part", "s-ouest"]  # most severe first
    # c on the first row confirms it; the queue comes back on the row that followed
    with page.expect_navigation():
        page.keyboard.press("c")
    assert _status(site, "s-nord") == "confirmed"
    assert page.eval_on_selector("tr.shift.current", "r => r.dataset.shift") == "s-est"
    # x without a motive asks for one; m, arrows, Escape, then x dismisses
    page.keyboard.press("x")
    assert "motif" in page.inner_text("#key-status")
    assert _status(site, "s-est") == "pending"
    page.keyboard.press("Escape")
    page.keyboard.press("m")
    for _ in range(3):  # provider error, definition change, known local event
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")
    with page.expect_navigation():
        page.keyboard.press("x")
    assert _status(site, "s-est") == "dismissed"
    with site.runtime.engine.connect() as conn:
        assert review_store.trail(conn, "s-est")[-1]["reason"] == "known_local_event"
        assert review_store.trail(conn, "s-nord")[-1]["reason"] is None
    # the last motive is kept: j moves down, o opens the shift page
    assert page.eval_on_selector("#reason", "s => s.value") == "known_local_event"
    page.keyboard.press("j")
    assert page.eval_on_selector("tr.shift.current", "r => r.dataset.shift") == "s-ouest"
    page.keyboard.press("k")
    with page.expect_navigation():
        page.keyboard.press("o")
    assert "/revue/evolution/s-part" in page.url
    text = page.inner_text("main")
    assert "q = 0,03" in text and "au plus 3" in text
    assert "vague" in page.inner_text("#q-meaning")
    # on the shift page: x dismisses with the last motive and opens the next shift
    with page.expect_navigation():
        page.keyboard.press("x")
    assert _status(site, "s-part") == "dismissed"
    assert "/revue/evolution/s-ouest" in page.url and "status=pending" in page.url
    with page.expect_navigation():
        page.keyboard.press("c")
    assert _status(site, "s-ouest") == "confirmed"
    assert page.url.split("?")[0].endswith("/revue")  # the queue is done
    assert "Plus aucune évolution" in page.inner_text(".flash")
    page.close()


def test_every_page_fits_390_px_for_each_role(served, chromium) -> None:  # noqa: F811
    _site, base = served
    ARTIFACTS.mkdir(exist_ok=True)
    page = chromium.new_page(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page.goto(f"{base}/connexion")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "connexion-390.png"))
    for username, urls in PAGES.items():
        context = chromium.new_context(viewport={"width": 390, "height": 844},
                                       locale="fr-FR")
        page = context.new_page()
        _login(page, base, username)
        for url in urls:
            response = page.goto(base + url)
            assert response is not None and response.status == 200, (username, url)
            page.wait_for_load_state("networkidle")
            width = page.evaluate("document.scrollingElement.scrollWidth")
            assert width <= 390, f"{username} {url}: {width} px wide"
            # the menu folds: hidden until its button is pressed
            assert not page.locator(".menu nav a").first.is_visible()
            name = url.strip("/").replace("/", "-")
            page.screenshot(path=str(ARTIFACTS / f"390-{username}-{name}.png"),
                            full_page=url == "/revue")
        page.click("label.menu-button")
        assert page.locator(".menu nav a").first.is_visible()
        context.close()


def test_the_portrait_draws_each_territory_on_its_own_scale(served, chromium) -> None:  # noqa: F811
    _site, base = served
    ARTIFACTS.mkdir(exist_ok=True)
    page = chromium.new_page(viewport={"width": 390, "height": 844}, locale="fr-FR")
    _login(page, base, "elu")
    page.goto(f"{base}/portrait/2025/commune/99001")
    chart = page.locator("td.chart img").first
    chart.scroll_into_view_if_needed()
    svg = page.evaluate("""() => atob(document.querySelector('td.chart img').src
                                     .split(',')[1])""")
    # the commune and the agglomeration, one panel each (one path for all the guides and
    # one for the axes)
    assert svg.count('stroke-width="1.4"') == 2 and svg.count("<path") == 4
    assert ">2020<" in svg and ">2025<" in svg  # the years under the panels
    assert "commune" in svg and "agglo." in svg  # each panel named, its last value written
    page.screenshot(path=str(ARTIFACTS / "portrait-charts-390.png"))
    page.set_viewport_size({"width": 1366, "height": 900})
    page.screenshot(path=str(ARTIFACTS / "portrait-charts-1366.png"))
    page.close()
