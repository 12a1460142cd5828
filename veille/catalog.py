"""The catalog: glossary, territories, providers, conventions and cells, read from the
human-edited files of a workspace and checked as a whole before anything uses them.

Layout of ``<workspace>/catalog``::

    glossary.yaml          indicators: [ {code, label, definition, theme, ...}, ... ]
    territories.csv        code;kind;name;parent;population
    territory_links.csv    child;parent;share        (optional: QPV straddling IRIS)
    providers.yaml         providers: [ {id, name, contact_url}, ... ]
    conventions/*.yaml     one convention per file
    cells.yaml             cells: [ {id, name, kind, scope, members, ...}, ... ] (optional)
    former_codes.csv       code;commune;name  old codes of merged communes (optional)
    populations.csv        code;year;population  populations by census year (optional)
    known_codes.csv        code,kind,label   (optional: real territories outside the
                           workspace, whose rows a provider file may hold and are skipped)

Every problem is reported with the file, the entry and the field, all at once, so that a
person editing the files fixes them in one pass.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from veille.errors import VeilleError
from veille.model import (
    Cell,
    Convention,
    Indicator,
    Provider,
    Territory,
    TerritoryKind,
    TerritoryLink,
    error_text,
)
from veille.territory_files import population_in, read_former_codes, read_populations
from veille.yamlfile import FileContentError, load_yaml, read_utf8

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class CatalogProblem:
    file: str
    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}"
        if self.entry:
            where += f", entry '{self.entry}'"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class CatalogError(VeilleError):
    """The catalog files have problems; each one names its file, entry and field."""

    hint = "Corrigez les fichiers nommés ci-dessus, puis relancez la commande."

    def __init__(self, problems: list[CatalogProblem], root: Path | None = None) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        where = f" {root}" if root is not None else ""
        super().__init__(f"{len(problems)} problème(s) dans le catalogue{where} :\n{lines}")


@dataclass(frozen=True)
class KnownCode:
    """A real territory outside the workspace (known_codes.csv): its rows are skipped."""

    code: str
    kind: str
    label: str


@dataclass
class Catalog:
    """Everything the observatory has agreed on, indexed by code."""

    root: Path
    indicators: dict[str, Indicator] = field(default_factory=dict)
    territories: dict[str, Territory] = field(default_factory=dict)
    links: list[TerritoryLink] = field(default_factory=list)
    providers: dict[str, Provider] = field(default_factory=dict)
    conventions: dict[str, Convention] = field(default_factory=dict)
    cells: dict[str, Cell] = field(default_factory=dict)
    former_codes: dict[str, str] = field(default_factory=dict)
    populations: dict[str, dict[int, int]] = field(default_factory=dict)

    def population(self, code: str, year: int) -> int | None:
        """The population of ``year`` (populations.csv), else territories.csv's one number."""
        by_year = population_in(self.populations.get(code), year)
        if by_year is not None:
            return by_year
        territory = self.territories.get(code)
        return territory.population if territory is not None else None
    known_codes: dict[str, KnownCode] = field(default_factory=dict)

    def children(self, code: str) -> list[Territory]:
        return [t for t in self.territories.values() if t.parent == code]

    def ancestors(self, code: str) -> list[Territory]:
        """Parents from nearest to farthest (IRIS -> quartier -> commune -> EPCI)."""
        out: list[Territory] = []
        current = self.territories.get(code)
        while current is not None and current.parent is not None:
            current = self.territories.get(current.parent)
            if current is None or current in out:
                break
            out.append(current)
        return out

    def commune_of(self, code: str) -> str | None:
        territory = self.territories.get(code)
        if territory is None:
            return None
        if territory.kind is TerritoryKind.COMMUNE:
            return territory.code
        for parent in self.ancestors(code):
            if parent.kind is TerritoryKind.COMMUNE:
                return parent.code
        return None

    def within(self, scope: Iterable[str], code: str) -> bool:
        """True when territory ``code`` is one of ``scope`` or lies inside one of them."""
        scope_set = set(scope)
        return code in scope_set or any(a.code in scope_set for a in self.ancestors(code))

    def convention_for_file(self, name: str) -> Convention | None:
        """The one convention whose filename_pattern matches ``name``, if exactly one does."""
        import re

        hits = [c for c in self.conventions.values()
                if c.filename_pattern and re.search(c.filename_pattern, name)]
        return hits[0] if len(hits) == 1 else None


