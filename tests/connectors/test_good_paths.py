"""Good deliveries in each format and layout become the right observations, line by line."""

from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import wide_convention, write_text

from connectors.mapping import OBSERVATION_COLUMNS, parse_delivery
from connectors.values import parse_numbers
from veille.model import Convention, FileSpec


def obs_at(parsed, indicator: str, territory: str) -> pd.Series:
    obs = parsed.observations
    rows = obs[(obs.indicator == indicator) & (obs.territory == territory)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_csv_latin1_decimal_comma_wide(tmp_path, small_catalog, may_2024):
    path = write_text(tmp_path, "caf_2024-03.csv", (
        "IRIS;Libellé;ARSA;AAAH;PERCOU;POP;TXCOUV\n"
        "422180101;Montreynaud Sud;125;12;450;1000;45,5\n"
        "422180102;Crêt de Roc;s;<5;;800;\n"
        "420950101;Bellevue; 7 ;ND;30;600;5,0\n"
        "42218;Saint-Étienne (commune);1300;200;4000;10000;40\n"
        "200000001;Agglo;2000;310;9000;30000;30\n"), encoding="latin-1")
    parsed = parse_delivery(path, wide_convention(), small_catalog, clock=may_2024)

    assert parsed.ok, [str(p) for p in parsed.problems]
    assert parsed.rows_read == 5
    obs = parsed.observations
    assert list(obs.columns) == OBSERVATION_COLUMNS
    assert len(obs) == 15
    assert set(obs.period) == {"2024-03"}
    rate = obs_at(parsed, "caf_couverture", "422180101")
    assert (rate.value, rate.numerator, rate.denominator, rate.status, rate.line) == (
        45.5, 450.0, 1000.0, "ok", 2)
    secret = obs_at(parsed, "caf_rsa", "422180102")
    assert secret.status == "secret" and math.isnan(secret.value) and secret.line == 3
    below_five = obs_at(parsed, "caf_aah", "422180102")
    assert below_five.status == "secret" and math.isnan(below_five.value)
    empty_rate = obs_at(parsed, "caf_couverture", "422180102")
    assert empty_rate.status == "secret" and empty_rate.denominator == 800.0
    assert obs_at(parsed, "caf_rsa", "420950101").value == 7.0
    assert obs_at(parsed, "caf_aah", "420950101").status == "secret"  # 'ND' ~ 'nd'
    assert obs_at(parsed, "caf_rsa", "200000001").line == 6
    assert (obs.status == "secret").sum() == 4
    assert obs.sheet.isna().all()


def test_csv_utf8_bom_crlf_title_lines_and_multiline_cell(tmp_path, small_catalog, may_2024):
    text = ("Extraction CAF\r\n\r\nSource : CAF de la Loire\r\n"
            "IRIS;Libellé;ARSA;AAAH;PERCOU;POP;TXCOUV\r\n"
            "Code IRIS;Nom;RSA;AAH;Couverts;Population;Taux\r\n"
            '422180101;"Montreynaud\r\nSud";125;12;450;1000;45,5\r\n'
            "\r\n"
            "422180102;Crêt de Roc;10;5;400;800;50\r\n")
    path = tmp_path / "caf_2024-02.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    convention = wide_convention(file={"encoding": "utf-8", "skip_rows": 3, "header_rows": 2,
                                       "header_row": 0})
    parsed = parse_delivery(path, convention, small_catalog, clock=may_2024)

    assert parsed.ok, [str(p) for p in parsed.problems]
    assert obs_at(parsed, "caf_rsa", "422180101").line == 6
    # the quoted cell spans lines 6-7, line 8 is blank: the next row is on line 9
    assert obs_at(parsed, "caf_rsa", "422180102").line == 9
    assert parsed.rows_read == 2


