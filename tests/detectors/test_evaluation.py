"""Scoring against known changes: detection windows by kind, true and false shifts."""

from __future__ import annotations

from detectors.evaluation import changes_from_truth, score

TRUTH = {"changes": [
    {"id": "t1", "indicator": "ft_a", "territory": "Q1", "territory_kind": "quartier",
     "kind": "trend_change", "first_period": "2024-Q2", "last_period": None,
     "size_reached_period": "2025-Q3", "small": False},
    {"id": "s1", "indicator": "pol_x", "territory": "99001", "territory_kind": "commune",
     "kind": "spike", "first_period": "2025-02", "last_period": "2025-02",
     "size_reached_period": "2025-02", "small": False},
]}
CHILDREN = {"99001": ["Q1", "Q2"]}


def _shift(indicator: str, territory: str, period: str) -> dict:
    return {"indicator": indicator, "territory": territory, "period": period,
            "status": "active"}


def test_a_trend_change_counts_until_the_period_after_it_reaches_its_size() -> None:
    changes = changes_from_truth(TRUTH, CHILDREN)
    on_time = score([_shift("ft_a", "Q1", "2025-Q4")], changes)
    too_late = score([_shift("ft_a", "Q1", "2026-Q1")], changes)
    assert on_time.found["t1"] and not too_late.found["t1"]
    assert too_late.true_shifts == 1  # still explained by the running change, not a false alarm


def test_a_spike_must_be_found_at_once_and_its_commune_news_reaches_neighbourhoods() -> None:
    changes = changes_from_truth(TRUTH, CHILDREN)
    result = score([_shift("pol_x", "99001", "2025-03"), _shift("pol_x", "Q2", "2025-02"),
                    _shift("pol_x", "99002", "2025-02")], changes)
    assert result.found["s1"]  # the next period still counts for a one-period change
    assert result.true_shifts == 2
    assert [s["territory"] for s in result.false_shifts] == ["99002"]
    assert score([_shift("pol_x", "99001", "2025-04")], changes).found["s1"] is False
