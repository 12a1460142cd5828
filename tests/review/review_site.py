"""A small observatory for the web tests: the factories' catalog (two communes, four
neighbourhoods), three years of CAF observations written to the real store (SQLite or
PostgreSQL), four detected shifts, cells and a review-gated subscription, one account per
role. Values include a count under the secrecy threshold. Also the helpers the web tests
share: an in-process client with login and CSRF (``Browser``) and ``veille`` in a real
process (``veille_cli``); they live here, not in conftest, because tests import them."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import yaml
from fastapi.testclient import TestClient

from factories import write_catalog
from review.app import create_app
from review.auth import create_user
from streams.embedded import EmbeddedRunner
from veille.clock import Clock
from veille.periods import period_range
from veille.runtime import Runtime, open_runtime
from veille.store import deliveries
from veille.store import observations as obs
from veille.store import shifts as shift_store

NOW = dt.datetime(2025, 7, 15, 9, tzinfo=dt.UTC)
PASSWORD = "mot-de-passe-solide"
REPO = Path(__file__).resolve().parents[2]
SECRET_VALUE = 3.0  # caf_rsa of Q-DEUX-OUEST in 2025-05: under the threshold (5)
PERIODS = period_range("2023-01", "2025-05")
QUARTIERS = {"Q-UN-NORD": "99001", "Q-UN-SUD": "99001", "Q-DEUX-EST": "99002",
             "Q-DEUX-OUEST": "99002"}

CELLS = {"cells": [
    {"id": "ccas-une", "name": "CCAS de Ville-Une", "kind": "ccas", "scope": ["99001"],
     "reviewed_only": True, "schedule": "monthly"},
    {"id": "ccas-deux", "name": "CCAS de Ville-Deux", "kind": "ccas", "scope": ["99002"],
     "reviewed_only": True, "schedule": "monthly"},
    {"id": "clspd-une", "name": "CLSPD de Ville-Une", "kind": "clspd", "scope": ["99001"],
     "reviewed_only": False, "schedule": "weekly"},
]}
SUBSCRIPTIONS = {"subscriptions": [
    {"id": "rsa-une", "owner": "ccas-une", "scope": ["99001"],
     "rule": {"kind": "shift", "indicators": ["caf_rsa"]}},
    {"id": "rsa-deux", "owner": "ccas-deux", "scope": ["99002"],
     "rule": {"kind": "level", "indicator": "caf_rsa", "above": 100}},
]}
USERS = {  # username: (role, commune, scope)
    "ana": ("analyst", None, None),
    "dir-une": ("ccas", "99001", None),
    "dir-deux": ("ccas", "99002", None),
    "clspd-une": ("clspd", "99001", ["Q-UN-NORD", "Q-UN-SUD"]),
    "elu": ("reader", None, None),
}


def _observations() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for i, period in enumerate(PERIODS):
        rsa: dict[str, float] = {}
        for j, code in enumerate(QUARTIERS):
            level = 40.0 + 10 * j + (25.0 if code == "Q-UN-NORD" and period >= "2025-03" else 0)
            rsa[code] = float(round(level + rng.normal(0, 2)))
        if period == "2025-05":
            rsa["Q-DEUX-OUEST"] = SECRET_VALUE
        rsa["99001"] = rsa["Q-UN-NORD"] + rsa["Q-UN-SUD"]
        rsa["99002"] = rsa["Q-DEUX-EST"] + rsa["Q-DEUX-OUEST"]
        rsa["299000001"] = rsa["99001"] + rsa["99002"]
        for code, value in rsa.items():
            alloc = 400.0 + 3 * i
            rows.append(("caf_rsa", code, period, value, np.nan, np.nan, "ok"))
            rows.append(("caf_alloc", code, period, alloc, np.nan, np.nan, "ok"))
            rows.append(("part_rsa", code, period, round(100 * value / alloc, 2), value, alloc,
                         "ok"))
    return pd.DataFrame(rows, columns=["indicator", "territory", "period", "value",
                                       "numerator", "denominator", "status"])


def _shift(shift_id: str, delivery: int, indicator: str, territory: str, q: float,
           kind: str = "level_shift", observed: float = 70.0) -> dict:
    return {
        "shift_id": shift_id, "delivery_id": delivery, "indicator": indicator,
        "territory": territory, "period": "2025-05", "last_period": "2025-05", "kind": kind,
        "direction": 1, "good_news": False, "observed": observed, "expected": 45.0,
        "interval_low": 40.0, "interval_high": 50.0, "abs_change": observed - 45.0,
        "rel_change": (observed - 45.0) / 45.0, "people": None, "p_value": q / 10,
        "q_value": q, "method": "GLM quasi-Poisson, saisonnalité mensuelle",
        "baseline": "24 mois précédents", "explained_by": None, "status": "active",
        "review_status": "pending", "detected_at": NOW, "retracted_at": None,
        "retraction_reason": None,
        "chart": {"periods": PERIODS[-24:], "values": [None] * 24}}


SHIFTS = {  # id: (indicator, territory, q)
    "s-nord": ("caf_rsa", "Q-UN-NORD", 0.001),
    "s-est": ("caf_rsa", "Q-DEUX-EST", 0.02),
    "s-part": ("part_rsa", "99001", 0.03),
    "s-ouest": ("caf_rsa", "Q-DEUX-OUEST", 0.04),
}


@dataclass
class Site:
    runtime: Runtime
    runner: EmbeddedRunner
    app: object
    delivery_id: int


def build_site(root: Path, clock: Clock | None = None, settings: dict | None = None) -> Site:
    """The site on a fresh workspace; ``clock`` for tests that move time (sessions, login
    throttling), ``settings`` for veille.yaml."""
    ws = write_catalog(root)
    (ws / "catalog" / "cells.yaml").write_text(yaml.safe_dump(CELLS), encoding="utf-8")
    (ws / "catalog" / "subscriptions.yaml").write_text(yaml.safe_dump(SUBSCRIPTIONS),
                                                       encoding="utf-8")
    if settings:
        (ws / "veille.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    runtime = open_runtime(ws, clock=clock)
    with runtime.engine.begin() as conn:
        delivery = deliveries.record_received(
            conn, content_hash="f" * 64, convention_id="caf-mensuel",
            filename="caf_2025-05.csv", received_at=NOW, archive_path="/dev/null",
            size_bytes=1)
        frame = _observations()
        obs.bulk_insert(conn, frame, delivery)
        deliveries.mark_accepted(conn, delivery, rows_read=len(frame),
                                 observation_count=len(frame), secret_count=0,
                                 revised_count=0, periods=PERIODS,
                                 indicators=["caf_rsa", "caf_alloc", "part_rsa"])
        for shift_id, (indicator, territory, q) in SHIFTS.items():
            observed = SECRET_VALUE if territory == "Q-DEUX-OUEST" else 70.0
            shift_store.insert_shift(conn, _shift(shift_id, delivery, indicator, territory,
                                                  q, observed=observed))
    for username, (role, commune, scope) in USERS.items():
        create_user(runtime.engine, runtime.catalog, username=username, password=PASSWORD,
                    role=role, commune=commune, scope=scope, display_name=username.title(),
                    now=NOW)
    runner = EmbeddedRunner(runtime.workspace, runtime.catalog, runtime.engine, runtime.clock)
    app = create_app(runtime, after_decision=runner.run_pending, session_secret="test-secret")
    return Site(runtime, runner, app, delivery)


def veille_cli(*args: str, env: dict[str, str] | None = None,
               ) -> subprocess.CompletedProcess[str]:
    """A `veille` command run as an operator runs it: this checkout's code, a real process
    (the store URL comes from the test's environment)."""
    full = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="200", **(env or {}))
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=full, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


