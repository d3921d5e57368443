"""The crossover statistics of the paper: random-effects models, their tests, effect sizes and checks.

The paper's model (Methods, "Statistical Analysis") for a continuous endpoint
``y`` measured once per patient and period is a linear mixed model with
treatment, sequence and first-order carry-over as fixed effects and a random
intercept per patient::

    y_ij = mu + tau_treatment(ij) + gamma_sequence(i) + lambda_carryover(ij) + b_i + e_ij
    b_i ~ N(0, sigma2_patient),  e_ij ~ N(0, sigma2_residual)

Conventions chosen where the paper is silent:

* **Carry-over** is coded as the treatment of the previous period, with
  period 1 and periods after placebo both coded ``none`` (placebo is assumed
  to carry nothing over). A separate ``none`` level for period 1 only would be
  the period-1 indicator: collinear with period in the period-adjusted model.
* **Estimation** by maximum likelihood (``method="ML"``), the default of
  Stata 13's ``mixed`` that the authors used; REML is offered and shown beside
  it. Tests are Wald z (pairwise) and Wald chi-square (omnibus), as Stata
  reports them; no small-sample degrees of freedom.
* **Pairwise comparisons** are built as explicit contrasts of the treatment
  coefficients (statsmodels' ``t_test_pairwise`` does not handle this
  design). P values are reported raw and Sidak-adjusted for the three
  comparisons, ``1 - (1 - p)^3``; the paper applies Sidak when the omnibus
  P < 0.05.
* **Effect size**: the contrast divided by the model's total SD,
  ``sqrt(sigma2_patient + sigma2_residual)``, with the contrast's 95% CI
  divided by the same SD (the SD is treated as known).
* **ICC** = ``sigma2_patient / (sigma2_patient + sigma2_residual)``.
* **Residual normality**: Shapiro-Wilk on the conditional residuals
  (observed minus fixed plus predicted random effects); if P < 0.05, the
  report refits on ``log(y)`` (``log(y + 1)`` when some ``y`` is 0).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats

from .report import formatting as fmt
from .schema import TREATMENTS
from .stats.descriptives import compare_groups, describe  # noqa: F401  (re-exported)
from .stats.glmm import LogitMixedFit, fit_logit_mixed  # noqa: F401  (re-exported)

Method = Literal["ML", "REML"]
ModelName = Literal["paper", "period", "no_carryover", "treatment_only"]

#: Right-hand sides of the models the report fits.
FORMULAS: dict[str, str] = {
    "paper": "{treatment} + C(sequence) + C(carryover, Treatment('none'))",
    "period": "{treatment} + C(period) + C(sequence)",
    "no_carryover": "{treatment} + C(sequence)",
    "treatment_only": "{treatment}",
}
#: The three pairwise comparisons, as (first, second): estimate = first - second.
PAIRS: tuple[tuple[str, str], ...] = (
    ("ketamine", "placebo"),
    ("placebo", "ketamine_magnesium"),
    ("ketamine", "ketamine_magnesium"),
)
_OPTIMIZERS = ("bfgs", "lbfgs", "nm", "powell")
#: Confidence level of every interval of the report, and its normal quantile.
CI_LEVEL = 0.95
_Z = float(stats.norm.ppf(0.5 + CI_LEVEL / 2))


def readable_term(term: str) -> str:
    """A model term as a reader names it.

    >>> readable_term("C(treatment, Treatment('placebo'))[T.ketamine]")
    'ketamine vs placebo'
    >>> readable_term("C(carryover, Treatment('none'))[T.ketamine]"), readable_term("C(sequence)[T.K-P-M]")
    ('carry-over from ketamine', 'sequence K-P-M')
    """
    import re

    match = re.fullmatch(r"C\(treatment, Treatment\('(.+)'\)\)\[T\.(.+)\]", term)
    if match:
        return f"{match.group(2)} vs {match.group(1)}"
    match = re.fullmatch(r"C\(carryover, Treatment\('none'\)\)\[T\.(.+)\]", term)
    if match:
        return f"carry-over from {match.group(1)}"
    match = re.fullmatch(r"C\((\w+)\)\[T\.(.+)\]", term)
    if match:
        return f"{match.group(1)} {match.group(2)}"
    return term


def sidak(p: float | np.ndarray, comparisons: int = 3) -> float | np.ndarray:
    """Sidak-adjusted P value for ``comparisons`` tests: ``1 - (1 - p) ** comparisons``.

    >>> round(sidak(0.02), 6)
    0.058808
    """
    adjusted = 1.0 - (1.0 - np.asarray(p, dtype=float)) ** comparisons
    return float(adjusted) if adjusted.ndim == 0 else adjusted


def crossover_frame(values: pd.DataFrame, infusions: pd.DataFrame, randomization: pd.DataFrame,
                    outcome: str = "auc") -> pd.DataFrame:
    """Tidy model data: one row per patient and period with treatment, sequence, carry-over and the outcome.

    ``values`` has ``patient_id``, ``period`` and the ``outcome`` column (e.g.
    from :func:`ketapain_lib.derive.auc`). Rows with a missing outcome are
    dropped (the mixed model uses every available period).
    """
    # carry-over comes from the infusion of the previous *period*, taken from every infusion, so that a
    # period missing from ``values`` (complete cases, a missing score) cannot shift it onto the wrong row
    periods = infusions[["patient_id", "period", "treatment"]].copy()
    periods["period"] = periods["period"].astype(int)
    periods["patient_id"] = periods["patient_id"].astype(str)
    previous = periods.assign(period=periods["period"] + 1).rename(columns={"treatment": "previous"})
    periods = periods.merge(previous, on=["patient_id", "period"], how="left")
    periods["carryover"] = [("none" if not isinstance(p, str) or p == "placebo" else p)
                            for p in periods["previous"].astype(object).where(periods["previous"].notna(), None)]
    outcome_values = values[["patient_id", "period", outcome]].copy()
    outcome_values["patient_id"] = outcome_values["patient_id"].astype(str)
    outcome_values["period"] = outcome_values["period"].astype(int)
    frame = outcome_values.merge(periods[["patient_id", "period", "treatment", "carryover"]],
                                 on=["patient_id", "period"], validate="one_to_one")
    sequences = randomization[["patient_id", "sequence"]].astype({"patient_id": str})
    frame = frame.merge(sequences, on="patient_id", validate="many_to_one")
    frame = frame.sort_values(["patient_id", "period"], kind="stable").reset_index(drop=True)
    frame["treatment"] = pd.Categorical(frame["treatment"].astype(str), categories=list(TREATMENTS))
    frame["sequence"] = frame["sequence"].astype(str)
    frame["period"] = frame["period"].astype(int)
    frame["patient_id"] = frame["patient_id"].astype(str)
    frame = frame.rename(columns={outcome: "y"})
    return frame[frame["y"].notna()].astype({"y": float}).reset_index(drop=True)


@dataclass
class CrossoverFit:
    """A fitted crossover mixed model with the tests the paper reports.

    Build it with :func:`fit_crossover`. ``notes`` lists every fitting problem
    met (non-convergence, singular fit, optimizers that disagreed), to be
    shown with the results, never dropped.
    """

    model: str
    method: Method
    formula: str
    data: pd.DataFrame
    result: object
    notes: list[str] = field(default_factory=list)
    transform: str = "none"

    # ---- variance components
    @property
    def patient_variance(self) -> float:
        """Between-patient variance (random intercept), in squared outcome units."""
        return float(self.result.cov_re.iloc[0, 0])

    @property
    def residual_variance(self) -> float:
        """Within-patient (residual) variance, in squared outcome units."""
        return float(self.result.scale)

    @property
    def icc(self) -> float:
        """Intraclass correlation: between-patient share of the total variance."""
        total = self.patient_variance + self.residual_variance
        return self.patient_variance / total if total > 0 else float("nan")

    @property
    def total_sd(self) -> float:
        """SD of one observation around its mean: the denominator of the effect sizes."""
        return math.sqrt(self.patient_variance + self.residual_variance)

    # ---- fixed effects
    @property
    def levels(self) -> list[str]:
        """Treatment levels, the reference (first) included."""
        return list(self.data["treatment"].cat.categories)

    def _term(self, level: str) -> str:
        return f"C(treatment, Treatment({self.levels[0]!r}))[T.{level}]"

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The pairwise comparisons, (first, second): the paper's three for its treatments, else all pairs."""
        if self.levels == list(TREATMENTS):
            return list(PAIRS)
        return [(b, a) for i, a in enumerate(self.levels) for b in self.levels[i + 1:]]

    def fixed_effects(self) -> pd.DataFrame:
        """Coefficients with SE, Wald z, P and 95% CI (random-effect variance row excluded)."""
        names = list(self.result.model.exog_names)
        params = self.result.fe_params
        cov = self.result.cov_params().loc[names, names]
        se = np.sqrt(np.diag(cov))
        z = params.to_numpy() / se
        return pd.DataFrame({"term": names, "estimate": params.to_numpy(), "se": se, "z": z,
                             "p": 2 * stats.norm.sf(np.abs(z)),
                             "ci_low": params.to_numpy() - _Z * se,
                             "ci_high": params.to_numpy() + _Z * se})

    def _contrast(self, first: str, second: str) -> np.ndarray:
        names = list(self.result.model.exog_names)
        vector = np.zeros(len(names))
        for treatment, sign in ((first, 1.0), (second, -1.0)):
            if treatment != self.levels[0]:
                vector[names.index(self._term(treatment))] += sign
        return vector

    def pairwise(self) -> pd.DataFrame:
        """The three pairwise treatment differences (first - second), raw and Sidak P, effect sizes.

        Columns: ``comparison``, ``estimate`` (outcome units), ``se``, ``z``,
        ``p``, ``p_sidak``, ``ci_low``, ``ci_high``, ``effect_size``,
        ``es_ci_low``, ``es_ci_high`` (in total-SD units).
        """
        names = list(self.result.model.exog_names)
        cov = self.result.cov_params().loc[names, names].to_numpy()
        params = self.result.fe_params.to_numpy()
        rows = []
        for first, second in self.pairs:
            vector = self._contrast(first, second)
            estimate = float(vector @ params)
            se = float(np.sqrt(vector @ cov @ vector))
            z = estimate / se
            p = float(2 * stats.norm.sf(abs(z)))
            low, high = estimate - _Z * se, estimate + _Z * se
            rows.append({"comparison": f"{first} vs {second}", "first": first, "second": second,
                         "estimate": estimate, "se": se, "z": z, "p": p,
                         "p_sidak": float(sidak(p, len(self.pairs))),
                         "ci_low": low, "ci_high": high, "effect_size": estimate / self.total_sd,
                         "es_ci_low": low / self.total_sd, "es_ci_high": high / self.total_sd})
        return pd.DataFrame(rows)

    def omnibus(self) -> dict[str, float]:
        """Wald chi-square test that all treatments have equal means (2 df for three treatments)."""
        names = list(self.result.model.exog_names)
        index = [names.index(self._term(t)) for t in self.levels[1:]]
        beta = self.result.fe_params.to_numpy()[index]
        cov = self.result.cov_params().loc[names, names].to_numpy()[np.ix_(index, index)]
        chi2 = float(beta @ np.linalg.solve(cov, beta))
        return {"chi2": chi2, "df": len(index), "p": float(stats.chi2.sf(chi2, len(index)))}

    def residual_normality(self) -> dict[str, float]:
        """Shapiro-Wilk test of the conditional residuals."""
        w, p = stats.shapiro(np.asarray(self.result.resid))
        return {"W": float(w), "p": float(p)}

    def to_frame(self) -> pd.DataFrame:
        """One-row summary: model, method, omnibus test, ICC, variance components, normality."""
        omnibus, normality = self.omnibus(), self.residual_normality()
        return pd.DataFrame([{
            "model": self.model, "method": self.method, "transform": self.transform, "n_obs": len(self.data),
            "n_patients": self.data["patient_id"].nunique(), "omnibus_chi2": omnibus["chi2"],
            "omnibus_df": omnibus["df"], "omnibus_p": omnibus["p"], "patient_variance": self.patient_variance,
            "residual_variance": self.residual_variance, "icc": self.icc, "loglik": float(self.result.llf),
            "shapiro_w": normality["W"], "shapiro_p": normality["p"], "notes": "; ".join(self.notes),
        }])


