"""Beyond the paper: missing-data approaches, equivalence, Bayesian reading, exact power, responders."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_lib import load_trial
from ketapain_lib.stats import analyses
from ketapain_lib.stats import interpretation
from ketapain_lib.stats import power
from ketapain_lib.stats import sensitivity


@pytest.fixture(scope="module")
def beyond():
    return analyses.beyond_the_paper(load_trial())


def test_rubin_rules_by_hand():
    # estimates 1 and 3, variances 1 and 1: mean 2, within 1, between 2, total 1 + 1.5 * 2 = 4
    pooled = sensitivity.rubin(np.array([1.0, 3.0]), np.array([1.0, 1.0]), df_complete=1e9)
    assert pooled["estimate"] == 2.0 and pooled["se"] == pytest.approx(2.0)
    assert pooled["fraction_missing_information"] == pytest.approx(0.75)
    # m = 2: df_old = (m - 1) / gamma^2 = 1 / 0.5625
    assert pooled["df"] == pytest.approx(1 / 0.5625, rel=1e-6)
    same = sensitivity.rubin(np.array([2.0, 2.0]), np.array([1.0, 1.0]), df_complete=50)
    assert same["df"] == 50 and same["se"] == 1.0


def test_tost_by_hand():
    from scipy import stats  # the reference, imported where a test needs it (a second per worker)
    result = interpretation.tost(2.0, 1.0, 3.0)
    assert result["p_upper"] == pytest.approx(stats.norm.cdf(-1.0))
    assert result["p_lower"] == pytest.approx(stats.norm.sf(5.0))
    assert result["p"] == pytest.approx(0.158655, abs=1e-6) and not result["equivalent"]
    assert interpretation.tost(0.0, 1.0, 3.0)["equivalent"]


def test_posterior_by_hand():
    assert interpretation.normal_posterior(4.0, 2.0, None) == (4.0, 2.0)
    mean, sd = interpretation.normal_posterior(4.0, 2.0, 2.0)  # equal precisions: halfway, sd / sqrt(2)
    assert mean == pytest.approx(2.0) and sd == pytest.approx(math.sqrt(2.0))


def test_honest_reading_turns_contrasts_into_active_minus_placebo():
    from scipy import stats  # the reference, imported where a test needs it (a second per worker)
    pairwise = pd.DataFrame([
        {"first": "ketamine", "second": "placebo", "estimate": -10.0, "se": 5.0, "ci_low": -19.8, "ci_high": -0.2},
        {"first": "placebo", "second": "ketamine_magnesium", "estimate": 5.0, "se": 5.0, "ci_low": -4.8,
         "ci_high": 14.8},
        {"first": "ketamine", "second": "ketamine_magnesium", "estimate": -15.0, "se": 5.0, "ci_low": -24.8,
         "ci_high": -5.2},
    ])
    cids = pd.DataFrame([{"cid": "one point", "score_days": 35.0}])
    table = interpretation.honest_reading(pairwise, cids).set_index("contrast")
    assert list(table.index) == ["ketamine - placebo", "ketamine_magnesium - placebo"]
    assert table.at["ketamine_magnesium - placebo", "estimate"] == -5.0
    assert table.at["ketamine_magnesium - placebo", "ci_low"] == -14.8
    assert table.at["ketamine - placebo", "p_benefit_flat"] == pytest.approx(stats.norm.cdf(2.0))
    assert table.at["ketamine - placebo", "p_important_benefit_flat"] == pytest.approx(stats.norm.cdf(-5.0))
    # the sceptical prior shrinks towards no effect: a smaller probability of benefit
    assert table.at["ketamine - placebo", "p_benefit_sceptical"] < table.at["ketamine - placebo", "p_benefit_flat"]


POWER_REFERENCE = json.loads((Path(__file__).parent / "reference" / "power_reference.json").read_text())


def _reference_design(name: str) -> pd.DataFrame:
    return pd.read_csv(Path(__file__).parent / "reference" / f"{name}.csv", dtype={"patient_id": str})


@pytest.mark.parametrize("name", [k for k in POWER_REFERENCE if not k.startswith("paired")])
def test_exact_power_agrees_with_r(name):
    """R's lm() (patient fixed effects) and pt(ncp = ...): tests/reference/make_power_reference.R."""
    expected = POWER_REFERENCE[name]
    design = _reference_design(name)
    powers = power.exact_power(design, expected["deltas"], expected["sigma"])
    assert np.allclose(powers, expected["power"], rtol=1e-9, atol=1e-12)
    for level in (80, 90):
        assert power.detectable_difference(design, expected["sigma"], level / 100) == pytest.approx(
            expected[f"detectable_{level}"], rel=1e-8)


