"""What happens in the demonstration's story: the changes injected into the waves, the revised
file, the malformed file, the late provider, the delivery calendar and the watch cells.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import yaml

from demo.geography import EPCI_CODE, Geography
from demo.history import Change
from demo.providers import CONVENTIONS, Conv
from veille.periods import end_date, shift

REFERENCE_DATE = dt.date(2026, 3, 12)
BACKFILL_END = {"monthly": "2023-12", "quarterly": "2023-Q4", "annual": "2022"}
LAST_DELIVERED = {"monthly": "2025-12", "quarterly": "2025-Q4", "annual": "2024"}

LATE_CONVENTION = "police-delinquance"
REVISION: dict[str, Any] = {
    "convention": "caf-allocataires", "period": "2024-04", "indicator": "caf_aides_logement",
    "understatement": 0.5, "delay_days": 65}
MALFORMED: dict[str, Any] = {
    "convention": "police-delinquance", "period": "2025-05", "bad_value": "1O",
    "bad_class": "Vols sans violence contre des personnes",
    "unknown_code": "99009", "unknown_name": "Rêveville", "correction_days": 4}


def pick(geo: Geography, commune: str, qpv: bool, rank: int = 0) -> str:
    """The rank-th most populous (QPV or not) quartier of a commune: stable across seeds."""
    pool = sorted((q for q in geo.quartiers if q.commune == commune and bool(q.qpv) == qpv),
                  key=lambda q: (-q.population, q.code))
    return pool[min(rank, len(pool) - 1)].code


def changes(geo: Geography) -> list[Change]:
    """Known changes, all starting at least six periods before the end of the waves."""
    return [
        Change("c01", "caf_rsa", pick(geo, "99001", True), "level_shift", "2024-09", 4.5),
        Change("c02", "pol_cambriolages", pick(geo, "99002", True), "level_shift", "2024-06",
               4.0),
        Change("c03", "pol_degradations", pick(geo, "99001", True, 1), "spike", "2025-02", 6.0),
        Change("c04", "caf_aides_logement", pick(geo, "99004", True), "dip", "2025-01", 5.0,
               direction=-1),
        Change("c05", "caf_prime_activite", pick(geo, "99003", True), "trend_change",
               "2024-06", 4.0),
        Change("c06", "ft_defm_a_moins26", pick(geo, "99001", True, 1), "trend_change",
               "2024-Q2", 4.0),
        Change("c07", "ft_defm_abc_50plus", pick(geo, "99006", True), "level_shift", "2024-Q2",
               4.0, direction=-1),
        Change("c08", "pol_vols_vehicules", "99002", "level_shift", "2024-10", 4.0),
        Change("c09", "caf_familles_monoparentales", pick(geo, "99007", False), "level_shift",
               "2024-05", 2.0, small=True),
        Change("c10", "pol_coups_blessures", pick(geo, "99001", True), "spike", "2025-04", 2.5,
               small=True),
        Change("c11", "caf_dependance_100", pick(geo, "99002", True, 1), "level_shift",
               "2025-03", 3.5, direction=-1),
    ]


@dataclass(frozen=True)
class Planned:
    """A file to write: which convention, which periods, when it arrives, and why."""

    conv: Conv
    periods: list[str]
    delivered_on: dt.date
    kind: str  # backfill, wave, revision, malformed, correction
    suffix: str | None = None


def calendar(periods: dict[str, list[str]], jitter: dict[str, list[int]]) -> list[Planned]:
    """Every delivery in arrival order: a backfill per convention, then one file per period."""
    plan: list[Planned] = []
    for conv in CONVENTIONS:
        series = periods[conv.periodicity]
        cut = series.index(BACKFILL_END[conv.periodicity]) + 1
        backfill, waves = series[:cut], series[cut:]
        due = end_date(backfill[-1]) + dt.timedelta(days=conv.lag_days)
        plan.append(Planned(conv, backfill, due, "backfill"))
        for n, period in enumerate(waves):
            on = end_date(period) + dt.timedelta(days=conv.lag_days - jitter[conv.id][n])
            if conv.id == MALFORMED["convention"] and period == MALFORMED["period"]:
                plan.append(Planned(conv, [period], on, "malformed"))
                later = on + dt.timedelta(days=int(MALFORMED["correction_days"]))
                plan.append(Planned(conv, [period], later, "correction", "v2"))
                continue
            plan.append(Planned(conv, [period], on, "wave"))
            if conv.id == REVISION["convention"] and period == REVISION["period"]:
                later = on + dt.timedelta(days=int(REVISION["delay_days"]))
                plan.append(Planned(conv, [period], later, "revision", "rectificatif"))
    order = {c.id: n for n, c in enumerate(CONVENTIONS)}
    plan.sort(key=lambda p: (p.delivered_on, order[p.conv.id], p.kind == "revision"))
    assert all(p.delivered_on <= REFERENCE_DATE for p in plan)
    return plan


def late_delivery() -> dict[str, Any]:
    """The convention whose last expected file has not arrived on the reference date."""
    conv = next(c for c in CONVENTIONS if c.id == LATE_CONVENTION)
    missing = shift(LAST_DELIVERED[conv.periodicity], 1)
    due = end_date(missing) + dt.timedelta(days=conv.lag_days)
    assert due < REFERENCE_DATE
    return {"convention": conv.id, "provider": conv.provider,
            "last_delivered_period": LAST_DELIVERED[conv.periodicity],
            "missing_period": missing, "due_date": due.isoformat(),
            "days_overdue_at_reference": (REFERENCE_DATE - due).days}


def cells_yaml(geo: Geography) -> str:
    """Two communal cells (a CLSPD, a CCAS) and the observatory's own cell."""
    communes = dict(geo.communes)
    cells = [
        {"id": "clspd-fictiville", "name": f"Cellule de veille du CLSPD de {communes['99001']}",
         "kind": "clspd", "scope": ["99001"], "themes": ["securite", "education", "emploi"],
         "members": [
             {"name": "Jeanne Martin, coordinatrice CLSPD",
              "url": "mailto://jeanne.martin@fictiville.example"},
             {"name": "Karim Benali, chef de la police municipale",
              "url": "mailto://karim.benali@fictiville.example"},
             {"name": "Sophie Leroy, principale du collège Jean-Moulin",
              "url": "mailto://sophie.leroy@college-fictiville.example"}],
         "schedule": "weekly", "reviewed_only": False},
        {"id": "ccas-saint-imaginaire", "name": f"CCAS de {communes['99002']}",
         "kind": "ccas", "scope": ["99002"],
         "themes": ["precarite", "emploi", "accessibilite", "sante"],
         "members": [
             {"name": "Paul Girard, directeur du CCAS",
              "url": "mailto://paul.girard@saint-imaginaire.example"},
             {"name": "Amina Diallo, conseillère en économie sociale et familiale",
              "url": "mailto://amina.diallo@saint-imaginaire.example"}],
         "schedule": "monthly", "reviewed_only": True},
        {"id": "observatoire", "name": "Observatoire social du Val-Fictif",
         "kind": "observatory", "scope": [EPCI_CODE],
         "themes": ["precarite", "emploi", "securite", "education", "accessibilite", "sante"],
         "members": [
             {"name": "Claire Fontaine, chargée d'études",
              "url": "mailto://claire.fontaine@val-fictif.example"},
             {"name": "Observatoire (boîte partagée)",
              "url": "mailto://observatoire@val-fictif.example"}],
         "schedule": "immediate", "reviewed_only": False},
    ]
    return yaml.safe_dump({"cells": cells}, allow_unicode=True, sort_keys=False, width=100)