def fit_crossover(data: pd.DataFrame, model: ModelName = "paper", method: Method = "ML",
                  transform: Literal["none", "log"] = "none") -> CrossoverFit:
    """Fit a crossover mixed model to :func:`crossover_frame` data.

    The fit is checked, not trusted (see :func:`_robust_mixedlm`); fitting
    problems, disagreements between optimizers and singular fits are recorded
    in ``notes``.

    Parameters
    ----------
    data
        Output of :func:`crossover_frame` (columns ``y``, ``treatment``,
        ``sequence``, ``period``, ``carryover``, ``patient_id``).
    model
        ``"paper"`` (treatment + sequence + carry-over), ``"period"`` (the
        standard treatment + period + sequence model) or ``"no_carryover"``.
    method
        ``"ML"`` (Stata's default, used by the report) or ``"REML"``.
    transform
        ``"log"`` fits ``log(y)`` (``log(y + 1)`` if some ``y`` is 0).
    """
    if model not in FORMULAS:
        raise ValueError(f"model must be one of {', '.join(FORMULAS)}, not {model!r}")
    if method not in ("ML", "REML"):
        raise ValueError(f"method must be 'ML' or 'REML', not {method!r}")
    frame = data.copy()
    notes: list[str] = []
    if not isinstance(frame["treatment"].dtype, pd.CategoricalDtype):
        frame["treatment"] = pd.Categorical(frame["treatment"])
    levels = list(frame["treatment"].cat.categories)
    missing_groups = [t for t in levels if not (frame["treatment"] == t).any()]
    if missing_groups:
        raise ValueError(f"no data for treatment(s) {', '.join(missing_groups)}: the model cannot be fitted")
    transform_label = "none"
    if transform == "log":
        if (frame["y"] < 0).any():
            raise ValueError("log transform of a negative outcome")
        if (frame["y"] == 0).any():
            frame["y"] = np.log(frame["y"] + 1)
            transform_label = "log(y + 1)"
        else:
            frame["y"] = np.log(frame["y"])
            transform_label = "log(y)"
    formula = "y ~ " + FORMULAS[model].format(treatment=f"C(treatment, Treatment({levels[0]!r}))")
    result, fit_notes = _robust_mixedlm(formula, frame, reml=(method == "REML"))
    notes += fit_notes
    return CrossoverFit(model=model, method=method, formula=formula, data=frame, result=result, notes=notes,
                        transform=transform_label)


