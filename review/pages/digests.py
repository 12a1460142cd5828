"""Digest pages: the messages sent to a cell, readable by its members in the site
(CLSPD and CCAS members for their commune's cells, analysts for all)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from digests.present import DIGEST_STATUS_FR
from review.auth import User, current_user, require
from review.scope import cell_in_scope, check_cell
from review.site import render, runtime_of
from thresholds.subscriptions import directory
from veille.store import notifications

router = APIRouter()


@router.get("/syntheses")
def digests_page(request: Request, user: Annotated[User, Depends(current_user)]) -> Response:
    require(user, "analyst", "ccas", "clspd")
    runtime = runtime_of(request)
    cells = directory(runtime.catalog)
    with runtime.engine.connect() as conn:
        rows = [d for d in notifications.list_digests(conn)
                if (c := cells.get(d["cell_id"])) is not None
                and cell_in_scope(user, runtime.catalog, c)]
    return render(request, "digests.html", user=user, digests=rows, cells=cells,
                  statuses=DIGEST_STATUS_FR)


@router.get("/syntheses/{digest_id:path}")
def digest_page(request: Request, digest_id: str,
                user: Annotated[User, Depends(current_user)]) -> Response:
    require(user, "analyst", "ccas", "clspd")
    runtime = runtime_of(request)
    with runtime.engine.connect() as conn:
        row = notifications.get_digest(conn, digest_id)
    if row is None:
        raise HTTPException(status_code=404, detail="Synthèse inconnue.")
    cell = check_cell(user, runtime.catalog, directory(runtime.catalog).get(row["cell_id"]))
    return render(request, "digest.html", user=user, digest=row, cell=cell)
