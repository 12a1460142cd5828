"""Every link of every message a cell receives works for the person who receives it
(issue 16): sent through a real SMTP server, each link starts with the workspace's
``base_url`` and, fetched with the recipient's own session, answers 200 (a login page
first, when not logged in, that leads there). The words are French: periods written out,
plurals agreed, no status code."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from digest_world import BASE_URL, RECIPIENTS, build_digest_site, links, recipient_cell, smtp_server
from review_site import Browser

ENGLISH = re.compile(r"\b(sent|pending|failed|spike|level_shift|trend_change|warning|critical)\b")


def _path(url: str) -> str:
    parts = urlsplit(url)
    prefix = urlsplit(BASE_URL).path
    assert parts.path.startswith(prefix), url
    return parts.path[len(prefix):] + (f"?{parts.query}" if parts.query else "")


def test_every_link_of_every_message_answers_200_for_its_recipient(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    with smtp_server() as (sink, port):
        site = build_digest_site(tmp_path / "ws", port, monkeypatch)
    assert {recipient_cell(m) for m in sink.messages} == set(RECIPIENTS)
    browsers: dict[str, Browser] = {}
    checked: dict[str, set[str]] = {cell: set() for cell in RECIPIENTS}
    for message in sink.messages:
        cell = recipient_cell(message)
        found = links(message)
        assert found, f"no link in {message['Subject']}"
        if cell not in browsers:
            browsers[cell] = Browser(site.app, base_url="https://testserver")
            assert browsers[cell].login(RECIPIENTS[cell]).status_code == 303
        for url in found:
            assert url.startswith(BASE_URL + "/"), url
            path = _path(url)
            answer = browsers[cell].get(path)
            assert answer.status_code == 200, (cell, url, answer.status_code)
            checked[cell].add(path.split("/")[1])
    # each role got the pages it reads: the series and the portrait; the shift page for
    # analysts only
    assert checked["ccas-une"] == {"series", "portrait"}
    assert checked["clspd-une"] == {"series", "portrait"}
    assert checked["observatoire"] >= {"series", "portrait", "revue"}
    # a link opened before logging in goes through the login page, then to the page
    anonymous = Browser(site.app, base_url="https://testserver")
    first = _path(links(sink.messages[0])[0])
    page = anonymous.get(first)
    assert page.status_code == 303 and page.headers["location"].startswith("/connexion")


def test_messages_speak_french(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    with smtp_server() as (sink, port):
        site = build_digest_site(tmp_path / "ws", port, monkeypatch)
    texts = [html.unescape(re.sub(r"<[^>]+>", " ", p.get_content()))
             for m in sink.messages for p in m.walk() if p.get_content_type() == "text/html"]
    body = re.sub(r"[ \t\r\n]+", " ", "\n".join(texts))
    assert "mai 2025" in body and "2025-05" not in body
    assert "(s)" not in body
    assert not ENGLISH.search(body), ENGLISH.search(body)
    assert "l'alerte s'arrête quand la valeur repasse sous 9,5\u202f%" in body
    assert "+25 points (+55,6\u202f%)" in body  # a rate moves by points
    assert "attendu : 45 foyers (intervalle de 40 à 50 foyers)" in body
    reader = Browser(site.app, base_url="https://testserver")
    reader.login("dir-une")
    listing = reader.get("/syntheses").text
    assert "envoyée" in listing and not ENGLISH.search(re.sub(r"<[^>]+>", " ", listing))