def _entries(
    model: type[M], items: Iterable[dict[str, Any]], file: str, key: str,
    problems: list[CatalogProblem],
) -> Iterator[M]:
    for position, raw in enumerate(items, start=1):
        entry = str(raw.get(key) or f"#{position}") if isinstance(raw, dict) else f"#{position}"
        if not isinstance(raw, dict):
            problems.append(CatalogProblem(file, entry, "", "expected a mapping of fields"))
            continue
        try:
            yield model.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(x) for x in err["loc"])
                problems.append(CatalogProblem(file, entry, loc, error_text(err)))


def _read_yaml(path: Path, list_key: str | None, problems: list[CatalogProblem],
               name: str | None = None) -> Any:
    name = name or path.name
    try:
        data = load_yaml(path, name)
    except FileContentError as exc:
        problems.append(CatalogProblem(name, "", "", exc.detail))
        return [] if list_key else None
    if list_key is None:
        return data
    if not isinstance(data, dict) or not isinstance(data.get(list_key), list):
        problems.append(CatalogProblem(name, "", list_key,
                                       f"expected a top-level '{list_key}:' list"))
        return []
    return data[list_key]


def _read_csv(path: Path, problems: list[CatalogProblem]) -> list[dict[str, Any]]:
    try:
        text = read_utf8(path, path.name)
    except FileContentError as exc:
        problems.append(CatalogProblem(path.name, "", "", exc.detail))
        return []
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))
    return [{k: (v if v != "" else None) for k, v in row.items()} for row in rows]


def _index(items: Iterable[M], attr: str, file: str, problems: list[CatalogProblem]) -> dict:
    out: dict[str, M] = {}
    for item in items:
        key = getattr(item, attr)
        if key in out:
            problems.append(CatalogProblem(file, key, attr, "defined twice"))
        out[key] = item
    return out


def load_catalog(root: Path) -> Catalog:
    """Read and cross-check every catalog file under ``root``; raise CatalogError if any fail."""
    problems: list[CatalogProblem] = []
    catalog = Catalog(root=root)
    if not root.is_dir():
        raise CatalogError([CatalogProblem(str(root), "", "", "catalog folder not found")],
                           root)

    glossary = root / "glossary.yaml"
    if glossary.exists():
        catalog.indicators = _index(
            _entries(Indicator, _read_yaml(glossary, "indicators", problems), glossary.name,
                     "code", problems), "code", glossary.name, problems)
    else:
        problems.append(CatalogProblem("glossary.yaml", "", "", "missing file"))

    territories = root / "territories.csv"
    if territories.exists():
        catalog.territories = _index(
            _entries(Territory, _read_csv(territories, problems), territories.name, "code",
                     problems),
            "code", territories.name, problems)
    else:
        problems.append(CatalogProblem("territories.csv", "", "", "missing file"))
    links = root / "territory_links.csv"
    if links.exists():
        catalog.links = list(_entries(TerritoryLink, _read_csv(links, problems), links.name,
                                      "child", problems))

    providers = root / "providers.yaml"
    if providers.exists():
        catalog.providers = _index(
            _entries(Provider, _read_yaml(providers, "providers", problems), providers.name,
                     "id", problems), "id", providers.name, problems)

    for path in sorted((root / "conventions").glob("*.y*ml")):
        name = f"conventions/{path.name}"
        raw = _read_yaml(path, None, problems, name)
        for convention in _entries(Convention, [raw] if raw is not None else [], name, "id",
                                   problems):
            if convention.id in catalog.conventions:
                problems.append(CatalogProblem(name, convention.id, "id", "defined twice"))
            catalog.conventions[convention.id] = convention

    known = root / "known_codes.csv"
    if known.exists():
        catalog.known_codes = _known_codes(known, problems)

    cells = root / "cells.yaml"
    if cells.exists():
        catalog.cells = _index(
            _entries(Cell, _read_yaml(cells, "cells", problems), cells.name, "id", problems),
            "id", cells.name, problems)

    _territory_files(root, catalog, problems)

    # entries already reported as invalid are not reported again as unknown references
    invalid = {(p.file, p.entry) for p in problems}
    problems.extend(p for p in _cross_check(catalog) if not _is_echo(p, invalid))
    if problems:
        raise CatalogError(problems, root)
    return catalog


