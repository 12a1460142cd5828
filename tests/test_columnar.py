"""The columnar history stays equal to the store's current values, through revisions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from veille.store import deliveries, make_engine, migrate
from veille.store import observations as obs
from veille.store.columnar import ColumnarHistory

NOW = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def _deliver(engine, digest: str, frame: pd.DataFrame) -> int:
    with engine.begin() as conn:
        d = deliveries.record_received(conn, content_hash=digest, convention_id="c",
                                       filename="f.csv", received_at=NOW,
                                       archive_path="/dev/null", size_bytes=1)
        obs.bulk_insert(conn, frame, d)
        periods = sorted(set(frame["period"]))
        indicators = sorted(set(frame["indicator"]))
        obs.supersede(conn, d, indicators, periods)
        deliveries.mark_accepted(conn, d, rows_read=len(frame), observation_count=len(frame),
                                 secret_count=0, revised_count=0, periods=periods,
                                 indicators=indicators)
    return d


def _frame(rng: np.random.Generator, periods: list[str], territories: list[str]) -> pd.DataFrame:
    rows = [(t, p) for p in periods for t in territories]
    values = rng.poisson(20, len(rows)).astype(float)
    values[rng.random(len(rows)) < 0.1] = np.nan
    return pd.DataFrame({"indicator": "rsa", "territory": [r[0] for r in rows],
                         "period": [r[1] for r in rows], "value": values,
                         "numerator": np.nan, "denominator": 100.0,
                         "status": np.where(np.isnan(values), "secret", "ok")})


def _matrix_as_frame(history: ColumnarHistory) -> pd.DataFrame:
    m = history.load("rsa")
    assert m is not None
    out = pd.DataFrame(m.value, index=m.territories, columns=m.periods).stack(future_stack=True)
    return out.rename("value").rename_axis(["territory", "period"]).reset_index()


def test_incremental_sync_matches_store_and_rebuild(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    rng = np.random.default_rng(7)
    history = ColumnarHistory(tmp_path / "history")
    _deliver(engine, "a" * 64, _frame(rng, ["2024-01", "2024-02"], ["A", "B"]))
    assert history.sync(engine) == {"rsa": 1}
    _deliver(engine, "b" * 64, _frame(rng, ["2024-04"], ["A", "B", "C"]))
    revised = _frame(rng, ["2024-02"], ["B"])
    revised["value"] = 999.0
    last = _deliver(engine, "c" * 64, revised)
    assert history.sync(engine) == {"rsa": 2}
    assert history.sync(engine) == {}
    matrix = history.load("rsa")
    assert matrix is not None and matrix.watermark == last
    assert matrix.periods == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert matrix.territories == ["A", "B", "C"]
    assert matrix.value[1, 1] == 999.0
    assert np.isnan(matrix.value[:, 2]).all()

    with engine.connect() as conn:
        current = obs.current(conn, indicators=["rsa"])[["territory", "period", "value"]]
    merged = _matrix_as_frame(history).merge(current, on=["territory", "period"], how="inner",
                                             suffixes=("_matrix", "_store"))
    assert len(merged) == len(current)
    assert np.allclose(merged["value_matrix"], merged["value_store"].astype(float),
                       equal_nan=True)

    incremental = _matrix_as_frame(history)
    history.rebuild(engine)
    pd.testing.assert_frame_equal(incremental, _matrix_as_frame(history))
