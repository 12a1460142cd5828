"""One test per mapping option for real files: JSON and JSON Lines, numeric secret codes,
decimal counts, several values per row in a long file, real territories outside the
workspace, normalised headers and territories given by name. Expected figures are computed
here from the files with plain json/csv reading, never pasted."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from cog import epci_members, tree
from conftest import DATA, catalog_of, indicator, load_convention

from connectors.mapping import parse_delivery
from veille.catalog import Catalog
from veille.config import ReadLimits
from veille.model import Convention

LOIRE_DIR = DATA / "loire-42-ssmsi-caf-filosofi-rouages"
REVENUS = LOIRE_DIR / "42-revenus.json"
CAF = LOIRE_DIR / "42-caf.json"
OFFENCES = LOIRE_DIR / "DERIVED_42_delinquance_long.csv"
MTP = DATA / "insee-duicq-montpellier-2008-2011"
CAF_COM = MTP / "INSEE_MTP_CAF_2009" / "INSEE_MTP_CAFcom_2009.csv"
REVENUS_COM = MTP / "INSEE_MTP_RevenusFisc_2011" / "INSEE_MTP_RevenusFiscCom_2009.csv"
SAINT_ETIENNE_METROPOLE = "244200770"


def convention(**raw: Any) -> Convention:
    base: dict[str, Any] = {"id": "test", "provider": "test", "label": "test",
                            "periodicity": "annual", "lag_days": 30, "geography": "commune"}
    return Convention.model_validate({**base, **raw})


def loire_catalog(codes: list[str], keep: set[str] | None = None) -> Catalog:
    inside, known = tree(keep=keep, departements=() if keep else ("42",))
    catalog = catalog_of([indicator(c) if not c.endswith(("_taux", "_pauvrete", "_mediane"))
                          else indicator(c, kind="rate" if "taux" in c or "pauvrete" in c
                                         else "amount", unit="‰" if "taux" in c else "")
                          for c in codes], list(inside.values()))
    catalog.known_codes = known
    return catalog


# --- JSON and JSON Lines --------------------------------------------------------------------

def test_json_records_keyed_by_commune(clock):
    """Filosofi 2023 (rouages.fr): {"c": {INSEE: [median, poverty rate | null]}}."""
    document = json.loads(REVENUS.read_text(encoding="utf-8"))["c"]
    conv = convention(file={"records": "c"}, layout="wide", territory={"column": "key"},
                      period={"value": "2023"},
                      columns={"0": {"indicator": "filosofi_mediane"},
                               "1": {"indicator": "filosofi_pauvrete"}})
    catalog = loire_catalog(["filosofi_mediane", "filosofi_pauvrete"])

    parsed = parse_delivery(REVENUS, conv, catalog, clock=clock)

    assert parsed.ok, [str(p) for p in parsed.problems[:5]]
    obs = parsed.observations.set_index(["indicator", "territory"])
    assert len(obs) == 2 * len(document) == 640
    assert obs.loc[("filosofi_mediane", "42218"), "value"] == document["42218"][0]
    unpublished = sum(v[1] is None for v in document.values())
    assert (obs.loc["filosofi_pauvrete", "status"] == "secret").sum() == unpublished > 100


def test_json_lines_rows_keep_their_line(clock, tmp_path):
    """The Loire offences as JSON Lines (one record a line, made here from the CSV): every
    row read; a bad value is reported on its line in the file."""
    with OFFENCES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))[:3000]
    rows[1233]["nombre"] = "beaucoup"
    path = tmp_path / "delinquance.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                    encoding="utf-8")
    conv = load_convention("ssmsi_delinquance_loire.yaml").model_copy(
        update={"file": convention(file={"format": "jsonl"}, layout="wide",
                                   territory={"column": "x"}, period={"value": "2020"},
                                   columns={"x": {"indicator": "x"}}).file})
    catalog = loire_catalog(conv.indicator_codes)

    parsed = parse_delivery(path, conv, catalog, clock=clock)

    assert parsed.rows_read == 3000
    assert [(p.line, p.column, p.value) for p in parsed.problems] == [
        (1234, "nombre", "beaucoup")]


@pytest.mark.parametrize("document, limits, found", [
    ("[" * 100 + "]" * 100, ReadLimits(), "65 levels"),
    (json.dumps([{"a": i} for i in range(50)]), ReadLimits(max_records=10), "50 records"),
    (json.dumps([{f"f{i}": 1 for i in range(30)}]), ReadLimits(max_columns=20), "30 fields"),
])
def test_hostile_json_is_refused_by_the_read_limits(clock, tmp_path, document, limits, found):
    path = tmp_path / "hostile.json"
    path.write_text(document, encoding="utf-8")
    conv = convention(layout="wide", territory={"column": "a"}, period={"value": "2020"},
                      columns={"b": {"indicator": "xx"}})

    parsed = parse_delivery(path, conv, loire_catalog(["xx"]), clock=clock, limits=limits)

    assert [(p.kind, p.value) for p in parsed.problems] == [("too_large", found)]
    assert "read_limits in veille.yaml" in parsed.problems[0].expected


# --- numeric secret codes, decimal counts -------------------------------------------------

def test_numeric_secret_code_zero(clock):
    """CNAF counts are rounded to 5 and a 0 stands for a cell under the threshold: with
    ``secret_numbers: [0]`` a 0 is secret (no value), never a zero."""
    document = json.loads(CAF.read_text(encoding="utf-8"))["c"]
    zeros = sum(v[0][4][2] == 0 for v in document.values())
    conv = convention(file={"records": "c", "secret_numbers": [0]}, layout="wide",
                      territory={"column": "key"}, period={"value": "2024"},
                      columns={"0.4.2": {"indicator": "caf_foyers_rsa"}})

    parsed = parse_delivery(CAF, conv, loire_catalog(["caf_foyers_rsa"]), clock=clock)

    assert parsed.ok, [str(p) for p in parsed.problems[:5]]
    obs = parsed.observations
    assert (obs.status == "secret").sum() == zeros > 20
    assert not (obs.value == 0).any()


def _revenus_convention(**extra: Any) -> Convention:
    return convention(file={"encoding": "latin-1", "separator": ";", "decimal": ",",
                            "skip_rows": 6, "header_rows": 2, "secret_markers": [""]},
                      layout="wide", territory={"column": "dc"}, period={"value": "2009"},
                      columns={"NbPers": {"indicator": "dgfip_personnes"}}, **extra)


def _revenus_catalog() -> tuple[Catalog, dict[str, float]]:
    with REVENUS_COM.open(encoding="latin-1", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))[8:]
    persons = {r[2]: float(r[6].replace(",", ".")) for r in rows if len(r) > 6 and r[6]}
    inside, _ = tree(keep=set(persons))
    return catalog_of([indicator("dgfip_personnes")], list(inside.values())), persons


def test_decimal_counts_refused_by_default_kept_or_rounded_on_demand(clock):
    """Persons in fiscal households (DGFiP via INSEE) are weighted counts: '5020,5'."""
    catalog, persons = _revenus_catalog()
    fractional = {c for c, v in persons.items() if not v.is_integer()}
    assert fractional

    refused = parse_delivery(REVENUS_COM, _revenus_convention(), catalog, clock=clock)
    kept = parse_delivery(REVENUS_COM, _revenus_convention(fractional_counts="keep"),
                          catalog, clock=clock)
    rounded = parse_delivery(REVENUS_COM, _revenus_convention(fractional_counts="round"),
                             catalog, clock=clock)

    assert {p.kind for p in refused.problems} == {"not_integer"}
    assert len(refused.problems) == len(fractional)
    assert "fractional_counts" in refused.problems[0].expected
    assert kept.ok and rounded.ok
    by_code = kept.observations.set_index("territory")["value"].to_dict()
    assert {c: by_code[c] for c in persons} == persons
    half_up = {c: float(int(v + 0.5)) for c, v in persons.items()}
    assert rounded.observations.set_index("territory")["value"].to_dict() == half_up
    assert any("arrondi" in n for n in rounded.notes)


# --- long layout with several values a row -----------------------------------------------

def test_long_layout_with_a_count_and_a_rate_per_row(clock):
    """SSMSI rows carry the count and, for 2025, the rate per 1,000: both are read."""
    base = load_convention("ssmsi_delinquance_loire.yaml")
    label = "Vols de véhicule"
    conv = base.model_copy(update={
        "indicator_map": {label: {"nombre": "vols_vehicules",
                                  "taux_pour_mille_derniere_annee": "vols_vehicules_taux"}},
        "ignore_indicators": [k for k in base.indicator_map if k != label]
        + base.ignore_indicators,
        "value_column": None,
        "file": base.file.model_copy(update={"secret_markers": []})})
    conv = Convention.model_validate(conv.model_dump())
    with OFFENCES.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter=";") if r["indicateur"] == label]
    rates = {r["code_commune"]: float(r["taux_pour_mille_derniere_annee"].replace(",", "."))
             for r in rows if r["annee"] == "2025" and r["taux_pour_mille_derniere_annee"]}

    parsed = parse_delivery(OFFENCES, conv, loire_catalog(conv.indicator_codes), clock=clock)

    assert parsed.ok, [str(p) for p in parsed.problems[:5]]
    obs = parsed.observations
    counts = obs[obs.indicator == "vols_vehicules"]
    taux = obs[(obs.indicator == "vols_vehicules_taux") & (obs.status == "ok")]
    assert len(counts) == len(rows)
    assert taux.set_index("territory")["value"].to_dict() == pytest.approx(rates)
    assert set(taux.period) == {"2025"}


# --- territories outside the workspace, headers ----------------------------------------

def test_department_wide_file_into_one_epci_skips_and_counts_the_outside_rows(clock):
    members = epci_members(SAINT_ETIENNE_METROPOLE)
    conv = load_convention("ssmsi_delinquance_loire.yaml")
    catalog = loire_catalog(conv.indicator_codes, keep=members)
    with OFFENCES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    outside = [r for r in rows if r["code_commune"] not in members]

    parsed = parse_delivery(OFFENCES, conv, catalog, clock=clock)

    assert parsed.ok, [str(p) for p in parsed.problems[:5]]
    assert len(members) == 53
    assert set(parsed.observations.territory) <= members
    assert parsed.skipped_rows == len(outside) > 30_000
    assert f"{len(outside)} ligne(s) ignorée(s)" in parsed.notes[0]
    assert "267 territoire(s)" in parsed.notes[0]


def test_a_code_that_exists_nowhere_still_quarantines(clock, tmp_path):
    members = epci_members(SAINT_ETIENNE_METROPOLE)
    conv = load_convention("ssmsi_delinquance_loire.yaml")
    text = OFFENCES.read_text(encoding="utf-8")
    path = tmp_path / "delinquance_long.csv"
    path.write_text(text + "42999;2020;Vols de véhicule;Véhicule;3;diff;\n", encoding="utf-8")

    parsed = parse_delivery(path, conv, loire_catalog(conv.indicator_codes, keep=members),
                            clock=clock)

    assert [(p.kind, p.value) for p in parsed.problems] == [("unknown_territory", "42999")]


def test_headers_matched_after_trimming_case_and_accents(clock, tmp_path):
    conv = load_convention("ssmsi_delinquance_loire.yaml")
    lines = OFFENCES.read_text(encoding="utf-8").split("\n")
    lines[0] = lines[0].replace("code_commune", "Code_Commune ").replace("annee", "Année")
    path = tmp_path / "delinquance_long.csv"
    path.write_text("\n".join(lines), encoding="utf-8")

    parsed = parse_delivery(path, conv, loire_catalog(conv.indicator_codes), clock=clock)

    assert parsed.ok, [str(p) for p in parsed.problems[:5]]
    assert len(parsed.observations) > 40_000
    assert sorted(n.split(" / ")[1] for n in parsed.notes) == [
        "file column 'Année' read as 'annee' (header normalised)",
        "file column 'Code_Commune' read as 'code_commune' (header normalised)"]


# --- territories by name ---------------------------------------------------------------

def _names_convention(codes: dict[str, str] | None = None) -> Convention:
    return convention(file={"encoding": "latin-1", "separator": ",", "skip_rows": 6,
                            "header_rows": 2},
                      layout="wide", territory={"column": "nom", "match": "name",
                                                "codes": codes or {}},
                      period={"value": "2009"}, columns={"A": {"indicator": "caf_allocataires"}})


def _names_file(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The real Montpellier CAF file, plus one row named 'Saint-Brès' (a commune of the
    Hérault and one of the Gard)."""
    text = CAF_COM.read_text(encoding="latin-1")
    rows = list(csv.reader(text.splitlines()[8:]))
    by_name = {r[3]: r[2] for r in rows if len(r) > 5 and r[3]}
    path = tmp_path / "INSEE_MTP_CAFcom_2009.csv"
    path.write_text(text + '"91","34701","34244","Saint-Brès",0,300' + "," * 15 + "\n",
                    encoding="latin-1")
    return path, by_name


def test_territories_by_name_list_the_ambiguous_and_the_unmatched(clock, tmp_path):
    path, by_name = _names_file(tmp_path)
    inside, known = tree(departements=("34", "30"))
    catalog = catalog_of([indicator("caf_allocataires")], list(inside.values()))
    catalog.known_codes = known

    parsed = parse_delivery(path, _names_convention(), catalog, clock=clock)

    found = {(p.kind, p.value): p.expected for p in parsed.problems}
    assert set(found) == {("unknown_territory", "Saint-Clément-de-Rivièr"),
                          ("ambiguous_territory", "Saint-Brès")}
    assert "30237 Saint-Brès" in found[("ambiguous_territory", "Saint-Brès")]
    assert "34244 Saint-Brès" in found[("ambiguous_territory", "Saint-Brès")]

    fixed = parse_delivery(path, _names_convention({"Saint-Clément-de-Rivièr": "34247",
                                                    "Saint-Brès": "34244"}), catalog,
                           clock=clock)

    assert fixed.ok, [str(p) for p in fixed.problems]
    got = fixed.observations.set_index("territory")["value"]
    assert set(got.index) == set(by_name.values()) | {"34244"}
    assert got["34090"] == 1130  # 'Le Crès', matched whatever its article and accent
