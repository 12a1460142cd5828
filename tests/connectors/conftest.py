"""Shared helpers for connector tests: small catalogs and conventions built in the test."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from veille.catalog import Catalog
from veille.clock import FixedClock
from veille.model import Convention, Indicator, Territory, TerritoryKind

CONVENTIONS = Path(__file__).resolve().parent / "conventions"
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def indicator(code: str, kind: str = "count", periodicity: str = "annual", unit: str = "",
              **extra: Any) -> Indicator:
    """A glossary entry with just what the connectors look at."""
    units = {"count": "personnes", "rate": "%", "amount": "€"}
    return Indicator(code=code, label=code, definition=f"test indicator {code}", theme="emploi",
                     unit=unit or units[kind], kind=kind, periodicity=periodicity,
                     provider="test", **extra)


def catalog_of(indicators: list[Indicator], territories: list[Territory]) -> Catalog:
    return Catalog(root=Path("."), indicators={i.code: i for i in indicators},
                   territories={t.code: t for t in territories})


def commune(code: str, parent: str | None = None) -> Territory:
    return Territory(code=code, kind=TerritoryKind.COMMUNE, name=f"commune {code}", parent=parent)


def load_convention(name: str) -> Convention:
    raw = yaml.safe_load((CONVENTIONS / name).read_text(encoding="utf-8"))
    return Convention.model_validate(raw)


@pytest.fixture
def clock() -> FixedClock:
    """Mid-2026: every period of the real files up to 2025 is closed."""
    return FixedClock(dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC))


def iris(code: str, parent: str) -> Territory:
    return Territory(code=code, kind=TerritoryKind.IRIS, name=f"IRIS {code}", parent=parent)


@pytest.fixture
def small_catalog() -> Catalog:
    """An EPCI, two communes with IRIS, a commune without IRIS, and the CAF glossary."""
    territories = [
        Territory(code="200000001", kind=TerritoryKind.EPCI, name="Agglo"),
        commune("42218", parent="200000001"), commune("42095", parent="200000001"),
        commune("69123"),
        iris("422180101", "42218"), iris("422180102", "42218"), iris("420950101", "42095"),
    ]
    indicators = [
        indicator("caf_rsa", periodicity="monthly"),
        indicator("caf_aah", periodicity="monthly"),
        indicator("caf_couverture", kind="rate", periodicity="monthly"),
        indicator("caf_montant_moyen", kind="amount", periodicity="monthly", minimum=10.0),
    ]
    return catalog_of(indicators, territories)


def wide_convention(**changes: Any) -> Convention:
    """A monthly CAF convention by IRIS: one column per indicator, period in the file name."""
    raw: dict[str, Any] = {
        "id": "caf-iris", "provider": "caf", "label": "CAF par IRIS", "periodicity": "monthly",
        "lag_days": 30, "geography": "iris", "first_period": "2023-01",
        "file": {"encoding": "latin-1", "separator": ";", "decimal": ","},
        "layout": "wide", "territory": {"column": "IRIS"}, "period": {"from_filename": True},
        "columns": {
            "ARSA": {"indicator": "caf_rsa"},
            "AAAH": {"indicator": "caf_aah"},
            "TXCOUV": {"indicator": "caf_couverture", "numerator": "PERCOU",
                       "denominator": "POP"},
        },
    }
    for key, value in changes.items():
        if key == "file":
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return Convention.model_validate(raw)


def write_text(folder: Path, name: str, text: str, encoding: str = "latin-1") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def may_2024() -> FixedClock:
    """10 May 2024: April 2024 is the last closed month."""
    return FixedClock(dt.datetime(2024, 5, 10, 9, 0, tzinfo=dt.UTC))
