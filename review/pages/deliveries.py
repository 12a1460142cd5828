"""The deliveries page, for analysts: every delivery with its status, the first problems
of a quarantined one, and the « Relancer » button that re-processes it from its archived
bytes with the catalog as it is now on disk (the analyst has just fixed the convention)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from connectors.ingest import ingest
from connectors.retry import RetryRefused, retry_delivery
from review import flash
from review.auth import User, check_csrf, current_user, require
from review.site import render, runtime_of
from veille.catalog import CatalogError, load_catalog
from veille.store import deliveries

router = APIRouter()
SHOWN_PROBLEMS = 5
STATUS_FR = {"accepted": "acceptée", "quarantined": "en quarantaine",
             "received": "reçue, en attente"}


@router.get("/livraisons")
def deliveries_page(request: Request, user: Annotated[User, Depends(current_user)]
                    ) -> Response:
    require(user, "analyst")
    runtime = runtime_of(request)
    with runtime.engine.connect() as conn:
        rows = list(reversed(deliveries.list_deliveries(conn)))
        problems = {r.id: deliveries.problems_of(conn, r.id)[:SHOWN_PROBLEMS]
                    for r in rows if r.status == "quarantined"}
        attempts = {r.id: deliveries.attempts_of(conn, r.id) for r in rows}
    return render(request, "deliveries.html", user=user, rows=rows, problems=problems,
                  attempts=attempts, status_fr=STATUS_FR)


@router.post("/livraisons/{delivery_id}/relancer", dependencies=[Depends(check_csrf)])
def retry(request: Request, delivery_id: int,
          user: Annotated[User, Depends(current_user)]) -> Response:
    """Re-read the catalog, put the delivery back, ingest it now and let the runner's drain
    (detection, alerts) follow; the banner says how the new attempt ended."""
    require(user, "analyst")
    runtime = runtime_of(request)
    try:
        catalog = load_catalog(runtime.workspace.catalog_dir)
    except CatalogError:
        return RedirectResponse(flash.url("/livraisons", "relance-catalogue"), status_code=303)
    try:
        event = retry_delivery(delivery_id, workspace=runtime.workspace, catalog=catalog,
                               engine=runtime.engine, clock=runtime.clock, by=user.username)
    except RetryRefused:
        return RedirectResponse(flash.url("/livraisons", "relance-refusee"), status_code=303)
    outcome = ingest(event, workspace=runtime.workspace, catalog=catalog,
                     engine=runtime.engine, clock=runtime.clock)
    hook = request.app.state.after_decision
    if hook is not None:
        hook()
    code = "relance-acceptee" if outcome.accepted else "relance-quarantaine"
    return RedirectResponse(flash.url("/livraisons", code), status_code=303)
