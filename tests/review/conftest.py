"""Fixtures of the web tests: the small observatory of ``review_site`` on SQLite and
PostgreSQL, and an in-process client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from review_site import Browser, Site, build_site


@pytest.fixture
def site(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    built = build_site(tmp_path / "ws")
    yield built
    built.runtime.engine.dispose()


@pytest.fixture
def browser(site: Site) -> Iterator[Browser]:
    with TestClient(site.app) as _:  # the app's lifespan
        yield Browser(site.app)
