"""Contours from the real files: the IGN 2018 communes of the Loire keyed by today's
communes through the COG's former codes, QPV outlines, and invalid geometries repaired or
refused with a message (``veille init --contours`` then ``veille check``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import shapely
from typer.testing import CliRunner

from cli.common import console
from cli.main import app
from tests.conftest import SHARED_DATA
from veille.catalog import load_catalog
from veille.maps.contours import load_contours, read_contours
from veille.maps.projection import project

COG = SHARED_DATA / "insee-cog-2025" / "v_commune_2025.csv"
EPCI = SHARED_DATA / "insee-epci-2025" / "epci.json"
IGN = SHARED_DATA / "ign-communes-2018-geojson"
QPV = SHARED_DATA / "qpv-occitanie-2015geo"
runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console() -> None:
    console.width = 200


def veille(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return " ".join(result.output.split())


def _cog_rows() -> list[dict[str, str]]:
    with COG.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def loire(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("loire") / "ws"
    veille("init", "-w", str(workspace), "--cog", str(COG), "--epci", str(EPCI),
           "--territory", "42", "--contours", str(IGN / "communes-42-loire.geojson"))
    return workspace


def test_the_loire_2018_outlines_key_every_2025_commune(loire: Path) -> None:
    catalog = load_catalog(loire / "catalog")
    contours = load_contours(catalog)
    report = contours.report
    communes = {c for c, t in catalog.territories.items() if t.kind.value == "commune"}
    features = json.loads((IGN / "communes-42-loire.geojson").read_text())["features"]
    codes_2018 = {f["properties"]["code"] for f in features}
    # each kind of mismatch between the 2018 outlines and the 2025 communes, counted
    assert len(codes_2018) == 326 and len(communes) == 320
    assert set(contours.shapes) == communes  # no 2025 commune without its outline
    assert report.missing == {}
    merged = {old: today for today, olds in report.merged.items() for old in olds}
    assert len(merged) == 5 and len(report.merged) == 3  # 5 old codes into 3 communes
    assert report.unknown == ["42072"]  # one 2018 code the COG 2025 no longer knows
    assert report.repaired == [] and report.refused == []
    # the counts agree with the COG itself: merged codes are COMD/COMA of that commune...
    cog = _cog_rows()
    former = {r["COM"]: r["COMPARENT"] for r in cog if r["TYPECOM"] in ("COMD", "COMA")
              and r["COM"] in codes_2018 and r["COM"] not in communes}
    assert merged == former
    # ... and the unknown one is in no row of it
    assert not any(r["COM"] == "42072" for r in cog)
    # a merged commune's outline is the union of its former outlines
    by_code = {f["properties"]["code"]: shapely.geometry.shape(f["geometry"])
               for f in features}
    for today, olds in report.merged.items():
        joined = shapely.union_all([by_code[c] for c in [today, *olds] if c in by_code])
        assert contours.shapes[today].symmetric_difference(joined).area < 1e-9
    # projected to Lambert-93: metres, the Loire's communes a few km to tens of km wide
    projected = project(contours.shapes)
    saint_etienne = projected["42218"]
    assert 700_000 < saint_etienne.centroid.x < 850_000
    assert 6_400_000 < saint_etienne.centroid.y < 6_550_000
    assert 50e6 < saint_etienne.area < 100e6  # about 80 km²
    said = veille("check", "-w", str(loire))
    assert "1 contour(s) sans territoire dans territories.csv, ignorés (p. ex. 42072)" in said
    assert ("5 ancien(s) code(s) de communes fusionnées réunis dans 3 commune(s) "
            "d'aujourd'hui") in said


def test_qpv_outlines_key_the_qpv_of_the_workspace(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    veille("init", "-w", str(workspace), "--cog", str(COG), "--epci", str(EPCI),
           "--territory", "243400017", "--qpv", str(QPV / "qp.geojson"),
           "--contours", str(QPV / "qp.geojson"))
    catalog = load_catalog(workspace / "catalog")
    contours = load_contours(catalog)
    qpv = {c for c, t in catalog.territories.items() if t.kind.value == "qpv"}
    assert set(contours.shapes) == qpv and len(qpv) == 12
    features = json.loads((QPV / "qp.geojson").read_text(encoding="utf-8-sig"))["features"]
    assert len(contours.report.unknown) == len(features) - len(qpv)  # the rest of Occitanie
    for code, shape in contours.shapes.items():
        assert shape.is_valid and shape.area > 0, code


def _write(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _feature(code: str, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": {"code": code}, "geometry": geometry}


def test_an_invalid_geometry_is_repaired_or_refused_with_a_message(loire: Path) -> None:
    catalog = load_catalog(loire / "catalog")
    real = json.loads((IGN / "communes-42-loire.geojson").read_text())["features"]
    saint_etienne = shapely.geometry.shape(
        next(f for f in real if f["properties"]["code"] == "42218")["geometry"])
    outline = max(shapely.get_parts(saint_etienne), key=lambda p: p.area)
    coords = [list(xy) for xy in outline.exterior.coords]
    for i in range(1, len(coords) - 3):  # a digitising slip: two vertices swapped
        bow_tie = [*coords[:i], coords[i + 1], coords[i], *coords[i + 2:]]
        if not shapely.Polygon(bow_tie).is_valid:
            break
    assert not shapely.Polygon(bow_tie).is_valid
    x0, y0 = coords[0]
    files = _write(loire / "bad.geojson", [
        _feature("42218", {"type": "Polygon", "coordinates": [bow_tie]}),
        _feature("42207", {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + .01, y0],
                                                                [x0 + .02, y0], [x0, y0]]]}),
        _feature("42095", {"type": "Point", "coordinates": [x0, y0]}),
        _feature("42187", {"type": "Polygon", "coordinates": [[[808000, 6480000],
                                                                [809000, 6480000],
                                                                [809000, 6481000],
                                                                [808000, 6480000]]]}),
    ])
    contours = read_contours([files], catalog)
    repaired = {i.code: i.message for i in contours.report.repaired}
    refused = {i.code: i.message for i in contours.report.refused}
    assert set(repaired) == {"42218"} and "Self-intersection" in repaired["42218"]
    assert "réparée à la lecture (make_valid)" in repaired["42218"]
    assert contours.shapes["42218"].is_valid
    assert abs(contours.shapes["42218"].area - outline.area) < 0.01 * outline.area
    assert set(refused) == {"42207", "42095", "42187"}
    assert "irréparable" in refused["42207"]  # a flat ring encloses nothing
    assert "attendu un Polygon ou un MultiPolygon" in refused["42095"]
    assert "WGS84" in refused["42187"] and "reprojetez" in refused["42187"]
    assert set(contours.shapes) == {"42218"}
    # veille check names the file and the code, and fails until the file is fixed
    target = loire / "catalog" / "contours" / "bad.geojson"
    target.write_bytes(files.read_bytes())
    try:
        said = veille("check", "-w", str(loire), code=1)
    finally:
        target.unlink()
    assert "réparé : bad.geojson, contour '42218' : géométrie invalide" in said
    assert "refusé : bad.geojson, contour '42095'" in said
    assert "3 contour(s) refusé(s)" in said
