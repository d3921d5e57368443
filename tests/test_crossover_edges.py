"""The crossover API at its edges (issue 26): any labels, any scale, the designs it accepts checked against R,
and one clear ``ValueError`` for everything else.

The R numbers are in ``tests/reference/edge_reference.json`` (``make_edge_reference.R``, lme4 / lmerTest /
pbkrtest, on the datasets of ``make_edge_datasets.py``); R is not needed here.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_lib.stats import crossover, glmm

HERE = Path(__file__).resolve().parent / "reference"
REFERENCE = json.loads((HERE / "edge_reference.json").read_text(encoding="utf-8"))["fits"]
R_FITS = sorted(key for key in REFERENCE if not key.endswith("/within"))


def tables(name: str, relabel: dict | None = None):
    """values, infusions and randomization of a reference dataset; ``relabel`` maps treatments to new names."""
    data = pd.read_csv(HERE / f"{name}.csv", dtype={"patient_id": str})
    relabel = relabel or {}
    treatment = data["treatment"].map(lambda t: relabel.get(t, t))
    sequence = data["sequence"].map(lambda s: "-".join(relabel.get(t, t) for t in s))
    values = data[["patient_id", "period", "y"]]
    infusions = data.assign(treatment=treatment)[["patient_id", "period", "treatment"]]
    randomization = data.assign(sequence=sequence)[["patient_id", "sequence"]].drop_duplicates().reset_index(drop=True)
    return values, infusions, randomization


def frame(name: str, relabel: dict | None = None, **options) -> pd.DataFrame:
    values, infusions, randomization = tables(name, relabel)
    reference = (relabel or {}).get("A", "A")
    return crossover.crossover_frame(values, infusions, randomization, outcome="y", reference=reference, **options)


def assert_matches_r(fit: crossover.CrossoverFit, expected: dict, rel: float = 1e-6) -> None:
    """Log-likelihood, variance components and (REML) every contrast and omnibus test, as R gives them."""
    assert fit.loglik == pytest.approx(expected["loglik"], rel=1e-8)
    assert fit.residual_variance == pytest.approx(expected["residual_variance"], rel=rel)
    assert fit.patient_variance == pytest.approx(expected["patient_variance"], rel=rel, abs=1e-8)
    if fit.method != "REML":
        return
    table = fit.small_sample().set_index("test")
    pairwise = fit.pairwise().reset_index(drop=True)
    for i, row in enumerate(expected["pairwise"]):
        got, small = pairwise.iloc[i], table.iloc[i + 1]
        assert got["estimate"] == pytest.approx(row["estimate"], rel=rel, abs=1e-9)
        assert got["se"] == pytest.approx(row["se"], rel=rel)
        assert small["ddf_kr"] == pytest.approx(row["df_kr"], rel=rel)
        assert small["p_kr"] == pytest.approx(row["p_kr"], rel=rel)
        assert small["ddf_satterthwaite"] == pytest.approx(row["df_satterthwaite"], rel=rel)
        assert small["p_satterthwaite"] == pytest.approx(row["p_satterthwaite"], rel=rel)
    omnibus, wanted = table.iloc[0], expected["omnibus"]
    assert omnibus["F_kr"] == pytest.approx(wanted["F_kr"], rel=rel)
    assert omnibus["ddf_kr"] == pytest.approx(wanted["ddf_kr"], rel=rel)
    assert omnibus["p_kr"] == pytest.approx(wanted["p_kr"], rel=rel)
    assert omnibus["ddf_satterthwaite"] == pytest.approx(wanted["ddf_satterthwaite"], rel=rel)
    assert omnibus["p_satterthwaite"] == pytest.approx(wanted["p_satterthwaite"], rel=rel)


# --------------------------------------------------------------------------- the new designs, against R

@pytest.mark.parametrize("key", R_FITS)
def test_each_new_design_agrees_with_r(key):
    """2x2, Williams 4x4 with four treatments, replicate ABBA/BAAB, unequal sequences, a fit on the boundary."""
    name, model, method = key.split("/")
    fit = crossover.fit_crossover(frame(name), model, method)
    assert [c for c in fit.pairwise()["comparison"]] == [row["comparison"] for row in REFERENCE[key]["pairwise"]] \
        if method == "REML" else True
    assert_matches_r(fit, REFERENCE[key])
    singular = any("singular fit" in note for note in fit.notes)
    assert singular == REFERENCE[key]["singular"]


def test_the_carry_over_of_the_python_schedule_is_the_r_datasets():
    for name in {key.split("/")[0] for key in REFERENCE}:
        data = pd.read_csv(HERE / f"{name}.csv", dtype={"patient_id": str})
        built = frame(name).merge(data, on=["patient_id", "period"], suffixes=("", "_r"))
        assert (built["carryover"] == built["carryover_r"]).all() and len(built) == len(data)


# --------------------------------------------------------------------------- 1. text period labels

TEXT = {1: "one", 2: "two", 3: "three"}


def text_period_tables():
    values, infusions, randomization = tables("edge_text_periods")
    return values.assign(period=values["period"].map(TEXT)), infusions.assign(period=infusions["period"].map(TEXT)), \
        randomization


def test_1_text_periods_without_an_order_are_refused():
    values, infusions, randomization = text_period_tables()
    with pytest.raises(ValueError) as error:
        crossover.crossover_frame(values, infusions, randomization, outcome="y", reference="A")
    assert str(error.value) == ("period labels ['one', 'three', 'two'] are text, whose order is not known: give the "
                                "periods as numbers, as an ordered categorical (pandas.Categorical(..., "
                                "ordered=True)) or in schedule order with period_order=[...]")


def test_1_text_periods_in_the_callers_order_give_rs_fit():
    values, infusions, randomization = text_period_tables()
    expected = REFERENCE["edge_text_periods/paper/ML"]["loglik"]
    given = crossover.crossover_frame(values, infusions, randomization, outcome="y", reference="A",
                                      period_order=["one", "two", "three"])
    assert crossover.fit_crossover(given, "paper", "ML").loglik == pytest.approx(expected, rel=1e-9)
    ordered = infusions.assign(period=pd.Categorical(infusions["period"], ["one", "two", "three"], ordered=True))
    categorical = crossover.crossover_frame(values, ordered, randomization, outcome="y", reference="A")
    assert crossover.fit_crossover(categorical, "paper", "ML").loglik == pytest.approx(expected, rel=1e-9)
    for method in ("ML", "REML"):
        assert_matches_r(crossover.fit_crossover(given, "paper", method), REFERENCE[f"edge_text_periods/paper/{method}"])
    # the alphabetical order (the old behaviour) contradicts the sequences' labels, and is refused
    with pytest.raises(ValueError) as error:
        crossover.crossover_frame(values, infusions, randomization, outcome="y", reference="A",
                                  period_order=["one", "three", "two"])
    assert str(error.value) == ("patient S01 is randomized to sequence 'A-B-C', which gives C in period two, but the "
                                "infusions record B")
    # with labels that spell nothing it puts the carry-over on the wrong periods: another fit than R's
    coded = randomization.assign(sequence="s" + randomization["sequence"].str.replace("-", ""))
    alphabetical = crossover.crossover_frame(values, infusions, coded, outcome="y", reference="A",
                                             period_order=["one", "three", "two"])
    assert abs(crossover.fit_crossover(alphabetical, "paper", "ML").loglik - expected) > 0.1


# --------------------------------------------------------------------------- 2. the outcome's scale

@pytest.mark.parametrize("scale, shift", [(1e-6, 0.0), (3e5, 0.0), (1e6, 0.0), (1.0, 1e6)])
def test_2_small_sample_tests_do_not_depend_on_the_outcomes_scale(scale, shift):
    data = frame("edge_williams_4x4")
    fit = crossover.fit_crossover(data.assign(y=data["y"] * scale + shift), "period", "REML")
    table = fit.small_sample()
    assert np.isfinite(table[["ddf_kr", "p_kr", "ddf_satterthwaite", "p_satterthwaite"]].to_numpy()).all()
    expected = REFERENCE["edge_williams_4x4/period/REML"]
    got = table.iloc[1:].reset_index(drop=True)
    for i, row in enumerate(expected["pairwise"]):
        assert got.at[i, "ddf_satterthwaite"] == pytest.approx(row["df_satterthwaite"], rel=1e-6)
        assert got.at[i, "p_satterthwaite"] == pytest.approx(row["p_satterthwaite"], rel=1e-6)
        assert got.at[i, "ddf_kr"] == pytest.approx(row["df_kr"], rel=1e-6)
        assert got.at[i, "p_kr"] == pytest.approx(row["p_kr"], rel=1e-6)


# --------------------------------------------------------------------------- 3. unchecked inputs

def two_by_two():
    return tables("edge_2x2")


def test_3_a_sequence_that_contradicts_the_infusions_is_refused():
    values, infusions, randomization = two_by_two()
    swapped = infusions.copy()
    first = swapped.index[swapped["patient_id"] == "S01"]
    swapped.loc[first, "treatment"] = swapped.loc[first, "treatment"].to_numpy()[::-1]
    with pytest.raises(ValueError) as error:
        crossover.crossover_frame(values, swapped, randomization, outcome="y")
    assert str(error.value) == ("patient S01 is randomized to sequence 'A-B', which gives A in period 1, but the "
                                "infusions record B")
    # labels that spell no treatments: the patients of one sequence must have received the same schedule
    coded = randomization.assign(sequence=randomization["sequence"].map({"A-B": "first", "B-A": "second"}))
    with pytest.raises(ValueError) as error:
        crossover.crossover_frame(values, swapped, coded, outcome="y")
    assert str(error.value) == ("sequence 'first' does not match the infusions: in period 1 patient S01 received B "
                                "and patient S02 received A")


def test_3_an_unknown_carry_over_coding_is_refused():
    with pytest.raises(ValueError) as error:
        crossover.crossover_frame(*two_by_two(), outcome="y", carryover="pkshape")
    assert str(error.value) == ("carryover must be one of 'placebo_carries_nothing', 'previous_treatment', "
                                "not 'pkshape'")


def test_3_an_outcome_that_is_text_is_refused_not_dropped():
    values, infusions, randomization = two_by_two()
    values = values.astype({"y": object})
    values.loc[3, "y"] = "n/a"
    with pytest.raises(ValueError) as error:
        crossover.crossover_frame(values, infusions, randomization, outcome="y")
    assert str(error.value) == ("1 value(s) of y are not numbers, e.g. 'n/a' for patient S02 period 2 (row 3); leave "
                                "a missing outcome empty (NaN)")
    values.loc[3, "y"] = np.nan                    # a missing outcome is still dropped, as documented
    assert len(crossover.crossover_frame(values, infusions, randomization, outcome="y")) == len(values) - 1


# --------------------------------------------------------------------------- 4, 5. any label

LABELS = [("a'b\"c", "plain"), ("saline+placebo", "a*b"), ("x ~ y", "p: q"), ("é ñ", "C(x)[T.y]")]


@pytest.mark.parametrize("reference, other", LABELS)
def test_4_5_any_treatment_name_gives_rs_results(reference, other):
    relabel = {"A": reference, "B": other}
    for method in ("ML", "REML"):
        fit = crossover.fit_crossover(frame("edge_2x2", relabel), "period", method)
        assert not any("aliased" in note for note in fit.notes), fit.notes
        assert list(fit.pairwise()["comparison"]) == [f"{other} vs {reference}"]
        assert_matches_r(fit, REFERENCE[f"edge_2x2/period/{method}"])


def test_5_any_patient_sequence_and_period_label_gives_rs_results():
    values, infusions, randomization = tables("edge_2x2")
    patients = {p: f"pt {p} + 'x' ~ \"y\" * z: é" for p in randomization["patient_id"]}
    periods = {1: "first: (a+b)", 2: "second ~ 'c'"}
    order = pd.CategoricalDtype(list(periods.values()), ordered=True)
    values = values.assign(patient_id=values["patient_id"].map(patients), period=values["period"].map(periods))
    infusions = infusions.assign(patient_id=infusions["patient_id"].map(patients),
                                 period=infusions["period"].map(periods).astype(order))
    randomization = randomization.assign(patient_id=randomization["patient_id"].map(patients),
                                         sequence=randomization["sequence"].map({"A-B": "A*B ~ 'x'", "B-A": "B+A"}))
    data = crossover.crossover_frame(values, infusions, randomization, outcome="y", reference="A")
    assert_matches_r(crossover.fit_crossover(data, "period", "REML"), REFERENCE["edge_2x2/period/REML"])


def test_aliased_terms_are_named_by_term():
    fit = crossover.fit_crossover(frame("edge_2x2"), "paper", "REML")
    assert "dropped aliased term(s), not estimable beside the others: carry-over from B" in fit.notes


# --------------------------------------------------------------------------- 6, 7. duplicates and missing labels

def test_6_a_patient_randomized_twice_is_refused():
    values, infusions, randomization = two_by_two()
    twice = pd.concat([randomization, randomization.iloc[[2]]], ignore_index=True)
    with pytest.raises(ValueError) as error:
        crossover.crossover_frame(values, infusions, twice, outcome="y")
    assert str(error.value) == "randomization: patient S03 appears 2 times (rows 2, 14): a patient is randomized once"


def test_6_a_duplicated_patient_period_is_refused():
    values, infusions, randomization = two_by_two()
    with pytest.raises(ValueError) as error:
        crossover.crossover_frame(pd.concat([values, values.iloc[[4]]], ignore_index=True), infusions, randomization,
                                  outcome="y")
    assert str(error.value) == ("values: the outcome of patient S03 period 1 appears 2 times (rows 4, 28): one value "
                                "per patient and period")
    with pytest.raises(ValueError) as error:
        crossover.crossover_frame(values, pd.concat([infusions, infusions.iloc[[4]]], ignore_index=True),
                                  randomization, outcome="y")
    assert str(error.value) == ("infusions: the infusion of patient S03 period 1 appears 2 times (rows 4, 28): one "
                                "infusion per patient and period")


def test_7_a_missing_treatment_is_refused_by_row():
    values, infusions, randomization = two_by_two()
    infusions.loc[5, "treatment"] = np.nan
    with pytest.raises(ValueError) as error:
        crossover.crossover_frame(values, infusions, randomization, outcome="y")
    assert str(error.value) == "infusions: treatment is missing in row 5"
    data = frame("edge_2x2").astype({"treatment": object})
    data.loc[5, "treatment"] = np.nan
    with pytest.raises(ValueError) as error:
        crossover.fit_crossover(data, "period")
    assert str(error.value) == "treatment is missing in row(s) 5 of the data"
    with pytest.raises(ValueError) as error:
        crossover.fit_crossover(data.drop(columns="sequence"), "period")
    assert str(error.value) == "the data have no column 'sequence' (needed: y, patient_id, treatment, period, sequence)"


# --------------------------------------------------------------------------- 8. one patient per sequence

def test_8_one_patient_per_sequence_gives_the_within_patient_analysis_as_r():
    expected = REFERENCE["edge_one_per_sequence/period/within"]
    fit = crossover.fit_crossover(frame("edge_one_per_sequence"), "period", "REML")
    assert math.isnan(fit.patient_variance)
    assert fit.residual_variance == pytest.approx(expected["residual_variance"], rel=1e-9)
    assert ("between-patient variance not identifiable: the patient effect is confounded with the fixed effects "
            "(no between-patient residual degrees of freedom, e.g. one patient per sequence); the within-patient "
            "contrasts are estimated from the differences within patients, as with fixed patient effects, and the "
            "between-patient terms have no standard error") in fit.notes
    pairwise, table = fit.pairwise(), fit.small_sample()
    for i, row in enumerate(expected["pairwise"]):
        assert pairwise.at[i, "comparison"] == row["comparison"]
        assert pairwise.at[i, "estimate"] == pytest.approx(row["estimate"], rel=1e-9, abs=1e-12)
        assert pairwise.at[i, "se"] == pytest.approx(row["se"], rel=1e-9)
        assert pairwise.at[i, "df_kr"] == row["df"] and pairwise.at[i, "p_kr"] == pytest.approx(row["p"], rel=1e-9)
        assert table.at[i + 1, "ddf_satterthwaite"] == row["df"]
        assert table.at[i + 1, "p_satterthwaite"] == pytest.approx(row["p"], rel=1e-9)
    assert table.at[0, "F_kr"] == pytest.approx(expected["omnibus"]["F"], rel=1e-9)
    assert table.at[0, "p_kr"] == pytest.approx(expected["omnibus"]["p"], rel=1e-9)
    effects = fit.fixed_effects().set_index("term")["se"]
    assert np.isnan(effects["Intercept"]) and np.isfinite(effects["C(treatment, Treatment('A'))[T.B]"])


def test_8_a_two_by_two_with_two_patients_gives_the_paired_difference():
    data = frame("edge_2x2")
    two = data[data["patient_id"].isin(["S01", "S08"])]          # one patient of each sequence
    fit = crossover.fit_crossover(two, "no_carryover", "REML")
    row = fit.pairwise().iloc[0]
    # by hand: with period ignored, the B - A difference of each patient; the fixed-patient model has 1 df
    wide = two.pivot(index="patient_id", columns="treatment", values="y")
    difference = wide["B"] - wide["A"]
    assert row["estimate"] == pytest.approx(difference.mean(), rel=1e-12)
    assert row["se"] == pytest.approx(difference.std(ddof=1) / math.sqrt(2), rel=1e-9)
    assert row["df_kr"] == 1.0


# --------------------------------------------------------------------------- 9. a logit model with nothing to estimate

def test_9_a_logit_model_on_one_patient_or_without_events_is_refused():
    data = frame("edge_2x2")
    with pytest.raises(ValueError) as error:
        glmm.fit_logit_mixed(data.assign(y=0.0))
    assert str(error.value) == ("y is 0 in every period (no period has the event): no log-odds and no patient "
                                "variance can be estimated")
    with pytest.raises(ValueError) as error:
        glmm.fit_logit_mixed(data.assign(y=1.0))
    assert str(error.value) == ("y is 1 in every period (every period has the event): no log-odds and no patient "
                                "variance can be estimated")
    one = data[data["patient_id"] == "S01"].assign(y=[0.0, 1.0])
    with pytest.raises(ValueError) as error:
        glmm.fit_logit_mixed(one)
    assert str(error.value) == ("a single patient (S01): the patient variance of a logit mixed model is not "
                                "identifiable; at least two patients are needed")


def test_9_a_logit_model_takes_any_treatment_name():
    data = frame("edge_2x2", {"A": "x ~ y", "B": "a'b\"c"})
    rng = np.random.default_rng(5)
    fit = glmm.fit_logit_mixed(data.assign(y=(rng.random(len(data)) < 0.5).astype(float)))
    assert np.isfinite(fit.fixed_effects()["se"]).all() and fit.omnibus()["df"] == 1
