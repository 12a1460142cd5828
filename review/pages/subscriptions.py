"""Subscriptions of a cell: CCAS directors manage their own commune's cells, analysts
every cell. Written through ``thresholds.subscriptions`` (the whole file is checked, a
scope outside the cell's territory is refused)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from review.auth import User, check_csrf, current_user, require
from review.scope import cell_in_scope, check_cell
from review.site import render, runtime_of
from thresholds.subscriptions import (
    FILE,
    Subscription,
    directory,
    load_subscriptions,
    parse,
    save_subscription,
)
from veille.catalog import CatalogError

router = APIRouter()


def _cells(request: Request, user: User) -> list:
    catalog = runtime_of(request).catalog
    return [c for c in directory(catalog).values()
            if c.kind.value in ("ccas", "clspd", "observatory") and cell_in_scope(user,
                                                                                   catalog, c)]


def _remove(catalog_root: Path, sub_id: str, request: Request) -> None:
    """Drop one entry; the rest of the file is checked before it is written."""
    path = catalog_root / FILE
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    entries = [e for e in (raw or {}).get("subscriptions", [])
               if not (isinstance(e, dict) and e.get("id") == sub_id)]
    catalog = runtime_of(request).catalog
    parse({"subscriptions": entries}, catalog, directory(catalog), path.name)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump({"subscriptions": entries}, allow_unicode=True,
                                  sort_keys=False, width=100), encoding="utf-8")
    tmp.replace(path)


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
                  territories=catalog.territories, message=request.query_params.get("message"))


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
                     cell: Annotated[str, Form()], sub_id: Annotated[str, Form()],
                     indicator: Annotated[str, Form()], territory: Annotated[str, Form()],
                     kind: Annotated[str, Form()] = "level",
                     threshold: Annotated[float | None, Form()] = None,
                     direction: Annotated[str, Form()] = "above") -> Response:
    require(user, "analyst", "ccas")
    catalog = runtime_of(request).catalog
    check_cell(user, catalog, directory(catalog).get(cell))
    if kind == "level":
        if threshold is None:
            raise HTTPException(status_code=400, detail="Un seuil est nécessaire.")
        rule: dict = {"kind": "level", "indicator": indicator,
                      ("above" if direction == "above" else "below"): threshold}
    else:
        rule = {"kind": "shift", "indicators": [indicator]}
    try:
        sub = Subscription.model_validate({"id": sub_id, "owner": cell, "scope": [territory],
                                           "rule": rule})
        save_subscription(catalog, sub)
    except (ValidationError, CatalogError) as exc:
        raise HTTPException(status_code=400, detail=f"Abonnement refusé : {exc}") from exc
    return RedirectResponse(f"/abonnements?message=Abonnement « {sub_id} » enregistré",
                            status_code=303)


@router.post("/abonnements/{sub_id}/supprimer", dependencies=[Depends(check_csrf)])
def remove_subscription(request: Request, sub_id: str,
                        user: Annotated[User, Depends(current_user)]) -> Response:
    require(user, "analyst", "ccas")
    catalog = runtime_of(request).catalog
    sub = load_subscriptions(catalog).items.get(sub_id)
    if sub is None:
        raise HTTPException(status_code=404, detail="Abonnement inconnu.")
    check_cell(user, catalog, directory(catalog).get(sub.owner))
    try:
        _remove(catalog.root, sub_id, request)
    except CatalogError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return RedirectResponse(f"/abonnements?message=Abonnement « {sub_id} » supprimé",
                            status_code=303)
