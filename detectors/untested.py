"""Why a test of a series was not made: one code per skip, recorded with every wave.

Every series of a wave gets four test slots (`detectors.design.TEST_KINDS`); a slot that
was not tested carries the first reason that stopped it, a series none of whose slots was
tested is an untested series of the wave (listed by ``veille shifts --untested`` and on the
review page). The codes say what the data lacked, not how the statistics are made, so a
change of method changes which series reach a code, never the codes' plumbing. Where each
code is set:

- ``NOT_PUBLISHED`` / ``BEFORE_START`` / ``NEVER_PUBLISHED``: `detectors.stage.build_batch`
  (no value at the wave's period: absent or secret; the series only starts later; or it
  never had a value);
- ``VALUE_UNUSABLE`` .. ``PARENT_TOO_SHORT``: `detectors.design.prepare` (what the window
  holds);
- ``NO_POOL``, ``WEAK_POOL``, ``NOT_IDENTIFIABLE``: `detectors.screen.screen_block` (what the
  fit of the baseline allows).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Untested(IntEnum):
    """Reason codes (uint8 in the arrays; their lower-case names in the store)."""

    TESTED = 0
    NOT_PUBLISHED = 1
    """No value at the wave's period (not delivered, or secret) though the series has some."""
    BEFORE_START = 2
    """The series' first value comes after the wave's period."""
    NEVER_PUBLISHED = 13
    """Every cell of the series so far is secret (or empty): it has never had a value."""
    VALUE_UNUSABLE = 3
    """A value at the period that the model cannot use (negative count, no population or
    denominator, numerator above the denominator)."""
    TOO_SHORT = 4
    """Too few observed periods in the window for a baseline and its residual df."""
    SINCE_BREAK = 5
    """Too few periods since the indicator's definition break."""
    MEAN_TOO_SMALL = 6
    """A count with no event at all in its baseline (the window before the period)."""
    TREND_TOO_SHORT = 7
    """Too few observed periods in the recent span a broken trend is searched over."""
    NO_PARENT = 8
    """Gap test: no reference territory (or its series is not in the wave)."""
    PARENT_TOO_SHORT = 9
    """Gap test: too few periods observed for both the territory and its reference."""
    NO_POOL = 10
    """A spike on few own points needs the dispersion of the indicator's other territories,
    and too few of them could be tested to pool it."""
    WEAK_POOL = 11
    """As ``NO_POOL``, but the territories differ too much for the pooled dispersion to
    bring the missing residual df."""
    NOT_IDENTIFIABLE = 12
    """The change cannot be told apart from the baseline on the observed points."""

    @property
    def code(self) -> str:
        return self.name.lower()


REASON_FR = {
    Untested.TESTED: "testée",
    Untested.NOT_PUBLISHED: "pas de valeur publiée à cette période (absente ou secrète)",
    Untested.BEFORE_START: "la série ne commence qu'après cette période",
    Untested.NEVER_PUBLISHED: "jamais publiée (toutes ses valeurs sont secrètes ou absentes)",
    Untested.VALUE_UNUSABLE: "valeur inutilisable (négative, sans population ou dénominateur)",
    Untested.TOO_SHORT: "historique trop court",
    Untested.SINCE_BREAK: "trop peu de périodes depuis la rupture de définition",
    Untested.MEAN_TOO_SMALL: "effectifs trop faibles (aucun fait avant cette période)",
    Untested.TREND_TOO_SHORT: "trop peu de périodes récentes pour une rupture de pente",
    Untested.NO_PARENT: "pas de territoire de référence",
    Untested.PARENT_TOO_SHORT: "trop peu de périodes communes avec le territoire de référence",
    Untested.NO_POOL: "trop peu de territoires pour mettre la dispersion en commun",
    Untested.WEAK_POOL: "territoires trop différents pour mettre la dispersion en commun",
    Untested.NOT_IDENTIFIABLE: "changement non identifiable sur les points observés",
}
"""What the observatory reads (site, CLI)."""

BY_CODE = {r.code: r for r in Untested}


def series_reason(slots: np.ndarray) -> np.ndarray:
    """(n,) the series' reason: TESTED if any of its tests was made, else its spike's (the
    test that asks least of the data, so its reason is the most telling)."""
    slots = np.asarray(slots, dtype=np.uint8)
    tested = (slots == Untested.TESTED).any(axis=1)
    return np.where(tested, np.uint8(Untested.TESTED), slots[:, 0]).astype(np.uint8)


def count_untested(slots: np.ndarray) -> dict[str, int]:
    """Untested series by reason code (the wave's record), most frequent first."""
    reasons = series_reason(slots)
    codes, counts = np.unique(reasons[reasons != Untested.TESTED], return_counts=True)
    pairs = sorted(zip(counts.tolist(), codes.tolist(), strict=True), reverse=True)
    return {Untested(c).code: int(n) for n, c in pairs}


def first_reason(shape: tuple[int, ...], *rules: tuple[np.ndarray, Untested]) -> np.ndarray:
    """Reason codes from (failed, code) rules in priority order: each slot keeps the first
    rule it fails, TESTED if none."""
    out = np.full(shape, Untested.TESTED, dtype=np.uint8)
    for failed, code in reversed(rules):
        out = np.where(np.broadcast_to(failed, shape), np.uint8(code), out)
    return out.astype(np.uint8)
