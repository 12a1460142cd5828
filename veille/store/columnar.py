"""Columnar history: one dense matrix (territories x periods) per indicator, for bulk reads.

Detection needs whole series for every territory at once; reading hundreds of millions of
rows from SQL for each wave would not scale. The store stays the system of record; this is
a derived copy, kept in step by applying accepted deliveries in delivery order (the same
"latest arrival wins" rule as ``observations.superseded_by``). Each indicator's folder
records the last delivery it has applied (its watermark), so a copy that lags the store —
after a crash, or a new machine — is brought up to date from the store, and can always be
rebuilt from scratch with :meth:`ColumnarHistory.rebuild`.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from veille.periods import Periodicity, from_ordinal, ordinal, periodicity_of
from veille.store import deliveries
from veille.store.schema import observations

ARRAYS = ("value", "numerator", "denominator")


@dataclass
class IndicatorMatrix:
    """All current values of one indicator: rows are territories, columns periods."""

    indicator: str
    periodicity: Periodicity
    first_ordinal: int
    territories: list[str]
    value: np.ndarray
    numerator: np.ndarray
    denominator: np.ndarray
    watermark: int = 0

    @property
    def periods(self) -> list[str]:
        return [from_ordinal(self.first_ordinal + i, self.periodicity)
                for i in range(self.value.shape[1])]

    def column(self, period: str) -> int:
        return ordinal(period) - self.first_ordinal

    def rows(self, codes: list[str]) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.territories)}
        return np.array([index[c] for c in codes], dtype=np.int64)

    def apply(self, frame: pd.DataFrame) -> None:
        """Write observations (territory, period, value, numerator, denominator) in place,
        growing the matrix for new territories or periods. Secret values arrive as NaN."""
        if frame.empty:
            return
        ords = frame["period"].map(ordinal).to_numpy()
        lo = min(int(ords.min()), self.first_ordinal) if self.value.size else int(ords.min())
        hi = max(int(ords.max()), self.first_ordinal + self.value.shape[1] - 1
                 ) if self.value.size else int(ords.max())
        known = set(self.territories)
        new_codes = sorted(set(frame["territory"]) - known)
        if new_codes or lo != self.first_ordinal or hi - lo + 1 != self.value.shape[1]:
            self._grow(self.territories + new_codes, lo, hi - lo + 1)
        rows = self.rows(frame["territory"].tolist())
        cols = ords - self.first_ordinal
        for name in ARRAYS:
            getattr(self, name)[rows, cols] = frame[name].to_numpy(dtype=float)

    def _grow(self, territories: list[str], first: int, width: int) -> None:
        shape = (len(territories), width)
        offset = self.first_ordinal - first
        for name in ARRAYS:
            grown = np.full(shape, np.nan)
            old = getattr(self, name)
            if old.size:
                grown[: old.shape[0], offset: offset + old.shape[1]] = old
            setattr(self, name, grown)
        self.territories = territories
        self.first_ordinal = first


class ColumnarHistory:
    """The folder of indicator matrices: ``<workspace>/history/<indicator>/``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _dir(self, indicator: str) -> Path:
        return self.folder / indicator

    def load(self, indicator: str, *, mmap: bool = False) -> IndicatorMatrix | None:
        meta_path = self._dir(indicator) / "meta.json"
        if not meta_path.exists():
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        mode: Literal["r"] | None = "r" if mmap else None
        arrays = {name: np.load(self._dir(indicator) / f"{name}.npy", mmap_mode=mode)
                  for name in ARRAYS}
        return IndicatorMatrix(indicator, Periodicity(meta["periodicity"]),
                               int(meta["first_ordinal"]), list(meta["territories"]),
                               watermark=int(meta["watermark"]), **arrays)

    def save(self, matrix: IndicatorMatrix) -> None:
        """Write atomically: a new folder replaces the old one in one rename."""
        final = self._dir(matrix.indicator)
        tmp = final.with_name(final.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name in ARRAYS:
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(getattr(matrix, name)))
        (tmp / "meta.json").write_text(json.dumps({
            "periodicity": matrix.periodicity.value, "first_ordinal": matrix.first_ordinal,
            "territories": matrix.territories, "watermark": matrix.watermark}),
            encoding="utf-8")
        old = final.with_name(final.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)

    def sync(self, engine: Engine, indicators: list[str] | None = None) -> dict[str, int]:
        """Apply every accepted delivery the copies have not seen yet; returns the number
        of deliveries applied per indicator."""
        with engine.connect() as conn:
            accepted = deliveries.accepted_since(conn, 0)
        wanted = set(indicators) if indicators is not None else {
            code for d in accepted for code in d.indicators}
        todo: dict[str, list[int]] = {}
        for indicator in sorted(wanted):
            matrix = self.load(indicator, mmap=True)
            watermark = matrix.watermark if matrix is not None else 0
            ids = [d.id for d in accepted if d.id > watermark and indicator in d.indicators]
            if ids:
                todo[indicator] = ids
        if not todo:
            return {}
        wanted_ids = {i for ids in todo.values() for i in ids}
        periods = sorted({p for d in accepted if d.id in wanted_ids for p in d.periods})
        rows = _read_rows(engine, sorted(todo), sorted(wanted_ids), periods)
        applied: dict[str, int] = {}
        for indicator, ids in todo.items():
            mine = rows[rows["indicator"] == indicator]
            matrix = self.load(indicator)
            if matrix is None:
                periodicity = periodicity_of(str(mine["period"].iloc[0]))
                matrix = IndicatorMatrix(indicator, periodicity, 0, [], *(np.empty((0, 0)),) * 3)
            for delivery_id in ids:
                matrix.apply(mine[mine["delivery_id"] == delivery_id])
            matrix.watermark = ids[-1]
            self.save(matrix)
            applied[indicator] = len(ids)
        return applied

    def rebuild(self, engine: Engine) -> dict[str, int]:
        """Drop every copy and rebuild it from the store."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.sync(engine)


def _read_rows(engine: Engine, indicators: list[str], delivery_ids: list[int],
               periods: list[str]) -> pd.DataFrame:
    """The rows of some deliveries for some indicators, found through the observation index
    (indicator, period, territory) with the periods those deliveries cover."""
    query = (select(observations.c.indicator, observations.c.territory, observations.c.period,
                    observations.c.value, observations.c.numerator, observations.c.denominator,
                    observations.c.delivery_id)
             .where(observations.c.indicator.in_(indicators),
                    observations.c.period.in_(periods),
                    observations.c.delivery_id.in_(delivery_ids))
             .order_by(observations.c.delivery_id))
    with engine.connect() as conn:
        result = conn.execute(query)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    for name in ARRAYS:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    return frame