def fit_with_normality_check(data: pd.DataFrame, model: ModelName = "paper", method: Method = "ML",
                             alpha: float = 0.05) -> CrossoverFit:
    """The paper's rule: fit, test the residuals, refit on the log scale if Shapiro-Wilk P < ``alpha``."""
    fit = fit_crossover(data, model, method)
    if fit.residual_normality()["p"] < alpha:
        refit = fit_crossover(data, model, method, transform="log")
        refit.notes.insert(0, f"residuals not normal (Shapiro-Wilk P {fmt.p_equals(fit.residual_normality()['p'])}); "
                              f"refitted on the {refit.transform} scale")
        return refit
    return fit


def sequence_by_treatment_test(data: pd.DataFrame) -> dict[str, float]:
    """Likelihood-ratio test of the sequence x treatment interaction (ML fits, as LR tests require).

    Compares ``treatment + sequence`` with ``treatment * sequence``; in a
    three-period design the latter is the saturated model of the
    sequence-by-period cell means.
    """
    reduced = _ml_fit(data, "y ~ C(treatment) + C(sequence)")
    full = _ml_fit(data, "y ~ C(treatment) * C(sequence)")
    df = int(np.linalg.matrix_rank(full.model.exog) - np.linalg.matrix_rank(reduced.model.exog))
    statistic = max(0.0, 2 * (float(full.llf) - float(reduced.llf)))
    return {"lr_chi2": statistic, "df": df, "p": float(stats.chi2.sf(statistic, df))}


