"""Accounts, password login, sessions and CSRF: checked on the server for every request.

Passwords are hashed with argon2 (argon2-cffi). The session is a signed cookie
(itsdangerous, through Starlette's SessionMiddleware) holding a random session token and a
per-session CSRF token; the token names a row of ``web_sessions`` that every request checks,
so logging out, changing the password or disabling the account ends the session at once,
whoever kept a copy of the cookie. Every state-changing request must echo the CSRF token
(form field ``csrf_token`` or header ``X-CSRF-Token``), so a page of another site cannot act
for a logged-in person.

Password guesses are throttled by account name and by address (:class:`Throttle`); every
attempt is recorded in ``login_attempts`` and logged (logger ``veille.review.login``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request
from sqlalchemy import Connection, Engine

from veille.catalog import Catalog
from veille.model import TerritoryKind
from veille.store import logins
from veille.store import users as user_store

HASHER = PasswordHasher()
SESSION_TTL = dt.timedelta(hours=8)
KEEP_LOGINS = dt.timedelta(days=30)  # login attempts and ended sessions kept this long
log = logging.getLogger("veille.review.login")
ROLE_LABELS = {"analyst": "chargé(e) d'études de l'observatoire", "ccas": "direction de CCAS",
               "clspd": "membre de CLSPD", "reader": "lecteur (élus et partenaires)"}


class AccountError(ValueError):
    """An account that cannot be created as asked (said in plain words)."""


@dataclass(frozen=True)
class User:
    """The person behind a request, with the territory they may see."""

    username: str
    display_name: str
    role: str
    commune: str | None = None
    scope: tuple[str, ...] = field(default_factory=tuple)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def is_analyst(self) -> bool:
        return self.role == "analyst"


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise AccountError("mot de passe trop court (8 caractères au moins)")


def create_user(engine: Engine, catalog: Catalog, *, username: str, password: str, role: str,
                display_name: str | None = None, commune: str | None = None,
                scope: list[str] | None = None, now: dt.datetime) -> None:
    """Check role and territory against the catalog, then store the account (hash only)."""
    scope = list(scope or [])
    if role not in user_store.ROLES:
        raise AccountError(f"rôle inconnu '{role}' (connus : {', '.join(user_store.ROLES)})")
    _check_password(password)
    if role in ("ccas", "clspd"):
        territory = catalog.territories.get(commune or "")
        if territory is None or territory.kind is not TerritoryKind.COMMUNE:
            raise AccountError(f"le rôle '{role}' demande une commune du catalogue "
                               f"(--commune), pas '{commune}'")
    elif commune or scope:
        raise AccountError(f"le rôle '{role}' n'a pas de territoire : il voit "
                           f"{'tout' if role == 'analyst' else 'le portrait publié'}")
    if role == "clspd":
        if not scope:
            scope = [t.code for t in catalog.children(str(commune))
                     if t.kind in (TerritoryKind.QUARTIER, TerritoryKind.QPV)]
        for code in scope:
            if code not in catalog.territories or not catalog.within([str(commune)], code):
                raise AccountError(f"le quartier '{code}' n'est pas dans la commune {commune}")
    elif scope:
        raise AccountError("--scope ne vaut que pour un membre de CLSPD (ses quartiers)")
    with engine.begin() as conn:
        if user_store.get(conn, username) is not None:
            raise AccountError(f"le compte '{username}' existe déjà")
        user_store.add(conn, username=username, display_name=display_name or username,
                       password_hash=hash_password(password), role=role, commune=commune,
                       scope=scope, now=now)


def authenticate(engine: Engine, username: str, password: str) -> User | None:
    """The user if the password matches an active account; None otherwise (same answer for
    an unknown account, so logins cannot be enumerated)."""
    with engine.connect() as conn:
        row = user_store.get(conn, username)
    if row is None or not row["active"]:
        HASHER.hash(password)  # same cost either way
        return None
    try:
        HASHER.verify(row["password_hash"], password)
    except (VerificationError, InvalidHashError):
        return None
    if HASHER.check_needs_rehash(row["password_hash"]):
        with engine.begin() as conn:
            user_store.set_password(conn, username, hash_password(password))
    return _user(row)


def _user(row: dict) -> User:
    return User(username=row["username"], display_name=row["display_name"], role=row["role"],
                commune=row["commune"], scope=tuple(row["scope"] or ()))


def change_password(engine: Engine, username: str, password: str, now: dt.datetime) -> int:
    """Set a new password and end every open session of the account (returns how many)."""
    _check_password(password)
    with engine.begin() as conn:
        if user_store.get(conn, username) is None:
            raise AccountError(f"compte inconnu '{username}'")
        user_store.set_password(conn, username, hash_password(password))
        return logins.revoke_sessions_of(conn, username, now)


def set_active(engine: Engine, username: str, active: bool, now: dt.datetime) -> int:
    """Enable or disable an account; disabling ends its open sessions (returns how many)."""
    with engine.begin() as conn:
        if user_store.get(conn, username) is None:
            raise AccountError(f"compte inconnu '{username}'")
        user_store.set_active(conn, username, active)
        return 0 if active else logins.revoke_sessions_of(conn, username, now)


# --- throttled login and server-side sessions ------------------------------------------------

class LoginThrottled(Exception):
    """Too many recent failures for this account name or this address: wait ``wait``."""

    def __init__(self, wait: dt.timedelta) -> None:
        super().__init__(f"wait {wait}")
        self.wait = wait


@dataclass(frozen=True)
class Throttle:
    """How many failed logins are free, and how the wait grows after them.

    By account name, known or not (so waiting tells nothing about which accounts exist),
    counting failures since the account's last success; by address, counting every failure
    (a success does not reset it, so one valid account cannot launder a spray over others).
    After ``free`` failures the next attempt waits ``base`` after the last failure, twice
    as long after each further failure, at most ``cap``; failures older than ``window`` are
    forgotten. An attempt made while waiting is refused without checking the password."""

    account_free: int = 5
    address_free: int = 20
    base: dt.timedelta = dt.timedelta(seconds=30)
    cap: dt.timedelta = dt.timedelta(hours=1)
    window: dt.timedelta = dt.timedelta(hours=24)

    def wait(self, conn: Connection, username: str, address: str,
             now: dt.datetime) -> dt.timedelta:
        since = now - self.window
        longest = dt.timedelta(0)
        for free, (count, last) in (
                (self.account_free, logins.failures(conn, since, username=username)),
                (self.address_free, logins.failures(conn, since, address=address))):
            if count >= free and last is not None:
                delay = min(self.base * 2 ** min(count - free, 30), self.cap)
                longest = max(longest, last + delay - now)
        return longest


THROTTLE = Throttle()
_CHECK_AND_RECORD = threading.Lock()  # one throttle check + attempt row at a time


def log_in(engine: Engine, username: str, password: str, *, address: str,
           now: dt.datetime) -> User | None:
    """The user if the password is right and no wait is due; None if not (the same answer
    for an unknown account, a wrong password and a disabled account). Raises
    :class:`LoginThrottled` while a wait is due. Every attempt is recorded and logged; it is
    recorded as a failure before the password is checked, so a burst of parallel guesses
    counts in full."""
    name = username[:64]
    with _CHECK_AND_RECORD, engine.begin() as conn:
        wait = THROTTLE.wait(conn, name, address, now)
        waiting = wait > dt.timedelta(0)
        attempt = logins.record_attempt(conn, at=now, username=name, address=address,
                                        outcome="throttled" if waiting else "failure")
    if waiting:
        log.warning("login throttled: account %r from %s, %.0f s to wait", name, address,
                    wait.total_seconds())
        raise LoginThrottled(wait)
    user = authenticate(engine, username, password)
    if user is None:
        log.warning("login failed: account %r from %s", name, address)
        return None
    with engine.begin() as conn:
        logins.mark_success(conn, attempt)
    log.info("login: account %r from %s", name, address)
    return user


def _session_id(token: str) -> str:
    """The row id of a session: the token's SHA-256 (the store never holds the token)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(engine: Engine, user: User, now: dt.datetime) -> str:
    """Open a session row (and forget what is older than KEEP_LOGINS); the token to put
    in the cookie."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        logins.prune(conn, now - KEEP_LOGINS)
        logins.open_session(conn, session_id=_session_id(token), username=user.username,
                            now=now, expires_at=now + SESSION_TTL)
    return token


def end_session(engine: Engine, token: str, now: dt.datetime) -> None:
    with engine.begin() as conn:
        logins.revoke_session(conn, _session_id(token), now)


def secret_key(workspace_root: Path) -> str:
    """The session-signing key of this workspace, created once, readable by its owner only."""
    path = workspace_root / ".veille-web-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


# --- per-request checks --------------------------------------------------------------------

class LoginRequired(Exception):
    """Raised by :func:`current_user` for anonymous requests: pages redirect to the login."""


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request that does not carry the session's CSRF token."""
    expected = request.session.get("csrf")
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise HTTPException(status_code=403, detail="Jeton CSRF absent ou invalide : "
                                                    "rechargez la page puis recommencez.")


def current_user(request: Request) -> User:
    """The user of a live session (checked in the store on every request)."""
    token = request.session.get("sid")
    row = None
    if isinstance(token, str):
        runtime = request.app.state.runtime
        with runtime.engine.connect() as conn:
            row = logins.session_account(conn, _session_id(token), runtime.clock.now())
    if row is None:
        if token is not None:
            request.session.clear()  # a revoked or expired session: drop the cookie too
        raise LoginRequired()
    return _user(row)


def require(user: User, *roles: str) -> None:
    if user.role not in roles:
        raise HTTPException(status_code=403, detail="Cette page n'est pas ouverte à votre rôle "
                                                    f"({user.role_label}).")
