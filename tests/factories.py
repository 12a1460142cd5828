"""A small, hand-written workspace for tests: two communes, four neighbourhoods, one CAF-like
convention (wide CSV, monthly) and one police-like convention (long CSV, quarterly)."""

from __future__ import annotations

from pathlib import Path

import yaml
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from veille.store import migrate
from veille.store.database import alembic_config

TERRITORIES = """code;kind;name;parent;population
299000001;epci;Agglo Test;;20000
99001;commune;Ville-Une;299000001;12000
99002;commune;Ville-Deux;299000001;8000
Q-UN-NORD;quartier;Nord;99001;3000
Q-UN-SUD;quartier;Sud;99001;2500
Q-DEUX-EST;quartier;Est;99002;1800
Q-DEUX-OUEST;quartier;Ouest;99002;900
"""

GLOSSARY = {"indicators": [
    {"code": "caf_rsa", "label": "Foyers allocataires du RSA",
     "definition": "Foyers percevant le RSA.",
     "theme": "precarite", "unit": "foyers", "kind": "count", "polarity": "up_is_bad",
     "periodicity": "monthly", "provider": "caf", "people": "foyers"},
    {"code": "caf_alloc", "label": "Foyers allocataires", "definition": "Foyers allocataires CAF.",
     "theme": "precarite", "unit": "foyers", "kind": "count", "polarity": "neutral",
     "periodicity": "monthly", "provider": "caf", "people": "foyers"},
    {"code": "part_rsa", "label": "Part des allocataires au RSA",
     "definition": "RSA / allocataires.",
     "theme": "precarite", "unit": "%", "kind": "rate", "numerator": "caf_rsa",
     "denominator": "caf_alloc", "polarity": "up_is_bad", "periodicity": "monthly",
     "provider": "caf"},
    {"code": "cambriolages", "label": "Cambriolages de logement", "definition": "Faits constatés.",
     "theme": "securite", "unit": "faits", "kind": "count", "polarity": "up_is_bad",
     "periodicity": "quarterly", "provider": "police"},
]}

PROVIDERS = {"providers": [
    {"id": "caf", "name": "CAF du Test", "contact_url": "mailto://data@caf.example"},
    {"id": "police", "name": "DDSP du Test", "contact_url": "json://127.0.0.1:9/police"},
]}

CAF = {
    "id": "caf-mensuel", "provider": "caf", "label": "CAF mensuel par quartier",
    "periodicity": "monthly", "lag_days": 40, "geography": "quartier", "secrecy_threshold": 5,
    "first_period": "2020-01", "filename_pattern": r"^caf_",
    "file": {"encoding": "latin-1", "separator": ";", "decimal": ",", "skip_rows": 1},
    "layout": "wide", "territory": {"column": "code"}, "period": {"column": "mois"},
    "columns": {"ALLOC": {"indicator": "caf_alloc"}, "RSA": {"indicator": "caf_rsa"},
                "PART_RSA": {"indicator": "part_rsa", "numerator": "RSA",
                             "denominator": "ALLOC"}},
}

POLICE = {
    "id": "police-trim", "provider": "police", "label": "Faits constatés par trimestre",
    "periodicity": "quarterly", "lag_days": 30, "geography": "quartier",
    "filename_pattern": r"^police_", "file": {"separator": ",", "decimal": "."},
    "layout": "long", "territory": {"column": "zone"}, "period": {"column": "trimestre"},
    "indicator_column": "indicateur", "indicator_map": {"Cambriolages": "cambriolages"},
    "value_column": "faits", "status": {"column": "diffusion", "secret": ["ndiff"]},
}


def write_catalog(root: Path) -> Path:
    """Write the test catalog under ``root/catalog`` and return the workspace root."""
    catalog = root / "catalog"
    (catalog / "conventions").mkdir(parents=True, exist_ok=True)
    (catalog / "territories.csv").write_text(TERRITORIES, encoding="utf-8")
    (catalog / "glossary.yaml").write_text(yaml.safe_dump(GLOSSARY, allow_unicode=True),
                                           encoding="utf-8")
    (catalog / "providers.yaml").write_text(yaml.safe_dump(PROVIDERS), encoding="utf-8")
    for convention in (CAF, POLICE):
        (catalog / "conventions" / f"{convention['id']}.yaml").write_text(
            yaml.safe_dump(convention, allow_unicode=True), encoding="utf-8")
    return root


QUARTIERS = ["Q-UN-NORD", "Q-UN-SUD", "Q-DEUX-EST", "Q-DEUX-OUEST"]


def caf_file(folder: Path, month: str, rows: dict[str, tuple[str, str, str]] | None = None,
             name: str | None = None) -> Path:
    """A CAF-like wide Latin-1 file with a title line; rows: code -> (ALLOC, RSA, PART_RSA)."""
    if rows is None:
        rows = {code: (str(400 + 10 * i), str(40 + i), f"{(40 + i) / (400 + 10 * i) * 100:.1f}"
                       .replace(".", ",")) for i, code in enumerate(QUARTIERS)}
    lines = ["Allocataires CAF par quartier - fichier de test (données fictives)",
             "code;mois;ALLOC;RSA;PART_RSA"]
    lines += [f"{code};{month};{a};{r};{p}" for code, (a, r, p) in rows.items()]
    path = folder / (name or f"caf_{month}.csv")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))
    return path


def store_before(engine: Engine, target: str) -> Config:
    """The store migrated to the latest schema, then taken down to ``target`` (e.g.
    ``"keys@-1"``: as it was before that branch's last migration); the Alembic config, to
    go down or up again."""
    migrate(engine)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, target)
    return config
