"""Rules with the fixed clock: hysteresis, resolution, change and gap rules, dedup on
replay and with a second worker, revisions that update or retract, freshness."""

from __future__ import annotations

import datetime as dt

from thresholds.freshness import watch_freshness
from thresholds.route import route
from thresholds.routing import Routing
from veille.store import alerts as alert_store

CELLS = [{"id": "ccas-un", "name": "CCAS de Ville-Une", "kind": "ccas", "scope": ["99001"],
          "members": [{"name": "Paul", "url": "mailto://paul@ville-une.example"}]}]


def _names(events):
    return [type(e).__name__ for e in events]


def _route(world, event, routing=None):
    return route(event, routing=routing or world.routing(), engine=world.engine,
                 clock=world.clock)


def test_hysteresis_does_not_flap_and_alert_resolves(world):
    world.reload(CELLS, [{"id": "part-rsa", "owner": "ccas-un", "scope": ["99001"],
                          "rule": {"kind": "level", "indicator": "part_rsa", "above": 8.0,
                                   "leave": 7.5}}])
    steps = [("2025-01", 7.9, []), ("2025-02", 8.2, ["AlertRaised"]),
             ("2025-03", 7.9, []), ("2025-04", 8.1, []), ("2025-05", 7.6, []),
             ("2025-06", 7.4, ["AlertResolved"]), ("2025-07", 7.9, []),
             ("2025-08", 8.3, ["AlertRaised"])]
    for period, value, expected in steps:
        world.clock.advance(dt.timedelta(days=30))
        got = _route(world, world.observe("part_rsa", {("99001", period): value}))
        assert _names(got) == expected, period
    with world.engine.connect() as conn:
        rows = alert_store.list_alerts(conn, cell_id="ccas-un")
    assert [(r["period"], r["status"]) for r in rows] == [("2025-02", "resolved"),
                                                          ("2025-08", "active")]
    assert rows[0]["dedup_key"] == "ccas-un|part-rsa|part_rsa|99001|2025-02"
    assert rows[0]["basis"]["value"] == 7.4  # the basis follows the episode to its end


def test_replay_and_second_worker_produce_no_second_alert(world):
    world.reload(CELLS, [{"id": "part-rsa", "owner": "ccas-un", "scope": ["99001"],
                          "rule": {"kind": "level", "indicator": "part_rsa", "above": 8.0}}])
    event = world.observe("part_rsa", {("99001", "2025-02"): 9.0})
    assert _names(_route(world, event)) == ["AlertRaised"]
    assert _route(world, event) == []  # the same event replayed
    other = Routing.build(world.catalog, world.routing().index.subscriptions)
    assert _route(world, event, other) == []  # a second worker
    same_values = world.observe("part_rsa", {("99001", "2025-02"): 9.0})
    assert _route(world, same_values) == []  # the wave re-delivered unchanged
    with world.engine.connect() as conn:
        assert len(alert_store.list_alerts(conn)) == 1


def test_revision_updates_or_retracts_the_alert(world):
    world.reload(CELLS, [{"id": "part-rsa", "owner": "ccas-un", "scope": ["99001"],
                          "rule": {"kind": "level", "indicator": "part_rsa", "above": 8.0}}])
    _route(world, world.observe("part_rsa", {("99001", "2025-02"): 9.0}))
    updated = _route(world, world.observe("part_rsa", {("99001", "2025-02"): 8.6}))
    assert _names(updated) == ["AlertUpdated"]
    with world.engine.connect() as conn:
        alert = alert_store.list_alerts(conn)[0]
    assert alert["basis"]["value"] == 8.6 and alert["revision"] == 1
    assert "8,6" in alert["message"]
    retracted = _route(world, world.observe("part_rsa", {("99001", "2025-02"): 7.0}))
    assert _names(retracted) == ["AlertRetracted"]
    with world.engine.connect() as conn:
        assert alert_store.list_alerts(conn)[0]["status"] == "retracted"


def test_change_over_k_periods_relative_in_neighbourhoods(world):
    world.reload(CELLS, [{"id": "rsa-hausse", "owner": "ccas-un", "scope": ["99001"],
                          "include": ["quartier"],
                          "rule": {"kind": "change", "indicator": "caf_rsa", "periods": 12,
                                   "mode": "relative", "by": 15, "leave": 10}}])
    event = world.observe("caf_rsa", {
        ("Q-UN-NORD", "2024-06"): 100.0, ("Q-UN-SUD", "2024-06"): 200.0,
        ("Q-UN-NORD", "2025-06"): 120.0, ("Q-UN-SUD", "2025-06"): 210.0})
    raised = _route(world, event)
    assert [(e.territory, e.period) for e in raised] == [("Q-UN-NORD", "2025-06")]
    assert "+20" in raised[0].message and "juin 2024" in raised[0].message
    assert "en 12 mois" in raised[0].message


def test_gap_to_the_commune_widening(world):
    world.reload(CELLS, [{"id": "ecart-nord", "owner": "ccas-un", "scope": ["Q-UN-NORD"],
                          "rule": {"kind": "gap", "indicator": "part_rsa",
                                   "reference": "commune", "by": 5, "periods": 12}}])
    event = world.observe("part_rsa", {
        ("Q-UN-NORD", "2024-06"): 12.0, ("99001", "2024-06"): 9.0,
        ("Q-UN-NORD", "2025-06"): 18.5, ("99001", "2025-06"): 10.0})
    raised = _route(world, event)
    assert len(raised) == 1
    assert "Ville-Une" in raised[0].message and "creusé de +5,5" in raised[0].message


def test_values_under_secrecy_never_trigger(world):
    world.reload(CELLS, [{"id": "rsa-niveau", "owner": "ccas-un", "scope": ["99001"],
                          "include": ["quartier"],
                          "rule": {"kind": "level", "indicator": "caf_rsa", "below": 10}}])
    event = world.observe("caf_rsa", {("Q-UN-NORD", "2025-06"): 3.0,
                                      ("Q-UN-SUD", "2025-06"): 250.0,
                                      ("99001", "2025-06"): 253.0})
    assert _route(world, event) == []  # 3 is secret; and 250 with it (complementary)


def test_freshness_rule_raises_then_resolves(world):
    world.reload(CELLS, [{"id": "fraicheur", "owner": "ccas-un", "scope": ["99001"],
                          "rule": {"kind": "freshness", "indicator": "caf_rsa",
                                   "max_days": 60}}])
    _route(world, world.observe("caf_rsa", {("99001", "2025-12"): 300.0}))
    routing = world.routing()
    world.clock.set(dt.datetime(2026, 2, 20, tzinfo=dt.UTC))  # 51 days after 31 December
    assert watch_freshness(world.clock.now(), routing=routing, engine=world.engine) == []
    world.clock.set(dt.datetime(2026, 3, 5, tzinfo=dt.UTC))  # 64 days
    raised = watch_freshness(world.clock.now(), routing=routing, engine=world.engine)
    assert _names(raised) == ["AlertRaised"] and "aucune donnée depuis décembre 2025" in (
        raised[0].message)
    assert watch_freshness(world.clock.now(), routing=routing, engine=world.engine) == []
    _route(world, world.observe("caf_rsa", {("99001", "2026-01"): 310.0}))
    resolved = watch_freshness(world.clock.now(), routing=routing, engine=world.engine)
    assert _names(resolved) == ["AlertResolved"]
