"""The site's maps (issue 17): the shift page shows the territory among its neighbours with
their published values (a secret one hatched, another detection outlined), the queue
loads it as a thumbnail, and the series page has a locator map."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from review_site import write_contours

from review.maps import with_neighbours

SVG = "{http://www.w3.org/2000/svg}"


def _svg(html: str, marker: str) -> ET.Element:
    start = html.index("<svg", html.index(marker))
    return ET.fromstring(html[start:html.index("</svg>", start) + 6])


def _codes(svg: ET.Element, css: str) -> list[str]:
    return sorted(p.get("data-code", "") for p in svg.iter(f"{SVG}path")
                  if (p.get("class") or "").split()[:1] == [css])


def test_a_shift_among_its_neighbours_and_a_series_locator(site, browser) -> None:
    browser.login("ana")
    assert 'id="neighbour-map"' not in browser.get("/revue/evolution/s-nord").text
    assert "neighbour-thumb" not in browser.get("/revue").text  # no contours, no map
    path = write_contours(site.runtime.workspace.catalog_dir)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"].append({"type": "Feature", "properties": {"code": "299000001"},
                             "geometry": {"type": "Polygon", "coordinates": [[
                                 [4.3, 45.4], [4.48, 45.4], [4.48, 45.46], [4.3, 45.4]]]}})
    path.write_text(json.dumps(data), encoding="utf-8")  # the agglomeration, alone of its kind

    page = browser.get("/revue/evolution/s-nord").text
    svg = _svg(page, 'id="neighbour-map"')
    # Nord touches Sud (same commune) and Ouest (across the communes' border), not Est
    assert _codes(svg, "area") == ["Q-DEUX-OUEST", "Q-UN-NORD", "Q-UN-SUD"]
    assert _codes(svg, "focus") == ["Q-UN-NORD"]
    assert _codes(svg, "shift") == ["Q-DEUX-OUEST"]  # s-ouest: same indicator and period
    areas = {p.get("data-code"): p for p in svg.iter(f"{SVG}path")
             if (p.get("class") or "").startswith("area")}
    assert areas["Q-DEUX-OUEST"].get("class") == "area secret"  # published values only
    title = areas["Q-DEUX-OUEST"].find(f"{SVG}title")
    assert title is not None and title.text == "Ouest : secret statistique"
    values = site.app.state.published.get(["caf_rsa"])
    for code in ("Q-UN-NORD", "Q-UN-SUD"):
        shown = values.value("caf_rsa", code, "2025-05")
        assert shown is not None
        title = areas[code].find(f"{SVG}title")
        assert title is not None and title.text.endswith(f"{shown:.0f}")
    legend = " ".join(t.text or "" for t in svg.iter(f"{SVG}text"))
    assert "ce territoire" in legend and "autre évolution détectée" in legend
    assert "secret statistique" in legend

    queue = browser.get("/revue").text
    assert queue.count('class="neighbour-thumb"') == 4
    # a thumbnail only where there are neighbours: the agglomeration, alone, gets none
    touching = with_neighbours(site.runtime.catalog)
    assert touching == {"99001", "99002", "Q-UN-NORD", "Q-UN-SUD", "Q-DEUX-EST",
                        "Q-DEUX-OUEST"}
    thumb = browser.get("/revue/evolution/s-est/carte.svg")
    assert thumb.status_code == 200 and thumb.headers["content-type"].startswith(
        "image/svg+xml")
    assert _codes(ET.fromstring(thumb.text), "area") == ["Q-DEUX-EST", "Q-DEUX-OUEST"]
    assert 'class="legend"' not in thumb.text and 'width="150"' in thumb.text  # shapes only

    series = browser.get("/series/caf_rsa/Q-UN-SUD").text
    locator = _svg(series, 'id="locator"')
    assert len(list(locator.iter(f"{SVG}path"))) == 2  # the quartiers of Ville-Une
    assert _codes(locator, "focus") == ["Q-UN-SUD"]


def test_only_analysts_get_the_neighbour_map(site, browser) -> None:
    write_contours(site.runtime.workspace.catalog_dir)
    browser.login("dir-une")
    assert browser.get("/revue/evolution/s-nord/carte.svg").status_code in (303, 403)
