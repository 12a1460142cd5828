"""The secrecy rule: primary (secret status, small counts, small numerators) and
complementary suppression, so that no value is recoverable by subtraction."""

from __future__ import annotations

import pandas as pd

from factories import write_catalog
from veille.catalog import load_catalog
from veille.secrecy import mask, published_values, threshold_for


def _catalog(tmp_path):
    return load_catalog(write_catalog(tmp_path) / "catalog")


def _frame(rows):
    return pd.DataFrame([{"indicator": i, "territory": t, "period": "2025-06", "value": v,
                          "numerator": n, "denominator": d, "status": s}
                         for i, t, v, n, d, s in rows])


def test_threshold_comes_from_the_convention(tmp_path):
    catalog = _catalog(tmp_path)
    assert threshold_for(catalog, "caf_rsa") == 5


def test_primary_secret_and_small_counts(tmp_path):
    catalog = _catalog(tmp_path)
    out = mask(_frame([
        ("caf_rsa", "Q-DEUX-EST", None, None, None, "secret"),
        ("caf_rsa", "Q-DEUX-OUEST", 4.0, None, None, "ok"),
        ("part_rsa", "Q-UN-NORD", 1.0, 3.0, 300.0, "ok"),
        ("part_rsa", "Q-UN-SUD", 9.0, 27.0, 300.0, "ok"),
    ]), catalog)
    # the commune is not published here, so nothing can be recovered by subtraction
    assert out["secrecy"].tolist() == ["secret", "small", "small", ""]


def test_a_single_masked_child_is_protected_by_a_second_one(tmp_path):
    catalog = _catalog(tmp_path)
    shown = published_values(_frame([
        ("caf_rsa", "99001", 90.0, None, None, "ok"),
        ("caf_rsa", "Q-UN-NORD", 86.0, None, None, "ok"),
        ("caf_rsa", "Q-UN-SUD", 4.0, None, None, "ok"),
        ("caf_rsa", "99002", 300.0, None, None, "ok"),
        ("caf_rsa", "Q-DEUX-EST", 120.0, None, None, "ok"),
        ("caf_rsa", "Q-DEUX-OUEST", 180.0, None, None, "ok"),
    ]), catalog)
    # Sud (4) is secret; Nord would give it away (90 - 86), so Nord is masked too
    assert shown[("caf_rsa", "Q-UN-SUD", "2025-06")] is None
    assert shown[("caf_rsa", "Q-UN-NORD", "2025-06")] is None
    assert shown[("caf_rsa", "99001", "2025-06")] == 90.0
    assert shown[("caf_rsa", "Q-DEUX-EST", "2025-06")] == 120.0


def test_suppression_climbs_the_tree(tmp_path):
    catalog = _catalog(tmp_path)
    # agglomeration = 99001 + 99002; 99002 secret alone would be agglo - 99001
    shown = published_values(_frame([
        ("caf_rsa", "299000001", 400.0, None, None, "ok"),
        ("caf_rsa", "99001", 397.0, None, None, "ok"),
        ("caf_rsa", "99002", 3.0, None, None, "ok"),
        ("caf_rsa", "Q-DEUX-EST", 1.0, None, None, "ok"),
        ("caf_rsa", "Q-DEUX-OUEST", 2.0, None, None, "ok"),
    ]), catalog)
    assert shown[("caf_rsa", "99002", "2025-06")] is None
    assert shown[("caf_rsa", "99001", "2025-06")] is None
    assert shown[("caf_rsa", "299000001", "2025-06")] == 400.0
    # no group is left with exactly one unknown
    known = {t: v for (_, t, _), v in shown.items()}
    groups = {"299000001": ["99001", "99002"], "99002": ["Q-DEUX-EST", "Q-DEUX-OUEST"]}
    for parent, children in groups.items():
        unknown = [c for c in [parent, *children] if known.get(c) is None]
        assert len(unknown) != 1
