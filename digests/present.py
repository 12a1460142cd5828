"""From alert rows to what a reader sees: grouped by territory then theme, each alert saying
what changed, by how much, compared with what, how sure, with its link and chart.

Pure: it takes rows and charts already read (and already secrecy-filtered) and returns a
view for the templates; it never reads the store, so rendering can be measured alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from veille.catalog import Catalog
from veille.clock import PARIS
from veille.model import Cell, CellKind, Severity, TerritoryKind, Theme
from veille.wording import (
    KIND_FR,
    certainty,
    count,
    during,
    exact,
    fmt,
    headline,
    signed,
    span,
    unit_of,
)

KIND_ORDER = {TerritoryKind.EPCI: 0, TerritoryKind.COMMUNE: 1, TerritoryKind.QPV: 2,
              TerritoryKind.QUARTIER: 3, TerritoryKind.IRIS: 4}
DIGEST_STATUS_FR = {"pending": "à envoyer", "empty": "rien à signaler", "sent": "envoyée",
                    "partial": "envoyée en partie", "failed": "échec de l'envoi"}
"""A message's status (``digests.send``) as its readers say it."""
SCHEDULE_FR = {"weekly": "hebdomadaire", "monthly": "mensuelle", "immediate": "immédiate"}


@dataclass
class AlertView:
    headline: str
    severity: str
    what: str
    how_much: str
    compared_with: str
    how_sure: str
    links: list[tuple[str, str]]
    chart: bytes | None = None
    status: str = "active"


@dataclass
class ThemeGroup:
    label: str
    alerts: list[AlertView]


@dataclass
class TerritoryGroup:
    name: str
    themes: list[ThemeGroup]


@dataclass
class DigestView:
    kind: str  # digest, alert, retraction
    cell_name: str
    subject: str
    intro: str
    groups: list[TerritoryGroup] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    retracted: list[tuple[str, str]] = field(default_factory=list)
    generated: str = ""
    base_url: str = ""
    map_png: bytes | None = None
    """The cell's territory with its alerts in orange (``digests.maps``), or None."""

    @property
    def alert_count(self) -> int:
        return sum(len(t.alerts) for g in self.groups for t in g.themes)


def _names(catalog: Catalog, alert: dict[str, Any]) -> tuple[str, str, str]:
    ind = catalog.indicators.get(alert["indicator"])
    territory = catalog.territories.get(alert["territory"])
    return (ind.label if ind else alert["indicator"],
            territory.name if territory else alert["territory"], unit_of(ind) if ind else "")


NEIGHBOURHOODS = {TerritoryKind.QUARTIER, TerritoryKind.QPV, TerritoryKind.IRIS}


def portrait_path(catalog: Catalog, code: str, year: str) -> str | None:
    """The site's portrait note of a territory's commune (or of the agglomeration) for
    ``year``; None where the workspace has no portrait (it is built under an EPCI)."""
    territory = catalog.territories.get(code)
    if territory is None or not year.isdigit():
        return None
    if territory.kind is TerritoryKind.EPCI:
        return f"/portrait/{year}"
    commune = catalog.commune_of(code)
    if commune is None or not any(a.kind is TerritoryKind.EPCI
                                  for a in catalog.ancestors(commune)):
        return None
    return f"/portrait/{year}/commune/{commune}"


def links_for(alert: dict[str, Any], catalog: Catalog, base_url: str,
              cell: Cell | None = None) -> list[tuple[str, str]]:
    """The pages of the site this alert's reader may open, as (text, URL): the series,
    the portrait note and, for the observatory's analysts only, the shift's review page.

    A cell's members open what their role reads (``review.scope``): a CCAS director any
    series of the commune; a CLSPD member its neighbourhoods' series and the commune note;
    analysts everything. Provider contacts have no account, so no link."""
    kind = cell.kind if cell is not None else CellKind.OBSERVATORY
    territory = catalog.territories.get(alert["territory"])
    if kind is CellKind.PROVIDER or territory is None:
        return []
    base = base_url.rstrip("/")
    out: list[tuple[str, str]] = []
    if alert["indicator"] in catalog.indicators and (
            kind is not CellKind.CLSPD or territory.kind in NEIGHBOURHOODS):
        out.append(("Voir la série", f"{base}/series/{alert['indicator']}/{territory.code}"))
    year = str((alert.get("basis") or {}).get("period") or alert.get("period") or "")[:4]
    note = portrait_path(catalog, territory.code, year)
    if note is not None and (kind is CellKind.OBSERVATORY or "/commune/" in note):
        out.append(("Portrait de la commune" if "/commune/" in note else
                    "Portrait de territoire", base + note))
    if kind is CellKind.OBSERVATORY and alert.get("shift_id"):
        out.append(("Examiner la détection", f"{base}/revue/evolution/{alert['shift_id']}"))
    return out


