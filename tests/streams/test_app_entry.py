"""The worker starts from `streams.app`: importing it must register every agent and the
tick timer, wherever their modules live."""

from __future__ import annotations


def test_every_agent_registers_on_the_worker_app() -> None:
    from streams.app import app

    names = {name.rsplit(".", 1)[-1] for name in app.agents}
    assert names == {"ingest_delivery", "confirm_tests", "gather_wave", "route_shift",
                     "route_event", "announce_alert", "watch_time", "send_digests"}
    assert [t.__name__ for t in app._app_tasks] == ["tick"]  # the leader's timer
