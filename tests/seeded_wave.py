"""A seeded annual wave whose series each meet one fate, for the explain and untested tests.

Twenty communes of one agglomeration, thefts a year 2013-2024 delivered in one file (one
wave, at 2024): a big city whose 2024 count falls by half (reported), sixteen communes with
ordinary years (tested, not reported), and three that cannot be tested: a village with no
theft ever recorded, a commune that only starts being counted in 2022, and one whose
2024 cell is secret. The agglomeration is the communes' roll-up, unknown in 2024 (a part of
it is secret), so it is not tested either. Counts are Poisson with a gamma-distributed yearly
level (dispersion grows with the size of the place, as in real counts), seed fixed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from cli.jobs import ingest_files
from veille.runtime import Runtime, open_runtime

YEARS = [str(y) for y in range(2013, 2025)]
INDICATOR = "vols"
BIG, TINY, LATE, HIDDEN = "91001", "91090", "91091", "91092"
ORDINARY = [f"910{i:02d}" for i in range(2, 18)]
POPULATION = {BIG: 180_000, TINY: 150, LATE: 6_000, HIDDEN: 9_000,
              **{code: 3_000 + 2_500 * i for i, code in enumerate(ORDINARY)}}
RATE = 0.03
"""Thefts a year per inhabitant."""
AGGLO = "299100001"
EXPECTED_REASONS = {TINY: "mean_too_small", LATE: "too_short", HIDDEN: "not_published",
                    AGGLO: "not_published"}
SERIES = [*POPULATION, AGGLO]
"""Every series of the wave: the communes and their roll-up."""

CONVENTION = {
    "id": "police-annuel", "provider": "police", "label": "Vols par commune et par an",
    "periodicity": "annual", "lag_days": 90, "geography": "commune", "first_period": "2013",
    "filename_pattern": r"^vols_", "file": {"separator": ";", "decimal": ","},
    "layout": "long", "territory": {"column": "commune"}, "period": {"column": "annee"},
    "indicator_column": "indicateur", "indicator_map": {"Vols": INDICATOR},
    "value_column": "faits", "status": {"column": "diffusion", "secret": ["ndiff"]},
}


def write_workspace(root: Path) -> Path:
    catalog = root / "catalog"
    (catalog / "conventions").mkdir(parents=True, exist_ok=True)
    lines = ["code;kind;name;parent;population", f"{AGGLO};epci;Agglo Semée;;"]
    lines += [f"{c};commune;Commune {c};{AGGLO};{p}" for c, p in sorted(POPULATION.items())]
    (catalog / "territories.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    glossary = {"indicators": [{
        "code": INDICATOR, "label": "Vols sans violence", "definition": "Faits constatés.",
        "theme": "securite", "unit": "faits", "kind": "count", "polarity": "up_is_bad",
        "periodicity": "annual", "provider": "police"}]}
    (catalog / "glossary.yaml").write_text(yaml.safe_dump(glossary, allow_unicode=True),
                                           encoding="utf-8")
    (catalog / "providers.yaml").write_text(yaml.safe_dump({"providers": [
        {"id": "police", "name": "DDSP", "contact_url": "json://127.0.0.1:9/police"}]}),
        encoding="utf-8")
    (catalog / "conventions" / "police-annuel.yaml").write_text(
        yaml.safe_dump(CONVENTION, allow_unicode=True), encoding="utf-8")
    return root


def counts(seed: int = 15) -> dict[str, dict[str, float | None]]:
    """Yearly counts per commune (None: secret), the big city's 2024 down by half."""
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, float | None]] = {}
    for code, pop in sorted(POPULATION.items()):
        mean = pop * RATE
        shape = 200.0 if pop < 20_000 else 60.0  # bigger places vary more than Poisson
        levels = rng.gamma(shape, mean / shape, size=len(YEARS))
        series: dict[str, float | None] = {y: float(rng.poisson(m))
                                           for y, m in zip(YEARS, levels, strict=True)}
        if code == BIG:
            series["2024"] = float(round(0.5 * mean))
        if code == TINY:  # no theft ever recorded: no level to compare with
            series = {y: 0.0 for y in YEARS}
        if code == LATE:
            series = {y: v for y, v in series.items() if y >= "2022"}
        if code == HIDDEN:
            series["2024"] = None
        out[code] = series
    return out


def delivery(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["commune;annee;indicateur;faits;diffusion"]
    for code, series in counts().items():
        for year, value in series.items():
            lines.append(f"{code};{year};Vols;{'' if value is None else f'{value:g}'};"
                         f"{'ndiff' if value is None else 'diff'}")
    path = folder / "vols_2013_2024.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(root: Path) -> Runtime:
    """The workspace under ``root`` with the one delivery ingested and detected (the
    store is the one VEILLE_DATABASE_URL names, SQLite in the workspace by default)."""
    runtime = open_runtime(write_workspace(root / "ws"))
    summary = ingest_files(runtime, [delivery(root / "in")])
    assert summary.accepted == 1, summary
    return runtime
