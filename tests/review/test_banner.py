"""Text injected into the banner (issue 18): ``?message=`` used to be shown as it came, so
a link could make the site say anything. Only message codes travel now; an unknown code,
or any text, shows nothing."""

from __future__ import annotations

import html
from urllib.parse import urlencode

from review_site import Browser

PAYLOADS = [
    "<script>alert('piège')</script>",
    "Votre compte est suspendu : appelez le 01 02 03 04 05",
    "abonnement-enregistre<b>gras</b>",
]
PAGES = ["/abonnements", "/revue", "/revue/evolution/s-nord"]


def test_text_from_the_query_string_never_reaches_the_page(browser: Browser) -> None:
    browser.login("ana")
    for payload in PAYLOADS:
        for path in PAGES:
            for query in ({"message": payload},
                          {"message": "lot-confirmed", "n": payload},
                          {"message": "lot-confirmed", "n": "3", "refus": "1",
                           "motifs": payload}):
                page = browser.get(f"{path}?{urlencode(query)}")
                assert page.status_code == 200, (path, query)
                for shown in (payload, html.escape(payload),
                              html.escape(payload, quote=False), "piège", "suspendu", "gras"):
                    assert shown not in page.text, (path, query, shown)


def test_unknown_codes_show_no_banner(browser: Browser) -> None:
    browser.login("ana")
    for query in ("message=inconnu", "message=lot-confirmed", "message=lot-confirmed&n=-1",
                  "message=lot-confirmed&n=12345678"):
        assert 'class="flash"' not in browser.get(f"/revue?{query}").text, query


def _banner(page) -> str:  # type: ignore[no-untyped-def]
    start = page.text.index('class="flash"')
    return html.unescape(page.text[page.text.index(">", start) + 1:
                                   page.text.index("</p>", start)])


def test_each_action_shows_its_french_text(browser: Browser) -> None:
    browser.login("ana")
    added = browser.post("/abonnements", {"cell": "ccas-une", "indicator": "caf_rsa",
                                          "territory": "99001", "kind": "shift"})
    assert _banner(browser.get(added.headers["location"])) == "Abonnement enregistré."

    refused = browser.post("/revue/evolution/s-nord/decision", {"decision": "dismissed"})
    assert _banner(browser.get(refused.headers["location"])) == (
        "Refusé : écarter une évolution demande un motif.")
    done = browser.post("/revue/evolution/s-nord/decision", {"decision": "confirmed"})
    assert _banner(browser.get(done.headers["location"])) == (
        "Décision enregistrée : confirmée.")

    bulk = browser.post("/revue/lot", [("decision", "dismissed"), ("reason", "noise"),
                                       ("shift_ids", "s-est"), ("shift_ids", "s-absente")])
    assert _banner(browser.get(bulk.headers["location"])) == (
        "1 évolution(s) écartée(s) ; 1 refusée(s) : évolution inconnue.")
