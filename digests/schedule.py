"""When a cell is written to: digest slots (weekly, monthly, at a local day and hour) and
quiet hours, all decided in Europe/Paris from the injected clock's 'now'."""

from __future__ import annotations

import datetime as dt

from veille.clock import PARIS
from veille.model import Cell


def _hm(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def in_quiet_hours(cell: Cell, now: dt.datetime) -> bool:
    """True when local time is inside the cell's quiet hours (which may span midnight)."""
    if cell.quiet_hours is None:
        return False
    local = now.astimezone(PARIS).time()
    start, end = _hm(cell.quiet_hours.start), _hm(cell.quiet_hours.end)
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_until(cell: Cell, now: dt.datetime) -> dt.datetime:
    """The moment (UTC) the current quiet hours end; ``now`` if not in quiet hours."""
    if not in_quiet_hours(cell, now) or cell.quiet_hours is None:
        return now
    local = now.astimezone(PARIS)
    end = _hm(cell.quiet_hours.end)
    candidate = dt.datetime.combine(local.date(), end, tzinfo=PARIS)
    if candidate <= local:
        candidate = dt.datetime.combine(local.date() + dt.timedelta(days=1), end,
                                        tzinfo=PARIS)
    return candidate.astimezone(dt.UTC)


def slot_start(cell: Cell, now: dt.datetime) -> dt.datetime | None:
    """Start (UTC) of the latest digest slot at or before ``now``; None for immediate."""
    if cell.schedule == "immediate":
        return None
    local = now.astimezone(PARIS)
    day = cell.digest_day or 1
    if cell.schedule == "weekly":
        date = local.date() - dt.timedelta(days=(local.isoweekday() - day) % 7)
        start = dt.datetime.combine(date, dt.time(cell.digest_hour), tzinfo=PARIS)
        if start > local:
            start = dt.datetime.combine(date - dt.timedelta(days=7), dt.time(cell.digest_hour),
                                        tzinfo=PARIS)
    else:
        start = dt.datetime.combine(local.date().replace(day=day), dt.time(cell.digest_hour),
                                    tzinfo=PARIS)
        if start > local:
            year, month = (local.year, local.month - 1) if local.month > 1 else (
                local.year - 1, 12)
            start = dt.datetime.combine(dt.date(year, month, day), dt.time(cell.digest_hour),
                                        tzinfo=PARIS)
    return start.astimezone(dt.UTC)


def slot_label(cell: Cell, now: dt.datetime) -> str | None:
    """The natural key of the digest due at ``now``: 'hebdo-2026-03-09' or 'mois-2026-03'."""
    start = slot_start(cell, now)
    if start is None:
        return None
    local = start.astimezone(PARIS).date()
    if cell.schedule == "weekly":
        return f"hebdo-{local.isoformat()}"
    return f"mois-{local:%Y-%m}"


def next_slot(cell: Cell, now: dt.datetime) -> dt.datetime | None:
    """The next slot start strictly after ``now`` (for `veille cells show`)."""
    if cell.schedule == "immediate":
        return None
    probe = now
    current = slot_start(cell, now)
    for _ in range(40 * 24):
        probe += dt.timedelta(hours=1)
        start = slot_start(cell, probe)
        if start is not None and start != current:
            return start
    return None
