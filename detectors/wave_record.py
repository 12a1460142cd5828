"""The wave's record of every series it touched: tested or why not, how, and the verdict.

Made from what the wave computed (the screen's reasons, p-values and variances, then
Benjamini-Hochberg's judgement), never recomputed later, so that ``veille explain`` tells
why a series was or was not reported with the state its wave saw. It is stored one block
per indicator (`veille.store.series_tests`); the distributed runner writes the screen's
part when it plans a wave and completes it when the wave concludes.

Compact by construction: per series only what every series has (four reason codes, four
screened p-values in single precision, the variance, two flags, the territory code: about
60 bytes); the confirmed tests — a few thousand in a national wave of 1.7 million series —
keep their p-value, q-value, verdict, method and baseline as JSON details.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any

import numpy as np

from detectors.design import TEST_KINDS
from detectors.screen import VARIANCE, ScreenResult
from detectors.untested import Untested, count_untested, series_reason
from detectors.wave import Judgement

DETAILS = ("p", "q", "reported", "method", "observed", "expected", "interval_low",
           "interval_high", "direction", "rel_change")
"""What a confirmed test keeps (beside its baseline): its p-value, BH q-value and verdict,
and its ``Confirmed`` evidence."""
SEASONAL, FOLLOW = 1, 2
"""Bits of a series' ``flags``: seasonal baseline; judged in the follow-up family."""


@dataclass
class SeriesTests:
    """Rows: the wave's batch rows in order, then the series it could not take in (no value
    at its period). ``untested`` and ``screen_p`` are (n, 4) (why not made; the screen's
    approximate p), ``variance`` (n, 7) `detectors.screen.VARIANCE`, ``flags`` (n,)
    ``SEASONAL | FOLLOW``; ``details`` (row, test index) -> `DETAILS` of confirmed tests."""

    keys: list[tuple[str, str]]
    untested: np.ndarray
    screen_p: np.ndarray
    variance: np.ndarray
    flags: np.ndarray
    n_batch: int
    details: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    cutoff: float = float("nan")  # the screen's: approximate p above it never confirmed

    @property
    def n_series(self) -> int:
        return len(self.keys)


def screened(keys: list[tuple[str, str]], scr: ScreenResult,
             absent: list[tuple[str, str, Untested]]) -> SeriesTests:
    """The screen's part of the record (``absent``: series without a value at the period,
    with their reason)."""
    n, k, m = len(keys), len(TEST_KINDS), len(absent)
    untested = scr.untested if scr.untested is not None else np.where(
        scr.testable, Untested.TESTED, Untested.NOT_IDENTIFIABLE)
    variance = (scr.variance if scr.variance is not None
                else np.full((n, len(VARIANCE)), np.nan))
    seasonal = scr.seasonal if scr.seasonal is not None else np.ones(n, dtype=bool)
    gone = np.array([[code] * k for *_, code in absent], dtype=np.uint8).reshape(m, k)
    return SeriesTests(
        keys=list(keys) + [(ind, terr) for ind, terr, _ in absent],
        untested=np.vstack([untested.astype(np.uint8), gone]),
        screen_p=np.vstack([scr.pvalues.astype(np.float32), np.full((m, k), np.nan,
                                                                   dtype=np.float32)]),
        variance=np.vstack([variance.astype(np.float32),
                            np.full((m, len(VARIANCE)), np.nan, dtype=np.float32)]),
        flags=np.concatenate([np.where(seasonal, SEASONAL, 0),
                              np.zeros(m)]).astype(np.uint8),
        n_batch=n,
        cutoff=float(scr.cutoff),
    )


def concluded(tests: SeriesTests, judgement: Judgement,
              running: np.ndarray | None = None) -> SeriesTests:
    """The record completed with the judgement (its outcomes' rows are the batch's)."""
    if running is not None:
        tests.flags[: tests.n_batch] |= np.where(running, FOLLOW, 0).astype(np.uint8)
    for k, outcome in enumerate(judgement.outcomes):
        c = outcome.confirmed
        detail = {name: getattr(c, name) for name in DETAILS[3:]}
        tests.details[(c.series, TEST_KINDS.index(c.kind))] = _jsonable(dict(
            detail, p=c.pvalue, q=judgement.qvalues[k], reported=bool(judgement.reject[k]),
            baseline=outcome.baseline))
    return tests


