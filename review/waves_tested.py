"""Per wave: how many series were tested, how many were not, and why (in French), for
the review page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from detectors.untested import BY_CODE, REASON_FR
from veille.store import series_tests as test_store


@dataclass(frozen=True)
class WaveCount:
    delivery_id: int
    period: str
    tested: int | None  # None: a wave recorded before explain_0001
    untested: int
    reasons: list[tuple[str, int]]  # (French label, series)


def wave_counts(conn: Connection, limit: int = 12) -> list[WaveCount]:
    """The latest ``limit`` waves, newest first."""
    out = []
    for run in test_store.runs(conn)[:limit]:
        counts = run.get("untested")
        if counts is None:
            out.append(WaveCount(run["delivery_id"], run["period"], None, 0, []))
            continue
        out.append(WaveCount(run["delivery_id"], run["period"], int(run["n_tested"] or 0),
                             sum(counts.values()),
                             [(REASON_FR[BY_CODE[c]], int(n)) for c, n in counts.items()]))
    return out
