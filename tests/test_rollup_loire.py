"""Real data, end to end: every commune of the Loire (INSEE tree: 10 EPCIs wholly inside
the département, the communes of the one straddling the Rhône under the département), the
SSMSI recorded offences 2016-2025 (one delivery a year, communes only, unpublished cells)
and the CNAF allocataires 2020-2024 (communes only), ingested and detected by the embedded
runner. Nothing is delivered for an EPCI or the département: their values are roll-ups.

Every expected figure is computed here with pandas from the files, never pasted. What the
data says: every (indicator, year) of Saint-Étienne Métropole has unpublished communes, so
its offences are unknown, while its CAF figures (no secret cell) are sums; some smaller
EPCIs have offences fully published in some years, and get sums.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from loire_pipeline import CLOCK, load_convention_yaml
from loire_rollup import (
    CAF_COLUMNS,
    SEM,
    caf_frame,
    members,
    offences_frame,
    write_caf,
    write_offences,
    write_workspace,
)
from sqlalchemy import func, select

from cli.jobs import ingest_files
from detectors.stage import build_batch
from portrait.build import build_portrait
from veille.runtime import Runtime, open_runtime
from veille.store import observations as obs_store
from veille.store.columnar import ColumnarHistory
from veille.store.schema import detection_runs

NOW = dt.datetime(2026, 6, 15, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def loire(tmp_path_factory: pytest.TempPathFactory) -> tuple[Runtime, Path, pd.DataFrame,
                                                             pd.DataFrame]:
    root = tmp_path_factory.mktemp("loire-rollup")
    communes = write_workspace(root / "ws", whole=True, offences=True)
    offences, caf = offences_frame(communes), caf_frame(communes)
    files = [*write_offences(root / "in", offences), write_caf(root / "in", caf)]
    runtime = open_runtime(root / "ws", clock=CLOCK)
    summary = ingest_files(runtime, files)
    assert summary.accepted == len(files) and summary.quarantined == 0
    return runtime, root / "ws", offences, caf


def _epcis(runtime: Runtime) -> list[str]:
    return sorted(c for c, t in runtime.catalog.territories.items() if t.kind.value == "epci")


def _current(runtime: Runtime, territories: list[str]) -> dict[tuple[str, str, str], tuple]:
    with runtime.engine.connect() as conn:
        frame = obs_store.current(conn, territories=territories)
    return {(r.indicator, r.territory, r.period): (r.value, r.status, r.origin)
            for r in frame.itertuples(index=False)}


def _offence_truth(offences: pd.DataFrame, communes: list[str]) -> dict[tuple[str, str], tuple]:
    """(indicator code, year) -> (sum, number of unpublished communes), by pandas."""
    codes = load_convention_yaml()["indicator_map"]
    part = offences[offences["code_commune"].isin(communes)
                    & offences["indicateur"].isin(codes)].copy()
    part["secret"] = part["est_diffuse"] == "ndiff"
    part["n"] = pd.to_numeric(part["nombre"].str.replace(",", "."), errors="coerce")
    grouped = part.groupby(["indicateur", "annee"]).agg(total=("n", "sum"),
                                                        secret=("secret", "sum"),
                                                        rows=("n", "size"))
    assert (grouped["rows"] == len(communes)).all()
    return {(codes[i], y): (float(r.total), int(r.secret)) for (i, y), r in grouped.iterrows()}


def test_offences_are_summed_where_every_commune_is_published(loire) -> None:
    runtime, ws, offences, _ = loire
    known = unknown = 0
    for epci in _epcis(runtime):
        got = _current(runtime, [epci])
        for (code, year), (total, secret) in _offence_truth(offences,
                                                            members(ws, epci)).items():
            value, status, origin = got[(code, epci, year)]
            assert origin == "rollup"
            if secret:
                assert status == "missing" and pd.isna(value), (epci, code, year)
                unknown += 1
            else:
                assert status == "ok" and value == pytest.approx(total), (epci, code, year)
                known += 1
    assert known > 0 and unknown > 0
    sem = _offence_truth(offences, members(ws, SEM))
    assert all(secret > 0 for _, secret in sem.values())  # hence all unknown, as tested


def test_caf_is_summed_up_to_the_departement(loire) -> None:
    runtime, ws, _, caf = loire
    values = caf[list(CAF_COLUMNS)].astype(float)
    by_year = values.groupby(caf["annee"]).sum()
    got = _current(runtime, ["42"])
    for year in by_year.index:
        for column, code in CAF_COLUMNS.items():
            assert got[(code, "42", year)] == (pytest.approx(by_year.loc[year, column]), "ok",
                                              "rollup")
    sem = caf[caf["code_commune"].isin(members(ws, SEM))]
    sem_sum = sem[list(CAF_COLUMNS)].astype(float).groupby(sem["annee"]).sum()
    assert _current(runtime, [SEM])[("caf_rsa", SEM, "2024")][0] == pytest.approx(
        sem_sum.loc["2024", "foyers_RSA"])
    # offences of the département: some commune is unpublished every year
    offences = [v for (i, _, _), v in got.items() if i.startswith("ssmsi_")]
    assert offences and all(status == "missing" for _, status, _ in offences)


def test_every_delivery_was_detected(loire) -> None:
    runtime = loire[0]
    with runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(detection_runs)).scalar() == 11


def test_the_metropole_portrait_has_commune_notes_and_rolled_up_values(loire) -> None:
    runtime, ws, _, caf = loire
    with runtime.engine.connect() as conn:
        portrait = build_portrait(conn, runtime.catalog, "2024", now=NOW, root=SEM)
    assert len(portrait.communes) == 53 == len(members(ws, SEM))
    assert all(note.themes for note in portrait.communes)
    lines = {line.indicator.code: line for b in portrait.agglomeration.themes
             for line in b.lines}
    sem = caf[caf["code_commune"].isin(members(ws, SEM)) & (caf["annee"] == "2024")]
    for column, code in CAF_COLUMNS.items():
        assert lines[code].origin == "rollup"
        assert lines[code].value == pytest.approx(sem[column].astype(float).sum())
    offences = [line for code, line in lines.items() if code.startswith("ssmsi_")]
    assert offences and all(line.unknown and not line.masked for line in offences)
    commune = portrait.communes[0]
    caf_line = next(line for b in commune.themes for line in b.lines
                    if line.indicator.code == "caf_foyers")
    assert caf_line.agglomeration_value == lines["caf_foyers"].value


def test_summed_offences_go_through_secrecy_and_feed_the_gap_test(loire) -> None:
    """The offences an EPCI has fully published are all zeros here (the SSMSI publishes a
    zero, and leaves a small non-zero count unpublished): their sums are stored (tested
    above) and, under the threshold, masked at the edge like any other small count."""
    runtime, ws, offences, _ = loire
    found = [(e, code) for e in _epcis(runtime)
             for (code, year), (_, secret) in _offence_truth(offences, members(ws, e)).items()
             if year == "2025" and not secret]
    assert found
    epci, code = found[0]
    total = _offence_truth(offences, members(ws, epci))[(code, "2025")][0]
    with runtime.engine.connect() as conn:
        portrait = build_portrait(conn, runtime.catalog, "2025", now=NOW, root=epci)
    line = next(line for b in portrait.agglomeration.themes for line in b.lines
                if line.indicator.code == code)
    assert line.origin == "rollup" and not line.unknown
    if total < 5:
        assert line.masked and line.value is None
    else:
        assert line.value == pytest.approx(total)
    # the gap test compares each commune with its EPCI's rolled-up series
    wave = build_batch(runtime.catalog, ColumnarHistory(runtime.workspace.history), [code],
                       "2025")
    assert wave is not None
    keys = wave.batch.keys
    epci_row = keys.index((code, epci))
    commune_rows = [i for i, (_, t) in enumerate(keys) if t in members(ws, epci)]
    assert commune_rows and np.all(wave.batch.parent[commune_rows] == epci_row)


def test_with_the_ign_outlines_the_portrait_maps_real_communes(loire) -> None:
    """Issue 17: the Loire workspace with the IGN 2018 outlines gets real maps; each
    commune is hatched exactly where its table line is secret."""
    import re
    import shutil
    import xml.etree.ElementTree as ET

    from portrait.render import render_html
    from tests.conftest import SHARED_DATA

    runtime, ws, _, _ = loire
    folder = ws / "catalog" / "contours"
    folder.mkdir()
    shutil.copy(SHARED_DATA / "ign-communes-2018-geojson" / "communes-42-loire.geojson",
                folder)
    try:
        with runtime.engine.connect() as conn:
            portrait = build_portrait(conn, runtime.catalog, "2024", now=NOW, root=SEM)
        html = render_html(portrait, notes=[portrait.agglomeration])
    finally:
        shutil.rmtree(folder)
    svgs = [ET.fromstring(s) for s in re.findall(
        r'<figure class="map" data-indicator="[a-z0-9_]+">(<svg.*?</svg>)', html, re.S)]
    assert len(svgs) >= 2
    lines = {n.territory.code: n.map_lines for n in portrait.communes}
    for svg, code in zip(svgs, re.findall(r'<figure class="map" data-indicator="([a-z0-9_]+)"',
                                          html), strict=True):
        areas = {p.get("data-code"): p for p in svg.iter("{http://www.w3.org/2000/svg}path")
                 if (p.get("class") or "").startswith("area")}
        assert len(areas) == 53 == len(members(ws, SEM))  # every commune of the métropole
        for commune, area in areas.items():
            assert (area.get("class") == "area secret") == lines[commune][code].masked
        assert any((a.get("class") or "").startswith("area c") for a in areas.values())
