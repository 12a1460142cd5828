"""Rendering the portrait: one set of Jinja2 templates for the web page, the HTML file and
the PDF (WeasyPrint), so the three never disagree. Charts and maps are SVG."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from portrait import pdftext
from portrait.maps import MapSet
from portrait.model import IndicatorLine, Note, Portrait
from veille.model import IndicatorKind
from veille.periods import label_fr
from veille.sparkline import AGGLO, COMMUNE, INK, panels
from veille.wording import fmt, signed

TEMPLATES = Path(__file__).resolve().parent / "templates"
PARIS = ZoneInfo("Europe/Paris")


def decimals(line_or_kind: IndicatorLine | IndicatorKind) -> int:
    kind = line_or_kind.indicator.kind if isinstance(line_or_kind, IndicatorLine) else (
        line_or_kind)
    return 0 if kind is IndicatorKind.COUNT else 1


def fmt_value(value: float | None, kind: IndicatorKind, unit: str = "") -> str:
    """A published value in French, or the secrecy mark; never a masked number."""
    if value is None:
        return "–"
    return fmt(value, unit if unit in ("%", "€", "€/m²") else "", decimals(kind))


def fmt_change(value: float | None, kind: IndicatorKind) -> str:
    return "–" if value is None else signed(value, "", decimals(kind))


def fmt_date(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(PARIS).strftime("%d/%m/%Y")
    return value.strftime("%d/%m/%Y")


def period_fr(label: str | None) -> str:
    return "–" if not label else label_fr(label)


def environment(extra: Iterable[Path] = ()) -> Environment:
    env = Environment(loader=FileSystemLoader([*map(str, extra), str(TEMPLATES)]),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(value=fmt_value, change=fmt_change, date=fmt_date, period=period_fr)
    return env


class ChartSet:
    """Trend charts of a portrait as data URIs: small multiples, each territory on its own
    scale (``veille.sparkline.panels``), drawn once per line."""

    def uri(self, line: IndicatorLine) -> str | None:
        ind = line.indicator
        own = ("quartier" if line.commune_trend else "commune" if line.agglomeration_trend
               else "agglo.")
        series = [(own, INK, line.trend.values)]
        if line.commune_trend:
            series.append(("commune", COMMUNE, line.commune_trend.values))
        if line.agglomeration_trend:
            series.append(("agglo.", AGGLO, line.agglomeration_trend.values))
        periods = line.trend.periods
        svg = panels(series, periods[0][:4], periods[-1][:4],
                     lambda v: fmt_value(v, ind.kind, ind.unit))
        if svg is None:
            return None
        return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def render_html(portrait: Portrait, *, notes: list[Note] | None = None,
                web: bool = False, env: Environment | None = None,
                nav: str = "", series_url: Callable[[str, str], str | None] | None = None,
                ) -> str:
    """The portrait (or only ``notes`` of it, for a scoped reader) as one HTML document;
    on the site, ``series_url(indicator, territory)`` links each line to its series page
    (None where the reader may not open it)."""
    env = env or environment()
    charts = ChartSet()
    maps = MapSet(portrait, fmt_value)
    return env.get_template("portrait.html").render(
        portrait=portrait, notes=notes if notes is not None else portrait.notes(),
        chart=charts.uri, maps=maps.figures, web=web, nav=nav,
        series_url=series_url or (lambda *_: None))


def render_pdf(html: str, target: Path | None = None) -> bytes:
    """PDF bytes of a rendered portrait (and written to ``target`` if given)."""
    from weasyprint import HTML

    # the charts' and maps' labels laid out whole, not letter by letter
    whole = pdftext.install()
    short, images = _charts_by_reference(html, pdftext.anchored_whole if whole else None)
    pdf = HTML(string=short, base_url=str(TEMPLATES),
               url_fetcher=_fetcher(images)).write_pdf()
    assert pdf is not None
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(pdf)
    return pdf


_DATA_SVG = re.compile(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')
_SCHEME = "veille-svg:"


def _charts_by_reference(html: str, adapt: Callable[[str], str] | None = None,
                         ) -> tuple[str, dict[str, bytes]]:
    """The HTML with each inline SVG image (the trend charts' data URIs, 3 of the 4.6 MB)
    replaced by a short reference, and the images by reference: WeasyPrint's HTML parser
    then reads a few kilobytes of attributes instead of megabytes of base64. References are
    numbered in order of first appearance; the same image is one reference; ``adapt``
    rewrites each image's SVG for the PDF (``pdftext.anchored_whole``)."""
    images: dict[str, bytes] = {}
    names: dict[str, str] = {}

    def refer(match: re.Match[str]) -> str:
        data = match.group(1)
        name = names.get(data)
        if name is None:
            name = names[data] = f"{_SCHEME}{len(names)}"
            svg = base64.b64decode(data)
            images[name] = adapt(svg.decode()).encode() if adapt else svg
        return f'src="{name}"'

    return _DATA_SVG.sub(refer, html), images


def _fetcher(images: dict[str, bytes]) -> Any:
    """WeasyPrint's URL fetcher, serving ``images`` by their reference (WeasyPrint 70's
    fetcher class, or before it a function returning a dict)."""
    from weasyprint import urls

    fetcher_class = getattr(urls, "URLFetcher", None)
    if fetcher_class is not None:
        response = urls.URLFetcherResponse

        class Fetcher(fetcher_class):  # type: ignore[misc, valid-type]
            def fetch(self, url: str, headers: Any = None) -> Any:
                if url in images:
                    return response(url, images[url], {"Content-Type": "image/svg+xml"})
                return super().fetch(url, headers)

        return Fetcher()

    def fetch(url: str) -> Any:
        if url in images:
            return {"string": images[url], "mime_type": "image/svg+xml", "redirected_url": url}
        return urls.default_url_fetcher(url)

    return fetch


def write_portrait(portrait: Portrait, folder: Path, *, pdf: bool = True) -> dict[str, Path]:
    """Write ``portrait-<period>.html`` (and ``.pdf``) into ``folder``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    html = render_html(portrait)
    out = {"html": folder / f"portrait-{portrait.period}.html"}
    out["html"].write_text(html, encoding="utf-8")
    if pdf:
        out["pdf"] = folder / f"portrait-{portrait.period}.pdf"
        render_pdf(html, out["pdf"])
    return out
