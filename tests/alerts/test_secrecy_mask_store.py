"""The persisted mask (SQLite and PostgreSQL): computed once per publication unit, the same
at every edge, unchanged by a restart, and revised deliberately (a cell once hidden stays
hidden)."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from portrait.published import PublishedCache
from portrait.published import load as portrait_values
from thresholds.routing import published as routing_values
from veille.secrecy_audit import Viewer, audit
from veille.store import masks
from veille.store import observations as obs
from veille.store.schema import secrecy_units

PERIOD = "2025-06"
FIRST = {("299000001", PERIOD): 403.0, ("99001", PERIOD): 100.0, ("Q-UN-NORD", PERIOD): 97.0,
         ("Q-UN-SUD", PERIOD): 3.0, ("99002", PERIOD): 303.0, ("Q-DEUX-EST", PERIOD): 200.0,
         ("Q-DEUX-OUEST", PERIOD): 103.0}


def _hidden(world) -> dict:
    with world.engine.begin() as conn:
        return masks.hidden(conn, world.catalog, ["caf_rsa"])


def _units(world) -> list[tuple]:
    with world.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(
            secrecy_units.c.unit, secrecy_units.c.version, secrecy_units.c.computed_at))]


def test_the_mask_is_computed_once_and_the_same_at_every_edge(world):
    world.observe("caf_rsa", FIRST)
    first = _hidden(world)
    assert first[("caf_rsa", "Q-UN-SUD", PERIOD)] == "small"
    assert first[("caf_rsa", "Q-UN-NORD", PERIOD)] == "complementary"
    units = _units(world)
    assert _hidden(world) == first and _units(world) == units   # a restart recomputes nothing
    hidden_keys = {k[1] for k in first}
    with world.engine.begin() as conn:
        portrait = portrait_values(conn, world.catalog, ["caf_rsa"], [PERIOD])
        routing = routing_values(conn, world.catalog, "caf_rsa", [PERIOD])
        frame = obs.current(conn, indicators=["caf_rsa"], periods=[PERIOD])
        digest = masks.published_values(conn, frame, world.catalog)
    site = PublishedCache(world.engine, world.catalog).get(["caf_rsa"])   # site pages and API
    for name, masked in {
        "portrait": {t for (t, p), v in _points(portrait).items() if v is None},
        "site": {t for (t, p), v in _points(site).items() if v is None},
        "alerts": {t for (t, p), v in routing.items() if v is None},
        "digests": {t for (_, t, p), v in digest.items() if v is None},
    }.items():
        assert masked == hidden_keys, name


def _points(published) -> dict:
    return {(t, p): v for (ind, t), pts in published.series.items() for p, v in pts.items()}


def test_a_revision_keeps_every_cell_hidden_before(world):
    world.observe("caf_rsa", FIRST)
    before = _hidden(world)
    revised = dict(FIRST)
    revised[("Q-UN-SUD", PERIOD)] = 9.0       # corrected upwards: no longer small
    revised[("99001", PERIOD)] = 106.0
    revised[("299000001", PERIOD)] = 409.0
    world.observe("caf_rsa", revised)
    after = _hidden(world)
    assert set(before) <= set(after)
    assert after[("caf_rsa", "Q-UN-SUD", PERIOD)] == "kept"
    assert [u[1] for u in _units(world)] == [2]
    with world.engine.connect() as conn:
        frame = obs.current(conn, indicators=["caf_rsa"])
    masked = np.array([(i, t, p) in after for i, t, p in zip(
        frame["indicator"], frame["territory"], frame["period"], strict=True)])
    assert audit(frame, world.catalog, masked, Viewer("all")).ok


def test_veille_secrecy_audit_exits_1_on_a_leaky_mask(world, monkeypatch):
    """The CLI audits the persisted mask: clean, it exits 0; with the complementary cell
    removed from the stored mask (Sud = Ville-Une - Nord), it names the cell and exits 1."""
    from sqlalchemy import delete
    from typer.testing import CliRunner

    from cli.main import app
    from veille.store.schema import secrecy_cells

    world.observe("caf_rsa", FIRST)
    _hidden(world)
    monkeypatch.setenv("VEILLE_DATABASE_URL", world.engine.url.render_as_string(False))
    runner = CliRunner()
    clean = runner.invoke(app, ["secrecy", "audit", "-w", str(world.root)])
    assert clean.exit_code == 0, clean.output
    with world.engine.begin() as conn:
        conn.execute(delete(secrecy_cells).where(secrecy_cells.c.reason == "complementary"))
    leaky = runner.invoke(app, ["secrecy", "audit", "-w", str(world.root),
                                "--viewer", "ccas/99001", "--period", PERIOD])
    assert leaky.exit_code == 1, leaky.output
    assert "Q-UN-SUD" in leaky.output and "sous-protégées" in leaky.output
    wrong = runner.invoke(app, ["secrecy", "audit", "-w", str(world.root), "--viewer", "maire"])
    assert wrong.exit_code == 2 and "rôle inconnu" in wrong.output
