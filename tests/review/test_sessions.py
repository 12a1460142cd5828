"""Sessions end on the server (issue 18): a cookie copied before logout, a password change
or a disabled account opens nothing after; `veille users disable|enable|passwd` in real
processes; the Secure flag of the cookie follows the workspace setting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from review_site import NOW, PASSWORD, Browser, Site, build_site, veille_cli
from sqlalchemy import func, select

from veille.clock import FixedClock
from veille.store.schema import login_attempts, web_sessions

NEW_PASSWORD = "un-nouveau-mot-de-passe"


def _copy(browser: Browser, site: Site) -> Browser:
    """Another client holding the same cookie (an attacker's copy)."""
    thief = Browser(site.app)
    thief.client.cookies.set("veille_session", browser.client.cookies["veille_session"])
    return thief


def _refused(client: Browser) -> None:
    page = client.get("/revue")
    assert page.status_code == 303 and page.headers["location"].startswith("/connexion")
    assert client.get("/api/shifts").status_code == 401


def _open_sessions(site: Site, username: str) -> int:
    with site.runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(web_sessions).where(
            web_sessions.c.username == username, web_sessions.c.revoked_at.is_(None)))
            .scalar() or 0)


def test_a_cookie_copied_before_logout_is_refused_after(browser: Browser, site: Site) -> None:
    assert browser.login("ana").status_code == 303
    thief = _copy(browser, site)
    assert thief.get("/revue").status_code == 200  # the copy works while the session lives
    assert browser.post("/deconnexion", {}).status_code == 303
    _refused(thief)
    _refused(browser)
    assert _open_sessions(site, "ana") == 0
    # the store keeps the session's hash, never the token the cookie carries
    with site.runtime.engine.connect() as conn:
        ids = conn.execute(select(web_sessions.c.id)).scalars().all()
    assert ids and all(len(i) == 64 for i in ids)
    # and the next login works
    assert browser.login("ana").status_code == 303 and browser.get("/revue").status_code == 200


def test_a_password_change_ends_every_session_of_the_account(browser: Browser,
                                                             site: Site) -> None:
    assert browser.login("dir-une").status_code == 303
    other = Browser(site.app)
    assert other.login("dir-une").status_code == 303
    thief = _copy(browser, site)
    bystander = Browser(site.app)
    assert bystander.login("ana").status_code == 303

    done = veille_cli("users", "passwd", "dir-une", "-w", str(site.runtime.workspace.root),
                      env={"VEILLE_PASSWORD": NEW_PASSWORD})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Mot de passe du compte 'dir-une' changé ; 2 session(s) ouverte(s) fermée(s)." in (
        done.stdout)
    for client in (browser, other, thief):
        page = client.get("/abonnements")
        assert page.status_code == 303 and page.headers["location"].startswith("/connexion")
    assert bystander.get("/revue").status_code == 200  # other accounts keep theirs
    fresh = Browser(site.app)
    assert fresh.login("dir-une", PASSWORD).status_code == 401
    assert fresh.login("dir-une", NEW_PASSWORD).status_code == 303


def test_a_too_short_password_is_refused_and_nothing_changes(browser: Browser,
                                                             site: Site) -> None:
    assert browser.login("ana").status_code == 303
    refused = veille_cli("users", "passwd", "ana", "-w", str(site.runtime.workspace.root),
                         env={"VEILLE_PASSWORD": "court"})
    assert refused.returncode == 2
    assert "Refusé : mot de passe trop court (8 caractères au moins)" in refused.stdout
    assert "Traceback" not in refused.stdout + refused.stderr
    assert browser.get("/revue").status_code == 200  # the session still lives
    assert Browser(site.app).login("ana", PASSWORD).status_code == 303


def test_a_disabled_account_loses_its_sessions_and_cannot_log_in(browser: Browser,
                                                                site: Site) -> None:
    root = str(site.runtime.workspace.root)
    assert browser.login("dir-une").status_code == 303
    thief = _copy(browser, site)

    done = veille_cli("users", "disable", "dir-une", "-w", root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Compte 'dir-une' désactivé ; 1 session(s) ouverte(s) fermée(s)." in done.stdout
    for client in (browser, thief):
        assert client.get("/abonnements").status_code == 303
    again = Browser(site.app).login("dir-une")
    assert again.status_code == 401 and "Identifiant ou mot de passe incorrect." in again.text
    listing = veille_cli("users", "list", "-w", root)
    assert "non (désactivé)" in listing.stdout

    enabled = veille_cli("users", "enable", "dir-une", "-w", root)
    assert enabled.returncode == 0 and "Compte 'dir-une' réactivé." in enabled.stdout
    assert Browser(site.app).login("dir-une").status_code == 303


def test_an_unknown_account_is_named_with_exit_code_2(site: Site) -> None:
    for command in ("disable", "enable", "passwd"):
        done = veille_cli("users", command, "personne", "-w",
                          str(site.runtime.workspace.root), env={"VEILLE_PASSWORD": NEW_PASSWORD})
        assert done.returncode == 2, command
        assert "Refusé : compte inconnu 'personne'" in done.stdout, command
        assert "Traceback" not in done.stdout + done.stderr


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[tuple[Site, FixedClock]]:
    """The site on SQLite with a clock the test moves."""
    clock = FixedClock(NOW)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VEILLE_DATABASE_URL", f"sqlite:///{tmp_path / 'clock.db'}")
        site = build_site(tmp_path / "ws", clock=clock)
    yield site, clock
    site.runtime.engine.dispose()


def test_a_session_expires_on_the_server_after_eight_hours(clocked) -> None:
    site, clock = clocked
    with TestClient(site.app):
        browser = Browser(site.app)
        assert browser.login("ana").status_code == 303
        clock.advance(dt.timedelta(hours=7, minutes=59))
        assert browser.get("/revue").status_code == 200
        clock.advance(dt.timedelta(minutes=2))
        _refused(browser)


def test_ended_sessions_and_old_attempts_are_forgotten_after_30_days(clocked) -> None:
    site, clock = clocked
    with TestClient(site.app):
        assert Browser(site.app).login("ana", "pas-le-bon").status_code == 401
        assert Browser(site.app).login("ana").status_code == 303
        clock.advance(dt.timedelta(days=30, hours=8, minutes=1))  # ended 30 days ago
        assert Browser(site.app).login("elu").status_code == 303
    with site.runtime.engine.connect() as conn:
        users = conn.execute(select(web_sessions.c.username)).scalars().all()
        attempts = conn.execute(select(login_attempts.c.username)).scalars().all()
    assert users == ["elu"] and attempts == ["elu"]


@pytest.mark.parametrize(("settings", "secure"), [
    ({}, False),
    ({"base_url": "https://observatoire.example"}, True),
    ({"cookie_secure": True}, True),
    ({"base_url": "https://observatoire.example", "cookie_secure": False}, False),
])
def test_the_session_cookie_is_secure_when_the_site_is_served_over_https(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: dict,
        secure: bool) -> None:
    monkeypatch.setenv("VEILLE_DATABASE_URL", f"sqlite:///{tmp_path / 'web.db'}")
    site = build_site(tmp_path / "ws", settings=settings)
    # over HTTPS, as a Secure cookie is only sent back there
    response = Browser(site.app, base_url="https://testserver").login("ana")
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("veille_session=") and "httponly" in cookie
    assert ("; secure" in cookie) is secure, cookie
    site.runtime.engine.dispose()
