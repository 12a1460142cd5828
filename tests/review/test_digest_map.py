"""A digest's small map (issue 17): a PNG of the cell's territory with the alerted
territories in orange, carried like the charts (a data: URI in the message's HTML, an
inline cid attachment in the e-mail files of the outbox channel)."""

from __future__ import annotations

import base64
import email
import email.policy
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from digest_world import build_digest_site, recipient_cell, smtp_server
from matplotlib.image import imread
from review_site import write_contours

from digests.channels import Message, email_bytes
from factories import write_catalog

REPO = Path(__file__).resolve().parents[2]

ORANGE = np.array([0xE6, 0x55, 0x0D]) / 255


def _orange_share(png: bytes) -> float:
    pixels = imread(io.BytesIO(png))[..., :3]
    return float(np.mean(np.all(np.abs(pixels - ORANGE) < 0.02, axis=-1)))


def test_a_digest_carries_the_map_of_its_alerts(tmp_path: Path, db_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_DATABASE_URL", db_url)
    with smtp_server() as (sink, port):
        site = build_digest_site(tmp_path / "ws", port, monkeypatch, contours=True)
    site.runtime.engine.dispose()
    by_cell = {recipient_cell(m): m for m in sink.messages}
    message = by_cell["clspd-une"]  # caf_rsa above 30 in Ville-Une's quartiers
    html = message.get_body(("html",))
    assert html is not None
    content = html.get_content()
    assert 'alt="Carte : les territoires de la cellule, en orange ceux qui ont une alerte"' in (
        content)
    start = content.index('alt="Carte')
    src = content[content.rindex("<img", 0, start):start]
    png = base64.b64decode(src.split("base64,")[1].split('"')[0])
    assert png.startswith(b"\x89PNG")
    assert _orange_share(png) > 0.05  # alerted quartiers drawn in orange
    # written as an e-mail file (outbox channel), the map is an inline cid attachment
    written = email.message_from_bytes(email_bytes(
        Message("m", "clspd-une", str(message["Subject"]), "texte", content),
        "veille@observatoire.example", "Membre", "membre@ville.example"),
        policy=email.policy.default)
    body = written.get_body(("html",))
    assert body is not None and 'alt="Carte' in body.get_content()
    assert "data:image" not in body.get_content()
    images = [p.get_content() for p in written.walk() if p.get_content_type() == "image/png"]
    assert png in images
    text = message.get_body(("plain",))
    assert text is not None and "cid:" not in text.get_content()


def test_no_contours_no_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_DATABASE_URL", f"sqlite:///{tmp_path / 'd.db'}")
    with smtp_server() as (sink, port):
        site = build_digest_site(tmp_path / "ws", port, monkeypatch)
    site.runtime.engine.dispose()
    assert sink.messages
    for message in sink.messages:
        body = message.get_body(("html",))
        assert body is not None and 'alt="Carte' not in body.get_content()


def test_the_map_is_the_same_bytes_in_every_process(tmp_path: Path) -> None:
    """Both runners (embedded, bus worker) must write the same digest: the map may not
    depend on a process's string hash seed (the order of a set of codes)."""
    root = write_catalog(tmp_path / "ws")
    write_contours(root / "catalog")
    script = (
        "import hashlib, sys\n"
        "from pathlib import Path\n"
        "from digests.maps import cell_map\n"
        "from veille.catalog import load_catalog\n"
        "from veille.model import Cell\n"
        "catalog = load_catalog(Path(sys.argv[1]))\n"
        "cell = Cell(id='clspd-une', name='CLSPD', kind='clspd', scope=['99001', '99002'])\n"
        "alerts = [{'territory': c} for c in ('Q-UN-NORD', 'Q-DEUX-EST', 'Q-UN-SUD')]\n"
        "print(hashlib.sha256(cell_map(catalog, cell, alerts)).hexdigest())\n")
    digests = set()
    for seed in ("1", "2", "3"):
        done = subprocess.run(
            [sys.executable, "-c", script, str(root / "catalog")], capture_output=True,
            text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)})
        digests.add(done.stdout.strip())
    assert len(digests) == 1, digests