def _ml_fit(data: pd.DataFrame, formula: str):
    return _robust_mixedlm(formula, data, reml=False)[0]


def _gls_fixed_effects(result) -> np.ndarray:
    """Fixed effects implied by a fit's variance components (GLS with a random intercept)."""
    model = result.model
    X, y = np.asarray(model.exog), np.asarray(model.endog)
    sigma2, tau2 = float(result.scale), float(result.cov_re.iloc[0, 0])
    xtx, xty = X.T @ X, X.T @ y
    for rows in model.row_indices.values():
        # V_i^-1 = (I - gamma J) / sigma2 with gamma = tau2 / (sigma2 + n_i tau2) (Sherman-Morrison)
        gamma = tau2 / (sigma2 + len(rows) * tau2)
        sx, sy = X[rows].sum(axis=0), y[rows].sum()
        xtx -= gamma * np.outer(sx, sx)
        xty -= gamma * sx * sy
    return np.linalg.solve(xtx, xty)


def _robust_mixedlm(formula: str, data: pd.DataFrame, reml: bool):
    """Fit a random-intercept MixedLM and check the answer; returns (result, notes).

    The first optimizer's fit is accepted only if it converged, its patient
    variance is not at the boundary, and its fixed effects equal the GLS
    solution for its own variance components (with ``lbfgs`` a tiny variance
    can leave the fixed effects wrong while convergence is reported).
    Otherwise every optimizer of :data:`_OPTIMIZERS` is tried and the highest
    (restricted) log-likelihood kept.
    """
    notes: list[str] = []
    fits = []
    for optimizer in _OPTIMIZERS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = smf.mixedlm(formula, data, groups=data["patient_id"]).fit(reml=reml, method=[optimizer])
            except (np.linalg.LinAlgError, ValueError) as err:
                notes.append(f"optimizer {optimizer} failed ({err}); the other optimizers were tried")
                continue
        messages = sorted({str(w.message).split("\n")[0] for w in caught})
        boundary = float(result.cov_re.iloc[0, 0]) < 1e-6 * max(float(result.scale), 1e-12)
        consistent = np.allclose(_gls_fixed_effects(result), result.fe_params.to_numpy(), rtol=1e-5,
                                 atol=1e-8 * max(1.0, float(np.abs(result.model.endog).max())))
        fits.append((float(result.llf), optimizer, result, messages, bool(result.converged)))
        if result.converged and consistent and not boundary and not messages:
            break
        if not consistent:
            notes.append(f"optimizer {optimizer}: fixed effects inconsistent with its variance estimates; "
                         "the other optimizers were tried")
    if not fits:
        raise RuntimeError(f"could not fit {formula}: {'; '.join(notes)}")
    converged = [f for f in fits if f[4]] or fits
    llf, optimizer, result, messages, ok = max(converged, key=lambda f: f[0])
    if not ok:
        notes.append("no optimizer converged; the best non-converged fit is shown")
    notes += [f"{optimizer}: {m}" for m in messages if "converg" in m.lower() or "boundary" in m.lower()]
    if len(converged) > 1:
        spread = max(f[0] for f in converged) - min(f[0] for f in converged)
        if spread > 1e-3:
            notes.append(f"optimizers disagreed (log-likelihoods differ by {spread:.3g}); kept {optimizer}")
    if float(result.cov_re.iloc[0, 0]) < 1e-8 * max(float(result.scale), 1e-12):
        notes.append("singular fit: the patient variance is estimated at zero")
    return result, notes


