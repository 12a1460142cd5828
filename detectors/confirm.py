"""statsmodels confirmation of the screened candidates, one model fit per test.

Counts: Poisson GLM with log exposure offset, the baseline columns of `detectors.design` and
the test's column; overdispersion by the Pearson chi2 scale of the larger model (quasi-Poisson,
never below 1), likelihood-ratio statistic over the scale against Student's t with the
residual degrees of freedom (the dispersion is estimated from about 45 points: a normal
reference would overstate significance in the far tail BH works in). Rates with a known
denominator: binomial GLM (logit) on numerator/denominator, same treatment. Amounts and bare
rates: OLS t-test. Effects compare the observed value with the counterfactual of the larger
model without the change term, in the series' own units.

The fits use the points the screen kept (past outliers set aside, see `detectors.design`) and
the same truncation correction of the dispersion (``KAPPA``), so that screen and confirmation
test the same thing. A gap widening also needs the series' own level to have moved in the
widening direction (intersection-union: its p-value is the larger of the two one-sided ones).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import statsmodels.api as sm
from scipy import stats

from detectors.design import BINOMIAL, GAUSSIAN, KAPPA, POISSON, TEST_KINDS, Layout

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


def confirm(task: ConfirmTask, layout: Layout) -> Confirmed:
    """Fit null and alternative models for one candidate and measure the change."""
    m = task.mask
    col = layout.extras[task.kind][m]
    x0 = layout.x0[m]
    x0 = x0[:, np.any(x0 != 0, axis=0)]
    x1 = np.column_stack([x0, col])
    y, off, n_tr = task.y[m], task.offset[m], task.trials[m]
    df1 = int(len(y) - x1.shape[1])
    if df1 < 1 or np.linalg.matrix_rank(x1) < x1.shape[1]:
        return _not_identifiable(task)
    if task.family == GAUSSIAN:
        res1 = sm.OLS(y - off, x1).fit()
        gamma = float(res1.params[-1])
        phi = float(res1.scale) / KAPPA
        cov = np.asarray(res1.normalized_cov_params) * phi
        stat = gamma / float(np.sqrt(cov[-1, -1])) if cov[-1, -1] > 0 else 0.0
        fam_word = "OLS (moindres carrés)"
        test_word = "test t de Student"
    else:
        if task.family == POISSON:
            family = sm.families.Poisson()
            endog = y
            fam_word = "GLM quasi-Poisson (log" + (
                ", offset log population)" if task.has_exposure else ")"
            )
        else:
            family = sm.families.Binomial()
            endog = np.column_stack([y, n_tr - y])
            fam_word = "GLM quasi-binomial (logit, numérateur/dénominateur)"
        res0 = sm.GLM(endog, x0, family=family, offset=off).fit()
        # The null fit is an excellent start for the larger model (fewer IRLS steps).
        start = np.append(np.asarray(res0.params), 0.0)
        res1 = sm.GLM(endog, x1, family=family, offset=off).fit(start_params=start)
        gamma = float(res1.params[-1])
        phi = max(1.0, float(res1.pearson_chi2) / (KAPPA * max(df1, 1)))
        lr = max(float(res0.deviance - res1.deviance), 0.0)
        stat = float(np.sign(gamma) * np.sqrt(lr / phi))
        cov = np.asarray(res1.normalized_cov_params) * phi
        test_word = f"rapport de vraisemblance, dispersion {phi:.2f}"
    if task.kind == "gap_widening":
        pvalue = float(stats.t.sf(task.gap_sign * stat, df1))
        if task.own_offset is not None and task.own_mask is not None:
            own = confirm(
                replace(task, kind="level_shift", offset=task.own_offset, mask=task.own_mask),
                layout,
            )
            df_own = int(task.own_mask.sum() - own_df_cols(layout, task.own_mask))
            p_own = float(stats.t.sf(task.gap_sign * own.statistic, max(df_own, 1)))
            pvalue = max(pvalue, p_own)
            test_word += " ; et niveau propre dans le même sens (intersection-union)"
    else:
        pvalue = float(2 * stats.t.sf(abs(stat), df1))
    method = (
        f"{fam_word} ; référence : {SEASON_WORDS[layout.season_length]} ; "
        f"{TEST_WORDS[task.kind]} ; {test_word} (Student, {df1} ddl)"
    )
    eff = layout.effect(task.kind)[m]
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
    )


def own_df_cols(layout: Layout, mask: np.ndarray) -> int:
    """Columns of the level-shift model on the observed points (for its residual df)."""
    x0 = layout.x0[mask]
    return int(np.any(x0 != 0, axis=0).sum()) + 1


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
    """Confirm a chunk of tasks with one BLAS thread (runs in a worker process too)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return [confirm(t, layout) for t in tasks]


__all__ = ["TEST_KINDS", "ConfirmTask", "Confirmed", "confirm", "confirm_many"]
