"""`veille init` on INSEE's real reference files: Saint-Étienne Métropole, the Métropole de
Lyon with its arrondissements, Montpellier's QPV; re-runs that change nothing and keep the
analyst's edits; bad inputs named by file and line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.common import console
from cli.main import app
from veille.catalog import load_catalog

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # as tests/conftest.py
COG = SHARED_DATA / "insee-cog-2025" / "v_commune_2025.csv"
EPCI = SHARED_DATA / "insee-epci-2025" / "epci.json"
POPULATION = SHARED_DATA / "insee-cog-2025" / "POPULATION_MUNICIPALE_COMMUNES_FRANCE.xlsx"
QPV = SHARED_DATA / "qpv-occitanie-2015geo"
SAINT_ETIENNE_METROPOLE, METROPOLE_DE_LYON, MONTPELLIER_METROPOLE = (
    "244200770", "200046977", "243400017")
runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console() -> None:
    console.width = 200


def init(workspace: Path, *territories: str, extra: tuple[str, ...] = (),
         population: bool = True) -> str:
    args = ["init", "-w", str(workspace), "--cog", str(COG), "--epci", str(EPCI)]
    args += [a for t in territories for a in ("--territory", t)]
    args += ["--population", str(POPULATION)] if population else []
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output
    return result.output


def rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {r["code"]: r for r in csv.DictReader(handle, delimiter=";")}


def check(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("VEILLE_DATABASE_URL", f"sqlite:///{workspace / 'veille.db'}")
    result = runner.invoke(app, ["check", "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def sem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("sem") / "ws"
    init(workspace, SAINT_ETIENNE_METROPOLE)
    return workspace


def test_saint_etienne_metropole_from_an_empty_folder(sem: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    territories = rows(sem / "catalog" / "territories.csv")
    communes = [r for r in territories.values() if r["kind"] == "commune"]
    assert len(communes) == 53
    assert {r["parent"] for r in communes} == {SAINT_ETIENNE_METROPOLE}
    assert territories[SAINT_ETIENNE_METROPOLE]["parent"] == "42"
    assert territories["42"] == {"code": "42", "kind": "departement", "name": "Loire",
                                 "parent": "R84", "population": territories["42"]["population"]}
    assert territories["R84"]["name"] == "Auvergne-Rhône-Alpes"
    assert territories["42218"]["name"] == "Saint-Étienne"
    # the EPCI's population is the sum of its communes', year by year
    populations: dict[tuple[str, str], int] = {}
    with (sem / "catalog" / "populations.csv").open(encoding="utf-8") as handle:
        for r in csv.DictReader(handle, delimiter=";"):
            populations[(r["code"], r["year"])] = int(r["population"])
    years = sorted({y for c, y in populations if c == "42218"})
    assert years == [str(y) for y in range(2013, 2022)]
    for year in years:
        assert populations[(SAINT_ETIENNE_METROPOLE, year)] == sum(
            populations[(c["code"], year)] for c in communes)
    assert int(territories["42218"]["population"]) == populations[("42218", "2021")]
    # Rochetaillée merged into Saint-Étienne: its old code maps to today's commune
    former = rows(sem / "catalog" / "former_codes.csv")
    assert former["42190"]["commune"] == "42218"
    known = rows(sem / "catalog" / "known_codes.csv")
    assert known["69123"]["kind"] == "commune" and known["200046977"]["kind"] == "epci"
    assert "42218" not in known and "42190" not in known and "42" not in known
    cells = {c["id"]: c for c in yaml.safe_load(
        (sem / "catalog" / "cells.yaml").read_text(encoding="utf-8"))["cells"]}
    assert len(cells) == 2 * 53 + 1
    assert cells["ccas-42218"]["scope"] == ["42218"]
    assert cells["clspd-42218"]["kind"] == "clspd"
    assert cells["observatoire"]["scope"] == [SAINT_ETIENNE_METROPOLE]
    catalog = load_catalog(sem / "catalog")
    assert catalog.former_codes["42190"] == "42218"
    assert catalog.population("42218", 2016) == populations[("42218", "2016")]
    assert catalog.population("42218", 2024) == populations[("42218", "2021")]
    assert "Catalog OK" in check(sem, monkeypatch)


def test_lyon_with_its_arrondissements(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output = init(tmp_path / "lyon", METROPOLE_DE_LYON)
    territories = rows(tmp_path / "lyon" / "catalog" / "territories.csv")
    arrondissements = {c: r for c, r in territories.items() if r["kind"] == "arrondissement"}
    assert sorted(arrondissements) == [f"6938{i}" for i in range(1, 10)]
    assert {r["parent"] for r in arrondissements.values()} == {"69123"}
    assert territories["69123"]["parent"] == METROPOLE_DE_LYON
    # Lyon has no row of its own in the population file: the sum of its arrondissements
    assert int(territories["69123"]["population"]) == sum(
        int(r["population"]) for r in arrondissements.values())
    assert "9 arrondissement(s)" in output
    assert "Catalog OK" in check(tmp_path / "lyon", monkeypatch)


def test_rerun_changes_nothing_then_keeps_the_analysts_edits(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    ws = tmp_path / "ws"
    init(ws, SAINT_ETIENNE_METROPOLE, population=False)
    catalog = ws / "catalog"
    before = {p.name: p.read_bytes() for p in catalog.iterdir() if p.is_file()}
    output = init(ws, SAINT_ETIENNE_METROPOLE, population=False)
    assert {p.name: p.read_bytes() for p in catalog.iterdir() if p.is_file()} == before
    assert "0 ajouté(s), 0 mis à jour, 56 inchangé(s)" in output
    # the analyst renames a commune, adds a quartier, removes a cell and gives one members
    text = (catalog / "territories.csv").read_text(encoding="utf-8")
    text = text.replace(";commune;Saint-Étienne;", ";commune;Saint-Étienne (ville);")
    text += "Q-TARENTAIZE;quartier;Tarentaize-Beaubrun;42218;\n"
    (catalog / "territories.csv").write_text(text, encoding="utf-8")
    cells = (catalog / "cells.yaml").read_text(encoding="utf-8")
    cells = cells.replace('  - id: "ccas-42218"\n', '  # le CCAS de la ville\n'
                          '  - id: "ccas-42218"\n', 1)
    cells = cells.replace('scope: ["42218"]\n    themes: ["precarite", "emploi", '
                          '"accessibilite", "sante"]\n    members: []',
                          'scope: ["42218"]\n    themes: ["precarite", "emploi", '
                          '"accessibilite", "sante"]\n    members: [{name: Paul, '
                          'url: "mailto://paul@example.org"}]', 1)
    (catalog / "cells.yaml").write_text(cells, encoding="utf-8")
    output = init(ws, SAINT_ETIENNE_METROPOLE, "42", population=False)
    territories = rows(catalog / "territories.csv")
    assert territories["42218"]["name"] == "Saint-Étienne (ville)"
    assert territories["Q-TARENTAIZE"]["parent"] == "42218"
    assert "1 ligne(s) modifiée(s) par vous, conservées : 42218" in output
    assert len([r for r in territories.values() if r["kind"] == "commune"]) > 300
    kept = (catalog / "cells.yaml").read_text(encoding="utf-8")
    assert "# le CCAS de la ville" in kept and "mailto://paul@example.org" in kept
    assert kept.count('id: "ccas-42218"') == 1
    assert "Catalog OK" in check(ws, monkeypatch)


def test_montpellier_qpv_found_by_commune_name_and_by_code(tmp_path: Path) -> None:
    by_name = init(tmp_path / "a", MONTPELLIER_METROPOLE, population=False,
                   extra=("--qpv", str(QPV / "qp.csv")))
    assert "QPV : 12 dans l'espace de travail, 93 hors de lui" in by_name
    init(tmp_path / "b", MONTPELLIER_METROPOLE, population=False,
         extra=("--qpv", str(QPV / "qp.geojson")))
    a = rows(tmp_path / "a" / "catalog" / "territories.csv")
    b = rows(tmp_path / "b" / "catalog" / "territories.csv")
    qpv_a = {c: r["parent"] for c, r in a.items() if r["kind"] == "qpv"}
    assert qpv_a == {c: r["parent"] for c, r in b.items() if r["kind"] == "qpv"}
    assert set(qpv_a.values()) == {"34172"}  # Montpellier


def test_iris_and_quartiers_hang_below_their_commune(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    iris = tmp_path / "iris.csv"
    iris.write_text("CODE_IRIS;LIB_IRIS;TYP_IRIS;DEPCOM\n"
                    "422180101;Centre-Deux;H;42218\n422180102;Jacquard;H;42218\n"
                    "693810101;Terreaux;H;69381\n", encoding="utf-8")
    quartiers = tmp_path / "quartiers.csv"
    quartiers.write_text("code;nom;commune;iris\nQ-CENTRE;Centre;42218;422180101\n",
                         encoding="utf-8")
    output = init(tmp_path / "ws", SAINT_ETIENNE_METROPOLE, population=False,
                  extra=("--iris", str(iris), "--quartiers", str(quartiers)))
    territories = rows(tmp_path / "ws" / "catalog" / "territories.csv")
    assert territories["422180101"]["parent"] == "Q-CENTRE"
    assert territories["Q-CENTRE"]["parent"] == "42218"
    assert territories["422180102"]["parent"] == "42218"
    assert "693810101" not in territories
    assert "iris.csv : 1 iris hors de l'espace de travail" in output
    assert "Catalog OK" in check(tmp_path / "ws", monkeypatch)


def _fails(tmp_path: Path, *args: str) -> str:
    result = runner.invoke(app, ["init", "-w", str(tmp_path / "ws"), *args])
    assert result.exit_code == 2, result.output
    return " ".join(result.output.split())


def test_an_unknown_territory_is_named(tmp_path: Path) -> None:
    out = _fails(tmp_path, "-t", "99999", "-t", "244200770", "-t", "123456789",
                 "--cog", str(COG), "--epci", str(EPCI))
    assert "Territoire(s) inconnu(s) : 99999, 123456789" in out
    assert not (tmp_path / "ws" / "catalog" / "territories.csv").exists()


def test_the_wrong_file_names_the_file_and_the_missing_column(tmp_path: Path) -> None:
    out = _fails(tmp_path, "-t", "42", "--cog", str(EPCI), "--epci", str(EPCI))
    assert "epci.json" in out and "TYPECOM" in out
    out = _fails(tmp_path, "-t", "42", "--cog", str(COG), "--epci", str(COG))
    assert "v_commune_2025.csv" in out and "EPCI" in out
    out = _fails(tmp_path, "-t", "42", "--cog", str(COG), "--epci", str(EPCI),
                 "--population", str(COG))
    assert "v_commune_2025.csv" in out and "p21_pop" in out
    out = _fails(tmp_path, "-t", "42", "--cog", str(tmp_path / "absent.csv"),
                 "--epci", str(EPCI))
    assert "absent.csv" in out and "introuvable" in out


def test_a_missing_column_or_a_bad_line_is_named(tmp_path: Path) -> None:
    lines = COG.read_text(encoding="utf-8").splitlines()
    short = tmp_path / "cog_sans_parent.csv"
    short.write_text("\n".join(",".join(line.split(",")[:-1]) for line in lines[:50]),
                     encoding="utf-8")
    out = _fails(tmp_path, "-t", "42", "--cog", str(short), "--epci", str(EPCI))
    assert "cog_sans_parent.csv, ligne 1" in out and "COMPARENT" in out
    bad = tmp_path / "cog_abime.csv"
    bad.write_text("\n".join([*lines[:10], '"COM","4X218","84","42","42D","","0","X","X",'
                              '"X","",""', *lines[10:20]]), encoding="utf-8")
    out = _fails(tmp_path, "-t", "42", "--cog", str(bad), "--epci", str(EPCI))
    assert "cog_abime.csv, ligne 11" in out and "4X218" in out
