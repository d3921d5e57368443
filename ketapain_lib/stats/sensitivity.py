"""Missing diary data, shown: the primary contrasts under several ways of handling the gaps.

Approaches (each yields the three pairwise contrasts of the paper's model,
fitted by :data:`ketapain_lib.design.REPORT_METHOD`):

* ``complete case``: only the periods whose diary has no missing average-pain
  entry; the mixed model uses the remaining periods of each patient.
* ``LOCF``: the paper's primary analysis.
* ``multiple imputation``: the missing daily entries imputed by chained
  equations (:mod:`ketapain_lib.stats.mice`, predictive mean matching, one column
  per diary day imputed from the days within three days of it and the
  treatment of the period), :data:`N_IMPUTATIONS` imputations from one chain
  (:data:`MICE_BURN_IN` cycles of burn-in, then one kept every
  :data:`MICE_THINNING` cycles), each analysed like the primary endpoint and combined by
  Rubin's rules (Barnard-Rubin degrees of freedom, hence t-based intervals,
  while the other approaches use Wald z like the primary analysis: a small
  part of the difference in width comes from that choice, not from the
  missing data).
* ``pattern mixture, +delta``: in the spirit of Verbeke and Molenberghs, the
  periods with missing entries form their own pattern, whose missing days
  are assumed worse than the imputation under missing-at-random by ``delta``
  points (0-10 scale) in the active periods only (placebo periods keep the
  MAR imputation): a tipping-point analysis of the benefit of ketamine.
"""
from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pandas as pd
from scipy import stats

from . import derive
from . import crossover as models
from .. import formatting as fmt
from ..rawdata.load import Trial
from ..design import DIARY_DAYS, PRIMARY, REPORT_METHOD, TREATMENTS

N_IMPUTATIONS = 10
#: chained-equation cycles before the first imputation, and between two kept imputations
MICE_BURN_IN = 5
MICE_THINNING = 2
MICE_SEED = 20150610
PATTERN_DELTAS = (1.0, 2.0)


def _contrasts(trial: Trial, auc_values: pd.DataFrame, data: pd.DataFrame | None = None) -> pd.DataFrame:
    """The three contrasts of the paper's model; ``data``: the model frame of ``auc_values`` if already made."""
    data = models.crossover_frame(auc_values, trial.infusions, trial.randomization) if data is None else data
    fit = models.fit_crossover(data, "paper", REPORT_METHOD)
    table = fit.pairwise()[["comparison", "estimate", "se", "ci_low", "ci_high", "p"]].copy()
    table["n_periods"] = len(data)
    # residual degrees of freedom of the complete-data analysis, for Rubin's rules: observations - coefficients
    table["df_complete"] = fit.core.n_obs - fit.core.rank
    return table


def _wide_diary(trial: Trial) -> pd.DataFrame:
    grid = derive.with_treatment(derive.diary_grid(trial.diary, (PRIMARY.measure,), trial.infusions), trial.infusions)
    wide = grid.pivot(index=["patient_id", "period"], columns="day", values=PRIMARY.measure).astype("float64")
    wide.columns = [f"d{int(day):02d}" for day in wide.columns]
    treatment = grid.drop_duplicates(["patient_id", "period"]).set_index(["patient_id", "period"])["treatment"]
    for code in TREATMENTS[1:]:
        wide[f"is_{code}"] = (treatment.reindex(wide.index).astype(str) == code).astype(float)
    return wide


def _auc_from_wide(wide: pd.DataFrame) -> pd.DataFrame:
    days = np.array(DIARY_DAYS, dtype=float)
    values = wide[[f"d{int(d):02d}" for d in DIARY_DAYS]].to_numpy()
    auc = np.sum((days[1:] - days[:-1]) * (values[:, 1:] + values[:, :-1]) / 2, axis=1)
    return pd.DataFrame({"patient_id": wide.index.get_level_values(0), "period": wide.index.get_level_values(1),
                         "auc": auc})


def imputations(trial: Trial, n: int = N_IMPUTATIONS, seed: int = MICE_SEED,
                wide: pd.DataFrame | None = None) -> list[pd.DataFrame]:
    """``n`` completed wide diaries (one row per patient and period, one column per day) by MICE.

    Predictive mean matching (:func:`ketapain_lib.stats.mice.impute_pmm`):
    each diary day with gaps is predicted from the days within three days of
    it that are never missing and from the treatment of the period. The
    result depends on the data only, not on the row order, the patients' ids
    or the machine's BLAS kernels. ``wide``: the trial's wide diary, if already made.
    """
    from .mice import impute_pmm

    wide = _wide_diary(trial) if wide is None else wide
    complete = [c for c in wide.columns if wide[c].notna().all()]
    predictors = {}
    for column in (c for c in wide.columns if c.startswith("d") and wide[c].isna().any()):
        number = int(column[1:])
        near = [c for c in complete if c.startswith("d") and abs(int(c[1:]) - number) <= 3]
        predictors[column] = near + [c for c in complete if c.startswith("is_")]
    completed = impute_pmm(wide, predictors, n_imputations=n, burn_in=MICE_BURN_IN, thinning=MICE_THINNING,
                           seed=seed)
    days = [c for c in wide.columns if c.startswith("d")]
    for frame in completed:
        frame[days] = np.clip(frame[days].to_numpy(), 0, 10)  # the diary's 0-10 scale
    return completed


