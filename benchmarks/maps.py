"""Benchmark: the portrait's maps, for the demo and for the 320 communes of the Loire.

Demo: the store of ``benchmarks/portrait.py`` (the demo catalog with its generated
contours, six years of 60 indicators); the portrait built once, then its HTML and PDF
rendered with and without its maps (``Portrait.shapes`` emptied), so the maps' share of
the portrait's 30 s budget (HTML + PDF) is measured, not guessed.

Loire: a workspace made by ``veille init --territory 42 --contours`` from the IGN 2018
outlines (326 features keyed to 320 communes of 2025); the time to read, repair and
project them, then the maps of a département note (``MAPS_PER_THEME`` per theme, six
themes: 12 choropleths of 320 communes, about 5 % of them secret) as SVG, and that page
as PDF with WeasyPrint.

    python -m benchmarks.maps [--workdir DIR] [--indicators 60]

Figures (2 cores AMD EPYC, Python 3.11.7, measured while three other sessions loaded the
machine: load average 6-7, so every figure is noisy and pessimistic):
- demo: 90 maps (communes of the agglomeration, quartiers of each commune), drawn as SVG
  in 0.2-0.3 s; the portrait's HTML 0.6-1.3 s to render either way; its PDF 64 s without
  maps and 65-87 s with them over two runs (149 -> 167 pages). Alone, the 90 maps cost
  WeasyPrint about 4 s (5.3 s before the maps' titles moved to the HTML captions: each
  SVG text is a layout). The demo portrait (HTML + PDF, build included) took 76-106 s
  on this loaded machine, over its 30 s budget with or without maps; not measured on
  an idle machine.
- Loire: contours read, repaired and projected in 0.07-0.16 s; 12 maps of 320 communes
  drawn in 2.3-6.0 s (119 KB each: 320 paths with a tooltip), their PDF page in 7-21 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.portrait import NOW, YEAR, machine, synthesize
from connectors.reference.build import InitFiles, init_workspace
from portrait.build import build_portrait
from portrait.maps import MAPS_PER_THEME, MapSet
from portrait.render import fmt_value, render_html, render_pdf
from veille.catalog import load_catalog
from veille.maps.contours import load_contours
from veille.maps.projection import project, simplify
from veille.maps.svg import Area, MapSpec, choropleth
from veille.model import Polarity, Theme

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _timed(work):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def demo(root: Path, indicators: int) -> None:
    runtime, _delivery, _n = synthesize(root, indicators, 0)
    with runtime.engine.connect() as conn:
        built, build_s = _timed(lambda: build_portrait(conn, runtime.catalog, str(YEAR),
                                                       now=NOW))
    maps = MapSet(built, fmt_value)
    figures, draw_s = _timed(lambda: [f for note in built.notes()
                                      for n in [note, *note.sections] for b in n.themes
                                      for f in maps.figures(n, b)])
    html, html_s = _timed(lambda: render_html(built))
    _pdf, pdf_s = _timed(lambda: render_pdf(html, root / "with-maps.pdf"))
    shapes, built.shapes = built.shapes, {}
    bare, bare_html_s = _timed(lambda: render_html(built))
    _pdf, bare_pdf_s = _timed(lambda: render_pdf(bare, root / "without-maps.pdf"))
    built.shapes = shapes
    print(f"demo: {len(figures)} maps drawn in {draw_s:.2f} s; build {build_s:.1f} s")
    print(f"  HTML: {bare_html_s:.1f} s without maps, {html_s:.1f} s with them; "
          f"PDF: {bare_pdf_s:.1f} s -> {pdf_s:.1f} s")
    total = build_s + html_s + pdf_s
    print(f"  portrait HTML + PDF with maps: {total:.1f} s  [budget < 30 s]")


def loire(root: Path) -> None:
    workspace = root / "loire"
    init_workspace(workspace, ["42"], InitFiles(
        DATA / "insee-cog-2025" / "v_commune_2025.csv", DATA / "insee-epci-2025" / "epci.json",
        contours=(DATA / "ign-communes-2018-geojson" / "communes-42-loire.geojson",)))
    catalog = load_catalog(workspace / "catalog")
    shapes, read_s = _timed(lambda: project(load_contours(catalog).shapes))
    communes = sorted(c for c, t in catalog.territories.items() if t.kind.value == "commune")
    rng = np.random.default_rng(42)
    count = MAPS_PER_THEME * len(Theme)

    def draw() -> list[str]:
        drawn = simplify({c: shapes[c] for c in communes}, 340)
        out = []
        for number in range(count):
            values = rng.gamma(4, 3, len(communes))
            hidden = rng.random(len(communes)) < 0.05
            areas = [Area(c, catalog.territories[c].name, None if h else float(v), hidden=h)
                     for c, v, h in zip(communes, values, hidden, strict=True)]
            svg = choropleth(areas, drawn, MapSpec(
                title=f"Indicateur {number} (%), {YEAR}", source="Source : benchmark",
                fmt=lambda v: f"{v:.1f}".replace(".", ",") + " %",
                polarity=Polarity.UP_IS_BAD, uid=f"loire-{number}", width=340,
                max_height=220))
            assert svg is not None
            out.append(svg)
        return out

    svgs, draw_s = _timed(draw)
    page = ("<html><body>" + "".join(f'<figure style="display:inline-block">{s}</figure>'
                                     for s in svgs) + "</body></html>")
    _pdf, pdf_s = _timed(lambda: render_pdf(page, root / "loire-maps.pdf"))
    print(f"Loire: {len(shapes)} communes' contours read, repaired and projected in "
          f"{read_s:.2f} s")
    print(f"  {count} maps of {len(communes)} communes drawn in {draw_s:.2f} s "
          f"({sum(map(len, svgs)) / count / 1e3:.0f} KB each); their PDF in {pdf_s:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--indicators", type=int, default=60)
    args = parser.parse_args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="veille-bench-maps-"))
    print(f"machine: {machine()}")
    loire(root)
    demo(root, args.indicators)


if __name__ == "__main__":
    main()
