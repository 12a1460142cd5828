"""Digest slots and quiet hours in Europe/Paris, decided by the injected clock."""

from __future__ import annotations

import datetime as dt

from digests.compose import compose_due
from digests.schedule import in_quiet_hours, next_slot, quiet_until, slot_label, slot_start
from thresholds.route import route
from veille.model import Cell

UTC = dt.UTC


def _cell(**kw):
    base = {"id": "cellule", "name": "Cellule", "kind": "clspd", "scope": ["99001"]}
    return Cell.model_validate({**base, **kw})


def test_monthly_slot_in_paris_time():
    cell = _cell(schedule="monthly", digest_day=5, digest_hour=9)
    # 5 March 2026, 09:00 Paris = 08:00 UTC (winter time)
    assert slot_label(cell, dt.datetime(2026, 3, 5, 7, 59, tzinfo=UTC)) == "mois-2026-02"
    assert slot_label(cell, dt.datetime(2026, 3, 5, 8, 0, tzinfo=UTC)) == "mois-2026-03"
    assert slot_start(cell, dt.datetime(2026, 1, 2, tzinfo=UTC)) == dt.datetime(
        2025, 12, 5, 8, 0, tzinfo=UTC)
    # summer time: 5 July 09:00 Paris = 07:00 UTC
    assert slot_label(cell, dt.datetime(2026, 7, 5, 7, 0, tzinfo=UTC)) == "mois-2026-07"


def test_weekly_slot_and_next_slot():
    cell = _cell(schedule="weekly", digest_day=1, digest_hour=8)  # Mondays 08:00
    monday = dt.datetime(2026, 3, 9, 7, 0, tzinfo=UTC)  # 08:00 Paris
    assert slot_label(cell, monday) == "hebdo-2026-03-09"
    assert slot_label(cell, monday - dt.timedelta(minutes=1)) == "hebdo-2026-03-02"
    assert next_slot(cell, monday) == dt.datetime(2026, 3, 16, 7, 0, tzinfo=UTC)
    assert slot_label(_cell(schedule="immediate"), monday) is None


def test_quiet_hours_across_midnight():
    cell = _cell(quiet_hours={"start": "20:00", "end": "07:30"})
    assert in_quiet_hours(cell, dt.datetime(2026, 3, 9, 19, 30, tzinfo=UTC))  # 20:30 Paris
    assert in_quiet_hours(cell, dt.datetime(2026, 3, 10, 6, 0, tzinfo=UTC))  # 07:00 Paris
    assert not in_quiet_hours(cell, dt.datetime(2026, 3, 10, 6, 30, tzinfo=UTC))
    assert quiet_until(cell, dt.datetime(2026, 3, 9, 22, 0, tzinfo=UTC)) == dt.datetime(
        2026, 3, 10, 6, 30, tzinfo=UTC)


def test_digest_waits_for_its_slot_and_for_the_end_of_quiet_hours(lite):
    world = lite
    world.reload([{"id": "ccas-un", "name": "CCAS de Ville-Une", "kind": "ccas",
                   "scope": ["99001"], "schedule": "weekly", "digest_day": 3,
                   "digest_hour": 21, "immediate_severity": None,
                   "quiet_hours": {"start": "20:00", "end": "08:00"},
                   "members": [{"name": "Paul", "url": "mailto://paul@ville-une.example"}]}],
                 [{"id": "part-rsa", "owner": "ccas-un", "scope": ["99001"],
                   "rule": {"kind": "level", "indicator": "part_rsa", "above": 8.0}}])
    world.clock.set(dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # Monday
    route(world.observe("part_rsa", {("99001", "2026-01"): 9.0}), routing=world.routing(),
          engine=world.engine, clock=world.clock)

    def compose():
        return compose_due(world.clock.now(), catalog=world.catalog, cells=world.cells,
                           engine=world.engine, base_url="http://x")

    # last Wednesday's slot has not been sent yet: it goes out now, with the alert
    assert compose() == ["ccas-un:hebdo-2026-02-25"]
    route(world.observe("part_rsa", {("99001", "2026-01"): 9.0, ("99001", "2026-02"): 7.0}),
          routing=world.routing(), engine=world.engine, clock=world.clock)
    route(world.observe("part_rsa", {("99001", "2026-03"): 9.5}), routing=world.routing(),
          engine=world.engine, clock=world.clock)
    assert compose() == []  # the same slot is not composed twice
    world.clock.set(dt.datetime(2026, 3, 4, 20, 0, tzinfo=UTC))  # Wed 21:00 Paris, quiet
    assert compose() == []
    world.clock.set(dt.datetime(2026, 3, 5, 7, 0, tzinfo=UTC))  # Thu 08:00 Paris
    assert compose() == ["ccas-un:hebdo-2026-03-04"]
