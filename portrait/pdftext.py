"""WeasyPrint draws an SVG ``<text>`` one letter at a time: a Pango layout, a bounding box
and a PDF text object per character, so that each letter may carry its own ``x``, ``dx`` or
``rotate``. The portrait's 1,140 trend charts and its maps hold about 14,000 short labels
(75,000 letters), and that per-letter work was a third of the PDF's time.

``install()`` lets WeasyPrint lay out a label in one piece when nothing in it positions its
letters (a single ``x`` and ``y``, no ``dx``, ``dy``, ``rotate``, ``textLength``,
``letter-spacing`` or baseline alignment): one layout, one bounding box (the anchor's shift
uses it), one text object; the glyphs, font, colour and position are those WeasyPrint
would draw (Pango also kerns the pairs, which letter by letter it cannot). Any other text
goes to WeasyPrint's own function. If WeasyPrint's SVG module does not look as expected
(another version), nothing is changed."""

from __future__ import annotations

import importlib
import re
import sys
from math import inf
from typing import Any

ANCHOR = "data-whole-anchor"  # text-anchor, for whole_text to apply (see anchored_whole)
PER_LETTER = ("dx", "dy", "rotate", "textLength", "letter-spacing", "dominant-baseline",
              "alignment-baseline", "display-anchor")
_installed: dict[str, Any] = {}


def install() -> bool:
    """Route WeasyPrint's simple SVG texts through ``whole_text``; True if in place."""
    if _installed:
        return True
    try:
        svg = importlib.import_module("weasyprint.svg")
        module = sys.modules["weasyprint.svg.text"]
        original = module.text
        tags = svg.TAGS
    except (ImportError, KeyError, AttributeError):
        return False
    if svg.text is not original or tags.get("text") is not original:
        return False
    _installed["original"] = original

    def text(svg_: Any, node: Any, font_size: float) -> None:
        whole_text(svg_, node, font_size)

    for tag, function in list(tags.items()):
        if function is original:
            tags[tag] = text
    # draw_node compares TAGS.get(tag) with its own ``text`` to shift anchored texts
    svg.text = text  # type: ignore[attr-defined]
    return True


_TEXT_TAG = re.compile(r"<text\b([^>]*)>")


def anchored_whole(svg: str) -> str:
    """``svg`` with the ``text-anchor`` of its simple texts (those ``whole_text`` draws)
    renamed ``data-whole-anchor``: ``whole_text`` then shifts the text by its own width,
    where WeasyPrint would draw it into a separate PDF group (one object per label) to
    measure and move it. Only once ``install()`` returned True."""

    def rename(match: re.Match[str]) -> str:
        attributes = match.group(1)
        if ("text-anchor=" not in attributes
                or any(f" {key}=" in attributes for key in PER_LETTER)
                or re.search(r' [xy]="[^"]*\s[^"]*"', attributes)):
            return match.group(0)
        return "<text" + attributes.replace(" text-anchor=", f" {ANCHOR}=") + ">"

    return _TEXT_TAG.sub(rename, svg)


def _simple(node: Any) -> bool:
    attrib = node.attrib
    return (bool(node.text) and not any(key in attrib for key in PER_LETTER)
            and len(str(attrib.get("x", "0")).split()) == 1
            and len(str(attrib.get("y", "0")).split()) == 1)


def whole_text(svg: Any, node: Any, font_size: float) -> None:
    """WeasyPrint's ``svg.text.text`` for a text whose letters are not positioned one by
    one: the same style and position, laid out and drawn as one line."""
    if not _simple(node):
        _installed["original"](svg, node, font_size)
        return
    from weasyprint.css.properties import INITIAL_VALUES
    from weasyprint.draw.text import draw_emojis, draw_first_line
    from weasyprint.matrix import Matrix
    from weasyprint.svg.bounding_box import extend_bounding_box
    from weasyprint.svg.utils import size
    from weasyprint.text.line_break import split_first_line

    module = sys.modules["weasyprint.svg.text"]
    style = module.Style()
    style.update(INITIAL_VALUES)
    style.font_config = svg.font_config
    style["font_family"] = [font.strip("\"'") for font in
                            node.get("font-family", "sans-serif").split(",")]
    style["font_style"] = node.get("font-style", "normal")
    weight = node.get("font-weight", 400)
    weight = {"normal": 400, "bold": 700}.get(weight, weight)
    try:
        style["font_weight"] = int(weight)
    except ValueError:
        style["font_weight"] = 400
    style["font_size"] = font_size
    if node.get("direction") in ("ltr", "rtl"):
        style["direction"] = node.get("direction")

    layout, _, _, width, height, baseline = split_first_line(
        node.text, style, svg.context, inf, 0)
    attrib = node.attrib
    x = (size(attrib["x"], font_size, svg.inner_width) if "x" in attrib
         else svg.cursor_position[0])
    y = (size(attrib["y"], font_size, svg.inner_height) if "y" in attrib
         else svg.cursor_position[1])
    if "x" in attrib:
        svg.cursor_d_position[0] = 0
    if "y" in attrib:
        svg.cursor_d_position[1] = 0
    x_position = x + svg.cursor_d_position[0]
    anchor = attrib.get(ANCHOR)
    if anchor == "end":
        x_position -= width
    elif anchor == "middle":
        x_position -= width / 2
    y_position = y + svg.cursor_d_position[1]
    svg.cursor_position = x + width, y
    node.text_bounding_box = extend_bounding_box(
        node.text_bounding_box,
        ((x_position, y_position - baseline),
         (x_position + width, y_position - baseline + height)))

    svg.stream.push_state()
    fill, stroke = svg.set_graphical_state(node, font_size)
    svg.stream.begin_text()
    layout.reactivate(style)
    svg.fill_stroke(fill, stroke, text=True)
    box = module.TextBox(layout, style)
    box.baseline = baseline
    emojis = draw_first_line(svg.stream, box, "none", "none",
                             Matrix(a=1, d=-1, e=x_position, f=y_position))
    svg.stream.end_text()
    svg.stream.pop_state()
    draw_emojis(svg.stream, style, x, y, emojis)
