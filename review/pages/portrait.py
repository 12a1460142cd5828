"""The portrait pages: the agglomeration note, one page per commune note (with its
neighbourhood sections), and the PDF, from the same templates as ``veille portrait``.
Readers and analysts read every note; CCAS and CLSPD members the note of their commune."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from portrait.build import PortraitError, build_portrait, root_of, roots
from portrait.model import Note, Portrait
from portrait.render import render_html, render_pdf
from review.auth import User, current_user
from review.scope import can_read_commune_note, can_read_series
from review.site import runtime_of
from veille.store.schema import deliveries, observations, review_decisions

router = APIRouter()


def portrait_for(request: Request, period: str, root: str | None = None) -> Portrait:
    """The portrait of ``period`` for ``root`` (an EPCI, a département; default: the first
    EPCI), rebuilt when a delivery or a decision changed."""
    runtime = runtime_of(request)
    cache = request.app.state.portraits
    with runtime.engine.connect() as conn:
        version = (int(conn.execute(select(func.max(deliveries.c.id))).scalar() or 0),
                   int(conn.execute(select(func.max(review_decisions.c.id))).scalar() or 0))
        with cache.lock:
            hit = cache.items.get((period, root))
            if hit is not None and hit[0] == version:
                return hit[1]
            try:
                built = build_portrait(conn, runtime.catalog, period,
                                       now=dt.datetime.now(dt.UTC), root=root)
            except PortraitError as exc:
                raise HTTPException(status_code=404, detail=str(exc)) from exc
            cache.items[(period, root)] = (version, built)
            return built


def _nav(request: Request, user: User, period: str, portrait: Portrait) -> str:
    env = request.app.state.env
    return env.get_template("portrait_nav.html").render(
        user=user, period=period, portrait=portrait, csrf=request.session.get("csrf", ""),
        can=lambda code: can_read_commune_note(user, code),
        roots=roots(runtime_of(request).catalog))


def _series_link(request: Request, user: User) -> Callable[[str, str], str | None]:
    """Each portrait line's series page, where this reader may open it."""
    catalog = runtime_of(request).catalog
    return lambda ind, code: (f"/series/{ind}/{code}" if can_read_series(user, catalog, code)
                              else None)


def latest_year(request: Request) -> str:
    with runtime_of(request).engine.connect() as conn:
        top = conn.execute(select(func.max(observations.c.period))).scalar()
    return str(top)[:4] if top else str(dt.date.today().year - 1)


@router.get("/portrait")
def portrait_home(request: Request, user: Annotated[User, Depends(current_user)]) -> Response:
    year = latest_year(request)
    if user.role in ("ccas", "clspd"):
        return RedirectResponse(f"/portrait/{year}/commune/{user.commune}", status_code=303)
    return RedirectResponse(f"/portrait/{year}", status_code=303)


@router.get("/portrait/{period}.pdf")
async def portrait_pdf(request: Request, period: str,
                       user: Annotated[User, Depends(current_user)]) -> Response:
    _whole_portrait_reader(user)
    portrait = await run_in_threadpool(portrait_for, request, period)
    pdf = await run_in_threadpool(lambda: render_pdf(render_html(portrait)))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="portrait-{period}.pdf"'})


@router.get("/portrait/{period}")
async def agglomeration_note(request: Request, period: str,
                             user: Annotated[User, Depends(current_user)]) -> Response:
    return await _root_page(request, period, None, user)


def _whole_portrait_reader(user: User) -> None:
    if user.role not in ("analyst", "reader"):
        raise HTTPException(status_code=403, detail="Le portrait complet est réservé à "
                                                    "l'observatoire et aux lecteurs.")


@router.get("/portrait/{period}/territoire/{code}.pdf")
async def root_pdf(request: Request, period: str, code: str,
                   user: Annotated[User, Depends(current_user)]) -> Response:
    _whole_portrait_reader(user)
    portrait = await run_in_threadpool(portrait_for, request, period, code)
    pdf = await run_in_threadpool(lambda: render_pdf(render_html(portrait)))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="portrait-{period}-{code}.pdf"'})


@router.get("/portrait/{period}/territoire/{code}")
async def root_note(request: Request, period: str, code: str,
                    user: Annotated[User, Depends(current_user)]) -> Response:
    """The note of an agglomeration, a département or a région (its whole portrait's
    first page)."""
    return await _root_page(request, period, code, user)


async def _root_page(request: Request, period: str, code: str | None, user: User) -> Response:
    if user.role in ("ccas", "clspd"):
        return RedirectResponse(f"/portrait/{period}/commune/{user.commune}", status_code=303)
    portrait = await run_in_threadpool(portrait_for, request, period, code)
    html = render_html(portrait, notes=[portrait.agglomeration], web=True,
                       nav=_nav(request, user, period, portrait),
                       series_url=_series_link(request, user))
    return HTMLResponse(html)


def _commune(request: Request, user: User, period: str, code: str) -> tuple[Portrait, Note]:
    """The portrait and the commune's note, if the user may read it (403) and it exists
    (404)."""
    if not can_read_commune_note(user, code):
        raise HTTPException(status_code=403, detail="Cette commune n'est pas dans votre "
                                                    "périmètre.")
    root = root_of(runtime_of(request).catalog, code)
    if root is None:
        raise HTTPException(status_code=404, detail="Commune inconnue.")
    portrait = portrait_for(request, period, root.code)
    note = portrait.commune(code)
    if note is None:
        raise HTTPException(status_code=404, detail="Commune inconnue.")
    return portrait, note


@router.get("/portrait/{period}/commune/{code}.pdf")
async def commune_pdf(request: Request, period: str, code: str,
                      user: Annotated[User, Depends(current_user)]) -> Response:
    portrait, note = await run_in_threadpool(_commune, request, user, period, code)
    pdf = await run_in_threadpool(lambda: render_pdf(render_html(portrait, notes=[note])))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="portrait-{period}-{code}.pdf"'})


@router.get("/portrait/{period}/commune/{code}")
async def commune_note(request: Request, period: str, code: str,
                       user: Annotated[User, Depends(current_user)]) -> Response:
    portrait, note = await run_in_threadpool(_commune, request, user, period, code)
    html = render_html(portrait, notes=[note], web=True,
                       nav=_nav(request, user, period, portrait),
                       series_url=_series_link(request, user))
    return HTMLResponse(html)