def test_thousands_separator_and_comma_separator(tmp_path, small_catalog, may_2024):
    path = write_text(tmp_path, "caf_2024-01.csv", (
        'IRIS,ARSA,AAAH,PERCOU,POP,TXCOUV\n'
        '422180101,"1 250","1 001","2 500","10 000","25,0"\n'), encoding="utf-8")
    convention = wide_convention(file={"encoding": "utf-8", "separator": ",", "thousands": " "},
                                 columns={"ARSA": {"indicator": "caf_rsa"},
                                          "AAAH": {"indicator": "caf_aah", "scale": 1000},
                                          "TXCOUV": {"indicator": "caf_couverture",
                                                     "numerator": "PERCOU",
                                                     "denominator": "POP"}})
    parsed = parse_delivery(path, convention, small_catalog, clock=may_2024)
    assert parsed.ok, [str(p) for p in parsed.problems]
    assert obs_at(parsed, "caf_aah", "422180101").value == 1_001_000.0  # scale applied
    rate = obs_at(parsed, "caf_couverture", "422180101")
    assert (rate.value, rate.numerator, rate.denominator) == (25.0, 2500.0, 10000.0)
    assert obs_at(parsed, "caf_rsa", "422180101").value == 1250.0


def test_xlsx_with_title_rows_two_headers_and_named_sheet(tmp_path, small_catalog, may_2024):
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active["A1"] = "see the other sheet"
    sheet = book.create_sheet("Données")
    sheet["A1"] = "Bénéficiaires CAF, mars 2024"
    sheet.append([])
    sheet.append(["IRIS", "ARSA", "AAAH", "PERCOU", "POP", "TXCOUV"])
    sheet.append(["Code", "RSA", "AAH", "Couverts", "Population", "Taux"])
    sheet.append(["422180101", 125, 12, 450, 1000, 45.5])
    sheet.append([422180102, "s", 3, 400, 800, 50])
    path = tmp_path / "caf_2024-03.xlsx"
    book.save(path)
    convention = wide_convention(file={"skip_rows": 2, "header_rows": 2, "sheet": "Données"})
    parsed = parse_delivery(path, convention, small_catalog, clock=may_2024)

    assert parsed.ok, [str(p) for p in parsed.problems]
    assert len(parsed.observations) == 6
    assert set(parsed.observations.sheet) == {"Données"}
    assert obs_at(parsed, "caf_couverture", "422180101").value == 45.5  # typed float cell
    assert obs_at(parsed, "caf_couverture", "422180101").line == 5
    assert obs_at(parsed, "caf_aah", "422180102").value == 3.0  # integer cell, code as number
    assert obs_at(parsed, "caf_rsa", "422180102").status == "secret"
    assert obs_at(parsed, "caf_rsa", "422180102").line == 6


def long_convention(**changes) -> Convention:
    raw = {
        "id": "ssmsi-test", "provider": "ssmsi", "label": "SSMSI", "periodicity": "monthly",
        "lag_days": 40, "geography": "iris", "file": {"decimal": ","}, "layout": "long",
        "territory": {"column": "commune", "zfill": 5, "codes": {"AGGLO": "200000001"}},
        "period": {"column": "mois"}, "indicator_columns": ["famille", "detail"],
        "indicator_map": {"Aides|RSA": "caf_rsa", "Aides|AAH": "caf_aah"},
        "ignore_indicators": ["Aides|Autres"], "value_column": "nombre",
        "filters": {"champ": ["France", "Métropole"]},
        "status": {"column": "statut", "secret": ["ndiff"], "provisional": ["P"]},
    }
    raw.update(changes)
    return Convention.model_validate(raw)


def test_ods_long_layout_with_filters_status_and_code_remapping(tmp_path, small_catalog,
                                                               may_2024):
    frame = pd.DataFrame(
        [["champ", "commune", "mois", "famille", "detail", "nombre", "statut"],
         ["France", "42218", "2024-03", "Aides", "RSA", "120", "diff"],
         ["France", "42095", "2024-03", "Aides", "AAH", "8", "P"],
         ["DOM", "42095", "2024-03", "Aides", "AAH", "9", "diff"],
         ["Métropole", "AGGLO", "2024-03", "Aides", "RSA", "400", "diff"],
         ["France", "42095", "2024-03", "Aides", "RSA", "", "ndiff"],
         ["France", "42095", "2024-03", "Aides", "RSA", "3", "ndiff"],
         ["France", "42218", "2024-03", "Aides", "Autres", "77", "diff"]])
    # the last-but-one row repeats 42095|RSA: use another month to keep keys distinct
    frame.iloc[6, 2] = "2024-02"
    path = tmp_path / "ssmsi.ods"
    frame.to_excel(path, engine="odf", header=False, index=False)
    parsed = parse_delivery(path, long_convention(), small_catalog, clock=may_2024)

    assert parsed.ok, [str(p) for p in parsed.problems]
    obs = parsed.observations.sort_values("line").reset_index(drop=True)
    assert list(obs.line) == [2, 3, 5, 6, 7]  # DOM filtered out, 'Autres' ignored
    assert list(obs.territory) == ["42218", "42095", "200000001", "42095", "42095"]
    assert list(obs.status) == ["ok", "provisional", "ok", "secret", "secret"]
    assert obs.value.iloc[1] == 8.0
    assert obs.value.iloc[3:].isna().all()  # a secret value is never kept, even if given
    assert list(obs.period) == ["2024-03", "2024-03", "2024-03", "2024-03", "2024-02"]


