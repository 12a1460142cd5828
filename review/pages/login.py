"""Login, logout and the home page (each role lands where its work is)."""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from review.auth import (
    LoginThrottled,
    User,
    check_csrf,
    current_user,
    end_session,
    log_in,
    start_session,
)
from review.site import render, runtime_of

router = APIRouter()

HOME = {"analyst": "/revue", "ccas": "/abonnements", "clspd": "/syntheses",
        "reader": "/portrait"}
WRONG = "Identifiant ou mot de passe incorrect."


def _safe_next(value: str | None) -> str | None:
    """Only a local path: a login must not bounce to another site."""
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return None


def _wait_fr(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} secondes"
    return f"{math.ceil(seconds / 60)} minutes"


@router.get("/connexion")
def login_page(request: Request, suite: str | None = None) -> Response:
    return render(request, "login.html", suite=_safe_next(suite) or "", error=None)


@router.post("/connexion", dependencies=[Depends(check_csrf)])
def login(request: Request, username: Annotated[str, Form()],
          password: Annotated[str, Form()], suite: Annotated[str, Form()] = "") -> Response:
    runtime = runtime_of(request)
    now = runtime.clock.now()
    address = request.client.host if request.client else "inconnue"
    try:
        user = log_in(runtime.engine, username.strip(), password, address=address, now=now)
    except LoginThrottled as exc:
        seconds = max(1, math.ceil(exc.wait.total_seconds()))
        response = render(request, "login.html", status_code=429,
                          suite=_safe_next(suite) or "",
                          error="Trop de tentatives de connexion : réessayez dans "
                                f"{_wait_fr(seconds)}.")
        response.headers["Retry-After"] = str(seconds)
        return response
    if user is None:
        return render(request, "login.html", status_code=401, suite=_safe_next(suite) or "",
                      error=WRONG)
    request.session.clear()  # a fresh session (and CSRF token) after login
    request.session["sid"] = start_session(runtime.engine, user, now)
    request.session["csrf"] = secrets.token_urlsafe(32)
    return RedirectResponse(_safe_next(suite) or HOME[user.role], status_code=303)


@router.post("/deconnexion", dependencies=[Depends(check_csrf)])
def logout(request: Request) -> Response:
    """End the session in the store (a copy of the cookie is worth nothing after)."""
    token = request.session.get("sid")
    if isinstance(token, str):
        runtime = runtime_of(request)
        end_session(runtime.engine, token, runtime.clock.now())
    request.session.clear()
    return RedirectResponse("/connexion", status_code=303)


@router.get("/")
def home(user: Annotated[User, Depends(current_user)]) -> Response:
    return RedirectResponse(HOME[user.role], status_code=303)
