"""One shift: its chart, evidence, context (parent and sibling territories), the delivery
it came from, the decision form and the audit trail. Analysts only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from detectors.changepoint import segment
from portrait.charts import SeriesChart, series_svg
from portrait.published import Published
from review import flash
from review.auth import User, check_csrf, current_user, require
from review.decide import DECISIONS, REASONS, STATUS_FR, DecisionError, decide
from review.shiftview import view
from review.site import render, runtime_of
from veille.model import IndicatorKind
from veille.periods import shift as shift_period
from veille.store import deliveries as delivery_store
from veille.store import observations as obs_store
from veille.store import reviews as review_store
from veille.store import shifts as shift_store

router = APIRouter()


def _load(request: Request, shift_id: str) -> dict:
    with runtime_of(request).engine.connect() as conn:
        row = shift_store.get(conn, shift_id)
    if row is None:
        raise HTTPException(status_code=404, detail="Évolution inconnue.")
    return row


def series_chart(request: Request, row: dict, values: Published) -> SeriesChart:
    """Whole published history, segments, breaks, revisions and the detection's baseline."""
    catalog = runtime_of(request).catalog
    indicator = catalog.indicators[row["indicator"]]
    points = values.points(row["indicator"], row["territory"])
    periods = list(points)
    series = [points[p] for p in periods]
    fitted = None
    clean = np.array([np.nan if v is None else v for v in series], dtype=float)
    if np.isfinite(clean).sum() >= 10:
        kind = "poisson" if (indicator.kind is IndicatorKind.COUNT
                             and np.nanmax(clean) < 50) else "gaussian"
        try:
            seg = segment(clean, kind=kind)
            fitted = [None if np.isnan(v) else float(v) for v in seg.fitted]
        except ValueError:
            fitted = None
    with runtime_of(request).engine.connect() as conn:
        trail = obs_store.history(conn, row["indicator"], row["territory"])
    revised = sorted(set(trail.loc[trail["superseded_by"].notna(), "period"])) if (
        not trail.empty) else []
    published = values.value(row["indicator"], row["territory"], row["period"]) is not None
    return SeriesChart(
        periods=periods, values=series, shift_period=row["period"],
        expected=float(row["expected"]) if published else None,
        interval=(float(row["interval_low"]), float(row["interval_high"])) if published
        else None,
        fitted=fitted, breaks=[(b.period, b.note) for b in indicator.breaks],
        revised=[p for p in revised if points.get(p) is not None],
        title=f"{indicator.label} – {catalog.territories[row['territory']].name}",
        unit=indicator.unit)


def context_rows(request: Request, row: dict, values: Published) -> list[dict]:
    """The same indicator in the parent, grand-parent and sibling territories."""
    catalog = runtime_of(request).catalog
    territory = catalog.territories[row["territory"]]
    period = row["period"]
    indicator = catalog.indicators[row["indicator"]]
    before = shift_period(period, -indicator.periodicity.per_year)
    codes = [territory.code]
    ancestors = catalog.ancestors(territory.code)
    if territory.parent:
        codes += sorted(c.code for c in catalog.children(territory.parent)
                        if c.code != territory.code and c.kind is territory.kind)
    codes += [a.code for a in ancestors[:2]]
    out = []
    for code in codes:
        t = catalog.territories[code]
        now_v, old_v = values.value(indicator.code, code, period), values.value(
            indicator.code, code, before)
        role = ("ce territoire" if code == territory.code else "parent" if any(
            a.code == code for a in ancestors) else "voisin")
        out.append({"territory": t, "role": role, "value": now_v, "before": old_v,
                    "masked": values.is_masked(indicator.code, code, period),
                    "change": None if now_v is None or old_v is None else now_v - old_v})
    return out


@router.get("/revue/evolution/{shift_id}")
def shift_page(request: Request, shift_id: str,
               user: Annotated[User, Depends(current_user)]) -> Response:
    require(user, "analyst")
    row = _load(request, shift_id)
    runtime = runtime_of(request)
    values = request.app.state.published.get([row["indicator"]])
    with runtime.engine.connect() as conn:
        delivery = delivery_store.get(conn, int(row["delivery_id"]))
        trail = review_store.trail(conn, shift_id)
        queries = [q for q in review_store.queries_of_delivery(conn, delivery.id)]
    item = view(row, runtime.catalog, values, {delivery.id: delivery.filename},
                trail[-1] if trail else None)
    if item is None:
        raise HTTPException(status_code=404, detail="Série hors catalogue.")
    convention = runtime.catalog.conventions.get(delivery.convention_id or "")
    return render(request, "shift.html", user=user, s=item, delivery=delivery,
                  convention=convention, trail=trail, queries=queries,
                  context=context_rows(request, row, values), decisions=DECISIONS,
                  reasons=REASONS, statuses=STATUS_FR, breaks=item.indicator.breaks)


@router.get("/revue/evolution/{shift_id}/graphique.svg")
def shift_chart(request: Request, shift_id: str,
                user: Annotated[User, Depends(current_user)]) -> Response:
    require(user, "analyst")
    row = _load(request, shift_id)
    values = request.app.state.published.get([row["indicator"]])
    svg = series_svg(series_chart(request, row, values))
    return Response(svg, media_type="image/svg+xml",
                    headers={"Cache-Control": "private, no-store"})


@router.post("/revue/evolution/{shift_id}/decision", dependencies=[Depends(check_csrf)])
def shift_decision(request: Request, shift_id: str,
                   user: Annotated[User, Depends(current_user)],
                   decision: Annotated[str, Form()], reason: Annotated[str, Form()] = "",
                   comment: Annotated[str, Form()] = "") -> Response:
    require(user, "analyst")
    _load(request, shift_id)
    try:
        decide(runtime_of(request).engine, shift_id, decision, reviewer=user.username,
               now=dt.datetime.now(dt.UTC), reason=reason or None, comment=comment)
    except DecisionError as exc:
        return RedirectResponse(flash.url(f"/revue/evolution/{shift_id}", f"refus-{exc.code}"),
                                status_code=303)
    if request.app.state.after_decision is not None:
        request.app.state.after_decision()
    return RedirectResponse(flash.url(f"/revue/evolution/{shift_id}", f"decision-{decision}"),
                            status_code=303)