def explain(alert: dict[str, Any], catalog: Catalog) -> tuple[str, str, str, str]:
    """(what changed, by how much, compared with what, how sure) in plain French."""
    kind, b = alert["rule_kind"], alert["basis"] or {}
    label, place, unit = _names(catalog, alert)
    rule = b.get("rule") or {}
    what = headline(kind, b, label, place, unit)
    if kind == "level":
        above = rule.get("above") is not None
        level = rule.get("above") if above else rule.get("below")
        end = (f" ; l'alerte s'arrête quand la valeur repasse "
               f"{'sous' if above else 'au-dessus de'} {exact(rule['leave'], unit)}"
               if rule.get("leave") is not None else "")
        return (what, f"{fmt(b.get('value'), unit)} {during(b.get('period'))}",
                f"seuil fixé par la cellule : {exact(level, unit)}{end}",
                "constat direct sur les données transmises, sans estimation")
    if kind == "change":
        mode_unit = "%" if rule.get("mode") == "relative" else unit
        return (what, signed(b.get("change") or 0.0, mode_unit),
                f"{fmt(b.get('then'), unit)} {during(b.get('period_then'))} "
                f"({span(rule.get('periods'), b.get('period_then'))} plus tôt) ; seuil "
                f"{fmt(rule.get('by'), mode_unit)}",
                "constat direct sur les données transmises, sans estimation")
    if kind == "gap":
        return (what, signed(b.get("gap") or 0.0, "pts"),
                f"{b.get('reference_name') or b.get('reference')} : "
                f"{fmt(b.get('reference_value'), unit)} ; seuil {fmt(rule.get('by'), 'pts')}",
                "constat direct sur les données transmises, sans estimation")
    if kind == "shift":
        if b.get("masked"):
            how_much = "non publiable (secret statistique)"
            compared = "tendance attendue d'après l'historique de la série"
        else:
            rel = b.get("rel_change")
            step = "points" if unit == "%" else unit  # a rate moves by points, not by %
            how_much = signed(b.get("abs_change") or 0.0, step) + (
                f" ({signed(rel * 100, '%')})" if rel is not None else "")
            compared = (f"attendu : {fmt(b.get('expected'), unit)} (intervalle de "
                        f"{fmt(b.get('interval_low'))} à {fmt(b.get('interval_high'), unit)}), "
                        f"d'après {b.get('baseline')}")
        sure = certainty(b.get("q_value"))
        state = "confirmée par l'observatoire" if b.get("reviewed") else (
            "détection non encore revue par l'observatoire")
        return (what, how_much, compared,
                f"{sure} ; {KIND_FR.get(str(b.get('shift_kind')), '')} ; {state}")
    if kind == "freshness":
        return (what, f"{b.get('days')} jours sans donnée",
                f"délai toléré : {rule.get('max_days')} jours", "constat sur les livraisons")
    if kind == "overdue":
        return (what, f"{b.get('days_late')} jours de retard",
                f"échéance prévue par la convention : {b.get('due_date')}",
                "constat sur les livraisons reçues")
    if kind == "quarantine":
        problems = "; ".join(b.get("summary") or [])
        return (what, count(b.get('problem_count'), 'problème'), problems or "voir le rapport",
                "contrôle automatique du fichier ; les lignes valides n'ont pas été "
                "enregistrées à moitié")
    if kind == "failure":
        return (what, count(b.get('attempts'), 'tentative'), f"dernière erreur : {b.get('error')}",
                "journal des envois")
    return what, "", "", ""


