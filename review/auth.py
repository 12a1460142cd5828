"""Accounts, password login, sessions and CSRF: checked on the server for every request.

Passwords are hashed with argon2 (argon2-cffi). The session is a signed cookie
(itsdangerous, through Starlette's SessionMiddleware) holding the username and a per-session
CSRF token; every state-changing request must echo that token (form field ``csrf_token`` or
header ``X-CSRF-Token``), so a page of another site cannot act for a logged-in person.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request
from sqlalchemy import Engine

from veille.catalog import Catalog
from veille.model import TerritoryKind
from veille.store import users as user_store

HASHER = PasswordHasher()
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


def create_user(engine: Engine, catalog: Catalog, *, username: str, password: str, role: str,
                display_name: str | None = None, commune: str | None = None,
                scope: list[str] | None = None, now: dt.datetime) -> None:
    """Check role and territory against the catalog, then store the account (hash only)."""
    scope = list(scope or [])
    if role not in user_store.ROLES:
        raise AccountError(f"rôle inconnu '{role}' (connus : {', '.join(user_store.ROLES)})")
    if len(password) < 8:
        raise AccountError("mot de passe trop court (8 caractères au moins)")
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


def load_user(engine: Engine, username: str) -> User | None:
    with engine.connect() as conn:
        row = user_store.get(conn, username)
    return _user(row) if row is not None and row["active"] else None


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
    username = request.session.get("user")
    user = load_user(request.app.state.runtime.engine, username) if username else None
    if user is None:
        raise LoginRequired()
    return user


def require(user: User, *roles: str) -> None:
    if user.role not in roles:
        raise HTTPException(status_code=403, detail="Cette page n'est pas ouverte à votre rôle "
                                                    f"({user.role_label}).")
