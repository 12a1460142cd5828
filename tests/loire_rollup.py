"""Workspaces of real Loire EPCIs (INSEE tree, ``insee_tree``) fed with real provider files
that hold communes only: the CNAF allocataires by commune (2020-2024, no secret cells,
counts rounded to 5) and the SSMSI recorded offences (2016-2025, unpublished cells). No row
for an EPCI or the département is delivered: their values are roll-ups."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import yaml
from insee_tree import SHARED_DATA, write_tree
from loire_pipeline import COLUMNS as OFFENCE_COLUMNS
from loire_pipeline import load_convention_yaml

LOIRE = SHARED_DATA / "loire-42-ssmsi-caf-filosofi-rouages"
CAF_FILE = LOIRE / "DERIVED_42_caf_long.csv"
OFFENCES_FILE = LOIRE / "DERIVED_42_delinquance_long.csv"
SEM = "244200770"  # Saint-Étienne Métropole, 53 communes
ROANNAIS = "200035731"  # Roannais Agglomération, 40 communes
CAF_COLUMNS = {"foyers_allocataires": "caf_foyers", "personnes_couvertes": "caf_personnes",
               "foyers_RSA": "caf_rsa", "foyers_prime_activite": "caf_ppa",
               "foyers_aide_logement": "caf_aide_logement",
               "foyers_allocations_familiales": "caf_af", "foyers_PAJE": "caf_paje"}
CAF_CONVENTION = {
    "id": "caf-communes-loire", "provider": "caf",
    "label": "Allocataires CAF par commune (CNAF, data.caf.fr)", "periodicity": "annual",
    "lag_days": 180, "geography": "commune", "secrecy_threshold": 5, "first_period": "2020",
    "filename_pattern": r"caf_long\.csv$",
    "file": {"format": "csv", "encoding": "utf-8", "separator": ";", "decimal": ",",
             "secret_markers": ["s"]},
    "layout": "wide", "territory": {"column": "code_commune", "zfill": 5},
    "period": {"column": "annee"},
    "columns": {column: {"indicator": code} for column, code in CAF_COLUMNS.items()},
}


def _entry(code: str, label: str, provider: str, theme: str, unit: str) -> dict:
    return {"code": code, "label": label, "definition": f"{label} (fichier réel, Loire)",
            "theme": theme, "unit": unit, "kind": "count", "polarity": "up_is_bad",
            "periodicity": "annual", "provider": provider}


def write_workspace(root: Path, sirens: tuple[str, ...] = (), *, whole: bool = False,
                    offences: bool = False) -> list[str]:
    """The catalog under ``root/catalog``: the tree, the CAF glossary and convention (and
    the SSMSI ones with ``offences``); returns the communes held."""
    catalog = root / "catalog"
    (catalog / "conventions").mkdir(parents=True, exist_ok=True)
    communes = write_tree(catalog, "42", sirens, whole=whole)
    glossary = [_entry(code, column.replace("_", " "), "caf", "precarite", "foyers")
                for column, code in CAF_COLUMNS.items()]
    providers = [{"id": "caf", "name": "Caisse nationale des allocations familiales"}]
    (catalog / "conventions" / "caf.yaml").write_text(
        yaml.safe_dump(CAF_CONVENTION, allow_unicode=True), encoding="utf-8")
    if offences:
        convention = load_convention_yaml()
        glossary += [_entry(code, label, "ssmsi", "securite", "faits")
                     for label, code in convention["indicator_map"].items()]
        providers.append({"id": "ssmsi", "name": "SSMSI"})
        (catalog / "conventions" / "ssmsi.yaml").write_text(
            yaml.safe_dump(convention, allow_unicode=True), encoding="utf-8")
    (catalog / "glossary.yaml").write_text(
        yaml.safe_dump({"indicators": glossary}, allow_unicode=True), encoding="utf-8")
    (catalog / "providers.yaml").write_text(
        yaml.safe_dump({"providers": providers}, allow_unicode=True), encoding="utf-8")
    return communes


def caf_frame(communes: list[str]) -> pd.DataFrame:
    """The real CAF file, the held communes only, as text (as delivered)."""
    frame = pd.read_csv(CAF_FILE, sep=";", dtype=str)
    return frame[frame["code_commune"].isin(communes)].reset_index(drop=True)


def write_caf(folder: Path, frame: pd.DataFrame, name: str = "caf_long.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    frame.to_csv(path, sep=";", index=False)
    return path


def offences_frame(communes: list[str]) -> pd.DataFrame:
    frame = pd.read_csv(OFFENCES_FILE, sep=";", dtype=str, keep_default_na=False)
    return frame[frame["code_commune"].isin(communes)].reset_index(drop=True)


def write_offences(folder: Path, frame: pd.DataFrame) -> list[Path]:
    """One delivery per year, communes only (each year is a wave)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for year, part in frame.groupby("annee"):
        path = folder / f"{year}_42_delinquance_long.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, OFFENCE_COLUMNS, delimiter=";",
                                    lineterminator="\n")
            writer.writeheader()
            writer.writerows(part[OFFENCE_COLUMNS].to_dict("records"))
        paths.append(path)
    return paths


def members(catalog_root: Path, parent: str) -> list[str]:
    """The communes whose parent is ``parent`` in the written territories.csv."""
    tree = pd.read_csv(catalog_root / "catalog" / "territories.csv", sep=";", dtype=str)
    return tree.loc[(tree["kind"] == "commune") & (tree["parent"] == parent), "code"].tolist()
