"""Building the portrait's content: a pure function of the store, the catalog and a period.

Three levels, as the observatories publish them: one agglomeration note, one note per
commune, and inside each commune one section per neighbourhood (quartier). For every theme,
the key indicators (every glossary indicator with data for the territory) with their latest
value, a trend over six years, the commune's and the agglomeration's values for comparison,
and the shifts the observatory **confirmed** in review, with the analyst's comment. Nothing
pending, dismissed or queried appears: principle 6, nothing published unreviewed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection

from portrait import published as published_values
from portrait.maps import mapped_indicators
from portrait.model import (
    GlossaryEntry,
    IndicatorLine,
    Note,
    Portrait,
    ShiftNote,
    ThemeBlock,
    Trend,
)
from portrait.published import Published
from veille.catalog import Catalog
from veille.maps.contours import contour_files
from veille.maps.projection import projected_contours
from veille.model import Indicator, Territory, TerritoryKind, Theme
from veille.periods import PeriodError, Periodicity, from_ordinal, label_fr, periodicity_of
from veille.periods import shift as shift_period
from veille.store import deliveries as delivery_store
from veille.store import reviews as review_store
from veille.store import shifts as shift_store
from veille.wording import KIND_FR, certainty, describe_shift, news

WINDOW_YEARS = 6
SECTION_KEY_INDICATORS = 4
"""A neighbourhood section shows this many key indicators per theme (the first ones of the
glossary with data there); the agglomeration and commune notes show every indicator."""


class PortraitError(ValueError):
    """The period or the catalog does not allow a portrait (said in plain words)."""


def window(periodicity: Periodicity, year: int, years: int = WINDOW_YEARS) -> list[str]:
    """Every period label of ``years`` years ending with ``year``, in ``periodicity``."""
    first, last = year - years + 1, year
    if periodicity is Periodicity.ANNUAL:
        return [str(y) for y in range(first, last + 1)]
    per = periodicity.per_year
    return [from_ordinal(o, periodicity) for o in range(first * per, (last + 1) * per)]


ROOT_KINDS = (TerritoryKind.EPCI, TerritoryKind.DEPARTEMENT, TerritoryKind.REGION)
"""A portrait is made for each territory of these kinds with communes under it."""


def communes_under(catalog: Catalog, root: str) -> list[Territory]:
    """The communes inside ``root``, by name."""
    return sorted((t for t in catalog.territories.values() if t.kind is TerritoryKind.COMMUNE
                   and any(a.code == root for a in catalog.ancestors(t.code))),
                  key=lambda t: t.name)


def roots(catalog: Catalog) -> list[Territory]:
    """Every EPCI, département and région of the workspace with communes under it: EPCIs
    first (the observatory's agglomerations), then the larger levels, each by name."""
    above = {a.code for t in catalog.territories.values() if t.kind is TerritoryKind.COMMUNE
             for a in catalog.ancestors(t.code)}
    found = [t for t in catalog.territories.values() if t.kind in ROOT_KINDS and t.code in above]
    return sorted(found, key=lambda t: (ROOT_KINDS.index(t.kind), t.name, t.code))


def agglomeration_of(catalog: Catalog) -> Territory:
    """The default root: the first EPCI with communes (else the first département)."""
    found = roots(catalog)
    if not found:
        raise PortraitError("le catalogue ne contient aucune agglomération (EPCI) ni aucun "
                            "département avec des communes : pas de portrait possible")
    return found[0]


def root_of(catalog: Catalog, code: str) -> Territory | None:
    """The portrait a territory's note belongs to: its nearest EPCI, département or région."""
    territory = catalog.territories.get(code)
    if territory is None:
        return None
    if territory.kind in ROOT_KINDS:
        return territory
    return next((a for a in catalog.ancestors(code) if a.kind in ROOT_KINDS), None)


def root_territory(catalog: Catalog, root: str | None) -> Territory:
    if root is None:
        return agglomeration_of(catalog)
    territory = next((t for t in roots(catalog) if t.code == root), None)
    if territory is None:
        raise PortraitError(f"territoire '{root}' : pas de portrait (attendu une agglomération, "
                            "un département ou une région du catalogue ayant des communes)")
    return territory


def parse_period(period: str) -> int:
    try:
        if periodicity_of(period) is not Periodicity.ANNUAL:
            raise PortraitError(f"période '{period}' : le portrait est annuel (ex. 2025)")
    except PeriodError as exc:
        raise PortraitError(f"période '{period}' invalide : attendu une année (ex. 2025)"
                            ) from exc
    return int(period)


def build_portrait(conn: Connection, catalog: Catalog, period: str, *,
                   now: dt.datetime, root: str | None = None) -> Portrait:
    """The whole portrait of ``period`` (a year) for ``root`` (an EPCI, a département or a
    région; default: the first EPCI) from what the store holds now."""
    year = parse_period(period)
    agglo = root_territory(catalog, root)
    communes = communes_under(catalog, agglo.code)
    indicators = list(catalog.indicators.values())
    periods = sorted({p for ind in indicators for p in window(ind.periodicity, year)})
    values = published_values.load(conn, catalog, [i.code for i in indicators], periods)
    context = _Context(catalog, values, year, agglo.code)
    shown = {agglo.code: agglo.code}
    agglo_note = Note(territory=agglo, commune=None, themes=context.themes(agglo.code))
    commune_notes: list[Note] = []
    for commune in communes:
        shown[commune.code] = commune.code
        note = Note(territory=commune, commune=commune.code,
                    themes=context.themes(commune.code))
        for quartier in sorted((q for q in catalog.children(commune.code)
                                if q.kind is TerritoryKind.QUARTIER), key=lambda t: t.name):
            shown[quartier.code] = quartier.code
            note.sections.append(Note(territory=quartier, commune=commune.code,
                                      themes=context.themes(quartier.code,
                                                            SECTION_KEY_INDICATORS)))
        commune_notes.append(note)
    shapes = projected_contours(catalog)
    for parent, children in [(agglo_note, commune_notes),
                             *((n, n.sections) for n in commune_notes)] if shapes else []:
        for code in mapped_indicators(parent):
            for child in children:
                found = context.line(catalog.indicators[code], child.territory.code)
                if found is not None:
                    child.map_lines[code] = found
    used = {line.indicator.code for note in [agglo_note, *commune_notes]
            for n in [note, *note.sections] for b in n.themes for line in b.lines}
    portrait = Portrait(period=period, built_at=now, agglomeration=agglo_note,
                        communes=commune_notes, glossary=_glossary(conn, catalog, year, used),
                        shapes=shapes,
                        contour_files=[p.name for p in contour_files(catalog)])
    _attach_shifts(conn, catalog, values, portrait, year, set(shown))
    return portrait


class _Context:
    """Lookups shared by every note: values, commune of a territory, latest periods."""

    def __init__(self, catalog: Catalog, values: Published, year: int, agglo: str) -> None:
        self.catalog = catalog
        self.values = values
        self.year = year
        self.agglo = agglo
        self.windows = {p: window(p, year) for p in Periodicity}
        self._reference: dict[str, str] = {}
        self.latest: dict[str, str] = {}
        present: dict[str, set[str]] = defaultdict(set)
        for (ind, _territory), points in values.series.items():
            present[ind].update(points)
        for ind, periods in present.items():
            self.latest[ind] = max(periods)

    def trend(self, indicator: Indicator, territory: str) -> Trend:
        periods = self.windows[indicator.periodicity]
        points = self.values.points(indicator.code, territory)
        return Trend(periods, [points.get(p) for p in periods])

    def line(self, indicator: Indicator, territory: str) -> IndicatorLine | None:
        points = self.values.points(indicator.code, territory)
        if not points:
            return None
        latest = self.latest.get(indicator.code)
        if latest is None or latest not in points:
            latest = max(points)
        value = points.get(latest)
        before = points.get(shift_period(latest, -indicator.periodicity.per_year))
        commune = self.catalog.commune_of(territory)
        commune_value = (self.values.value(indicator.code, commune, latest)
                         if commune and commune != territory else None)
        agglo = self.reference(territory)
        agglo_value = (self.values.value(indicator.code, agglo, latest)
                       if territory != agglo else None)
        unknown = (indicator.code, territory, latest) in self.values.unknown
        return IndicatorLine(
            indicator=indicator, period=latest, value=value, masked=value is None and not unknown,
            year_before=before, commune_value=commune_value,
            agglomeration_value=agglo_value, trend=self.trend(indicator, territory),
            commune_trend=(self.trend(indicator, commune)
                           if commune and commune != territory else None),
            agglomeration_trend=(self.trend(indicator, agglo) if territory != agglo else None),
            origin=self.values.origin(indicator.code, territory, latest), unknown=unknown,
            agglomeration_origin=self.values.origin(indicator.code, agglo, latest))

    def reference(self, territory: str) -> str:
        """The agglomeration a territory is compared with: its EPCI inside the portrait's
        root, else the root (a commune outside any EPCI in a département's portrait)."""
        if territory not in self._reference:
            self._reference[territory] = self.agglo
            for parent in self.catalog.ancestors(territory):
                if parent.code == self.agglo:
                    break
                if parent.kind is TerritoryKind.EPCI:
                    self._reference[territory] = parent.code
                    break
        return self._reference[territory]

    def themes(self, territory: str, limit: int | None = None) -> list[ThemeBlock]:
        blocks = []
        for theme in Theme:
            lines = [line for ind in self.catalog.indicators.values() if ind.theme is theme
                     if (line := self.line(ind, territory)) is not None][:limit]
            if lines:
                blocks.append(ThemeBlock(theme=theme, lines=lines))
        return blocks


def _glossary(conn: Connection, catalog: Catalog, year: int,
              used: set[str]) -> list[GlossaryEntry]:
    """Every indicator used, with its definition, source, periodicity and freshness."""
    last_delivery: dict[str, dt.datetime] = {}
    last_period: dict[str, str] = {}
    for row in delivery_store.list_deliveries(conn, status="accepted"):
        periods = [p for p in row.periods if int(p[:4]) <= year]
        for code in row.indicators:
            if row.received_at is not None and (
                    code not in last_delivery or row.received_at > last_delivery[code]):
                last_delivery[code] = row.received_at
            if periods and max(periods) > last_period.get(code, ""):
                last_period[code] = max(periods)
    out = []
    for ind in sorted((i for i in catalog.indicators.values() if i.code in used),
                      key=lambda i: (list(Theme).index(i.theme), i.label)):
        provider = catalog.providers.get(ind.provider)
        out.append(GlossaryEntry(
            indicator=ind, provider=provider.name if provider else ind.provider,
            conventions=[c.label for c in catalog.conventions.values()
                         if ind.code in c.indicator_codes],
            last_period=last_period.get(ind.code), last_delivery=last_delivery.get(ind.code)))
    return out


def shift_sentence(shift: dict[str, Any], indicator: Indicator, territory_name: str,
                   published: bool) -> str:
    """The shared French wording, or a wording without figures when secrecy masks them."""
    if published:
        return describe_shift(shift, indicator, territory_name)
    kind = KIND_FR.get(str(shift["kind"]), str(shift["kind"]))
    return (f"{indicator.label} – {territory_name}, {label_fr(str(shift['period']))} : {kind} ; "
            f"valeurs couvertes par le secret statistique ; "
            f"{certainty(float(shift['q_value']))} ; {news(shift.get('good_news'))}.")


def _attach_shifts(conn: Connection, catalog: Catalog, values: Published, portrait: Portrait,
                   year: int, shown: set[str]) -> None:
    confirmed = [s for s in shift_store.list_shifts(conn, status="active",
                                                    review_status="confirmed")
                 if int(str(s["period"])[:4]) == year]
    decisions = review_store.latest(conn, [s["shift_id"] for s in confirmed])
    notes: dict[str, Note] = {portrait.agglomeration.territory.code: portrait.agglomeration}
    for note in portrait.communes:
        notes[note.territory.code] = note
        for section in note.sections:
            notes[section.territory.code] = section
    for shift in sorted(confirmed, key=lambda s: (s["q_value"], s["period"])):
        indicator = catalog.indicators.get(shift["indicator"])
        territory = catalog.territories.get(shift["territory"])
        if indicator is None or territory is None:
            continue
        home = territory.code if territory.code in shown else next(
            (a.code for a in catalog.ancestors(territory.code) if a.code in shown), None)
        if home is None:
            continue
        is_published = values.value(indicator.code, territory.code, shift["period"]) is not None
        decision = decisions.get(shift["shift_id"], {})
        item = ShiftNote(
            shift_id=shift["shift_id"], indicator=indicator.code, territory=territory.code,
            territory_name=territory.name, period=shift["period"], kind=shift["kind"],
            sentence=shift_sentence(shift, indicator, territory.name, is_published),
            comment=str(decision.get("comment") or ""),
            reviewer=str(decision.get("reviewer") or ""),
            decided_at=decision.get("decided_at"), masked=not is_published)
        note = notes[home]
        block = next((b for b in note.themes if b.theme is indicator.theme), None)
        if block is None:
            block = ThemeBlock(theme=indicator.theme)
            note.themes.append(block)
            note.themes.sort(key=lambda b: list(Theme).index(b.theme))
        block.shifts.append(item)
