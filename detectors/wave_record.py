"""The wave's record of every series it touched: tested or why not, how, and the verdict.

Made from what the wave computed (the screen's reasons, p-values and variances, then
Benjamini-Hochberg's judgement), never recomputed later, so that ``veille explain`` tells
why a series was or was not reported with the state its wave saw. It is stored one block
per indicator (`veille.store.series_tests`); the distributed runner writes the screen's
part when it plans a wave and completes it when the wave concludes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detectors.design import TEST_KINDS
from detectors.screen import VARIANCE, ScreenResult
from detectors.untested import Untested, count_untested, series_reason
from detectors.wave import Judgement

TERRITORY = "territory"
PER_TEST = ("untested", "screen_p", "candidate", "p", "q", "reported")
PER_SERIES = ("variance", "seasonal", "follow")
DETAILS = ("method", "baseline", "observed", "expected", "interval_low", "interval_high",
           "direction", "rel_change")
"""What a confirmed test keeps beside its p-value (its ``Confirmed`` and baseline)."""


@dataclass
class SeriesTests:
    """Rows: the wave's series, then the series it could not take in (no value at its
    period). Per test (n, 4): why not made, the screen's approximate p, whether it went to
    statsmodels, its confirmed p and BH q-value (NaN if not confirmed) and whether BH
    rejected it; per series: `detectors.screen.VARIANCE`, seasonal baseline, follow-up
    family; per confirmed test, keyed (row, test index): its `DETAILS`."""

    keys: list[tuple[str, str]]
    untested: np.ndarray
    screen_p: np.ndarray
    candidate: np.ndarray
    variance: np.ndarray
    seasonal: np.ndarray
    p: np.ndarray
    q: np.ndarray
    reported: np.ndarray
    follow: np.ndarray
    details: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    cutoff: float = float("nan")  # the screen's: approximate p above it never confirmed

    @property
    def n_series(self) -> int:
        return len(self.keys)


def screened(keys: list[tuple[str, str]], scr: ScreenResult,
             absent: list[tuple[str, str, Untested]]) -> SeriesTests:
    """The screen's part of the record (``absent``: series without a value at the period,
    with their reason)."""
    n, k = len(keys), len(TEST_KINDS)
    m = len(absent)
    untested = scr.untested if scr.untested is not None else np.where(
        scr.testable, Untested.TESTED, Untested.NOT_IDENTIFIABLE)
    variance = scr.variance if scr.variance is not None else np.full((n, len(VARIANCE)),
                                                                      np.nan)
    seasonal = scr.seasonal if scr.seasonal is not None else np.ones(n, dtype=bool)
    gone = np.array([[code] * k for *_, code in absent], dtype=np.uint8).reshape(m, k)
    return SeriesTests(
        keys=list(keys) + [(ind, terr) for ind, terr, _ in absent],
        untested=np.vstack([untested.astype(np.uint8), gone]),
        screen_p=np.vstack([scr.pvalues, np.full((m, k), np.nan)]),
        candidate=np.vstack([scr.candidates, np.zeros((m, k), dtype=bool)]),
        variance=np.vstack([variance, np.full((m, len(VARIANCE)), np.nan)]),
        seasonal=np.concatenate([seasonal, np.zeros(m, dtype=bool)]),
        p=np.full((n + m, k), np.nan),
        q=np.full((n + m, k), np.nan),
        reported=np.zeros((n + m, k), dtype=bool),
        follow=np.zeros(n + m, dtype=bool),
        cutoff=float(scr.cutoff),
    )


def concluded(tests: SeriesTests, judgement: Judgement, batch_keys: list[tuple[str, str]],
              running: np.ndarray | None = None) -> SeriesTests:
    """The record completed with the judgement (its outcomes' rows are rows of the batch
    whose keys are ``batch_keys``)."""
    index = {key: i for i, key in enumerate(tests.keys)}
    if running is not None:
        for row in np.flatnonzero(running):
            tests.follow[index[batch_keys[row]]] = True
    for k, outcome in enumerate(judgement.outcomes):
        c = outcome.confirmed
        i, j = index[batch_keys[c.series]], TEST_KINDS.index(c.kind)
        tests.p[i, j] = c.pvalue
        tests.q[i, j] = judgement.qvalues[k]
        tests.reported[i, j] = bool(judgement.reject[k])
        detail = {name: getattr(c, name) for name in DETAILS if name != "baseline"}
        tests.details[(i, j)] = dict(detail, baseline=outcome.baseline)
    return tests


def run_summary(tests: SeriesTests, judgement: Judgement | None) -> dict[str, Any]:
    """What the wave's run row says of it (`veille.store.schema.detection_runs`)."""
    reasons = series_reason(tests.untested)
    out: dict[str, Any] = dict(n_tested=int((reasons == Untested.TESTED).sum()),
                               untested=count_untested(tests.untested),
                               screen_cutoff=_num(tests.cutoff))
    if judgement is not None:
        out.update(bh_threshold=judgement.threshold, n_follow_tests=judgement.m_follow,
                   follow_threshold=judgement.follow_threshold)
    return out


def blocks(tests: SeriesTests) -> dict[str, tuple[dict[str, np.ndarray], list[dict]]]:
    """The record cut by indicator, as the store keeps it."""
    rows: dict[str, list[int]] = {}
    for i, (indicator, _) in enumerate(tests.keys):
        rows.setdefault(indicator, []).append(i)
    out = {}
    for indicator, idx_list in rows.items():
        idx = np.asarray(idx_list)
        arrays = {TERRITORY: np.array([tests.keys[i][1] for i in idx], dtype=str)}
        for name in PER_TEST + PER_SERIES:
            arrays[name] = getattr(tests, name)[idx]
        arrays["screen_p"] = arrays["screen_p"].astype(np.float32)
        arrays["variance"] = arrays["variance"].astype(np.float32)
        arrays["cutoff"] = np.array(tests.cutoff)
        where = {int(i): r for r, i in enumerate(idx)}
        details = [dict(_jsonable(d), row=where[i], test=TEST_KINDS[j])
                   for (i, j), d in sorted(tests.details.items()) if i in where]
        out[indicator] = (arrays, details)
    return out


def from_blocks(parts: list[tuple[str, dict[str, np.ndarray], list[dict]]]) -> SeriesTests:
    """A record read back from its blocks (indicator, arrays, details)."""
    keys: list[tuple[str, str]] = []
    columns: dict[str, list[np.ndarray]] = {name: [] for name in PER_TEST + PER_SERIES}
    details: dict[tuple[int, int], dict[str, Any]] = {}
    cutoff = float("nan")
    for indicator, arrays, block_details in parts:
        cutoff = float(arrays["cutoff"])
        start = len(keys)
        keys += [(indicator, str(t)) for t in arrays[TERRITORY]]
        for name in columns:
            columns[name].append(arrays[name])
        for d in block_details:
            rest = {k: v for k, v in d.items() if k not in ("row", "test")}
            details[(start + int(d["row"]), TEST_KINDS.index(d["test"]))] = rest
    stacked = {name: np.concatenate(parts_) for name, parts_ in columns.items()}
    stacked["screen_p"] = stacked["screen_p"].astype(float)
    stacked["variance"] = stacked["variance"].astype(float)
    return SeriesTests(keys=keys, details=details, cutoff=cutoff, **stacked)


def _num(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    """NaN as null (JSON has no NaN) and numpy scalars as Python ones."""
    out: dict[str, Any] = {}
    for k, v in detail.items():
        if isinstance(v, np.generic):
            v = v.item()
        out[k] = None if isinstance(v, float) and not np.isfinite(v) else v
    return out
