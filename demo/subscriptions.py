"""The demonstration's subscriptions: what each demo cell watches (catalog/subscriptions.yaml).

Levels are set from the fictional territory's usual values so that the demo raises a few
alerts of each kind; a CCAS only ever watches its own commune.
"""

from __future__ import annotations

import yaml

from demo.geography import EPCI_CODE, Geography
from demo.scenario import pick


def subscriptions_yaml(geo: Geography) -> str:
    """A CCAS (levels, change, gap, confirmed shifts), a CLSPD (severe shifts at once,
    others in its weekly digest) and the observatory (every detection, data freshness)."""
    qpv_si = pick(geo, "99002", True)
    subs = [
        {"id": "si-bas-revenus", "owner": "ccas-saint-imaginaire", "scope": ["99002"],
         "include": ["commune", "quartier"], "severity": "warning",
         "label": "Part des allocataires à bas revenus au-dessus de 40 %",
         "rule": {"kind": "level", "indicator": "caf_part_bas_revenus", "above": 40,
                  "leave": 38}},
        {"id": "si-jeunes-demandeurs", "owner": "ccas-saint-imaginaire", "scope": ["99002"],
         "include": ["quartier"], "severity": "warning",
         "label": "Demandeurs d'emploi de moins de 26 ans : +15 % sur un an",
         "rule": {"kind": "change", "indicator": "ft_defm_a_moins26", "periods": 4,
                  "mode": "relative", "by": 15, "leave": 10}},
        {"id": "si-ecart-dependance", "owner": "ccas-saint-imaginaire", "scope": [qpv_si],
         "severity": "info",
         "label": "Écart à la moyenne communale : dépendance aux prestations",
         "rule": {"kind": "gap", "indicator": "caf_part_dependance_50",
                  "reference": "commune", "by": 3, "leave": 2}},
        {"id": "si-precarite-confirmee", "owner": "ccas-saint-imaginaire", "scope": ["99002"],
         "label": "Évolution confirmée sur un indicateur de précarité",
         "rule": {"kind": "shift", "themes": ["precarite"]}},
        {"id": "fv-securite-grave", "owner": "clspd-fictiville", "scope": ["99001"],
         "severity": "critical", "label": "Évolution sévère de la délinquance (q < 1 %)",
         "rule": {"kind": "shift", "themes": ["securite"], "min_severity": "critical"}},
        {"id": "fv-veille-quartiers", "owner": "clspd-fictiville", "scope": ["99001"],
         "label": "Sécurité, jeunesse, scolarité : toute évolution détectée",
         "rule": {"kind": "shift", "themes": ["securite", "education", "emploi"]}},
        {"id": "fv-jeunes-demandeurs", "owner": "clspd-fictiville", "scope": ["99001"],
         "include": ["quartier"], "severity": "warning",
         "label": "Demandeurs d'emploi de moins de 26 ans : +10 % sur un an",
         "rule": {"kind": "change", "indicator": "ft_defm_a_moins26", "periods": 4,
                  "mode": "relative", "by": 10, "leave": 5}},
        {"id": "obs-toutes-evolutions", "owner": "observatoire", "scope": [EPCI_CODE],
         "label": "Toute évolution détectée (avant revue)", "rule": {"kind": "shift"}},
        {"id": "obs-fraicheur-delinquance", "owner": "observatoire", "scope": [EPCI_CODE],
         "label": "Faits constatés : aucune donnée depuis plus de 60 jours",
         "rule": {"kind": "freshness", "indicator": "pol_cambriolages", "max_days": 60}},
    ]
    return yaml.safe_dump({"subscriptions": subs}, allow_unicode=True, sort_keys=False,
                          width=100)
