"""Invariances of the crossover API, by property-based tests (hypothesis): row order, patients' labels, any
names of treatments, sequences and periods, and affine transforms of the outcome.

Each property runs twice: a few examples in the fast tier, full strength under ``slow``. The base is the
Williams 4x4 reference dataset (four treatments, four periods), fitted by REML with the paper's model
(treatment, sequence, carry-over), whose results agree with R (``test_crossover_edges.py``).
"""
from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ketapain_lib.stats import crossover

DATA = pd.read_csv(Path(__file__).resolve().parent / "reference" / "edge_williams_4x4.csv", dtype={"patient_id": str})
TREATMENTS = ["A", "B", "C", "D"]
FAST, FULL = 4, 150
COLUMNS = ["estimate", "se", "z", "p", "df_kr", "p_kr"]
TESTS = ["F_kr", "ddf_kr", "p_kr", "ddf_satterthwaite", "p_satterthwaite"]


def tables(data: pd.DataFrame = DATA):
    values = data[["patient_id", "period", "y"]]
    infusions = data[["patient_id", "period", "treatment"]]
    randomization = data[["patient_id", "sequence"]].drop_duplicates()
    return values, infusions, randomization


def results(values, infusions, randomization, **options) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    frame = crossover.crossover_frame(values, infusions, randomization, outcome="y", **options)
    fit = crossover.fit_crossover(frame, "paper", "REML")
    return fit.pairwise(), fit.small_sample(), fit.loglik


BASE = results(*tables(), reference="A")


def assert_same(got, expected=BASE, scale: float = 1.0, rel: float = 1e-9) -> None:
    """Estimates and SEs times ``scale`` (its absolute value for SEs); tests, df and P unchanged."""
    pairwise, table, _ = got
    want_pairwise, want_table, _ = expected
    np.testing.assert_allclose(pairwise["estimate"], want_pairwise["estimate"] * scale, rtol=rel, atol=0)
    np.testing.assert_allclose(pairwise["se"], want_pairwise["se"] * abs(scale), rtol=rel, atol=0)
    for column in ("p", "df_kr", "p_kr"):
        np.testing.assert_allclose(pairwise[column], want_pairwise[column], rtol=rel, atol=0)
    for column in TESTS:
        np.testing.assert_allclose(table[column], want_table[column], rtol=rel, atol=0)


COMMON = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
#: The fast tier: a few examples, the same on every run. The slow tier: full strength, new examples each run.
FAST_TIER = settings(max_examples=FAST, derandomize=True, **COMMON)
FULL_TIER = settings(max_examples=FULL, **COMMON)


# labels with quotes, formula characters, spaces and non-ASCII letters
LABEL = st.text(alphabet=st.sampled_from(list(string.ascii_letters[:6]) + list("'\"+*~:()[] -éñ漢0")),
                min_size=1, max_size=8)


def _row_order(seed):
    rng = np.random.default_rng(seed)
    values, infusions, randomization = tables()
    shuffled = [table.iloc[rng.permutation(len(table))] for table in (values, infusions, randomization)]
    assert_same(results(*shuffled, reference="A"))


def _patient_labels(labels):
    mapping = dict(zip(sorted(DATA["patient_id"].unique()), labels))
    assert_same(results(*tables(DATA.assign(patient_id=DATA["patient_id"].map(mapping))), reference="A"))


def _renamed(treatments, sequences, periods):
    names = dict(zip(TREATMENTS, treatments))
    sequence_names = dict(zip(sorted(DATA["sequence"].unique()), (f"sequence {s}" for s in sequences)))
    period_names = dict(zip(sorted(DATA["period"].unique()), periods))
    renamed = DATA.assign(treatment=DATA["treatment"].map(names), sequence=DATA["sequence"].map(sequence_names),
                          period=DATA["period"].map(period_names))
    got = results(*tables(renamed), treatments=treatments, reference=treatments[0], period_order=periods)
    assert list(got[0]["comparison"]) == [f"{names[b]} vs {names[a]}" for a, b in
                                          (pair.split(" vs ")[::-1] for pair in BASE[0]["comparison"])]
    assert_same(got)


def _affine(exponent, negative, shift):
    scale = (-1.0 if negative else 1.0) * 10.0 ** exponent
    values, infusions, randomization = tables()
    # the shift in the outcome's own units, then the scale: y * 1e-4 + 1e6 would hold the data to 1e-10 / 1e-4,
    # a precision of the input, not of the fit
    transformed = values.assign(y=(values["y"] + shift) * scale)
    assert_same(results(transformed, infusions, randomization, reference="A"), scale=scale, rel=1e-6)


@pytest.mark.parametrize("exponent, shift", [(-6, 0.0), (6, 0.0), (0, 1e6), (5.5, 0.0)])
def test_affine_extremes(exponent, shift):
    """The ends of the range always run: y times 1e-6 or 1e6 (df and P once depended on the scale), y + 1e6."""
    _affine(exponent, False, shift)


# --------------------------------------------------------------------------- the properties, in both tiers

SEEDS = st.integers(0, 2 ** 32 - 1)
PATIENTS = st.lists(LABEL, min_size=12, max_size=12, unique=True)
FOUR = st.lists(LABEL, min_size=4, max_size=4, unique=True)
AFFINE = (st.floats(-6, 6), st.booleans(), st.sampled_from([0.0, -3.5, 1e3, 1e6]))


@FAST_TIER
@given(SEEDS)
def test_row_order_changes_nothing(seed):
    _row_order(seed)


@pytest.mark.slow
@FULL_TIER
@given(SEEDS)
def test_row_order_changes_nothing_full_strength(seed):
    _row_order(seed)


@FAST_TIER
@given(PATIENTS)
def test_patient_labels_change_nothing(labels):
    _patient_labels(labels)


@pytest.mark.slow
@FULL_TIER
@given(PATIENTS)
def test_patient_labels_change_nothing_full_strength(labels):
    _patient_labels(labels)


@FAST_TIER
@given(FOUR, FOUR, FOUR)
def test_any_names_of_treatments_sequences_and_periods_change_nothing(treatments, sequences, periods):
    _renamed(treatments, sequences, periods)


@pytest.mark.slow
@FULL_TIER
@given(FOUR, FOUR, FOUR)
def test_any_names_of_treatments_sequences_and_periods_change_nothing_full_strength(treatments, sequences, periods):
    _renamed(treatments, sequences, periods)


@FAST_TIER
@given(*AFFINE)
def test_affine_transforms_of_the_outcome_transform_the_estimates_only(exponent, negative, shift):
    _affine(exponent, negative, shift)


@pytest.mark.slow
@FULL_TIER
@given(*AFFINE)
def test_affine_transforms_of_the_outcome_transform_the_estimates_only_full_strength(exponent, negative, shift):
    _affine(exponent, negative, shift)
