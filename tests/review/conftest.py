"""Fixtures of the web tests: the small observatory of ``review_site`` on SQLite and
PostgreSQL, and an in-process client."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from review_site import PASSWORD, Site, build_site

__all__ = ["PASSWORD", "Browser", "csrf_of", "veille_cli"]
REPO = Path(__file__).resolve().parents[2]


def veille_cli(*args: str, env: dict[str, str] | None = None,
               ) -> subprocess.CompletedProcess[str]:
    """A `veille` command run as an operator runs it: this checkout's code, a real process
    (the store URL comes from the test's environment)."""
    full = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="200", **(env or {}))
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=full, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def site(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    built = build_site(tmp_path / "ws")
    yield built
    built.runtime.engine.dispose()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


class Browser:
    """A client on the app in-process (Starlette's TestClient is an httpx client), with
    login and CSRF helpers. Redirects are not followed, so tests see them."""

    def __init__(self, app: object, address: str = "testclient",
                 base_url: str = "http://testserver") -> None:
        self.client = TestClient(app, base_url=base_url,  # type: ignore[arg-type]
                                 follow_redirects=False, client=(address, 50000))
        self.csrf = ""

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        page = self.client.get("/connexion")
        response = self.client.post("/connexion", data={
            "username": username, "password": password, "csrf_token": csrf_of(page.text)})
        if response.status_code == 303:
            self.csrf = csrf_of(self.client.get("/connexion").text)
        return response

    def get(self, url: str) -> httpx.Response:
        return self.client.get(url)

    def post(self, url: str, data: dict | list, *, csrf: bool = True) -> httpx.Response:
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf:
            pairs.append(("csrf_token", self.csrf))
        form: dict[str, list[str]] = {}
        for key, value in pairs:
            form.setdefault(key, []).append(value)
        return self.client.post(url, data=form)


@pytest.fixture
def browser(site: Site) -> Iterator[Browser]:
    with TestClient(site.app) as _:  # the app's lifespan
        yield Browser(site.app)
