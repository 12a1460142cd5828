"""The portrait de territoire as plain data: what the notes say, before any rendering.

Every figure in here has already passed the secrecy rule (``portrait.published``): a masked
value is ``None`` with ``masked=True``, never the number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from veille.model import Indicator, Territory, Theme


@dataclass
class Trend:
    """A series as the chart shows it: published values, None for gaps and secrets."""

    periods: list[str]
    values: list[float | None]

    @property
    def shown(self) -> int:
        return sum(v is not None for v in self.values)


@dataclass
class IndicatorLine:
    """One key indicator of one territory: latest value, trend, comparison."""

    indicator: Indicator
    period: str | None
    value: float | None
    masked: bool
    year_before: float | None
    commune_value: float | None
    agglomeration_value: float | None
    trend: Trend
    commune_trend: Trend | None = None
    agglomeration_trend: Trend | None = None
    origin: str = "delivered"
    """delivered, rollup (the sum of the parts) or estimate (a QPV from its IRIS shares)."""
    agglomeration_origin: str = "delivered"
    unknown: bool = False
    """A roll-up with a secret or missing part: unknown, which is not secret."""

    @property
    def change(self) -> float | None:
        if self.value is None or self.year_before is None:
            return None
        return self.value - self.year_before


@dataclass
class ShiftNote:
    """A confirmed shift with the analyst's comment; ``sentence`` carries no masked value."""

    shift_id: str
    indicator: str
    territory: str
    territory_name: str
    period: str
    kind: str
    sentence: str
    comment: str
    reviewer: str
    decided_at: dt.datetime | None
    masked: bool


@dataclass
class ThemeBlock:
    theme: Theme
    lines: list[IndicatorLine] = field(default_factory=list)
    shifts: list[ShiftNote] = field(default_factory=list)


@dataclass
class Note:
    """The note of one territory (agglomeration, commune) or a neighbourhood section."""

    territory: Territory
    commune: str | None
    themes: list[ThemeBlock] = field(default_factory=list)
    sections: list[Note] = field(default_factory=list)
    map_lines: dict[str, IndicatorLine] = field(default_factory=dict)
    """Indicator -> this territory's line for the maps of the note above it (a quartier's
    sections show four indicators per theme; its commune's maps may need others)."""

    @property
    def shift_count(self) -> int:
        return sum(len(b.shifts) for b in self.themes) + sum(s.shift_count for s in self.sections)

    def all_shifts(self) -> list[ShiftNote]:
        out = [s for b in self.themes for s in b.shifts]
        for section in self.sections:
            out += section.all_shifts()
        return out


@dataclass
class GlossaryEntry:
    """An indicator as the glossary defines it, with the freshness of its last delivery."""

    indicator: Indicator
    provider: str
    conventions: list[str]
    last_period: str | None
    last_delivery: dt.datetime | None


@dataclass
class Portrait:
    period: str
    built_at: dt.datetime
    agglomeration: Note
    communes: list[Note]
    glossary: list[GlossaryEntry]
    shapes: dict[str, Any] = field(default_factory=dict)
    """Territory outlines in Lambert-93 (``veille.maps.projection``), empty without
    ``catalog/contours``: the maps draw them with the notes' published values."""
    contour_files: list[str] = field(default_factory=list)

    def notes(self) -> list[Note]:
        return [self.agglomeration, *self.communes]

    def all_shifts(self) -> list[ShiftNote]:
        out = self.agglomeration.all_shifts()
        for note in self.communes:
            out += note.all_shifts()
        return out

    def commune(self, code: str) -> Note | None:
        return next((n for n in self.communes if n.territory.code == code), None)
