"""Municipal populations by census year, from INSEE's historical series (one column per
year: ``p13_pop`` ... ``p21_pop``, or ``PMUN2021``...), brought to today's geography: a
merged commune's former parts are summed into it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from connectors.reference.cog import Cog
from connectors.reference.tables import ReferenceFileError, read_rows

_YEAR_COLUMN = re.compile(r"^(?:p|pmun|pop)_?(\d{2}|\d{4})(?:_?pop)?$", re.IGNORECASE)


@dataclass
class Populations:
    """Today's code -> {year: population}; codes found nowhere in the COG are counted."""

    by_code: dict[str, dict[int, int]] = field(default_factory=dict)
    years: list[int] = field(default_factory=list)
    merged: int = 0
    unknown: list[str] = field(default_factory=list)


def read_populations(path: Path, cog: Cog) -> Populations:
    rows = read_rows(path, "--population")
    code = rows.column("code commune", "codgeo", "com", "depcom", "code_commune")
    years = {i: _year(m.group(1)) for i, h in enumerate(rows.header)
             if (m := _YEAR_COLUMN.match(h.strip()))}
    if not years:
        raise ReferenceFileError(path, "aucune colonne de population par année (p13_pop, "
                                 "p21_pop, PMUN2021...) ; colonnes trouvées : "
                                 f"{', '.join(rows.header[:15])} / no population-by-year "
                                 "column", line=rows.first_line - 1)
    out = Populations(years=sorted(set(years.values())))
    for i, row in enumerate(rows.rows):
        raw = row[code].strip()
        today = cog.today(raw) or cog.today(_overseas(raw))
        if today is None:
            out.unknown.append(raw)
            continue
        out.merged += today != raw
        target = out.by_code.setdefault(today, {})
        for column, year in years.items():
            text = row[column].strip().replace(" ", "").replace(",", ".")
            if text == "":
                continue
            try:
                value = round(float(text))
            except ValueError as exc:
                raise ReferenceFileError(path, f"population « {text} » non numérique (colonne "
                                         f"{rows.header[column]}) / not a number",
                                         rows.line(i)) from exc
            target[year] = target.get(year, 0) + value
    return out


def _year(text: str) -> int:
    return int(text) if len(text) == 4 else 2000 + int(text)


def _overseas(code: str) -> str:
    """Some exports write an overseas commune as its 3-digit département + 3 digits
    (``973353`` for 97353, Maripasoula): the 5-character code it stands for."""
    return code[:2] + code[3:] if len(code) == 6 and code.startswith("97") else code
