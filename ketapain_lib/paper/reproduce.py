"""Every number the paper reports, computed from the raw data: what the ledger (:mod:`.ledger`) sets beside
the published value, and what the synthetic generator's calibration (:mod:`ketapain_lib.synthetic.calibration`)
measures itself against.

:func:`summary_statistics` computes the descriptive numbers (the flow, the patients' characteristics, the AUC
summaries, adverse events, the blind) from the raw tables alone; :func:`reproduced_values` adds the model-based
numbers from the report's results. Both are keyed like the published-results file
(:func:`~ketapain_lib.paper.published.published_results`).

Conventions (Stata's, as the paper's): percentages are of the randomized patients; SDs use ``ddof=1``;
quartiles use linear interpolation (pandas' default), which for these data agrees with Stata's
``summarize, detail`` because neighbouring order statistics are equal; the intraclass correlation is that of
the paper's crossover model (the between-patient share of the variance), as the chapters print it.

>>> from ketapain_lib.rawdata.load import load_trial
>>> statistics = summary_statistics(load_trial())
>>> statistics["flow_randomized"], statistics["flow_analysed"]
(20, 20)
"""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..design import ACTIVE_TREATMENTS, ALPHA, DAY7, FIGURE4_WINDOWS, PRIMARY, REPORT_METHOD
from ..rawdata.load import Trial
from ..rawdata.schema import AE_TERMS, AETIOLOGIES, DRUG_CLASSES, TREATMENTS
from ..stats import analyses, crossover, derive
from ..stats.crossover import PAIRS, sidak
from ..stats.descriptives import exact_mean, exact_sd
from .published import PAIR_KEYS, published_results


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


def summary_statistics(trial: Trial) -> dict[str, float]:
    """The paper's descriptive numbers recomputed from the raw tables, keyed like the published-results file."""
    return {**_population_statistics(trial), **_auc_statistics(trial), **_safety_statistics(trial)}


#: Keys the paper states as design choices or planning inputs.
INPUT_KEYS = ("design_alpha", "samplesize_alpha", "samplesize_power", "samplesize_correlation",
              "samplesize_pilot_auc28_mean", "samplesize_pilot_auc28_sd")
#: Keys this report recomputes from the paper's published planning inputs, not from the raw data: whatever the
#: data, they come out the same.
RECOMPUTED_KEYS = ("samplesize_n", "samplesize_difference", "samplesize_reduction_pct")


def reproduced_values(trial: Trial, results: Mapping) -> dict[str, float]:
    """Every published key this report can compute, from the trial and its results (:class:`~ketapain_lib.report.results.Results`)."""
    values: dict[str, float] = summary_statistics(trial)
    published = published_results()

    # design, from the raw data
    infusions = trial.infusions
    values["design_patients_planned"] = float(len(trial.patients))
    # a period is the time followed after an infusion: the last diary day
    values["design_period_days"] = float(trial.diary["day"].max())
    active = infusions[infusions["ketamine_dose_mg"] > 0].merge(trial.patients[["patient_id", "weight_kg"]])
    values["design_ketamine_mg_per_kg"] = float((active["ketamine_dose_mg"] / active["weight_kg"]).median())
    values["design_magnesium_sulfate_mg"] = float(infusions["magnesium_sulfate_dose_mg"].max())
    values["design_alpha"] = ALPHA

    # planning: the inputs, the reduction they imply, and the sample size they give
    sample_size = results["sample_size"].set_index("method")
    for key in INPUT_KEYS:
        values[key] = float(published.at[key, "value"])
    values["samplesize_n"] = float(sample_size.at["normal approximation", "n_reproduced"])
    values["samplesize_difference"] = (published.at["samplesize_reduction_pct", "value"] / 100
                                       * published.at["samplesize_pilot_auc28_mean", "value"])
    values["samplesize_reduction_pct"] = (100 * published.at["samplesize_difference", "value"]
                                          / published.at["samplesize_pilot_auc28_mean", "value"])

    values["preinfusion_pain_p"] = float(results["preinfusion"]["omnibus_p"].item())

    primary = results["primary"]
    values["auc35_locf_omnibus_p"] = float(primary["summary"]["omnibus_p"].item())
    values["auc35_locf_icc"] = float(primary["summary"]["icc"].item())
    for _, row in primary["pairwise"].iterrows():
        stem = f"auc35_es_{PAIR_KEYS[row['comparison']]}"
        values[stem] = row["effect_size"]
        values[f"{stem}_lo"] = row["es_ci_low"]
        values[f"{stem}_hi"] = row["es_ci_high"]
        values[f"{stem}_p"] = row["p"]

    day7 = analyses.table2_row(results["auc_table"], DAY7)
    values["auc7_omnibus_p"] = float(day7["omnibus_p"])
    values["auc7_icc"] = float(day7["icc"])
    # the paper's value follows a significant omnibus test, so it is Sidak-adjusted: compare like with like,
    # whatever the reproduced omnibus test gives
    values["auc7_ketamine_vs_placebo_p"] = float(sidak(day7["p: ketamine vs placebo"], len(PAIRS)))

    improvement = results["improvement"]
    primary_rule = improvement[improvement["rule"] == "baseline_30pct"].set_index("last_day")
    for last_day in FIGURE4_WINDOWS:
        values[f"improved_ketamine_day{last_day}_n"] = float(primary_rule.at[last_day, "improved_active"])
        values[f"improved_placebo_day{last_day}_n"] = float(primary_rule.at[last_day, "improved_placebo"])

    values["consecutive_p"] = float(results["consecutive"]["p"].item())
    questionnaires = results["questionnaires"].set_index("score")
    values["pgic_sleep_p"] = float(questionnaires.at["pgic_sleep", "omnibus_p"])
    values.update(_adverse_event_shares(trial, values))
    return values


def _adverse_event_shares(trial: Trial, counts: dict[str, float]) -> dict[str, float]:
    """The Safety section's percentages: of the counts already computed (related events, none), and of patients
    with any event by treatment (the abstract's figure)."""
    n = len(trial.patients)
    events = derive.with_treatment(trial.adverse_events, trial.infusions)
    values = {"ae_none_pct": _pct(counts["ae_none_n"], n)}
    for treatment in TREATMENTS:
        values[f"ae_related_{treatment}_pct"] = _pct(counts[f"ae_related_{treatment}_n"], n)
        values[f"abstract_ae_any_{treatment}_pct"] = _pct(events.loc[events["treatment"] == treatment,
                                                                     "patient_id"].nunique(), n)
    return values
