"""The demonstration workspace: a valid catalog, provider files with their quirks, a story
(changes, break, late, revised and malformed deliveries) told exactly by the ground truth."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
import yaml

from demo import REFERENCE_DATE, DemoManifest, generate
from veille.catalog import Catalog, load_catalog
from veille.clock import FixedClock
from veille.model import TerritoryKind
from veille.periods import ordinal, shift


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return generate(tmp_path_factory.mktemp("demo") / "ws")


@pytest.fixture(scope="module")
def catalog(demo: DemoManifest) -> Catalog:
    return load_catalog(demo.catalog)


@pytest.fixture(scope="module")
def truth(demo: DemoManifest) -> dict:
    return yaml.safe_load(demo.ground_truth.read_text(encoding="utf-8"))


def _kinds(catalog: Catalog, kind: TerritoryKind) -> list[str]:
    return [c for c, t in catalog.territories.items() if t.kind is kind]


def test_territories_form_a_fictional_agglomeration(catalog: Catalog, demo: DemoManifest) -> None:
    (epci,) = _kinds(catalog, TerritoryKind.EPCI)
    assert re.fullmatch(r"\d{9}", epci)
    assert "démonstration" in catalog.territories[epci].name
    communes = _kinds(catalog, TerritoryKind.COMMUNE)
    assert len(communes) == 8 and all(c.startswith("99") for c in communes)
    quartiers = _kinds(catalog, TerritoryKind.QUARTIER)
    assert 25 <= len(quartiers) <= 35
    assert all(catalog.territories[q].parent in communes for q in quartiers)
    pops = [catalog.territories[q].population or 0 for q in quartiers]
    assert min(pops) >= 300 and max(pops) <= 9000
    for code in _kinds(catalog, TerritoryKind.IRIS):
        parent = catalog.territories[code].parent
        assert parent in quartiers and code[:5] == catalog.territories[parent].parent
    qpvs = _kinds(catalog, TerritoryKind.QPV)
    assert len(qpvs) >= 5
    linked = {link.parent for link in catalog.links}
    assert linked == set(qpvs)
    assert any(link.share < 1 for link in catalog.links)
    assert demo.counts["quartiers"] == len(quartiers) and demo.counts["communes"] == 8


def test_glossary_covers_six_themes_with_one_break(catalog: Catalog) -> None:
    assert len(catalog.indicators) >= 60
    assert {i.theme.value for i in catalog.indicators.values()} == {
        "precarite", "emploi", "securite", "education", "accessibilite", "sante"}
    broken = [i for i in catalog.indicators.values() if i.breaks]
    assert len(broken) == 1
    for indicator in catalog.indicators.values():
        assert indicator.people and indicator.secrecy_threshold is not None
        if indicator.kind.value == "rate":
            assert indicator.numerator in catalog.indicators
            assert indicator.denominator in catalog.indicators


def test_providers_each_keep_their_own_format(catalog: Catalog) -> None:
    assert len(catalog.providers) >= 3
    assert all(p.contact_url and p.contact_url.startswith("mailto://")
               for p in catalog.providers.values())
    shapes = {(c.file.format, c.file.encoding, c.file.separator, c.layout)
              for c in catalog.conventions.values()}
    assert len(shapes) >= 3
    assert {c.file.format for c in catalog.conventions.values()} == {"csv", "xlsx", "ods"}
    assert {c.periodicity.value for c in catalog.conventions.values()} == {
        "monthly", "quarterly", "annual"}
    kinds = {c.kind.value for c in catalog.cells.values()}
    assert kinds == {"clspd", "ccas", "observatory"}


def test_deliveries_arrive_in_file_name_order(demo: DemoManifest, catalog: Catalog) -> None:
    names = [d.file.name for d in demo.deliveries]
    assert names == sorted(names) == sorted(p.name for p in demo.inbox.iterdir())
    dates = [d.delivered_on for d in demo.deliveries]
    assert dates == sorted(dates) and dates[-1] <= REFERENCE_DATE == demo.reference_date
    for d in demo.deliveries:
        conv = catalog.convention_for_file(d.file.name)
        assert conv is not None and conv.id == d.convention
    firsts = {}
    for d in demo.deliveries:
        firsts.setdefault(d.convention, d)
    assert all(d.kind == "backfill" for d in firsts.values())
    assert 100_000 <= demo.counts["expected_observations"] <= 250_000


def test_same_seed_same_bytes(demo: DemoManifest, tmp_path: Path) -> None:
    again = generate(tmp_path / "again")
    first = {p.relative_to(demo.workspace): p.read_bytes()
             for p in demo.workspace.rglob("*") if p.is_file()}
    second = {p.relative_to(again.workspace): p.read_bytes()
              for p in again.workspace.rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []
    other = generate(tmp_path / "other", seed=7)
    assert other.deliveries[-1].file.read_bytes() != demo.deliveries[-1].file.read_bytes()


def test_ground_truth_tells_the_whole_story(truth: dict, demo: DemoManifest,
                                            catalog: Catalog) -> None:
    changes = truth["changes"]
    assert {c["kind"] for c in changes} >= {"spike", "dip", "level_shift", "trend_change"}
    assert any(c["territory_kind"] == "commune" for c in changes)
    assert any(c["small"] for c in changes)
    assert sum(c["size_sd"] >= 3 for c in changes) > len(changes) / 2
    for c in changes:
        periodicity = catalog.indicators[c["indicator"]].periodicity.value
        window = truth["periods"][periodicity]
        assert ordinal(c["first_period"]) > ordinal(window["backfill_last"])
        assert ordinal(c["first_period"]) <= ordinal(window["last"]) - 6
        assert c["territory"] in catalog.territories
        assert c["size_units"] == pytest.approx(c["size_sd"] * c["noise_sd"], rel=0.01)
    (brk,) = truth["breaks"]
    glossary_breaks = catalog.indicators[brk["indicator"]].breaks
    assert [b.period for b in glossary_breaks] == [brk["period"]]

    late = truth["late_delivery"]
    delivered = [d for d in demo.deliveries if d.convention == late["convention"]]
    assert max(d.last_period for d in delivered) == late["last_delivered_period"]
    assert late["missing_period"] == shift(late["last_delivered_period"], 1)
    assert late["due_date"] < REFERENCE_DATE.isoformat()

    order = [d.file.name for d in demo.deliveries]
    rev = truth["revision"]
    assert order.index(rev["file"]) > order.index(rev["original_file"])
    assert all(cell["delivered"] != cell["corrected"] for cell in rev["cells"])
    bad = truth["malformed"]
    assert order.index(bad["replaced_by"]) == order.index(bad["file"]) + 1
    assert {p["problem"] for p in bad["problems"]} == {"non_numeric_value",
                                                        "unknown_territory"}


def test_secret_cells_are_written_with_each_provider_marker(demo: DemoManifest) -> None:
    by_conv = {d.convention: d.file for d in demo.deliveries if d.kind == "backfill"}
    caf = by_conv["caf-allocataires"].read_text(encoding="latin-1")
    assert ";s;" in caf or caf.count(";s\r\n")
    police = by_conv["police-delinquance"].read_text(encoding="utf-8")
    assert ",,ndiff" in police
    bailleur = by_conv["bailleur-parc-social"].read_bytes()
    assert bailleur.startswith(b"\xef\xbb\xbf") and b";;" in bailleur
    import pandas as pd

    ft = pd.read_excel(by_conv["france-travail-defm"], sheet_name="DEFM", skiprows=2,
                       dtype=str)
    assert (ft["nombre"] == "<5").any()
    edu = pd.read_excel(by_conv["education-colleges"], engine="odf", dtype=str)
    assert (edu == "nd").any().any()


def test_malformed_file_has_the_announced_defects(truth: dict, demo: DemoManifest) -> None:
    bad = truth["malformed"]
    lines = (demo.inbox / bad["file"]).read_text(encoding="utf-8").splitlines()
    header = next(csv.reader([lines[0]]))
    for problem in bad["problems"]:
        row = next(csv.reader(io.StringIO(lines[problem["line"] - 1])))
        assert row[header.index(problem["column"])] == problem["value"]
    fixed = (demo.inbox / bad["replaced_by"]).read_text(encoding="utf-8")
    assert "99009" not in fixed and ",1O," not in fixed


def test_every_file_parses_as_announced(demo: DemoManifest, catalog: Catalog,
                                        truth: dict) -> None:
    from connectors.mapping import parse_delivery

    clock = FixedClock(demo.reference_time)
    parsed = {}
    for d in demo.deliveries:
        result = parse_delivery(d.file, catalog.conventions[d.convention], catalog, clock=clock)
        parsed[d.file.name] = result
        if d.kind == "malformed":
            lines = sorted(p.line for p in result.problems)
            assert lines == sorted(p["line"] for p in truth["malformed"]["problems"])
            assert any(p.kind == "unknown_territory" for p in result.problems)
        else:
            assert result.problems == [], (d.file.name, [str(p) for p in result.problems[:3]])
            assert len(result.observations) == d.observations
    assert (sum(len(p.observations) for p in parsed.values())
            == demo.counts["expected_observations"])
    rev = truth["revision"]
    for cell in rev["cells"]:
        for name, key in ((rev["original_file"], "delivered"), (rev["file"], "corrected")):
            obs = parsed[name].observations
            row = obs[(obs.indicator == cell["indicator"]) & (obs.territory == cell["territory"])]
            assert row.value.tolist() == [cell[key]]
