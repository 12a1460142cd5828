"""How a shift is said to people: French, plain, with the numbers a statistician needs.

One place for the phrasing used by the CLI, digests and pages, so that a shift reads the
same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from veille.model import Indicator
from veille.periods import label_fr

KIND_FR = {
    "spike": "pic ponctuel",
    "dip": "creux ponctuel",
    "level_shift": "changement de niveau durable",
    "trend_change": "inflexion de tendance",
    "gap_widening": "écart qui se creuse avec le territoire de référence",
}


def number_fr(value: float, decimals: int = 0) -> str:
    """French number formatting: thin space for thousands, decimal comma."""
    text = f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")
    return text


def signed_fr(value: float, decimals: int = 0) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "") + number_fr(abs(value), decimals)


def certainty_fr(q_value: float) -> str:
    """How sure, in words: the FDR-adjusted q-value as a plain-language level."""
    if q_value < 0.001:
        return "quasi certain (moins d'une chance sur mille d'une fausse alerte)"
    if q_value < 0.01:
        return "très probable (moins d'une chance sur cent d'une fausse alerte)"
    if q_value < 0.05:
        return "probable (moins d'une chance sur vingt d'une fausse alerte)"
    return "incertain"


def news_fr(good_news: bool | None) -> str:
    if good_news is None:
        return "évolution neutre"
    return "bonne nouvelle" if good_news else "point de vigilance"


def describe_shift(shift: Mapping[str, Any], indicator: Indicator, territory_name: str) -> str:
    """One sentence: what changed, by how much, compared with what, how sure."""
    decimals = 1 if indicator.kind.value != "count" else 0
    change = signed_fr(float(shift["abs_change"]), decimals)
    unit = indicator.people or indicator.unit
    relative = (f" ({signed_fr(100 * float(shift['rel_change']), 0)} %)"
                if shift.get("rel_change") is not None else "")
    people = ""
    if shift.get("people") is not None and indicator.kind.value == "rate":
        people = f", soit {signed_fr(float(shift['people']))} {indicator.people or 'personnes'}"
    observed, expected, low, high = (number_fr(float(shift[k]), decimals) for k in (
        "observed", "expected", "interval_low", "interval_high"))
    kind = KIND_FR.get(str(shift["kind"]), str(shift["kind"]))
    return (
        f"{indicator.label} – {territory_name}, {label_fr(str(shift['period']))} : "
        f"{kind}, {change} {unit}{relative}{people} ; observé {observed}, attendu {expected} "
        f"[{low} – {high}] ; {certainty_fr(float(shift['q_value']))} ; "
        f"{news_fr(shift.get('good_news'))}."
    )
