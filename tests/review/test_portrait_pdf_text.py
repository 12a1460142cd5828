"""The portrait's PDF draws SVG labels whole (``portrait.pdftext``) and hands WeasyPrint the
charts by reference: the words, their places and the charts' values are those WeasyPrint
drew letter by letter from the inline data URIs; a masked value is a gap, never a label."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from portrait import pdftext
from portrait.render import _charts_by_reference, fmt_value, render_pdf
from veille.model import IndicatorKind
from veille.sparkline import AGGLO, INK, panels

QUARTIER = [120.0, 131.0, None, 118.0, 5692.0, 140.0]  # the third one is secret
AGGLO_VALUES = [4015.0, 4100.0, 4367.0, 4200.0, 4243.0, 4300.0]
HIDDEN = 73.0  # what the secret third value was: never given to the chart


def _chart() -> str:
    svg = panels([("quartier", INK, QUARTIER), ("agglo.", AGGLO, AGGLO_VALUES)], "2020",
                 "2025", lambda v: fmt_value(v, IndicatorKind.COUNT))
    assert svg is not None
    return svg


def _html(svg: str, extra: str = "") -> str:
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
    return (f'<html lang="fr"><body><p>Tendance 2020–2025</p><img src="{uri}">'
            f'<img src="{uri}">{extra}</body></html>')


def _words(pdf: Path) -> list[tuple[str, float, float]]:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed: bash install.sh installs it")
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    return [(word, float(x), float(y)) for x, y, word in
            re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', out)]


def test_the_panels_write_published_values_in_french_and_leave_the_secret_as_a_gap() -> None:
    svg = _chart()
    assert svg.count('stroke-width="1.4"') == 2  # one curve per territory
    curve = re.search(rf'<path d="([^"]+)" fill="none" stroke="{INK}"', svg)
    assert curve is not None and curve.group(1).count("M") == 2  # broken at the secret
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    # lowest and highest of each panel, last value and name, the first and last years
    assert labels == ["5\u202f692", "118", "140", "quartier", "4\u202f367", "4\u202f015",
                      "4\u202f300", "agglo.", "2020", "2025"]
    assert fmt_value(HIDDEN, IndicatorKind.COUNT) not in labels
    assert "NaN" not in svg and "None" not in svg


def test_the_pdf_has_the_labels_where_weasyprint_put_them_letter_by_letter(
        tmp_path, monkeypatch) -> None:
    # a text whose letters are placed one by one still goes to WeasyPrint's own drawing
    spaced = ('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="20">'
              '<text x="2" y="12" dx="0 3" font-size="8">écart</text></svg>')
    html = _html(_chart(), extra=_html(spaced).split("<body>")[1].split("</body>")[0])
    assert pdftext.install()
    original = pdftext._installed["original"]
    by_letter: list[str] = []

    def letter_by_letter(svg, node, font_size) -> None:  # type: ignore[no-untyped-def]
        by_letter.append(node.text)
        original(svg, node, font_size)

    monkeypatch.setitem(pdftext._installed, "original", letter_by_letter)
    whole = tmp_path / "whole.pdf"
    render_pdf(html, whole)
    # the spaced text (two images of it) only: the charts' 2 x 10 labels were laid out whole
    assert by_letter == ["écart", "écart"]
    letters = tmp_path / "letters.pdf"
    with monkeypatch.context() as patch:  # every text drawn letter by letter
        patch.setattr(pdftext, "_simple", lambda node: False)
        patch.setattr(pdftext, "anchored_whole", lambda svg: svg)
        render_pdf(html, letters)
    fast, slow = _words(whole), _words(letters)
    assert [w for w, _, _ in fast] == [w for w, _, _ in slow]
    # the right-aligned labels (lowest, highest, last year) moved by their own width
    assert sum(w in ("118", "2025") for w, _, _ in fast) == 4
    for (word, x, y), (_, x0, y0) in zip(fast, slow, strict=True):
        assert abs(x - x0) < 0.6 and abs(y - y0) < 0.6, word  # kerning moves a little
    words = [w for w, _, _ in fast]
    assert words.count("agglo.") == 2 and words.count("quartier") == 2  # both images
    assert "4\u202f367" in " ".join(words) or "4 367" in " ".join(words)
    assert fmt_value(HIDDEN, IndicatorKind.COUNT) not in words


def test_charts_are_referenced_once_each_and_decoded_unchanged() -> None:
    svg = _chart()
    html = _html(svg) + _html(svg.replace("quartier", "commune"))
    short, images = _charts_by_reference(html)
    assert "base64" not in short
    assert re.findall(r'src="([^"]+)"', short) == ["veille-svg:0", "veille-svg:0",
                                                   "veille-svg:1", "veille-svg:1"]
    assert images["veille-svg:0"].decode() == svg
    assert b"commune" in images["veille-svg:1"]
