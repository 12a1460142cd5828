"""How numbers and shifts are said to people: French, plain, with the figures a statistician
needs. One place for the phrasing used by the CLI, alerts, digests and pages, so that a shift
reads the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from veille.model import Indicator, IndicatorKind
from veille.periods import label_fr

KIND_FR = {
    "spike": "pic ponctuel",
    "dip": "creux ponctuel",
    "level_shift": "changement de niveau durable",
    "trend_change": "inflexion de tendance",
    "gap_widening": "écart qui se creuse avec le territoire de référence",
}

NBSP = "\u202f"


def fmt(value: float | None, unit: str = "", digits: int | None = None) -> str:
    """French number: decimal comma, narrow space for thousands, unit after."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n.d."
    if digits is None:
        digits = 0 if abs(value) >= 100 or float(value).is_integer() else 1
    text = f"{value:,.{digits}f}".replace(",", NBSP).replace(".", ",")
    unit = unit.strip()
    if not unit:
        return text
    return f"{text}{NBSP}{unit}" if unit in {"%", "€", "€/m²"} else f"{text} {unit}"


def signed(value: float, unit: str = "", digits: int | None = None) -> str:
    text = fmt(abs(value), unit, digits)
    return ("+" if value > 0 else "−" if value < 0 else "") + text


def certainty(q_value: float | None) -> str:
    """How sure, in plain words (the FDR-adjusted q-value of the detection)."""
    if q_value is None:
        return ""
    if q_value < 0.001:
        return "quasi certain (moins d'une chance sur mille d'une fausse alerte)"
    if q_value < 0.01:
        return "très probable (moins d'une chance sur cent d'une fausse alerte)"
    if q_value < 0.05:
        return "probable (moins d'une chance sur vingt d'une fausse alerte)"
    return "à confirmer (signal faible)"


def news(good_news: bool | None) -> str:
    if good_news is None:
        return "évolution neutre"
    return "bonne nouvelle" if good_news else "point de vigilance"


def describe_shift(shift: Mapping[str, Any], indicator: Indicator, territory_name: str) -> str:
    """One sentence: what changed, by how much, compared with what, how sure."""
    digits = 0 if indicator.kind is IndicatorKind.COUNT else 1
    unit = indicator.people or indicator.unit
    relative = (f" ({signed(100 * float(shift['rel_change']), '%', 0)})"
                if shift.get("rel_change") is not None else "")
    people = ""
    if shift.get("people") is not None and indicator.kind is IndicatorKind.RATE:
        people = f", soit {signed(float(shift['people']), indicator.people or 'personnes', 0)}"
    observed, expected, low, high = (fmt(float(shift[k]), "", digits) for k in (
        "observed", "expected", "interval_low", "interval_high"))
    kind = KIND_FR.get(str(shift["kind"]), str(shift["kind"]))
    return (
        f"{indicator.label} – {territory_name}, {label_fr(str(shift['period']))} : "
        f"{kind}, {signed(float(shift['abs_change']), unit, digits)}{relative}{people} ; "
        f"observé {observed}, attendu {expected} [{low} – {high}] ; "
        f"{certainty(float(shift['q_value']))} ; {news(shift.get('good_news'))}."
    )
