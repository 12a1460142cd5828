"""Taking over another cell's subscription (issue 18): subscriptions used to be saved by
id with no owner check, so a CCAS director posting another cell's id replaced its owner
and could then delete it. Ids are now drawn by the server, every write checks the owner,
and the store of subscriptions refuses to move one to another cell (site and CLI)."""

from __future__ import annotations

import html
import re

import yaml
from review_site import Browser, Site, veille_cli


def _file(site: Site) -> dict:
    path = site.runtime.workspace.catalog_dir / "subscriptions.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _entry(site: Site, sub_id: str) -> dict | None:
    return next((e for e in _file(site)["subscriptions"] if e["id"] == sub_id), None)


def test_a_ccas_director_cannot_take_over_another_cells_subscription(browser: Browser,
                                                                     site: Site) -> None:
    before = _file(site)
    theirs = _entry(site, "rsa-deux")
    assert theirs is not None and theirs["owner"] == "ccas-deux"
    browser.login("dir-une")
    # the old attack: their own cell, the other cell's id
    takeover = browser.post("/abonnements", {
        "cell": "ccas-une", "sub_id": "rsa-deux", "indicator": "caf_rsa",
        "territory": "99001", "kind": "level", "threshold": "10"})
    assert takeover.status_code == 400
    assert ("Abonnement refusé : son identifiant est attribué par le site et ne se choisit "
            "pas") in takeover.text
    # and it cannot delete it either
    removed = browser.post("/abonnements/rsa-deux/supprimer", {})
    assert removed.status_code == 403
    assert "Cette cellule n'est pas la vôtre." in html.unescape(removed.text)
    assert _file(site) == before  # nothing of the file changed
    owner = Browser(site.app)
    owner.login("dir-deux")
    assert [s["id"] for s in owner.get("/api/abonnements?cell=ccas-deux").json()] == [
        "rsa-deux"]

    # the next good write still goes through, under an id the server drew
    added = browser.post("/abonnements", {"cell": "ccas-une", "indicator": "caf_rsa",
                                          "territory": "99001", "kind": "level",
                                          "threshold": "10"})
    assert added.status_code == 303
    ids = [e["id"] for e in _file(site)["subscriptions"]]
    new = [i for i in ids if i not in ("rsa-une", "rsa-deux")]
    assert len(new) == 1 and re.fullmatch(r"ccas-une-[0-9a-f]{8}", new[0]), ids
    assert _entry(site, "rsa-deux") == theirs


def test_ids_are_drawn_by_the_server_never_twice(browser: Browser, site: Site) -> None:
    browser.login("ana")  # analysts manage every cell, under the same rule
    form = {"cell": "ccas-deux", "indicator": "caf_rsa", "territory": "99002",
            "kind": "shift"}
    assert browser.post("/abonnements", form).status_code == 303
    assert browser.post("/abonnements", form).status_code == 303
    mine = [e for e in _file(site)["subscriptions"]
            if e["owner"] == "ccas-deux" and e["id"] != "rsa-deux"]
    assert len({e["id"] for e in mine}) == 2
    refused = browser.post("/abonnements", {**form, "sub_id": "rsa-une"})
    assert refused.status_code == 400
    assert _entry(site, "rsa-une") == {"id": "rsa-une", "owner": "ccas-une",
                                       "scope": ["99001"],
                                       "rule": {"kind": "shift", "indicators": ["caf_rsa"]}}


def test_the_cli_refuses_to_move_a_subscription_to_another_cell(site: Site) -> None:
    root = str(site.runtime.workspace.root)
    before = _file(site)
    moved = veille_cli("subscribe", "rsa-deux", "--cell", "ccas-une", "--scope", "99001",
                       "--rule", "kind=level indicator=caf_rsa above=10", "-w", root)
    assert moved.returncode == 2
    assert ("subscription 'rsa-deux' belongs to cell 'ccas-deux', not 'ccas-une': refused"
            in " ".join(moved.stdout.split()))
    assert "Traceback" not in moved.stdout + moved.stderr
    assert _file(site) == before
    # its own cell may still change it
    changed = veille_cli("subscribe", "rsa-deux", "--cell", "ccas-deux", "--scope", "99002",
                         "--rule", "kind=level indicator=caf_rsa above=120", "-w", root)
    assert changed.returncode == 0, changed.stdout
    assert _entry(site, "rsa-deux")["rule"]["above"] == 120  # type: ignore[index]
