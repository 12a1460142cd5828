"""Subscriptions: who watches which rule on which territories, kept in a human-edited file.

``<workspace>/catalog/subscriptions.yaml``::

    subscriptions:
      - id: rsa-saint-imaginaire
        owner: ccas-saint-imaginaire        # a cell of cells.yaml
        scope: ["99002"]                    # inside the owner's territory
        include: [commune]                  # optional: kinds of territory watched in scope
        severity: warning                   # optional
        rule: {kind: level, indicator: caf_part_bas_revenus, above: 8, leave: 7.5}

The whole file is checked before it replaces the running set (a bad edit leaves the old
one in force); every problem names the file, the entry and the field. A subscription that
reaches outside its owner's territory is refused: a CCAS never sees another commune.
"""

from __future__ import annotations

import secrets
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import Field, ValidationError

from thresholds.rules import SHIFT_KINDS, Rule, ShiftRule
from veille.catalog import Catalog, CatalogError, CatalogProblem
from veille.model import Cell, CellKind, Member, Severity, Strict, TerritoryKind, error_text
from veille.yamlfile import FileContentError, load_yaml

FILE = "subscriptions.yaml"


class Subscription(Strict):
    """One rule watched by one cell over part of its territory."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{1,99}$")]
    owner: str
    scope: list[str] = Field(min_length=1)
    include: list[TerritoryKind] = Field(default_factory=list)
    rule: Rule
    severity: Severity | None = None
    label: str | None = None

    @property
    def indicators(self) -> list[str]:
        rule = self.rule
        if isinstance(rule, ShiftRule):
            return list(rule.indicators)
        return [rule.indicator]


@dataclass
class SubscriptionSet:
    """Every subscription, checked against the catalog and the cells."""

    items: dict[str, Subscription] = field(default_factory=dict)

    def of_cell(self, cell_id: str) -> list[Subscription]:
        return [s for s in self.items.values() if s.owner == cell_id]

    def __len__(self) -> int:
        return len(self.items)


def directory(catalog: Catalog) -> dict[str, Cell]:
    """Every cell that can receive news: those of cells.yaml, plus one provider cell per
    provider with a contact and no cell of its own (late or quarantined deliveries)."""
    cells = dict(catalog.cells)
    covered = {c.provider for c in cells.values() if c.kind is CellKind.PROVIDER}
    for provider in catalog.providers.values():
        if provider.id in covered or not provider.contact_url:
            continue
        cell_id = f"fournisseur-{provider.id}"
        if cell_id in cells:
            continue
        contact = provider.contact_name or f"Contact données {provider.name}"
        cells[cell_id] = Cell(
            id=cell_id, name=f"Contact données – {provider.name}", kind=CellKind.PROVIDER,
            provider=provider.id, schedule="immediate", reviewed_only=False,
            members=[Member(name=contact, url=provider.contact_url)])
    return cells


def scope_problems(sub: Subscription, catalog: Catalog, cells: dict[str, Cell],
                   entry: str | None = None) -> list[CatalogProblem]:
    """Why ``sub`` does not fit its owner, its catalog or its own scope ('' if it fits)."""
    entry = entry or sub.id
    out: list[CatalogProblem] = []
    owner = cells.get(sub.owner)
    if owner is None:
        return [CatalogProblem(FILE, entry, "owner", f"unknown cell '{sub.owner}'")]
    for code in sub.scope:
        if code not in catalog.territories:
            out.append(CatalogProblem(FILE, entry, "scope", f"unknown territory '{code}'"))
        elif not catalog.within(owner.scope, code):
            out.append(CatalogProblem(
                FILE, entry, "scope",
                f"territory '{code}' is outside the territory of cell '{owner.id}' "
                f"({', '.join(owner.scope) or 'none'}): refused"))
    for code in sub.indicators:
        if code not in catalog.indicators:
            out.append(CatalogProblem(FILE, entry, "rule.indicator",
                                      f"indicator '{code}' is not in the glossary"))
    rule = sub.rule
    if isinstance(rule, ShiftRule):
        for kind in rule.kinds:
            if kind not in SHIFT_KINDS:
                out.append(CatalogProblem(FILE, entry, "rule.kinds",
                                          f"unknown shift kind '{kind}' "
                                          f"(known: {', '.join(SHIFT_KINDS)})"))
    reference = getattr(rule, "reference", None)
    if reference not in (None, "commune", "parent"):
        if reference not in catalog.territories:
            out.append(CatalogProblem(FILE, entry, "rule.reference",
                                      f"unknown territory '{reference}'"))
        elif not catalog.within(owner.scope, reference):
            out.append(CatalogProblem(FILE, entry, "rule.reference",
                                      f"reference '{reference}' is outside the territory of "
                                      f"cell '{owner.id}': refused"))
    return out


def parse(raw: object, catalog: Catalog, cells: dict[str, Cell],
          file: str = FILE) -> SubscriptionSet:
    """Validate the decoded YAML as a whole; raise CatalogError listing every problem."""
    problems: list[CatalogProblem] = []
    items: dict[str, Subscription] = {}
    if raw is None:
        return SubscriptionSet()
    if not isinstance(raw, dict) or not isinstance(raw.get("subscriptions", []), list):
        raise CatalogError([CatalogProblem(file, "", "subscriptions",
                                           "expected a top-level 'subscriptions:' list")])
    for position, entry in enumerate(raw.get("subscriptions") or [], start=1):
        name = str(entry.get("id") or f"#{position}") if isinstance(entry, dict) else (
            f"#{position}")
        if not isinstance(entry, dict):
            problems.append(CatalogProblem(file, name, "", "expected a mapping of fields"))
            continue
        try:
            sub = Subscription.model_validate(entry)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(x) for x in err["loc"])
                problems.append(CatalogProblem(file, name, loc, error_text(err)))
            continue
        if sub.id in items:
            problems.append(CatalogProblem(file, sub.id, "id", "defined twice"))
        problems.extend(scope_problems(sub, catalog, cells, name))
        items[sub.id] = sub
    if problems:
        raise CatalogError(problems)
    return SubscriptionSet(items)


def load_subscriptions(catalog: Catalog, path: Path | None = None) -> SubscriptionSet:
    """Read ``catalog/subscriptions.yaml`` (absent: no subscriptions)."""
    path = path or catalog.root / FILE
    if not path.exists():
        return SubscriptionSet()
    try:
        raw = load_yaml(path, path.name)
    except FileContentError as exc:
        raise CatalogError([CatalogProblem(path.name, "", "", exc.detail)]) from exc
    return parse(raw, catalog, directory(catalog), path.name)


def new_id(owner: str, taken: Container[str]) -> str:
    """A fresh subscription id for ``owner``'s cell, drawn by the server: whoever adds a
    subscription through the site never chooses its id, so cannot name another's."""
    while True:
        candidate = f"{owner}-{secrets.token_hex(4)}"
        if candidate not in taken:
            return candidate


