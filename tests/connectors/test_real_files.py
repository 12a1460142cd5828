"""Real provider files go through their conventions with the counts plain csv reading finds.

The data stays in the shared folder; conventions are in ``conventions/``; catalogs are built
here from the files themselves (territories) and from glossary entries written below.
Expected counts are computed independently with the csv module, never pasted.
"""

from __future__ import annotations

import csv

import pytest
from conftest import DATA, catalog_of, commune, indicator, iris, load_convention

from connectors.mapping import parse_delivery

DARES = DATA / "dares-defm-essonne" / "POP_CHOMAGE_DARES.csv"
MTP = DATA / "insee-duicq-montpellier-2008-2011"
CAF_IRIS = MTP / "INSEE_MTP_CAF_2009" / "INSEE_MTP_CAFiris_2009.csv"
REVENUS_IRIS = MTP / "INSEE_MTP_RevenusFisc_2011" / "INSEE_MTP_RevenusFiscIRIS_2009.csv"
AGE = "Tranche d'âge"
LOIRE = DATA / "loire-42-ssmsi-caf-filosofi-rouages" / "DERIVED_42_delinquance_long.csv"


def _is_number(text: str, decimal: str = ",") -> bool:
    try:
        float(text.strip().replace(decimal, "."))
    except ValueError:
        return False
    return True


def test_dares_job_seekers_essonne(clock):
    convention = load_convention("dares_defm_essonne.yaml")
    with DARES.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    kept = [r for r in rows if r["Type de données"] == "Brutes" and r["Catégorie"] == "ABC"
            and f"{r['Sexe']}|{r[AGE]}" in convention.indicator_map]
    value_col = "Nombre de demandeurs d'emploi"
    secret = sum(not _is_number(r[value_col]) for r in kept)
    total = sum(float(r[value_col]) for r in kept if _is_number(r[value_col]))
    quarters = {r["Date"].replace("-T", "-Q") for r in kept}
    catalog = catalog_of(
        [indicator(code, periodicity="quarterly") for code in convention.indicator_codes],
        [commune(code) for code in {r["Code commune"] for r in rows}])

    parsed = parse_delivery(DARES, convention, catalog, clock=clock)

    assert parsed.ok, [str(p) for p in parsed.problems[:5]]
    assert parsed.rows_read == len(rows)
    obs = parsed.observations
    assert len(obs) == len(kept) > 10_000
    assert (obs.status == "secret").sum() == secret
    assert obs.value.sum() == pytest.approx(total)
    assert set(obs.period) == quarters
    assert set(obs.indicator) == set(convention.indicator_codes)
    assert (obs.value % 5 == 0).all()  # DARES rounds to 5
    # line numbers point into the file: the header is line 1
    first = obs[obs.line == 2].iloc[0]
    assert (first.territory, first.period) == (rows[0]["Code commune"],
                                               rows[0]["Date"].replace("-T", "-Q"))


def _insee_rows(path, separator: str) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="latin-1", newline="") as handle:
        lines = list(csv.reader(handle, delimiter=separator))
    header, data = lines[6], [r for r in lines[8:] if any(c.strip() for c in r)]
    return header, data


def _iris_catalog(header, data, convention, kinds: dict[str, str]):
    dc, code = header.index("dc"), header.index("iris")
    territories = [commune(c) for c in {r[dc] for r in data}]
    territories += [iris(r[dc] + r[code], r[dc]) for r in data]
    return catalog_of([indicator(c, kind=kinds.get(c, "count")) for c in
                       convention.indicator_codes], territories)


def test_insee_caf_iris_montpellier_2009(clock):
    convention = load_convention("insee_caf_iris_2009.yaml")
    header, data = _insee_rows(CAF_IRIS, ",")
    catalog = _iris_catalog(header, data, convention, {})
    columns = [header.index(c) for c in convention.columns]
    secret = sum(r[i].strip() == "" for r in data for i in columns)
    arsa = sum(int(r[header.index("ARSA")]) for r in data if r[header.index("ARSA")].strip())

    parsed = parse_delivery(CAF_IRIS, convention, catalog, clock=clock)

    assert parsed.ok, [str(p) for p in parsed.problems[:5]]
    obs = parsed.observations
    assert parsed.rows_read == len(data) > 90
    assert len(obs) == len(data) * len(columns)
    assert (obs.status == "secret").sum() == secret > 0
    assert obs.value.isna().sum() == secret
    assert obs[obs.indicator == "caf_rsa"].value.sum() == arsa
    assert set(obs.period) == {"2009"}
    assert obs.line.min() == 9  # 6 title lines, 2 header rows
    assert all(len(code) == 9 for code in obs.territory)


