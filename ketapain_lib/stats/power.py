"""The design audited: the power the achieved trial had, exactly, under its own variance components.

The achieved design (the same patients' sequences, hence periods and carry-over) is analysed within
patients: patient fixed effects + treatment + carry-over, ordinary least squares. For a complete crossover
this gives the mixed model's treatment contrast, and its t statistic for ketamine against placebo has an
exact noncentral t distribution: ``df = observations - patients - covariates`` and noncentrality
``delta / (sigma_residual * sqrt(g))``, where ``g`` is the contrast's diagonal entry of the inverse
within-patient Gram matrix. The patient variance drops out (the fixed effects absorb it). Power is
``P(|T| > t_crit)``: :func:`exact_power`, a closed form whose cost does not grow with the simulations.

:func:`simulated_power` draws the same trials (``y = mu + effect + b_patient + e``) and counts rejections: the
Monte Carlo estimate of the same number, kept as the independent check of the closed form (the tests
compare them within Monte Carlo error) and for designs a reader may want to perturb. The patient effects
are absorbed by centring within patient (Frisch-Waugh-Lovell), so both grow linearly with the patients.
Simulations run in chunks over the cores with joblib, each chunk seeded from one ``SeedSequence``: the
result does not depend on the number of workers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import stats

from ..design import ALPHA, REFERENCE_TREATMENT
from ..rawdata.schema import TREATMENTS
from .formulas import treatment_design

SIMULATIONS = 4000
CHUNKS = 8
SEED = 20150610


def canonical_design(design: pd.DataFrame) -> pd.DataFrame:
    """The design's rows in an order that depends on the design only, not on the patients' ids or file order.

    Patients are ordered by their schedule (sequence, then the periods they
    have, then the treatments and carry-overs in period order), each patient's
    rows by period. Two patients with the same schedule are interchangeable
    in the simulation, so the draws they receive give the same result either
    way round: the simulated power is a function of the design alone.
    """
    rows = design[["patient_id", "period", "sequence", "treatment", "carryover"]].astype(
        {"patient_id": str, "sequence": str, "treatment": str, "carryover": str})
    rows = rows.sort_values(["patient_id", "period"], kind="stable").reset_index(drop=True)
    # one row per patient: sequence, then per period (in order) whether it is there, its treatment, its carry-over
    periods = np.sort(pd.unique(rows["period"]))
    wide = rows.pivot(index="patient_id", columns="period", values=["treatment", "carryover"]).reindex(
        columns=periods, level=1)
    schedule = pd.concat([rows.groupby("patient_id", sort=True)["sequence"].first(),
                          wide["treatment"].notna().astype(int).add_prefix("has_"),
                          wide.fillna("").set_axis([f"{a}_{b}" for a, b in wide.columns], axis=1)], axis=1)
    order = schedule.sort_values(list(schedule.columns), kind="stable").index
    rank = pd.Series(np.arange(len(order)), index=order)
    rows = rows.assign(_rank=rows["patient_id"].map(rank).to_numpy()).sort_values(["_rank", "period"], kind="stable")
    return rows.drop(columns="_rank").reset_index(drop=True)


def design_matrix(design: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Within-patient covariates (treatment, carry-over; first column ketamine vs placebo) and patient codes.

    The patient dummies of the fixed-effects model are not built: :func:`_within` absorbs them, and at
    2,000 patients they would be a 6,000 x 2,000 matrix.
    """
    codes = pd.factorize(design["patient_id"].astype(str), sort=False)[0]  # order of appearance: not the ids
    carried = set(design["carryover"].astype(str))
    # carry-over levels as coded (design.CARRYOVER_CODING): "none" is the reference
    carry_levels = [t for t in TREATMENTS if t in carried]
    factors = pd.DataFrame({
        "treatment": pd.Categorical(design["treatment"].astype(str), categories=list(TREATMENTS)),
        "carryover": pd.Categorical(design["carryover"].astype(str), categories=["none", *carry_levels])})
    _, X, _ = treatment_design(factors, None, (("treatment",), ("carryover",)),
                               {"treatment": TREATMENTS[0], "carryover": "none"})
    return np.ascontiguousarray(X[:, 1:]), codes  # the intercept is absorbed with the patients


