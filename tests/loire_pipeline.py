"""The Loire recorded-offences file (SSMSI, 2016-2025) replayed through the product, one
delivery per year, shared by ``tests/test_loire_detection.py`` and
``benchmarks/loire_2020.py`` so that the figures quoted in the docs are the tested ones.

The catalog is made from the file itself: its 320 communes under the département, and one
glossary entry per indicator the shared convention maps. What the file does not hold is
stated where it is made up for the run:

* population: the file gives, for 2025 only, a rate per 1,000 inhabitants next to the
  count, so ``count / rate * 1000`` is the population (burglaries are per 1,000 dwellings
  and are left out). Communes whose published 2025 counts are all zero (or unpublished)
  have no estimate and no population, nor has the département: a count series without
  exposure is modelled without an offset, which for a population held constant over the
  window changes nothing but the intercept.
* the département series: the SSMSI's own département figures are not in the file, so each
  yearly delivery carries a row ``42`` = the sum of that year's *published* commune counts.
  It is a lower bound of the true total, but it is the only total from which no unpublished
  cell can be recovered by subtraction (design principle 5). The convention is the shared
  one plus a code map for that row (its ``zfill: 5`` would pad ``42`` to ``00042``).
"""

from __future__ import annotations

import csv
import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select

from cli.jobs import IngestSummary, ingest_files
from veille.clock import FixedClock
from veille.runtime import Runtime, open_runtime
from veille.store.schema import shifts

REPO = Path(__file__).resolve().parents[1]
LOIRE = (REPO.parent / "shared" / "data" / "loire-42-ssmsi-caf-filosofi-rouages"
         / "DERIVED_42_delinquance_long.csv")
CONVENTION = REPO / "tests" / "connectors" / "conventions" / "ssmsi_delinquance_loire.yaml"
DEPARTEMENT = "42"
BURGLARIES = "ssmsi_cambriolages"
COLUMNS = ["code_commune", "annee", "indicateur", "unite_de_compte", "nombre", "est_diffuse",
           "taux_pour_mille_derniere_annee"]
CLOCK = FixedClock(dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC))
"""Mid-2026: every year of the file up to 2025 is closed."""


def read_rows(path: Path = LOIRE) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def load_convention_yaml() -> dict:
    return yaml.safe_load(CONVENTION.read_text(encoding="utf-8"))


def is_secret(row: dict[str, str]) -> bool:
    return row["est_diffuse"] == "ndiff"


def populations(rows: Iterable[dict[str, str]]) -> dict[str, int]:
    """Population per commune from the 2025 counts and rates per 1,000 inhabitants (the
    median over indicators: each one rounds its rate)."""
    estimates: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        rate = r["taux_pour_mille_derniere_annee"].replace(",", ".")
        if (r["annee"] != "2025" or is_secret(r) or r["indicateur"] == "Cambriolages de logement"
                or not rate or float(rate) <= 0):
            continue
        estimates[r["code_commune"]].append(float(r["nombre"]) / float(rate) * 1000)
    return {code: round(statistics.median(v)) for code, v in estimates.items()}


def write_catalog(root: Path, rows: list[dict[str, str]]) -> None:
    """Glossary, territories, provider and convention of the workspace, from the file."""
    convention = load_convention_yaml()
    catalog = root / "catalog"
    (catalog / "conventions").mkdir(parents=True, exist_ok=True)
    units = {r["indicateur"]: r["unite_de_compte"] for r in rows}
    glossary = [
        {"code": code, "label": label, "definition": f"{label} ({units[label].lower()}s), "
         "faits enregistrés par la police et la gendarmerie (SSMSI, base communale)",
         "theme": "securite", "unit": units[label].lower(), "kind": "count",
         "polarity": "up_is_bad", "periodicity": "annual", "provider": "ssmsi"}
        for label, code in convention["indicator_map"].items()]
    (catalog / "glossary.yaml").write_text(
        yaml.safe_dump({"indicators": glossary}, allow_unicode=True), encoding="utf-8")
    pops = populations(rows)
    lines = ["code;kind;name;parent;population", f"{DEPARTEMENT};departement;Loire;;"]
    lines += [f"{code};commune;commune {code};{DEPARTEMENT};{pops.get(code, '')}"
              for code in sorted({r["code_commune"] for r in rows})]
    (catalog / "territories.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (catalog / "providers.yaml").write_text(yaml.safe_dump({"providers": [
        {"id": "ssmsi", "name": "Service statistique ministériel de la sécurité intérieure"}]},
        allow_unicode=True), encoding="utf-8")
    convention["territory"]["codes"] = {DEPARTEMENT.zfill(5): DEPARTEMENT}
    (catalog / "conventions" / f"{convention['id']}.yaml").write_text(
        yaml.safe_dump(convention, allow_unicode=True), encoding="utf-8")


