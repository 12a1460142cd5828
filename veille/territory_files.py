"""The two derived territory files ``veille init`` writes beside territories.csv, read into
the catalog: former codes of merged communes, and populations by year.

``former_codes.csv``  code;commune;name      an old code -> today's commune
``populations.csv``   code;year;population   one row per territory and census year

They are plain CSV (``;``) without pydantic per row: a France-wide workspace holds about
300,000 population rows and the catalog is read by every command.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from veille.yamlfile import FileContentError, read_utf8

FORMER_CODES_COLUMNS = ("code", "commune", "name")
POPULATION_COLUMNS = ("code", "year", "population")


@dataclass(frozen=True)
class FileProblem:
    """One problem of a derived file: its line and what is wrong."""

    file: str
    line: int | None
    message: str


def _rows(path: Path, columns: tuple[str, ...], problems: list[FileProblem]
          ) -> list[tuple[int, dict[str, str]]]:
    try:
        text = read_utf8(path, path.name)
    except FileContentError as exc:
        problems.append(FileProblem(path.name, None, exc.detail))
        return []
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=";")
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        problems.append(FileProblem(path.name, 1, f"missing column(s) {missing}; expected "
                                    f"the header {';'.join(columns)}"))
        return []
    return [(line, row) for line, row in enumerate(reader, start=2)]


def read_former_codes(path: Path, problems: list[FileProblem]) -> dict[str, str]:
    """Old code -> today's commune code."""
    out: dict[str, str] = {}
    for line, row in _rows(path, FORMER_CODES_COLUMNS, problems):
        code, commune = (row["code"] or "").strip(), (row["commune"] or "").strip()
        if not code or not commune:
            problems.append(FileProblem(path.name, line, "a code and a commune are needed"))
        elif code in out and out[code] != commune:
            problems.append(FileProblem(path.name, line, f"code '{code}' is mapped twice "
                                        f"('{out[code]}' and '{commune}')"))
        else:
            out[code] = commune
    return out


def read_populations(path: Path, problems: list[FileProblem]) -> dict[str, dict[int, int]]:
    """Territory code -> {census year: population}."""
    out: dict[str, dict[int, int]] = {}
    for line, row in _rows(path, POPULATION_COLUMNS, problems):
        try:
            year, population = int(row["year"]), int(row["population"])
        except (TypeError, ValueError):
            problems.append(FileProblem(path.name, line, "year and population must be whole "
                                        f"numbers (found {row['year']!r}, "
                                        f"{row['population']!r})"))
            continue
        if population < 0 or not 1800 <= year <= 2200:
            problems.append(FileProblem(path.name, line, f"implausible year {year} or "
                                        f"population {population}"))
            continue
        out.setdefault((row["code"] or "").strip(), {})[year] = population
    return out


def population_in(by_year: dict[int, int] | None, year: int) -> int | None:
    """The population of ``year``: that census year's, else the latest year before it, else
    the earliest year after it (a series older than the file takes its first census)."""
    if not by_year:
        return None
    years = sorted(by_year)
    at = bisect_right(years, year)
    return by_year[years[at - 1]] if at else by_year[years[0]]
