"""`veille demo` writes the portrait (HTML and PDF) and opens the review page's door: an
analyst account and the command to serve the site. Its portrait publishes nothing before
review, and exactly what is then confirmed."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import rich.console
import rich.progress

from cli.demo_run import DEMO_ANALYST, run_demo
from portrait.build import build_portrait
from review.auth import authenticate
from review.decide import decide
from veille.runtime import open_runtime
from veille.store import shifts as shift_store


def test_demo_writes_the_portrait_and_says_how_to_review(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.delenv("VEILLE_DATABASE_URL", raising=False)
    out = io.StringIO()
    figures = run_demo(tmp_path / "demo", seed=2026,
                       console=rich.console.Console(file=out, width=200),
                       progress=rich.progress.Progress(disable=True))
    printed = out.getvalue()
    html, pdf = Path(figures["portrait_html"]), Path(figures["portrait_pdf"])
    assert html.exists() and pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
    assert f"veille serve -w {tmp_path / 'demo'}" in " ".join(printed.split())
    login, password = DEMO_ANALYST
    assert login in printed and password in printed
    runtime = open_runtime(tmp_path / "demo")
    assert authenticate(runtime.engine, login, password) is not None

    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed: bash install.sh installs it")
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], check=True,
                                   capture_output=True, text=True).stdout.split())
    assert "Note d'agglomération" in text and "Glossaire des indicateurs" in text
    assert "Évolutions confirmées par l'observatoire" not in text  # nothing reviewed yet
    # its maps (issue 17): the communes of the agglomeration, the quartiers of each commune
    assert re.search(r"Carte – .+? par commune, .+? – Communauté d'agglomération du Val", text)
    assert re.search(r"Carte – .+? par quartier, .+? – Fictiville", text)
    year = pdf.stem.rsplit("-", 1)[1]
    layout = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                            capture_output=True, text=True).stdout
    glossary = layout[layout.rindex("Glossaire des indicateurs"):]
    # the glossary's columns do not collide ("mensuelle28/01/2026", issue 16)
    assert re.search(r"(mensuelle|trimestrielle|annuelle)\s+\d{2}/\d{2}/\d{4}", glossary)
    assert not re.search(r"(mensuelle|trimestrielle|annuelle)\d", glossary)

    with runtime.engine.connect() as conn:
        pending = [s for s in shift_store.list_shifts(conn, status="active")
                   if s["period"].startswith(year)]
    assert len(pending) >= 2
    decide(runtime.engine, pending[0]["shift_id"], "confirmed", reviewer=login,
           now=dt.datetime.now(dt.UTC), comment="Vérifié avec le CCAS")
    decide(runtime.engine, pending[1]["shift_id"], "dismissed", reviewer=login,
           now=dt.datetime.now(dt.UTC), reason="noise")
    with runtime.engine.connect() as conn:
        portrait = build_portrait(conn, runtime.catalog, year, now=dt.datetime.now(dt.UTC))
    assert [s.shift_id for s in portrait.all_shifts()] == [pending[0]["shift_id"]]
    runtime.engine.dispose()
