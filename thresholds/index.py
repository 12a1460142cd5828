"""An index of subscriptions so that routing a shift costs a few dictionary look-ups
(the series' indicator and the territory's ancestors) instead of a pass over every
subscription."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from thresholds.rules import FreshnessRule, ShiftRule, shift_severity
from thresholds.subscriptions import Subscription, SubscriptionSet, directory, targets
from veille.catalog import Catalog
from veille.model import Cell


@dataclass(frozen=True)
class ShiftFacts:
    """What routing needs to know of a shift (from the event or the store)."""

    indicator: str
    territory: str
    kind: str
    direction: int
    good_news: bool | None
    q_value: float


def shift_indicators(sub: Subscription, rule: ShiftRule, catalog: Catalog,
                     cell: Cell | None) -> set[str]:
    """Indicators a shift rule listens to: named ones, those of named themes, else those
    of the owner cell's themes (else all)."""
    wanted = set(rule.indicators)
    themes = set(rule.themes)
    if not wanted and not themes:
        themes = set(cell.themes) if cell is not None and cell.themes else set()
        if not themes:
            return set(catalog.indicators)
    wanted |= {c for c, ind in catalog.indicators.items() if ind.theme in themes}
    return wanted


def shift_rule_matches(sub: Subscription, facts: ShiftFacts, catalog: Catalog) -> bool:
    """The rule's own conditions on kind, severity, q and direction (not the territory)."""
    rule = sub.rule
    assert isinstance(rule, ShiftRule)
    if rule.kinds and facts.kind not in rule.kinds:
        return False
    if shift_severity(facts.q_value).rank < rule.min_severity.rank:
        return False
    if rule.max_q is not None and facts.q_value > rule.max_q:
        return False
    if rule.direction == "up" and facts.direction <= 0:
        return False
    if rule.direction == "down" and facts.direction >= 0:
        return False
    if rule.direction == "bad" and facts.good_news is not False:
        return False
    if sub.include:
        territory = catalog.territories.get(facts.territory)
        if territory is None or territory.kind not in sub.include:
            return False
    return True


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A shift rule's conditions as plain values, checked in the routing hot loop."""

    sub: Subscription
    kinds: frozenset[str]
    min_rank: int
    max_q: float
    direction: str
    include: frozenset[str]

    @classmethod
    def of(cls, sub: Subscription) -> _Compiled:
        rule = sub.rule
        assert isinstance(rule, ShiftRule)
        return cls(sub, frozenset(rule.kinds), rule.min_severity.rank,
                   rule.max_q if rule.max_q is not None else 1.0, rule.direction,
                   frozenset(k.value for k in sub.include))

    def accepts(self, facts: ShiftFacts, rank: int, territory_kind: str) -> bool:
        if self.kinds and facts.kind not in self.kinds:
            return False
        if rank < self.min_rank or facts.q_value > self.max_q:
            return False
        direction = self.direction
        if direction != "any" and (
                (direction == "up" and facts.direction <= 0)
                or (direction == "down" and facts.direction >= 0)
                or (direction == "bad" and facts.good_news is not False)):
            return False
        return not self.include or territory_kind in self.include


@dataclass
class SubscriptionIndex:
    """Subscriptions by what they listen to."""

    catalog: Catalog
    cells: dict[str, Cell]
    subscriptions: SubscriptionSet
    by_indicator: dict[str, list[Subscription]] = field(default_factory=dict)
    freshness: list[Subscription] = field(default_factory=list)
    shift_keys: dict[tuple[str, str], list[_Compiled]] = field(default_factory=dict)
    targets: dict[str, list[str]] = field(default_factory=dict)
    _lineage: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, catalog: Catalog, subscriptions: SubscriptionSet) -> SubscriptionIndex:
        index = cls(catalog, directory(catalog), subscriptions)
        by_indicator: dict[str, list[Subscription]] = defaultdict(list)
        shift_keys: dict[tuple[str, str], list[_Compiled]] = defaultdict(list)
        for sub in subscriptions.items.values():
            rule = sub.rule
            if isinstance(rule, ShiftRule):
                compiled = _Compiled.of(sub)
                for indicator in shift_indicators(sub, rule, catalog, index.cells.get(sub.owner)):
                    for code in sub.scope:
                        shift_keys[(indicator, code)].append(compiled)
            elif isinstance(rule, FreshnessRule):
                index.freshness.append(sub)
                index.targets[sub.id] = targets(sub, catalog)
            else:
                by_indicator[rule.indicator].append(sub)
                index.targets[sub.id] = targets(sub, catalog)
        index.by_indicator = dict(by_indicator)
        index.shift_keys = dict(shift_keys)
        return index

    def lineage(self, territory: str) -> tuple[str, ...]:
        """The territory and its ancestors, cached."""
        found = self._lineage.get(territory)
        if found is None:
            found = (territory, *(a.code for a in self.catalog.ancestors(territory)))
            self._lineage[territory] = found
        return found

    def shift_matches(self, facts: ShiftFacts) -> list[Subscription]:
        """Subscriptions a shift concerns, each once (a few look-ups, no full pass)."""
        rank = shift_severity(facts.q_value).rank
        territory = self.catalog.territories.get(facts.territory)
        kind = territory.kind.value if territory is not None else ""
        out: list[Subscription] = []
        seen: set[str] = set()
        keys = self.shift_keys
        for code in self.lineage(facts.territory):
            for entry in keys.get((facts.indicator, code), ()):
                if entry.accepts(facts, rank, kind) and entry.sub.id not in seen:
                    seen.add(entry.sub.id)
                    out.append(entry.sub)
        return out
