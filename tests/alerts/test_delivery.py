"""Delivery through Apprise to real receivers on loopback: digests by e-mail (aiosmtpd),
immediate alerts to a JSON webhook, retry with backoff, failure reported to the
observatory, a restart in the middle of a digest, and no credential in the log."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from cli.main import app
from digests.channels import AppriseChannel
from digests.compose import compose_due
from digests.send import RetryPolicy, deliver_due, send_due
from thresholds.route import route
from veille.events import ShiftDetected, ShiftRetracted
from veille.store import notifications
from veille.store.outbox import events_of

POLICY = RetryPolicy(attempts=5, backoff=dt.timedelta(seconds=60))


def _cells(smtp, hook=None, members=2):
    people = [("Paul Girard, directeur du CCAS", "paul.girard@ville-une.example"),
              ("Amina Diallo, CESF", "amina.diallo@ville-une.example"),
              ("Luc Petit, référent RSA", "luc.petit@ville-une.example")][:members]
    cells = [
        {"id": "ccas-un", "name": "CCAS de Ville-Une", "kind": "ccas", "scope": ["99001"],
         "themes": ["precarite"], "schedule": "monthly", "digest_day": 1, "digest_hour": 8,
         "reviewed_only": True,
         "members": [{"name": n, "url": smtp.url(a)} for n, a in people]},
        {"id": "observatoire", "name": "Observatoire social", "kind": "observatory",
         "scope": ["299000001"], "schedule": "immediate", "reviewed_only": False,
         "members": [{"name": "Claire Fontaine",
                      "url": smtp.url("claire.fontaine@observatoire.example")}]},
    ]
    if hook is not None:
        cells.append({"id": "clspd-un", "name": "Cellule de veille du CLSPD de Ville-Une",
                      "kind": "clspd", "scope": ["99001"], "themes": ["securite"],
                      "schedule": "monthly", "reviewed_only": False,
                      "members": [{"name": "Jeanne Martin", "url": hook}]})
    return cells


RSA_SUB = {"id": "rsa-un", "owner": "ccas-un", "scope": ["99001"],
           "include": ["commune", "quartier"], "severity": "warning",
           "rule": {"kind": "level", "indicator": "caf_rsa", "above": 5000, "leave": 4900}}

BURGLARY_SUB = {"id": "cambriolages-un", "owner": "clspd-un", "scope": ["99001"],
                "severity": "critical",
                "rule": {"kind": "shift", "indicators": ["cambriolages"],
                         "min_severity": "critical", "direction": "up"}}


def _rsa(world):
    """Commune 5072, Nord 5068, Sud 4 (secret by count): Nord is recoverable as
    commune minus Sud only if Sud were shown, and Sud as commune minus Nord: both masked."""
    return world.observe("caf_rsa", {
        ("99001", "2025-12"): 5001.0, ("Q-UN-NORD", "2025-12"): 4995.0,
        ("Q-UN-SUD", "2025-12"): 6.0,
        ("99001", "2026-01"): 5072.0, ("Q-UN-NORD", "2026-01"): 5068.0,
        ("Q-UN-SUD", "2026-01"): 4.0})


def _deliver(world, channel=None, policy=POLICY):
    return deliver_due(world.clock.now(), catalog=world.catalog, cells=world.cells,
                       engine=world.engine, channel=channel or AppriseChannel(),
                       base_url="https://veille.example", policy=policy)


def test_monthly_digest_by_email_in_french_without_secret_values(world, smtp):
    world.reload(_cells(smtp), [RSA_SUB])
    raised = route(_rsa(world), routing=world.routing(), engine=world.engine,
                   clock=world.clock)
    assert [e.territory for e in raised] == ["99001"]  # Nord is masked, Sud is secret
    composed, events = _deliver(world)
    assert composed == ["ccas-un:mois-2026-03"]
    assert sorted(r for _, rcpts in smtp.envelopes for r in rcpts) == [
        "amina.diallo@ville-une.example", "paul.girard@ville-une.example"]
    subjects = {m["Subject"] for m in smtp.messages}
    assert subjects == {"[veille] CCAS de Ville-Une – synthèse mensuelle : 1 alerte"}
    for body in smtp.bodies():
        assert "Précarité sociale et monétaire" in body
        assert "De combien" in body and "Par rapport à" in body and "Fiabilité" in body
        assert "5\u202f072" in body  # the commune's value, French thousands separator
        assert "seuil" in body
        # links to the pages a CCAS director reads: the series and the commune's note
        assert "https://veille.example/series/caf_rsa/99001" in body
        assert "https://veille.example/portrait/2026/commune/99001" in body
        assert "/revue/" not in body  # the review pages are the analysts'
        assert "alerte(s)" not in body and "2026-01" not in body
        for secret in ("5068", "5\u202f068", "4\u202ffoyers", " 4 foyers", "4995"):
            assert secret not in body
    html = next(p for p in smtp.messages[0].walk() if p.get_content_type() == "text/html")
    assert "data:image/png;base64," in html.get_content()  # the chart, inline
    assert [type(e).__name__ for e in events] == ["DigestSent"]
    # the same slot is never composed twice, even after a restart
    assert _deliver(world) == ([], [])
    assert len(smtp.messages) == 2


def test_immediate_alert_to_json_webhook_and_retraction_to_those_told(world, smtp,
                                                                     webhook_factory):
    hook = webhook_factory()
    world.reload(_cells(smtp, hook.url()), [BURGLARY_SUB])
    shift = ShiftDetected(
        occurred_at=world.clock.now(), shift_id="abc123", delivery_id=1,
        indicator="cambriolages", territory="Q-UN-NORD", period="2025-Q4",
        kind="level_shift", direction=1, good_news=False, observed=31.0, expected=12.0,
        interval_low=6.0, interval_high=19.0, abs_change=19.0, rel_change=1.58, people=19.0,
        p_value=0.0001, q_value=0.004, method="Poisson GLM", baseline="2016-2025")
    weak = ShiftDetected(**{**shift.__dict__, "shift_id": "weak1", "territory": "Q-UN-SUD",
                            "q_value": 0.03})
    routing = world.routing()
    raised = route(shift, routing=routing, engine=world.engine, clock=world.clock)
    assert route(weak, routing=routing, engine=world.engine, clock=world.clock) == []
    assert [e.severity for e in raised] == ["critical"]
    composed, _ = _deliver(world)
    assert composed == [c for c in composed if c.startswith("clspd-un:alerte:")]
    assert len(hook.accepted) == 1
    sent = hook.accepted[0]
    assert ("Cambriolages de logement – Nord : hausse significative au 4e trimestre 2025"
            in sent["title"])
    assert "très probable" in sent["message"]
    # a CLSPD member: the neighbourhood's series and the commune's note, not the review page
    assert "https://veille.example/series/cambriolages/Q-UN-NORD" in sent["message"]
    assert "https://veille.example/portrait/2025/commune/99001" in sent["message"]
    assert "/revue/" not in sent["message"]
    # the shift is withdrawn after a revision: a short retraction to those who were told
    world.clock.advance(dt.timedelta(days=3))
    retracted = route(ShiftRetracted(occurred_at=world.clock.now(), shift_id="abc123",
                                     indicator="cambriolages", territory="Q-UN-NORD",
                                     period="2025-Q4", reason="révision"),
                      routing=routing, engine=world.engine, clock=world.clock)
    assert [type(e).__name__ for e in retracted] == ["AlertRetracted"]
    _deliver(world)
    assert len(hook.accepted) == 2
    assert "Rectificatif" in hook.accepted[1]["title"]
    assert "retirée" in hook.accepted[1]["message"]
    _deliver(world)
    assert len(hook.accepted) == 2


def test_retry_with_backoff_then_single_delivery(world, smtp, webhook_factory):
    hook = webhook_factory(fail_first=2)
    world.reload(_cells(smtp, hook.url()), [BURGLARY_SUB])
    shift = ShiftDetected(
        occurred_at=world.clock.now(), shift_id="s1", delivery_id=1, indicator="cambriolages",
        territory="Q-UN-NORD", period="2025-Q4", kind="spike", direction=1, good_news=False,
        observed=30.0, expected=10.0, interval_low=5.0, interval_high=15.0, abs_change=20.0,
        rel_change=2.0, people=20.0, p_value=1e-5, q_value=1e-4, method="m", baseline="b")
    route(shift, routing=world.routing(), engine=world.engine, clock=world.clock)
    _deliver(world)
    assert len(hook.requests) == 1 and not hook.accepted
    world.clock.advance(dt.timedelta(seconds=30))  # backoff not elapsed: nothing is tried
    _deliver(world)
    assert len(hook.requests) == 1
    world.clock.advance(dt.timedelta(seconds=30))  # 60 s after the first failure
    _deliver(world)
    assert len(hook.requests) == 2 and not hook.accepted
    world.clock.advance(dt.timedelta(seconds=119))  # the second wait is twice as long
    _deliver(world)
    assert len(hook.requests) == 2
    world.clock.advance(dt.timedelta(seconds=1))
    _, events = _deliver(world)
    assert len(hook.requests) == 3 and len(hook.accepted) == 1
    assert [type(e).__name__ for e in events] == ["DigestSent"]
    for _ in range(3):
        world.clock.advance(dt.timedelta(hours=1))
        _deliver(world)
    assert len(hook.requests) == 3
    with world.engine.connect() as conn:
        log = notifications.log_entries(conn, cell_id="clspd-un")
    assert [(e["attempt"], e["outcome"]) for e in log] == [
        (1, "retry"), (2, "retry"), (3, "delivered")]


def test_always_failing_receiver_is_recorded_and_reported(world, smtp, webhook_factory):
    hook = webhook_factory(always_fail=True)
    world.reload(_cells(smtp, hook.url(auth="veille:S3cretPw@")), [BURGLARY_SUB])
    shift = ShiftDetected(
        occurred_at=world.clock.now(), shift_id="s2", delivery_id=1, indicator="cambriolages",
        territory="Q-UN-NORD", period="2025-Q4", kind="spike", direction=1, good_news=False,
        observed=30.0, expected=10.0, interval_low=5.0, interval_high=15.0, abs_change=20.0,
        rel_change=2.0, people=20.0, p_value=1e-5, q_value=1e-4, method="m", baseline="b")
    routing = world.routing()
    route(shift, routing=routing, engine=world.engine, clock=world.clock)
    policy = RetryPolicy(attempts=3, backoff=dt.timedelta(seconds=10))
    failures = []
    for _ in range(6):
        _, events = _deliver(world, policy=policy)
        failures += [e for e in events if type(e).__name__ == "NotificationFailed"]
        world.clock.advance(dt.timedelta(minutes=1))
    assert len(hook.requests) == 3  # N attempts, then it stops
    assert hook.headers[0].get("Authorization", "").startswith("Basic ")
    assert len(failures) == 1 and failures[0].recipient == "Jeanne Martin"
    assert "S3cretPw" not in failures[0].channel + failures[0].error
    # the failure is routed to the observatory and reaches it by e-mail
    route(failures[0], routing=routing, engine=world.engine, clock=world.clock)
    _deliver(world, policy=policy)
    to_observatory = [m for m in smtp.messages
                      if "claire.fontaine@observatoire.example" in m["To"]]
    assert len(to_observatory) == 1
    assert "Échec d'envoi" in to_observatory[0]["Subject"]
    assert "S3cretPw" not in smtp.bodies()[-1]
    with world.engine.connect() as conn:
        log = notifications.log_entries(conn, cell_id="clspd-un")
    assert [e["outcome"] for e in log] == ["retry", "retry", "failed"]
    assert all("S3cretPw" not in (e["channel"] + (e["error"] or "")) for e in log)
    assert "****" in log[0]["channel"]
    assert events_of(world.engine, "NotificationFailed")


def test_restart_in_the_middle_of_a_digest(lite, smtp):
    world = lite
    world.reload(_cells(smtp, members=3), [RSA_SUB])
    route(_rsa(world), routing=world.routing(), engine=world.engine, clock=world.clock)
    composed = compose_due(world.clock.now(), catalog=world.catalog, cells=world.cells,
                           engine=world.engine, base_url="https://veille.example")
    assert composed == ["ccas-un:mois-2026-03"]

    class Crash(Exception):
        pass

    def crash(_row):
        raise Crash

    with pytest.raises(Crash):
        send_due(world.clock.now(), cells=world.cells, engine=world.engine,
                 channel=AppriseChannel(), policy=POLICY, after_each=crash)
    assert len(smtp.messages) == 1
    # the process restarts: the outbox and the log say who is left
    events = send_due(world.clock.now(), cells=world.cells, engine=world.engine,
                      channel=AppriseChannel(), policy=POLICY)
    again = send_due(world.clock.now() + dt.timedelta(hours=1), cells=world.cells,
                     engine=world.engine, channel=AppriseChannel(), policy=POLICY)
    recipients = sorted(r for _, rcpts in smtp.envelopes for r in rcpts)
    assert recipients == ["amina.diallo@ville-une.example", "luc.petit@ville-une.example",
                          "paul.girard@ville-une.example"]
    assert [type(e).__name__ for e in events] == ["DigestSent"] and again == []


def test_lease_of_a_dead_worker_expires_and_the_log_prevents_a_second_send(lite, smtp):
    world = lite
    world.reload(_cells(smtp, members=1), [RSA_SUB])
    route(_rsa(world), routing=world.routing(), engine=world.engine, clock=world.clock)
    compose_due(world.clock.now(), catalog=world.catalog, cells=world.cells,
                engine=world.engine, base_url="https://veille.example")
    now = world.clock.now()
    with world.engine.begin() as conn:  # a worker claimed the row and died before sending
        row = notifications.due(conn, now)[0]
        assert notifications.claim(conn, row["id"], now, dt.timedelta(minutes=5)) == 1
    assert send_due(now, cells=world.cells, engine=world.engine, channel=AppriseChannel(),
                    policy=POLICY) == []
    assert smtp.messages == []
    later = now + dt.timedelta(minutes=6)
    send_due(later, cells=world.cells, engine=world.engine, channel=AppriseChannel(),
             policy=POLICY)
    assert len(smtp.messages) == 1
    with world.engine.begin() as conn:  # the outcome was logged but the row not settled
        conn.execute(notifications.notification_outbox.update().values(
            status="pending", next_attempt_at=later))
    send_due(later + dt.timedelta(minutes=1), cells=world.cells, engine=world.engine,
             channel=AppriseChannel(), policy=POLICY)
    assert len(smtp.messages) == 1


@pytest.fixture
def hanging_port() -> Iterator[tuple[int, list[socket.socket]]]:
    """A loopback TCP server that accepts every connection and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], held
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_hanging_channel_is_counted_in_the_send_summary(lite, smtp, hanging_port,
                                                          monkeypatch):
    """`veille digests send`: one recipient answers, the other's server hangs until the
    read timeout; the summary counts the failure and the pending retry, then the failure
    for good once the attempts are spent, and the command exits 1 each time."""
    port, held = hanging_port
    cells = _cells(smtp, f"json://127.0.0.1:{port}/hook?cto=1&rto=0.5")
    cells[-1]["members"].append({"name": "Karim Benali",
                                 "url": smtp.url("karim.benali@ville-une.example")})
    lite.reload(cells, [BURGLARY_SUB])
    (lite.root / "veille.yaml").write_text(
        "notify: apprise\nnotify_attempts: 2\nnotify_backoff_seconds: 60\n", encoding="utf-8")
    monkeypatch.setenv("VEILLE_DATABASE_URL", lite.engine.url.render_as_string(False))
    shift = ShiftDetected(
        occurred_at=lite.clock.now(), shift_id="s3", delivery_id=1, indicator="cambriolages",
        territory="Q-UN-NORD", period="2025-Q4", kind="spike", direction=1, good_news=False,
        observed=30.0, expected=10.0, interval_low=5.0, interval_high=15.0, abs_change=20.0,
        rel_change=2.0, people=20.0, p_value=1e-5, q_value=1e-4, method="m", baseline="b")
    route(shift, routing=lite.routing(), engine=lite.engine, clock=lite.clock)
    send = ["digests", "send", "-w", str(lite.root), "--at"]
    start = lite.clock.now()

    first = CliRunner().invoke(app, [*send, start.isoformat()])
    said = " ".join(first.output.split())
    assert first.exit_code == 1, first.output
    assert ("1 message(s) composé(s) ; envois : 1 réussi(s), 1 échoué(s) à réessayer, "
            "0 échec(s) définitif(s).") in said
    assert ("1 envoi(s) en attente d'un nouvel essai (prochain : 2026-03-02 10:01) : "
            "détail dans `veille notifications`.") in said
    assert len(held) == 1 and len(smtp.messages) == 1

    later = CliRunner().invoke(app, [*send, (start + dt.timedelta(minutes=2)).isoformat()])
    said = " ".join(later.output.split())
    assert later.exit_code == 1, later.output
    assert ("0 message(s) composé(s) ; envois : 0 réussi(s), 0 échoué(s) à réessayer, "
            "1 échec(s) définitif(s).") in said
    assert "en attente" not in said and len(held) == 2
    with lite.engine.connect() as conn:
        log = notifications.log_entries(conn, cell_id="clspd-un")
    assert [(e["recipient"], e["outcome"]) for e in log] == [
        ("Jeanne Martin", "retry"), ("Karim Benali", "delivered"), ("Jeanne Martin", "failed")]
    assert "Connection error" in log[0]["error"]

    quiet = CliRunner().invoke(app, [*send, (start + dt.timedelta(minutes=3)).isoformat()])
    assert quiet.exit_code == 0, quiet.output
    assert "envois : 0 réussi(s), 0 échoué(s) à réessayer, 0 échec(s) définitif(s)." in (
        " ".join(quiet.output.split()))