def _territory_files(root: Path, catalog: Catalog, problems: list[CatalogProblem]) -> None:
    """former_codes.csv and populations.csv, written by ``veille init``: every code they
    name must be a territory of territories.csv."""
    found: list = []
    if (root / "former_codes.csv").exists():
        catalog.former_codes = read_former_codes(root / "former_codes.csv", found)
    if (root / "populations.csv").exists():
        catalog.populations = read_populations(root / "populations.csv", found)
    problems.extend(CatalogProblem(p.file, "" if p.line is None else f"line {p.line}", "",
                                   p.message) for p in found)
    for old, commune in catalog.former_codes.items():
        if commune not in catalog.territories:
            problems.append(CatalogProblem("former_codes.csv", old, "commune",
                                           f"unknown territory '{commune}'"))
    unknown = sorted(set(catalog.populations) - set(catalog.territories))
    if unknown:
        problems.append(CatalogProblem("populations.csv", unknown[0], "code",
                                       f"{len(unknown)} code(s) not in territories.csv, "
                                       f"e.g. '{unknown[0]}'"))
def _known_codes(path: Path, problems: list[CatalogProblem]) -> dict[str, KnownCode]:
    """known_codes.csv, comma- or semicolon-separated, with columns code, kind, label."""
    try:
        text = read_utf8(path, path.name)
    except FileContentError as exc:
        problems.append(CatalogProblem(path.name, "", "", exc.detail))
        return {}
    first = text.split("\n", 1)[0]
    sep = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=sep)
    missing = {"code", "kind", "label"} - set(reader.fieldnames or [])
    if missing:
        problems.append(CatalogProblem(path.name, "", ", ".join(sorted(missing)),
                                       "expected a header with columns code, kind, label"))
        return {}
    return {row["code"]: KnownCode(row["code"], row["kind"] or "", row["label"] or "")
            for row in reader if row.get("code")}


def _is_echo(problem: CatalogProblem, invalid: set[tuple[str, str]]) -> bool:
    for file, word in (("glossary.yaml", "indicator"), ("territories.csv", "territory"),
                       ("providers.yaml", "provider")):
        for bad_file, entry in invalid:
            if bad_file == file and f"{word} '{entry}'" in problem.message:
                return True
    return False


def _cross_check(catalog: Catalog) -> list[CatalogProblem]:
    """References between files: every code named somewhere must exist where it belongs."""
    out: list[CatalogProblem] = []
    for code, territory in catalog.territories.items():
        if territory.parent is not None and territory.parent not in catalog.territories:
            out.append(CatalogProblem("territories.csv", code, "parent",
                                      f"unknown territory '{territory.parent}'"))
    for link in catalog.links:
        for attr in ("child", "parent"):
            if getattr(link, attr) not in catalog.territories:
                out.append(CatalogProblem("territory_links.csv", link.child, attr,
                                          f"unknown territory '{getattr(link, attr)}'"))
    for code, indicator in catalog.indicators.items():
        if catalog.providers and indicator.provider not in catalog.providers:
            out.append(CatalogProblem("glossary.yaml", code, "provider",
                                      f"unknown provider '{indicator.provider}'"))
    for cid, convention in catalog.conventions.items():
        file = f"conventions/{cid}.yaml"
        if catalog.providers and convention.provider not in catalog.providers:
            out.append(CatalogProblem(file, cid, "provider",
                                      f"unknown provider '{convention.provider}'"))
        for code in convention.indicator_codes:
            entry = catalog.indicators.get(code)
            if entry is None:
                out.append(CatalogProblem(file, cid, "indicators",
                                          f"indicator '{code}' is not in the glossary"))
            elif entry.periodicity is not convention.periodicity:
                out.append(CatalogProblem(
                    file, cid, "periodicity",
                    f"indicator '{code}' is {entry.periodicity.value} in the glossary "
                    f"but the convention is {convention.periodicity.value}"))
    for cid, cell in catalog.cells.items():
        for code in cell.scope:
            if code not in catalog.territories:
                out.append(CatalogProblem("cells.yaml", cid, "scope",
                                          f"unknown territory '{code}'"))
    return out
