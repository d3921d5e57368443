"""Hand-computed and property checks of ketapain_lib.stats.crossover and the derivations behind them."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketapain_lib import load_trial
from ketapain_lib.stats import derive
from ketapain_lib.stats import crossover as models
from ketapain_lib.stats import descriptives, glmm, planning

# --------------------------------------------------------------------------- Sidak and sample size


def test_sidak_by_hand():
    assert models.sidak(0.05) == pytest.approx(1 - 0.95**3)          # 0.142625
    assert models.sidak(0.05) == pytest.approx(0.142625)
    assert models.sidak(0.0) == 0.0 and models.sidak(1.0) == 1.0
    assert models.sidak(0.01, comparisons=2) == pytest.approx(0.0199)
    assert np.allclose(models.sidak(np.array([0.01, 0.5])), [0.029701, 0.875])


def test_sample_size_by_hand():
    # z(0.99) = 2.326348, z(0.90) = 1.281552; SD of a difference = 38 * sqrt(2 * 0.5) = 38
    # n = ((2.326348 + 1.281552) * 38 / 57) ** 2 = 5.7853 -> 6
    result = planning.crossover_sample_size(57, 38, 0.5, 0.02, 0.90)
    assert result["n_normal_exact"] == pytest.approx(5.7853, abs=1e-4)
    assert result["n_normal"] == 6
    # paired t (statsmodels' TTestPower, R's power.t.test): 8.71 patients for 90% power -> 9; the t-quantile
    # approximation agrees: n = 8 needs ((2.998 + 1.415) * 2/3) ** 2 = 8.66 > 8; n = 9 needs 8.19 <= 9
    assert result["n_t"] == 9
    assert planning.paired_t_power(57 / 38, 8, 0.02) < 0.90 <= planning.paired_t_power(57 / 38, 9, 0.02)
    assert planning.sd_for_sample_size(6, 57, 0.5, 0.02, 0.90) == pytest.approx(38 * math.sqrt(6 / 5.7853), rel=1e-4)


def test_published_inputs_do_not_give_the_published_sample_size():
    from ketapain_lib.paper.published import planning_inputs

    table = planning.planning_sample_size(planning_inputs())
    assert (table["n_reproduced"] < table["n_published"]).all()
    assert table["sd_implied_by_published_n"].iloc[0] > table["sd"].iloc[0]


# --------------------------------------------------------------------------- AUC properties

daily = st.lists(st.integers(min_value=0, max_value=10), min_size=36, max_size=36)


def curve(values, missing=()) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": "P01", "period": 1, "day": range(36),
                         "average_pain": pd.array([None if d in missing else v for d, v in enumerate(values)],
                                                  dtype="Int64")})


def auc_of(values, missing=(), last_day=35, imputation="locf") -> float:
    return derive.auc(curve(values, missing), last_day=last_day, imputation=imputation)["auc"].item()


@settings(max_examples=60, deadline=None)
@given(daily, daily, st.integers(0, 3), st.integers(0, 3))
@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_auc_is_linear_in_the_scores(first, second, a, b):
    combined = [a * x + b * y for x, y in zip(first, second)]
    assert auc_of(combined) == pytest.approx(a * auc_of(first) + b * auc_of(second))


@settings(max_examples=60, deadline=None)
@given(daily, st.integers(-5, 5), st.sets(st.integers(1, 35), max_size=10))
@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_adding_a_constant_adds_35_times_it_to_the_day_35_auc(values, c, missing):
    shifted = [v + c for v in values]
    for imputation in ("locf", "none"):
        if imputation == "none" and (35 in missing):
            continue  # a missing last day shortens the curve without imputation
        assert auc_of(shifted, missing, imputation=imputation) == pytest.approx(
            auc_of(values, missing, imputation=imputation) + 35 * c)


@settings(max_examples=40, deadline=None)
@given(daily)
@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_auc_of_a_complete_curve_is_the_trapezoid_sum(values):
    expected = sum((values[d] + values[d + 1]) / 2 for d in range(35))
    assert auc_of(values) == pytest.approx(expected)
    assert auc_of(values, imputation="none") == pytest.approx(expected)
    assert auc_of(values, last_day=7) == pytest.approx(sum((values[d] + values[d + 1]) / 2 for d in range(7)))


# --------------------------------------------------------------------------- model data and failures


def test_carryover_coding():
    values = pd.DataFrame({"patient_id": ["P01"] * 3 + ["P02"] * 3, "period": [1, 2, 3] * 2, "auc": [1.0] * 6})
    infusions = pd.DataFrame({"patient_id": ["P01"] * 3 + ["P02"] * 3, "period": [1, 2, 3] * 2,
                              "treatment": ["placebo", "ketamine", "ketamine_magnesium",
                                            "ketamine", "placebo", "ketamine_magnesium"]})
    randomization = pd.DataFrame({"patient_id": ["P01", "P02"], "sequence": ["P-K-M", "K-P-M"]})
    # Stata's pkshape: every previous treatment its own level, placebo included; "none" only in period 1
    frame = models.crossover_frame(values, infusions, randomization, carryover="previous_treatment")
    assert frame["carryover"].tolist() == ["none", "placebo", "ketamine", "none", "ketamine", "placebo"]
    frame = models.crossover_frame(values, infusions, randomization, carryover="placebo_carries_nothing")
    assert frame["carryover"].tolist() == ["none", "none", "ketamine", "none", "ketamine", "none"]
    from ketapain_lib.design import CARRYOVER_CODING

    assert models.crossover_frame(values, infusions, randomization)["carryover"].tolist() == \
        models.crossover_frame(values, infusions, randomization, carryover=CARRYOVER_CODING)["carryover"].tolist()


def synthetic_frame(seed: int, patient_sd: float, skewed: bool = False, n: int = 24) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sequences = ["P-K-M", "P-M-K", "K-M-P", "M-K-P", "K-P-M", "M-P-K"]
    code = {"P": "placebo", "K": "ketamine", "M": "ketamine_magnesium"}
    rows = []
    for i in range(n):
        sequence = sequences[i % 6]
        b = rng.normal(0, patient_sd)
        for period, letter in enumerate(sequence.split("-"), 1):
            e = rng.lognormal(0, 1.2) * 40 if skewed else rng.normal(0, 10)
            rows.append((f"P{i:02d}", period, 100 + b + e, code[letter], sequence))
    frame = pd.DataFrame(rows, columns=["patient_id", "period", "y", "treatment", "sequence"])
    previous = frame.groupby("patient_id")["treatment"].shift(1)
    frame["carryover"] = [p if isinstance(p, str) and p != "placebo" else "none" for p in previous]
    frame["treatment"] = pd.Categorical(frame["treatment"], categories=["placebo", "ketamine", "ketamine_magnesium"])
    return frame


def test_a_zero_patient_variance_is_reported_as_a_singular_fit():
    fit = models.fit_crossover(synthetic_frame(3, patient_sd=0.0), "treatment_only")
    # the note is there exactly when the patient variance is (numerically) zero
    assert any("singular fit" in note for note in fit.notes) == (fit.patient_variance < 1e-8 * fit.residual_variance)
    summary = fit.to_frame()
    assert summary["notes"].item() == "; ".join(fit.notes)


def test_singular_fit_note_fires_when_the_variance_is_zero():
    # patients identical up to treatment: the between-patient variance is exactly 0 at the optimum
    frame = synthetic_frame(5, patient_sd=0.0)
    frame["y"] = frame["treatment"].cat.codes * 5.0 + np.tile([0.0, 1.0, -1.0], len(frame) // 3)
    fit = models.fit_crossover(frame, "treatment_only")
    assert fit.patient_variance == pytest.approx(0.0, abs=1e-6)
    assert any("singular fit" in note for note in fit.notes)


def test_a_treatment_without_data_is_a_clear_error():
    frame = synthetic_frame(1, patient_sd=20)
    frame = frame[frame["treatment"] != "ketamine"]
    with pytest.raises(ValueError, match="no data for treatment\\(s\\) ketamine"):
        models.fit_crossover(frame)


def test_unknown_model_and_method_are_refused():
    frame = synthetic_frame(1, patient_sd=20)
    with pytest.raises(ValueError, match="model must be one of"):
        models.fit_crossover(frame, "anova")
    with pytest.raises(ValueError, match="method must be 'ML' or 'REML'"):
        models.fit_crossover(frame, "paper", "GEE")


def test_non_normal_residuals_trigger_a_log_refit():
    frame = synthetic_frame(11, patient_sd=5, skewed=True, n=60)
    fit = models.fit_with_normality_check(frame)
    assert fit.transform == "log(y)"
    assert fit.notes[0].startswith("residuals not normal (Shapiro-Wilk P ")


def test_normal_residuals_keep_the_raw_scale():
    fit = models.fit_with_normality_check(synthetic_frame(2, patient_sd=30))
    assert fit.transform == "none"


def test_reml_and_ml_agree_on_fixed_effects_for_balanced_data():
    frame = synthetic_frame(4, patient_sd=30)
    ml, reml = models.fit_crossover(frame, "period", "ML"), models.fit_crossover(frame, "period", "REML")
    assert np.allclose(ml.fixed_effects()["estimate"], reml.fixed_effects()["estimate"], atol=1e-4)
    assert reml.residual_variance > ml.residual_variance


def test_effect_size_is_the_contrast_over_the_sd_of_a_within_patient_difference():
    fit = models.fit_crossover(synthetic_frame(6, patient_sd=30))
    row = fit.pairwise().iloc[0]
    assert row["effect_size"] == pytest.approx(row["estimate"] / math.sqrt(2 * fit.residual_variance))
    assert row["es_total_sd"] == pytest.approx(row["estimate"] / math.sqrt(fit.patient_variance + fit.residual_variance))
    assert row["es_ci_low"] < row["effect_size"] < row["es_ci_high"]


def test_the_papers_effect_size_scale_gives_intervals_near_two_z_over_root_n_wide():
    # with n patients, a within-patient contrast has SE ~ sd(difference) / sqrt(n): the CI in that scale is about
    # 2 * 1.96 / sqrt(n) wide (0.88 for 20 patients, the width of the paper's intervals), whatever the ICC
    for patient_sd in (5, 30, 80):
        fit = models.fit_crossover(synthetic_frame(2, patient_sd=patient_sd, n=24), "no_carryover")
        widths = fit.pairwise().eval("es_ci_high - es_ci_low")
        assert widths.between(0.7, 1.0).all(), (patient_sd, widths.tolist())


def test_logit_model_refuses_a_non_binary_outcome():
    with pytest.raises(ValueError, match="must be 0 or 1"):
        glmm.fit_logit_mixed(synthetic_frame(1, patient_sd=1))


# --------------------------------------------------------------------------- descriptives and groups


def test_describe_chooses_mean_sd_or_median_iqr():
    assert descriptives.describe(pd.Series([4, 5, 5, 6, 6, 6, 7, 7, 8]))["summary"] == "mean ± SD"
    skewed = descriptives.describe(pd.Series([1, 1, 1, 1, 2, 2, 2, 3, 40, 90]))
    assert skewed["summary"] == "median [IQR]"
    assert skewed["text"] == "2 [1; 3]"


def test_compare_groups_is_the_pooled_t_test():
    values = pd.Series([1.0, 2.0, 3.0, 4.0, 6.0, 8.0])
    group = pd.Series([True, True, True, False, False, False])
    result = descriptives.compare_groups(values, group)
    pooled_sd = math.sqrt(((1 + 0 + 1) + (4 + 0 + 4)) / 4)  # group means 2 and 6
    t = (2 - 6) / (pooled_sd * math.sqrt(1 / 3 + 1 / 3))
    assert result["t"] == pytest.approx(t)
    assert result["difference"] == -4


# --------------------------------------------------------------------------- the paper's other derivations


def test_improvement_rules_on_a_small_example():
    auc_values = pd.DataFrame({"patient_id": ["P01"] * 3 + ["P02"] * 3,
                               "treatment": ["placebo", "ketamine", "ketamine_magnesium"] * 2,
                               "auc": [35.0, 21.0, 35.0, 31.5, 49.0, 42.0]})
    pre = pd.DataFrame({"patient_id": ["P01"] * 3 + ["P02"] * 3,
                        "treatment": ["placebo", "ketamine", "ketamine_magnesium"] * 2,
                        "pain": [5.0, 5.0, 5.0, 6.0, 6.0, 6.0]})
    # mean pain over 7 days: P01 = 5, 3, 5 ; P02 = 4.5, 7, 6
    strict = derive.improvement(auc_values, pre, 7, "baseline_30pct")
    assert strict["improved_active"].tolist() == [True, False]   # 3 < 0.7 * 5
    assert strict["improved_placebo"].tolist() == [False, False]  # 4.5 is not < 0.7 * 6
    loose = derive.improvement(auc_values, pre, 7, "baseline_any")
    assert loose["improved_placebo"].tolist() == [False, True]
    versus = derive.improvement(auc_values, pre, 7, "versus_placebo")
    assert versus["improved_active"].tolist() == [True, False]
    assert versus["improved_placebo"].tolist() == [False, True]


def test_improvement_counts_cover_every_rule_and_window():
    trial = load_trial()
    counts = derive.improvement_counts(derive.auc_all(trial.diary, trial.infusions),
                                       derive.preinfusion_pain(trial.infusions))
    assert list(counts["rule"].unique()) == list(derive.IMPROVEMENT_RULES)
    assert set(counts["last_day"]) == {7, 35} and (counts["n"] == 20).all()


def test_missing_diary_counts():
    diary = pd.DataFrame({"patient_id": ["P01", "P01", "P02"], "period": [1, 1, 1], "day": [0, 1, 0],
                          "average_pain": pd.array([3, None, 4], dtype="Int64")})
    infusions = pd.DataFrame({"patient_id": ["P01", "P02"], "period": [1, 1], "treatment": ["placebo", "placebo"]})
    table = derive.missing_diary(diary, infusions).set_index("day")
    assert table.loc[0, "n_missing"] == 0 and table.loc[1, "n_missing"] == 2  # P01 blank, P02 absent
    assert table.loc[1, "pct_missing"] == 100.0 and table.loc[35, "n_expected"] == 2


# --------------------------------------------------------------------------- the report's analyses


@pytest.fixture(scope="module")
def shipped():
    from ketapain_lib.report.results import Results

    return Results(load_trial())


def test_reml_and_ml_reach_the_same_conclusions_on_the_shipped_data(shipped):
    table = shipped["model_comparison"]
    for model, part in table.groupby("model"):
        p_columns = ["omnibus_p"] + [c for c in table.columns if c.startswith("p: ")]
        decisions = part[p_columns] < 0.05
        assert (decisions.iloc[0] == decisions.iloc[1]).all(), model
        estimates = part["estimate: ketamine vs placebo"].to_numpy()
        assert estimates[0] == pytest.approx(estimates[1], abs=1e-4)  # balanced data: same fixed effects


def test_primary_endpoint_reproduces_its_descriptives_from_the_calibration(shipped):
    from ketapain_lib.paper.reproduce import summary_statistics

    stats_ = summary_statistics(load_trial())
    descriptives = shipped["primary"]["descriptives"].set_index("treatment")
    for treatment in ("placebo", "ketamine", "ketamine_magnesium"):
        assert descriptives.at[treatment, "mean"] == pytest.approx(stats_[f"auc35_locf_mean_{treatment}"])
    assert len(shipped["primary"]["pairwise"]) == 3
    assert shipped["primary"]["summary"]["method"].item() == "ML"  # Stata 13's mixed, as the paper
    small = shipped["primary"]["small_sample"]
    assert list(small["test"]) == ["treatment (omnibus)", *shipped["primary"]["pairwise"]["comparison"]]
    assert (small["p_kr"] > small["p_wald"]).all()  # Wald tests on ML variances are the liberal ones


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_every_table_two_row_has_an_omnibus_p(shipped):
    table = shipped["auc_table"]
    assert len(table) == 3 * 5 * 2
    assert table["omnibus_p"].between(0, 1).all()
    sidak_columns = [c for c in table.columns if c.startswith("p_sidak")]
    assert table.loc[table["omnibus_p"] >= 0.05, sidak_columns].isna().all().all()


def test_questionnaire_table_covers_every_score(shipped):
    from ketapain_lib.rawdata.schema import SCORES

    assert list(shipped["questionnaires"]["score"]) == [s.name for s in SCORES]


def test_carryover_comes_from_the_previous_period_even_when_a_period_is_missing():
    values = pd.DataFrame({"patient_id": ["P01", "P01"], "period": [1, 3], "auc": [1.0, 2.0]})
    infusions = pd.DataFrame({"patient_id": ["P01"] * 3, "period": [1, 2, 3],
                              "treatment": ["placebo", "ketamine", "ketamine_magnesium"]})
    randomization = pd.DataFrame({"patient_id": ["P01"], "sequence": ["P-K-M"]})
    frame = models.crossover_frame(values, infusions, randomization)
    assert frame["carryover"].tolist() == ["none", "ketamine"]  # period 3 follows the ketamine period 2


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_ledger_flags_model_numbers_refitted_on_the_log_scale(shipped):
    from ketapain_lib.paper import ledger

    assert ledger.log_scale_keys(shipped) == set()  # the shipped data pass the normality check
    summary = shipped["primary"]["summary"].copy()
    summary["transform"] = "log(y)"
    altered = {**shipped, "primary": {**shipped["primary"], "summary": summary}}
    flagged = ledger.log_scale_keys(altered)
    assert {"auc35_locf_omnibus_p", "auc35_locf_icc", "auc35_es_ketamine_vs_placebo_p"} <= flagged
    table = ledger.ledger(load_trial(), altered).set_index("key")
    assert table.at["auc35_locf_icc", "status"] == "log scale"
    assert table.at["flow_screened", "status"] == "match"
