"""Scoring detections against known changes (the demo's ground truth, seeded benchmarks).

A known change is *found* when an active shift on its series falls between its first
period and a detection delay after it. The delay depends on the kind of change:

* a spike or a dip is one period: it is found at its own period, or at the next one (a
  late delivery of the following period can carry the news first);
* a level shift or a trend change is sustained: its evidence accumulates wave after wave
  (the level-shift and trend-change tests search the position of the change among the
  recent periods, `detectors.design`), so a change of 3 noise SDs that is not significant
  on its first wave is on the next ones. Six months, three quarters or two years is the
  window in which such a change must be reported to be of use to a watch cell; finding it
  later is counted as a miss. A trend change grows: its stated size is the deviation it
  reaches at a later period (``size_reached_period`` in the ground truth), so it must be
  found by the period after that one at the latest, whichever window is longer.

A shift is a *true* detection when it concerns a
series the change really moved (the indicator or one derived from it, the territory, the
territories its counts add up into, or — for a commune-level change — its neighbourhoods)
while the change lasts; every other shift is a false alarm.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from veille.periods import ordinal, periodicity_of

DELAY = {"monthly": 3, "quarterly": 2, "annual": 1}
"""After a change ends, shifts still explained by it (the tests' windows still hold it)."""
FOUND_WITHIN = {
    "spike": {"monthly": 1, "quarterly": 1, "annual": 1},
    "dip": {"monthly": 1, "quarterly": 1, "annual": 1},
    "level_shift": {"monthly": 6, "quarterly": 3, "annual": 2},
    "trend_change": {"monthly": 6, "quarterly": 3, "annual": 2},
}
"""Periods after its first one in which a change must be found (see the module doc)."""


@dataclass(frozen=True)
class KnownChange:
    id: str
    indicator: str
    territory: str
    kind: str
    first_period: str
    last_period: str | None
    small: bool
    related_indicators: frozenset[str]
    related_territories: frozenset[str]
    size_reached: str | None = None

    def window(self) -> tuple[int, int]:
        """Periods (ordinals) in which finding this change counts as on time."""
        name = periodicity_of(self.first_period).value
        delay = FOUND_WITHIN.get(self.kind, DELAY)[name]
        first = ordinal(self.first_period)
        last = first + delay
        if self.size_reached:
            last = max(last, ordinal(self.size_reached) + 1)
        return first, last

    def explains(self, indicator: str, territory: str, period: str) -> bool:
        if indicator not in self.related_indicators or territory not in self.related_territories:
            return False
        if periodicity_of(period) is not periodicity_of(self.first_period):
            return False
        end = ordinal(self.last_period) + DELAY[periodicity_of(period).value] if (
            self.last_period) else 10**9
        return ordinal(self.first_period) <= ordinal(period) <= end


@dataclass
class Score:
    found: dict[str, bool] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    small: dict[str, bool] = field(default_factory=dict)
    matched: list[dict[str, Any]] = field(default_factory=list)  # the true detections
    false_shifts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def true_shifts(self) -> int:
        return len(self.matched)

    @property
    def precision(self) -> float:
        total = self.true_shifts + len(self.false_shifts)
        return self.true_shifts / total if total else 1.0

    def recall(self, kind: str | None = None, *, include_small: bool = False) -> float:
        ids = [i for i in self.found if (kind is None or self.kinds[i] == kind)
               and (include_small or not self.small[i])]
        return sum(self.found[i] for i in ids) / len(ids) if ids else float("nan")

    def by_kind(self) -> dict[str, tuple[int, int]]:
        """kind -> (found, total) over the changes of 3 noise SDs or more."""
        out: dict[str, tuple[int, int]] = {}
        for i, kind in self.kinds.items():
            if self.small[i]:
                continue
            found, total = out.get(kind, (0, 0))
            out[kind] = (found + int(self.found[i]), total + 1)
        return out


def changes_from_truth(truth: Mapping[str, Any],
                       children: Mapping[str, Iterable[str]]) -> list[KnownChange]:
    """Read the demo's ``ground_truth.yaml`` changes; ``children`` maps a territory to the
    territories directly inside it (for commune-level changes)."""
    out = []
    for c in truth.get("changes", []):
        territories = {c["territory"], *(p["territory"] for p in c.get("propagates_to", []))}
        if c.get("territory_kind") == "commune":
            territories |= set(children.get(c["territory"], []))
        out.append(KnownChange(
            id=c["id"], indicator=c["indicator"], territory=c["territory"], kind=c["kind"],
            first_period=str(c["first_period"]),
            last_period=str(c["last_period"]) if c.get("last_period") else None,
            small=bool(c.get("small")),
            related_indicators=frozenset({c["indicator"], *c.get("also_affects", [])}),
            related_territories=frozenset(territories),
            size_reached=str(c["size_reached_period"]) if c.get("size_reached_period") else None))
    return out


def score(shifts: Iterable[Mapping[str, Any]], changes: list[KnownChange]) -> Score:
    """Match active shifts (dicts with indicator, territory, period, status) to changes."""
    result = Score()
    active = [s for s in shifts if s.get("status", "active") == "active"]
    for change in changes:
        lo, hi = change.window()
        result.kinds[change.id] = change.kind
        result.small[change.id] = change.small
        result.found[change.id] = any(
            s["indicator"] == change.indicator and s["territory"] == change.territory
            and periodicity_of(s["period"]) is periodicity_of(change.first_period)
            and lo <= ordinal(s["period"]) <= hi for s in active)
    for s in active:
        if any(c.explains(s["indicator"], s["territory"], s["period"]) for c in changes):
            result.matched.append(dict(s))
        else:
            result.false_shifts.append(dict(s))
    return result
