"""Every value an enumerated catalog field accepts is documented in the README's catalog
reference, every documented field exists, and `veille check` names the allowed values."""

from __future__ import annotations

import enum
import re
import types
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from factories import write_catalog
from thresholds.subscriptions import Subscription
from veille.catalog import CatalogError, load_catalog
from veille.config import Settings
from veille.model import Cell, Convention, Indicator, Provider, Territory, TerritoryLink

README = Path(__file__).resolve().parents[1] / "README.md"
FILES: dict[str, type[BaseModel]] = {
    "territories.csv": Territory, "territory_links.csv": TerritoryLink,
    "glossary.yaml": Indicator, "providers.yaml": Provider, "conventions/*.yaml": Convention,
    "cells.yaml": Cell, "subscriptions.yaml": Subscription, "veille.yaml": Settings,
}


def _collect(tp: object, path: str, out: dict[str, set[str]], seen: frozenset) -> None:
    """The allowed values of every enumerated field below ``tp`` (StrEnum or Literal),
    by dotted path; union members (the rule kinds) share their paths."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        _collect(args[0], path, out, seen)
    elif origin is typing.Literal:
        out.setdefault(path, set()).update(str(a) for a in args)
    elif origin in (typing.Union, types.UnionType, list, set, tuple, frozenset):
        for arg in args:
            if arg is not Ellipsis:
                _collect(arg, path, out, seen)
    elif origin is dict:
        _collect(args[1], path, out, seen)
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        out.setdefault(path, set()).update(str(m.value) for m in tp)
    elif isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in seen:
        for name, fld in tp.model_fields.items():
            _collect(fld.annotation, f"{path}.{name}" if path else name, out, seen | {tp})


def _accepted() -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for file, model in FILES.items():
        fields: dict[str, set[str]] = {}
        _collect(model, "", fields, frozenset())
        out.update({(file, path): values for path, values in fields.items()})
    return out


def _documented() -> dict[tuple[str, str], set[str]]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Catalog reference: allowed values"):]
    section = section[:section.index("\n#", 1)]
    rows = re.findall(r"^\| ([^|]+?) \| ([^|]+?) \| ([^|]+) \|$", section, flags=re.M)
    return {(f, p): set(re.findall(r"`([^`]+)`", v)) for f, p, v in rows
            if f not in {"file", "---"}}


def test_the_walk_sees_the_enumerations() -> None:
    accepted = _accepted()
    assert accepted[("glossary.yaml", "kind")] == {"count", "rate", "amount"}
    assert {"level", "shift", "freshness"} <= accepted[("subscriptions.yaml", "rule.kind")]
    assert len(accepted) >= 20


def test_every_accepted_value_is_documented_and_nothing_else() -> None:
    accepted, documented = _accepted(), _documented()
    missing = {k: sorted(v - documented.get(k, set())) for k, v in accepted.items()
               if v - documented.get(k, set())}
    assert not missing, f"accepted by the code, not in the README's catalog reference: {missing}"
    stale = {k: sorted(v - accepted.get(k, set())) for k, v in documented.items()
             if v - accepted.get(k, set())}
    assert not stale, f"in the README's catalog reference, refused by the code: {stale}"


def test_check_names_the_allowed_values(tmp_path: Path) -> None:
    root = write_catalog(tmp_path) / "catalog"
    glossary = yaml.safe_load((root / "glossary.yaml").read_text(encoding="utf-8"))
    glossary["indicators"][0]["kind"] = "counts"
    (root / "glossary.yaml").write_text(yaml.safe_dump(glossary), encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    text = str(info.value)
    assert "field 'kind'" in text
    assert "expected one of 'count', 'rate' or 'amount' (found 'counts')" in text