def test_period_from_a_column_in_quarters_and_fixed_value(tmp_path, small_catalog, may_2024):
    path = write_text(tmp_path, "delivery.csv", (
        "IRIS;trimestre;ARSA;AAAH;PERCOU;POP;TXCOUV\n"
        "422180101;2023-T4;1;2;3;4;5\n"
        "422180101;2024-T1;1;2;3;4;5\n"))
    catalog = small_catalog
    for code in ("caf_rsa", "caf_aah", "caf_couverture"):
        catalog.indicators[code] = catalog.indicators[code].model_copy(
            update={"periodicity": "quarterly"})
    quarterly = wide_convention(periodicity="quarterly", first_period="2023-Q1",
                                period={"column": "trimestre"})
    parsed = parse_delivery(path, quarterly, catalog, clock=may_2024)
    assert parsed.ok, [str(p) for p in parsed.problems]
    assert sorted(set(parsed.observations.period)) == ["2023-Q4", "2024-Q1"]

    fixed = wide_convention(periodicity="quarterly", first_period=None,
                            period={"value": "2024-Q1"})
    one = write_text(tmp_path, "d2.csv", "IRIS;ARSA;AAAH;PERCOU;POP;TXCOUV\n"
                     "422180101;1;2;3;4;5\n")
    assert set(parse_delivery(one, fixed, catalog, clock=may_2024).observations.period) == {
        "2024-Q1"}


@pytest.mark.parametrize(("text", "value", "status"), [
    ("12", 12.0, "ok"), ("-3,5", -3.5, "ok"), ("+4", 4.0, "ok"), ("1e3", 1000.0, "ok"),
    (" 7 ", 7.0, "ok"), ("", None, "secret"), ("S", None, "secret"), ("n. d.", None, "secret"),
    ("< 5", None, "secret"), ("<11", None, "secret"), ("<3", None, "secret"),
    ("abc", None, "bad"), ("nan", None, "bad"), ("inf", None, "bad"), ("1,2,3", None, "bad"),
])
def test_parse_numbers_markers_and_junk(text, value, status):
    parsed = parse_numbers(pd.Series([text], dtype=str), FileSpec())
    if status == "ok":
        assert parsed.values[0] == value and not parsed.secret[0] and not parsed.bad[0]
    elif status == "secret":
        assert parsed.secret[0] and math.isnan(parsed.values[0]) and not parsed.bad[0]
    else:
        assert parsed.bad[0] and not parsed.secret[0]


def test_empty_cell_is_missing_when_empty_is_not_a_secret_marker(tmp_path, small_catalog,
                                                                 may_2024):
    path = write_text(tmp_path, "caf_2024-03.csv", "IRIS;ARSA;AAAH;PERCOU;POP;TXCOUV\n"
                      "422180101;;1;1;2;50\n")
    convention = wide_convention(file={"secret_markers": ["s"]})
    parsed = parse_delivery(path, convention, small_catalog, clock=may_2024)
    assert parsed.ok
    assert obs_at(parsed, "caf_rsa", "422180101").status == "missing"


def test_parse_delivery_accepts_str_paths_of_real_files(tmp_path: Path, small_catalog, may_2024):
    path = write_text(tmp_path, "caf_2024-03.csv", "IRIS;ARSA;AAAH;PERCOU;POP;TXCOUV\n"
                      "422180101;1;1;1;2;50\n")
    parsed = parse_delivery(str(path), wide_convention(), small_catalog, clock=may_2024)
    assert parsed.ok and len(parsed.observations) == 3
