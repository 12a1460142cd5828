"""Login throttling (issue 18): by account name and by address, with a wait that doubles
after each further failure; every attempt recorded and logged; the same answer whichever
of account or password was wrong. The clock is the runtime's (moved by the tests), so
minutes of waiting take no time."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from review_site import NOW, PASSWORD, Browser, Site, build_site
from sqlalchemy import select

from benchmarks.login_throttle import attack
from veille.clock import FixedClock
from veille.store.schema import login_attempts

WRONG = "Identifiant ou mot de passe incorrect."


def _clocked(root: Path, db_url: str, monkeypatch: pytest.MonkeyPatch,
             ) -> Iterator[tuple[Site, FixedClock]]:
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    clock = FixedClock(NOW)
    site = build_site(root, clock=clock)
    with TestClient(site.app):
        yield site, clock
    site.runtime.engine.dispose()


@pytest.fixture
def clocked(tmp_path: Path, db_url: str,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Site, FixedClock]]:
    """The site on SQLite and PostgreSQL, with a clock the test moves."""
    yield from _clocked(tmp_path / "ws", db_url, monkeypatch)


@pytest.fixture
def clocked_lite(tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Site, FixedClock]]:
    """SQLite only: for figures, the store's part is covered on both above."""
    yield from _clocked(tmp_path / "ws", f"sqlite:///{tmp_path / 'web.db'}", monkeypatch)


def _wait(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 429, (response.status_code, response.text[:200])
    return int(response.headers["retry-after"])


def test_guesses_on_one_account_wait_longer_and_longer(clocked, caplog) -> None:
    site, clock = clocked
    caplog.set_level(logging.INFO, logger="veille.review.login")
    browser = Browser(site.app)
    for _ in range(5):  # five free failures
        refused = browser.login("ana", "pas-le-bon")
        assert refused.status_code == 401 and WRONG in refused.text
    # then even the right password waits, and is not checked
    locked = browser.login("ana", PASSWORD)
    assert _wait(locked) == 30
    assert "Trop de tentatives de connexion : réessayez dans 30 secondes." in locked.text
    assert browser.get("/revue").status_code == 303  # no session was opened
    clock.advance(dt.timedelta(seconds=29))
    assert _wait(browser.login("ana", PASSWORD)) == 1
    clock.advance(dt.timedelta(seconds=1))
    assert browser.login("ana", "encore-faux").status_code == 401  # 6th failure
    assert _wait(browser.login("ana", PASSWORD)) == 60  # the wait doubles
    clock.advance(dt.timedelta(seconds=60))
    assert browser.login("ana", "toujours-faux").status_code == 401  # 7th failure
    locked = browser.login("ana", PASSWORD)
    assert _wait(locked) == 120 and "réessayez dans 2 minutes." in locked.text
    clock.advance(dt.timedelta(seconds=120))
    assert browser.login("ana", PASSWORD).status_code == 303  # the right one, once waited
    assert browser.get("/revue").status_code == 200
    # a success clears the account's count: the next typo is free again
    assert Browser(site.app).login("ana", "faute-de-frappe").status_code == 401

    with site.runtime.engine.connect() as conn:
        outcomes = conn.execute(select(login_attempts.c.outcome)
                                .where(login_attempts.c.username == "ana")
                                .order_by(login_attempts.c.id)).scalars().all()
    assert outcomes == ["failure"] * 5 + ["throttled"] * 2 + ["failure", "throttled",
                                                              "failure", "throttled",
                                                              "success", "failure"]
    messages = [r.getMessage() for r in caplog.records if r.name == "veille.review.login"]
    assert messages.count("login failed: account 'ana' from testclient") == 8
    assert "login throttled: account 'ana' from testclient, 30 s to wait" in messages
    assert "login: account 'ana' from testclient" in messages
    assert not any(secret in m for m in messages
                   for secret in (PASSWORD, "pas-le-bon", "encore-faux"))


def test_unknown_accounts_wait_like_known_ones(clocked) -> None:
    """Waiting must not tell which accounts exist."""
    site, _clock = clocked
    for name in ("ana", "personne"):
        browser = Browser(site.app, address=f"adresse-{name}")
        answers = [browser.login(name, "faux-mot-de-passe").status_code for _ in range(6)]
        assert answers == [401] * 5 + [429], (name, answers)


def test_a_spray_from_one_address_is_throttled_by_address(clocked) -> None:
    site, clock = clocked
    sprayer = Browser(site.app, address="203.0.113.7")
    for i in range(20):  # one guess each on twenty account names: twenty free failures
        assert sprayer.login(f"compte-{i}", "motdepasse123").status_code == 401
    assert _wait(sprayer.login("ana", PASSWORD)) == 30
    # someone else, elsewhere, is not held up
    elsewhere = Browser(site.app, address="198.51.100.2")
    assert elsewhere.login("ana", PASSWORD).status_code == 303
    # a success from the address does not clear it (one valid account cannot launder a spray)
    clock.advance(dt.timedelta(seconds=30))
    assert sprayer.login("dir-une", PASSWORD).status_code == 303
    assert sprayer.login("compte-99", "motdepasse123").status_code == 401  # 21st failure
    assert _wait(Browser(site.app, address="203.0.113.7").login("elu", PASSWORD)) == 60


def _without_token(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


def test_the_same_answer_whichever_of_account_or_password_was_wrong(clocked) -> None:
    site, _clock = clocked
    from review.auth import set_active

    set_active(site.runtime.engine, "elu", False, NOW)
    answers = {
        "unknown account": Browser(site.app, address="a1").login("inconnu", PASSWORD),
        "wrong password": Browser(site.app, address="a2").login("ana", "pas-le-bon"),
        "disabled account": Browser(site.app, address="a3").login("elu", PASSWORD),
    }
    assert {r.status_code for r in answers.values()} == {401}
    pages = {_without_token(r.text) for r in answers.values()}
    assert len(pages) == 1 and WRONG in pages.pop()


def test_an_attacker_gets_a_few_guesses_an_hour(clocked_lite) -> None:
    """The figures of benchmarks/login_throttle.py, over one simulated hour."""
    site, clock = clocked_lite
    one = attack(site.app, clock, name="one account", accounts=["ana"], seconds=3600)
    assert one.checked == 11, one.line()  # 5 free, then after 30, 60, ... 960 s
    clock.advance(dt.timedelta(days=2))  # the first attack is forgotten
    spray = attack(site.app, clock, name="spray", accounts=[f"c{i}" for i in range(100)],
                   seconds=3600, address="203.0.113.9")
    assert spray.checked == 26, spray.line()  # 20 free, then 30, 60, ... 960 s
    assert one.rate < 0.0031 and spray.rate < 0.0073
