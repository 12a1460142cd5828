"""Providers and conventions of the demonstration: each provider keeps its own file layout and
quirks for years, as real ones do, and the convention says how to read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from demo.glossary import PERIODICITY, Spec


@dataclass(frozen=True)
class Conv:
    """A convention as the generator needs it: catalog fields plus file-writing choices."""

    id: str
    provider: str
    tag: str                      # provider's token in file names
    label: str
    lag_days: int
    geography: str                # finest level delivered
    levels: tuple[str, ...]       # every level delivered, finest first
    threshold: int
    marker: str                   # how the provider writes a secret cell
    ext: str

    @property
    def periodicity(self) -> str:
        return PERIODICITY[self.provider]

    @property
    def filename_pattern(self) -> str:
        return rf"^\d{{4}}_{self.tag}_\d{{4}}.*\.{self.ext}$"

    def filename(self, number: int, first: str, last: str | None = None,
                 suffix: str | None = None) -> str:
        parts = [f"{number:04d}", self.tag, first]
        if last is not None and last != first:
            parts.append(last)
        if suffix:
            parts.append(suffix)
        return "_".join(parts) + f".{self.ext}"


PROVIDERS: list[dict[str, str]] = [
    {"id": "caf", "name": "Caisse d'allocations familiales du Val-Fictif",
     "contact_name": "Service statistiques (démonstration)",
     "contact_url": "mailto://statistiques@caf-val-fictif.example"},
    {"id": "police", "name": "Direction départementale de la sécurité publique (DDSP) - SSMSI",
     "contact_name": "Bureau d'ordre et d'emploi (démonstration)",
     "contact_url": "mailto://ddsp-statistiques@police-val-fictif.example"},
    {"id": "france-travail", "name": "France Travail, direction territoriale du Val-Fictif",
     "contact_name": "Service études et statistiques (démonstration)",
     "contact_url": "mailto://etudes@francetravail-val-fictif.example"},
    {"id": "education", "name": "Direction des services départementaux de l'Éducation nationale",
     "contact_name": "Division de l'élève (démonstration)",
     "contact_url": "mailto://dsden-statistiques@education-val-fictif.example"},
    {"id": "bailleur", "name": "Val-Fictif Habitat (bailleur social)",
     "contact_name": "Direction de la gestion locative (démonstration)",
     "contact_url": "mailto://observatoire@val-fictif-habitat.example"},
    {"id": "cpam", "name": "Caisse primaire d'assurance maladie du Val-Fictif",
     "contact_name": "Cellule études (démonstration)",
     "contact_url": "mailto://etudes@cpam-val-fictif.example"},
]

CONVENTIONS: list[Conv] = [
    Conv("caf-allocataires", "caf", "caf", "Données allocataires mensuelles par quartier",
         45, "quartier", ("quartier", "commune", "epci"), 5, "s", "csv"),
    Conv("police-delinquance", "police", "ssmsi",
         "Délinquance enregistrée mensuelle par quartier (base SSMSI / DDSP)",
         30, "quartier", ("quartier", "commune", "epci"), 5, "", "csv"),
    Conv("france-travail-defm", "france-travail", "france-travail",
         "Demandeurs d'emploi en fin de trimestre par quartier",
         45, "quartier", ("quartier", "commune", "epci"), 5, "<5", "xlsx"),
    Conv("education-colleges", "education", "education",
         "Indicateurs de scolarité par secteur (année scolaire)",
         270, "quartier", ("quartier", "commune", "epci"), 5, "nd", "ods"),
    Conv("bailleur-parc-social", "bailleur", "bailleur",
         "Patrimoine, impayés et expulsions du parc social par IRIS",
         120, "iris", ("iris", "quartier", "commune", "epci"), 5, "", "csv"),
    Conv("cpam-sante", "cpam", "cpam", "Accès aux soins et aux droits santé par quartier",
         180, "quartier", ("quartier", "commune", "epci"), 10, "secret", "xlsx"),
]
BY_ID = {c.id: c for c in CONVENTIONS}
FIRST_PERIOD = {"monthly": "2016-01", "quarterly": "2016-Q1", "annual": "2016"}

# Column holding each dimension of France Travail's long layout, in key order.
FT_DIMENSIONS = ["categorie", "sexe", "tranche_age", "anciennete"]


def convention_yaml(conv: Conv, specs: list[Spec]) -> str:
    """conventions/<id>.yaml: how to read this provider's files."""
    mine = [s for s in specs if s.provider == conv.provider]
    data: dict[str, Any] = {
        "id": conv.id, "provider": conv.provider, "label": conv.label,
        "periodicity": conv.periodicity, "lag_days": conv.lag_days,
        "geography": conv.geography, "secrecy_threshold": conv.threshold,
        "first_period": FIRST_PERIOD[conv.periodicity],
        "filename_pattern": conv.filename_pattern,
    }
    wide_columns = {s.source: {"indicator": s.code} for s in mine}
    if conv.id == "caf-allocataires":
        data["file"] = {"format": "csv", "encoding": "latin-1", "separator": ";",
                        "decimal": ",", "skip_rows": 2, "secret_markers": ["s"]}
        data["layout"] = "wide"
        data["territory"] = {"column": "Code territoire"}
        data["period"] = {"column": "Mois", "pattern": r"(?P<month>\d{2})/(?P<year>\d{4})"}
        data["columns"] = wide_columns
    elif conv.id == "police-delinquance":
        data["file"] = {"format": "csv", "encoding": "utf-8", "separator": ",", "decimal": ".",
                        "secret_markers": [""]}
        data["layout"] = "long"
        data["territory"] = {"column": "code_zone"}
        data["period"] = {"column": "periode", "pattern": r"(?P<year>\d{4})(?P<month>\d{2})"}
        data["status"] = {"column": "est_diffuse", "secret": ["ndiff"]}
        data["indicator_column"] = "classe"
        data["indicator_map"] = {s.source: s.code for s in mine}
        data["value_column"] = "faits"
    elif conv.id == "france-travail-defm":
        data["file"] = {"format": "xlsx", "sheet": "DEFM", "skip_rows": 2, "decimal": ".",
                        "secret_markers": ["<5"]}
        data["layout"] = "long"
        data["territory"] = {"column": "code_geo"}
        data["period"] = {"column": "trimestre"}
        data["indicator_columns"] = FT_DIMENSIONS
        data["indicator_map"] = {s.source: s.code for s in mine}
        data["value_column"] = "nombre"
    elif conv.id == "education-colleges":
        data["file"] = {"format": "ods", "sheet": "Indicateurs", "decimal": ".",
                        "secret_markers": ["nd"]}
        data["layout"] = "wide"
        data["territory"] = {"column": "Secteur"}
        data["period"] = {"column": "Année scolaire", "pattern": r"(?P<year>\d{4})-\d{4}"}
        data["columns"] = wide_columns
    elif conv.id == "bailleur-parc-social":
        data["file"] = {"format": "csv", "encoding": "utf-8", "separator": ";", "decimal": ",",
                        "secret_markers": [""]}
        data["layout"] = "wide"
        data["territory"] = {"column": "code_territoire", "codes": {"TOTAL": "299000001"}}
        data["period"] = {"column": "exercice"}
        data["columns"] = wide_columns
    else:
        data["file"] = {"format": "xlsx", "sheet": "Indicateurs santé", "header_rows": 2,
                        "header_row": 1, "decimal": ".", "secret_markers": ["secret"]}
        data["layout"] = "wide"
        data["territory"] = {"column": "Code territoire"}
        data["period"] = {"column": "Année"}
        data["columns"] = wide_columns
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def providers_yaml() -> str:
    return yaml.safe_dump({"providers": PROVIDERS}, allow_unicode=True, sort_keys=False,
                          width=100)
