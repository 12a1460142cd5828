"""What a shift looks like on a page: its sentence, chart and evidence, with secrecy
applied (a shift whose value is masked shows no figure, only that it exists)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portrait.build import shift_sentence
from portrait.published import Published
from review.decide import STATUS_FR
from veille.catalog import Catalog
from veille.model import Indicator, Territory
from veille.sparkline import sparkline
from veille.wording import KIND_FR, change_unit, unit_of


@dataclass
class ShiftView:
    row: dict[str, Any]
    indicator: Indicator
    territory: Territory
    published: bool
    sentence: str
    spark: str
    delivery: str
    decision: dict[str, Any] | None

    @property
    def id(self) -> str:
        return str(self.row["shift_id"])

    @property
    def kind_fr(self) -> str:
        return KIND_FR.get(str(self.row["kind"]), str(self.row["kind"]))

    @property
    def unit(self) -> str:
        return unit_of(self.indicator)

    @property
    def change_unit(self) -> str:
        return change_unit(self.indicator)

    @property
    def status_fr(self) -> str:
        return STATUS_FR.get(str(self.row["review_status"]), str(self.row["review_status"]))


def chart_values(row: dict[str, Any], values: Published) -> tuple[list[str], list[float | None]]:
    """The shift's chart window (periods stored with the shift), values as published now."""
    chart = row.get("chart") or {}
    periods = [str(p) for p in chart.get("periods", [])]
    points = values.points(row["indicator"], row["territory"])
    return periods, [points.get(p) for p in periods]


def view(row: dict[str, Any], catalog: Catalog, values: Published,
         deliveries: dict[int, str], decision: dict[str, Any] | None) -> ShiftView | None:
    indicator = catalog.indicators.get(row["indicator"])
    territory = catalog.territories.get(row["territory"])
    if indicator is None or territory is None:
        return None
    published = values.value(indicator.code, territory.code, row["period"]) is not None
    periods, series = chart_values(row, values)
    marked = periods.index(row["period"]) if row["period"] in periods else None
    band = (float(row["interval_low"]), float(row["interval_high"])) if published else None
    return ShiftView(
        row=row, indicator=indicator, territory=territory, published=published,
        sentence=shift_sentence(row, indicator, territory.name, published),
        spark=sparkline(series, marked=marked if published else None, band=band),
        delivery=deliveries.get(int(row["delivery_id"]), f"livraison {row['delivery_id']}"),
        decision=decision)
