"""The design audited: the power the achieved trial had, by simulation under its own variance components.

Each simulated trial keeps the achieved design (the same patients' sequences,
hence periods and carry-over) and draws
``y = mu + effect(treatment) + b_patient + e``, with ``b ~ N(0, sigma2_patient)``
and ``e ~ N(0, sigma2_residual)`` taken from the REML fit of the primary
model. Both active treatments get the same true benefit ``delta`` (pain
score-days, less pain than placebo). Each trial is analysed within patients
(patient fixed effects + treatment + carry-over, ordinary least squares),
which for a complete crossover gives the mixed model's treatment contrast
with exact t tests, and lets thousands of trials be solved as one matrix
product; the patient effects are absorbed by centring within patient
(Frisch-Waugh-Lovell), so the cost grows linearly with the patients. Power is the share of trials whose ketamine-vs-placebo test rejects
at the two-sided 5% level.

Simulations run in chunks spread over the cores with joblib, on threads by
default (so a cluster backend can take them unchanged, e.g.
``with joblib.parallel_backend("dask")``),
each chunk with its own seed spawned from one ``SeedSequence``: the result
does not depend on the number of workers. The report stores the results with
the rest of "beyond the paper" (:mod:`ketapain_lib.report.results`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import stats

from ..design import ALPHA, REFERENCE_TREATMENT
from ..rawdata.schema import TREATMENTS

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
    rows = rows.sort_values(["patient_id", "period"], kind="stable")
    schedule = rows.groupby("patient_id", sort=False).agg(
        sequence=("sequence", "first"), periods=("period", tuple), treatments=("treatment", tuple),
        carryovers=("carryover", tuple))
    keys = zip(schedule["sequence"], schedule["periods"], schedule["treatments"], schedule["carryovers"],
               schedule.index)
    order = [pid for *_, pid in sorted(keys, key=lambda key: key[:4])]
    rank = {pid: i for i, pid in enumerate(order)}
    rows = rows.assign(_rank=rows["patient_id"].map(rank)).sort_values(["_rank", "period"], kind="stable")
    return rows.drop(columns="_rank").reset_index(drop=True)


def design_matrix(design: pd.DataFrame) -> tuple[np.ndarray, int]:
    """Within-patient design (patient dummies, treatment, carry-over) and the column of ketamine vs placebo."""
    ids = design["patient_id"].astype(str)
    # one column per patient in order of appearance: with a canonical design, the matrix does not see the ids
    patients = pd.get_dummies(pd.Categorical(ids, categories=pd.unique(ids)), dtype=float)
    treatment = pd.get_dummies(pd.Categorical(design["treatment"].astype(str), categories=list(TREATMENTS)),
                               dtype=float).iloc[:, 1:]
    # carry-over levels as coded (design.CARRYOVER_CODING): "none" is the reference
    carried = set(design["carryover"].astype(str))
    carry = pd.get_dummies(pd.Categorical(design["carryover"].astype(str),
                                          categories=["none", *(t for t in TREATMENTS if t in carried)]),
                           dtype=float).iloc[:, 1:]
    X = np.column_stack([patients.to_numpy(), treatment.to_numpy(), carry.to_numpy()])
    return X, patients.shape[1]  # first treatment column: ketamine vs placebo


def _chunk(X: np.ndarray, column: int, patient_codes: np.ndarray, effects: np.ndarray, sd_patient: float,
           sd_residual: float, n: int, seed: np.random.SeedSequence, alpha: float) -> int:
    rng = np.random.default_rng(seed)
    n_obs, n_patients = X.shape[0], patient_codes.max() + 1
    y = (effects[:, None] + sd_patient * rng.standard_normal((n_patients, n))[patient_codes]
         + sd_residual * rng.standard_normal((n_obs, n)))
    # Frisch-Waugh-Lovell: the patient dummies (the first n_patients columns) are absorbed by centring y and
    # the other columns within patient; the treatment estimates, residuals and t tests are those of the full
    # least-squares fit, at the cost of a few columns instead of one per patient
    covariates = _within(X[:, n_patients:], patient_codes, n_patients)
    y = _within(y, patient_codes, n_patients)
    gram_inverse = np.linalg.pinv(covariates.T @ covariates)
    beta = gram_inverse @ (covariates.T @ y)
    residuals = y - covariates @ beta
    df = n_obs - n_patients - np.linalg.matrix_rank(covariates)
    sigma2 = (residuals**2).sum(axis=0) / df
    within_column = column - n_patients
    t = beta[within_column] / np.sqrt(sigma2 * gram_inverse[within_column, within_column])
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

    ``design`` has ``patient_id``, ``treatment`` and ``carryover`` for every
    period (e.g. :func:`ketapain_lib.stats.crossover.crossover_frame` output).
    """
    return _simulate(canonical_design(design), delta, sd_patient, sd_residual, simulations, seed, alpha, n_jobs)


def _simulate(design: pd.DataFrame, delta: float, sd_patient: float, sd_residual: float, simulations: int,
              seed: int, alpha: float, n_jobs: int) -> float:
    X, column = design_matrix(design)
    codes = pd.factorize(design["patient_id"], sort=False)[0]
    effects = np.where(design["treatment"].astype(str).to_numpy() == REFERENCE_TREATMENT, 0.0, -delta)
    seeds = np.random.SeedSequence(seed).spawn(CHUNKS)
    sizes = [simulations // CHUNKS + (i < simulations % CHUNKS) for i in range(CHUNKS)]
    # threads by default: the work is numpy, which releases the GIL, and no worker process outlives a
    # notebook's kernel; a joblib.parallel_backend context (loky, dask, ...) overrides the preference
    rejections = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_chunk)(X, column, codes, effects, sd_patient, sd_residual, size, child, alpha)
        for size, child in zip(sizes, seeds))
    return sum(rejections) / simulations


def power_curve(design: pd.DataFrame, deltas: np.ndarray, sd_patient: float, sd_residual: float,
                simulations: int = SIMULATIONS) -> pd.DataFrame:
    """Simulated power for each true benefit in ``deltas`` (pain score-days)."""
    canonical = canonical_design(design)  # once for every delta
    return pd.DataFrame({"delta": deltas, "power": [_simulate(canonical, float(d), sd_patient, sd_residual,
                                                              simulations, SEED, ALPHA, -1) for d in deltas]})


def detectable_difference(se: float, power: float, alpha: float = ALPHA) -> float:
    """The smallest true difference detected with ``power`` given a contrast's standard error (normal approximation).

    >>> round(detectable_difference(10.0, 0.8), 2)
    28.02
    """
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)
