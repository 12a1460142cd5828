"""A count's exposure is the population of the observation's year (populations.csv from
`veille init`), not one number for every period."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from detectors.stage import _populations
from veille.catalog import Catalog
from veille.model import Territory, TerritoryKind
from veille.territory_files import population_in


def _catalog() -> Catalog:
    territories = {c: Territory(code=c, kind=TerritoryKind.COMMUNE, name=c, population=p)
                   for c, p in (("42218", 173000), ("42225", 4000))}
    return Catalog(root=Path("."), territories=territories,
                   populations={"42218": {2019: 174000, 2020: 173500, 2021: 173000}})


def test_each_period_takes_its_years_population() -> None:
    periods = ["2019-11", "2019-12", "2020-01", "2021-06", "2023-01"]
    table = _populations(_catalog(), ["42218", "42225", "99999"], periods)
    assert table.shape == (3, 5)
    assert table[0].tolist() == [174000, 174000, 173500, 173000, 173000]
    # no population by year: territories.csv's one number; unknown territory: none
    assert table[1].tolist() == [4000] * 5
    assert np.isnan(table[2]).all()


def test_a_year_before_the_first_census_takes_the_first() -> None:
    by_year = {2013: 100, 2016: 130, 2021: 160}
    assert [population_in(by_year, y) for y in (2010, 2013, 2015, 2016, 2020, 2025)] == [
        100, 100, 100, 130, 130, 160]
    assert population_in({}, 2020) is None
