"""ketapain_lib.stats.distributions against scipy.stats (the same special functions: equal values) and the
Shapiro-Wilk test against R's shapiro.test (tests/reference/make_shapiro_reference.R)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ketapain_lib.stats import distributions as dist

REFERENCE = json.loads((Path(__file__).parent / "reference" / "shapiro_reference.json").read_text())
X = np.concatenate([np.linspace(-40, 40, 161), [0.0, 1e-12, 7.5, np.inf, -np.inf, np.nan]])
Q = np.concatenate([np.linspace(0, 1, 101), [1e-300, 1e-12, 1 - 1e-12, np.nan]])
DF = [1, 2.5, 7, 18, 36, 1e4]


def _same(ours, theirs):
    np.testing.assert_array_equal(np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float))


def test_normal_tails_and_quantiles_equal_scipy_stats():
    from scipy import stats  # the reference, imported where a test needs it (a second per worker)
    _same(dist.norm_cdf(X), stats.norm.cdf(X))
    _same(dist.norm_sf(X), stats.norm.sf(X))
    _same(dist.norm_ppf(Q), stats.norm.ppf(Q))
    _same(dist.norm_isf(Q), stats.norm.isf(Q))


@pytest.mark.parametrize("df", DF)
def test_t_chi2_f_tails_and_quantiles_equal_scipy_stats(df):
    from scipy import stats  # the reference, imported where a test needs it (a second per worker)
    _same(dist.t_sf(X, df), stats.t.sf(X, df))
    _same(dist.t_ppf(Q, df), stats.t.ppf(Q, df))
    positive = np.abs(X)
    _same(dist.chi2_sf(positive, df), stats.chi2.sf(positive, df))
    _same(dist.chi2_isf(Q, df), stats.chi2.isf(Q, df))
    for dfd in (3, 17.2, 400):
        _same(dist.f_sf(positive, df, dfd), stats.f.sf(positive, df, dfd))


@pytest.mark.parametrize("noncentrality", [0.0, 1.5, -3.0, 8.5, 12.0, -20.0])
def test_noncentral_t_tail_equals_scipy_stats(noncentrality):
    from scipy import stats  # the reference, imported where a test needs it (a second per worker)
    for df in (3, 17, 36):
        _same(dist.nct_sf(X[np.isfinite(X)], df, noncentrality), stats.nct.sf(X[np.isfinite(X)], df, noncentrality))


def test_t_tests_agree_with_scipy_stats():
    from scipy import stats  # the reference, imported where a test needs it (a second per worker)
    rng = np.random.default_rng(7)
    for _ in range(60):
        first, second = rng.normal(0, rng.uniform(0.1, 50), rng.integers(2, 30)), rng.normal(1, 3, rng.integers(2, 30))
        for equal in (True, False):
            ours, theirs = dist.ttest_ind(first, second, equal), stats.ttest_ind(first, second, equal_var=equal)
            np.testing.assert_allclose(ours, (theirs.statistic, theirs.pvalue), rtol=1e-12)
            summaries = (first.mean(), first.std(ddof=1), len(first), second.mean(), second.std(ddof=1), len(second))
            theirs = stats.ttest_ind_from_stats(*summaries, equal_var=equal)
            np.testing.assert_allclose(dist.ttest_ind_from_stats(*summaries, equal), (theirs.statistic, theirs.pvalue),
                                       rtol=1e-12)
        paired = second[: len(first)] if len(second) >= len(first) else np.resize(second, len(first))
        theirs = stats.ttest_rel(first, paired)
        np.testing.assert_allclose(dist.ttest_rel(first, paired), (theirs.statistic, theirs.pvalue), rtol=1e-12)


def test_shapiro_wilk_equals_r_on_every_reference_sample():
    worst = 0.0
    for entry in REFERENCE:
        w, p = dist.shapiro(entry["x"])
        worst = max(worst, abs(w - entry["w"]) / entry["w"], abs(p - entry["p"]) / entry["p"])
    assert len(REFERENCE) >= 80 and worst < 1e-9, worst


def test_shapiro_wilk_is_within_scipy_stats_rounding_and_ignores_order_and_location():
    from scipy import stats  # the reference, imported where a test needs it (a second per worker)
    rng = np.random.default_rng(11)
    for n in [3, 4, 5, 6, 11, 12, 25, 200]:
        x = rng.gamma(2.0, 3.0, n)
        ours, theirs = dist.shapiro(x), stats.shapiro(x)
        # SciPy's port keeps single-precision constants: its W and P differ from R's (and ours) below 1e-6
        np.testing.assert_allclose(ours, (theirs.statistic, theirs.pvalue), rtol=1e-6)
        assert dist.shapiro(rng.permutation(x)) == ours
        np.testing.assert_allclose(dist.shapiro(x + 1e4), ours, rtol=1e-9)
    assert dist.shapiro([2.0, 2.0, 2.0, 2.0]) == (1.0, 1.0)
    with pytest.raises(ValueError):
        dist.shapiro([1.0, 2.0])


@pytest.mark.slow  # a fresh interpreter importing the whole report: 3 s
def test_the_report_imports_no_scipy_stats():
    """scipy.stats takes a second to import: the book's pre-execution imports the report without it."""
    code = ("import sys; from ketapain_lib.report import book, registry, prerun, export; "
            "import ketapain_lib.provenance.audit, ketapain_lib.provenance.ledger; "
            "print('scipy.stats' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "False"
