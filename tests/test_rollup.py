"""Roll-ups computed from the parts (``connectors.rollup``), on a small hand-made tree:
what is summed, what never is, unknown parents, delivered parents, QPV estimates, coverage.
The expected figures are computed in the test from the parts, never pasted."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from connectors.rollup import roll_up, summable_children
from veille.catalog import Catalog, load_catalog

TREE = """code;kind;name;parent;population
99;departement;Val-Test;;3000
299000001;epci;Agglo Test;99;3000
99001;commune;Ville-Une;299000001;2000
99002;commune;Ville-Deux;299000001;1000
QA;quartier;Quartier A;99001;1200
QB;quartier;Quartier B;99001;800
990010001;iris;A1;QA;700
990010002;iris;A2;QA;500
990010003;iris;B1;QB;800
QN09901M;qpv;QPV Test;99001;950
"""
LINKS = "child;parent;share\n990010001;QN09901M;1\n990010002;QN09901M;0.5\n"
IRIS = ["990010001", "990010002", "990010003"]


def _indicator(code: str, kind: str, unit: str) -> dict:
    return {"code": code, "label": code, "definition": code, "theme": "precarite",
            "unit": unit, "kind": kind, "periodicity": "annual", "provider": "caf"}


def catalog_of(root: Path, tree: str = TREE) -> Catalog:
    root.mkdir(parents=True, exist_ok=True)
    (root / "territories.csv").write_text(tree, encoding="utf-8")
    (root / "territory_links.csv").write_text(LINKS, encoding="utf-8")
    (root / "glossary.yaml").write_text(yaml.safe_dump({"indicators": [
        _indicator("rsa", "count", "foyers"), _indicator("part_rsa", "rate", "%"),
        _indicator("loyer", "amount", "€")]}), encoding="utf-8")
    return load_catalog(root)


def row(ind: str, code: str, value: float | None, num: float | None = None,
        den: float | None = None, status: str = "ok", origin: str = "delivered") -> dict:
    return {"indicator": ind, "territory": code, "period": "2024", "value": value,
            "numerator": num, "denominator": den, "status": status, "delivery_id": 1,
            "origin": origin}


def current(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return catalog_of(tmp_path / "catalog")


def base_rows() -> list[dict]:
    counts = {"990010001": 40.0, "990010002": 12.0, "990010003": 30.0}
    rows = [row("rsa", c, v) for c, v in counts.items()]
    rows.append(row("rsa", "99002", 25.0))
    allocs = {"990010001": 400.0, "990010002": 150.0, "990010003": 260.0}
    rows += [row("part_rsa", c, counts[c] / allocs[c] * 100, counts[c], allocs[c])
             for c in IRIS]
    rows.append(row("part_rsa", "99002", 25 / 300 * 100, 25.0, 300.0))
    rows += [row("loyer", c, 410.0 + i) for i, c in enumerate([*IRIS, "99002"])]
    return rows


def by_key(frame: pd.DataFrame) -> dict[tuple[str, str], dict]:
    return {(r["indicator"], r["territory"]): r for r in frame.to_dict("records")}


def test_counts_are_summed_up_every_level(catalog: Catalog) -> None:
    rows = base_rows()
    out = by_key(roll_up(current(rows), catalog, set(IRIS) | {"99002"}))
    part = {r["territory"]: r["value"] for r in rows if r["indicator"] == "rsa"}
    qa = part["990010001"] + part["990010002"]
    qb = part["990010003"]
    assert out[("rsa", "QA")]["value"] == qa and out[("rsa", "QB")]["value"] == qb
    assert out[("rsa", "99001")]["value"] == qa + qb
    assert out[("rsa", "299000001")]["value"] == qa + qb + part["99002"]
    assert out[("rsa", "99")]["value"] == qa + qb + part["99002"]
    assert {r["origin"] for k, r in out.items() if k[1] != "QN09901M"} == {"rollup"}


def test_a_rate_is_recomputed_from_numerators_and_denominators(catalog: Catalog) -> None:
    rows = base_rows()
    out = by_key(roll_up(current(rows), catalog, set(IRIS)))
    parts = [r for r in rows if r["indicator"] == "part_rsa" and r["territory"] in IRIS]
    num, den = sum(r["numerator"] for r in parts), sum(r["denominator"] for r in parts)
    commune = out[("part_rsa", "99001")]
    assert (commune["numerator"], commune["denominator"]) == (num, den)
    assert commune["value"] == pytest.approx(num / den * 100)
    mean_of_rates = sum(r["value"] for r in parts) / len(parts)
    assert commune["value"] != pytest.approx(mean_of_rates)  # never an average of rates


def test_an_amount_is_never_summed(catalog: Catalog) -> None:
    out = roll_up(current(base_rows()), catalog, set(IRIS))
    assert "loyer" not in set(out["indicator"])


def test_a_secret_or_missing_part_makes_the_parent_unknown(catalog: Catalog) -> None:
    rows = [r for r in base_rows() if not (r["indicator"] == "rsa"
                                           and r["territory"] == "990010002")]
    rows.append(row("rsa", "990010002", None, status="secret"))
    rows = [r for r in rows if not (r["indicator"] == "part_rsa"
                                    and r["territory"] == "990010003")]
    out = by_key(roll_up(current(rows), catalog, set(IRIS)))
    for code in ("QA", "99001", "299000001", "99"):
        assert out[("rsa", code)]["status"] == "missing"
        assert pd.isna(out[("rsa", code)]["value"])
    assert out[("rsa", "QB")]["value"] == 30.0  # its own parts are all known
    assert ("part_rsa", "QB") not in out  # nothing below it was ever delivered
    assert out[("part_rsa", "QA")]["status"] == "ok"
    assert out[("part_rsa", "99001")]["status"] == "missing"  # a part missing


def test_a_delivered_parent_always_wins(catalog: Catalog) -> None:
    rows = [*base_rows(), row("rsa", "99001", 100.0)]
    out = by_key(roll_up(current(rows), catalog, set(IRIS)))
    assert ("rsa", "99001") not in out
    assert out[("rsa", "299000001")]["value"] == 100.0 + 25.0
    secret_parent = [*base_rows(), row("rsa", "99001", None, status="secret")]
    out = by_key(roll_up(current(secret_parent), catalog, set(IRIS)))
    assert ("rsa", "99001") not in out  # delivered secret: still the provider's word
    assert out[("rsa", "299000001")]["status"] == "missing"


def test_a_qpv_is_estimated_from_its_iris_shares(catalog: Catalog) -> None:
    rows = base_rows()
    out = by_key(roll_up(current(rows), catalog, set(IRIS)))
    link = {link.child: link.share for link in catalog.links}
    value = {r["territory"]: r for r in rows if r["indicator"] == "rsa"}
    qpv = out[("rsa", "QN09901M")]
    assert qpv["origin"] == "estimate"
    assert qpv["value"] == pytest.approx(sum(value[c]["value"] * s for c, s in link.items()))
    rate = out[("part_rsa", "QN09901M")]
    parts = {r["territory"]: r for r in rows if r["indicator"] == "part_rsa"}
    num = sum(parts[c]["numerator"] * s for c, s in link.items())
    den = sum(parts[c]["denominator"] * s for c, s in link.items())
    assert rate["value"] == pytest.approx(num / den * 100)
    # a QPV is never added to its commune: its IRIS are already in the quartiers
    assert "QN09901M" not in summable_children(catalog)["99001"]


def test_only_a_covered_parent_is_summed(tmp_path: Path) -> None:
    bigger = TREE.replace("99;departement;Val-Test;;3000", "99;departement;Val-Test;;90000")
    partial = catalog_of(tmp_path / "partial", bigger)
    out = by_key(roll_up(current(base_rows()), partial, set(IRIS) | {"99002"}))
    assert ("rsa", "99") not in out  # the workspace holds one EPCI of the département
    assert out[("rsa", "299000001")]["status"] == "ok"
    unknown = TREE.replace("99;departement;Val-Test;;3000", "99;departement;Val-Test;;")
    assert "99" not in summable_children(catalog_of(tmp_path / "unknown", unknown))


def test_rolling_up_again_writes_nothing(catalog: Catalog) -> None:
    rows = base_rows()
    first = roll_up(current(rows), catalog, set(IRIS))
    again = current([*rows, *(dict(r, delivery_id=1) for r in first.to_dict("records"))])
    assert roll_up(again, catalog, set(IRIS)).empty