def _within_gram(design: pd.DataFrame) -> tuple[float, int]:
    """``g``, the ketamine-vs-placebo entry of the inverse within-patient Gram matrix, and the residual df."""
    covariates, codes = design_matrix(design)
    centred = _within(covariates, codes, codes.max() + 1)
    gram_inverse = np.linalg.pinv(np.einsum("ij,ik->jk", centred, centred))  # einsum: no BLAS-dependent sums
    df = len(codes) - (codes.max() + 1) - np.linalg.matrix_rank(centred)
    return float(gram_inverse[0, 0]), int(df)


def exact_power(design: pd.DataFrame, deltas, sd_residual: float, alpha: float = ALPHA) -> np.ndarray:
    """Exact power of the within-patient t test of ketamine vs placebo for each true benefit in ``deltas``.

    ``deltas`` and ``sd_residual`` in pain score-days. The noncentral t distribution of the statistic (see
    the module's docstring) gives the two-sided rejection probability at level ``alpha``.

    >>> two_periods = pd.DataFrame({"patient_id": np.repeat(np.arange(10), 2), "period": [1, 2] * 10,
    ...     "sequence": "PK", "treatment": ["placebo", "ketamine"] * 10, "carryover": "none"})
    >>> round(float(exact_power(two_periods, [0.0], 1.0)[0]), 3)   # no benefit: the test's level
    0.05
    """
    g, df = _within_gram(canonical_design(design))
    return two_sided_t_power(np.asarray(deltas, dtype=float) / (sd_residual * np.sqrt(g)), df, alpha)


def two_sided_t_power(noncentrality, df: float, alpha: float = ALPHA):
    """P(|T| > t_crit) for T ~ noncentral t(``df``, ``noncentrality``): the power of a two-sided t test at
    level ``alpha``, by statsmodels' ``TTestPower`` (``effect_size=noncentrality, nobs=1, df=df``).

    statsmodels takes the lower tail from SciPy's noncentral t CDF, which is NaN beyond a noncentrality of
    about 7.6 at small ``df`` (the report's power curve stays below 7; a reader's design may not): there the
    same sum is computed with the lower tail as the upper tail of -T (``scipy.stats.nct.sf``).

    >>> round(float(two_sided_t_power(2.0, 9, 0.05)), 4)   # power.t.test(n = 10, delta = 2 / sqrt(10),
    0.4313
    >>> # type = "paired", strict = TRUE) in R
    """
    from statsmodels.stats.power import TTestPower

    noncentrality = np.asarray(noncentrality, dtype=float)
    value = np.asarray(TTestPower().power(effect_size=noncentrality, nobs=1, alpha=alpha, df=df,
                                          alternative="two-sided"), dtype=float)
    undefined = np.isnan(value) & ~np.isnan(noncentrality)
    if undefined.any():
        critical = stats.t.isf(alpha / 2, df)
        with np.errstate(over="ignore"):
            upper_tails = stats.nct.sf(critical, df, noncentrality) + stats.nct.sf(critical, df, -noncentrality)
        value = np.where(undefined, upper_tails, value)
    return value[()]


def _chunk(covariates: np.ndarray, patient_codes: np.ndarray, effects: np.ndarray, sd_patient: float,
           sd_residual: float, n: int, seed: np.random.SeedSequence, alpha: float) -> int:
    rng = np.random.default_rng(seed)
    n_obs, n_patients = covariates.shape[0], patient_codes.max() + 1
    y = (effects[:, None] + sd_patient * rng.standard_normal((n_patients, n))[patient_codes]
         + sd_residual * rng.standard_normal((n_obs, n)))
    # Frisch-Waugh-Lovell: the patient dummies are absorbed by centring y and the covariates within patient;
    # the treatment estimates, residuals and t tests are those of the full least-squares fit
    covariates = _within(covariates, patient_codes, n_patients)
    y = _within(y, patient_codes, n_patients)
    gram_inverse = np.linalg.pinv(covariates.T @ covariates)
    beta = gram_inverse @ (covariates.T @ y)
    residuals = y - covariates @ beta
    df = n_obs - n_patients - np.linalg.matrix_rank(covariates)
    sigma2 = (residuals**2).sum(axis=0) / df
    t = beta[0] / np.sqrt(sigma2 * gram_inverse[0, 0])  # column 0: ketamine vs placebo
    return int((np.abs(t) > stats.t.ppf(1 - alpha / 2, df)).sum())


