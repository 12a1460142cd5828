"""Why a series was or was not reported at a wave, in the observatory's words.

The question asked most is "why did it not flag this?". The answer is read from the wave's
record (`detectors.wave_record`, stored by `veille.store.series_tests`): the four tests,
each tested or why not, its screen and confirmed p-values and q-value; the wave's
Benjamini-Hochberg threshold (the news family, or the follow-up family of a series holding a
running shift) and the variance the tests used. Nothing is recomputed, so the answer is the
wave's, whatever was delivered since. ``veille explain`` and the site's explain page show it.

What a series needed is not the largest p the family rejected: with m tests and R
rejections at level q, a test whose p-value is at most q (R + 1) / m is rejected whatever
the others' (its family's R + 1 smallest p-values all pass q (R + 1) / m), so that is the
value told, with its rank ("la 2e rejetée"). Waves recorded before explain_0002 have no R:
their explanation names the largest p rejected, as it did, or q / m when none was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection

from detectors.design import BINOMIAL, GAUSSIAN, POISSON, TEST_KINDS
from detectors.screen import VARIANCE
from detectors.untested import REASON_FR, Untested, series_reason
from detectors.wave_record import dense
from veille.store.series_tests import Block, blocks_of, run_of
from veille.wording import KIND_FR, fmt

TEST_FR = {
    "spike": "pic ou creux ponctuel",
    "level_shift": KIND_FR["level_shift"],
    "trend_change": KIND_FR["trend_change"],
    "gap_widening": KIND_FR["gap_widening"],
}


@dataclass(frozen=True)
class TestLine:
    kind: str
    label: str
    status: str  # untested | screened_out | not_rejected | reported
    status_fr: str
    reason: str | None  # why not made (French)
    screen_p: float | None
    p: float | None
    q: float | None
    detail: dict[str, Any] | None  # a confirmed test's method, baseline, effect


@dataclass(frozen=True)
class Explanation:
    indicator: str
    territory: str
    period: str
    delivery_id: int
    tested: bool
    reported: bool
    reason: str | None  # why the series was not tested at all (French)
    tests: list[TestLine]
    follow: bool  # judged in the follow-up family (a running shift)
    m: int  # tests in the series' family
    q: float
    threshold: float  # largest p the family rejected (0: none)
    rejected: int | None  # the family's rejections (None: a wave before explain_0002)
    needed: float  # a p-value at or below this was reported: q (R + 1) / m
    cutoff: float | None  # the screen's
    variance: str
    verdict: str


def explain(block: Block, row: int, run: dict[str, Any]) -> Explanation:
    """The explanation of the block's ``row`` at the wave of ``run`` (its detection_runs
    row)."""
    a = dense(block.arrays, block.details)
    untested = a["untested"][row]
    follow = bool(a["follow"][row])
    q = float(run["q"])
    if follow:
        m, threshold = int(run.get("n_follow_tests") or 0), float(run.get("follow_threshold")
                                                                    or 0.0)
        rejected = run.get("n_follow_rejected")
    else:
        m, threshold = int(run["n_tests"]), float(run.get("bh_threshold") or 0.0)
        rejected = run.get("n_rejected")
    rejected = None if rejected is None else int(rejected)
    needed = needed_p(q, m, rejected, threshold)
    cutoff = _num(run.get("screen_cutoff"))
    details = {d["test"]: d for d in block.details if int(d["row"]) == row}
    lines = [_line(kind, int(untested[j]), a, row, j, details.get(kind))
             for j, kind in enumerate(TEST_KINDS)]
    reason_code = int(series_reason(untested[None, :])[0])
    tested = reason_code == Untested.TESTED
    reported = any(t.status == "reported" for t in lines)
    return Explanation(
        indicator=block.indicator, territory=str(a["territory"][row]), period=block.period,
        delivery_id=block.delivery_id, tested=tested, reported=reported,
        reason=None if tested else REASON_FR[Untested(reason_code)], tests=lines,
        follow=follow, m=m, q=q, threshold=threshold, rejected=rejected, needed=needed,
        cutoff=cutoff, variance=variance_words(a["variance"][row]),
        verdict=_verdict(lines, tested, reason_code, follow, m, q, threshold, rejected,
                         needed, cutoff),
    )


def needed_p(q: float, m: int, rejected: int | None, threshold: float = 0.0) -> float:
    """The p-value at or below which a test of a family of ``m`` tests, ``rejected`` of them
    rejected by Benjamini-Hochberg at ``q``, would have been rejected: q (R + 1) / m (0 for an
    empty family). ``rejected`` unknown (a wave before explain_0002): the family's largest
    rejected p, ``threshold`` (sufficient too, but lower), or q / m when it rejected none."""
    if m <= 0:
        return 0.0
    if rejected is None:
        return threshold if threshold > 0 else q / m
    return q * (rejected + 1) / m


def rank_fr(n: int) -> str:
    """A French ordinal, feminine (« la 1re », « la 2e »)."""
    return "1re" if n == 1 else f"{n}e"


def threshold_words(e: Explanation) -> tuple[str, str]:
    """The family's rule as (words, then the p-value a series needed), in step for
    ``veille explain`` and the site (which shows the p-value in bold)."""
    n = e.rejected
    if n == 0 or (n is None and e.threshold <= 0):
        return "aucun test rejeté ; il fallait p ≤ q/m = ", p_fr(e.needed)
    if n is None:  # a wave before explain_0002: its largest p rejected, as it was told
        return "p ≤ ", p_fr(e.threshold)
    tests = f"{n} test{'s' if n > 1 else ''} rejeté{'s' if n > 1 else ''}"
    return (f"{tests} (p ≤ {p_fr(e.threshold)}) ; pour être le {n + 1}e, il fallait "
            f"p ≤ q × {n + 1}/m = ", p_fr(e.needed))


def _line(kind: str, code: int, a: dict[str, np.ndarray], row: int, j: int,
          detail: dict[str, Any] | None) -> TestLine:
    screen_p, p, q = (_num(a[name][row, j]) for name in ("screen_p", "p", "q"))
    if code != Untested.TESTED:
        status, words = "untested", "non testé"
    elif bool(a["reported"][row, j]):
        status, words = "reported", "signalé"
    elif p is not None:
        status, words = "not_rejected", "confirmé, non signalé"
    else:
        status, words = "screened_out", "écarté au tri"
    reason = REASON_FR[Untested(code)] if code != Untested.TESTED else None
    return TestLine(kind, TEST_FR[kind], status, words, reason, screen_p, p, q, detail)


def _verdict(lines: list[TestLine], tested: bool, code: int, follow: bool, m: int,
             q: float, threshold: float, rejected: int | None, needed: float,
             cutoff: float | None) -> str:
    family = ("famille de suivi (la série porte une évolution en cours)" if follow
              else "vague")
    counts = f"{m} tests, q = {p_fr(q)}"
    # what the series needed, and its rank among the family's rejections when R is known
    rank = (None if rejected is None else
            f"la {rank_fr(rejected + 1)} rejetée de la {'famille de suivi' if follow else 'vague'}")
    need = f"p ≤ {p_fr(needed)}" + (f" ({rank})" if rank else "")
    rule = f"seuil de Benjamini-Hochberg de la {family}"
    if not tested:
        return (f"Non testée à cette vague : {REASON_FR[Untested(code)]}. Aucun de ses quatre "
                "tests n'a pu être fait ; elle n'entre pas dans le décompte des tests.")
    done = [t for t in lines if t.p is not None]
    hits = [t for t in done if t.status == "reported"]
    if hits:
        best = min(hits, key=lambda t: t.p or 1.0)
        top = threshold if threshold > 0 else needed
        return (f"Signalée : {best.label}, p = {p_fr(best.p)} (q = {p_fr(best.q)}), sous le "
                f"{rule} : p ≤ {p_fr(top)} ({counts}).")
    if done:
        best = min(done, key=lambda t: t.p or 1.0)
        p = best.p or 1.0
        ratio = p / needed if needed > 0 else math.inf
        times = fmt(ratio, digits=0 if ratio >= 10 else 1)
        text = (f"Non signalée : sa plus petite p-valeur, {best.label} p = {p_fr(p)}, est "
                f"au-dessus du {rule} ({counts}) : il aurait fallu {need}, soit une "
                f"p-valeur {times} fois plus petite.")
        if p <= q:
            text += (f" Seule, elle passerait q = {p_fr(q)} : c'est le nombre de tests de la "
                     "vague qui l'arrête (contrôle des fausses alertes).")
        return text
    screened = [t for t in lines if t.screen_p is not None]
    best = min(screened, key=lambda t: t.screen_p or 1.0)
    return (f"Non signalée : au tri, sa plus petite p-valeur approchée ({best.label}, "
            f"p ≈ {p_fr(best.screen_p)}) était au-dessus du seuil du tri "
            f"({p_fr(cutoff)}) ; aucun de ses tests n'est allé jusqu'à la confirmation "
            f"(statsmodels). Il aurait fallu p ≤ {p_fr(needed)} "
            f"({f'{rank} ; ' if rank else ''}{counts}).")


def variance_words(row: np.ndarray) -> str:
    """The variance the tests used, in words (`detectors.screen.VARIANCE`)."""
    v = dict(zip(VARIANCE, (float(x) for x in row), strict=True))
    if not math.isfinite(v["family"]) or not math.isfinite(v["dispersion"]):
        return "Aucune variance estimée : la série n'a pas été ajustée."
    family = int(v["family"])
    own = (f"dispersion propre {fmt(v['own_dispersion'], digits=2)} sur "
           f"{fmt(v['own_df'], digits=0)} ddl" if math.isfinite(v["own_dispersion"])
           else "pas de dispersion propre estimable")
    pooled = (f"dispersion commune aux territoires de l'indicateur "
              f"{fmt(v['prior_dispersion'], digits=2)} sur {fmt(v['prior_df'], digits=0)} ddl"
              if v["prior_df"] > 0 else "pas de dispersion commune")
    phi = fmt(v["dispersion"], digits=2)
    if family == POISSON:
        head = (f"Comptage (quasi-Poisson) : variance = {phi} × valeur attendue "
                f"(moyenne de la fenêtre {fmt(v['level'], digits=1)})")
    elif family == BINOMIAL:
        head = (f"Taux (quasi-binomial) : variance = {phi} × n p (1 − p) "
                f"(dénominateur moyen {fmt(v['level'], digits=0)})")
    elif family == GAUSSIAN:
        return (f"Montant (moindres carrés) : variance résiduelle {fmt(v['dispersion'], digits=2)}"
                f" (écart-type {fmt(math.sqrt(max(v['dispersion'], 0.0)), digits=2)}) ; {own}.")
    else:
        return "Variance d'un modèle inconnu."
    return f"{head} ; {own}, {pooled}."


def p_fr(value: float | None) -> str:
    """A p-value in French: two significant digits, decimal comma."""
    if value is None or not math.isfinite(value):
        return "n.d."
    if value == 0 or value >= 1e-4:
        text = np.format_float_positional(value, precision=2, unique=False, fractional=False,
                                          trim="-")
    else:
        text = f"{value:.1e}"
    return text.replace(".", ",")


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def explain_series(conn: Connection, indicator: str, territory: str,
                   period: str | None = None) -> list[Explanation]:
    """The series' explanations at ``period`` (default: the latest period a wave recorded
    it), newest wave first: a period re-sent by a revision has a wave of its own."""
    out: list[Explanation] = []
    for block in blocks_of(conn, indicator, period):
        if period is None and out and block.period != out[0].period:
            break
        row = block.row(territory)
        run = run_of(conn, block.delivery_id)
        if row is None or run is None:
            continue
        out.append(explain(block, row, run))
    return out
