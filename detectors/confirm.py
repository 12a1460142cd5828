"""statsmodels confirmation of the screened candidates, one model fit per test.

Counts: Poisson GLM with log exposure offset, the baseline columns of `detectors.design` and
the test's column; overdispersion by the Pearson chi2 scale of the larger model (quasi-Poisson,
never below 1), likelihood-ratio statistic over the scale against Student's t with the
residual degrees of freedom (the dispersion is estimated from about 45 points: a normal
reference would overstate significance in the far tail BH works in). Rates with a known
denominator: binomial GLM (logit) on numerator/denominator, same treatment. Amounts and bare
rates: OLS t-test. Effects compare the observed value with the counterfactual of the larger
model without the change term, in the series' own units.

The fits use the points the screen kept (past outliers set aside, see `detectors.design`),
the same truncation correction of the dispersion (``KAPPA``), the same pooled dispersion for
counts (`detectors.pooled_dispersion.dispersion_prior`: (d0 s0^2 + d s^2) / (d0 + d), Student with
d + d0 df) and the same choice of position for searched kinds, so that screen and
confirmation test the same thing. A gap widening also needs the series' own level to have
moved in the widening direction (intersection-union: its p-value is the larger of the two
one-sided ones; neither is pooled).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy import stats

from detectors.design import (
    BINOMIAL,
    GAUSSIAN,
    KAPPA,
    POISSON,
    TEST_KINDS,
    Layout,
    position_pvalue,
)
from detectors.pooled_dispersion import prior_scale, series_level, spike_df_ok

SEASON_WORDS = {
    12: "saisonnalité mensuelle + tendance",
    4: "saisonnalité trimestrielle + tendance",
    1: "tendance linéaire",
}
TEST_WORDS = {
    "spike": "indicatrice de la dernière période",
    "level_shift": "saut de niveau sur les dernières périodes",
    "trend_change": "rupture de pente",
    "gap_widening": "écart au territoire parent (offset), saut sur les dernières périodes",
}


@dataclass(frozen=True)
class ConfirmTask:
    """One candidate test with the window data it needs (picklable for worker processes)."""

    series: int
    kind: str
    family: int
    y: np.ndarray
    trials: np.ndarray
    offset: np.ndarray
    mask: np.ndarray
    gap_sign: int = 1
    has_exposure: bool = True
    own_offset: np.ndarray | None = None  # gap tests: the series' own model
    own_mask: np.ndarray | None = None
    prior: tuple[float, ...] | None = None  # pooled dispersion (c, alpha, d0, b), counts
    seasonal: bool = True  # seasonal levels in the baseline (`detectors.design.Layout.base`)


@dataclass(frozen=True)
class Confirmed:
    series: int
    kind: str
    pvalue: float
    statistic: float
    direction: int
    observed: float
    expected: float
    interval_low: float
    interval_high: float
    abs_change: float
    rel_change: float | None
    people: float | None
    method: str
    position: int = 0  # which searched column (see `detectors.design.Layout.columns`)


def confirm(task: ConfirmTask, layout: Layout) -> Confirmed:
    """Fit null and alternative models for one candidate and measure the change.

    For a kind searched over several positions, the position is the one with the largest
    score statistic on the null fit (the screen's rule, here in double precision from the
    statsmodels fit), the likelihood-ratio test is made there and its p-value corrected for
    the positions searched (`detectors.design.position_pvalue`)."""
    m = task.mask
    cols = layout.columns[task.kind][m]
    base = layout.base(task.seasonal)
    x0 = base[m]
    x0 = x0[:, np.any(x0 != 0, axis=0)]
    y, off, n_tr = task.y[m], task.offset[m], task.trials[m]
    pooled = None
    if task.prior is not None and task.family != GAUSSIAN and task.prior[2] > 0:
        level = float(series_level(task.family, y, n_tr, np.ones(len(y), dtype=bool)))
        pooled = (float(prior_scale(np.asarray(task.prior), np.asarray(level))), task.prior[2])
    fit = _fit(task.family, x0, y, off, n_tr, cols, pooled)
    if fit is None:
        return _not_identifiable(task)
    res1, phi, stat, df1, position, rho, ident = fit
    if task.kind == "spike" and not spike_df_ok(
        np.asarray(len(y) - x0.shape[1] - 1),
        None if pooled is None else (np.asarray(pooled[0]), np.asarray(pooled[1])),
    ):
        return _not_identifiable(task)
    col = cols[:, position]
    x1 = np.column_stack([x0, col])
    gamma = float(res1.params[-1])
    cov = np.asarray(res1.normalized_cov_params) * phi
    if task.family == GAUSSIAN:
        fam_word = "OLS (moindres carrés)"
        test_word = "test t de Student"
    elif task.family == POISSON:
        fam_word = "GLM quasi-Poisson (log" + (
            ", offset log population)" if task.has_exposure else ")"
        )
        test_word = f"rapport de vraisemblance, dispersion {phi:.2f}"
    else:
        fam_word = "GLM quasi-binomial (logit, numérateur/dénominateur)"
        test_word = f"rapport de vraisemblance, dispersion {phi:.2f}"
    n_pos = layout.positions(task.kind)
    if task.kind == "gap_widening":
        pvalue = float(stats.t.sf(task.gap_sign * stat, df1))
        if task.own_offset is not None and task.own_mask is not None:
            own_m = task.own_mask
            own = _fit(
                task.family,
                _active(base[own_m]),
                task.y[own_m],
                task.own_offset[own_m],
                task.trials[own_m],
                layout.columns["gap_widening"][own_m],
            )
            p_own = 1.0 if own is None else float(stats.t.sf(task.gap_sign * own[2], own[3]))
            pvalue = max(pvalue, p_own)
            test_word += " ; et niveau propre dans le même sens (intersection-union)"
    else:
        pvalue = float(position_pvalue(np.asarray(stat), np.asarray(df1), rho, ident))
        if n_pos > 1:
            test_word += f" ; position cherchée parmi {n_pos} (borne de Hunter-Worsley)"
    method = (
        f"{fam_word} ; référence : {_reference_words(layout, task.seasonal)} ; "
        f"{TEST_WORDS[task.kind]} ; {test_word} (Student, {_df_words(df1, pooled)})"
    )
    eff = layout.effect(task.kind, position)[m]
    eta = x1 @ np.asarray(res1.params) + off
    eta_cf = (eta - gamma * col)[eff]
    x_cf = np.column_stack([x0, np.zeros(len(col))])[eff]
    k = int(eff.sum())
    tq = float(stats.t.ppf(0.975, max(df1, 1)))
    if task.family == POISSON:
        mu = np.exp(eta_cf)
        observed, expected = float(y[eff].mean()), float(mu.mean())
        grad = (mu[:, None] * x_cf).mean(axis=0)
        var_obs = phi * mu.sum() / k**2
        people: float | None = observed - expected
        low_bound, high_bound = 0.0, np.inf
    elif task.family == BINOMIAL:
        pi = 1 / (1 + np.exp(-eta_cf))
        observed, expected = float((y[eff] / n_tr[eff]).mean()), float(pi.mean())
        grad = ((pi * (1 - pi))[:, None] * x_cf).mean(axis=0)
        var_obs = phi * (pi * (1 - pi) / n_tr[eff]).sum() / k**2
        people = (observed - expected) * float(n_tr[eff].mean())
        low_bound, high_bound = 0.0, 1.0
    else:
        observed, expected = float(y[eff].mean()), float(eta_cf.mean())
        grad = x_cf.mean(axis=0)
        var_obs = phi / k
        people = None
        low_bound, high_bound = -np.inf, np.inf
    half = tq * float(np.sqrt(max(grad @ cov @ grad, 0.0) + var_obs))
    abs_change = observed - expected
    direction = int(np.sign(gamma)) or (1 if abs_change >= 0 else -1)
    return Confirmed(
        series=task.series,
        kind=task.kind,
        pvalue=pvalue,
        statistic=stat,
        direction=direction,
        observed=observed,
        expected=expected,
        interval_low=float(max(low_bound, expected - half)),
        interval_high=float(min(high_bound, expected + half)),
        abs_change=abs_change,
        rel_change=abs_change / expected if expected != 0 else None,
        people=people,
        method=method,
        position=position,
    )


def _reference_words(layout: Layout, seasonal: bool) -> str:
    if not seasonal and layout.season_length > 1:
        return "niveau + tendance (aucune saisonnalité décelée sur les territoires de l'indicateur)"
    return SEASON_WORDS[layout.season_length]


def _df_words(df_t: float, pooled: tuple[float, float] | None) -> str:
    if pooled is None:
        return f"{df_t:.0f} ddl"
    own = df_t - pooled[1]
    return (f"{own:.0f} + {pooled[1]:.0f} ddl, dispersion mise en commun entre territoires "
            "de l'indicateur")


def _active(x0: np.ndarray) -> np.ndarray:
    return x0[:, np.any(x0 != 0, axis=0)]


def _fit(
    family: int, x0: np.ndarray, y: np.ndarray, off: np.ndarray, n_tr: np.ndarray,
    cols: np.ndarray, pooled: tuple[float, float] | None = None,
) -> tuple[Any, float, float, float, int, np.ndarray, np.ndarray] | None:
    """Null fit, position choice, alternative fit: (larger model's result, dispersion,
    signed statistic, Student df, position, neighbouring correlations, identifiable
    columns), or None if no column is identifiable.
    ``pooled``: prior dispersion and df (counts), moderating the series' own."""
    df1 = int(len(y) - x0.shape[1] - 1)
    if df1 < 1:
        return None
    if family == GAUSSIAN:
        res0 = sm.OLS(y - off, x0).fit()
        resid = np.asarray(res0.resid)
        w = np.ones(len(y))
        x2 = float(resid @ resid)
        sm_family = None
    else:
        if family == POISSON:
            sm_family = sm.families.Poisson()
            endog: np.ndarray = y
        else:
            sm_family = sm.families.Binomial()
            endog = np.column_stack([y, n_tr - y])
        res0 = sm.GLM(endog, x0, family=sm_family, offset=off).fit()
        mu = np.asarray(res0.fittedvalues) * (n_tr if family == BINOMIAL else 1.0)
        w = mu if family == POISSON else mu * (1 - mu / n_tr)
        w = np.maximum(w, 1e-12)
        resid = y - mu
        x2 = float((resid**2 / w).sum())
    best = _best_position(family, x0, resid, w, x2, df1, cols, pooled)
    if best is None:
        return None
    position, rho, ident = best
    x1 = np.column_stack([x0, cols[:, position]])
    if np.linalg.matrix_rank(x1) < x1.shape[1]:
        return None
    if sm_family is None:
        res1 = sm.OLS(y - off, x1).fit()
        phi = float(res1.scale) / KAPPA
        cov = np.asarray(res1.normalized_cov_params) * phi
        stat = float(res1.params[-1]) / float(np.sqrt(cov[-1, -1])) if cov[-1, -1] > 0 else 0.0
        return res1, phi, stat, df1, position, rho, ident
    # The null fit is an excellent start for the larger model (fewer IRLS steps).
    start = np.append(np.asarray(res0.params), 0.0)
    res1 = sm.GLM(endog, x1, family=sm_family, offset=off).fit(start_params=start)
    own = float(res1.pearson_chi2) / (KAPPA * max(df1, 1))
    d0 = 0.0 if pooled is None else pooled[1]
    post = own if pooled is None else (d0 * pooled[0] + df1 * own) / (d0 + df1)
    phi = max(1.0, post)
    lr = max(float(res0.deviance - res1.deviance), 0.0)
    stat = float(np.sign(res1.params[-1]) * np.sqrt(lr / phi))
    return res1, phi, stat, df1 + d0, position, rho, ident