def yearly_deliveries(rows: list[dict[str, str]], folder: Path, *,
                      zero_secrets: bool = False) -> list[Path]:
    """One file per year (each year is a wave), with the département row appended.

    ``zero_secrets`` reproduces the classic mistake of reading an unpublished cell as 0.
    """
    folder.mkdir(parents=True, exist_ok=True)
    ignored = set(load_convention_yaml().get("ignore_indicators", []))
    by_year: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        if zero_secrets and is_secret(r):
            r = {**r, "nombre": "0", "est_diffuse": "diff"}
        by_year[r["annee"]].append(r)
    paths = []
    for year in sorted(by_year):
        totals: dict[tuple[str, str], float] = defaultdict(float)
        for r in by_year[year]:
            if r["indicateur"] not in ignored and not is_secret(r):
                totals[(r["indicateur"], r["unite_de_compte"])] += float(r["nombre"])
        extra = [{"code_commune": DEPARTEMENT, "annee": year, "indicateur": label,
                  "unite_de_compte": unit, "nombre": f"{total:g}", "est_diffuse": "diff",
                  "taux_pour_mille_derniere_annee": ""}
                 for (label, unit), total in sorted(totals.items())]
        path = folder / f"{year}_42_delinquance_long.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, COLUMNS, delimiter=";", lineterminator="\n")
            writer.writeheader()
            writer.writerows(by_year[year] + extra)
        paths.append(path)
    return paths


@dataclass
class Run:
    runtime: Runtime
    summary: IngestSummary


def run(root: Path, rows: list[dict[str, str]], *, zero_secrets: bool = False) -> Run:
    """Build the workspace under ``root`` and ingest the ten yearly deliveries in order
    (the embedded runner runs ingest then detect for each one)."""
    write_catalog(root / "ws", rows)
    files = yearly_deliveries(rows, root / "deliveries", zero_secrets=zero_secrets)
    runtime = open_runtime(root / "ws", clock=CLOCK)
    return Run(runtime, ingest_files(runtime, files))


def recorded_shifts(runtime: Runtime) -> list[dict]:
    with runtime.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(shifts).order_by(shifts.c.period, shifts.c.indicator, shifts.c.territory))]


BIG_COMMUNE = 20_000
SMALL_COMMUNE = 1_000
LOCKDOWN_FALL = 0.2
"""The issue's lockdown targets: a 2020 count 20 % or more below the 2017-2019 mean, and
by more than 3 sqrt(mean), in a commune of 20,000 inhabitants or more."""


@dataclass(frozen=True)
class Fall:
    indicator: str
    commune: str
    population: int
    before: float  # 2017-2019 mean
    in_2020: float
    flagged: bool


def lockdown_falls(rows: list[dict[str, str]], shifts: list[dict]) -> list[Fall]:
    """The big communes' offence classes that fell in 2020 by the issue's measure, each
    with whether a downward shift was recorded for it at 2020."""
    codes = load_convention_yaml()["indicator_map"]
    pops = populations(rows)
    counts: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for r in rows:
        if r["indicateur"] in codes and not is_secret(r):
            counts[(codes[r["indicateur"]], r["code_commune"])][r["annee"]] = float(r["nombre"])
    down = {(s["indicator"], s["territory"]) for s in shifts
            if s["period"] == "2020" and s["direction"] < 0}
    out = []
    for (code, commune), years in sorted(counts.items()):
        pop = pops.get(commune, 0)
        before = [years.get(y) for y in ("2017", "2018", "2019")]
        if pop < BIG_COMMUNE or None in before or "2020" not in years:
            continue
        mean = sum(v for v in before if v is not None) / 3
        fell = mean - years["2020"]
        if fell >= LOCKDOWN_FALL * mean and fell > 3 * mean**0.5:
            out.append(Fall(code, commune, pop, mean, years["2020"], (code, commune) in down))
    return out


def small_commune_flags(rows: list[dict[str, str]], shifts: list[dict]) -> dict[str, int]:
    """Shifts recorded per year in communes under 1,000 inhabitants."""
    pops = populations(rows)
    small = {c for c in {r["code_commune"] for r in rows} if pops.get(c, 0) < SMALL_COMMUNE}
    out: dict[str, int] = defaultdict(int)
    for s in shifts:
        if s["territory"] in small:
            out[s["period"]] += 1
    return dict(out)
