"""The input of the detectors: many aligned series of one periodicity.

A delivery wave is screened as one 2-D array so that the cheap pass is vectorised; the
metadata that changes the statistics (count or rate, exposure, definition breaks, parent
territory) travels beside the values, one entry per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KINDS = ("count", "rate", "amount")
SEASON_LENGTHS = (1, 4, 12)


@dataclass
class SeriesBatch:
    """Series of the same periodicity on one period axis (rows = series, columns = periods).

    ``values`` holds NaN for missing or secret cells: a secret cell is never a zero.
    ``exposure`` is the population (counts) or the denominator (rates, value = num/den).
    ``breaks[i]`` is the first period of the current definition segment, or -1.
    ``parent[i]`` is the row of the reference territory's series of the same indicator, or -1.
    """

    keys: list[tuple[str, str]]
    periods: list[str]
    season_length: int
    values: np.ndarray
    exposure: np.ndarray | None = None
    kind: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    polarity: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    breaks: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    parent: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=float)
        if self.values.ndim != 2:
            raise ValueError("values must be a 2-D array (series x periods)")
        n, t = self.values.shape
        if len(self.keys) != n:
            raise ValueError(f"{len(self.keys)} keys for {n} series")
        if len(self.periods) != t:
            raise ValueError(f"{len(self.periods)} period labels for {t} columns")
        if self.season_length not in SEASON_LENGTHS:
            raise ValueError(f"season_length must be one of {SEASON_LENGTHS}")
        if self.exposure is not None:
            self.exposure = np.asarray(self.exposure, dtype=float)
            if self.exposure.shape != self.values.shape:
                raise ValueError("exposure must have the shape of values")
        self.kind = _per_series(self.kind, n, "count", object)
        bad = set(self.kind.tolist()) - set(KINDS)
        if bad:
            raise ValueError(f"unknown series kind(s) {sorted(bad)}; expected {KINDS}")
        self.polarity = _per_series(self.polarity, n, 0, np.int64)
        self.breaks = _per_series(self.breaks, n, -1, np.int64)
        self.parent = _per_series(self.parent, n, -1, np.int64)
        if np.any(self.breaks >= t):
            raise ValueError("a break index is beyond the last period")
        if np.any(self.parent >= n) or np.any(self.parent == np.arange(n)):
            raise ValueError("parent must be another row of the batch or -1")

    @property
    def n_series(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_periods(self) -> int:
        return int(self.values.shape[1])

    def rows(self, index: np.ndarray) -> SeriesBatch:
        """A sub-batch (parents outside the selection become -1)."""
        index = np.asarray(index, dtype=np.int64)
        remap = np.full(self.n_series, -1, dtype=np.int64)
        remap[index] = np.arange(index.size)
        parent = self.parent[index]
        parent = np.where(parent >= 0, remap[np.maximum(parent, 0)], -1)
        return SeriesBatch(
            keys=[self.keys[i] for i in index],
            periods=list(self.periods),
            season_length=self.season_length,
            values=self.values[index],
            exposure=None if self.exposure is None else self.exposure[index],
            kind=self.kind[index],
            polarity=self.polarity[index],
            breaks=self.breaks[index],
            parent=parent,
        )


def _per_series(arr: np.ndarray, n: int, default: object, dtype: type) -> np.ndarray:
    arr = np.asarray(arr, dtype=dtype)
    if arr.size == 0:
        return np.full(n, default, dtype=dtype)
    if arr.shape != (n,):
        raise ValueError(f"per-series array of shape {arr.shape}, expected ({n},)")
    return arr
