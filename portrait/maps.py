"""The portrait's maps: for each theme's key indicators, a choropleth of the communes (in
the agglomeration note) or of the neighbourhoods (in a commune note).

A map shows the very values of the notes' tables (``IndicatorLine``, already through the
persisted secrecy mask), a count divided by the territory's population: a masked line is
a hatched area, an unknown roll-up, a value of another period or a count without a
population is *non disponible*, and a confirmed shift of the indicator there gets a thick
outline. Nothing is drawn without ``catalog/contours``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from portrait.model import IndicatorLine, Note, Portrait, ThemeBlock
from veille.maps.classes import classify
from veille.maps.projection import simplify
from veille.maps.svg import Area, MapSpec, choropleth
from veille.model import IndicatorKind
from veille.periods import label_fr

MAPS_PER_THEME = 2
"""Key indicators mapped per theme (``mapped_indicators``)."""
MAP_WIDTH = 340


@dataclass(frozen=True)
class MapFigure:
    indicator: str
    caption: str
    svg: str


class MapSet:
    """Draws the maps of a portrait's notes, simplifying each group of outlines once."""

    def __init__(self, portrait: Portrait,
                 fmt: Callable[[float | None, IndicatorKind, str], str]) -> None:
        self.portrait = portrait
        self.fmt = fmt
        self._shapes: dict[str, dict] = {}
        self.providers = {g.indicator.code: g.provider for g in portrait.glossary}

    def _children(self, note: Note) -> tuple[list[Note], str]:
        if note is self.portrait.agglomeration:
            return self.portrait.communes, "commune"
        if note.territory.kind.value == "commune":
            return note.sections, "quartier"
        return [], ""

    def _group(self, note: Note, children: list[Note]) -> dict:
        if note.territory.code not in self._shapes:
            shapes = self.portrait.shapes
            self._shapes[note.territory.code] = simplify(
                {c.territory.code: shapes[c.territory.code] for c in children
                 if c.territory.code in shapes}, MAP_WIDTH)
        return self._shapes[note.territory.code]

    def figures(self, note: Note, block: ThemeBlock) -> list[MapFigure]:
        """The maps of ``block``'s key indicators for ``note`` (none without contours)."""
        children, level = self._children(note)
        if not self.portrait.shapes or len(children) < 2:
            return []
        shapes = self._group(note, children)
        if len(shapes) < 2:
            return []
        wanted = set(mapped_indicators(note, block))
        out = []
        for line in block.lines:
            if line.indicator.code not in wanted:
                continue
            figure = self._figure(note, children, level, line, shapes)
            if figure is not None:
                out.append(figure)
        return out

    def _figure(self, note: Note, children: list[Note], level: str, line: IndicatorLine,
                shapes: dict) -> MapFigure | None:
        ind = line.indicator
        per_capita = ind.kind is IndicatorKind.COUNT
        areas: list[Area] = []
        for child in children:
            found = child.map_lines.get(ind.code)
            if found is None:
                continue
            same_period = found.period == line.period
            value = found.value if same_period and not found.masked else None
            population = child.territory.population
            if per_capita and value is not None:
                value = 1000 * value / population if population else None
            shifted = any(s.indicator == ind.code and s.territory == child.territory.code
                          and s.period[:4] == str(line.period)[:4]
                          for b in child.themes for s in b.shifts)
            areas.append(Area(child.territory.code, child.territory.name, value,
                              hidden=found.masked and same_period, shifted=shifted))
        if not any(a.value is not None or a.hidden for a in areas):
            return None
        label = f"{ind.label} pour 1 000 habitants" if per_capita else ind.label
        unit = f" ({ind.unit})" if ind.unit != "nombre" and not per_capita else ""
        period = _period_fr(line.period)
        per = "par commune" if level == "commune" else "par quartier"
        source = (f"Source : {self.providers.get(ind.code, ind.provider)} ; fond : "
                  f"{', '.join(self.portrait.contour_files)} (Lambert-93)")
        kind, shown_unit = (IndicatorKind.RATE, "") if per_capita else (ind.kind, ind.unit)
        svg = choropleth(areas, shapes, MapSpec(
            title=f"{label}{unit}, {period}", source=source,
            fmt=lambda v: self.fmt(v, kind, shown_unit), polarity=ind.polarity,
            uid=f"{note.territory.code}-{ind.code}", width=MAP_WIDTH, max_height=220,
            captioned=True))
        if svg is None:
            return None
        classes = classify([a.value for a in areas if a.value is not None and not a.hidden],
                           ind.polarity)
        rule = f" ; {classes.label}" if classes is not None else ""
        return MapFigure(ind.code, f"{label}{unit} {per}, {period} – {note.territory.name}"
                         f"{rule}", svg)


def mapped_indicators(note: Note, only: ThemeBlock | None = None) -> list[str]:
    """The key indicators a note maps: per theme, its first ``MAPS_PER_THEME`` rates or
    amounts, then counts if the theme has fewer. A count is mapped per 1,000 inhabitants
    (territories.csv's population): drawn raw, the largest territory would always look
    the worst."""
    out: list[str] = []
    for block in note.themes:
        if only is not None and block is not only:
            continue
        codes = [line.indicator.code for line in block.lines
                 if line.indicator.kind is not IndicatorKind.COUNT]
        codes += [line.indicator.code for line in block.lines
                  if line.indicator.kind is IndicatorKind.COUNT]
        out += codes[:MAPS_PER_THEME]
    return out


def _period_fr(label: str | None) -> str:
    return label_fr(label) if label else "–"
