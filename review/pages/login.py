"""Login, logout and the home page (each role lands where its work is)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from review.auth import User, authenticate, check_csrf, current_user
from review.site import render, runtime_of

router = APIRouter()

HOME = {"analyst": "/revue", "ccas": "/abonnements", "clspd": "/syntheses",
        "reader": "/portrait"}


def _safe_next(value: str | None) -> str | None:
    """Only a local path: a login must not bounce to another site."""
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return None


@router.get("/connexion")
def login_page(request: Request, suite: str | None = None) -> Response:
    return render(request, "login.html", suite=_safe_next(suite) or "", error=None)


@router.post("/connexion", dependencies=[Depends(check_csrf)])
def login(request: Request, username: Annotated[str, Form()],
          password: Annotated[str, Form()], suite: Annotated[str, Form()] = "") -> Response:
    user = authenticate(runtime_of(request).engine, username.strip(), password)
    if user is None:
        return render(request, "login.html", status_code=401, suite=_safe_next(suite) or "",
                      error="Identifiant ou mot de passe incorrect.")
    request.session.clear()  # a fresh session (and CSRF token) after login
    request.session["user"] = user.username
    request.session["csrf"] = secrets.token_urlsafe(32)
    return RedirectResponse(_safe_next(suite) or HOME[user.role], status_code=303)


@router.post("/deconnexion", dependencies=[Depends(check_csrf)])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/connexion", status_code=303)


@router.get("/")
def home(user: Annotated[User, Depends(current_user)]) -> Response:
    return RedirectResponse(HOME[user.role], status_code=303)
