"""The paper's analyses, each from the loaded trial to tidy DataFrames (what the chapters display).

Every function takes a :class:`ketapain_lib.rawdata.load.Trial` and returns
DataFrames; :class:`ketapain_lib.report.results.Results` runs them all for the report.
The mixed models use :data:`REPORT_METHOD`.

The report's analysis is the paper's, as Stata 13 runs it: maximum likelihood,
Wald tests, and Stata's carry-over coding (:mod:`ketapain_lib.design`). Each
model-based table also carries the small-sample analysis a statistician would
add: the REML refit with Kenward-Roger degrees of freedom
(:func:`small_sample_analysis`, the ``*_kr`` columns).
"""
from __future__ import annotations

import math

import pandas as pd

from dataclasses import astuple

from . import crossover, derive, descriptives, glmm
from ..rawdata.load import Trial
from ..design import (ACTIVE_TREATMENTS, ALPHA, CARRYOVER_CODING, DAY7, PRIMARY, REPORT_METHOD, SMALL_SAMPLE_METHOD,
                      TREATMENTS, CarryoverCoding, Endpoint)
from ..rawdata.schema import SCORES


def table2_row(auc_table: pd.DataFrame, endpoint: Endpoint = DAY7) -> pd.Series:
    """The row of Table 2 (:func:`auc_table`) for one endpoint, e.g. the first week (:data:`design.DAY7`)."""
    return auc_table.set_index(["measure", "last_day", "imputation"]).loc[astuple(endpoint)]


def model_data(trial: Trial, values: pd.DataFrame, outcome: str = "auc",
                carryover: CarryoverCoding = CARRYOVER_CODING) -> pd.DataFrame:
    """One value per patient and period (``values``' column ``outcome``) with the trial's design columns, as the
    crossover models take it (:func:`ketapain_lib.stats.crossover.crossover_frame`)."""
    return crossover.crossover_frame(values, trial.infusions, trial.randomization, outcome=outcome,
                                     carryover=carryover)


def _model_data_by(trial: Trial, long: pd.DataFrame, keys: list[str], outcome: str):
    """(key, model data) of each group of ``long`` by ``keys``, in order of appearance (one merge for all)."""
    return crossover.crossover_frames_by(long, keys, outcome, trial.infusions, trial.randomization)


#: How each carry-over coding is named in the model-choice tables.
CODING_LABELS = {"previous_treatment": "carry-over from every treatment", "placebo_carries_nothing":
                 "carry-over from active treatments"}
#: The models shown beside the report's: (label, model, carry-over coding); the first is the report's.
MODEL_CHOICES: tuple[tuple[str, str, CarryoverCoding], ...] = (
    (f"paper ({CODING_LABELS[CARRYOVER_CODING]})", "paper", CARRYOVER_CODING),
    *((f"paper ({label})", "paper", coding) for coding, label in CODING_LABELS.items() if coding != CARRYOVER_CODING),
    ("period-adjusted, no carry-over", "period", CARRYOVER_CODING),
    ("sequence only, no carry-over", "no_carryover", CARRYOVER_CODING),
)
#: Estimation methods shown in the model-choice tables: the report's first.
METHODS: tuple[crossover.Method, ...] = (REPORT_METHOD, SMALL_SAMPLE_METHOD)


def _model_choice_fits(trial: Trial):
    """(label, method, fit) of the primary endpoint for every model choice and method."""
    values = derive.auc(trial.diary, *astuple(PRIMARY), periods=trial.infusions)
    for label, model, coding in MODEL_CHOICES:
        data = model_data(trial, values, carryover=coding)
        for method in METHODS:
            yield label, method, crossover.fit_crossover(data, model, method)


