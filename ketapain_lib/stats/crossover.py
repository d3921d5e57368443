"""The crossover statistics of the paper: random-effects models, their tests, effect sizes and checks.

The paper's model (Methods, "Statistical Analysis") for a continuous endpoint
``y`` measured once per patient and period is a linear mixed model with
treatment, sequence and first-order carry-over as fixed effects and a random
intercept per patient::

    y_ij = mu + tau_treatment(ij) + gamma_sequence(i) + lambda_carryover(ij) + b_i + e_ij
    b_i ~ N(0, sigma2_patient),  e_ij ~ N(0, sigma2_residual)

Conventions chosen where the paper is silent:

* **Carry-over** is the treatment of the previous period of the schedule,
  coded by ``carryover`` (:data:`ketapain_lib.design.CARRYOVER_CODING`): every
  previous treatment its own level and ``none`` in period 1, as Stata's
  ``pkshape`` codes it, or placebo carrying nothing. Aliased terms are
  dropped, as lme4 drops them, with a note.
* **Estimation** by maximum likelihood (``method="ML"``), the default of
  Stata 13's ``mixed`` that the authors used, with Wald z (pairwise) and Wald
  chi-square (omnibus) tests, as Stata reports them. REML fits add
  Kenward-Roger and Satterthwaite tests (:meth:`CrossoverFit.small_sample`).
* **Pairwise comparisons** are built as explicit contrasts of the treatment
  coefficients (statsmodels' ``t_test_pairwise`` does not handle this
  design). P values are reported raw and Sidak-adjusted for the three
  comparisons, ``1 - (1 - p)^3``; the paper applies Sidak when the omnibus
  P < 0.05.
* **Effect size**: the contrast divided by the SD of a within-patient
  difference, ``sqrt(2 sigma2_residual)``, the scale that reproduces the
  width of the paper's intervals (about 0.9 with 20 patients), with the
  contrast's CI divided by the same SD (treated as known); the contrast over
  the total SD ``sqrt(sigma2_patient + sigma2_residual)`` is kept beside it.
* **ICC** = ``sigma2_patient / (sigma2_patient + sigma2_residual)``.
* **Residual normality**: Shapiro-Wilk on the conditional residuals
  (observed minus fixed plus predicted random effects); if P < 0.05, the
  report refits on ``log(y)`` (``log(y + 1)`` when some ``y`` is 0).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from .. import formatting as fmt
from ..rawdata.schema import TREATMENTS
from . import lmm_core, small_sample
from .crossover_data import crossover_frame, crossover_frames, crossover_frames_by  # noqa: F401  (re-exported)
from .crossover_data import no_carryover_label
from .descriptives import shapiro_wilk
from .formulas import Column, model_frame, named_notes, readable_term, treatment_design  # noqa: F401  (re-exported)

ModelName = Literal["paper", "period", "no_carryover", "treatment_only"]

#: Right-hand sides of the models the report fits.
FORMULAS: dict[str, str] = {
    "paper": "{treatment} + C(sequence) + C(carryover, Treatment('none'))",
    "period": "{treatment} + C(period) + C(sequence)",
    "no_carryover": "{treatment} + C(sequence)",
    "treatment_only": "{treatment}",
}
#: The terms of each model (a factor, or two for an interaction), from which the design is built from the data;
#: :data:`FORMULAS` shows them. Factors without a reference here take their first level as the reference.
MODEL_TERMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "paper": (("treatment",), ("sequence",), ("carryover",)),
    "period": (("treatment",), ("period",), ("sequence",)),
    "no_carryover": (("treatment",), ("sequence",)),
    "treatment_only": (("treatment",),),
}
#: The paper's three pairwise comparisons, as (first, second): estimate = first - second. The paper's sign
#: convention: each active treatment minus placebo, and ketamine minus ketamine/magnesium (its three published
#: effect sizes are consistent only under it: (K - P) - (KM - P) = K - KM).
PAIRS: tuple[tuple[str, str], ...] = (
    (TREATMENTS[1], TREATMENTS[0]),
    (TREATMENTS[2], TREATMENTS[0]),
    (TREATMENTS[1], TREATMENTS[2]),
)
#: Confidence level of every interval of the report, and its normal quantile.
from ..design import ALPHA, CI_LEVEL, Method  # noqa: E402  (defined once)
#: The standard normal quantile of the confidence level (the Wald intervals' half-width in standard errors).
Z_CI = float(stats.norm.ppf(0.5 + CI_LEVEL / 2))


def sidak(p: float | np.ndarray, comparisons: int = 3) -> float | np.ndarray:
    """Sidak-adjusted P value of each ``p``, one of a family of ``comparisons`` tests: ``1 - (1 - p) ** comparisons``.

    statsmodels' ``multipletests(method="sidak")`` adjusts a whole family at once; a Sidak-adjusted P depends
    only on its own P and the size of the family, so each ``p`` is adjusted in a family of ``comparisons``
    copies of itself (:meth:`CrossoverFit.pairwise` adjusts its family directly).

    >>> round(sidak(0.02), 6)
    0.058808
    """
    from statsmodels.stats.multitest import multipletests

    values = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore"):  # statsmodels' log1p(-p) at p = 1
        adjusted = np.array([multipletests(np.full(comparisons, value), method="sidak")[1][0]
                             for value in values.ravel()]).reshape(values.shape)
    return float(adjusted) if adjusted.ndim == 0 else adjusted


@dataclass
class CrossoverFit:
    """A fitted crossover mixed model with the tests the paper reports.

    Build it with :func:`fit_crossover`. ``core`` is the profiled-likelihood
    fit (:func:`ketapain_lib.stats.lmm_core.fit_random_intercept`); ``names``
    are the design's columns, of which ``core.kept`` were estimable. ``notes``
    lists every fitting problem met (singular fit, a variance that cannot be
    estimated, aliased columns dropped), to be shown with the results.
    """

    model: str
    method: Method
    formula: str
    data: pd.DataFrame
    core: lmm_core.RandomInterceptFit
    names: list[str]
    X: np.ndarray
    notes: list[str] = field(default_factory=list)
    transform: str = "none"
    columns: list[Column] = field(default_factory=list)

    # ---- variance components
    @property
    def patient_variance(self) -> float:
        """Between-patient variance (random intercept), in squared outcome units."""
        return float(self.core.s2_patient)

    @property
    def residual_variance(self) -> float:
        """Within-patient (residual) variance, in squared outcome units."""
        return float(self.core.s2_residual)

    @property
    def loglik(self) -> float:
        """Log-likelihood (REML or ML, as the fit), with R's constants."""
        return float(self.core.loglik)

    @property
    def icc(self) -> float:
        """Intraclass correlation: between-patient share of the total variance."""
        total = self.patient_variance + self.residual_variance
        return self.patient_variance / total if total > 0 else float("nan")

    @property
    def within_difference_sd(self) -> float:
        """SD of a within-patient difference between two periods, ``sqrt(2 sigma2_residual)``: the paper's scale."""
        return math.sqrt(2 * self.residual_variance)

    @property
    def total_sd(self) -> float:
        """SD of one observation around its mean: the denominator of the effect sizes."""
        return math.sqrt(self.patient_variance + self.residual_variance)

    # ---- fixed effects
    @property
    def levels(self) -> list[str]:
        """Treatment levels, the reference (first) included."""
        return list(self.data["treatment"].cat.categories)

    @property
    def kept_names(self) -> list[str]:
        """The estimable columns of the design, in the order of ``core.beta``."""
        return [self.names[i] for i in self.core.kept]

    def _column(self, level) -> int:
        """The index of the design column of treatment ``level`` (found by level, not by name)."""
        return next(i for i, column in enumerate(self.columns)
                    if column.factors == ("treatment",) and column.levels == (level,))

    def _within(self, L) -> np.ndarray:
        """Whether each row of ``L`` (over all columns) can be estimated with a standard error: always, unless the
        patient effect is confounded with the fixed effects, when only within-patient contrasts can."""
        L = np.atleast_2d(L)
        if not self.core.within_only:
            return np.ones(len(L), dtype=bool)
        return lmm_core.within_patient(self.core, L[:, list(self.core.kept)])

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The pairwise comparisons, (first, second): the paper's three for its treatments, else all pairs."""
        if self.levels == list(TREATMENTS):
            return list(PAIRS)
        return [(b, a) for i, a in enumerate(self.levels) for b in self.levels[i + 1:]]

    def fixed_effects(self) -> pd.DataFrame:
        """Coefficients with SE from (X'V^-1X)^-1, Wald z, P and 95% CI (aliased columns left out)."""
        params, se = self.core.beta, self.core.se
        if self.core.within_only:      # the between-patient terms (intercept, sequence) have no standard error
            se = np.where(lmm_core.within_patient(self.core, np.eye(len(params))), se, np.nan)
        z = params / se
        return pd.DataFrame({"term": self.kept_names, "estimate": params, "se": se, "z": z,
                             "p": 2 * stats.norm.sf(np.abs(z)), "ci_low": params - Z_CI * se,
                             "ci_high": params + Z_CI * se})

    def _contrast(self, first: str, second: str) -> np.ndarray:
        vector = np.zeros(len(self.names))
        for treatment, sign in ((first, 1.0), (second, -1.0)):
            if treatment != self.levels[0]:
                vector[self._column(treatment)] += sign
        return vector

    def pairwise(self) -> pd.DataFrame:
        """The pairwise treatment differences (first - second), raw and Sidak P, effect sizes.

        Columns: ``comparison``, ``estimate`` (outcome units), ``se``, ``z``,
        ``p``, ``p_sidak``, ``ci_low``, ``ci_high``; ``effect_size``,
        ``es_ci_low``, ``es_ci_high`` in units of the SD of a within-patient
        difference (the paper's scale, :attr:`within_difference_sd`), and
        ``es_total_sd*`` in units of the total SD (the alternative); for a
        REML fit also ``df_kr`` and ``p_kr``, the Kenward-Roger t test.
        """
        from statsmodels.stats.multitest import multipletests

        rows = []
        for first, second in self.pairs:
            vector = self._contrast(first, second)
            kept = vector[list(self.core.kept)]
            if not np.allclose(np.delete(vector, list(self.core.kept)), 0.0):
                raise ValueError(f"{first} vs {second} involves an aliased (dropped) column: not estimable")
            estimate = float(kept @ self.core.beta)
            se = float(np.sqrt(kept @ self.core.cov_beta @ kept)) if self._within(vector)[0] else math.nan
            z = estimate / se
            p = float(2 * stats.norm.sf(abs(z)))
            low, high = estimate - Z_CI * se, estimate + Z_CI * se
            scale, total = self.within_difference_sd, self.total_sd
            row = {"comparison": f"{first} vs {second}", "first": first, "second": second,
                   "estimate": estimate, "se": se, "z": z, "p": p, "p_sidak": math.nan,
                   "ci_low": low, "ci_high": high, "effect_size": estimate / scale,
                   "es_ci_low": low / scale, "es_ci_high": high / scale, "es_total_sd": estimate / total,
                   "es_total_sd_ci_low": low / total, "es_total_sd_ci_high": high / total}
            if self.method == "REML" and (math.isfinite(self.patient_variance) or self.core.within_only) \
                    and math.isfinite(se):
                kr = small_sample.kenward_roger(self.core, vector)
                row.update({"df_kr": float(kr.ddf), "p_kr": float(kr.p)})
            rows.append(row)
        table = pd.DataFrame(rows)
        with np.errstate(divide="ignore"):  # statsmodels' log1p(-p) at p = 1
            table["p_sidak"] = multipletests(table["p"].to_numpy(), method="sidak")[1]
        return table

    def _treatment_rows(self) -> np.ndarray:
        rows = np.zeros((len(self.levels) - 1, len(self.names)))
        for i, level in enumerate(self.levels[1:]):
            rows[i, self._column(level)] = 1.0
        return rows

    def omnibus(self) -> dict[str, float]:
        """Wald chi-square test that all treatments have equal means (2 df for three treatments)."""
        return small_sample.wald_chi2(self.core, self._treatment_rows())

    def omnibus_kr(self) -> dict[str, float]:
        """Kenward-Roger F test that all treatments have equal means (REML fits only)."""
        test = small_sample.kenward_roger(self.core, self._treatment_rows())
        return {"F": float(test.F), "ndf": int(test.ndf), "ddf": float(test.ddf), "p": float(test.p)}

    def refit(self, method: Method) -> "CrossoverFit":
        """The same model on the same (possibly log-transformed) data, estimated by ``method``."""
        # the same design and data: the core refits from its sufficient statistics, bitwise as a new fit would
        core = lmm_core.refit(self.core, reml=(method == "REML"))
        return replace(self, method=method, core=core,
                       notes=[note for note in self.notes if note not in self.core.notes] + list(core.notes))

    def small_sample(self) -> pd.DataFrame:
        """Kenward-Roger and Satterthwaite tests of a REML fit: the omnibus F test and each pairwise contrast.

        Columns: ``test``, ``F_kr``, ``ndf``, ``ddf_kr``, ``p_kr``,
        ``ddf_satterthwaite``, ``p_satterthwaite`` (pbkrtest's ``KRmodcomp``
        and lmerTest's ``contest``). A variance that cannot be estimated
        leaves the row empty; the reason is in :attr:`notes`.
        """
        if self.method != "REML":
            raise ValueError("small-sample degrees of freedom need a REML fit (use fit.refit('REML'))")
        tests = [("treatment (omnibus)", self._treatment_rows())]
        tests += [(f"{first} vs {second}", self._contrast(first, second)) for first, second in self.pairs]
        rows = []
        for name, L in tests:
            row = {"test": name, "F_kr": math.nan, "ndf": int(np.atleast_2d(L).shape[0]), "ddf_kr": math.nan,
                   "p_kr": math.nan, "ddf_satterthwaite": math.nan, "p_satterthwaite": math.nan}
            if math.isfinite(self.patient_variance) or (self.core.within_only and self._within(L).all()):
                kr, sat = small_sample.kenward_roger(self.core, L), small_sample.satterthwaite_df(self.core, L)
                row.update({"F_kr": float(kr.F), "ddf_kr": float(kr.ddf), "p_kr": float(kr.p),
                            "ddf_satterthwaite": float(sat.ddf), "p_satterthwaite": float(sat.p)})
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def resid(self) -> np.ndarray:
        """Conditional residuals: observed minus fixed effects minus each patient's predicted intercept (BLUP)."""
        y = self.data["y"].to_numpy(dtype=float)
        marginal = y - self.X[:, list(self.core.kept)] @ self.core.beta
        codes, _ = pd.factorize(self.data["patient_id"], sort=True)
        counts = np.bincount(codes).astype(float)
        sums = np.bincount(codes, marginal)
        s2_b = self.patient_variance if math.isfinite(self.patient_variance) else 0.0
        shrunk = s2_b * sums / (self.residual_variance + counts * s2_b)
        return marginal - shrunk[codes]

    def residual_normality(self) -> dict[str, float]:
        """Shapiro-Wilk test of the conditional residuals (sorted first: the test sees no row order)."""
        w, p = shapiro_wilk(np.sort(self.resid))
        return {"W": w, "p": p}

    def to_frame(self) -> pd.DataFrame:
        """One-row summary: model, method, omnibus test, ICC, variance components, normality."""
        omnibus, normality = self.omnibus(), self.residual_normality()
        return pd.DataFrame([{
            "model": self.model, "method": self.method, "transform": self.transform, "n_obs": len(self.data),
            "n_patients": self.data["patient_id"].nunique(), "omnibus_chi2": omnibus["chi2"],
            "omnibus_df": omnibus["df"], "omnibus_p": omnibus["p"], "patient_variance": self.patient_variance,
            "residual_variance": self.residual_variance, "icc": self.icc, "loglik": self.loglik,
            "shapiro_w": normality["W"], "shapiro_p": normality["p"], "notes": "; ".join(self.notes),
        }])


