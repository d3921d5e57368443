"""statsmodels and scipy.stats on the computation path: Sidak, the sample size, the exact power, the MixedLM check
(the private-name scan of the whole library is in test_shape.py)."""
from __future__ import annotations

import math
import warnings
from dataclasses import astuple

import numpy as np
import pytest

from ketapain_lib.stats import crossover, planning, power


# ----------------------------------------------------------------------------------------------- Sidak
def test_sidak_is_statsmodels_multipletests():
    from statsmodels.stats.multitest import multipletests

    from fractions import Fraction

    p = np.array([0.0, 1e-9, 0.003, 0.02, 0.3, 0.9999, 1.0])
    for comparisons in (2, 3, 6):
        exact = [float(1 - (1 - Fraction(value)) ** comparisons) for value in p]  # 1 - (1 - p)^k, exactly
        np.testing.assert_allclose(crossover.sidak(p, comparisons), exact, rtol=1e-14, atol=0)
        with np.errstate(divide="ignore"):  # statsmodels' log1p(-p) at p = 1
            direct = [multipletests([value] * comparisons, method="sidak")[1][0] for value in p]
        assert [crossover.sidak(float(value), comparisons) for value in p] == direct
    assert crossover.sidak(0.0) == 0.0 and crossover.sidak(1.0) == 1.0 and isinstance(crossover.sidak(0.2), float)


# ------------------------------------------------------------------------------------------ sample size
def _t_quantile_formula(difference, sd, correlation, alpha, target):
    """The former paired-t sample size: the smallest n with ((t_{1-a/2, n-1} + t_{power, n-1}) sd_d / d)^2 <= n."""
    from scipy import stats

    sd_difference = sd * math.sqrt(2 * (1 - correlation))
    n = 2
    while ((stats.t.ppf(1 - alpha / 2, n - 1) + stats.t.ppf(target, n - 1)) * sd_difference / difference) ** 2 > n:
        n += 1
    return n


def test_paired_t_sample_size_is_statsmodels_and_keeps_the_printed_numbers():
    """statsmodels' exact paired-t sample size gives the former formula's 9 on the paper's inputs and at every
    corner of the audit's rounding box (the numbers the report prints)."""
    from statsmodels.stats.power import TTestPower

    from ketapain_lib.paper.published import planning_inputs

    inputs = planning_inputs()
    for difference in (inputs["difference"] - 0.5, inputs["difference"], inputs["difference"] + 0.5):
        for sd in (inputs["sd"] - 0.5, inputs["sd"], inputs["sd"] + 0.5):
            args = (difference, sd, inputs["correlation"], inputs["alpha"], inputs["power"])
            result = planning.crossover_sample_size(*args)
            solved = TTestPower().solve_power(effect_size=difference / result["sd_difference"], alpha=inputs["alpha"],
                                              power=inputs["power"])
            assert result["n_t"] == math.ceil(solved) == _t_quantile_formula(*args)


def _upper_tails(noncentrality, df, alpha):
    """The two-sided power as two upper tails of scipy.stats.nct, defined at every noncentrality."""
    from scipy import stats

    critical = stats.t.isf(alpha / 2, df)
    return stats.nct.sf(critical, df, noncentrality) + stats.nct.sf(critical, df, -np.asarray(noncentrality))


def test_paired_t_power_is_r_power_t_test_and_defined_where_statsmodels_is_not():
    # R 4.x: print(power.t.test(n = 10, delta = 1, sd = 1, type = "paired", strict = TRUE)$power, digits = 15)
    assert planning.paired_t_power(1.0, 10, 0.05) == pytest.approx(0.803096856633018, rel=1e-10)
    for n in (2, 3, 6, 20):
        for effect_size in np.linspace(0.1, 30, 60):
            expected = float(_upper_tails(effect_size * math.sqrt(n), n - 1, 0.02))
            assert planning.paired_t_power(effect_size, n, 0.02) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert planning.crossover_sample_size(100, 10, 0.5, 0.02, 0.9)["n_t"] == 3   # statsmodels' NaN region
    with pytest.raises(ValueError, match="power"):
        planning.crossover_sample_size(57, 38, 0.5, 0.02, 1.0)


def test_exact_power_is_statsmodels_ttestpower_and_completed_where_that_is_nan():
    """Where TTestPower is defined, the power is its value exactly; where its lower tail is NaN (large
    noncentralities at small df), the upper-tail sum. When statsmodels is defined everywhere, drop the fallback."""
    from statsmodels.stats.power import TTestPower

    noncentrality = np.linspace(-12, 12, 241)
    undefined_somewhere = False
    for df in (1, 5, 36, 500):
        ours = power.two_sided_t_power(noncentrality, df, 0.02)
        theirs = TTestPower().power(effect_size=noncentrality, nobs=1, alpha=0.02, df=df)
        defined = np.isfinite(theirs)
        undefined_somewhere |= not defined.all()
        np.testing.assert_array_equal(ours[defined], theirs[defined])
        np.testing.assert_allclose(ours, _upper_tails(noncentrality, df, 0.02), rtol=1e-12, atol=1e-15)
        assert np.isfinite(ours).all()
    assert undefined_somewhere


# ---------------------------------------------------------------------------------------- MixedLM check
@pytest.fixture(scope="module")
def primary_data():
    from ketapain_lib.design import PRIMARY
    from ketapain_lib.rawdata.load import load_trial
    from ketapain_lib.stats import derive

    trial = load_trial()
    values = derive.auc(trial.diary, *astuple(PRIMARY), periods=trial.infusions)
    return crossover.crossover_frame(values, trial.infusions, trial.randomization)


@pytest.mark.slow  # two statsmodels fits: a second or two
def test_mixedlm_agrees_with_the_library_on_the_primary_model(primary_data):
    check = crossover.mixedlm_check(primary_data)
    fit = crossover.fit_with_normality_check(primary_data, "paper", "ML")
    assert check["term"].tolist() == fit.kept_names and len(check) == len(fit.core.beta)
    scale = check["estimate"].abs().max()
    assert check["estimate_difference"].abs().max() <= 1e-6 * scale
    np.testing.assert_array_equal(check["estimate"], fit.core.beta)
    # every patient has every period: the Hessian's fixed-effect and variance blocks are orthogonal, equal SEs
    np.testing.assert_allclose(check["se_statsmodels"], check["se"], rtol=1e-6)
    np.testing.assert_allclose(check["se_statsmodels_fixed_block"], check["se"], rtol=1e-6)
    assert not check["label"].str.contains(r"\[T\.|C\(", regex=True).any()


@pytest.mark.slow  # two statsmodels fits: a second or two
def test_the_standard_error_difference_is_the_full_hessian(primary_data):
    """With missing periods statsmodels' SEs (the full Hessian inverted) differ from the library's; the
    fixed-effect block of statsmodels' own Hessian gives the library's back."""
    incomplete = primary_data.drop(index=primary_data.index[[1, 5, 9, 16, 22]]).reset_index(drop=True)
    check = crossover.mixedlm_check(incomplete)
    assert check["estimate_difference"].abs().max() <= 1e-6 * check["estimate"].abs().max()
    assert (check["se_difference"].abs() / check["se"]).max() > 1e-4
    np.testing.assert_allclose(check["se_statsmodels_fixed_block"], check["se"], rtol=1e-6)


# ----------------------------------------------------------------------------------------- private names
