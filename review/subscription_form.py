"""The threshold form of a CCAS director: what they typed, checked field by field in
French (a decimal comma, a level inside the indicator's range, an end of alert on the
right side of the threshold), turned into a ``Subscription`` under an id the server draws,
and previewed against the latest published values.

Every error is a sentence keyed by its field, so the page shows it beside the field; no
validator text reaches the page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from portrait.published import Published
from thresholds.rules import LevelRule, next_state
from thresholds.subscriptions import Subscription, targets
from veille.catalog import Catalog
from veille.model import Cell, Indicator, IndicatorKind, Severity, TerritoryKind
from veille.wording import during, exact, fmt, unit_of

FIELDS = ("cell", "kind", "indicator", "territory", "each_quartier", "direction",
          "threshold", "leave", "severity", "label")
DEFAULTS = {"kind": "level", "direction": "above", "severity": Severity.WARNING.value}
NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


class FieldError(ValueError):
    """A value a person typed that does not fit; the message is the French sentence."""


@dataclass
class ThresholdForm:
    """The form's fields as typed (strings), and what checking them found."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, data: Mapping[str, str]) -> ThresholdForm:
        values = {k: str(data.get(k) or "").strip() for k in FIELDS}
        for name, default in DEFAULTS.items():
            values[name] = values[name] or default
        return cls(values)

    @classmethod
    def from_subscription(cls, sub: Subscription) -> ThresholdForm:
        rule = sub.rule
        values = {"cell": sub.owner, "kind": rule.kind, "territory": sub.scope[0],
                  "each_quartier": "1" if TerritoryKind.QUARTIER in sub.include else "",
                  "severity": (sub.severity or Severity.WARNING).value,
                  "label": sub.label or "", "indicator": sub.indicators[0] if
                  sub.indicators else "", "direction": "above", "threshold": "", "leave": ""}
        if isinstance(rule, LevelRule):
            values.update(direction="above" if rule.above is not None else "below",
                          threshold=exact(rule.level).replace("\u202f", ""),
                          leave="" if rule.leave is None else
                          exact(rule.leave).replace("\u202f", ""))
        return cls(values)


def parse_number(text: str) -> float:
    """'42,5', '42.5', '1 234,5' -> a float; anything else is refused in French."""
    compact = re.sub(r"[\s\u00a0\u202f]", "", text)
    if not compact:
        raise FieldError("Indiquez un nombre.")
    if "," in compact and "." in compact:
        raise FieldError(f"« {text} » mêle point et virgule : écrivez par exemple 1234,5.")
    if not NUMBER.match(compact):
        raise FieldError(f"« {text} » n'est pas un nombre : écrivez par exemple 42,5.")
    return float(compact.replace(",", "."))


def bounds_text(ind: Indicator) -> str:
    """The indicator's range in words; a count's plausibility bound (a billion) is no
    range a person thinks in, so a count without a glossary maximum reads 'positive'."""
    low, unit = ind.minimum, unit_of(ind)
    if ind.maximum is None and ind.kind is not IndicatorKind.RATE:
        return "positive ou nulle" if low == 0 else (
            "quelconque" if low is None else f"au moins {fmt(low, unit)}")
    if low is None:
        return f"au plus {fmt(ind.upper_bound, unit)}"
    return f"entre {fmt(low, unit)} et {fmt(ind.upper_bound, unit)}"


def _in_range(ind: Indicator, value: float) -> bool:
    return (ind.minimum is None or value >= ind.minimum) and value <= ind.upper_bound


