"""Secondary suppression over linked tables, checked by the auditor (feasible intervals by
linear programming): each case of issue 14 leaked under the old rule (two hidden cells per
parent group) and holds now."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from factories import GLOSSARY, write_catalog
from veille.catalog import Catalog, load_catalog
from veille.secrecy import mask
from veille.secrecy_audit import Viewer, audit

REPO = Path(__file__).resolve().parents[2]


def _catalog(tmp_path: Path) -> Catalog:
    """The test catalog plus a QPV of Ville-Une and RSA households by sex."""
    root = write_catalog(tmp_path)
    territories = root / "catalog" / "territories.csv"
    territories.write_text(territories.read_text() + "QN09901M;qpv;QPV Test;99001;1500\n")
    extra = [dict(GLOSSARY["indicators"][0], code=f"caf_rsa_{sex}", label=f"RSA {sex}")
             for sex in ("femmes", "hommes")]
    glossary = {"indicators": [dict(i) for i in GLOSSARY["indicators"]] + extra}
    glossary["indicators"][0]["parts"] = ["caf_rsa_femmes", "caf_rsa_hommes"]
    (root / "catalog" / "glossary.yaml").write_text(yaml.safe_dump(glossary, allow_unicode=True))
    convention = root / "catalog" / "conventions" / "caf-mensuel.yaml"
    spec = yaml.safe_load(convention.read_text())
    spec["columns"].update({"RSA_F": {"indicator": "caf_rsa_femmes"},
                            "RSA_H": {"indicator": "caf_rsa_hommes"}})
    convention.write_text(yaml.safe_dump(spec, allow_unicode=True))
    return load_catalog(root / "catalog")


def _frame(rows: list[tuple[str, str, float | None]], period: str = "2025-06") -> pd.DataFrame:
    return pd.DataFrame([{"indicator": i, "territory": t, "period": period, "value": v,
                          "status": "secret" if v is None else "ok"} for i, t, v in rows])


def _check(frame: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """Mask ``frame`` and audit it as every viewer combined: nothing under-protected."""
    out = mask(frame, catalog)
    report = audit(frame, catalog, out["masked"].to_numpy(), Viewer("all"))
    assert report.ok, report.under
    return out


def _old_rule_leaks(frame: pd.DataFrame, catalog: Catalog, hidden: set[str]) -> bool:
    """The auditor on the mask the old rule gave (``hidden`` territories)."""
    masked = frame["territory"].isin(hidden).to_numpy()
    return not audit(frame, catalog, masked, Viewer("all")).ok


def _shown(out: pd.DataFrame, indicator: str, territory: str) -> bool:
    row = out[(out["indicator"] == indicator) & (out["territory"] == territory)]
    return not bool(row["masked"].iloc[0])


def test_a_rate_that_would_reveal_its_hidden_numerator_is_hidden(tmp_path):
    catalog = _catalog(tmp_path)
    frame = pd.concat([
        _frame([("caf_rsa", "99001", 45.0), ("caf_rsa", "Q-UN-NORD", 3.0),
                ("caf_rsa", "Q-UN-SUD", 42.0)]),
        _frame([("caf_alloc", "99001", 500.0), ("caf_alloc", "Q-UN-NORD", 120.0),
                ("caf_alloc", "Q-UN-SUD", 380.0)]),
        _frame([("part_rsa", "99001", 9.0), ("part_rsa", "Q-UN-NORD", 2.5),
                ("part_rsa", "Q-UN-SUD", 11.1)]),
    ], ignore_index=True)
    # old rule: Nord and Sud RSA hidden, every rate shown: 2.5 % of 120 gives Nord = 3
    old = frame[(frame["indicator"] == "caf_rsa") & frame["territory"].str.startswith("Q-")]
    masked = frame.index.isin(old.index)
    assert not audit(frame, catalog, masked, Viewer("all")).ok
    out = _check(frame, catalog)
    assert not _shown(out, "part_rsa", "Q-UN-NORD")
    assert not _shown(out, "caf_rsa", "Q-UN-NORD")


def test_a_hidden_pair_summing_under_the_threshold_is_not_enough(tmp_path):
    catalog = _catalog(tmp_path)
    frame = _frame([("caf_rsa", "299000001", 103.0), ("caf_rsa", "99001", 100.0),
                    ("caf_rsa", "Q-UN-NORD", 60.0), ("caf_rsa", "Q-UN-SUD", 40.0),
                    ("caf_rsa", "99002", 3.0), ("caf_rsa", "Q-DEUX-EST", 1.0),
                    ("caf_rsa", "Q-DEUX-OUEST", 2.0)])
    # Est and Ouest are both hidden, but they add up to 3: each lies in [0, 3]
    assert _old_rule_leaks(frame, catalog, {"Q-DEUX-EST", "Q-DEUX-OUEST", "99002"})
    out = _check(frame, catalog)
    assert not _shown(out, "caf_rsa", "99002")


def test_a_roll_up_nobody_knows_is_an_unknown_not_a_blind_spot(tmp_path):
    catalog = _catalog(tmp_path)
    frame = _frame([("caf_rsa", "299000001", 103.0), ("caf_rsa", "99001", 100.0),
                    ("caf_rsa", "Q-UN-NORD", 60.0), ("caf_rsa", "Q-UN-SUD", 40.0),
                    ("caf_rsa", "99002", None), ("caf_rsa", "Q-DEUX-EST", None),
                    ("caf_rsa", "Q-DEUX-OUEST", 2.0)])
    # Ville-Deux is a roll-up of a provider's secret: no value, shown to no one. It is
    # still 103 - 100 = 3 to a reader, so Est (the provider's secret) lies in [0, 3]
    frame.loc[frame["territory"] == "99002", "status"] = "missing"
    primary_only = frame["territory"].isin(["Q-DEUX-EST", "Q-DEUX-OUEST"]).to_numpy()
    assert not audit(frame, catalog, primary_only, Viewer("all")).ok
    out = _check(frame, catalog)
    assert not (_shown(out, "caf_rsa", "299000001") and _shown(out, "caf_rsa", "99001"))


def test_a_hidden_qpv_does_not_protect_a_quartier_of_its_commune(tmp_path):
    catalog = _catalog(tmp_path)
    frame = _frame([("caf_rsa", "99001", 50.0), ("caf_rsa", "Q-UN-NORD", 3.0),
                    ("caf_rsa", "Q-UN-SUD", 47.0), ("caf_rsa", "QN09901M", 4.0)])
    # the old rule counted the QPV as the commune's second hidden child: Nord = 50 - 47
    assert _old_rule_leaks(frame, catalog, {"Q-UN-NORD", "QN09901M"})
    out = _check(frame, catalog)
    assert not (_shown(out, "caf_rsa", "99001") and _shown(out, "caf_rsa", "Q-UN-SUD"))


def test_a_total_and_its_breakdown_by_sex(tmp_path):
    catalog = _catalog(tmp_path)
    frame = _frame([("caf_rsa", "Q-UN-NORD", 20.0), ("caf_rsa_femmes", "Q-UN-NORD", 3.0),
                    ("caf_rsa_hommes", "Q-UN-NORD", 17.0)])
    masked_only_primary = (frame["indicator"] == "caf_rsa_femmes").to_numpy()
    assert not audit(frame, catalog, masked_only_primary, Viewer("all")).ok   # 20 - 17
    out = _check(frame, catalog)
    assert not (_shown(out, "caf_rsa", "Q-UN-NORD") and _shown(out, "caf_rsa_hommes",
                                                                 "Q-UN-NORD"))


def test_information_loss_is_the_smallest_cell_that_protects(tmp_path):
    catalog = _catalog(tmp_path)
    frame = _frame([("caf_rsa", "99002", 300.0), ("caf_rsa", "Q-DEUX-EST", 2.0),
                    ("caf_rsa", "Q-DEUX-OUEST", 298.0), ("caf_rsa", "299000001", 900.0),
                    ("caf_rsa", "99001", 600.0), ("caf_rsa", "Q-UN-NORD", 590.0),
                    ("caf_rsa", "Q-UN-SUD", 10.0)])
    out = _check(frame, catalog)
    # hiding Ouest (298) is the one complementary cell needed: nothing above it is touched
    assert sorted(out.loc[out["masked"], "territory"]) == ["Q-DEUX-EST", "Q-DEUX-OUEST"]


def _random_tree(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for period in ("2025-01", "2025-02", "2025-03"):
        q = {c: int(v) for c, v in zip(["Q-UN-NORD", "Q-UN-SUD", "Q-DEUX-EST", "Q-DEUX-OUEST"],
                                        rng.integers(0, 12, 4), strict=True)}
        c1, c2 = q["Q-UN-NORD"] + q["Q-UN-SUD"], q["Q-DEUX-EST"] + q["Q-DEUX-OUEST"]
        values = {**q, "99001": c1, "99002": c2, "299000001": c1 + c2}
        rows += [{"indicator": "caf_rsa", "territory": t, "period": period, "value": float(v),
                  "status": "ok"} for t, v in values.items()]
    return pd.DataFrame(rows)


def test_two_restarts_give_the_same_mask(tmp_path):
    """The mask is a function of the data: two fresh processes (different hash seeds,
    rows in a different order) give the same hidden cells."""
    catalog_root = write_catalog(tmp_path) / "catalog"
    frame = _random_tree(7)
    data = tmp_path / "frame.csv"
    frame.sample(frac=1.0, random_state=3).to_csv(data, index=False)
    script = ("import sys, pandas as pd; from pathlib import Path;"
              "from veille.catalog import load_catalog; from veille.secrecy import mask;"
              "f = pd.read_csv(sys.argv[1], dtype={'territory': str, 'period': str});"
              "m = mask(f, load_catalog(Path(sys.argv[2])));"
              "print(sorted(map(tuple, m.loc[m.masked, ['territory', 'period']].values)))")
    outputs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(REPO))
        done = subprocess.run([sys.executable, "-c", script, str(data), str(catalog_root)],
                              capture_output=True, text=True, env=env, check=True)
        outputs.append(done.stdout.strip().splitlines()[-1])
    assert outputs[0] == outputs[1]
    assert outputs[0] != "[]"


def test_random_trees_leave_no_cell_under_protected(tmp_path):
    catalog = _catalog(tmp_path)
    for seed in range(5):
        _check(_random_tree(seed), catalog)
