"""What every page of the site shares: rendering a page with its user, CSRF token and
navigation, the runtime of the request's app, and the cache of built portraits. Pages and
``review.app`` both import it, so no page imports the app back."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from review import flash
from review.auth import User, csrf_token
from veille.runtime import Runtime


class PortraitCache:
    """Built portraits by (period, root), rebuilt when a delivery or a review decision changes what
    they show (building reads the whole store: seconds, not milliseconds)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[tuple[str, str | None], tuple[tuple[int, int], Any]] = {}



def render(request: Request, template: str, *, status_code: int = 200,
           user: User | None = None, **context: Any) -> HTMLResponse:
    """A page of the site, with the user, the CSRF token, the navigation and the banner of
    the action just done (from its code: never text taken from the URL)."""
    env = request.app.state.env
    html = env.get_template(template).render(
        request=request, user=user, csrf=csrf_token(request), now=dt.datetime.now(dt.UTC),
        flash=flash.text(request), **context)
    return HTMLResponse(html, status_code=status_code)


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime
