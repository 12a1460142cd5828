"""How numbers and shifts are said to people: French, plain, with the figures a statistician
needs. One place for the phrasing used by the CLI, alerts, digests and pages, so that a shift
reads the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from veille.model import Indicator, IndicatorKind
from veille.periods import PeriodError, Periodicity, label_fr, periodicity_of

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
    if unit in {"%", "€", "€/m²"}:
        return f"{text}{NBSP}{unit}"
    if abs(value) >= 2 and unit.isalpha() and unit[-1] not in "sxz":
        unit += "s"  # a glossary's unit written in the singular ('infraction') agrees
    return f"{text} {unit}"


def exact(value: float | None, unit: str = "") -> str:
    """A level someone set, written as they set it (100,5 stays 100,5; up to 4 decimals)."""
    if value is None:
        return fmt(value, unit)
    decimals = f"{value:.4f}".rstrip("0").split(".")[1]
    return fmt(value, unit, len(decimals))


def count(n: int | None, noun: str, plural: str | None = None) -> str:
    """'1 période', '4 périodes', '0 problème' (French: plural from 2)."""
    if n is None:
        return f"? {plural or noun + 's'}"
    return f"{fmt(n)} {noun if abs(n) < 2 else plural or noun + 's'}"


def when(period: object) -> str:
    """A period as readers write it ('décembre 2025', '2e trimestre 2024'); anything that
    is not a period label is shown as given."""
    try:
        return label_fr(str(period))
    except (PeriodError, ValueError, IndexError):
        return str(period or "")


def span(n: int | None, period: object) -> str:
    """'12 mois', '4 trimestres', '1 an': a number of periods in the series' own unit
    (``period``: a period label of the series, or its periodicity)."""
    try:
        kind = (period if isinstance(period, Periodicity) else periodicity_of(str(period))
                ).value
    except PeriodError:
        kind = ""
    noun, plural = {"monthly": ("mois", "mois"), "quarterly": ("trimestre", "trimestres"),
                    "annual": ("an", "ans")}.get(kind, ("période", "périodes"))
    return count(n, noun, plural)


def during(period: object) -> str:
    """'en mai 2025', 'au 2e trimestre 2024', 'en 2025'."""
    text = when(period)
    return f"au {text}" if "trimestre" in text else f"en {text}"


def since(period: object) -> str:
    """'depuis mai 2025', 'depuis le 2e trimestre 2024'."""
    text = when(period)
    return f"depuis le {text}" if "trimestre" in text else f"depuis {text}"


def signed(value: float, unit: str = "", digits: int | None = None) -> str:
    text = fmt(abs(value), unit, digits)
    return ("+" if value > 0 else "−" if value < 0 else "") + text


def fmt_q(q_value: float) -> str:
    """A q- or p-value in French: two significant digits, decimal comma, never an
    exponent ("0,0003", "< 0,0001")."""
    if q_value < 0.0001:
        return "< 0,0001"
    digits = max(0, 1 - math.floor(math.log10(q_value))) if q_value < 1 else 2
    text = f"{q_value:.{digits}f}".rstrip("0").rstrip(",.")
    return text.replace(".", ",")


def certainty(q_value: float | None) -> str:
    """How strong the evidence is, in plain words, with the q-value (FDR-adjusted): not a
    chance that this shift is false, which no test gives (``q_meaning`` says what it is)."""
    if q_value is None:
        return ""
    if q_value < 0.001:
        word = "preuve très forte"
    elif q_value < 0.01:
        word = "très probable"
    elif q_value < 0.05:
        word = "probable"
    else:
        return f"à confirmer (signal faible, q = {fmt_q(q_value)})"
    return f"{word} (q = {fmt_q(q_value)})"


def q_meaning(q_value: float) -> str:
    """What q means, said plainly (Benjamini-Hochberg's adjusted p-value)."""
    share = fmt(max(100 * q_value, 0.01), "%", 2 if q_value < 0.01 else 1)
    return (f"q = {fmt_q(q_value)} : si l'on retient toutes les évolutions de cette vague "
            f"dont la preuve est au moins aussi forte que celle-ci, on s'attend à ce qu'au "
            f"plus {share} d'entre elles soient de fausses alertes.")


def wave_false_alerts(n_tests: int, n_shifts: int, level: float) -> str:
    """The chance of a false alert in one wave: BH at ``level`` bounds the expected share
    of false alerts among the ``n_shifts`` reported out of ``n_tests`` series tested."""
    expected = level * n_shifts
    return (f"Dans cette vague, {fmt(n_tests)} série{'s' if n_tests > 1 else ''} "
            f"testée{'s' if n_tests > 1 else ''}, {fmt(n_shifts)} évolution"
            f"{'s' if n_shifts > 1 else ''} signalée{'s' if n_shifts > 1 else ''} au seuil "
            f"q ≤ {fmt_q(level)} : on s'attend à au plus {fmt(expected, '', 1)} fausse"
            f"{'s' if expected >= 2 else ''} alerte{'s' if expected >= 2 else ''} parmi "
            f"elles ({fmt(100 * level, '%', 0)}), sans savoir lesquelles.")


def unit_of(indicator: Indicator) -> str:
    """The unit a figure of ``indicator`` is written with: a rate's own unit (never the
    people it counts), a count's people ("foyers") or its unit unless it is the bare
    "nombre"."""
    if indicator.kind is IndicatorKind.RATE:
        return indicator.unit
    unit = indicator.people or indicator.unit
    return "" if unit.strip().lower() in {"nombre", "nb", "n"} else unit


def change_unit(indicator: Indicator) -> str:
    """The unit of a difference: points for a percentage, else the figure's unit."""
    unit = unit_of(indicator)
    return "pts" if indicator.kind is IndicatorKind.RATE and unit.strip() == "%" else unit


def news(good_news: bool | None) -> str:
    if good_news is None:
        return "évolution neutre"
    return "bonne nouvelle" if good_news else "point de vigilance"


def describe_shift(shift: Mapping[str, Any], indicator: Indicator, territory_name: str) -> str:
    """One sentence: what changed, by how much, compared with what, how sure."""
    digits = 0 if indicator.kind is IndicatorKind.COUNT else 1
    unit = change_unit(indicator)
    relative = (f" ({signed(100 * float(shift['rel_change']), '%', 0)})"
                if shift.get("rel_change") is not None else "")
    people = ""
    if shift.get("people") is not None and indicator.kind is IndicatorKind.RATE:
        people = f", soit {signed(float(shift['people']), indicator.people or 'personnes', 0)}"
    level = unit_of(indicator)
    observed, expected = (fmt(float(shift[k]), level, digits) for k in ("observed", "expected"))
    low, high = (fmt(float(shift[k]), "", digits) for k in ("interval_low", "interval_high"))
    kind = KIND_FR.get(str(shift["kind"]), str(shift["kind"]))
    return (
        f"{indicator.label} – {territory_name}, {label_fr(str(shift['period']))} : "
        f"{kind}, {signed(float(shift['abs_change']), unit, digits)}{relative}{people} ; "
        f"observé {observed}, attendu {expected} [{low} – {high}] ; "
        f"{certainty(float(shift['q_value']))} ; {news(shift.get('good_news'))}."
    )


def headline(kind: str, basis: dict[str, Any], indicator: str, territory: str,
             unit: str = "") -> str:
    """One line saying what changed, by how much and compared with what."""
    value = basis.get("value")
    period = basis.get("period", "")
    rule = basis.get("rule") or {}
    if kind == "level":
        above = rule.get("above") is not None
        level = rule.get("above") if above else rule.get("below")
        side = "au-dessus" if above else "en dessous"
        crossed = value is not None and level is not None and (
            value > level if above else value < level)
        if crossed or rule.get("leave") is None:
            return (f"{indicator} – {territory} : {fmt(value, unit)} {during(period)}, {side} "
                    f"du seuil de {exact(level, unit)}")
        back = "redescendue sous" if above else "remontée au-dessus de"
        end = "sous" if above else "au-dessus de"
        return (f"{indicator} – {territory} : {fmt(value, unit)} {during(period)} ; la "
                f"valeur est {back} le seuil de {exact(level, unit)}, mais l'alerte reste "
                f"ouverte jusqu'à ce qu'elle passe {end} {exact(rule['leave'], unit)}")
    if kind == "change":
        change = basis.get("change")
        mode_unit = "%" if rule.get("mode") == "relative" else unit
        return (f"{indicator} – {territory} : {signed(change or 0.0, mode_unit)} en "
                f"{span(rule.get('periods'), period)} ({fmt(basis.get('then'), unit)} "
                f"{during(basis.get('period_then'))}, {fmt(value, unit)} {during(period)})")
    if kind == "gap":
        ref = basis.get("reference_name") or basis.get("reference") or "la référence"
        text = (f"{indicator} – {territory} : écart de {signed(basis.get('gap') or 0.0, 'pts')} "
                f"avec {ref} {during(period)} ({fmt(value, unit)} contre "
                f"{fmt(basis.get('reference_value'), unit)})")
        if basis.get("change") is not None:
            text += (f", creusé de {signed(basis['change'], 'pts')} "
                     f"{since(basis.get('period_then'))}")
        return text
    if kind == "shift":
        way = {1: "hausse", -1: "baisse"}.get(int(basis.get("direction") or 0), "évolution")
        what = KIND_FR.get(str(basis.get("shift_kind")), str(basis.get("shift_kind")))
        text = f"{indicator} – {territory} : {way} significative {during(period)} ({what})"
        if basis.get("observed") is not None:
            text += (f" ; observé : {fmt(basis['observed'], unit)}, attendu : "
                     f"{fmt(basis.get('expected'), unit)}")
        else:
            text += ", valeurs couvertes par le secret statistique"
        return text
    if kind == "freshness":
        return (f"{indicator} – {territory} : aucune donnée {since(period)} "
                f"({basis.get('days')} jours, seuil {rule.get('max_days')} jours)")
    if kind == "overdue":
        return (f"Livraison en retard : {basis.get('convention')} – période "
                f"{when(basis.get('expected_period'))} attendue le {basis.get('due_date')} "
                f"({basis.get('days_late')} jours de retard)")
    if kind == "quarantine":
        return (f"Fichier mis en quarantaine : {basis.get('filename')} – "
                f"{count(basis.get('problem_count'), 'problème')} à corriger")
    if kind == "failure":
        return (f"Échec d'envoi : message {basis.get('message_id')} à {basis.get('recipient')} "
                f"par {basis.get('channel')} après {count(basis.get('attempts'), 'tentative')}")
    return f"{indicator} – {territory} : {kind}"