def fit_crossover(data: pd.DataFrame, model: ModelName = "paper", method: Method = "ML",
                  transform: Literal["none", "log"] = "none") -> CrossoverFit:
    """Fit a crossover mixed model to :func:`crossover_frame` data.

    The model is fitted by profiled likelihood
    (:func:`ketapain_lib.stats.lmm_core.fit_random_intercept`, checked against
    statsmodels' MixedLM and R's lme4 in the tests); singular fits, variances
    that cannot be estimated and aliased columns are recorded in ``notes``.

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
    if transform not in ("none", "log"):
        raise ValueError(f"transform must be 'none' or 'log', not {transform!r}")
    frame = model_frame(data, [factor for term in MODEL_TERMS[model] for factor in term])
    notes: list[str] = []
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
    core, columns, X = _fit_terms(MODEL_TERMS[model], frame, reml=(method == "REML"))
    notes += named_notes(core, columns)
    return CrossoverFit(model=model, method=method, formula=formula, data=frame, core=core,
                        names=[column.name for column in columns], X=X, notes=notes, transform=transform_label,
                        columns=columns)


def fit_with_normality_check(data: pd.DataFrame, model: ModelName = "paper", method: Method = "ML",
                             alpha: float = ALPHA) -> CrossoverFit:
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
    frame = model_frame(data, ["treatment", "sequence"])
    reduced, _, _ = _fit_terms((("treatment",), ("sequence",)), frame, reml=False)
    full, _, _ = _fit_terms((("treatment", "sequence"),), frame, reml=False)
    df = int(full.rank - reduced.rank)
    statistic = max(0.0, 2 * (float(full.loglik) - float(reduced.loglik)))
    return {"lr_chi2": statistic, "df": df, "p": float(stats.chi2.sf(statistic, df))}


def _fit_terms(terms, data: pd.DataFrame, reml: bool):
    """The design of ``terms`` (treatment coding, built from the data) and its random-intercept fit by patient."""
    levels = list(data["treatment"].cat.categories)
    references = {"treatment": levels[0], "carryover": no_carryover_label(levels)}
    y, X, columns = treatment_design(data, "y", terms, references)
    core = lmm_core.fit_random_intercept(y, X, data["patient_id"].astype(str).to_numpy(), reml=reml)
    return core, columns, X


def mixedlm_check(data: pd.DataFrame, model: ModelName = "paper", method: Method = "ML") -> pd.DataFrame:
    """The model of :func:`fit_with_normality_check`, fitted again by statsmodels' ``MixedLM``: an independent check.

    statsmodels fits the same design (the estimable columns of the library's, same response, same
    transform) with a random intercept per patient, by ``method``, with its own optimiser (BFGS). One row per
    fixed effect: ``term`` (the design's column name), ``label`` (as a reader names it), ``estimate`` (the library's), ``estimate_statsmodels``, ``estimate_difference``,
    ``se`` (the library's), ``se_statsmodels``, ``se_difference`` and ``se_statsmodels_fixed_block``.

    The estimates agree to the optimisers' tolerance (``tests/test_statsmodels_path.py``: 1e-6 of the largest).
    The standard errors need not: the library's, as lme4's and Stata's ``mixed``, are
    ``sqrt(diag((X' V^-1 X)^-1))`` at the estimated variances, which treats the variances as known;
    statsmodels inverts its full observed Hessian, fixed effects and variance parameters together. When
    each patient has every period the two blocks are orthogonal and the SEs agree; when periods are missing
    the cross-derivatives of the log-likelihood in the fixed effects and the variances are not zero, and
    statsmodels' SEs differ. ``se_statsmodels_fixed_block`` inverts the fixed-effect block of statsmodels'
    own Hessian alone: it gives back the library's SE, which is the explanation of the difference.
    """
    import statsmodels.api as sm

    fit = fit_with_normality_check(data, model, method)
    kept = list(fit.core.kept)
    exog = pd.DataFrame(fit.X[:, kept], columns=fit.kept_names)
    mixed = sm.MixedLM(fit.data["y"].to_numpy(dtype=float), exog,
                       groups=fit.data["patient_id"].astype(str).to_numpy())
    with warnings.catch_warnings():
        # BFGS reports that it did not reach a gradient of 1e-12, which is at machine precision
        warnings.simplefilter("ignore")
        result = mixed.fit(reml=(method == "REML"), method=["bfgs"], gtol=1e-12, maxiter=2000)
        hessian, _ = mixed.hessian(result.params_object)
    p = len(kept)
    try:  # statsmodels' covariance is inv(-hessian); its fixed-effect block alone
        fixed_block = np.linalg.inv(-hessian[:p, :p])
    except np.linalg.LinAlgError:
        fixed_block = np.full((p, p), np.nan)
    estimate_sm, se_sm = result.fe_params.to_numpy(), np.asarray(result.bse_fe)
    labels = [readable_term(fit.columns[i].name, fit.columns[i]) for i in kept]
    return pd.DataFrame({"term": fit.kept_names, "label": labels, "estimate": fit.core.beta, "estimate_statsmodels": estimate_sm,
                         "estimate_difference": estimate_sm - fit.core.beta, "se": fit.core.se,
                         "se_statsmodels": se_sm, "se_difference": se_sm - fit.core.se,
                         "se_statsmodels_fixed_block": np.sqrt(np.diag(fixed_block))})