def alert_view(alert: dict[str, Any], catalog: Catalog, base_url: str,
               chart: bytes | None = None, cell: Cell | None = None) -> AlertView:
    what, how_much, compared, sure = explain(alert, catalog)
    severity = Severity(alert["severity"]).label_fr if alert["severity"] in {
        s.value for s in Severity} else alert["severity"]
    return AlertView(headline=alert["message"], severity=severity, what=what,
                     how_much=how_much, compared_with=compared, how_sure=sure,
                     links=links_for(alert, catalog, base_url, cell), chart=chart,
                     status=alert.get("status", "active"))


def group(alerts: list[dict[str, Any]], catalog: Catalog, base_url: str,
          charts: dict[str, bytes], cell: Cell | None = None) -> list[TerritoryGroup]:
    """By territory (agglomeration, communes, then neighbourhoods), then by theme."""
    by_place: dict[str, dict[str, list[AlertView]]] = {}
    order: dict[str, tuple] = {}
    theme_order = {t.label_fr: n for n, t in enumerate(Theme)}
    for alert in alerts:
        territory = catalog.territories.get(alert["territory"])
        name = territory.name if territory else alert["territory"]
        order[name] = (KIND_ORDER.get(territory.kind, 9) if territory else 9, name)
        ind = catalog.indicators.get(alert["indicator"])
        theme = ind.theme.label_fr if ind else "Livraisons et envois"
        by_place.setdefault(name, {}).setdefault(theme, []).append(
            alert_view(alert, catalog, base_url, charts.get(alert["dedup_key"]), cell))
    return [TerritoryGroup(name, [ThemeGroup(theme, views) for theme, views in sorted(
                by_place[name].items(), key=lambda kv: theme_order.get(kv[0], 99))])
            for name in sorted(by_place, key=lambda n: order[n])]


def local_time(now: dt.datetime) -> str:
    return now.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


def digest_view(cell: Cell, kind: str, alerts: list[dict[str, Any]],
                ended: list[dict[str, Any]], catalog: Catalog, base_url: str,
                charts: dict[str, bytes], now: dt.datetime,
                map_png: bytes | None = None) -> DigestView:
    """A scheduled digest, or an immediate message (one or several alerts)."""
    groups = group(alerts, catalog, base_url, charts, cell)
    n = len(alerts)
    new = "nouvelle alerte" if n < 2 else "nouvelles alertes"
    if kind == "digest":
        subject = (f"[veille] {cell.name} – synthèse {SCHEDULE_FR[cell.schedule]} : "
                   f"{count(n, 'alerte')}")
        intro = (f"Synthèse {SCHEDULE_FR[cell.schedule]} de la cellule « {cell.name} » : "
                 f"{fmt(n)} {new}, regroupées par territoire puis par thème.")
    elif n == 1 and not ended:
        subject = f"[veille] {alerts[0]['message']}"[:290]
        intro = f"Alerte pour la cellule « {cell.name} »."
    else:
        subject = f"[veille] {cell.name} – {fmt(n)} {new}"
        intro = f"Alertes pour la cellule « {cell.name} »."
    ended_lines = [f"{a['message']} – fin d'alerte le {local_time(a['resolved_at'])}"
                   if a.get("resolved_at") else a["message"] for a in ended]
    return DigestView(kind=kind, cell_name=cell.name, subject=subject, intro=intro,
                      groups=groups, ended=ended_lines, generated=local_time(now),
                      base_url=base_url, map_png=map_png)


def retraction_view(cell: Cell, alert: dict[str, Any], catalog: Catalog, base_url: str,
                    now: dt.datetime) -> DigestView:
    """A short notice to those who were told of an alert that no longer holds."""
    label, place, _ = _names(catalog, alert)
    reason = alert.get("retraction_reason") or "les données ont été révisées"
    return DigestView(
        kind="retraction", cell_name=cell.name,
        subject=f"[veille] Rectificatif – alerte retirée : {label} – {place}"[:290],
        intro=(f"L'alerte suivante, envoyée à la cellule « {cell.name} », est retirée : "
               f"{reason}. Merci de ne plus en tenir compte."),
        retracted=[(alert["message"], reason)], generated=local_time(now), base_url=base_url)
