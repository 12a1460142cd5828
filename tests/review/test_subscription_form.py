"""The threshold form's checks and the French sentences of rules and messages, without a
browser: numbers typed the French way, levels inside the indicator's range, the end of
alert on the right side, one French sentence per field, and periods written out."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import write_catalog
from review.subscription_form import FieldError, ThresholdForm, build, parse_number
from thresholds.describe import rule_sentence
from thresholds.subscriptions import Subscription
from veille.catalog import load_catalog
from veille.model import Cell
from veille.wording import count, during, span, when


@pytest.fixture
def catalog(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_catalog(write_catalog(tmp_path / "ws") / "catalog")


CELL = Cell(id="ccas-une", name="CCAS de Ville-Une", kind="ccas", scope=["99001"])


@pytest.mark.parametrize(("text", "value"), [("42,5", 42.5), ("42.5", 42.5), ("1 234,5", 1234.5),
                                             ("1\u202f234", 1234.0), (",5", 0.5), ("-3", -3.0)])
def test_numbers_typed_the_french_way(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize(("text", "says"), [("", "Indiquez un nombre"),
                                            ("1.234,5", "mêle point et virgule"),
                                            ("42,5,3", "n'est pas un nombre"),
                                            ("abc", "n'est pas un nombre")])
def test_what_is_not_a_number_is_said_in_french(text: str, says: str) -> None:
    with pytest.raises(FieldError, match=says):
        parse_number(text)


def _form(**values: str) -> ThresholdForm:
    return ThresholdForm.of({"cell": "ccas-une", "indicator": "part_rsa", "territory": "99001",
                             **values})


def test_a_decimal_comma_is_a_decimal_and_the_range_is_the_indicators(catalog) -> None:  # type: ignore[no-untyped-def]
    sub = build(_form(threshold="42,5", leave="40"), catalog, CELL, "ccas-une-00000001")
    assert sub is not None and sub.rule.above == 42.5 and sub.rule.leave == 40.0
    refused = _form(threshold="425")
    assert build(refused, catalog, CELL, "x-1") is None
    assert refused.errors == {"threshold": "« 425 » est hors de la plage de cet indicateur : "
                                           "la valeur doit être entre 0\u202f% et 100\u202f%."}
    count_form = _form(indicator="caf_rsa", threshold="425")  # a count: 425 is fine
    assert build(count_form, catalog, CELL, "x-2") is not None


def test_every_field_that_does_not_fit_gets_its_own_sentence(catalog) -> None:  # type: ignore[no-untyped-def]
    form = _form(threshold="50", leave="60", territory="99002", severity="urgent",
                 indicator="inconnu")
    assert build(form, catalog, CELL, "x-3") is None
    assert set(form.errors) == {"territory", "severity", "indicator", "leave"}
    assert form.errors["territory"] == "Ce territoire n'est pas dans le périmètre de la cellule."
    below = _form(direction="below", threshold="50", leave="40")
    assert build(below, catalog, CELL, "x-4") is None
    assert "au seuil ou au-dessus" in below.errors["leave"]
    above = _form(threshold="50", leave="60")
    assert build(above, catalog, CELL, "x-5") is None
    assert "au seuil ou en dessous" in above.errors["leave"]
    for text in (*form.errors.values(), *below.errors.values()):
        assert "pydantic" not in text and "should" not in text


def test_a_saved_rule_reads_back_filled_in_with_its_decimal_comma(catalog) -> None:  # type: ignore[no-untyped-def]
    sub = build(_form(threshold="42,5", leave="40", each_quartier="1", severity="critical",
                      label="RSA"), catalog, CELL, "ccas-une-00000002")
    assert sub is not None and [k.value for k in sub.include] == ["commune", "quartier"]
    again = ThresholdForm.from_subscription(sub).values
    assert again["threshold"] == "42,5" and again["leave"] == "40"
    assert again["each_quartier"] == "1" and again["severity"] == "critical"


def test_rules_read_as_french_sentences(catalog) -> None:  # type: ignore[no-untyped-def]
    def sentence(rule: dict, **extra: object) -> str:
        return rule_sentence(Subscription.model_validate(
            {"id": "s-1", "owner": "ccas-une", "scope": ["99001"], "rule": rule, **extra}),
            catalog)

    assert sentence({"kind": "level", "indicator": "part_rsa", "above": 42.5, "leave": 40}
                    ) == ("Alerte si « Part des allocataires au RSA » dépasse 42,5\u202f% à "
                          "Ville-Une ; l'alerte reste ouverte jusqu'à ce que la valeur "
                          "repasse sous 40\u202f% (niveau : vigilance).")
    assert sentence({"kind": "level", "indicator": "caf_rsa", "below": 10},
                    include=["quartier"], severity="info") == (
        "Alerte si « Foyers allocataires du RSA » descend sous 10 foyers dans chacun de ses "
        "quartiers (Ville-Une) (niveau : information).")
    assert "augmente de plus de 15\u202f% en 12 mois à Ville-Une" in sentence(
        {"kind": "change", "indicator": "caf_rsa", "periods": 12, "by": 15})
    assert "évolution significative (toute évolution)" in sentence(
        {"kind": "shift", "indicators": ["caf_rsa"]})


def test_periods_and_counts_are_written_out() -> None:
    assert when("2025-12") == "décembre 2025"
    assert when("2024-Q2") == "2e trimestre 2024" and when("2024-Q1") == "1er trimestre 2024"
    assert during("2024-Q2") == "au 2e trimestre 2024" and during("2025-05") == "en mai 2025"
    assert during("2025") == "en 2025"
    assert count(1, "période") == "1 période" and count(4, "période") == "4 périodes"
    assert span(12, "2025-05") == "12 mois" and span(4, "2024-Q2") == "4 trimestres"
    assert span(1, "2024") == "1 an"


def test_a_level_is_written_as_it_was_set() -> None:
    from veille.wording import exact, fmt

    assert exact(100.5, "%") == "100,5\u202f%" and fmt(100.5, "%") == "100\u202f%"
    assert exact(42.25) == "42,25" and exact(1500.0, "foyers") == "1\u202f500 foyers"
    assert fmt(739, "infraction") == "739 infractions" and fmt(1, "infraction") == "1 infraction"
