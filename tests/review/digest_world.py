"""The web tests' observatory with messages in it: three cells (a CCAS, a CLSPD, the
observatory) with one member each on a real SMTP server (aiosmtpd on loopback), rules
that fire on the site's data, and the digests composed and sent with the base URL of the
workspace settings. Shared by the digest-link test and the browser test."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import review_site
from aiosmtpd.controller import Controller
from review_site import NOW, Site, build_site

from digests.channels import AppriseChannel
from digests.send import deliver_due
from thresholds.route import route
from thresholds.routing import Routing
from thresholds.subscriptions import directory, load_subscriptions
from veille.clock import FixedClock
from veille.events import ObservationsRecorded, ShiftDetected
from veille.store import shifts as shift_store

BASE_URL = "https://veille.ville-une.example/observatoire"
RECIPIENTS = {"ccas-une": "dir-une", "clspd-une": "clspd-une", "observatoire": "ana"}
"""Each cell's member, and the site account that member logs in with."""


@dataclass
class SmtpSink:
    messages: list[email.message.EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[SmtpSink, int]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def _mailto(port: int, to: str) -> str:
    return (f"mailto://127.0.0.1:{port}?from=veille@observatoire.example&to={to}"
            "&mode=insecure&name=Observatoire")


def cells(port: int) -> dict:
    member = {cell: [{"name": f"Membre {cell}", "url": _mailto(port, f"{cell}@ville.example")}]
              for cell in RECIPIENTS}
    return {"cells": [
        {"id": "ccas-une", "name": "CCAS de Ville-Une", "kind": "ccas", "scope": ["99001"],
         "reviewed_only": True, "schedule": "monthly", "members": member["ccas-une"]},
        {"id": "ccas-deux", "name": "CCAS de Ville-Deux", "kind": "ccas", "scope": ["99002"],
         "reviewed_only": True, "schedule": "monthly"},
        {"id": "clspd-une", "name": "CLSPD de Ville-Une", "kind": "clspd", "scope": ["99001"],
         "reviewed_only": False, "schedule": "weekly", "members": member["clspd-une"]},
        {"id": "observatoire", "name": "Observatoire social", "kind": "observatory",
         "scope": ["299000001"], "reviewed_only": False, "schedule": "immediate",
         "members": member["observatoire"]},
    ]}


SUBSCRIPTIONS = {"subscriptions": [
    {"id": "part-une", "owner": "ccas-une", "scope": ["99001"],
     "include": ["commune", "quartier"], "severity": "warning",
     "rule": {"kind": "level", "indicator": "part_rsa", "above": 10, "leave": 9.5}},
    {"id": "rsa-clspd", "owner": "clspd-une", "scope": ["99001"],
     "include": ["commune", "quartier"],
     "rule": {"kind": "level", "indicator": "caf_rsa", "above": 30}},
    {"id": "shifts-clspd", "owner": "clspd-une", "scope": ["99001"],
     "rule": {"kind": "shift", "indicators": ["caf_rsa"]}},
    {"id": "shifts-obs", "owner": "observatoire", "scope": ["299000001"],
     "rule": {"kind": "shift", "indicators": ["caf_rsa", "part_rsa"]}},
]}


def build_digest_site(root: Path, port: int, monkeypatch,  # type: ignore[no-untyped-def]
                      cookie_secure: bool | None = None, contours: bool = False) -> Site:
    """The site, its rules fired on its data and its shifts, and the messages sent (with
    ``contours``, the catalog has outlines and digests their map)."""
    monkeypatch.setattr(review_site, "CELLS", cells(port))
    monkeypatch.setattr(review_site, "SUBSCRIPTIONS", SUBSCRIPTIONS)
    settings: dict = {"base_url": BASE_URL}
    if cookie_secure is not None:
        settings["cookie_secure"] = cookie_secure
    site = build_site(root, clock=FixedClock(NOW), settings=settings)
    runtime = site.runtime
    if contours:
        review_site.write_contours(runtime.workspace.catalog_dir)
    routing = Routing.build(runtime.catalog, load_subscriptions(runtime.catalog))
    events: list = [ObservationsRecorded(
        occurred_at=NOW, delivery_id=site.delivery_id, content_hash="f" * 64,
        convention_id="caf-mensuel", periods=review_site.PERIODS,
        indicators=["caf_rsa", "caf_alloc", "part_rsa"], observation_count=1, secret_count=0,
        series_count=1)]
    names = [f.name for f in dataclasses.fields(ShiftDetected) if f.name != "occurred_at"]
    with runtime.engine.connect() as conn:
        for shift_id in review_site.SHIFTS:
            row = shift_store.get(conn, shift_id)
            assert row is not None
            events.append(ShiftDetected(occurred_at=NOW, **{n: row[n] for n in names if n in row}))
    for event in events:
        route(event, routing=routing, engine=runtime.engine, clock=runtime.clock)
    deliver_due(NOW, catalog=runtime.catalog, cells=directory(runtime.catalog),
                engine=runtime.engine, channel=AppriseChannel(),
                base_url=runtime.workspace.settings.base_url)
    return site


def links(message: email.message.EmailMessage) -> list[str]:
    """Every link of a message: the HTML part's hrefs and the URLs of the text part."""
    out: list[str] = []
    for part in message.walk():
        if part.get_content_type() == "text/html":
            out += re.findall(r'href="([^"]+)"', part.get_content())
        elif part.get_content_type() == "text/plain":
            out += re.findall(r"https?://\S+", part.get_content())
    return out


def recipient_cell(message: email.message.EmailMessage) -> str:
    found = re.search(r"([a-z-]+)@ville\.example", str(message["To"]))
    assert found, message["To"]
    return found.group(1)
