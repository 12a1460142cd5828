"""Threshold rules: what a subscription watches, and the measure it compares with its levels.

Every value rule is reduced to one signed ``measure`` compared with an ``enter`` and a
``leave`` level in the same direction (higher is 'more alarming'), so that one hysteresis
function serves levels, changes and gaps alike. A rule never sees a value that secrecy
masks: such a measure is unknown and leaves the alert state as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import Field, model_validator

from veille.model import Severity, Strict, Theme
from veille.periods import shift as shift_period

Values = Callable[[str, str], float | None]
"""(territory, period) -> published value of the rule's indicator, None if unknown/masked."""


class LevelRule(Strict):
    """The value is above (or below) a level, e.g. share of RSA households above 8 %."""

    kind: Literal["level"] = "level"
    indicator: str
    above: float | None = None
    below: float | None = None
    leave: float | None = Field(default=None, description="level at which the alert ends")

    @model_validator(mode="after")
    def _one_side(self) -> LevelRule:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of 'above' or 'below'")
        if self.leave is not None:
            if self.above is not None and self.leave > self.above:
                raise ValueError("'leave' must not be above 'above' (hysteresis band)")
            if self.below is not None and self.leave < self.below:
                raise ValueError("'leave' must not be below 'below' (hysteresis band)")
        return self

    @property
    def sign(self) -> int:
        return 1 if self.above is not None else -1

    @property
    def level(self) -> float:
        return self.above if self.above is not None else self.below  # type: ignore[return-value]

    def levels(self) -> tuple[float, float]:
        leave = self.leave if self.leave is not None else self.level
        return self.sign * self.level, self.sign * leave

    def periods_needed(self, period: str) -> list[str]:
        return [period]

    def evaluate(self, values: Values, territory: str, period: str,
                 reference: str | None = None) -> tuple[float | None, dict]:
        value = values(territory, period)
        basis = {"value": value, "period": period}
        return (None if value is None else self.sign * value), basis


class ChangeRule(Strict):
    """The value rose (or fell) by more than ``by`` over ``periods`` periods, in units
    (absolute) or in per cent (relative), e.g. +15 % year on year."""

    kind: Literal["change"] = "change"
    indicator: str
    periods: int = Field(ge=1, le=120)
    mode: Literal["absolute", "relative"] = "relative"
    direction: Literal["up", "down"] = "up"
    by: float = Field(gt=0)
    leave: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _band(self) -> ChangeRule:
        if self.leave is not None and self.leave > self.by:
            raise ValueError("'leave' must not exceed 'by' (hysteresis band)")
        return self

    @property
    def sign(self) -> int:
        return 1 if self.direction == "up" else -1

    def levels(self) -> tuple[float, float]:
        return self.by, self.leave if self.leave is not None else self.by

    def periods_needed(self, period: str) -> list[str]:
        return [period, shift_period(period, -self.periods)]

    def evaluate(self, values: Values, territory: str, period: str,
                 reference: str | None = None) -> tuple[float | None, dict]:
        before = shift_period(period, -self.periods)
        now, then = values(territory, period), values(territory, before)
        basis = {"value": now, "period": period, "then": then, "period_then": before}
        if now is None or then is None:
            return None, basis
        if self.mode == "absolute":
            change = now - then
        elif then > 0:
            change = (now - then) / then * 100.0
        else:
            return None, basis
        basis["change"] = change
        return self.sign * change, basis


class GapRule(Strict):
    """The gap between a territory and a reference (its commune, its parent or a named
    territory) exceeds ``by`` points, or, with ``periods``, widened by ``by`` points."""

    kind: Literal["gap"] = "gap"
    indicator: str
    reference: str = Field(default="commune", description="'commune', 'parent' or a code")
    by: float = Field(gt=0)
    periods: int | None = Field(default=None, ge=1, le=120)
    side: Literal["above", "below"] = "above"
    leave: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _band(self) -> GapRule:
        if self.leave is not None and self.leave > self.by:
            raise ValueError("'leave' must not exceed 'by' (hysteresis band)")
        return self

    @property
    def sign(self) -> int:
        return 1 if self.side == "above" else -1

    def levels(self) -> tuple[float, float]:
        return self.by, self.leave if self.leave is not None else self.by

    def periods_needed(self, period: str) -> list[str]:
        if self.periods is None:
            return [period]
        return [period, shift_period(period, -self.periods)]

    def evaluate(self, values: Values, territory: str, period: str,
                 reference: str | None = None) -> tuple[float | None, dict]:
        basis: dict = {"value": values(territory, period), "period": period,
                       "reference": reference}
        if reference is None:
            return None, basis
        ref_now = values(reference, period)
        basis["reference_value"] = ref_now
        if basis["value"] is None or ref_now is None:
            return None, basis
        gap = basis["value"] - ref_now
        basis["gap"] = gap
        if self.periods is None:
            return self.sign * gap, basis
        before = shift_period(period, -self.periods)
        own, ref = values(territory, before), values(reference, before)
        basis.update(period_then=before, then=own, reference_then=ref)
        if own is None or ref is None:
            return None, basis
        basis["gap_then"] = own - ref
        basis["change"] = gap - (own - ref)
        return self.sign * basis["change"], basis


SHIFT_KINDS = ("spike", "level_shift", "trend_change", "gap_widening")


class ShiftRule(Strict):
    """A detected (or, for review-gated cells, confirmed) shift on the given indicators or
    themes, of the given kinds and at least the given severity."""

    kind: Literal["shift"] = "shift"
    indicators: list[str] = Field(default_factory=list)
    themes: list[Theme] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list, description="empty: every kind")
    min_severity: Severity = Severity.INFO
    max_q: float | None = Field(default=None, gt=0, le=1)
    direction: Literal["any", "up", "down", "bad"] = "any"


class FreshnessRule(Strict):
    """No data for the indicator on the territory for more than ``max_days`` days after
    the end of the last period delivered."""

    kind: Literal["freshness"] = "freshness"
    indicator: str
    max_days: int = Field(ge=1)


ValueRule = LevelRule | ChangeRule | GapRule
Rule = Annotated[LevelRule | ChangeRule | GapRule | ShiftRule | FreshnessRule,
                 Field(discriminator="kind")]


def shift_severity(q_value: float) -> Severity:
    """Plain reading of a shift's FDR q-value: under 1 % is critical, under 5 % a warning."""
    if q_value < 0.01:
        return Severity.CRITICAL
    if q_value < 0.05:
        return Severity.WARNING
    return Severity.INFO


def next_state(prior_on: bool, measure: float, enter: float, leave: float) -> bool:
    """Hysteresis: switch on above ``enter``, stay on until the measure falls under
    ``leave`` (leave <= enter), so a value hovering at the threshold does not flap."""
    if prior_on:
        return measure >= leave
    return measure > enter
