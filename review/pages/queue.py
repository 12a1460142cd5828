"""The review queue: the shifts of a wave, most severe first, with filters and bulk
decisions. Analysts only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from review import flash
from review.auth import User, check_csrf, current_user, require
from review.decide import REASONS, STATUS_FR, decide_many
from review.maps import with_neighbours
from review.queueorder import query_of, queue_rows
from review.shiftview import ShiftView, view
from review.site import render, runtime_of
from review.waves_tested import wave_counts
from veille.model import Theme
from veille.store import reviews as review_store
from veille.store import shifts as shift_store
from veille.store.schema import deliveries
from veille.wording import KIND_FR

router = APIRouter()


def queue_views(request: Request, filters: dict[str, str]) -> list[ShiftView]:
    runtime = runtime_of(request)
    catalog = runtime.catalog
    with runtime.engine.connect() as conn:
        rows = queue_rows(conn, catalog, filters)
        names = {int(r.id): str(r.filename) for r in conn.execute(
            select(deliveries.c.id, deliveries.c.filename))}
        decisions = review_store.latest(conn, [r["shift_id"] for r in rows])
    values = request.app.state.published.get({r["indicator"] for r in rows})
    out = []
    for row in rows:
        item = view(row, catalog, values, names, decisions.get(row["shift_id"]))
        if item is not None:
            out.append(item)
    return out


@router.get("/revue")
def queue(request: Request, user: Annotated[User, Depends(current_user)], theme: str = "",
          territory: str = "", kind: str = "", status: str = "pending",
          wave: str = "") -> Response:
    require(user, "analyst")
    runtime = runtime_of(request)
    filters = {"theme": theme, "territory": territory, "kind": kind, "status": status,
               "wave": wave}
    items = queue_views(request, filters)
    with runtime.engine.connect() as conn:
        waves = sorted({(int(r["delivery_id"])) for r in shift_store.list_shifts(
            conn, status="active")}, reverse=True)
        under_query = review_store.deliveries_under_query(conn)
        tested = wave_counts(conn)
        names = {int(r.id): str(r.filename) for r in conn.execute(
            select(deliveries.c.id, deliveries.c.filename).where(
                deliveries.c.id.in_(waves + [w.delivery_id for w in tested])))}
    territories = sorted((t for t in runtime.catalog.territories.values()
                          if t.kind.value in ("epci", "commune", "quartier")),
                         key=lambda t: (t.kind.value != "epci", t.code))
    # where a decision comes back to: the same filters, nothing else of the URL
    query = query_of(filters)
    back = "/revue?" + query
    return render(request, "queue.html", user=user, items=items, themes=list(Theme),
                  kinds=KIND_FR, statuses=STATUS_FR, reasons=REASONS, waves=waves,
                  wave_names=names, under_query=under_query, territories=territories,
                  filters=filters, back=back, query=query, tested=tested,
                  last_reason=request.session.get("last_reason", ""),
                  mapped=with_neighbours(runtime_of(request).catalog))


@router.post("/revue/lot", dependencies=[Depends(check_csrf)])
def bulk(request: Request, user: Annotated[User, Depends(current_user)],
         decision: Annotated[str, Form()], shift_ids: Annotated[list[str], Form()],
         reason: Annotated[str, Form()] = "", comment: Annotated[str, Form()] = "",
         back: Annotated[str, Form()] = "/revue") -> Response:
    require(user, "analyst")
    if decision not in ("confirmed", "dismissed"):
        return render(request, "error.html", status_code=400, user=user, status=400,
                      message="En lot : confirmer ou écarter seulement.")
    runtime = runtime_of(request)
    if decision == "dismissed" and reason:
        request.session["last_reason"] = reason
    else:
        reason = ""  # a motive is a dismissal's: a confirmation records none
    done, refused = decide_many(runtime.engine, shift_ids, decision, reviewer=user.username,
                                now=dt.datetime.now(dt.UTC), reason=reason or None,
                                comment=comment)
    if done and request.app.state.after_decision is not None:
        request.app.state.after_decision()
    target = back if back.startswith("/revue") else "/revue"
    return RedirectResponse(flash.url(target, f"lot-{decision}", n=len(done),
                                      refused=list(refused.values())), status_code=303)
