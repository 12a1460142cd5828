"""The portrait's maps on the small observatory with outlines: a choropleth of the
communes and one of each commune's quartiers, drawn from the very values of the tables
(through the persisted secrecy mask), the secret quartier hatched, the confirmed shift
outlined, the maps' captions in the PDF."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from review_site import NOW, SECRET_VALUE, write_contours

from portrait.build import build_portrait
from portrait.render import fmt_value, render_html, render_pdf
from review.decide import decide
from veille.model import IndicatorKind

SVG = "{http://www.w3.org/2000/svg}"


def _maps(html: str, indicator: str) -> list[ET.Element]:
    found = re.findall(rf'<figure class="map" data-indicator="{indicator}">(<svg.*?</svg>)',
                       html, re.DOTALL)
    return [ET.fromstring(svg) for svg in found]


def _areas(svg: ET.Element) -> dict[str, ET.Element]:
    return {p.get("data-code", ""): p for p in svg.iter(f"{SVG}path")
            if (p.get("class") or "").startswith("area")}


def test_maps_hatch_the_secret_and_outline_the_confirmed_shift(site, tmp_path) -> None:
    write_contours(site.runtime.workspace.catalog_dir)
    decide(site.runtime.engine, "s-part", "confirmed", reviewer="ana", now=NOW,
           comment="Hausse vue par le CCAS")
    with site.runtime.engine.connect() as conn:
        portrait = build_portrait(conn, site.runtime.catalog, "2025",
                                  now=dt.datetime(2025, 7, 20, tzinfo=dt.UTC))
    html = render_html(portrait)
    agglo, deux, une = _maps(html, "part_rsa")  # the agglomeration, then communes by name
    assert not _maps(html, "caf_alloc")  # two maps per theme: the rate, then a count
    # a count is mapped per 1,000 inhabitants (territories.csv's population)
    counts = _maps(html, "caf_rsa")
    assert len(counts) == 3
    notes = {n.territory.code: n for n in portrait.communes}
    for section in notes["99001"].sections:
        line = section.map_lines["caf_rsa"]
        assert line.value is not None and section.territory.population
        rate = 1000 * line.value / section.territory.population
        title = _areas(counts[2])[section.territory.code].find(f"{SVG}title")
        assert title is not None and title.text == (
            f"{section.territory.name} : {fmt_value(rate, IndicatorKind.RATE)}")
    assert "pour 1 000 habitants" in html
    assert sorted(_areas(agglo)) == ["99001", "99002"]
    assert [p.get("data-code") for p in agglo.iter(f"{SVG}path")
            if p.get("class") == "shift"] == ["99001"]  # s-part, confirmed
    assert sorted(_areas(une)) == ["Q-UN-NORD", "Q-UN-SUD"]
    assert sorted(_areas(deux)) == ["Q-DEUX-EST", "Q-DEUX-OUEST"]
    # every area says what the tables say: hatched exactly where the line is masked
    for svg, parent in ((une, "99001"), (deux, "99002")):
        for section in notes[parent].sections:
            line = section.map_lines["part_rsa"]
            area = _areas(svg)[section.territory.code]
            assert (area.get("class") == "area secret") == line.masked
            if not line.masked:
                assert line.value is not None
                assert area.find(f"{SVG}title").text.endswith(  # type: ignore[union-attr]
                    fmt_value(line.value, line.indicator.kind, line.indicator.unit))
    # Ouest's count is secret, and Est would give it back by subtraction from Ville-Deux:
    # both hatched, no class at all in the legend
    for code in ("Q-DEUX-OUEST", "Q-DEUX-EST"):
        area = _areas(deux)[code]
        assert area.get("fill", "").startswith("url(#h-") and area.get("class") == "area secret"
    legend = " ".join(t.text or "" for t in deux.iter(f"{SVG}text"))
    assert "secret statistique" in legend and " – " not in legend
    assert any(a.get("class", "").startswith("area c") for a in _areas(une).values())
    # Ville-Une's legend: one entry per class, with its bounds, for the two quartiers
    entries = [g for g in une.iter(f"{SVG}g")
               if (g.get("class") or "").startswith("legend-entry class")]
    published = sorted(s.map_lines["part_rsa"].value for s in notes["99001"].sections)
    assert len(entries) == 2
    bounds = " ".join(t.text or "" for g in entries for t in g.iter(f"{SVG}text"))
    for value in published:
        assert fmt_value(value, IndicatorKind.RATE, "%") in bounds
    line = next(s for s in notes["99002"].sections
                if s.territory.code == "Q-DEUX-OUEST").map_lines["part_rsa"]
    assert line.masked and line.value is None
    # the secret count (3) gives a rate the map must not show, whatever its rounding
    alloc = 400.0 + 3 * 28  # caf_alloc of 2025-05 in review_site
    secret_rate = 100 * SECRET_VALUE / alloc
    drawn = ET.tostring(deux, encoding="unicode")
    for text in (f"{secret_rate:.1f}".replace(".", ","), f"{secret_rate:.2f}"):
        assert text not in drawn

    pdf = tmp_path / "portrait.pdf"
    render_pdf(html, pdf)
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed: bash install.sh installs it")
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], check=True,
                                   capture_output=True, text=True).stdout.split())
    assert "Carte – Part des allocataires au RSA (%) par commune, mai 2025" in text
    # (a caption wrapped at Ville-|Deux comes back from pdftotext without its hyphen)
    assert re.search(r"Carte – Part des allocataires au RSA \(%\) par quartier, mai 2025 – "
                     r"Ville-?Deux", text)
    assert "secret statistique" in text and "évolution confirmée" in text
