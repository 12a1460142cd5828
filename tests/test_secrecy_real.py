"""The auditor on real and full publications: the Loire offences (SSMSI, whose provider
already hides cells) and CAF allocataires, commune -> EPCI -> département; and the demo's
whole publication for every viewer. No hidden cell below its protection level."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rich.console
import rich.progress
import yaml

from cli.demo_run import run_demo
from veille.catalog import Catalog, load_catalog
from veille.runtime import open_runtime
from veille.secrecy import mask
from veille.secrecy_audit import Viewer, audit, viewers
from veille.store import masks
from veille.store import observations as obs

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
LOIRE = SHARED / "loire-42-ssmsi-caf-filosofi-rouages"
EPCI = SHARED / "insee-epci-2025" / "epci.json"


def _tree(communes: set[str]) -> list[str]:
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


def _catalog(root: Path, codes: list[str], communes: set[str], threshold: int) -> Catalog:
    folder = root / "catalog"
    (folder / "conventions").mkdir(parents=True)
    (folder / "territories.csv").write_text("\n".join(_tree(communes)) + "\n")
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


def _with_totals(frame: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """Each EPCI's and the département's count, the sum of the communes delivered (a
    commune the provider did not publish is absent: its parent's relation is then >=)."""
    rows = [frame]
    parent = {c: t.parent for c, t in catalog.territories.items()}
    level = frame
    for _ in range(2):
        up = level.assign(territory=level["territory"].map(parent)).dropna(subset=["territory"])
        up = up.groupby(["indicator", "territory", "period"], as_index=False)["value"].sum()
        up = up[up["territory"].map(lambda t: catalog.territories[t].kind.value) != "commune"]
        rows.append(up)
        level = up[up["territory"] != "42"]
    out = pd.concat(rows, ignore_index=True)
    out = out.groupby(["indicator", "territory", "period"], as_index=False)["value"].max()
    return out.assign(status="ok")


def _audit_real(frame: pd.DataFrame, catalog: Catalog) -> tuple[int, int]:
    out = mask(frame, catalog)
    report = audit(frame, catalog, out["masked"].to_numpy(), Viewer("all"))
    assert report.ok, report.under[:5]
    return int((out["secrecy"] == "small").sum()), int((out["secrecy"] == "complementary").sum())


def test_loire_offences_commune_epci_departement(tmp_path):
    with (LOIRE / "DERIVED_42_delinquance_long.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter=";")
                if r["est_diffuse"] != "ndiff" and r["annee"] in ("2023", "2024", "2025")]
    name = {label: f"ssmsi_{k:02d}" for k, label in
            enumerate(sorted({r["indicateur"] for r in rows}))}
    codes = sorted(name.values())
    communes = {r["code_commune"] for r in rows}
    catalog = _catalog(tmp_path, codes, communes, threshold=5)
    frame = pd.DataFrame({"indicator": [name[r["indicateur"]] for r in rows],
                          "territory": [r["code_commune"] for r in rows],
                          "period": [r["annee"] for r in rows],
                          "value": [float(r["nombre"]) for r in rows]})
    small, complementary = _audit_real(_with_totals(frame, catalog), catalog)
    assert small > 1000 and complementary > 0


def test_loire_caf_allocataires_with_a_threshold_of_eleven(tmp_path):
    table = pd.read_csv(LOIRE / "DERIVED_42_caf_long.csv", sep=";", dtype={"code_commune": str})
    table.columns = [c.lower() for c in table.columns]
    codes = [c for c in table.columns if c not in ("code_commune", "annee")]
    catalog = _catalog(tmp_path, codes, set(table["code_commune"]), threshold=11)
    frame = table.melt(id_vars=["code_commune", "annee"], var_name="indicator")
    frame = frame.rename(columns={"code_commune": "territory", "annee": "period"})
    frame = frame.assign(period=frame["period"].astype(str)).dropna(subset=["value"])
    small, complementary = _audit_real(_with_totals(frame, catalog), catalog)
    assert small > 100 and complementary > 0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("demo")
    run_demo(workspace, seed=2026, console=rich.console.Console(file=io.StringIO()),
             progress=rich.progress.Progress(disable=True))
    return workspace


@pytest.mark.slow
def test_the_demo_publication_holds_for_every_viewer(demo: Path):
    runtime = open_runtime(demo)
    catalog = runtime.catalog
    with runtime.engine.begin() as conn:
        frame = obs.current(conn, indicators=sorted(catalog.indicators))
        hidden = masks.hidden(conn, catalog, sorted(catalog.indicators))
    masked = np.array([k in hidden for k in zip(frame["indicator"], frame["territory"],
                                                 frame["period"], strict=True)])
    # "all" sees everything: any single viewer sees less, so their intervals are wider
    chosen = [Viewer("all"), Viewer("reader"), *[v for v in viewers(catalog)
                                                 if v.role == "ccas"][:1]]
    for viewer in chosen:
        report = audit(frame, catalog, masked, viewer)
        assert report.ok, (viewer, report.under[:5], report.shown_primary[:5])
        assert report.protected_cells > 30000
