"""Real tables for the secrecy benchmark and its tests: the Loire offences (SSMSI) and CAF
allocataires by commune, with the EPCI (wholly inside the Loire) and the département above
them, and a national commune table (real codes, commune -> EPCI -> département)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from veille.catalog import Catalog, load_catalog

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
LOIRE = SHARED / "loire-42-ssmsi-caf-filosofi-rouages"
EPCI = SHARED / "insee-epci-2025" / "epci.json"
COG = SHARED / "insee-cog-2025" / "v_commune_2025.csv"


def tree_lines(communes: set[str]) -> list[str]:
    """territories.csv lines: the EPCI wholly inside the Loire, their communes under them,
    the other communes straight under the département."""
    parent = {c: "42" for c in communes}
    lines = ["code;kind;name;parent;population", "42;departement;Loire;;"]
    for epci in json.loads(EPCI.read_text(encoding="utf-8")):
        members = {m["code"] for m in epci["membres"]}
        if members and members <= communes:
            lines.append(f"{epci['code']};epci;{epci['nom']};42;")
            parent.update({m: epci["code"] for m in members})
    lines += [f"{c};commune;commune {c};{parent[c]};" for c in sorted(communes)]
    return lines


def write_catalog(root: Path, codes: list[str], communes: set[str], threshold: int) -> Catalog:
    folder = root / "catalog"
    (folder / "conventions").mkdir(parents=True, exist_ok=True)
    (folder / "territories.csv").write_text("\n".join(tree_lines(communes)) + "\n")
    return _write_rest(folder, codes, threshold)


def _write_rest(folder: Path, codes: list[str], threshold: int) -> Catalog:
    """Glossary (annual counts), provider and convention (``threshold``) of ``codes``."""
    glossary = [{"code": c, "label": c, "definition": c, "theme": "securite", "unit": "faits",
                 "kind": "count", "periodicity": "annual", "provider": "src"} for c in codes]
    (folder / "glossary.yaml").write_text(yaml.safe_dump({"indicators": glossary}))
    (folder / "providers.yaml").write_text(yaml.safe_dump({"providers": [
        {"id": "src", "name": "fournisseur"}]}))
    convention = {"id": "real", "provider": "src", "label": "real", "periodicity": "annual",
                  "lag_days": 1, "geography": "commune", "secrecy_threshold": threshold,
                  "layout": "wide", "territory": {"column": "code"},
                  "period": {"column": "annee"},
                  "columns": {c: {"indicator": c} for c in codes}}
    (folder / "conventions" / "real.yaml").write_text(yaml.safe_dump(convention))
    return load_catalog(folder)


def with_totals(frame: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """``frame`` (communes) and every ancestor's count, the sum of the communes delivered
    (a commune the provider did not publish is absent: its parent's relation is then >=)."""
    above = {c: [a.code for a in catalog.ancestors(c)] for c in set(frame["territory"])}
    up = frame.assign(territory=frame["territory"].map(above)).explode("territory")
    totals = up.dropna(subset=["territory"]).groupby(
        ["indicator", "territory", "period"], as_index=False)["value"].sum()
    return pd.concat([frame, totals], ignore_index=True).assign(status="ok")


def loire_offences(root: Path, years: tuple[str, ...] = ("2023", "2024", "2025")
                   ) -> tuple[pd.DataFrame, Catalog]:
    """Published commune counts (the SSMSI's unpublished ones are absent) and totals."""
    with (LOIRE / "DERIVED_42_delinquance_long.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter=";")
                if r["est_diffuse"] != "ndiff" and r["annee"] in years]
    name = {label: f"ssmsi_{k:02d}" for k, label in
            enumerate(sorted({r["indicateur"] for r in rows}))}
    communes = {r["code_commune"] for r in rows}
    catalog = write_catalog(root, sorted(name.values()), communes, threshold=5)
    frame = pd.DataFrame({"indicator": [name[r["indicateur"]] for r in rows],
                          "territory": [r["code_commune"] for r in rows],
                          "period": [r["annee"] for r in rows],
                          "value": [float(r["nombre"]) for r in rows]})
    return with_totals(frame, catalog), catalog


def loire_caf(root: Path, threshold: int = 11) -> tuple[pd.DataFrame, Catalog]:
    """CAF allocataires 2020-2024 (rounded to 5 by the CNAF) and totals."""
    table = pd.read_csv(LOIRE / "DERIVED_42_caf_long.csv", sep=";", dtype={"code_commune": str})
    table.columns = [c.lower() for c in table.columns]
    codes = [c for c in table.columns if c not in ("code_commune", "annee")]
    catalog = write_catalog(root, codes, set(table["code_commune"]), threshold=threshold)
    frame = table.melt(id_vars=["code_commune", "annee"], var_name="indicator")
    frame = frame.rename(columns={"code_commune": "territory", "annee": "period"})
    frame = frame.assign(period=frame["period"].astype(str)).dropna(subset=["value"])
    return with_totals(frame, catalog), catalog


def national(root: Path, indicators: int, seed: int = 1) -> tuple[pd.DataFrame, Catalog]:
    """Every real commune x ``indicators`` counts (log-normal: about one in eight under
    5), their EPCI and département totals."""
    cog = pd.read_csv(COG, dtype=str)
    communes = cog.loc[cog["TYPECOM"] == "COM", "COM"].tolist()
    epci_of: dict[str, str] = {}
    for epci in json.loads(EPCI.read_text(encoding="utf-8")):
        for m in epci["membres"]:
            epci_of[m["code"]] = epci["code"]
    dep_of = {c: c[:3] if c.startswith("97") else c[:2] for c in communes}
    folder = root / "catalog"
    (folder / "conventions").mkdir(parents=True, exist_ok=True)
    lines = ["code;kind;name;parent;population"]
    lines += [f"{d};departement;{d};;" for d in sorted(set(dep_of.values()))]
    epci_dep: dict[str, str] = {}
    for c in communes:
        if c in epci_of:
            epci_dep.setdefault(epci_of[c], dep_of[c])
    lines += [f"{e};epci;{e};{d};" for e, d in sorted(epci_dep.items())]
    lines += [f"{c};commune;{c};{epci_of.get(c, dep_of[c])};" for c in communes]
    (folder / "territories.csv").write_text("\n".join(lines) + "\n")
    codes = [f"ind_{i:02d}" for i in range(indicators)]
    catalog = _write_rest(folder, codes, threshold=5)
    rng = np.random.default_rng(seed)
    values = np.round(rng.lognormal(3.0, 1.5, (len(communes), indicators)))
    frame = pd.DataFrame(values, columns=codes).assign(territory=communes)
    frame = frame.melt(id_vars=["territory"], var_name="indicator").assign(period="2024")
    return with_totals(frame, catalog), catalog
