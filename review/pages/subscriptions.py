"""Subscriptions of a cell: CCAS directors manage their own commune's cells, analysts
every cell. Written through ``thresholds.subscriptions`` (the whole file is checked, a
scope outside the cell's territory is refused).

Ownership is checked on every write: a new subscription goes to a cell of the user's and
gets an id drawn by the server (a form cannot name an existing one, so cannot take it
over); editing or removing one checks the cell that owns it. The form
(``review.subscription_form``) checks each field in French and previews the rule on the
latest published values before it is saved.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from review import flash
from review.auth import User, check_csrf, current_user, require
from review.scope import cell_in_scope, check_cell
from review.site import render, runtime_of
from review.subscription_form import ThresholdForm, bounds_text, build, preview
from thresholds.describe import rule_sentence
from thresholds.subscriptions import (
    Subscription,
    directory,
    load_subscriptions,
    new_id,
    remove_subscription,
    save_subscription,
)
from veille.catalog import Catalog, CatalogError
from veille.model import Cell, Theme
from veille.wording import unit_of

router = APIRouter()
WATCHED = ("ccas", "clspd", "observatory")


def _cells(request: Request, user: User) -> list[Cell]:
    catalog = runtime_of(request).catalog
    return [c for c in directory(catalog).values()
            if c.kind.value in WATCHED and cell_in_scope(user, catalog, c)]


def _own(request: Request, user: User, sub_id: str) -> tuple[Subscription, Cell]:
    """The subscription ``sub_id`` and its cell, if the user's (404, 403 otherwise)."""
    catalog = runtime_of(request).catalog
    sub = load_subscriptions(catalog).items.get(sub_id)
    if sub is None:
        raise HTTPException(status_code=404, detail="Abonnement inconnu.")
    return sub, check_cell(user, catalog, directory(catalog).get(sub.owner))


@router.get("/abonnements")
def subscriptions_page(request: Request,
                       user: Annotated[User, Depends(current_user)]) -> Response:
    require(user, "analyst", "ccas")
    catalog = runtime_of(request).catalog
    cells = _cells(request, user)
    subs = load_subscriptions(catalog)
    rows = {c.id: [(s, rule_sentence(s, catalog)) for s in subs.of_cell(c.id)] for c in cells}
    return render(request, "subscriptions.html", user=user, cells=cells, rows=rows,
                  territories=catalog.territories)


@router.get("/api/abonnements")
def subscriptions_api(request: Request, user: Annotated[User, Depends(current_user)],
                      cell: str) -> Response:
    require(user, "analyst", "ccas")
    catalog = runtime_of(request).catalog
    check_cell(user, catalog, directory(catalog).get(cell))
    subs = load_subscriptions(catalog).of_cell(cell)
    return JSONResponse([s.model_dump(mode="json") for s in subs])


def _form_page(request: Request, user: User, cell: Cell, form: ThresholdForm, *,
               sub_id: str | None = None, status_code: int = 200,
               previewed: Subscription | None = None) -> Response:
    catalog: Catalog = runtime_of(request).catalog
    themes = cell.themes or list(Theme)
    indicators = {t: sorted((i for i in catalog.indicators.values() if i.theme is t),
                            key=lambda i: i.label) for t in themes}
    places = sorted((t for t in catalog.territories.values()
                     if catalog.within(cell.scope, t.code) and t.kind.value in (
                         "epci", "commune", "quartier", "qpv")),
                    key=lambda t: (t.kind.value not in ("epci", "commune"), t.name))
    lines = None
    if previewed is not None:
        values = request.app.state.published.get(previewed.indicators)
        lines = preview(previewed, catalog, values)
    first = next((i for items in indicators.values() for i in items), None)
    selected = catalog.indicators.get(form.values["indicator"]) or first
    return render(request, "subscription_form.html", status_code=status_code, user=user,
                  cell=cell, form=form, sub_id=sub_id, indicators=indicators, places=places,
                  selected=selected,
                  unit_of=unit_of, bounds_text=bounds_text, preview=lines,
                  sentence=rule_sentence(previewed, catalog) if previewed else None)


