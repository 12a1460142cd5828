"""The entries a draft needs, added to the analyst's glossary and providers files as text:
comments and order kept; a list followed by another key is rewritten whole, and said."""

from __future__ import annotations

from pathlib import Path

import yaml

from connectors.draft.catalog_files import add_entries

ENTRY = {"code": "caf_rsa", "label": "Foyers RSA", "kind": "count"}


def test_an_empty_list_is_filled_and_the_comments_stay(tmp_path: Path) -> None:
    path = tmp_path / "glossary.yaml"
    path.write_text("# mon glossaire\n# - code: exemple\nindicators: []\n", encoding="utf-8")
    assert add_entries(path, "indicators", [ENTRY], {"kind": "deviné"}, "Brouillon")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# mon glossaire\n# - code: exemple\nindicators:\n")
    assert "kind: count  # deviné" in text
    assert yaml.safe_load(text) == {"indicators": [ENTRY]}


def test_a_list_written_at_any_indent_is_extended(tmp_path: Path) -> None:
    path = tmp_path / "glossary.yaml"
    path.write_text("indicators:\n- code: a_b\n  label: A  # le mien\n", encoding="utf-8")
    assert add_entries(path, "indicators", [ENTRY], {}, "Brouillon")
    text = path.read_text(encoding="utf-8")
    assert "label: A  # le mien" in text
    assert yaml.safe_load(text)["indicators"] == [{"code": "a_b", "label": "A"}, ENTRY]


def test_a_list_followed_by_another_key_is_rewritten_and_said(tmp_path: Path) -> None:
    path = tmp_path / "providers.yaml"
    path.write_text("providers:\n  - id: caf\n    name: CAF\nversion: 2\n", encoding="utf-8")
    assert not add_entries(path, "providers", [{"id": "ssmsi", "name": "SSMSI"}], {}, "B")
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == {
        "providers": [{"id": "caf", "name": "CAF"}, {"id": "ssmsi", "name": "SSMSI"}],
        "version": 2}


def test_a_missing_file_is_created(tmp_path: Path) -> None:
    path = tmp_path / "providers.yaml"
    assert add_entries(path, "providers", [{"id": "caf", "name": "CAF"}], {}, "B")
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == {
        "providers": [{"id": "caf", "name": "CAF"}]}