def effect_size_scales(fit: crossover.CrossoverFit) -> pd.DataFrame:
    """The candidate scales of a standardized contrast and the width of the CI each implies, per contrast.

    The paper does not define its effect size; the scale that reproduces the
    width of its intervals is the one the report uses
    (:attr:`~ketapain_lib.stats.crossover.CrossoverFit.within_difference_sd`).
    Rows: the scale, its value (outcome units) and the CI width of each
    contrast in that scale.
    """
    pairwise = fit.pairwise()
    width = pairwise["ci_high"] - pairwise["ci_low"]
    candidates = {
        "SD of a within-patient difference, sqrt(2 x residual variance) (the report's)": fit.within_difference_sd,
        "total SD, sqrt(between- + within-patient variance)": fit.total_sd,
        "within-patient (residual) SD": math.sqrt(fit.residual_variance),
    }
    return pd.DataFrame([{"scale": name, "sd": sd, **{f"ci width: {c}": w / sd
                                                       for c, w in zip(pairwise["comparison"], width)}}
                         for name, sd in candidates.items()])


def small_sample_analysis(fit: crossover.CrossoverFit) -> pd.DataFrame:
    """The small-sample analysis beside the report's (ML, Wald) one: REML with Kenward-Roger and Satterthwaite df.

    One row per test (omnibus, then each pairwise contrast) with the Wald P
    of ``fit``, the Kenward-Roger and Satterthwaite P of the REML refit, and
    ``same_conclusion``: whether Wald and Kenward-Roger agree at ALPHA.
    """
    table = fit.refit(SMALL_SAMPLE_METHOD).small_sample()
    table.insert(1, "p_wald", [fit.omnibus()["p"], *fit.pairwise()["p"]])
    table["same_conclusion"] = (table["p_wald"] < ALPHA) == (table["p_kr"] < ALPHA)
    return table


def _descriptives(frame: pd.DataFrame, decimals: int = 0) -> dict[str, str]:
    return {t: descriptives.describe(frame.loc[frame["treatment"] == t, "y"], decimals=decimals)["text"]
            for t in TREATMENTS}


def primary_endpoint(trial: Trial, method: crossover.Method = REPORT_METHOD) -> dict[str, pd.DataFrame]:
    """Day-35 AUC of average pain after LOCF: descriptives, model summary, pairwise effects, interaction.

    Returns ``summary`` (one row: omnibus test, ICC, variance components,
    normality, notes), ``pairwise`` (three contrasts with Sidak P and effect
    sizes), ``descriptives`` (by treatment: n, mean, SD, median, quartiles),
    ``interaction`` (sequence x treatment LR test), ``fit`` (the fitted
    model itself, which the residual plot draws) and ``small_sample``
    (:func:`small_sample_analysis`).
    """
    data = model_data(trial, derive.auc(trial.diary, *astuple(PRIMARY), periods=trial.infusions))
    fit = crossover.fit_with_normality_check(data, "paper", method)
    rows = []
    for treatment in TREATMENTS:
        d = descriptives.describe(data.loc[data["treatment"] == treatment, "y"])
        rows.append({"treatment": treatment, **{k: d[k] for k in ("n", "mean", "sd", "median", "q1", "q3",
                                                                   "shapiro_p", "summary")}})
    return {"summary": fit.to_frame(), "pairwise": fit.pairwise(), "descriptives": pd.DataFrame(rows),
            "interaction": pd.DataFrame([crossover.sequence_by_treatment_test(data)]), "fit": fit,
            "small_sample": small_sample_analysis(fit), "effect_size_scales": effect_size_scales(fit)}


def model_comparison(trial: Trial) -> pd.DataFrame:
    """The primary endpoint under each model choice (:data:`MODEL_CHOICES`) and each method (:data:`METHODS`)."""
    rows = []
    for label, method, fit in _model_choice_fits(trial):
        pairwise = fit.pairwise().set_index("comparison")
        summary = fit.to_frame().iloc[0]
        rows.append({"model": label, "method": method, "omnibus_p": summary["omnibus_p"], "icc": summary["icc"],
                     **{f"estimate: {c}": pairwise.at[c, "estimate"] for c in pairwise.index},
                     **{f"p: {c}": pairwise.at[c, "p"] for c in pairwise.index}})
    return pd.DataFrame(rows)