def _cell_for_new(request: Request, user: User, cell_id: str) -> Cell:
    require(user, "analyst", "ccas")
    catalog = runtime_of(request).catalog
    return check_cell(user, catalog, directory(catalog).get(cell_id))


@router.get("/abonnements/nouveau")
def new_subscription_page(request: Request, user: Annotated[User, Depends(current_user)],
                          cellule: str = "", indicator: str = "", territory: str = "",
                          ) -> Response:
    """The empty form, or one started from a series page (its indicator and territory)."""
    cell = _cell_for_new(request, user, cellule)
    return _form_page(request, user, cell, ThresholdForm.of({
        "cell": cell.id, "indicator": indicator,
        "territory": territory or (cell.scope[0] if cell.scope else "")}))


def _submit(request: Request, user: User, cell: Cell, form: ThresholdForm,
            sub_id: str | None, action: str) -> Response:
    """Preview or save; an invalid form comes back with its errors beside the fields."""
    catalog = runtime_of(request).catalog
    draft_id = sub_id or new_id(cell.id, load_subscriptions(catalog).items)
    sub = build(form, catalog, cell, draft_id)
    if sub is None:
        return _form_page(request, user, cell, form, sub_id=sub_id, status_code=422)
    if action == "apercu":
        return _form_page(request, user, cell, form, sub_id=sub_id, previewed=sub)
    try:
        save_subscription(catalog, sub)
    except CatalogError:
        form.errors["form"] = ("L'abonnement n'a pas pu être enregistré : le fichier des "
                               "abonnements de l'observatoire contient une erreur "
                               "(`veille check` la nomme) ; prévenez l'observatoire.")
        return _form_page(request, user, cell, form, sub_id=sub_id, status_code=422)
    code = "abonnement-modifie" if sub_id else "abonnement-enregistre"
    return RedirectResponse(flash.url("/abonnements", code), status_code=303)


@router.post("/abonnements", dependencies=[Depends(check_csrf)])
async def add_subscription(request: Request,
                           user: Annotated[User, Depends(current_user)]) -> Response:
    """Add a subscription to one of the user's cells, under an id drawn here."""
    data = await request.form()
    cell = _cell_for_new(request, user, str(data.get("cell") or ""))
    if data.get("sub_id") is not None:
        raise HTTPException(status_code=400, detail=(
            "Abonnement refusé : son identifiant est attribué par le site et ne se choisit "
            "pas ; un abonnement existant ne se remplace pas par ce formulaire."))
    form = ThresholdForm.of({k: str(v) for k, v in data.items()})
    form.values["cell"] = cell.id
    return _submit(request, user, cell, form, None, str(data.get("action") or ""))


@router.get("/abonnements/{sub_id}/modifier")
def edit_subscription_page(request: Request, sub_id: str,
                           user: Annotated[User, Depends(current_user)]) -> Response:
    require(user, "analyst", "ccas")
    sub, cell = _own(request, user, sub_id)
    return _form_page(request, user, cell, ThresholdForm.from_subscription(sub),
                      sub_id=sub.id)


@router.post("/abonnements/{sub_id}/modifier", dependencies=[Depends(check_csrf)])
async def edit_subscription(request: Request, sub_id: str,
                            user: Annotated[User, Depends(current_user)]) -> Response:
    require(user, "analyst", "ccas")
    sub, cell = _own(request, user, sub_id)
    data = await request.form()
    form = ThresholdForm.of({k: str(v) for k, v in data.items()})
    form.values["cell"] = cell.id  # a subscription never changes hands
    return _submit(request, user, cell, form, sub.id, str(data.get("action") or ""))


@router.post("/abonnements/{sub_id}/supprimer", dependencies=[Depends(check_csrf)])
def delete_subscription(request: Request, sub_id: str,
                        user: Annotated[User, Depends(current_user)]) -> Response:
    require(user, "analyst", "ccas")
    _own(request, user, sub_id)
    try:
        remove_subscription(runtime_of(request).catalog, sub_id)
    except CatalogError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return RedirectResponse(flash.url("/abonnements", "abonnement-supprime"),
                            status_code=303)
