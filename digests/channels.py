"""Channels: how one message reaches one recipient. Each answers 'did it work, and is the
failure worth retrying?' and never lets a credential of an Apprise URL out.

* :class:`AppriseChannel` sends through Apprise (mailto, json, Teams, Slack, ntfy...): one
  Apprise call per recipient group (a member's URL, which may name several addresses),
  tagged with the cell.
* :class:`OutboxChannel` (default of an embedded workspace) writes each message as an
  ``.eml`` and an ``.html`` file in ``<workspace>/outbox``: real digests, no server.
"""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import apprise

HTML_SCHEMES = {"mailto", "mailtos", "email", "outbox"}
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<pw>[^@/\s]+)@")
_SECRET_PARAMS = re.compile(
    r"(?P<key>(?:pass|password|pwd|token|key|apikey|secret|auth|webhook)[^=&\s]*)=(?P<v>[^&\s]+)",
    re.IGNORECASE)


def mask_url(url: str) -> str:
    """An Apprise URL fit for logs and pages: passwords and tokens replaced by ****.
    Apprise's own privacy form is used when the URL is valid; the regex covers the rest."""
    masked = url
    try:
        plugin = apprise.Apprise.instantiate(url)
    except Exception:  # a malformed URL must still be masked, whatever Apprise thinks
        plugin = None
    if plugin is not None:
        masked = plugin.url(privacy=True)
        masked = masked.split("?", 1)[0] if "?" in masked else masked
    masked = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:****@", masked)
    return _SECRET_PARAMS.sub(lambda m: f"{m['key']}=****", masked)


def scrub(text: str, url: str) -> str:
    """Remove every secret part of ``url`` from a free text (an error message)."""
    out = text.replace(url, mask_url(url))
    parts = urlsplit(url)
    secrets = [parts.password or ""] + [v for vs in parse_qs(parts.query).values() for v in vs
                                        if len(v) >= 6]
    for secret in filter(None, secrets):
        out = out.replace(secret, "****").replace(unquote(secret), "****")
    return _SECRET_PARAMS.sub(lambda m: f"{m['key']}=****", out)


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


@dataclass(frozen=True)
class Message:
    message_id: str
    cell_id: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class SendResult:
    ok: bool
    retryable: bool = True
    error: str = ""


class Channel(Protocol):
    def send(self, message: Message, recipient_name: str, url: str) -> SendResult: ...


class AppriseChannel:
    """Send through Apprise; the member's URL is tagged with the cell id."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def send(self, message: Message, recipient_name: str, url: str) -> SendResult:
        notifier = apprise.Apprise()
        if not notifier.add(url, tag=message.cell_id):
            return SendResult(False, retryable=False,
                              error=f"URL Apprise invalide : {mask_url(url)}")
        html = scheme_of(url) in HTML_SCHEMES
        with apprise.LogCapture(level=logging.WARNING) as logs:
            result = notifier.notify(
                title=message.subject, body=message.html if html else message.text,
                body_format=apprise.NotifyFormat.HTML if html else apprise.NotifyFormat.TEXT,
                tag=message.cell_id)
        if bool(result):
            return SendResult(True)
        captured = logs.getvalue() if hasattr(logs, "getvalue") else ""
        lines = [line.split(" - ", 2)[-1] for line in str(captured).splitlines() if line]
        return SendResult(False, retryable=True,
                          error=scrub("; ".join(lines[-3:]) or "échec Apprise", url))


def _address(url: str, fallback: str) -> str:
    """The e-mail address a mailto:// URL points to, for the outbox files."""
    parts = urlsplit(url)
    to = parse_qs(parts.query).get("to")
    if to:
        return to[0]
    if parts.username and parts.hostname:
        return f"{unquote(parts.username)}@{parts.hostname}"
    return fallback


_DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def email_bytes(message: Message, sender: str, recipient_name: str, address: str) -> bytes:
    """A complete e-mail: text and HTML alternatives, charts as inline (cid) images."""
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = formataddr(("Observatoire – veille", sender))
    email["To"] = formataddr((recipient_name, address))
    email["Message-ID"] = make_msgid(domain="veille.invalid")
    email["X-Veille-Message"] = message.message_id
    email.set_content(message.text)
    images: list[tuple[str, bytes]] = []

    def to_cid(match: re.Match[str]) -> str:
        cid = make_msgid(domain="veille.invalid")
        images.append((cid, base64.b64decode(match.group(1))))
        return f'src="cid:{cid[1:-1]}"'

    email.add_alternative(_DATA_URI.sub(to_cid, message.html), subtype="html")
    html_part = list(email.iter_parts())[1]  # the HTML alternative just added
    for cid, data in images:
        html_part.add_related(data, maintype="image", subtype="png", cid=cid)
    return email.as_bytes()


class OutboxChannel:
    """Write the message to files: ``<id>__<recipient>.eml`` (what a mail client would
    receive) and ``.html`` (to open in a browser)."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    def send(self, message: Message, recipient_name: str, url: str) -> SendResult:
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{message.message_id}__{recipient_name}")[:180]
        address = _address(url, "destinataire@invalid")
        try:
            (self.folder / f"{stem}.eml").write_bytes(
                email_bytes(message, self.sender, recipient_name, address))
            (self.folder / f"{stem}.html").write_text(message.html, encoding="utf-8")
        except OSError as exc:
            return SendResult(False, retryable=True, error=str(exc))
        return SendResult(True)