def run_summary(tests: SeriesTests, judgement: Judgement | None) -> dict[str, Any]:
    """What the wave's run row says of it (`veille.store.schema.detection_runs`)."""
    reasons = series_reason(tests.untested)
    out: dict[str, Any] = dict(n_tested=int((reasons == Untested.TESTED).sum()),
                               untested=count_untested(tests.untested),
                               screen_cutoff=_num(tests.cutoff))
    if judgement is not None:
        out.update(bh_threshold=judgement.threshold, n_follow_tests=judgement.m_follow,
                   follow_threshold=judgement.follow_threshold,
                   n_rejected=judgement.n_rejected,
                   n_follow_rejected=judgement.n_follow_rejected)
    return out


def blocks(tests: SeriesTests) -> dict[str, tuple[dict[str, Any], list[dict]]]:
    """The record cut by indicator, as the store keeps it (``row``: the series' row in the
    record, so that it can be put back in the batch's order)."""
    runs: dict[str, list[tuple[int, int]]] = {}  # an indicator's rows come in runs
    start = 0
    for indicator, group in groupby(tests.keys, key=itemgetter(0)):
        stop = start + len(list(group))
        runs.setdefault(indicator, []).append((start, stop))
        start = stop
    confirmed: dict[str, list[tuple[int, int]]] = {}
    for i, j in sorted(tests.details):
        confirmed.setdefault(tests.keys[i][0], []).append((i, j))
    out = {}
    for indicator, spans in runs.items():
        idx = np.concatenate([np.arange(a, b) for a, b in spans])
        names = [name for a, b in spans for name in map(itemgetter(1), tests.keys[a:b])]
        arrays: dict[str, Any] = {
            "territory": names, "row": idx.astype(np.int32),
            "untested": tests.untested[idx], "screen_p": tests.screen_p[idx],
            "variance": tests.variance[idx], "flags": tests.flags[idx],
            "cutoff": np.array(tests.cutoff), "n_batch": np.array(tests.n_batch)}
        details = [dict(tests.details[(i, j)], row=int(np.searchsorted(idx, i)),
                        test=TEST_KINDS[j]) for i, j in confirmed.get(indicator, [])]
        out[indicator] = (arrays, details)
    return out


def from_blocks(parts: list[tuple[str, dict[str, np.ndarray], list[dict]]]) -> SeriesTests:
    """A wave's record read back from its blocks (indicator, arrays, details), its rows in
    the batch's order again."""
    if not parts:
        raise ValueError("a wave's record needs at least one block")
    n = sum(len(a["row"]) for _, a, _ in parts)
    k = len(TEST_KINDS)
    keys: list[tuple[str, str]] = [("", "")] * n
    untested = np.zeros((n, k), dtype=np.uint8)
    screen_p = np.zeros((n, k), dtype=np.float32)
    variance = np.zeros((n, len(VARIANCE)), dtype=np.float32)
    flags = np.zeros(n, dtype=np.uint8)
    details: dict[tuple[int, int], dict[str, Any]] = {}
    for indicator, a, block_details in parts:
        rows = a["row"].astype(np.int64)
        for r, t in zip(rows.tolist(), a["territory"].tolist(), strict=True):
            keys[r] = (indicator, t)
        untested[rows], screen_p[rows] = a["untested"], a["screen_p"]
        variance[rows], flags[rows] = a["variance"], a["flags"]
        for d in block_details:
            rest = {key: v for key, v in d.items() if key not in ("row", "test")}
            details[(int(rows[int(d["row"])]), TEST_KINDS.index(d["test"]))] = rest
    first = parts[0][1]
    return SeriesTests(keys, untested, screen_p, variance, flags, int(first["n_batch"]),
                       details, float(first["cutoff"]))


def dense(arrays: dict[str, np.ndarray], details: list[dict]) -> dict[str, np.ndarray]:
    """One block's per-test arrays, confirmed tests included: ``p``, ``q`` (NaN where not
    confirmed), ``reported``, and the flags as ``seasonal`` and ``follow``."""
    n, k = arrays["untested"].shape
    out = dict(arrays, p=np.full((n, k), np.nan), q=np.full((n, k), np.nan),
               reported=np.zeros((n, k), dtype=bool),
               seasonal=(arrays["flags"] & SEASONAL) > 0, follow=(arrays["flags"] & FOLLOW) > 0)
    for d in details:
        r, j = int(d["row"]), TEST_KINDS.index(d["test"])
        out["p"][r, j] = np.nan if d["p"] is None else d["p"]
        out["q"][r, j] = np.nan if d["q"] is None else d["q"]
        out["reported"][r, j] = bool(d["reported"])
    return out


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