def _omnibus_p_kr(fit: crossover.CrossoverFit) -> float:
    """P of the Kenward-Roger F test of treatment, on the REML refit of ``fit`` (NaN if not identifiable)."""
    reml = fit.refit(SMALL_SAMPLE_METHOD)
    # the omnibus row of reml.small_sample(), without its pairwise and Satterthwaite tests
    return reml.omnibus_kr()["p"] if math.isfinite(reml.patient_variance) else math.nan


def auc_table(trial: Trial, auc_long: pd.DataFrame | None = None) -> pd.DataFrame:
    """Table 2: AUC of average, maximal and night pain at each window, by treatment, with the omnibus P.

    One row per measure, window and imputation: the summary by treatment
    (mean +- SD or median [IQR]), the omnibus P of the paper's model and,
    when it is below 0.05, the Sidak-adjusted pairwise P values.
    """
    auc_long = derive.auc_all(trial.diary, trial.infusions) if auc_long is None else auc_long
    rows = []
    for (measure, last_day, imputation), data in _model_data_by(trial, auc_long, ["measure", "last_day", "imputation"],
                                                                "auc"):
        fit = crossover.fit_with_normality_check(data, "paper", REPORT_METHOD)
        omnibus = fit.omnibus()
        row = {"measure": measure, "last_day": last_day, "imputation": imputation, **_descriptives(data),
               "omnibus_p": omnibus["p"], "omnibus_p_kr": _omnibus_p_kr(fit), "icc": fit.icc,
               "transform": fit.transform, "notes": "; ".join(fit.notes)}
        rows.append({**row, **_post_hoc(fit, omnibus["p"])})
    return pd.DataFrame(rows)


def _post_hoc(fit: crossover.CrossoverFit, omnibus_p: float) -> dict[str, float]:
    """Each pairwise P (``p: <comparison>``) and, after a significant omnibus test only, as the paper's methods
    say, its Sidak-adjusted P (``p_sidak: <comparison>``; NaN otherwise)."""
    pairwise = fit.pairwise().set_index("comparison")
    row = {}
    for comparison in pairwise.index:
        row[f"p: {comparison}"] = pairwise.at[comparison, "p"]
        row[f"p_sidak: {comparison}"] = pairwise.at[comparison, "p_sidak"] if omnibus_p < ALPHA else float("nan")
    return row


def questionnaire_table(trial: Trial) -> pd.DataFrame:
    """Table 3: each questionnaire score at the end of each period, by treatment, with the omnibus P.

    Like :func:`auc_table`, each row also carries the pairwise P values and, after a significant omnibus
    test, their Sidak adjustment.
    """
    ends = trial.questionnaires[trial.questionnaires["visit"] == "end_of_period"]
    by_score = dict(_model_data_by(trial, ends, ["score"], "value"))
    rows = []
    for score in SCORES:
        data = by_score[(score.name,)] if (score.name,) in by_score else \
            model_data(trial, ends[ends["score"] == score.name], outcome="value")
        fit = crossover.fit_with_normality_check(data, "paper", REPORT_METHOD)
        omnibus_p = fit.omnibus()["p"]
        rows.append({"score": score.name, "instrument": score.instrument,
                     **_descriptives(data, decimals=1), "omnibus_p": omnibus_p,
                     "omnibus_p_kr": _omnibus_p_kr(fit), "transform": fit.transform, "notes": "; ".join(fit.notes),
                     **_post_hoc(fit, omnibus_p)})
    return pd.DataFrame(rows)


def preinfusion_comparison(trial: Trial) -> pd.DataFrame:
    """Pain before each infusion by treatment, and the omnibus P of the paper's model."""
    data = model_data(trial, derive.preinfusion_pain(trial.infusions).rename(columns={"pain": "y"}), "y")
    fit = crossover.fit_crossover(data, "paper", REPORT_METHOD)
    return pd.DataFrame([{**_descriptives(data), "omnibus_p": fit.omnibus()["p"], "notes": "; ".join(fit.notes)}])


