"""A series (one indicator, one territory): page and JSON API, published values only,
for analysts and for CCAS / CLSPD members inside their territory."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from digests.present import portrait_path
from review.auth import User, current_user, require
from review.decide import STATUS_FR
from review.maps import locator_map
from review.scope import can_read_commune_note, cell_in_scope, check_series
from review.series_chart import Change, SeriesFigure, series_figure_svg
from review.site import render, runtime_of
from thresholds.subscriptions import directory
from veille.model import Indicator, IndicatorKind
from veille.store import observations as obs_store
from veille.store import shifts as shift_store
from veille.wording import KIND_FR, fmt, unit_of

router = APIRouter()


def _published_series(request: Request, user: User, indicator: str, territory: str) -> dict:
    require(user, "analyst", "ccas", "clspd")
    catalog = runtime_of(request).catalog
    check_series(user, catalog, territory)
    if indicator not in catalog.indicators:
        raise HTTPException(status_code=404, detail="Indicateur inconnu.")
    points = request.app.state.published.get([indicator]).points(indicator, territory)
    return {"indicator": indicator, "territory": territory,
            "points": [{"period": p, "value": v, "secret": v is None}
                       for p, v in points.items()]}


@router.get("/api/series/{indicator}/{territory}")
def series_api(request: Request, indicator: str, territory: str,
               user: Annotated[User, Depends(current_user)]) -> Response:
    return JSONResponse(_published_series(request, user, indicator, territory))


def axis_label(ind: Indicator) -> str:
    unit = unit_of(ind)
    if ind.kind is IndicatorKind.COUNT:
        return f"nombre de {ind.people or unit}" if (ind.people or unit) else "nombre"
    return f"valeur ({unit})" if unit else "valeur"


@router.get("/series/{indicator}/{territory}")
def series_page(request: Request, indicator: str, territory: str,
                user: Annotated[User, Depends(current_user)]) -> Response:
    """The series large: chart with its marks, then its values folded under it. Analysts
    see every active detection (with a link to review it); others the confirmed ones."""
    data = _published_series(request, user, indicator, territory)
    runtime = runtime_of(request)
    catalog = runtime.catalog
    ind = catalog.indicators[indicator]
    with runtime.engine.connect() as conn:
        shifts = shift_store.list_shifts(
            conn, territory=[territory], indicators=[indicator], status="active",
            review_status=None if user.is_analyst else "confirmed")
        trail = obs_store.history(conn, indicator, territory)
    points = {p["period"]: p["value"] for p in data["points"]}
    changes = [Change(str(s["period"]), KIND_FR.get(str(s["kind"]), str(s["kind"])),
                      *((float(s["expected"]), float(s["interval_low"]),
                         float(s["interval_high"])) if points.get(s["period"]) is not None
                        else (None, None, None)))
               for s in shifts]
    revised = sorted(set(trail.loc[trail["superseded_by"].notna(), "period"])) if (
        not trail.empty and "superseded_by" in trail) else []
    figure = SeriesFigure(periods=list(points), values=list(points.values()),
                          unit=unit_of(ind), axis_label=axis_label(ind), changes=changes,
                          breaks=[b.period for b in ind.breaks], revised=revised)
    commune = catalog.commune_of(territory)
    note = portrait_path(catalog, territory, max(points)[:4] if points else "")
    cells = [c for c in directory(catalog).values() if c.kind.value == "ccas"
             and cell_in_scope(user, catalog, c) and catalog.within(c.scope, territory)]
    return render(request, "series.html", user=user, data=data, indicator=ind,
                  territory=catalog.territories[territory], chart=series_figure_svg(figure),
                  shifts=shifts, kinds=KIND_FR, statuses=STATUS_FR, fmt=fmt,
                  locator=locator_map(catalog, territory),
                  unit=unit_of(ind), revised=set(revised),
                  portrait=note if note and "/commune/" in note and commune
                  and can_read_commune_note(user, commune) else None,
                  new_rule=(f"/abonnements/nouveau?cellule={cells[0].id}&indicator={indicator}"
                            f"&territory={territory}" if cells else None))


@router.get("/api/shifts")
def shifts_api(request: Request, user: Annotated[User, Depends(current_user)],
               status: str = "pending") -> Response:
    """The queue as JSON (analysts): ids, series, period, kind, q, review status."""
    require(user, "analyst")
    with runtime_of(request).engine.connect() as conn:
        rows = shift_store.list_shifts(conn, status="active", review_status=status or None)
    return JSONResponse([{k: r[k] for k in ("shift_id", "indicator", "territory", "period",
                                            "kind", "q_value", "review_status")}
                         for r in rows])