class Browser:
    """A client on the app in-process (Starlette's TestClient is an httpx client), with
    login and CSRF helpers. Redirects are not followed, so tests see them."""

    def __init__(self, app: object, address: str = "testclient",
                 base_url: str = "http://testserver") -> None:
        self.client = TestClient(app, base_url=base_url,  # type: ignore[arg-type]
                                 follow_redirects=False, client=(address, 50000))
        self.csrf = ""

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        page = self.client.get("/connexion")
        response = self.client.post("/connexion", data={
            "username": username, "password": password, "csrf_token": csrf_of(page.text)})
        if response.status_code == 303:
            self.csrf = csrf_of(self.client.get("/connexion").text)
        return response

    def get(self, url: str) -> httpx.Response:
        return self.client.get(url)

    def post(self, url: str, data: dict | list, *, csrf: bool = True) -> httpx.Response:
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf:
            pairs.append(("csrf_token", self.csrf))
        form: dict[str, list[str]] = {}
        for key, value in pairs:
            form.setdefault(key, []).append(value)
        return self.client.post(url, data=form)


def write_contours(catalog_dir: Path) -> Path:
    """Outlines for the factories' territories (lon/lat rectangles near Saint-Étienne):
    Ville-Une west of Ville-Deux, each split into its two quartiers."""
    boxes = {"99001": (4.30, 45.40, 4.40, 45.46), "99002": (4.40, 45.40, 4.48, 45.46),
             "Q-UN-NORD": (4.30, 45.43, 4.40, 45.46), "Q-UN-SUD": (4.30, 45.40, 4.40, 45.43),
             "Q-DEUX-EST": (4.44, 45.40, 4.48, 45.46),
             "Q-DEUX-OUEST": (4.40, 45.40, 4.44, 45.46)}
    features = [{"type": "Feature", "properties": {"code": code}, "geometry": {
        "type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}}
        for code, (x0, y0, x1, y1) in boxes.items()]
    path = catalog_dir / "contours" / "test.geojson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")
    return path