def check(form: ThresholdForm, catalog: Catalog, cell: Cell) -> dict:
    """The rule the form describes (a dict for ``Subscription.rule``), filling
    ``form.errors`` with one French sentence per field that does not fit."""
    v, errors = form.values, form.errors
    ind = catalog.indicators.get(v["indicator"])
    if ind is None:
        errors["indicator"] = "Choisissez un indicateur dans la liste."
    elif cell.themes and ind.theme not in cell.themes:
        errors["indicator"] = (f"« {ind.label} » n'est pas dans les thèmes de la cellule "
                               f"({', '.join(t.label_fr for t in cell.themes)}).")
    code = v["territory"]
    if code not in catalog.territories:
        errors["territory"] = "Choisissez un territoire dans la liste."
    elif not catalog.within(cell.scope, code):
        errors["territory"] = "Ce territoire n'est pas dans le périmètre de la cellule."
    if v["severity"] not in {s.value for s in Severity}:
        errors["severity"] = "Choisissez un niveau : information, vigilance ou alerte."
    if len(v["label"]) > 200:
        errors["label"] = "Le nom tient en 200 caractères au plus."
    if v["kind"] == "shift":
        return {"kind": "shift", "indicators": [v["indicator"]]}
    if v["kind"] != "level":
        errors["kind"] = "Choisissez le type de règle dans la liste."
    if v["direction"] not in ("above", "below"):
        errors["direction"] = "Choisissez « au-dessus de » ou « en dessous de »."
    above = v["direction"] != "below"
    level = _number(form, "threshold", ind, required=True)
    leave = _number(form, "leave", ind, required=False)
    if level is not None and leave is not None and "leave" not in errors:
        unit = unit_of(ind) if ind else ""
        if above and leave > level:
            errors["leave"] = (f"La fin d'alerte ne peut pas dépasser le seuil "
                               f"({exact(level, unit)}) : elle se place au seuil ou en dessous.")
        elif not above and leave < level:
            errors["leave"] = (f"La fin d'alerte ne peut pas être sous le seuil "
                               f"({exact(level, unit)}) : elle se place au seuil ou au-dessus.")
    rule: dict = {"kind": "level", "indicator": v["indicator"],
                  ("above" if above else "below"): level}
    if leave is not None:
        rule["leave"] = leave
    return rule


def _number(form: ThresholdForm, name: str, ind: Indicator | None,
            required: bool) -> float | None:
    text = form.values[name]
    if not text and not required:
        return None
    try:
        value = parse_number(text)
    except FieldError as exc:
        form.errors[name] = ("Indiquez le seuil (un nombre, par exemple 42,5)." if not text
                             else str(exc))
        return None
    if ind is not None and not _in_range(ind, value):
        form.errors[name] = (f"« {text} » est hors de la plage de cet indicateur : la "
                             f"valeur doit être {bounds_text(ind)}.")
        return None
    return value


def build(form: ThresholdForm, catalog: Catalog, cell: Cell, sub_id: str,
          ) -> Subscription | None:
    """The subscription the form describes, or None with ``form.errors`` filled."""
    rule = check(form, catalog, cell)
    if form.errors:
        return None
    territory = catalog.territories[form.values["territory"]]
    include: list[str] = []
    if form.values["each_quartier"] and territory.kind is TerritoryKind.COMMUNE:
        include = [territory.kind.value, TerritoryKind.QUARTIER.value]
    return Subscription.model_validate({
        "id": sub_id, "owner": cell.id, "scope": [territory.code], "include": include,
        "rule": rule, "severity": form.values["severity"],
        "label": form.values["label"] or None})


@dataclass
class PreviewLine:
    territory: str
    value: str
    alerts: bool


def preview(sub: Subscription, catalog: Catalog, values: Published) -> list[PreviewLine]:
    """With the latest published value of each territory the rule watches: would it alert?
    (a masked or missing value is said so, never shown)."""
    rule = sub.rule
    if not isinstance(rule, LevelRule):
        return []
    ind = catalog.indicators[rule.indicator]
    enter, leave = rule.levels()
    out = []
    for code in targets(sub, catalog):
        points = values.points(ind.code, code)
        latest = next(((p, x) for p, x in reversed(sorted(points.items())) if x is not None), None)
        name = catalog.territories[code].name
        if latest is None:
            out.append(PreviewLine(name, "aucune valeur publiable", False))
            continue
        period, value = latest
        on = next_state(False, rule.sign * value, enter, leave)
        out.append(PreviewLine(name, f"{fmt(value, unit_of(ind))} {during(period)}", on))
    return out
