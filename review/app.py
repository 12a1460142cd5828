"""The observatory's web application: review queue, shift pages, series, subscriptions,
digests and the portrait, in French, served by ``veille serve`` on 127.0.0.1.

One module per page type (``review/pages/*``), templates and static files beside them.
Every route resolves the logged-in user on the server and checks role and territory
before reading anything (``review.scope``); every POST checks the CSRF token.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from portrait.published import PublishedCache
from portrait.render import environment
from review.auth import SESSION_TTL, LoginRequired, current_user, secret_key
from review.pages import (
    deliveries,
    digests,
    explain,
    login,
    portrait,
    queue,
    series,
    shift,
    subscriptions,
)
from review.site import PortraitCache, render
from veille.runtime import Runtime
from veille.wording import fmt_q, signed

HERE = Path(__file__).resolve().parent
Hook = Callable[[], object]


def create_app(runtime: Runtime, *, after_decision: Hook | None = None,
               session_secret: str | None = None, warm: bool = False) -> FastAPI:
    """The app for one workspace. ``after_decision`` runs once a decision is stored or a
    delivery retried (the CLI passes the embedded runner's drain, so review-gated digests
    and the retried delivery's detection follow at once)."""
    app = FastAPI(title="veille – observatoire", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.runtime = runtime
    app.state.after_decision = after_decision
    app.state.published = PublishedCache(runtime.engine, runtime.catalog)
    app.state.portraits = PortraitCache()
    app.state.env = environment(extra=[HERE / "templates"])
    app.state.env.filters.update(q=fmt_q, percent=lambda v: signed(100 * float(v), "%", 0))
    app.add_middleware(SessionMiddleware,
                       secret_key=session_secret or secret_key(runtime.workspace.root),
                       session_cookie="veille_session", same_site="lax",
                       https_only=runtime.workspace.settings.secure_cookie,
                       max_age=int(SESSION_TTL.total_seconds()))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (login, queue, shift, series, explain, subscriptions, digests, portrait,
                   deliveries):
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "connexion requise"}, status_code=401)
        return RedirectResponse(f"/connexion?suite={request.url.path}", status_code=303)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        try:  # the page keeps its menu for the person who hit the error
            user = current_user(request)
        except LoginRequired:
            user = None
        return render(request, "error.html", status_code=exc.status_code,
                      status=exc.status_code, message=exc.detail, user=user)

    if warm:
        threading.Thread(target=app.state.published.warm, daemon=True).start()
    return app
