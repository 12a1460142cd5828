"""Per-series test results of each wave: one compact block per wave and indicator.

A block is named arrays (one entry per series, or per series and test), saved as a
compressed npz (no pickles), and the JSON details of the tests that were confirmed.
``veille explain`` and the site read these, never a recomputation: a series is explained
with the state its wave saw. One row per indicator keeps a national wave to a few hundred
rows (one per series would be hundreds of thousands) and reading one series reads one
indicator's block only.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, insert, select

from veille.store.schema import detection_runs, series_tests

TERRITORY = "territory"
"""The entry of a block naming its series' territories, in the order of its arrays' rows."""


@dataclass
class Block:
    """One wave's test results for one indicator."""

    delivery_id: int
    indicator: str
    period: str
    arrays: dict[str, np.ndarray]
    details: list[dict[str, Any]]

    def row(self, territory: str) -> int | None:
        found = np.flatnonzero(self.arrays[TERRITORY] == territory)
        return int(found[0]) if found.size else None


def encode(arrays: Mapping[str, Any]) -> bytes:
    """An npz, stored without deflate: p-values and variances are random mantissas that
    deflate shrinks by a tenth at ten times the time. The territories, a list of codes,
    travel as one newline-joined UTF-8 array."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for name, value in arrays.items():
            if name == TERRITORY:
                value = np.frombuffer("\n".join(value).encode(), dtype=np.uint8)
            with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
                np.lib.format.write_array(out, np.asarray(value), allow_pickle=False)
    return buffer.getvalue()


def decode(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        out = {name: npz[name] for name in npz.files}
    if TERRITORY in out:
        text = out[TERRITORY].tobytes().decode()
        out[TERRITORY] = np.array(text.split("\n") if text else [], dtype=str)
    return out


def write_wave(conn: Connection, delivery_id: int, period: str,
               blocks: Mapping[str, tuple[Mapping[str, Any], list[dict[str, Any]]]],
               ) -> None:
    """Replace the wave's blocks (the distributed runner writes the screen's part when it
    plans a wave and the whole record when it concludes it)."""
    conn.execute(delete(series_tests).where(series_tests.c.delivery_id == delivery_id))
    rows = [dict(delivery_id=delivery_id, indicator=indicator, period=period,
                 n_series=len(arrays[TERRITORY]), arrays=encode(arrays),
                 details=details)
            for indicator, (arrays, details) in blocks.items()]
    if rows:
        conn.execute(insert(series_tests), rows)


def read_wave(conn: Connection, delivery_id: int) -> list[Block]:
    rows = conn.execute(select(series_tests).where(series_tests.c.delivery_id == delivery_id)
                        .order_by(series_tests.c.indicator))
    return [_block(r) for r in rows]


def blocks_of(conn: Connection, indicator: str, period: str | None = None) -> list[Block]:
    """The indicator's blocks, newest wave first (several deliveries may test a period:
    a revision is a wave of its own); ``period`` keeps that period's only."""
    query = select(series_tests).where(series_tests.c.indicator == indicator)
    if period is not None:
        query = query.where(series_tests.c.period == period)
    rows = conn.execute(query.order_by(series_tests.c.period.desc(),
                                       series_tests.c.delivery_id.desc()))
    return [_block(r) for r in rows]


def run_of(conn: Connection, delivery_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(detection_runs)
                       .where(detection_runs.c.delivery_id == delivery_id)).first()
    return dict(row._mapping) if row is not None else None


def runs(conn: Connection) -> list[dict[str, Any]]:
    """Every wave's run, newest first."""
    rows = conn.execute(select(detection_runs).order_by(detection_runs.c.delivery_id.desc()))
    return [dict(r._mapping) for r in rows]


def _block(row: Any) -> Block:
    return Block(int(row.delivery_id), str(row.indicator), str(row.period),
                 decode(bytes(row.arrays)), list(row.details))
