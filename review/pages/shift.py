"""One shift: its chart, evidence, context (parent and sibling territories), the delivery
it came from, the decision form and the audit trail. Analysts only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection, select

from detectors.changepoint import segment
from portrait.charts import SeriesChart, series_svg
from portrait.published import Published
from review import flash
from review.auth import User, check_csrf, current_user, require
from review.decide import DECISIONS, REASONS, STATUS_FR, DecisionError, decide
from review.maps import neighbour_map
from review.maps import neighbours as territory_neighbours
from review.queueorder import filters_of, neighbours, next_after, query_of, queue_rows
from review.shiftview import view
from review.site import render, runtime_of
from veille.model import IndicatorKind
from veille.periods import shift as shift_period
from veille.store import deliveries as delivery_store
from veille.store import observations as obs_store
from veille.store import reviews as review_store
from veille.store import shifts as shift_store
from veille.store.schema import detection_runs
from veille.wording import q_meaning, wave_false_alerts

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


SIBLINGS_SHOWN = 6
"""Context shows at most this many sibling territories (a commune of a large EPCI has
dozens): those whose value moved most over the year, the rest counted."""


def context_rows(request: Request, row: dict, values: Published) -> tuple[list[dict], str]:
    """The same indicator in this territory, its parent and grand-parent, and the siblings
    that moved most; with a line counting the siblings not shown."""
    catalog = runtime_of(request).catalog
    territory = catalog.territories[row["territory"]]
    period = row["period"]
    indicator = catalog.indicators[row["indicator"]]
    before = shift_period(period, -indicator.periodicity.per_year)

    def line(code: str, role: str) -> dict:
        now_v, old_v = values.value(indicator.code, code, period), values.value(
            indicator.code, code, before)
        return {"territory": catalog.territories[code], "role": role, "value": now_v,
                "before": old_v, "self": code == territory.code,
                "masked": values.is_masked(indicator.code, code, period),
                "change": None if now_v is None or old_v is None else now_v - old_v}

    out = [line(territory.code, "ce territoire")]
    out += [line(a.code, a.kind.label_fr) for a in catalog.ancestors(territory.code)[:2]]
    rest = ""
    if territory.parent:
        parent = catalog.territories[territory.parent]
        role = f"autre {territory.kind.label_fr} de {parent.name}"
        siblings = [line(c.code, role) for c in catalog.children(territory.parent)
                    if c.code != territory.code and c.kind is territory.kind]

        def moved(item: dict) -> float:
            if item["change"] is None or not item["before"]:
                return -1.0
            return abs(item["change"] / item["before"])

        siblings.sort(key=lambda item: (-moved(item), item["territory"].name))
        out += siblings[:SIBLINGS_SHOWN]
        hidden = len(siblings) - SIBLINGS_SHOWN
        if hidden > 0:
            rest = (f"{hidden} autre{'s' if hidden > 1 else ''} {territory.kind.label_fr}"
                    f"{'s' if hidden > 1 else ''} de {parent.name} non montré"
                    f"{'s' if hidden > 1 else ''} (les plus fortes variations sur un an "
                    f"d'abord).")
    return out, rest


def wave_line(conn: Connection, delivery_id: int) -> str:
    """The chance of a false alert in the shift's wave, from its detection run."""
    run = conn.execute(select(detection_runs).where(
        detection_runs.c.delivery_id == delivery_id)).first()
    if run is None:
        return ""
    return wave_false_alerts(int(run.n_tests), int(run.n_shifts), float(run.q))


