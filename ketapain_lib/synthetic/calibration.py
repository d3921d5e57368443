"""How close a dataset comes to the summaries the paper publishes (the calibration report).

:func:`achieved_statistics` recomputes, from the raw tables, every published
number that the synthetic generator is calibrated to; :func:`calibration_report`
sets them beside the published values with the stated tolerance. The same
report run on a real export shows how the real data compare with the paper.

Conventions: percentages are of the randomized patients; SDs use ``ddof=1``;
quartiles use linear interpolation (pandas' default), which for these data
agrees with Stata's ``summarize, detail`` because neighbouring order
statistics are equal; the intraclass correlation is the two-way ANOVA
(consistency) estimate on the complete patients x treatments matrix, which
equals the REML random-intercept estimate for balanced data.

>>> report = calibration_report(load_trial())
>>> bool(report["within_tolerance"].all())
True
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import derive
from ..rawdata.load import Trial, load_trial  # noqa: F401  (load_trial is used by the doctest)
from ..paper.published import calibration_targets, published_precision
from ..rawdata.schema import AE_TERMS, AETIOLOGIES, DRUG_CLASSES, TREATMENTS
from ..design import ACTIVE_TREATMENTS, DAY7, PRIMARY
from ..stats.descriptives import exact_mean, exact_sd


def _pct(count: int, n: int) -> float:
    return 100.0 * count / n


def auc_by_treatment(trial: Trial, last_day: int, imputation: derive.Imputation,
                     measure: str = PRIMARY.measure) -> pd.DataFrame:
    """AUC per patient (rows) and treatment (columns, report order), in pain score-days."""
    values = derive.with_treatment(derive.auc(trial.diary, measure, last_day, imputation, periods=trial.infusions), trial.infusions)
    wide = values.pivot(index="patient_id", columns="treatment", values="auc")
    return wide[list(TREATMENTS)]


def _population_statistics(trial: Trial) -> dict[str, float]:
    """Flow, patient characteristics, baseline drugs and pain before each infusion."""
    n = len(trial.patients)
    stats: dict[str, float] = {}
    outcome = trial.screening["screening_outcome"].astype(str)
    stats["flow_screened"] = len(trial.screening)
    stats["flow_refused"] = int((outcome == "refused").sum())
    stats["flow_ineligible"] = int((outcome == "ineligible").sum())
    stats["flow_randomized"] = int((outcome == "randomized").sum())
    infusions_per_patient = trial.infusions.groupby("patient_id").size()
    stats["flow_analysed"] = int((infusions_per_patient == len(TREATMENTS)).sum())
    stats["flow_discontinued"] = n - stats["flow_analysed"]
    years = trial.patients["pain_duration_years"].astype(float)
    stats["pain_years_median"] = float(years.median())
    stats["pain_years_q1"] = float(years.quantile(0.25))
    stats["pain_years_q3"] = float(years.quantile(0.75))
    for aetiology in AETIOLOGIES:
        stats[f"aetiology_{aetiology}_pct"] = _pct(int((trial.patients["pain_aetiology"] == aetiology).sum()), n)
    dn4 = trial.patients["dn4_score"].astype(float)
    stats["dn4_mean"], stats["dn4_sd"] = exact_mean(dn4), exact_sd(dn4)
    for drug in DRUG_CLASSES:
        takers = trial.baseline_drugs.loc[trial.baseline_drugs["drug_class"] == drug, "patient_id"].nunique()
        stats[f"drug_{drug}_pct"] = _pct(takers, n)
    pre = trial.infusions.groupby("treatment", observed=True)["preinfusion_pain"]
    for treatment in TREATMENTS:
        values = pre.get_group(treatment).astype(float)
        stats[f"preinfusion_pain_mean_{treatment}"] = exact_mean(values)
        stats[f"preinfusion_pain_sd_{treatment}"] = exact_sd(values)
    return stats


def model_icc(trial: Trial, endpoint) -> float:
    """The intraclass correlation of an AUC endpoint under the paper's model (the report's method), as printed by
    the primary and secondary chapters and compared by the ledger."""
    from ..design import REPORT_METHOD
    from ..stats import analyses, crossover

    auc = derive.auc(trial.diary, endpoint.measure, endpoint.last_day, endpoint.imputation, periods=trial.infusions)
    data = analyses.model_data(trial, auc).dropna(subset=["y"])
    return float(crossover.fit_with_normality_check(data, "paper", REPORT_METHOD).icc)


def _auc_statistics(trial: Trial) -> dict[str, float]:
    """The primary endpoint and the first week: means, SDs, ICCs, and the consecutive-ketamine comparison."""
    stats: dict[str, float] = {}
    # the published summaries are of the primary endpoint and of the first week without imputation
    auc35 = auc_by_treatment(trial, PRIMARY.last_day, PRIMARY.imputation)
    auc7 = auc_by_treatment(trial, DAY7.last_day, DAY7.imputation)
    for treatment in TREATMENTS:
        stats[f"auc35_locf_mean_{treatment}"] = exact_mean(auc35[treatment])
        stats[f"auc35_locf_sd_{treatment}"] = exact_sd(auc35[treatment])
        stats[f"auc7_mean_{treatment}"] = exact_mean(auc7[treatment])
        stats[f"auc7_sd_{treatment}"] = exact_sd(auc7[treatment])
    # the ICC the paper prints is its model's (between-patient share of the variance), as the ledger computes it
    for key, endpoint in (("auc35_locf_icc", PRIMARY), ("auc7_icc", DAY7)):
        stats[key] = model_icc(trial, endpoint)
    consecutive = derive.consecutive_ketamine(trial.randomization)
    ketamine_sum = auc35[list(ACTIVE_TREATMENTS)].sum(axis=1, skipna=False).reindex(consecutive.index)
    stats["consecutive_n"] = int(consecutive.sum())
    for name, mask in (("consecutive", consecutive), ("nonconsecutive", ~consecutive)):
        stats[f"{name}_auc_mean"] = exact_mean(ketamine_sum[mask])
        stats[f"{name}_auc_sd"] = exact_sd(ketamine_sum[mask])
    return stats


def _safety_statistics(trial: Trial) -> dict[str, float]:
    """Adverse events by treatment and term, related events, and how well the blind held."""
    n = len(trial.patients)
    stats: dict[str, float] = {}
    events = derive.with_treatment(trial.adverse_events, trial.infusions)
    stats["ae_serious_n"] = int((events["serious"] == "yes").sum())
    related = derive.related_adverse_events(trial.adverse_events, trial.infusions)
    for treatment in TREATMENTS:
        stats[f"ae_related_{treatment}_n"] = int(related.loc[related["treatment"] == treatment,
                                                             "patient_id"].nunique())
        for term in AE_TERMS:
            with_term = events[(events["treatment"] == treatment) & (events["term"] == term)]
            stats[f"ae_pct_{treatment}_{term}"] = _pct(with_term["patient_id"].nunique(), n)
    stats["ae_none_n"] = n - events["patient_id"].nunique()
    unsure_pct = derive.unsure_of_treatment(trial.blinding) * 100
    stats["blinding_do_not_know_min_pct"] = float(unsure_pct.min())
    stats["blinding_do_not_know_max_pct"] = float(unsure_pct.max())
    return stats


def achieved_statistics(trial: Trial) -> dict[str, float]:
    """Every calibration statistic recomputed from the raw tables, keyed like the published-results file."""
    return {**_population_statistics(trial), **_auc_statistics(trial), **_safety_statistics(trial)}


def calibration_report(trial: Trial) -> pd.DataFrame:
    """Published target, achieved value, tolerance and status for every calibration target.

    Columns: ``key``, ``description``, ``section``, ``published``,
    ``achieved``, ``difference`` (achieved - published), ``tolerance``
    (absolute; 0 = must match exactly), ``within_tolerance`` and ``same_as_printed`` (the ledger's rule: within
    half a unit of the last digit the paper prints). Rows follow the order of the published-results file.
    """
    targets = calibration_targets()
    achieved = achieved_statistics(trial)
    missing = sorted(set(targets.index) - set(achieved))
    if missing:
        raise KeyError(f"no achieved value computed for calibration target(s): {', '.join(missing)}")
    report = pd.DataFrame({
        "key": targets.index,
        "description": targets["description"].to_numpy(),
        "section": targets["section"].to_numpy(),
        "published": targets["value"].astype(float).to_numpy(),
        "achieved": [float(achieved[k]) for k in targets.index],
        "tolerance": targets["calibration_tolerance"].astype(float).to_numpy(),
    })
    report["difference"] = report["achieved"] - report["published"]
    # a tiny allowance so that 45.00000000001 % still counts as the exact 45 %
    report["within_tolerance"] = report["difference"].abs() <= report["tolerance"] + 1e-9
    # the ledger's rule (half a unit of the paper's last printed digit), beside the generator's looser one
    precision = np.array([published_precision(k) for k in targets.index])
    report["same_as_printed"] = report["difference"].abs() <= precision + 1e-9
    return report[["key", "description", "section", "published", "achieved", "difference", "tolerance",
                   "within_tolerance", "same_as_printed"]]


def diary_missing_rate(trial: Trial) -> float:
    """Share of the expected average-pain diary entries (days 0-35, every period) that are missing."""
    grid = derive.diary_grid(trial.diary, (PRIMARY.measure,), trial.infusions)
    return float(np.mean(grid[PRIMARY.measure].isna()))