def test_insee_revenus_iris_decimal_commas(clock):
    convention = load_convention("insee_revenus_iris_2009.yaml")
    header, data = _insee_rows(REVENUS_IRIS, ";")
    kinds = {"rfl_unites_consommation": "amount", "rfl_revenu_median_uc": "amount",
             "rfl_part_salaires": "rate"}
    catalog = _iris_catalog(header, data, convention, kinds)
    columns = [header.index(c) for c in convention.columns]
    secret = sum(r[i].strip() == "" for r in data for i in columns)
    nbuc = header.index("NbUC")
    uc_total = sum(float(r[nbuc].replace(",", ".")) for r in data if r[nbuc].strip())
    with_decimals = sum("," in r[nbuc] for r in data)

    parsed = parse_delivery(REVENUS_IRIS, convention, catalog, clock=clock)

    assert parsed.ok, [str(p) for p in parsed.problems[:5]]
    obs = parsed.observations
    assert len(obs) == len(data) * len(columns)
    assert (obs.status == "secret").sum() == secret > 0
    uc = obs[obs.indicator == "rfl_unites_consommation"]
    assert with_decimals > 50
    assert uc.value.sum() == pytest.approx(uc_total)
    non_taxed = obs[obs.indicator == "rfl_menages_non_imposables"]
    assert (non_taxed.denominator.notna()).sum() == sum(
        bool(r[header.index("NbMen")].strip()) for r in data)


def test_insee_xls_variant_gives_the_same_observations_as_the_csv(clock):
    # The provider also sent Excel 97-2003 (.xls); read through calamine, the same mapping
    # must give the same values and secret cells as the CSV of the same delivery.
    convention = load_convention("insee_caf_iris_2009.yaml")
    header, data = _insee_rows(CAF_IRIS, ",")
    catalog = _iris_catalog(header, data, convention, {})
    from_csv = parse_delivery(CAF_IRIS, convention, catalog, clock=clock)
    xls = convention.model_copy(update={
        "file": convention.file.model_copy(update={"format": None}),
        "period": convention.period.model_copy(
            update={"pattern": convention.period.pattern.replace(r"\.csv$", r"\.xls$")})})
    from_xls = parse_delivery(CAF_IRIS.with_suffix(".xls"), xls, catalog, clock=clock)
    assert from_xls.ok, [str(p) for p in from_xls.problems[:5]]
    keys = ["indicator", "territory", "period"]
    a = from_csv.observations.sort_values(keys).reset_index(drop=True)
    b = from_xls.observations.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(b) > 500
    assert (a["status"] == b["status"]).all()
    assert a["value"].fillna(-1).tolist() == b["value"].fillna(-1).tolist()


def test_ssmsi_offences_loire_long(clock):
    convention = load_convention("ssmsi_delinquance_loire.yaml")
    with LOIRE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    kept = [r for r in rows if r["indicateur"] not in convention.ignore_indicators]
    secret = sum(r["est_diffuse"] == "ndiff" for r in kept)
    published = sum(float(r["nombre"]) for r in kept if r["est_diffuse"] != "ndiff")
    catalog = catalog_of([indicator(c) for c in convention.indicator_codes],
                         [commune(c) for c in {r["code_commune"] for r in rows}])

    parsed = parse_delivery(LOIRE, convention, catalog, clock=clock)

    assert parsed.ok, [str(p) for p in parsed.problems[:5]]
    obs = parsed.observations
    assert parsed.rows_read == len(rows)
    assert len(obs) == len(kept) < len(rows)
    assert (obs.status == "secret").sum() == secret > 10_000
    assert obs.value.isna().sum() == secret  # unpublished is never zero
    assert obs.value.sum() == pytest.approx(published)
    assert sorted(set(obs.period)) == sorted({r["annee"] for r in rows})