def _best_position(
    family: int, x0: np.ndarray, resid: np.ndarray, w: np.ndarray, x2: float, df1: int,
    cols: np.ndarray, pooled: tuple[float, float] | None = None,
) -> tuple[int, np.ndarray, np.ndarray] | None:
    """The identifiable column with the largest score statistic on the null fit (the rule
    of `detectors.score_stats.score_many`), the correlations of the statistics at neighbouring
    columns and which columns are identifiable; None if none is."""
    sq = np.sqrt(w)
    q, _ = np.linalg.qr(x0 * sq[:, None])
    cw = cols * sq[:, None]
    cr = cw - q @ (q.T @ cw)
    v = (cr * cr).sum(axis=0)
    ident = v > 1e-7 * np.maximum((cw * cw).sum(axis=0), 1e-300)
    if not ident.any():
        return None
    v = np.maximum(v, 1e-12)
    u = resid @ cols
    rest = np.maximum(x2 - u * u / v, 0.0) / (KAPPA * max(df1, 1))
    if pooled is not None:
        rest = (pooled[1] * pooled[0] + df1 * rest) / (pooled[1] + df1)
    phi = rest if family == GAUSSIAN else np.maximum(1.0, rest)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(phi > 1e-12, np.abs(u) / np.sqrt(phi * v), 0.0)
    rho = (cr[:, :-1] * cr[:, 1:]).sum(axis=0) / np.sqrt(v[:-1] * v[1:])
    return int(np.argmax(np.where(ident, stat, -1.0))), rho, ident


def _not_identifiable(task: ConfirmTask) -> Confirmed:
    nan = float("nan")
    return Confirmed(
        task.series,
        task.kind,
        1.0,
        0.0,
        0,
        nan,
        nan,
        nan,
        nan,
        nan,
        None,
        None,
        "non identifiable sur les points observés",
    )


def confirm_many(tasks: list[ConfirmTask], layout: Layout) -> list[Confirmed]:
    """Confirm a chunk of tasks with one BLAS thread (runs in a worker process too).
    A fit that separates perfectly (a series of zeros with a step) is a legitimate outcome
    whose p-value says so; statsmodels' warning about it would only flood the logs."""
    import warnings

    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        return [confirm(t, layout) for t in tasks]


__all__ = ["TEST_KINDS", "ConfirmTask", "Confirmed", "confirm", "confirm_many"]
