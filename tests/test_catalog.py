"""Catalog files are checked as a whole; each error names the file, the entry and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from factories import write_catalog
from veille.catalog import CatalogError, load_catalog
from veille.config import SettingsError, Workspace
from veille.yamlfile import FileContentError, load_yaml


def test_valid_catalog_loads_with_hierarchy(tmp_path: Path) -> None:
    catalog = load_catalog(write_catalog(tmp_path) / "catalog")
    assert len(catalog.indicators) == 4 and len(catalog.conventions) == 2
    assert [t.code for t in catalog.ancestors("Q-UN-NORD")] == ["99001", "299000001"]
    assert catalog.commune_of("Q-DEUX-EST") == "99002"
    assert catalog.within(["99001"], "Q-UN-SUD") and not catalog.within(["99001"], "Q-DEUX-EST")
    assert catalog.convention_for_file("caf_2024-03.csv").id == "caf-mensuel"
    assert catalog.indicators["part_rsa"].upper_bound == 100.0


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    root = write_catalog(tmp_path) / "catalog"
    glossary = yaml.safe_load((root / "glossary.yaml").read_text(encoding="utf-8"))
    glossary["indicators"][0]["theme"] = "loisirs"
    glossary["indicators"][1]["colour"] = "bleu"
    (root / "glossary.yaml").write_text(yaml.safe_dump(glossary), encoding="utf-8")
    with (root / "territories.csv").open("a", encoding="utf-8") as handle:
        handle.write("Q-ORPHELIN;quartier;Orphelin;99999;100\n12AB;commune;Mauvais code;;10\n")
    convention = yaml.safe_load((root / "conventions" / "caf-mensuel.yaml").read_text())
    convention["columns"]["NOUVEAU"] = {"indicator": "inconnu"}
    (root / "conventions" / "caf-mensuel.yaml").write_text(yaml.safe_dump(convention))
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    text = str(info.value)
    assert "glossary.yaml, entry 'caf_rsa', field 'theme'" in text
    assert "glossary.yaml, entry 'caf_alloc', field 'colour'" in text
    assert "territories.csv, entry 'Q-ORPHELIN', field 'parent': unknown territory '99999'" in text
    assert "territories.csv, entry '12AB'" in text and "not a valid commune code" in text
    assert ("conventions/caf-mensuel.yaml, entry 'caf-mensuel', field 'indicators': "
            "indicator 'inconnu' is not in the glossary") in text
    assert len(info.value.problems) == 5


def test_broken_yaml_and_missing_files_are_reported(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    (root / "conventions").mkdir(parents=True)
    (root / "conventions" / "x.yaml").write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    text = str(info.value)
    assert "glossary.yaml: missing file" in text and "territories.csv: missing file" in text
    assert "conventions/x.yaml: ligne 1, colonne 14 : YAML invalide" in text


def test_settings_errors_name_the_field(tmp_path: Path) -> None:
    (tmp_path / "veille.yaml").write_text("fdr_q: 2\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="field 'fdr_q'"):
        Workspace.open(tmp_path)


def test_yaml_reader_refuses_a_repeated_key_but_keeps_merge_keys(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("base: &b {a: 1, b: 2}\nitem:\n  <<: *b\n  b: 3\n", encoding="utf-8")
    assert load_yaml(path) == {"base": {"a": 1, "b": 2}, "item": {"a": 1, "b": 3}}
    path.write_text("outer:\n  inner: {x: 1, x: 2}\n", encoding="utf-8")
    with pytest.raises(FileContentError, match=r"f\.yaml, ligne 2, colonne 17 : "
                                               r"clé « x » en double \(déjà ligne 2\)"):
        load_yaml(path)