def rubin(estimates: np.ndarray, variances: np.ndarray, df_complete: float) -> dict[str, float]:
    """Combine ``m`` estimates and their variances by Rubin's rules, Barnard-Rubin degrees of freedom.

    >>> round(rubin(np.array([1.0, 3.0]), np.array([1.0, 1.0]), 1e9)["se"] ** 2, 6)
    4.0
    """
    m = len(estimates)
    mean = float(np.mean(estimates))
    within = float(np.mean(variances))
    between = float(np.var(estimates, ddof=1)) if m > 1 else 0.0
    total = within + (1 + 1 / m) * between
    if between == 0:
        df = df_complete
    else:
        gamma = (1 + 1 / m) * between / total
        df_old = (m - 1) / gamma**2
        df_observed = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - gamma)
        df = 1 / (1 / df_old + 1 / df_observed)
    se = float(np.sqrt(total))
    t = stats.t.ppf(0.5 + models.CI_LEVEL / 2, df)
    return {"estimate": mean, "se": se, "ci_low": mean - t * se, "ci_high": mean + t * se,
            "p": float(2 * stats.t.sf(abs(mean / se), df)), "df": float(df),
            "fraction_missing_information": float((1 + 1 / m) * between / total) if total > 0 else 0.0}


def _model_frames(trial: Trial, aucs: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """The model frame of each completed dataset's AUCs, merged with the schedule once for all of them."""
    long = pd.concat([auc.assign(imputation=number) for number, auc in enumerate(aucs)], ignore_index=True)
    return [frame for _, frame in models.crossover_frames_by(long, ["imputation"], "auc", trial.infusions,
                                                             trial.randomization)]


def _pooled(trial: Trial, completed: list[pd.DataFrame]) -> pd.DataFrame:
    aucs = [_auc_from_wide(frame) for frame in completed]
    per_imputation = [_contrasts(trial, auc, data) for auc, data in zip(aucs, _model_frames(trial, aucs))]
    rows = []
    for comparison in per_imputation[0]["comparison"]:
        parts = [t.set_index("comparison").loc[comparison] for t in per_imputation]
        pooled = rubin(np.array([p["estimate"] for p in parts]), np.array([p["se"] ** 2 for p in parts]),
                       df_complete=float(parts[0]["df_complete"]))
        rows.append({"comparison": comparison, **pooled, "n_periods": int(parts[0]["n_periods"])})
    return pd.DataFrame(rows)


def missing_data_contrasts(trial: Trial, n_imputations: int = N_IMPUTATIONS) -> pd.DataFrame:
    """The three primary contrasts under every approach to the missing diary entries.

    Columns: ``approach``, ``comparison``, ``estimate`` (pain score-days),
    ``se``, ``ci_low``, ``ci_high``, ``p``, ``n_periods``.
    """
    parts = []
    wide = _wide_diary(trial)  # one row per patient and period, one column per day
    day_columns = [f"d{d:02d}" for d in DIARY_DAYS]
    missing_mask = wide[day_columns].isna()
    complete_keys = wide.index[~missing_mask.any(axis=1).to_numpy()].to_frame(index=False)[["patient_id", "period"]]
    locf_auc = derive.auc(trial.diary, *astuple(PRIMARY), periods=trial.infusions)
    complete_auc = locf_auc.merge(complete_keys, on=["patient_id", "period"])
    parts.append(_contrasts(trial, complete_auc).assign(approach="complete case"))
    parts.append(_contrasts(trial, locf_auc).assign(approach="LOCF (paper)"))

    completed = imputations(trial, n_imputations, wide=wide)
    parts.append(_pooled(trial, completed).assign(approach=f"multiple imputation (m = {n_imputations})"))
    active = wide[[f"is_{t}" for t in TREATMENTS[1:]]].sum(axis=1) > 0
    for delta in PATTERN_DELTAS:
        shifted = []
        for frame in completed:
            frame = frame.copy()
            shift = (missing_mask & active.to_numpy()[:, None]).to_numpy() * delta
            frame[day_columns] = np.clip(frame[day_columns].to_numpy() + shift, 0, 10)
            shifted.append(frame)
        parts.append(_pooled(trial, shifted).assign(approach=f"pattern mixture, +{fmt.count(delta, 'point')}"))
    columns = ["approach", "comparison", "estimate", "se", "ci_low", "ci_high", "p", "n_periods"]
    return pd.concat(parts, ignore_index=True)[columns]
