"""French wording of alerts, shared by the alert events and the digests.

Only values present in an alert's basis are written; the basis never holds a value that
secrecy masks (the router leaves them out), so nothing here can leak one.
"""

from __future__ import annotations

from typing import Any

from veille.wording import KIND_FR, certainty, fmt, signed

__all__ = ["KIND_FR", "certainty", "fmt", "headline", "signed"]


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
            return (f"{indicator} – {territory} : {fmt(value, unit)} en {period}, {side} du "
                    f"seuil de {fmt(level, unit)}")
        return (f"{indicator} – {territory} : {fmt(value, unit)} en {period}, repassé "
                f"{'sous le' if above else 'au-dessus du'} seuil de {fmt(level, unit)} mais pas "
                f"encore {'sous' if above else 'au-dessus de'} {fmt(rule['leave'], unit)} "
                f"(fin d'alerte)")
    if kind == "change":
        change = basis.get("change")
        mode_unit = "%" if rule.get("mode") == "relative" else unit
        return (f"{indicator} – {territory} : {signed(change or 0.0, mode_unit)} en "
                f"{rule.get('periods')} période(s) ({fmt(basis.get('then'), unit)} en "
                f"{basis.get('period_then')}, {fmt(value, unit)} en {period})")
    if kind == "gap":
        ref = basis.get("reference_name") or basis.get("reference") or "la référence"
        text = (f"{indicator} – {territory} : écart de {signed(basis.get('gap') or 0.0, 'pts')} "
                f"avec {ref} en {period} ({fmt(value, unit)} contre "
                f"{fmt(basis.get('reference_value'), unit)})")
        if basis.get("change") is not None:
            text += (f", creusé de {signed(basis['change'], 'pts')} depuis "
                     f"{basis.get('period_then')}")
        return text
    if kind == "shift":
        way = {1: "hausse", -1: "baisse"}.get(int(basis.get("direction") or 0), "évolution")
        what = KIND_FR.get(str(basis.get("shift_kind")), str(basis.get("shift_kind")))
        text = f"{indicator} – {territory} : {way} significative en {period} ({what})"
        if basis.get("observed") is not None:
            text += (f", {fmt(basis['observed'], unit)} observé contre "
                     f"{fmt(basis.get('expected'), unit)} attendu")
        else:
            text += ", valeurs couvertes par le secret statistique"
        return text
    if kind == "freshness":
        return (f"{indicator} – {territory} : aucune donnée depuis {period} "
                f"({basis.get('days')} jours, seuil {rule.get('max_days')} jours)")
    if kind == "overdue":
        return (f"Livraison en retard : {basis.get('convention')} – période "
                f"{basis.get('expected_period')} attendue le {basis.get('due_date')} "
                f"({basis.get('days_late')} jours de retard)")
    if kind == "quarantine":
        return (f"Fichier mis en quarantaine : {basis.get('filename')} – "
                f"{basis.get('problem_count')} problème(s) à corriger")
    if kind == "failure":
        return (f"Échec d'envoi : message {basis.get('message_id')} à {basis.get('recipient')} "
                f"par {basis.get('channel')} après {basis.get('attempts')} tentative(s)")
    return f"{indicator} – {territory} : {kind}"
