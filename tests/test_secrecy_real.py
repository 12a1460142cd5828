"""The auditor on real and full publications: the Loire offences (SSMSI, whose provider
already hides cells) and CAF allocataires, commune -> EPCI -> département; and the demo's
whole publication for every viewer. No hidden cell below its protection level."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rich.console
import rich.progress

from benchmarks.secrecy_tables import loire_caf, loire_offences
from cli.demo_run import run_demo
from veille.catalog import Catalog
from veille.runtime import open_runtime
from veille.secrecy import mask
from veille.secrecy_audit import Viewer, audit, viewers
from veille.store import masks
from veille.store import observations as obs


def _audit_real(frame: pd.DataFrame, catalog: Catalog) -> tuple[int, int]:
    out = mask(frame, catalog)
    report = audit(frame, catalog, out["masked"].to_numpy(), Viewer("all"))
    assert report.ok, report.under[:5]
    return int((out["secrecy"] == "small").sum()), int((out["secrecy"] == "complementary").sum())


def test_loire_offences_commune_epci_departement(tmp_path):
    small, complementary = _audit_real(*loire_offences(tmp_path))
    assert small > 1000 and complementary > 0


def test_loire_caf_allocataires_with_a_threshold_of_eleven(tmp_path):
    small, complementary = _audit_real(*loire_caf(tmp_path, threshold=11))
    assert small > 100 and complementary > 0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("demo")
    run_demo(workspace, seed=2026, console=rich.console.Console(file=io.StringIO()),
             progress=rich.progress.Progress(disable=True))
    return workspace


@pytest.mark.slow
def test_the_demo_publication_holds_for_every_viewer(demo: Path):
    runtime = open_runtime(demo)
    catalog = runtime.catalog
    with runtime.engine.begin() as conn:
        frame = obs.current(conn, indicators=sorted(catalog.indicators))
        hidden = masks.hidden(conn, catalog, sorted(catalog.indicators))
    masked = np.array([k in hidden for k in zip(frame["indicator"], frame["territory"],
                                                 frame["period"], strict=True)])
    # "all" sees everything: any single viewer sees less, so their intervals are wider
    # (the analyst sees what "all" sees); one CCAS director and one CLSPD member
    chosen = [Viewer("all"), Viewer("reader"),
              *[next(v for v in viewers(catalog) if v.role == role) for role in ("ccas", "clspd")]]
    for viewer in chosen:
        report = audit(frame, catalog, masked, viewer)
        assert report.ok, (viewer, report.under[:5], report.shown_primary[:5])
        assert report.protected_cells > 30000
