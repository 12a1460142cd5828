"""A secret in clear (issue 18): a provider contact's Apprise URL, password included, used to
be copied into the ``DeliveryQuarantined`` and ``DeliveryOverdue`` payloads. Events and
logs now name the contact by id; the notifier resolves the URL from the catalog when it
sends. A planted password must appear in no table of the store, no log record, no page."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from connectors.freshness import emit_overdue
from digests.send import channel_for, deliver_due, policy_for
from factories import PROVIDERS, QUARTIERS, caf_file, write_catalog
from review.app import create_app
from review.auth import create_user
from streams.embedded import EmbeddedRunner
from veille.clock import FixedClock
from veille.events import decode
from veille.runtime import open_runtime
from veille.store import make_engine, migrate
from veille.store.database import alembic_config
from veille.store.outbox import events_of

SECRET = "Pl4nted-S3cret-q7Zx"
PASSWORD = "mot-de-passe-solide"


def _dump(engine: sa.Engine) -> str:
    """Every row of every table of the store, as text."""
    out = []
    with engine.connect() as conn:
        for name in sa.inspect(engine).get_table_names():
            rows = conn.execute(sa.text(f'SELECT * FROM "{name}"')).all()
            out += [f"{name}: {tuple(row)!r}" for row in rows]
    return "\n".join(out)


def _pages(runtime) -> list[str]:  # type: ignore[no-untyped-def]
    """What an analyst can read on the site: every list page and every digest."""
    create_user(runtime.engine, runtime.catalog, username="ana", password=PASSWORD,
                role="analyst", now=runtime.clock.now())
    app = create_app(runtime, session_secret="test-secret")
    with TestClient(app) as client:
        form = client.get("/connexion").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token
        client.post("/connexion", data={"username": "ana", "password": PASSWORD,
                                        "csrf_token": token.group(1)})
        pages = [client.get(path) for path in ("/revue", "/abonnements", "/syntheses")]
        assert all(p.status_code == 200 for p in pages), [p.status_code for p in pages]
        links = re.findall(r'href="(/syntheses/[^"]+)"', pages[-1].text)
        assert links, "no digest to read"
        pages += [client.get(link) for link in links]
    return [p.text for p in pages]


def test_a_planted_contact_password_is_in_no_table_log_or_page(
        tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, webhook_factory,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hook = webhook_factory()
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    root = write_catalog(tmp_path / "ws")
    providers = {"providers": [{**PROVIDERS["providers"][0],
                                "contact_url": hook.url("caf", auth=f"veille:{SECRET}@")},
                               PROVIDERS["providers"][1]]}
    (root / "catalog" / "providers.yaml").write_text(yaml.safe_dump(providers),
                                                     encoding="utf-8")
    (root / "veille.yaml").write_text("notify: apprise\nnotify_backoff_seconds: 1\n",
                                      encoding="utf-8")
    clock = FixedClock(dt.datetime(2024, 6, 20, 9, tzinfo=dt.UTC))
    runtime = open_runtime(root, clock=clock)
    runner = EmbeddedRunner(runtime.workspace, runtime.catalog, runtime.engine, clock)

    def deliver() -> None:
        deliver_due(clock.now(), catalog=runtime.catalog, cells=runner.routing.cells,
                    engine=runtime.engine, channel=channel_for(runtime.workspace),
                    base_url="https://veille.example", policy=policy_for(runtime.workspace))

    # a quarantined delivery, told to the provider's contact
    rows = {q: ("400", "40", "10,0") for q in QUARTIERS}
    rows["Q-UN-SUD"] = ("400", "quarante", "10,0")
    runner.submit(caf_file(tmp_path, "2024-04", rows))
    runner.run_pending()
    quarantined = events_of(runtime.engine, "DeliveryQuarantined")
    assert len(quarantined) == 1
    deliver()
    # a late delivery, told to the same contact
    clock.advance(dt.timedelta(days=60))
    overdue = [e for e in emit_overdue(runtime.catalog, runtime.engine, clock)
               if e.provider == "caf"]
    assert overdue
    runner.run_pending()
    deliver()

    # the contact was told twice, through the URL resolved from the catalog at send time
    assert len(hook.accepted) == 2, hook.requests
    basic = base64.b64encode(f"veille:{SECRET}".encode()).decode()
    assert all(h.get("Authorization") == f"Basic {basic}" for h in hook.headers)
    assert "quarante" in str(hook.accepted[0]) or "caf_2024-04.csv" in str(hook.accepted[0])

    dump = _dump(runtime.engine)
    assert "DeliveryQuarantined" in dump and "DeliveryOverdue" in dump
    assert SECRET not in dump
    for record in caplog.records:
        assert SECRET not in record.getMessage(), record
        assert SECRET not in repr(record.args), record
    for text in _pages(runtime):
        assert SECRET not in text
    assert quarantined[0].provider == "caf"  # the contact, named by its provider's id


def test_the_migration_scrubs_urls_from_events_already_stored(tmp_path: Path,
                                                              db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    heads = [h for h in ScriptDirectory.from_config(config).get_heads()
             if not h.startswith("events_")]
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, heads)  # the store as it was before events_0001
    url = f"json://veille:{SECRET}@127.0.0.1:9/caf"
    old = [
        ("DeliveryQuarantined", "h" * 64, {
            "type": "DeliveryQuarantined", "schema_version": 1,
            "occurred_at": "2024-06-20T09:00:00+00:00", "delivery_id": 1,
            "content_hash": "h" * 64, "convention_id": "caf-mensuel",
            "filename": "caf.csv", "report_path": "/q/caf.csv.rapport.txt",
            "problem_count": 1, "summary": ["ligne 3"], "contact_url": url}),
        ("DeliveryOverdue", "overdue:caf-mensuel:2024-05", {
            "type": "DeliveryOverdue", "schema_version": 1,
            "occurred_at": "2024-06-20T09:00:00+00:00", "convention_id": "caf-mensuel",
            "provider": "caf", "expected_period": "2024-05", "due_date": "2024-06-10",
            "days_late": 10, "last_period": "2024-04", "contact_url": url}),
    ]
    events = sa.table("events", sa.column("type"), sa.column("key"),
                      sa.column("payload", sa.JSON), sa.column("created_at"))
    with engine.begin() as conn:
        conn.execute(sa.insert(events), [
            {"type": t, "key": k, "payload": p,
             "created_at": dt.datetime(2024, 6, 20, tzinfo=dt.UTC)} for t, k, p in old])
    migrate(engine)
    assert SECRET not in _dump(engine)
    with engine.connect() as conn:
        payloads = [r.payload for r in conn.execute(sa.select(events.c.payload))]
    decoded = [decode(p) for p in payloads]  # readable by today's events
    assert [type(e).__name__ for e in decoded] == ["DeliveryQuarantined", "DeliveryOverdue"]
    assert decoded[1].provider == "caf"
    engine.dispose()
