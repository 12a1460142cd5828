"""A series (one indicator, one territory): page and JSON API, published values only,
for analysts and for CCAS / CLSPD members inside their territory."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from review.auth import User, current_user, require
from review.scope import check_series
from review.site import render, runtime_of
from veille.sparkline import sparkline
from veille.store import shifts as shift_store

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


@router.get("/series/{indicator}/{territory}")
def series_page(request: Request, indicator: str, territory: str,
                user: Annotated[User, Depends(current_user)]) -> Response:
    data = _published_series(request, user, indicator, territory)
    catalog = runtime_of(request).catalog
    shifts = []
    if user.is_analyst:
        with runtime_of(request).engine.connect() as conn:
            shifts = shift_store.list_shifts(conn, territory=[territory],
                                             indicators=[indicator], status="active")
    values = [p["value"] for p in data["points"]]
    return render(request, "series.html", user=user, data=data,
                  indicator=catalog.indicators[indicator],
                  territory=catalog.territories[territory], spark=sparkline(values[-60:]),
                  shifts=shifts)


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
