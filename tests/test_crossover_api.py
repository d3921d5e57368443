"""The crossover API takes any crossover: treatment names, period labels, missing periods; bad input, one clear error."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ketapain_lib.rawdata.load import load_trial
from ketapain_lib.stats import crossover, derive
from ketapain_lib.stats.crossover import FORMULAS
from ketapain_lib.stats.crossover_data import crossover_frame

TREATMENT_TERM = "C(treatment, Treatment('placebo'))"


def two_by_two(patients: int = 12, period_labels=(1, 2), seed: int = 3):
    """A 2x2 crossover (sequences AB and BA) with treatments named A and B; B lowers the outcome by 5."""
    rng = np.random.default_rng(seed)
    rows, infusions, randomization = [], [], []
    for i in range(patients):
        pid, sequence = f"S{i:02d}", ("A", "B") if i % 2 == 0 else ("B", "A")
        level = rng.normal(50, 8)
        randomization.append({"patient_id": pid, "sequence": "-".join(sequence)})
        for label, treatment in zip(period_labels, sequence):
            infusions.append({"patient_id": pid, "period": label, "treatment": treatment})
            rows.append({"patient_id": pid, "period": label,
                         "y": level - 5.0 * (treatment == "B") + rng.normal(0, 3)})
    return pd.DataFrame(rows), pd.DataFrame(infusions), pd.DataFrame(randomization)


def test_a_two_by_two_crossover_with_its_own_treatment_names_is_fitted():
    values, infusions, randomization = two_by_two()
    frame = crossover.crossover_frame(values, infusions, randomization, outcome="y", reference="A")
    assert list(frame["treatment"].cat.categories) == ["A", "B"]
    fit = crossover.fit_crossover(frame, "no_carryover", "REML")
    pairwise = fit.pairwise()
    assert list(pairwise["comparison"]) == ["B vs A"]
    assert -9 < pairwise["estimate"].item() < -1 and pairwise["p"].item() < 0.05
    # the within-patient difference, by hand: a balanced 2x2 without period effect gives the same estimate
    wide = values.merge(infusions).pivot(index="patient_id", columns="treatment", values="y")
    assert pairwise["estimate"].item() == pytest.approx((wide["B"] - wide["A"]).mean(), rel=1e-9)


def test_the_reference_level_is_the_callers_choice():
    values, infusions, randomization = two_by_two()
    frame = crossover.crossover_frame(values, infusions, randomization, outcome="y", reference="B")
    assert list(frame["treatment"].cat.categories) == ["B", "A"]
    with pytest.raises(ValueError, match="reference treatment 'C'"):
        crossover.crossover_frame(values, infusions, randomization, outcome="y", reference="C")


@pytest.mark.parametrize("labels", [(2, 4), (1.5, 2.5), ("first", "second")])
def test_period_labels_are_ordered_by_the_schedule_and_carry_over_follows(labels):
    values, infusions, randomization = two_by_two(period_labels=labels)
    order = list(labels) if isinstance(labels[0], str) else None   # text labels: the caller gives the order
    frame = crossover.crossover_frame(values, infusions, randomization, outcome="y", reference="A",
                                      carryover="previous_treatment", period_order=order)
    first = frame["period"] == frame["period"].iloc[0] if not isinstance(labels[0], str) else \
        frame["period"].astype(str) == labels[0]
    assert (frame.loc[first, "carryover"] == "none").all()
    assert set(frame.loc[~first, "carryover"]) == {"A", "B"}  # not "none": the previous period is found
    if not isinstance(labels[0], str):
        assert sorted(set(frame["period"])) == list(labels)    # not truncated


def test_missing_periods_keep_the_carry_over_of_the_schedule():
    values, infusions, randomization = two_by_two()
    dropped = values[~((values["patient_id"] == "S00") & (values["period"] == 1))]
    frame = crossover.crossover_frame(dropped, infusions, randomization, outcome="y", reference="A",
                                      carryover="previous_treatment")
    row = frame[frame["patient_id"] == "S00"]
    assert list(row["period"]) == [2] and list(row["carryover"]) == ["A"]
    crossover.fit_crossover(frame, "no_carryover", "ML")


def test_infinite_outcome_is_refused_by_name():
    values, infusions, randomization = two_by_two()
    values.loc[3, "y"] = np.inf
    with pytest.raises(ValueError, match="infinite y for patient S01 period 2"):
        crossover.crossover_frame(values, infusions, randomization, outcome="y")


def test_a_patient_without_randomization_is_refused_not_dropped():
    values, infusions, randomization = two_by_two()
    with pytest.raises(ValueError, match=r"patient\(s\) S05 have no randomization"):
        crossover.crossover_frame(values, infusions, randomization[randomization["patient_id"] != "S05"],
                                  outcome="y")


def test_a_value_without_an_infusion_is_refused():
    values, infusions, randomization = two_by_two()
    with pytest.raises(ValueError, match="without an infusion"):
        crossover.crossover_frame(values, infusions[infusions["patient_id"] != "S02"], randomization, outcome="y")


def test_a_single_patient_is_refused_with_the_reason():
    values, infusions, randomization = two_by_two(patients=1)
    frame = crossover.crossover_frame(values, infusions, randomization, outcome="y", reference="A")
    with pytest.raises(ValueError, match="single patient"):
        crossover.fit_crossover(frame, "treatment_only", "REML")


def test_a_treatment_outside_the_levels_is_refused():
    values, infusions, randomization = two_by_two()
    with pytest.raises(ValueError, match=r"treatment\(s\) \['B'\] not among the levels"):
        crossover.crossover_frame(values, infusions, randomization, outcome="y", treatments=["A", "C"])


def test_an_aliased_term_is_dropped_with_a_note_not_a_huge_standard_error():
    # in a 2x2 crossover, carry-over is aliased with the sequence-by-period interaction; with sequence in the
    # model and "previous treatment" coding, one carry-over column cannot be estimated and must be dropped
    values, infusions, randomization = two_by_two()
    frame = crossover.crossover_frame(values, infusions, randomization, outcome="y", reference="A",
                                      carryover="previous_treatment")
    fit = crossover.fit_crossover(frame, "paper", "REML")
    assert any("aliased" in note or "dropped" in note for note in fit.notes), fit.notes
    assert fit.fixed_effects()["se"].max() < 100


@pytest.mark.parametrize("formula", [f"y ~ {template.format(treatment=TREATMENT_TERM)}" for template in FORMULAS.values()]
                         + ["y ~ C(treatment) * C(sequence)", "y ~ C(treatment) + C(sequence)"])
def test_design_matrix_equals_patsys(formula):
    """The direct design matrix is patsy's, column for column and name for name, on the report's data."""
    from patsy import dmatrices

    from ketapain_lib.stats.formulas import design_matrix

    trial = load_trial()
    data = crossover_frame(derive.auc(trial.diary, periods=trial.infusions), trial.infusions, trial.randomization)
    y, X, names = design_matrix(formula, data)
    outcome, expected = dmatrices(formula, data, return_type="dataframe", NA_action="raise")
    np.testing.assert_array_equal(y, outcome.to_numpy()[:, 0])
    if "*" in formula:  # patsy orders the interaction columns its own way: compare as sets of columns
        assert sorted(map(tuple, X.T.tolist())) == sorted(map(tuple, expected.to_numpy().T.tolist()))
        assert len(names) == len(expected.columns)
    else:
        assert names == list(expected.columns)
        np.testing.assert_array_equal(X, expected.to_numpy())
