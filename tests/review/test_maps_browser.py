"""A commune note with its map in Chromium (issue 17): the quartiers drawn, the secret
ones hatched, the legend readable; the screenshots go to test-artifacts/."""

from __future__ import annotations

from review_site import write_contours
from test_browser import ARTIFACTS, _login, chromium, served  # noqa: F401


def _map_of(page, base: str, commune: str):  # type: ignore[no-untyped-def]
    """The commune note's map of part_rsa, scrolled into view, and a screenshot of it."""
    page.goto(f"{base}/portrait/2025/commune/{commune}")
    figure = page.locator('figure.map[data-indicator="part_rsa"]').first
    figure.scroll_into_view_if_needed()
    box = figure.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 120
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"portrait-commune-carte-{commune}.png"),
                    clip={"x": 0, "y": max(box["y"] - 120, 0), "width": 1100, "height": 700})
    return figure


def test_a_commune_note_shows_its_map(served, chromium) -> None:  # noqa: F811
    site, base = served
    write_contours(site.runtime.workspace.catalog_dir)
    page = chromium.new_page(viewport={"width": 1100, "height": 900}, locale="fr-FR")
    _login(page, base, "ana")
    deux = _map_of(page, base, "99002")
    assert deux.locator("path.area").count() == 2
    assert deux.locator("path.area.secret").count() == 2  # Ouest, and Est by subtraction
    assert "secret statistique" in deux.inner_text()
    assert "Carte – Part des allocataires au RSA (%) par quartier" in deux.inner_text()
    une = _map_of(page, base, "99001")
    assert une.locator("path.area").count() == 2
    assert une.locator("path.area.secret").count() == 0
    assert "classes par quantiles" in une.inner_text() and " – " in une.inner_text()


def test_a_shift_page_shows_its_neighbours(served, chromium) -> None:  # noqa: F811
    site, base = served
    write_contours(site.runtime.workspace.catalog_dir)
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    _login(page, base, "ana")
    page.goto(f"{base}/revue/evolution/s-nord")
    figure = page.locator("#neighbour-map")
    figure.scroll_into_view_if_needed()
    assert figure.locator("path.area").count() == 3 and figure.is_visible()
    assert figure.locator("path.focus").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    figure.screenshot(path=str(ARTIFACTS / "evolution-carte-voisins.png"))
    page.goto(f"{base}/revue")
    thumbs = page.locator("img.neighbour-thumb")
    assert thumbs.count() == 4
    thumbs.first.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('img.neighbour-thumb').naturalWidth > 0")
    page.screenshot(path=str(ARTIFACTS / "revue-vignettes-cartes.png"))
