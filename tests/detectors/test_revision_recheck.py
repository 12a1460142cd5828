"""A revision re-tests the later periods whose shifts were found on the faulty values:
the stale shift is retracted (kept, with its reason), the real one stays — SQLite and
PostgreSQL, through the embedded pipeline."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from cli.jobs import ingest_files
from factories import QUARTIERS, write_catalog
from veille.clock import FixedClock
from veille.periods import period_range
from veille.runtime import Runtime, open_runtime
from veille.store.outbox import events_of
from veille.store.shifts import list_shifts

MONTHS = period_range("2020-01", "2024-12")
FAULTY = ["2024-09", "2024-10", "2024-11"]  # Q-UN-NORD's RSA understated by half
REAL = ("Q-UN-SUD", "2024-09")  # Q-UN-SUD's RSA really doubles from this month


@pytest.fixture
def runtime(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    clock = FixedClock(dt.datetime(2025, 2, 10, 9, tzinfo=dt.UTC))
    return open_runtime(write_catalog(tmp_path / "ws"), clock=clock)


def _values(seed: int = 7) -> dict[tuple[str, str], tuple[int, int]]:
    """(quartier, month) -> (allocataires, RSA): Poisson draws with a mild season."""
    rng = np.random.default_rng(seed)
    out = {}
    for i, q in enumerate(QUARTIERS):
        for k, month in enumerate(MONTHS):
            season = 1 + 0.05 * np.cos(2 * np.pi * k / 12)
            rsa_mean = (40 + 5 * i) * season * (2.0 if (q, month) >= REAL and q == REAL[0]
                                                else 1.0)
            out[(q, month)] = (int(rng.poisson(400 + 20 * i)), int(rng.poisson(rsa_mean)))
    return out


def _file(folder: Path, name: str, values: dict, months: list[str], faulty: bool) -> Path:
    lines = ["Allocataires CAF par quartier - fichier de test (données fictives)",
             "code;mois;ALLOC;RSA;PART_RSA"]
    for month in months:
        for q in QUARTIERS:
            alloc, rsa = values[(q, month)]
            if faulty and q == "Q-UN-NORD" and month in FAULTY:
                rsa //= 2
            share = f"{rsa / alloc * 100:.1f}".replace(".", ",")
            lines.append(f"{q};{month};{alloc};{rsa};{share}")
    path = folder / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))
    return path


def _rsa_shifts(runtime: Runtime, territory: str) -> list[dict]:
    with runtime.engine.connect() as conn:
        return list_shifts(conn, territory=[territory], indicators=["caf_rsa"])


def test_revision_retracts_the_later_shift_found_on_faulty_values(runtime: Runtime,
                                                                   tmp_path: Path) -> None:
    values = _values()
    ingest_files(runtime, [_file(tmp_path, "caf_2020-01_2024-12.csv", values, MONTHS, True)])
    stale = [s for s in _rsa_shifts(runtime, "Q-UN-NORD") if s["status"] == "active"]
    real = [s for s in _rsa_shifts(runtime, "Q-UN-SUD") if s["status"] == "active"]
    assert [(s["period"], s["direction"]) for s in stale] == [("2024-12", -1)], stale
    assert [(s["period"], s["direction"]) for s in real] == [("2024-12", 1)], real

    summary = ingest_files(runtime, [_file(tmp_path, "caf_2024-09_2024-11_rectificatif.csv",
                                           values, FAULTY, False)])
    assert summary.accepted == 1
    revision = summary.outcomes[0][1].event.delivery_id
    after = {s["shift_id"]: s for s in _rsa_shifts(runtime, "Q-UN-NORD")}
    gone = after[stale[0]["shift_id"]]
    assert gone["status"] == "retracted"
    assert gone["retraction_reason"] == (
        f"no longer significant at 2024-12 once delivery {revision} revised 2024-09 to 2024-11")
    kept = {s["shift_id"]: s for s in _rsa_shifts(runtime, "Q-UN-SUD")}
    assert kept[real[0]["shift_id"]]["status"] == "active"
    retracted = [e for e in events_of(runtime.engine, "ShiftRetracted")
                 if e.shift_id == stale[0]["shift_id"]]
    assert len(retracted) == 1 and retracted[0].period == "2024-12"

    # The same revision dropped again changes nothing (the recheck runs once per delivery).
    before = len(events_of(runtime.engine, "ShiftRetracted"))
    again = ingest_files(runtime, [_file(tmp_path, "caf_2024-09_2024-11_rectificatif.csv",
                                         values, FAULTY, False)])
    assert again.duplicates == 1
    assert len(events_of(runtime.engine, "ShiftRetracted")) == before