# --------------------------------------------------------------------------- descriptives

# --------------------------------------------------------------------------- planning

def crossover_sample_size(difference: float, sd: float, correlation: float, alpha: float, power: float) -> dict:
    """Patients needed for a two-treatment within-patient comparison (normal approximation and paired t).

    The SD of a within-patient difference is ``sd * sqrt(2 * (1 - correlation))``;
    ``n = ((z_{1-alpha/2} + z_{power}) * sd_diff / difference) ** 2``, rounded
    up; the paired-t version is the smallest ``n`` that meets the same
    requirement with t quantiles on ``n - 1`` df.

    >>> crossover_sample_size(57, 38, 0.5, 0.02, 0.90)["n_normal"]
    6
    """
    sd_difference = sd * math.sqrt(2 * (1 - correlation))
    z_alpha, z_power = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    exact = ((z_alpha + z_power) * sd_difference / difference) ** 2
    n_t = 2  # smallest n whose paired-t requirement, on n - 1 df, it meets
    while ((stats.t.ppf(1 - alpha / 2, n_t - 1) + stats.t.ppf(power, n_t - 1)) * sd_difference / difference) ** 2 > n_t:
        n_t += 1
    return {"sd_difference": sd_difference, "n_normal_exact": float(exact), "n_normal": math.ceil(exact), "n_t": n_t}