def _within(values: np.ndarray, patient_codes: np.ndarray, n_patients: int) -> np.ndarray:
    """``values`` (rows = observations) minus their patient's mean; each run of a patient's rows summed at once."""
    counts = np.bincount(patient_codes, minlength=n_patients).astype(float)
    starts = np.flatnonzero(np.r_[True, patient_codes[1:] != patient_codes[:-1]])
    sums = np.zeros((n_patients, values.shape[1]))
    runs = np.add.reduceat(values, starts, axis=0)
    if len(starts) == n_patients:  # one run per patient (a canonical design): plain assignment
        sums[patient_codes[starts]] = runs
    else:
        np.add.at(sums, patient_codes[starts], runs)
    return values - (sums / counts[:, None])[patient_codes]


def simulated_power(design: pd.DataFrame, delta: float, sd_patient: float, sd_residual: float,
                    simulations: int = SIMULATIONS, seed: int = SEED, alpha: float = ALPHA,
                    n_jobs: int = -1) -> float:
    """Share of simulated trials (achieved design) that detect a true benefit ``delta`` of ketamine over placebo.

    The Monte Carlo estimate of :func:`exact_power` (which the report prints), kept as its check.

    ``design`` has ``patient_id``, ``treatment`` and ``carryover`` for every
    period (e.g. :func:`ketapain_lib.stats.crossover.crossover_frame` output).
    """
    return _simulate(canonical_design(design), delta, sd_patient, sd_residual, simulations, seed, alpha, n_jobs)


def _simulate(design: pd.DataFrame, delta: float, sd_patient: float, sd_residual: float, simulations: int,
              seed: int, alpha: float, n_jobs: int) -> float:
    covariates, codes = design_matrix(design)
    effects = np.where(design["treatment"].astype(str).to_numpy() == REFERENCE_TREATMENT, 0.0, -delta)
    seeds = np.random.SeedSequence(seed).spawn(CHUNKS)
    sizes = [simulations // CHUNKS + (i < simulations % CHUNKS) for i in range(CHUNKS)]
    # threads by default: the work is numpy, which releases the GIL, and no worker process outlives a
    # notebook's kernel; a joblib.parallel_backend context (loky, dask, ...) overrides the preference
    rejections = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_chunk)(covariates, codes, effects, sd_patient, sd_residual, size, child, alpha)
        for size, child in zip(sizes, seeds))
    return sum(rejections) / simulations


def power_curve(design: pd.DataFrame, deltas: np.ndarray, sd_residual: float) -> pd.DataFrame:
    """Exact power (:func:`exact_power`) for each true benefit in ``deltas`` (pain score-days)."""
    return pd.DataFrame({"delta": np.asarray(deltas, dtype=float), "power": exact_power(design, deltas, sd_residual)})


def detectable_difference(design: pd.DataFrame, sd_residual: float, power: float, alpha: float = ALPHA) -> float:
    """The smallest true benefit (pain score-days) that the achieved design detects with ``power`` (exact).

    >>> two_periods = pd.DataFrame({"patient_id": np.repeat(np.arange(10), 2), "period": [1, 2] * 10,
    ...     "sequence": "PK", "treatment": ["placebo", "ketamine"] * 10, "carryover": "none"})
    >>> round(detectable_difference(two_periods, 1.0, 0.8), 3)   # power.t.test(n=10, sd=sqrt(2), type="paired")
    1.409
    """
    from scipy import optimize

    g, df = _within_gram(canonical_design(design))
    scale = sd_residual * np.sqrt(g)

    def shortfall(noncentrality: float) -> float:
        return float(two_sided_t_power(noncentrality, df, alpha)) - power

    upper = 1.0
    while shortfall(upper) < 0:  # power grows with the noncentrality: bracket the root by doubling
        upper *= 2
    return float(optimize.brentq(shortfall, 0.0, upper, xtol=1e-12) * scale)