def test_exact_power_of_a_paired_design_is_r_power_t_test():
    design = pd.DataFrame({"patient_id": np.repeat(np.arange(10), 2), "period": [1, 2] * 10, "sequence": "PK",
                           "treatment": ["placebo", "ketamine"] * 10, "carryover": "none"})
    # power.t.test solves to its own tolerance (eps^0.25), hence 1e-5
    assert power.detectable_difference(design, 1.0, 0.8) == pytest.approx(
        POWER_REFERENCE["paired_n10_sd1_detectable_80"], rel=1e-5)


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_simulated_trials_agree_with_the_exact_power_and_do_not_depend_on_workers_or_ids(beyond):
    trial = load_trial()
    from ketapain_lib.stats import derive
    from ketapain_lib.stats import crossover as models

    data = models.crossover_frame(derive.auc(trial.diary, "average_pain", 35, "locf"), trial.infusions,
                                  trial.randomization)
    design = power.canonical_design(data)

    def simulated(delta, simulations, n_jobs):
        return power._simulate(design, delta, 80.0, 30.0, simulations, power.SEED, 0.05, n_jobs)

    # Monte Carlo estimates of the closed form, within 4 standard errors, under the null and two benefits
    for delta in (0.0, 20.0, 35.0):
        exact = float(power.exact_power(data, [delta], 30.0)[0])
        assert abs(simulated(delta, 4000, 2) - exact) < 4 * math.sqrt(exact * (1 - exact) / 4000)
    assert float(power.exact_power(data, [0.0], 30.0)[0]) == pytest.approx(0.05, abs=1e-12)
    assert simulated(20.0, 800, 1) == simulated(20.0, 800, 2)
    # the ids and the row order are not part of the design: relabelled, shuffled patients give the same power
    relabelled = data.assign(patient_id="X" + (99 - data["patient_id"].str[1:].astype(int)).astype(str))
    shuffled = relabelled.sample(frac=1.0, random_state=3)
    assert power._simulate(power.canonical_design(shuffled), 20.0, 80.0, 30.0, 800, power.SEED, 0.05, 1) == \
        simulated(20.0, 800, 1)
    assert power.exact_power(shuffled, [20.0], 30.0)[0] == power.exact_power(data, [20.0], 30.0)[0]
    curve = beyond["power_curve"]["power"].to_numpy()
    assert np.all(np.diff(curve) > 0) and curve[0] == pytest.approx(0.05) and curve[-1] > 0.99


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_detectable_difference_lies_on_the_power_curve(beyond):
    detectable = beyond["detectable"].set_index("power")["detectable_difference"]
    curve = beyond["power_curve"]
    for level in (0.8, 0.9):
        at_detectable = np.interp(detectable[level], curve["delta"], curve["power"])
        assert at_detectable == pytest.approx(level, abs=0.005)  # linear interpolation between 1-point steps


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_missing_data_approaches(beyond):
    missing = beyond["missing_data"]
    primary = analyses.primary_endpoint(load_trial())["pairwise"].set_index("comparison")
    locf = missing[missing["approach"] == "LOCF (paper)"].set_index("comparison")
    assert np.allclose(locf["estimate"], primary.loc[locf.index, "estimate"])
    assert missing["approach"].nunique() == 5
    complete = missing[missing["approach"] == "complete case"]["n_periods"].iloc[0]
    assert 0 < complete < 60
    ketamine = missing[missing["comparison"] == "ketamine vs placebo"].set_index("approach")["estimate"]
    mi = ketamine[[a for a in ketamine.index if a.startswith("multiple")][0]]
    # worse missing days under the active infusions can only reduce its apparent benefit
    assert mi < ketamine["pattern mixture, +1 point"] < ketamine["pattern mixture, +2 points"]


def test_responders_are_nested_and_counted_per_treatment():
    trial = load_trial()
    table = interpretation.responders(trial)
    assert set(table["threshold"]) == {"30% reduction", "50% reduction"}
    thirty = table[table["threshold"] == "30% reduction"].set_index("treatment")["responders"]
    fifty = table[table["threshold"] == "50% reduction"].set_index("treatment")["responders"]
    assert (fifty <= thirty).all() and (table["n"] == 20).all()
