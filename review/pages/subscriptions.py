"""Subscriptions of a cell: CCAS directors manage their own commune's cells, analysts
every cell. Written through ``thresholds.subscriptions`` (the whole file is checked, a
scope outside the cell's territory is refused).

Ownership is checked on every write: a new subscription goes to a cell of the user's and
gets an id drawn by the server (a form cannot name an existing one, so cannot take it
over); removing one checks the cell that owns it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from review import flash
from review.auth import User, check_csrf, current_user, require
from review.scope import cell_in_scope, check_cell
from review.site import render, runtime_of
from thresholds.subscriptions import (
    Subscription,
    directory,
    load_subscriptions,
    new_id,
    remove_subscription,
    save_subscription,
)
from veille.catalog import CatalogError

router = APIRouter()


def _cells(request: Request, user: User) -> list:
    catalog = runtime_of(request).catalog
    return [c for c in directory(catalog).values()
            if c.kind.value in ("ccas", "clspd", "observatory") and cell_in_scope(user,
                                                                                   catalog, c)]


@router.get("/abonnements")
def subscriptions_page(request: Request,
                       user: Annotated[User, Depends(current_user)]) -> Response:
    require(user, "analyst", "ccas")
    catalog = runtime_of(request).catalog
    cells = _cells(request, user)
    subs = load_subscriptions(catalog)
    mine = {c.id: subs.of_cell(c.id) for c in cells}
    return render(request, "subscriptions.html", user=user, cells=cells, subs=mine,
                  indicators=sorted(catalog.indicators.values(), key=lambda i: i.label),
                  territories=catalog.territories)


@router.get("/api/abonnements")
def subscriptions_api(request: Request, user: Annotated[User, Depends(current_user)],
                      cell: str) -> Response:
    require(user, "analyst", "ccas")
    catalog = runtime_of(request).catalog
    check_cell(user, catalog, directory(catalog).get(cell))
    subs = load_subscriptions(catalog).of_cell(cell)
    return JSONResponse([s.model_dump(mode="json") for s in subs])


@router.post("/abonnements", dependencies=[Depends(check_csrf)])
def add_subscription(request: Request, user: Annotated[User, Depends(current_user)],
                     cell: Annotated[str, Form()],
                     indicator: Annotated[str, Form()], territory: Annotated[str, Form()],
                     kind: Annotated[str, Form()] = "level",
                     threshold: Annotated[float | None, Form()] = None,
                     direction: Annotated[str, Form()] = "above",
                     label: Annotated[str, Form()] = "",
                     sub_id: Annotated[str | None, Form()] = None) -> Response:
    """Add a subscription to one of the user's cells, under an id drawn here."""
    require(user, "analyst", "ccas")
    catalog = runtime_of(request).catalog
    check_cell(user, catalog, directory(catalog).get(cell))
    if sub_id is not None:
        raise HTTPException(status_code=400, detail=(
            "Abonnement refusé : son identifiant est attribué par le site et ne se choisit "
            "pas ; un abonnement existant ne se remplace pas par ce formulaire."))
    if kind == "level":
        if threshold is None:
            raise HTTPException(status_code=400, detail="Un seuil est nécessaire.")
        rule: dict = {"kind": "level", "indicator": indicator,
                      ("above" if direction == "above" else "below"): threshold}
    else:
        rule = {"kind": "shift", "indicators": [indicator]}
    try:
        existing = load_subscriptions(catalog).items
        sub = Subscription.model_validate({"id": new_id(cell, existing), "owner": cell,
                                           "scope": [territory], "rule": rule,
                                           "label": label.strip()[:200] or None})
        save_subscription(catalog, sub)
    except (ValidationError, CatalogError) as exc:
        raise HTTPException(status_code=400, detail=f"Abonnement refusé : {exc}") from exc
    return RedirectResponse(flash.url("/abonnements", "abonnement-enregistre"),
                            status_code=303)


@router.post("/abonnements/{sub_id}/supprimer", dependencies=[Depends(check_csrf)])
def delete_subscription(request: Request, sub_id: str,
                        user: Annotated[User, Depends(current_user)]) -> Response:
    require(user, "analyst", "ccas")
    catalog = runtime_of(request).catalog
    sub = load_subscriptions(catalog).items.get(sub_id)
    if sub is None:
        raise HTTPException(status_code=404, detail="Abonnement inconnu.")
    check_cell(user, catalog, directory(catalog).get(sub.owner))
    try:
        remove_subscription(catalog, sub_id)
    except CatalogError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return RedirectResponse(flash.url("/abonnements", "abonnement-supprime"),
                            status_code=303)