def consecutive_comparison(trial: Trial) -> pd.DataFrame:
    """Sum of the two ketamine AUCs (day 35, LOCF) for consecutive vs placebo-separated ketamine periods."""
    values = derive.with_treatment(derive.auc(trial.diary, *astuple(PRIMARY), periods=trial.infusions), trial.infusions)
    wide = values.pivot(index="patient_id", columns="treatment", values="auc")
    consecutive = derive.consecutive_ketamine(trial.randomization)
    ketamine_sum = wide[list(ACTIVE_TREATMENTS)].sum(axis=1, skipna=False).reindex(consecutive.index)
    return pd.DataFrame([descriptives.compare_groups(ketamine_sum, consecutive)])


def adverse_event_model(trial: Trial) -> dict[str, pd.DataFrame]:
    """Treatment-related adverse event in a period (yes/no): logit mixed model, treatment as fixed effect.

    The paper's full set of fixed effects (sequence, carry-over) cannot be
    estimated from 13 events in 60 periods (complete separation in several
    sequences), so the report fits treatment alone and says so.
    """
    related = derive.related_adverse_events(trial.adverse_events, trial.infusions)
    flagged = set(zip(related["patient_id"], related["period"]))
    values = trial.infusions[["patient_id", "period"]].copy()
    values["y"] = [float((p, q) in flagged) for p, q in zip(values["patient_id"], values["period"])]
    fit = glmm.fit_logit_mixed(model_data(trial, values, "y"), "treatment_only")
    fixed_effects = fit.fixed_effects()
    fixed_effects["term"] = fixed_effects["term"].map(crossover.readable_term)
    return {"fixed_effects": fixed_effects, "summary": fit.to_frame()}


def model_choice_contrasts(trial: Trial) -> pd.DataFrame:
    """The primary contrasts with their CIs under each model choice and estimation method (long format)."""
    parts = [fit.pairwise().assign(model=f"{label}, {method}") for label, method, fit in _model_choice_fits(trial)]
    return pd.concat(parts, ignore_index=True)[["model", "comparison", "estimate", "se", "ci_low", "ci_high", "p"]]


def beyond_the_paper(trial: Trial, missing_data: pd.DataFrame | None = None) -> dict[str, object]:
    """The analyses the paper ran without showing, and a reading of its negative result.

    ``missing_data``: :func:`ketapain_lib.stats.sensitivity.missing_data_contrasts` of ``trial`` if already
    computed (the report computes it as an analysis of its own, the slowest, in parallel with the others).

    Missing-data approaches, model choices, clinically important differences
    with equivalence tests and Bayesian probabilities, the exact power of the
    achieved design, and responders.
    """
    import numpy as np

    from . import interpretation
    from . import power
    from . import sensitivity

    data = model_data(trial, derive.auc(trial.diary, *astuple(PRIMARY), periods=trial.infusions))
    fit = crossover.fit_crossover(data, "paper", REPORT_METHOD)
    pairwise = fit.pairwise()
    cids = interpretation.clinically_important_differences(trial)
    # the power uses the REML residual variance (ML shrinks it by about (n - p) / n) and the achieved design
    reml = fit.refit(SMALL_SAMPLE_METHOD)
    se_ketamine = float(reml.pairwise().set_index("comparison").at["ketamine vs placebo", "se"])
    sd_patient, sd_residual = reml.patient_variance ** 0.5, reml.residual_variance ** 0.5
    return {
        "missing_data": sensitivity.missing_data_contrasts(trial) if missing_data is None else missing_data,
        "model_choices": model_choice_contrasts(trial),
        "cids": cids,
        "honest_reading": interpretation.honest_reading(pairwise, cids),
        "power_curve": power.power_curve(data, np.arange(0.0, 70.5, 1.0), sd_residual),
        "power_at_cid": cids[["cid", "score_days"]].assign(
            power=power.exact_power(data, cids["score_days"].to_numpy(dtype=float), sd_residual)),
        "detectable": pd.DataFrame([{"power": p, "detectable_difference": power.detectable_difference(
            data, sd_residual, p), "se_ketamine_vs_placebo": se_ketamine} for p in (0.8, 0.9)]),
        "variance_components": pd.DataFrame([{"sd_patient": sd_patient, "sd_residual": sd_residual,
                                              "icc": reml.icc}]),
        "responders": interpretation.responders(trial),
    }