def sd_for_sample_size(n: int, difference: float, correlation: float, alpha: float, power: float) -> float:
    """The per-period SD for which the normal-approximation formula gives exactly ``n`` patients.

    Inverts :func:`crossover_sample_size`; used to show which SD a published
    sample size implies.

    >>> round(sd_for_sample_size(6, 57, 0.5, 0.02, 0.90), 1)
    38.7
    """
    z_alpha, z_power = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    return float(difference * math.sqrt(n) / (z_alpha + z_power) / math.sqrt(2 * (1 - correlation)))


# --------------------------------------------------------------------------- binary outcomes: ketapain_lib.stats.glmm


# --------------------------------------------------------------------------- other comparisons of the paper

def planning_sample_size() -> pd.DataFrame:
    """The paper's planning calculation, redone from its published inputs.

    Inputs (published-results file): the difference to detect, the pilot SD,
    two-sided alpha, power and the within-patient correlation. Returns one row
    per method (normal approximation, paired t) with the patients needed,
    beside the published number, and the SD that would have given that number.
    """
    from .published import published_value as pv

    difference, sd = pv("samplesize_difference"), pv("samplesize_pilot_auc28_sd")
    alpha, power, correlation = pv("samplesize_alpha"), pv("samplesize_power"), pv("samplesize_correlation")
    published_n = int(pv("samplesize_n"))
    result = crossover_sample_size(difference, sd, correlation, alpha, power)
    implied = sd_for_sample_size(published_n, difference, correlation, alpha, power)
    return pd.DataFrame([
        {"method": "normal approximation", "difference": difference, "sd": sd, "correlation": correlation,
         "alpha": alpha, "power": power, "n_reproduced": result["n_normal"], "n_published": published_n,
         "sd_implied_by_published_n": implied},
        {"method": "paired t", "difference": difference, "sd": sd, "correlation": correlation,
         "alpha": alpha, "power": power, "n_reproduced": result["n_t"], "n_published": published_n,
         "sd_implied_by_published_n": implied},
    ])
