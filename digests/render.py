"""Rendering a digest view to HTML (charts as inline images) and plain text, in French."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from digests.charts import data_uri
from digests.present import DigestView


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("digests", "templates"),
                      autoescape=select_autoescape(["html", "html.j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["data_uri"] = data_uri
    return env


def render(view: DigestView) -> Rendered:
    """Both bodies of one message; the HTML carries its charts inline (data: URIs)."""
    env = environment()
    html = env.get_template("message.html.j2").render(view=view)
    text = env.get_template("message.txt.j2").render(view=view)
    return Rendered(view.subject, text.strip() + "\n", html)
