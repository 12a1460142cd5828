"""Classes of a choropleth and their colours, by one documented rule.

Rule: at most five classes (fewer when there are fewer distinct values). With fewer than
``JENKS_FROM`` published values (a commune's neighbourhoods, an agglomeration's communes)
the classes are **quantiles** (mapclassify.Quantiles): each holds about as many territories,
which a handful of values supports. From ``JENKS_FROM`` values on (a département's
communes) they are **Fisher-Jenks natural breaks** (mapclassify.FisherJenks), which follow
the gaps of a long distribution. The legend gives every class's bounds.

Palettes are ColorBrewer sequential ramps, which ColorBrewer marks colourblind-safe, and
they respect the indicator's polarity: the darkest class is where the situation calls for
attention. Up-is-bad (unemployment): high values darkest, in orange-red. Up-is-good
(employment): the ramp is reversed, low values darkest. Neutral (population): a blue ramp,
high values darkest, with no judgement.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import mapclassify
import numpy as np

from veille.model import Polarity

MAX_CLASSES = 5
JENKS_FROM = 30

# ColorBrewer 2.0 (Cynthia Brewer, Penn State), sequential, colourblind-safe.
_ORRD = {2: ["#fdbb84", "#e34a33"], 3: ["#fee8c8", "#fdbb84", "#e34a33"],
         4: ["#fef0d9", "#fdcc8a", "#fc8d59", "#d7301f"],
         5: ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"]}
_BLUES = {2: ["#9ecae1", "#3182bd"], 3: ["#deebf7", "#9ecae1", "#3182bd"],
          4: ["#eff3ff", "#bdd7e7", "#6baed6", "#2171b5"],
          5: ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"]}
SINGLE = "#9ecae1"
"""The one colour of a map whose published values are all equal."""


@dataclass(frozen=True)
class Classes:
    """Classes from low to high: ``bounds[i]`` is class i's upper bound, ``low`` the
    lowest value; ``colours[i]`` its fill."""

    method: str
    low: float
    bounds: list[float]
    colours: list[str]

    def of(self, value: float) -> int:
        """The class of a value (the first whose upper bound it does not exceed)."""
        for index, bound in enumerate(self.bounds):
            if value <= bound + 1e-12 * max(1.0, abs(bound)):
                return index
        return len(self.bounds) - 1

    def ranges(self) -> list[tuple[float, float]]:
        """(lower, upper) of each class, for the legend."""
        lows = [self.low, *self.bounds[:-1]]
        return list(zip(lows, self.bounds, strict=True))

    @property
    def label(self) -> str:
        return {"quantiles": "classes par quantiles (effectifs égaux)",
                "jenks": "classes par seuils naturels (Jenks)",
                "single": "une seule valeur"}[self.method]


def palette(polarity: Polarity, count: int) -> list[str]:
    """``count`` fills from the lowest class to the highest, darkest where it matters."""
    if count <= 1:
        return [SINGLE]
    if polarity is Polarity.NEUTRAL:
        return list(_BLUES[count])
    ramp = list(_ORRD[count])
    return ramp if polarity is Polarity.UP_IS_BAD else ramp[::-1]


def classify(values: Sequence[float], polarity: Polarity) -> Classes | None:
    """Classes of the published ``values`` of one map, by the module's rule (None when
    there is nothing to classify)."""
    data = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if data.size == 0:
        return None
    distinct = np.unique(data).size
    if distinct == 1:
        return Classes("single", float(data[0]), [float(data[0])], palette(polarity, 1))
    k = min(MAX_CLASSES, distinct)
    method = "jenks" if data.size >= JENKS_FROM else "quantiles"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Numba not installed", "not enough unique values"
        scheme = (mapclassify.FisherJenks(data, k=k) if method == "jenks"
                  else mapclassify.Quantiles(data, k=k))
    bounds = [float(b) for b in scheme.bins]
    return Classes(method, float(data.min()), bounds, palette(polarity, len(bounds)))