def _entries(path: Path) -> list:
    if path.exists():
        loaded = load_yaml(path, path.name)
        if isinstance(loaded, dict) and isinstance(loaded.get("subscriptions"), list):
            return list(loaded["subscriptions"])
    return []


def _write(catalog: Catalog, path: Path, entries: list) -> SubscriptionSet:
    """Check the whole candidate file, then replace the file in one rename."""
    candidate = {"subscriptions": entries}
    checked = parse(candidate, catalog, directory(catalog), path.name)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump(candidate, allow_unicode=True, sort_keys=False, width=100),
                   encoding="utf-8")
    tmp.replace(path)
    return checked


def save_subscription(catalog: Catalog, sub: Subscription, path: Path | None = None,
                      ) -> SubscriptionSet:
    """Add ``sub``, or replace the subscription of the same id and the same owner, after
    checking the whole result; the file is only written if everything in it is valid. An
    id that belongs to another cell is refused: a subscription never changes hands."""
    path = path or catalog.root / FILE
    entries = _entries(path)
    same = [e for e in entries if isinstance(e, dict) and e.get("id") == sub.id]
    if any(e.get("owner") != sub.owner for e in same):
        raise CatalogError([CatalogProblem(
            path.name, sub.id, "owner",
            f"subscription '{sub.id}' belongs to cell '{same[0].get('owner')}', not "
            f"'{sub.owner}': refused (choose another id)")])
    entries = [e for e in entries if not (isinstance(e, dict) and e.get("id") == sub.id)]
    entries.append(sub.model_dump(mode="json", exclude_none=True, exclude_defaults=False))
    return _write(catalog, path, entries)


def remove_subscription(catalog: Catalog, sub_id: str, path: Path | None = None,
                        ) -> SubscriptionSet:
    """Drop one subscription (the caller has checked its owner); the rest of the file is
    checked before it is written."""
    path = path or catalog.root / FILE
    entries = [e for e in _entries(path) if not (isinstance(e, dict) and e.get("id") == sub_id)]
    return _write(catalog, path, entries)


def targets(sub: Subscription, catalog: Catalog) -> list[str]:
    """Territories a value or freshness rule is evaluated on: the scope codes, or every
    territory of the ``include`` kinds inside the scope."""
    if not sub.include:
        return list(sub.scope)
    kinds = set(sub.include)
    return sorted(t.code for t in catalog.territories.values()
                  if t.kind in kinds and catalog.within(sub.scope, t.code))
