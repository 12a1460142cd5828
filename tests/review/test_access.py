"""Every route, every role, every scope: checked on the server, whatever the URL says."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from veille.store.schema import shifts

ROUTES = [  # path, roles that may read it (others: 403)
    ("/revue", {"analyst"}),
    ("/revue?theme=precarite&territory=99001&kind=level_shift&status=", {"analyst"}),
    ("/revue/evolution/s-nord", {"analyst"}),
    ("/revue/evolution/s-nord/graphique.svg", {"analyst"}),
    ("/api/shifts", {"analyst"}),
    ("/abonnements", {"analyst", "ccas"}),
    ("/syntheses", {"analyst", "ccas", "clspd"}),
    ("/livraisons", {"analyst"}),
    ("/series/caf_rsa/Q-UN-NORD", {"analyst", "ccas", "clspd"}),
    ("/api/series/caf_rsa/Q-UN-NORD", {"analyst", "ccas", "clspd"}),
    ("/portrait/2025/commune/99001", {"analyst", "ccas", "clspd", "reader"}),
    ("/portrait/2025", {"analyst", "reader"}),
]
ACCOUNTS = {"analyst": "ana", "ccas": "dir-une", "clspd": "clspd-une", "reader": "elu"}


@pytest.mark.parametrize("role", list(ACCOUNTS))
def test_every_route_checks_the_role(browser, role: str) -> None:
    assert browser.login(ACCOUNTS[role]).status_code == 303
    for path, allowed in ROUTES:
        response = browser.get(path)
        if role in allowed:
            assert response.status_code == 200, (role, path, response.text[:300])
        elif path == "/portrait/2025":
            # CCAS and CLSPD members are sent to their own commune's note
            assert response.status_code == 303
            assert response.headers["location"] == "/portrait/2025/commune/99001"
        else:
            assert response.status_code == 403, (role, path)


def test_anonymous_is_sent_to_login_and_api_says_401(browser) -> None:
    for path, _ in ROUTES:
        response = browser.get(path)
        if path.startswith("/api/"):
            assert response.status_code == 401
        else:
            assert response.status_code == 303
            assert response.headers["location"].startswith("/connexion")


def test_wrong_password_is_refused(browser) -> None:
    response = browser.login("ana", "pas-le-bon-mot-de-passe")
    assert response.status_code == 401
    assert "Identifiant ou mot de passe incorrect" in response.text
    assert browser.get("/revue").status_code == 303
    assert browser.login("inconnu").status_code == 401


@pytest.mark.parametrize("path", [
    "/series/caf_rsa/Q-DEUX-EST", "/api/series/caf_rsa/99002",
    "/api/series/part_rsa/299000001", "/portrait/2025/commune/99002",
    "/portrait/2025/commune/99002.pdf", "/api/abonnements?cell=ccas-deux",
    "/portrait/2025.pdf",
])
def test_ccas_director_cannot_read_another_commune(browser, path: str) -> None:
    browser.login("dir-une")
    assert browser.get(path).status_code == 403


def test_ccas_director_sees_only_own_cells_and_cannot_change_others(browser, site) -> None:
    browser.login("dir-une")
    page = browser.get("/abonnements")
    assert "CCAS de Ville-Une" in page.text and "CCAS de Ville-Deux" not in page.text
    assert "rsa-deux" not in page.text
    assert browser.get("/api/abonnements?cell=ccas-une").json()[0]["id"] == "rsa-une"
    removed = browser.post("/abonnements/rsa-deux/supprimer", {})
    assert removed.status_code == 403
    added = browser.post("/abonnements", {"cell": "ccas-deux", "label": "intrus",
                                          "indicator": "caf_rsa", "territory": "99002",
                                          "kind": "level", "threshold": "10"})
    assert added.status_code == 403
    # inside their own cell, a territory of the other commune is refused too
    outside = browser.post("/abonnements", {"cell": "ccas-une", "label": "dehors",
                                            "indicator": "caf_rsa", "territory": "Q-DEUX-EST",
                                            "kind": "level", "threshold": "10"})
    assert outside.status_code == 422  # the form again, the French reason beside the field
    assert ('<p class="error" id="err-territory" role="alert">Ce territoire n&#39;est pas '
            'dans le périmètre de la cellule.</p>') in outside.text
    text = (site.runtime.workspace.catalog_dir / "subscriptions.yaml").read_text()
    assert "intrus" not in text and "dehors" not in text and "rsa-deux" in text


def test_ccas_director_manages_own_subscriptions(browser, site) -> None:
    browser.login("dir-une")
    added = browser.post("/abonnements", {"cell": "ccas-une", "label": "RSA au Nord",
                                          "indicator": "caf_rsa", "territory": "Q-UN-NORD",
                                          "kind": "level", "threshold": "60"})
    assert added.status_code == 303
    new = [s for s in browser.get("/api/abonnements?cell=ccas-une").json()
           if s["id"] != "rsa-une"]
    assert [s["label"] for s in new] == ["RSA au Nord"]
    assert browser.post(f"/abonnements/{new[0]['id']}/supprimer", {}).status_code == 303
    ids = [s["id"] for s in browser.get("/api/abonnements?cell=ccas-une").json()]
    assert ids == ["rsa-une"]


def test_clspd_member_reads_only_their_neighbourhoods(browser) -> None:
    browser.login("clspd-une")
    assert browser.get("/api/series/caf_rsa/Q-UN-SUD").status_code == 200
    assert browser.get("/api/series/caf_rsa/Q-DEUX-OUEST").status_code == 403
    assert browser.get("/api/series/caf_rsa/299000001").status_code == 403
    assert browser.get("/abonnements").status_code == 403


def test_post_without_or_with_a_wrong_csrf_token_changes_nothing(browser, site) -> None:
    browser.login("ana")
    url = "/revue/evolution/s-nord/decision"
    assert browser.post(url, {"decision": "confirmed"}, csrf=False).status_code == 403
    bad = browser.post(url, [("decision", "confirmed"), ("csrf_token", "forged")], csrf=False)
    assert bad.status_code == 403
    lot = browser.post("/revue/lot", [("decision", "confirmed"), ("shift_ids", "s-nord")],
                       csrf=False)
    assert lot.status_code == 403
    with site.runtime.engine.connect() as conn:
        status = conn.execute(select(shifts.c.review_status)
                              .where(shifts.c.shift_id == "s-nord")).scalar()
    assert status == "pending"
    # and a login form posted from elsewhere (no token) is refused
    other = browser.client.post("/connexion", data={"username": "ana", "password": "x"})
    assert other.status_code == 403


def test_logout_ends_the_session(browser) -> None:
    browser.login("ana")
    assert browser.get("/revue").status_code == 200
    assert browser.post("/deconnexion", {}).status_code == 303
    assert browser.get("/revue").status_code == 303


def test_digest_pages_follow_the_cell_scope(browser, site) -> None:
    import datetime as dt

    from veille.store import notifications

    now = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    with site.runtime.engine.begin() as conn:
        for cell in ("clspd-une", "ccas-deux"):
            notifications.insert_digest(conn, {
                "digest_id": f"{cell}:2025-07", "cell_id": cell, "kind": "digest",
                "slot": "2025-07", "subject": f"Synthèse {cell}", "body_text": "texte",
                "body_html": "<p>corps</p>", "alert_count": 1, "status": "sent",
                "created_at": now})
    browser.login("clspd-une")
    listing = browser.get("/syntheses").text
    assert "Synthèse clspd-une" in listing and "Synthèse ccas-deux" not in listing
    assert browser.get("/syntheses/clspd-une:2025-07").status_code == 200
    assert browser.get("/syntheses/ccas-deux:2025-07").status_code == 403