@router.get("/revue/evolution/{shift_id}")
def shift_page(request: Request, shift_id: str,
               user: Annotated[User, Depends(current_user)]) -> Response:
    require(user, "analyst")
    row = _load(request, shift_id)
    runtime = runtime_of(request)
    values = request.app.state.published.get([row["indicator"]])
    filters = filters_of(request.query_params)
    with runtime.engine.connect() as conn:
        delivery = delivery_store.get(conn, int(row["delivery_id"]))
        trail = review_store.trail(conn, shift_id)
        queries = [q for q in review_store.queries_of_delivery(conn, delivery.id)]
        order = [r["shift_id"] for r in queue_rows(conn, runtime.catalog, filters)]
        wave = wave_line(conn, delivery.id)
    item = view(row, runtime.catalog, values, {delivery.id: delivery.filename},
                trail[-1] if trail else None)
    if item is None:
        raise HTTPException(status_code=404, detail="Série hors catalogue.")
    convention = runtime.catalog.conventions.get(delivery.convention_id or "")
    context, context_rest = context_rows(request, row, values)
    previous, following = neighbours(order, shift_id)
    area_map = _neighbour_map(request, row, values)
    return render(request, "shift.html", user=user, s=item, delivery=delivery,
                  convention=convention, trail=trail, queries=queries,
                  context=context, context_rest=context_rest, decisions=DECISIONS,
                  reasons=REASONS, statuses=STATUS_FR, breaks=item.indicator.breaks,
                  query=query_of(filters), previous=previous, following=following,
                  position=order.index(shift_id) + 1 if shift_id in order else None,
                  queue_length=len(order), q_text=q_meaning(float(row["q_value"])),
                  wave_text=wave, last_reason=request.session.get("last_reason", ""),
                  area_map=area_map)


def _neighbour_map(request: Request, row: dict, values: Published,
                   thumbnail: bool = False) -> str | None:
    """The shift's territory among its neighbours, the other detections there outlined."""
    catalog = runtime_of(request).catalog
    codes = territory_neighbours(catalog, row["territory"])
    if not codes:
        return None
    with runtime_of(request).engine.connect() as conn:
        detected = {str(s["territory"]) for s in shift_store.list_shifts(
            conn, territory=codes, indicators=[row["indicator"]], status="active")
            if s["period"] == row["period"]}
    return neighbour_map(catalog, values, row, detected, thumbnail)


@router.get("/revue/evolution/{shift_id}/carte.svg")
def shift_map(request: Request, shift_id: str,
              user: Annotated[User, Depends(current_user)]) -> Response:
    """The neighbour map alone, without legend (the review queue's lazy thumbnails)."""
    require(user, "analyst")
    row = _load(request, shift_id)
    svg = _neighbour_map(request, row, request.app.state.published.get([row["indicator"]]),
                         thumbnail=True)
    if svg is None:
        raise HTTPException(status_code=404, detail="Pas de contours pour ce territoire.")
    return Response(svg, media_type="image/svg+xml",
                    headers={"Cache-Control": "private, no-store"})


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
                   comment: Annotated[str, Form()] = "", apres: str = "") -> Response:
    """Record the decision, then go on with the queue (same filters, from the query
    string): to the next shift's page, or back to the queue list (``apres=file``, the
    queue's own per-row buttons) on the row that followed."""
    require(user, "analyst")
    _load(request, shift_id)
    runtime = runtime_of(request)
    filters = filters_of(request.query_params)
    query = query_of(filters)
    if decision == "dismissed" and reason:
        request.session["last_reason"] = reason
    elif decision != "dismissed":
        reason = ""  # a motive is a dismissal's: a confirmation records none
    with runtime.engine.connect() as conn:
        before = [r["shift_id"] for r in queue_rows(conn, runtime.catalog, filters)]
    try:
        decide(runtime.engine, shift_id, decision, reviewer=user.username,
               now=dt.datetime.now(dt.UTC), reason=reason or None, comment=comment)
    except DecisionError as exc:
        target = "/revue?" + query if apres == "file" else (
            f"/revue/evolution/{shift_id}?{query}")
        return RedirectResponse(flash.url(target, f"refus-{exc.code}"), status_code=303)
    if request.app.state.after_decision is not None:
        request.app.state.after_decision()
    with runtime.engine.connect() as conn:
        after = [r["shift_id"] for r in queue_rows(conn, runtime.catalog, filters)]
    following = next_after(before, after, shift_id)
    code = f"decision-{decision}"
    if apres == "file":
        anchor = f"#s-{following}" if following else ""
        return RedirectResponse(flash.url("/revue?" + query, code) + anchor, status_code=303)
    if following is None:
        return RedirectResponse(flash.url("/revue?" + query, "file-terminee"),
                                status_code=303)
    return RedirectResponse(flash.url(f"/revue/evolution/{following}?{query}", code),
                            status_code=303)
