"""A subscription said in one French sentence, with its figures: what the list of a cell's
rules shows, so that a director reads back what they saved ('Alerte si « Part des
allocataires ... » dépasse 42,5 % à Ville-Une ...'), never a code."""

from __future__ import annotations

from thresholds.rules import ChangeRule, FreshnessRule, GapRule, LevelRule, ShiftRule
from thresholds.subscriptions import Subscription
from veille.catalog import Catalog
from veille.model import Severity
from veille.wording import KIND_FR, count, exact, span, unit_of

INCLUDE_FR = {"iris": "chacun de ses IRIS", "quartier": "chacun de ses quartiers",
              "qpv": "chacun de ses QPV", "commune": "chacune de ses communes",
              "epci": "chacune de ses agglomérations", "departement": "chaque département"}


def places(sub: Subscription, catalog: Catalog) -> str:
    """Where the rule looks: 'Ville-Une', 'chacun des quartiers de Ville-Une'."""
    names = ", ".join(catalog.territories[c].name if c in catalog.territories else c
                      for c in sub.scope)
    kinds = [k.value for k in sub.include]
    if not kinds:
        return f"à {names}"
    own = {catalog.territories[c].kind.value for c in sub.scope if c in catalog.territories}
    below = [INCLUDE_FR[k] for k in kinds if k not in own]
    if not below:
        return f"à {names}"
    text = f"dans {' et '.join(below)}"
    return f"à {names} et {text}" if own & set(kinds) else f"{text} ({names})"


def _label(catalog: Catalog, code: str) -> tuple[str, str]:
    ind = catalog.indicators.get(code)
    return (f"« {ind.label} »", unit_of(ind)) if ind else (f"« {code} »", "")


def rule_sentence(sub: Subscription, catalog: Catalog) -> str:
    """The whole rule, its threshold, its end of alert and its severity, in French."""
    rule, where = sub.rule, places(sub, catalog)
    if isinstance(rule, LevelRule):
        name, unit = _label(catalog, rule.indicator)
        up = rule.above is not None
        text = (f"Alerte si {name} {'dépasse' if up else 'descend sous'} "
                f"{exact(rule.level, unit)} {where}")
        if rule.leave is not None and rule.leave != rule.level:
            text += (f" ; l'alerte reste ouverte jusqu'à ce que la valeur repasse "
                     f"{'sous' if up else 'au-dessus de'} {exact(rule.leave, unit)}")
    elif isinstance(rule, ChangeRule):
        name, unit = _label(catalog, rule.indicator)
        by = exact(rule.by, "%" if rule.mode == "relative" else unit)
        ind = catalog.indicators.get(rule.indicator)
        text = (f"Alerte si {name} {'augmente' if rule.direction == 'up' else 'diminue'} de "
                f"plus de {by} en {span(rule.periods, ind.periodicity if ind else '')} "
                f"{where}")
    elif isinstance(rule, GapRule):
        name, _ = _label(catalog, rule.indicator)
        ref = {"commune": "sa commune", "parent": "son territoire parent"}.get(
            rule.reference) or catalog.territories[rule.reference].name
        text = (f"Alerte si {name} est {'au-dessus' if rule.side == 'above' else 'en dessous'}"
                f" de {ref} de plus de {exact(rule.by, 'pts')} {where}")
    elif isinstance(rule, ShiftRule):
        what = ", ".join(_label(catalog, c)[0] for c in rule.indicators) or (
            "tout indicateur des thèmes " + ", ".join(t.label_fr for t in rule.themes)
            if rule.themes else "tout indicateur")
        kinds = ", ".join(KIND_FR.get(k, k) for k in rule.kinds) or "toute évolution"
        text = (f"Alerte pour une évolution significative ({kinds}) détectée sur {what} "
                f"{where}")
        if rule.min_severity is not Severity.INFO:
            text += f", de gravité « {rule.min_severity.label_fr} » au moins"
    elif isinstance(rule, FreshnessRule):
        name, _ = _label(catalog, rule.indicator)
        text = (f"Alerte si {name} n'a pas de donnée nouvelle depuis plus de "
                f"{count(rule.max_days, 'jour')} {where}")
    severity = (sub.severity or Severity.WARNING).label_fr
    return f"{text} (niveau : {severity})."
