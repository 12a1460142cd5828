"""Subscriptions file and commands: validation naming file/entry/field, scope refusal,
`veille subscribe` writing the file, and masked URLs in `veille cells list` and
`veille notifications`."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app
from digests.channels import mask_url
from factories import write_catalog
from thresholds.subscriptions import load_subscriptions
from veille.catalog import CatalogError, load_catalog
from veille.store import make_engine, migrate
from veille.store import notifications as store

CELLS = {"cells": [
    {"id": "ccas-un", "name": "CCAS de Ville-Une", "kind": "ccas", "scope": ["99001"],
     "members": [{"name": "Paul", "url": "json://paul:Tr3sSecret@127.0.0.1:9/hook"}]},
]}


def _workspace(tmp_path, subscriptions=None):
    root = write_catalog(tmp_path / "ws")
    (root / "catalog" / "cells.yaml").write_text(yaml.safe_dump(CELLS), encoding="utf-8")
    if subscriptions is not None:
        (root / "catalog" / "subscriptions.yaml").write_text(
            yaml.safe_dump({"subscriptions": subscriptions}), encoding="utf-8")
    return root


def test_outside_scope_and_bad_fields_are_refused_with_file_entry_field(tmp_path):
    root = _workspace(tmp_path, [
        {"id": "voisins", "owner": "ccas-un", "scope": ["Q-DEUX-EST"],
         "rule": {"kind": "level", "indicator": "caf_rsa", "above": 10}},
        {"id": "faute", "owner": "ccas-un", "scope": ["99001"],
         "rule": {"kind": "level", "indicator": "caf_rsa", "above": 10, "leave": 12}},
        {"id": "inconnu", "owner": "ccas-un", "scope": ["99001"],
         "rule": {"kind": "change", "indicator": "nope", "periods": 12, "by": 5}},
    ])
    catalog = load_catalog(root / "catalog")
    with pytest.raises(CatalogError) as info:
        load_subscriptions(catalog)
    text = str(info.value)
    assert ("subscriptions.yaml, entry 'voisins', field 'scope': territory 'Q-DEUX-EST' is "
            "outside the territory of cell 'ccas-un'") in text
    assert "entry 'faute', field 'rule.level.leave'" in text or (
        "entry 'faute', field 'rule.level'" in text)
    assert "entry 'inconnu', field 'rule.indicator': indicator 'nope'" in text


def test_subscribe_command_checks_scope_then_writes(tmp_path):
    root = _workspace(tmp_path)
    runner = CliRunner()
    refused = runner.invoke(app, ["subscribe", "voisins", "--cell", "ccas-un", "--scope",
                                  "99002", "--rule", "kind=level indicator=caf_rsa above=10",
                                  "-w", str(root)])
    assert refused.exit_code == 2
    assert "outside the territory of cell 'ccas-un'" in refused.output
    assert not (root / "catalog" / "subscriptions.yaml").exists()
    ok = runner.invoke(app, ["subscribe", "rsa-nord", "--cell", "ccas-un", "--scope",
                             "Q-UN-NORD", "--rule",
                             "kind=level indicator=part_rsa above=12 leave=11",
                             "--severity", "warning", "-w", str(root)])
    assert ok.exit_code == 0, ok.output
    saved = yaml.safe_load((root / "catalog" / "subscriptions.yaml").read_text())
    assert saved["subscriptions"][0]["rule"] == {"kind": "level", "indicator": "part_rsa",
                                                 "above": 12, "leave": 11}
    assert len(load_subscriptions(load_catalog(root / "catalog"))) == 1


def test_urls_are_masked_in_cells_list_and_notification_log(tmp_path):
    root = _workspace(tmp_path)
    runner = CliRunner()
    listed = runner.invoke(app, ["cells", "list", "-w", str(root)], env={"COLUMNS": "250"})
    assert listed.exit_code == 0, listed.output
    assert "Tr3sSecret" not in listed.output
    assert "ccas-un" in listed.output
    engine = make_engine(f"sqlite:///{root / 'veille.db'}")
    migrate(engine)
    url = CELLS["cells"][0]["members"][0]["url"]
    with engine.begin() as conn:
        store.log(conn, digest_id="d1", cell_id="ccas-un", recipient="Paul",
                  channel=mask_url(url), attempt=1, outcome="delivered", error=None,
                  at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    log = runner.invoke(app, ["notifications", "-w", str(root)], env={"COLUMNS": "250"})
    assert log.exit_code == 0, log.output
    assert "Tr3sSecret" not in log.output and "delivered" in log.output


@pytest.mark.parametrize("command", [["cells", "--help"], ["cells", "list", "--help"],
                                     ["cells", "set", "--help"], ["subscribe", "--help"],
                                     ["alerts", "--help"], ["notifications", "--help"],
                                     ["digests", "send", "--help"], ["digests", "list", "--help"]])
def test_every_command_has_help(command):
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0 and "Usage" in result.output
