"""Why a series was or was not reported at a wave (`detectors.explain`): its four tests,
the wave's Benjamini-Hochberg threshold and the variance used, as the wave recorded them.
Analysts only, like the review queue it answers ("why did it not flag this?")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from detectors.explain import explain_series, p_fr, threshold_words
from review.auth import User, current_user, require
from review.site import render, runtime_of
from veille.store import series_tests as test_store

router = APIRouter()


@router.get("/revue/explication/{indicator}/{territory}")
def explanation(request: Request, indicator: str, territory: str,
                user: Annotated[User, Depends(current_user)], periode: str = "") -> Response:
    require(user, "analyst")
    catalog = runtime_of(request).catalog
    if indicator not in catalog.indicators:
        raise HTTPException(status_code=404, detail="Indicateur inconnu.")
    if territory not in catalog.territories:
        raise HTTPException(status_code=404, detail="Territoire inconnu.")
    with runtime_of(request).engine.connect() as conn:
        found = explain_series(conn, indicator, territory, periode or None)
        periods = sorted({b.period for b in test_store.blocks_of(conn, indicator)},
                         reverse=True)
    return render(request, "explain.html", user=user, found=found, periods=periods,
                  period=periode or (found[0].period if found else ""),
                  indicator=catalog.indicators[indicator],
                  territory=catalog.territories[territory], p_fr=p_fr,
                  threshold_words=threshold_words)
