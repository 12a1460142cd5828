"""The detect stage: ObservationsRecorded -> ShiftDetected / ShiftRetracted.

The wave's history is read from the columnar copy (brought up to date from the store
first), every series the delivery touched is tested at the delivery's latest period in
one FDR family (series holding a running shift are follow-ups, judged in a family of their
own: `detectors.wave.conclude_wave`), and the outcome is written to the store with its
events in one transaction. Running it twice for the same delivery changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection, Engine

from detectors.batch import SeriesBatch
from detectors.untested import Untested
from detectors.wave import Finding, WaveResult, detect_wave
from detectors.wave_record import SeriesTests, blocks, concluded, run_summary, screened
from veille.catalog import Catalog
from veille.clock import Clock
from veille.events import Event, ObservationsRecorded, ShiftDetected, ShiftRetracted
from veille.model import Indicator, IndicatorKind
from veille.periods import Periodicity, from_ordinal, ordinal, periodicity_of
from veille.store import series_tests as test_store
from veille.store import shifts as shift_store
from veille.store.columnar import ColumnarHistory, IndicatorMatrix
from veille.store.outbox import record_event

WINDOW = {Periodicity.MONTHLY: 120, Periodicity.QUARTERLY: 40, Periodicity.ANNUAL: 12}
"""How many periods of history a wave is compared with (ten years)."""

CONTINUATION = {Periodicity.MONTHLY: 3, Periodicity.QUARTERLY: 2, Periodicity.ANNUAL: 1}
"""A same-direction finding this close after an active shift is the same news, not new news."""

CHART_POINTS = 36


@dataclass(frozen=True)
class WaveInput:
    batch: SeriesBatch
    periodicity: Periodicity
    period: str
    absent: list[tuple[str, str, Untested]] = field(default_factory=list)
    """Series of the wave's indicators with no value at its period (none of their tests
    can be made), with the reason: unpublished there, or not started yet."""


def shift_id(indicator: str, territory: str, period: str, kind: str) -> str:
    return hashlib.sha1(
        f"{indicator}|{territory}|{period}|{kind}".encode(), usedforsecurity=False
    ).hexdigest()[:16]


def build_batch(
    catalog: Catalog, history: ColumnarHistory, indicators: list[str], period: str
) -> WaveInput | None:
    """Every series of ``indicators`` with a value at ``period``, on a common window
    ending at ``period`` (values after it are ignored: a late revision is judged as of
    its own period).

    A national wave is millions of rows: the rows to keep are found first, then the
    wave's two arrays are allocated once and filled straight from the memory-mapped
    matrices (no per-indicator blocks stacked afterwards, which doubled the peak)."""
    end = ordinal(period)
    plan = []
    absent: list[tuple[str, str, Untested]] = []
    periodicity: Periodicity | None = None
    for code in indicators:
        indicator = catalog.indicators.get(code)
        matrix = history.load(code, mmap=True)
        if indicator is None or matrix is None:
            continue
        if periodicity is not None and matrix.periodicity is not periodicity:
            continue
        col_end = end - matrix.first_ordinal
        if col_end < 0 or col_end >= matrix.value.shape[1]:
            continue
        rows = np.flatnonzero(~np.isnan(matrix.value[:, col_end]))
        if rows.size == 0:
            continue
        periodicity = matrix.periodicity
        plan.append((indicator, matrix, rows, col_end))
        absent += _absent(code, matrix, col_end)
    matrix = None  # release the last memory map too
    if not plan or periodicity is None:
        return None
    width = WINDOW[periodicity]
    periods = [from_ordinal(end - width + 1 + i, periodicity) for i in range(width)]
    return WaveInput(_assemble(catalog, plan, periods, periodicity), periodicity, period,
                     absent)


def _absent(code: str, matrix: IndicatorMatrix, col_end: int) -> list[tuple[str, str, Untested]]:
    """The indicator's series without a value at the wave's column: unpublished there when
    they have one in the window before it, not started yet when their values come after,
    never published when they have none at all (a series whose values all lie before the
    window is no longer one of the wave's)."""
    lost = np.flatnonzero(np.isnan(matrix.value[:, col_end]))
    if lost.size == 0:
        return []
    start = max(0, col_end - WINDOW[matrix.periodicity] + 1)
    before = np.isfinite(matrix.value[lost, start:col_end]).any(axis=1)
    after = np.isfinite(matrix.value[lost, col_end + 1:]).any(axis=1)
    older = np.isfinite(matrix.value[lost, :start]).any(axis=1)
    reason = np.select([before, after, ~older], [Untested.NOT_PUBLISHED, Untested.BEFORE_START,
                                                 Untested.NEVER_PUBLISHED], 0)
    return [(code, matrix.territories[i], Untested(int(r)))
            for i, r in zip(lost.tolist(), reason.tolist(), strict=True) if r]


def _window(
    array: np.ndarray, rows: np.ndarray, start: int, end: int, out: np.ndarray
) -> np.ndarray:
    """Copy columns ``start..end`` of ``rows`` into ``out`` (NaN before the matrix starts)."""
    lo = max(start, 0)
    out[:, : lo - start] = np.nan
    out[:, lo - start :] = array[rows, lo : end + 1]
    return out


def _assemble(
    catalog: Catalog, plan: list, periods: list[str], periodicity: Periodicity
) -> SeriesBatch:
    width = len(periods)
    n = sum(rows.size for _, _, rows, _ in plan)
    values = np.empty((n, width))
    exposure = np.empty((n, width))
    keys: list[tuple[str, str]] = []
    kinds, polarity, breaks = [], [], []
    at = 0
    while plan:  # drop each memory map once copied: mapped pages count in the peak RSS
        indicator, matrix, rows, col_end = plan.pop(0)
        ind: Indicator = indicator
        part = slice(at, at + rows.size)
        at += rows.size
        col_start = col_end - width + 1
        _window(matrix.value, rows, col_start, col_end, values[part])
        exp = exposure[part]
        if ind.kind is IndicatorKind.AMOUNT:
            exp.fill(np.nan)
        else:
            _window(matrix.denominator, rows, col_start, col_end, exp)
        codes = [matrix.territories[i] for i in rows]
        if ind.kind is IndicatorKind.COUNT:
            np.copyto(exp, _populations(catalog, codes, periods), where=np.isnan(exp))
        keys += [(ind.code, c) for c in codes]
        kinds.append(np.full(rows.size, ind.kind.value, dtype=object))
        polarity.append(np.full(rows.size, ind.polarity.sign))
        breaks.append(np.full(rows.size, _break_index(ind, periods)))
    index = {k: i for i, k in enumerate(keys)}
    parent = [
        index.get((ind, catalog.territories[t].parent or ""), -1)
        if t in catalog.territories
        else -1
        for ind, t in keys
    ]
    return SeriesBatch(
        keys=keys,
        periods=periods,
        season_length=periodicity.per_year,
        values=values,
        exposure=exposure,
        kind=np.concatenate(kinds),
        polarity=np.concatenate(polarity),
        breaks=np.concatenate(breaks),
        parent=np.array(parent),
    )


def _populations(catalog: Catalog, codes: list[str], periods: list[str]) -> np.ndarray:
    """(codes x periods) exposure of a count: the population of each period's year."""
    years = sorted({int(p[:4]) for p in periods})
    column = np.array([years.index(int(p[:4])) for p in periods])
    table = np.array([[float(catalog.population(c, y) or np.nan) for y in years]
                      for c in codes]).reshape(len(codes), len(years))
    return table[:, column]


def _break_index(indicator: Indicator, periods: list[str]) -> int:
    """The latest known definition break inside the window, as a column index."""
    inside = [periods.index(b.period) for b in indicator.breaks if b.period in periods]
    return max(inside) if inside else -1


def _chart(batch: SeriesBatch, row: int) -> dict:
    periods = batch.periods[-CHART_POINTS:]
    values = batch.values[row, -CHART_POINTS:]
    return {"periods": periods, "values": [None if np.isnan(v) else float(v) for v in values]}


def _strongest_per_series(findings: list[Finding]) -> list[tuple[int, Finding]]:
    """One piece of news per series and wave: the finding with the smallest q (then p)."""
    best: dict[int, tuple[int, Finding]] = {}
    for idx, f in enumerate(findings):
        current = best.get(f.series)
        if current is None or (f.q_value, f.p_value) < (current[1].q_value, current[1].p_value):
            best[f.series] = (idx, f)
    return sorted(best.values(), key=lambda pair: pair[0])


def wave_tests(wave: WaveInput, result: WaveResult, running: np.ndarray | None
               ) -> SeriesTests | None:
    """The wave's record of every series, from the screen and the judgement it made."""
    if result.screen is None or result.judgement is None:
        return None
    record = screened(wave.batch.keys, result.screen, wave.absent)
    return concluded(record, result.judgement, running)


def running_rows(conn: Connection, wave: WaveInput) -> np.ndarray:
    """(n_series,) whether each series of the wave holds a running shift: active, found at
    an earlier period and seen again within ``CONTINUATION`` periods of the wave's. A test
    of such a series is a follow-up, not news (`detectors.wave.conclude_wave`); the same
    rule decides, when the shifts are recorded, that a finding extends the running shift."""
    out = np.zeros(wave.batch.n_series, dtype=bool)
    index = {key: i for i, key in enumerate(wave.batch.keys)}
    end = ordinal(wave.period)
    near = CONTINUATION[wave.periodicity]
    for s in shift_store.active_on(conn, wave.batch.keys):
        if s["period"] < wave.period and end - ordinal(s["last_period"]) <= near:
            out[index[(s["indicator"], s["territory"])]] = True
    return out


def detect(
    recorded: ObservationsRecorded,
    *,
    catalog: Catalog,
    engine: Engine,
    history: ColumnarHistory,
    clock: Clock,
    q: float = 0.05,
) -> tuple[list[Event], WaveResult | None]:
    """Test the delivery's wave and record shifts; idempotent per delivery."""
    history.sync(engine, recorded.indicators)
    period = max(recorded.periods)
    wave = build_batch(catalog, history, recorded.indicators, period)
    started = time.perf_counter()
    result = None
    if wave is not None:
        with engine.connect() as conn:
            running = running_rows(conn, wave)
        result = detect_wave(wave.batch, q=q, running=running)
    now = clock.now()
    tests = wave_tests(wave, result, running) if wave is not None and result else None
    with engine.begin() as conn:
        first_run, events = record_wave(conn, recorded, wave, result, now=now, q=q,
                                        seconds=time.perf_counter() - started, tests=tests)
        if first_run:
            events += recheck_after_revision(conn, recorded, catalog=catalog,
                                             history=history, now=now, q=q)
    return events, result


def record_wave(
    conn: Connection,
    recorded: ObservationsRecorded,
    wave: WaveInput | None,
    result: WaveResult | None,
    *,
    now: dt.datetime,
    q: float,
    seconds: float,
    tests: SeriesTests | None = None,
) -> tuple[bool, list[Event]]:
    """Record a wave's run, shifts and events in the caller's transaction (both runners
    call it); ``(False, [])`` when the delivery's wave was recorded before. ``tests``: the
    record of every series (`detectors.wave_record`), kept with the run."""
    summary = {} if tests is None else run_summary(tests, result.judgement if result else None)
    first_run = shift_store.record_run(
        conn,
        delivery_id=recorded.delivery_id,
        period=max(recorded.periods),
        n_series=wave.batch.n_series if wave else 0,
        n_tests=result.n_tests if result else 0,
        n_candidates=result.n_candidates if result else 0,
        n_shifts=len(result.findings) if result else 0,
        q=q,
        seconds=seconds,
        ran_at=now,
        **summary,
    )
    if first_run and tests is not None:
        test_store.write_wave(conn, recorded.delivery_id, max(recorded.periods),
                              blocks(tests))
    if not first_run or wave is None or result is None:
        return first_run, []
    return True, _record(conn, recorded, wave, result, now)


def _record(
    conn: Connection,
    recorded: ObservationsRecorded,
    wave: WaveInput,
    result: WaveResult,
    now: dt.datetime,
) -> list[Event]:
    batch = wave.batch
    kept = _strongest_per_series(result.findings)
    ids = {idx: shift_id(f.key[0], f.key[1], f.period, f.change) for idx, f in kept}
    active = shift_store.active_on(conn, batch.keys)
    events: list[Event] = []
    found_here: set[str] = set()
    near = CONTINUATION[wave.periodicity]
    for idx, f in kept:
        evidence = _evidence(f)
        earlier = [
            s
            for s in active
            if (s["indicator"], s["territory"]) == f.key
            and s["direction"] == f.direction
            and s["period"] < f.period
            and ordinal(f.period) - ordinal(s["last_period"]) <= near
        ]
        if earlier:
            shift_store.extend(conn, earlier[0]["shift_id"], f.period, {})
            found_here.add(earlier[0]["shift_id"])
            continue
        sid = ids[idx]
        found_here.add(sid)
        parent = f.explained_by
        explained = ids.get(parent) if parent is not None else None
        existing = shift_store.get(conn, sid)
        if existing is not None and existing["status"] == "active":
            shift_store.extend(conn, sid, f.period, evidence)
            continue
        common = dict(shift_id=sid, delivery_id=recorded.delivery_id, indicator=f.key[0],
                      territory=f.key[1], period=f.period, kind=f.change,
                      direction=f.direction, good_news=f.good_news, explained_by=explained,
                      **evidence)
        row = dict(common, last_period=f.period, status="active", review_status="pending",
                   detected_at=now, chart=_chart(batch, f.series))
        if existing is not None:
            shift_store.extend(
                conn, sid, f.period, dict(row, retracted_at=None, retraction_reason=None)
            )
        else:
            shift_store.insert_shift(conn, row)
        event = ShiftDetected(occurred_at=now, quiet=recorded.quiet, **common)
        record_event(conn, event)
        events.append(event)
    for s in active:
        if s["period"] == wave.period and s["shift_id"] not in found_here:
            reason = (
                f"no longer significant after delivery {recorded.delivery_id} re-sent {wave.period}"
            )
            events.append(_retract(conn, s, now, reason))
    return events


def _retract(conn: Connection, shift: dict, now: dt.datetime, reason: str) -> ShiftRetracted:
    """Retract an active shift (kept, marked, with its reason) and log the event."""
    shift_store.retract(conn, shift["shift_id"], now, reason)
    event = ShiftRetracted(
        occurred_at=now,
        shift_id=shift["shift_id"],
        indicator=shift["indicator"],
        territory=shift["territory"],
        period=shift["period"],
        reason=reason,
    )
    record_event(conn, event)
    return event


def recheck_after_revision(
    conn: Connection,
    recorded: ObservationsRecorded,
    *,
    catalog: Catalog,
    history: ColumnarHistory,
    now: dt.datetime,
    q: float,
) -> list[Event]:
    """After a revision, test again the later periods that hold active shifts.

    Why: a shift found at a later period was tested against a window that held the faulty
    values (a month understated by half makes the next months look like a level shift).
    Each such period is tested again as a whole wave (its full Benjamini-Hochberg family,
    the window ending at that period, the revised values in it); an active shift there that
    the wave no longer finds (same series, same direction) is retracted, never deleted. Run
    once per revising delivery (both runners call it with the delivery's own wave)."""
    if not recorded.revised_count:
        return []
    own = max(recorded.periods)
    first = min(recorded.periods)
    periodicity = periodicity_of(own)
    later: dict[str, list[dict]] = {}
    for s in shift_store.active_for(conn, recorded.indicators):
        if (s["period"] > first and s["period"] != own
                and periodicity_of(s["period"]) is periodicity):
            later.setdefault(s["period"], []).append(s)
    events: list[Event] = []
    for period in sorted(later):
        wave = build_batch(catalog, history, recorded.indicators, period)
        result = (detect_wave(wave.batch, q=q, running=running_rows(conn, wave))
                  if wave is not None else None)
        found = {(f.key, f.direction) for f in (result.findings if result else [])}
        reason = (f"no longer significant at {period} once delivery {recorded.delivery_id} "
                  f"revised {first}" + (f" to {own}" if own != first else ""))
        for s in later[period]:
            if ((s["indicator"], s["territory"]), s["direction"]) not in found:
                events.append(_retract(conn, s, now, reason))
    return events


def _evidence(f: Finding) -> dict:
    return dict(
        observed=f.observed,
        expected=f.expected,
        interval_low=f.interval_low,
        interval_high=f.interval_high,
        abs_change=f.abs_change,
        rel_change=f.rel_change,
        people=f.people,
        p_value=f.p_value,
        q_value=f.q_value,
        method=f.method,
        baseline=f.baseline,
    )
