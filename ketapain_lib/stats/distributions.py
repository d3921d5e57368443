"""The probability distributions and small tests the report needs, on ``scipy.special`` alone.

``scipy.stats`` takes about a second to import (it loads most of SciPy), a second on the path of every
build; the report needs only a few tail probabilities and quantiles, which ``scipy.stats`` itself computes
with the ``scipy.special`` functions called here, and three tests:

* the normal, Student t, chi-squared, F and noncentral t tails and quantiles (the same special functions as
  ``scipy.stats``, hence the same values);
* the Shapiro-Wilk test (:func:`shapiro`): Royston's algorithm AS R94, as R's ``shapiro.test`` computes it;
* Student's and Welch's two-sample t tests (:func:`ttest_ind`, :func:`ttest_ind_from_stats`) and the paired
  t test (:func:`ttest_rel`).

The tests check every function against ``scipy.stats`` and the Shapiro-Wilk test against R
(``tests/reference/make_shapiro_reference.R``).

>>> round(float(t_ppf(0.975, 10)), 4), round(float(norm_sf(1.96)), 4)
(2.2281, 0.025)
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special
from scipy.special import _ufuncs


def norm_cdf(x):
    """P(Z <= x) of a standard normal Z."""
    return special.ndtr(x)


def norm_sf(x):
    """P(Z > x) of a standard normal Z."""
    return special.ndtr(-np.asarray(x, dtype=float))


def norm_ppf(q):
    """The standard normal quantile of probability ``q``."""
    return special.ndtri(q)


def norm_isf(q):
    """The standard normal value exceeded with probability ``q``."""
    return -special.ndtri(q)


def t_sf(x, df):
    """P(T > x) of a Student t with ``df`` degrees of freedom."""
    return special.stdtr(df, -np.asarray(x, dtype=float))


def t_ppf(q, df):
    """The Student t quantile of probability ``q`` with ``df`` degrees of freedom."""
    q = np.asarray(q, dtype=float)
    return np.where(q == 0, -np.inf, special.stdtrit(df, q))[()]  # the support's lower end, as scipy.stats


def chi2_sf(x, df):
    """P(X > x) of a chi-squared X with ``df`` degrees of freedom."""
    return special.chdtrc(df, x)


def chi2_isf(q, df):
    """The chi-squared value with ``df`` degrees of freedom exceeded with probability ``q``."""
    return special.chdtri(df, q)


def f_sf(x, dfn, dfd):
    """P(F > x) of an F with (``dfn``, ``dfd``) degrees of freedom."""
    return special.fdtrc(dfn, dfd, x)


def nct_sf(x, df, noncentrality):
    """P(T > x) of a noncentral t with ``df`` degrees of freedom and the given noncentrality (Boost's, as
    ``scipy.stats.nct.sf``)."""
    with np.errstate(over="ignore"):
        return np.clip(_ufuncs._nct_sf(x, df, noncentrality), 0, 1)


def _ttest(mean1: float, var1: float, n1: int, mean2: float, var2: float, n2: int,
           equal_var: bool) -> tuple[float, float]:
    """(t, two-sided P) of two groups' means and variances, in the operations of ``scipy.stats.ttest_ind``."""
    if equal_var:
        df = n1 + n2 - 2.0
        pooled = ((n1 - 1) * var1 + (n2 - 1) * var2) / df
        denominator = np.sqrt(pooled * (1.0 / n1 + 1.0 / n2))
    else:
        v1, v2 = var1 / n1, var2 / n2
        with np.errstate(divide="ignore", invalid="ignore"):
            df = (v1 + v2) ** 2 / (v1 ** 2 / (n1 - 1) + v2 ** 2 / (n2 - 1))
        denominator = np.sqrt(v1 + v2)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.divide(mean1 - mean2, denominator)
    return float(t), float(2 * t_sf(np.abs(t), df))


def ttest_ind_from_stats(mean1: float, sd1: float, n1: int, mean2: float, sd2: float, n2: int,
                         equal_var: bool = True) -> tuple[float, float]:
    """Two-sample t test from summaries: (t, two-sided P), Student's with ``equal_var``, else Welch's.

    >>> t, p = ttest_ind_from_stats(5.0, 2.0, 10, 3.0, 2.0, 10)
    >>> round(t, 4), round(p, 4)
    (2.2361, 0.0382)
    """
    return _ttest(mean1, sd1 ** 2, n1, mean2, sd2 ** 2, n2, equal_var)


def ttest_ind(first, second, equal_var: bool = True) -> tuple[float, float]:
    """Two-sample t test of two samples: (t, two-sided P), Student's with ``equal_var``, else Welch's."""
    first, second = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    return _ttest(np.mean(first), np.var(first, ddof=1), len(first),
                  np.mean(second), np.var(second, ddof=1), len(second), equal_var)


def ttest_rel(first, second) -> tuple[float, float]:
    """Paired t test: (t, two-sided P) of the mean of ``first - second`` against 0.

    >>> t, p = ttest_rel([1.0, 2.0, 3.0, 4.0], [1.5, 2.1, 3.9, 4.8])
    >>> round(t, 3), round(p, 3)
    (-3.2, 0.049)
    """
    difference = np.asarray(first, dtype=float) - np.asarray(second, dtype=float)
    n = len(difference)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.divide(np.mean(difference), np.sqrt(np.var(difference, ddof=1) / n))
    return float(t), float(2 * t_sf(np.abs(t), n - 1))


# Royston's polynomial coefficients (Applied Statistics 1995, 44(4), 547-551: algorithm AS R94)
_C1 = (0.0, 0.221157, -0.147981, -2.07119, 4.434685, -2.706056)
_C2 = (0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633)
_C3 = (0.544, -0.39978, 0.025054, -6.714e-4)
_C4 = (1.3822, -0.77857, 0.062767, -0.0020322)
_C5 = (-1.5861, -0.31082, -0.083751, 0.0038915)
_C6 = (-0.4803, -0.082676, 0.0030302)
_G = (-2.273, 0.459)


def _poly(coefficients: tuple[float, ...], x: float) -> float:
    """c0 + c1 x + c2 x^2 + ..., evaluated as AS 181.2 does (and R's swilk.c)."""
    value = coefficients[0]
    if len(coefficients) > 1:
        partial = x * coefficients[-1]
        for coefficient in reversed(coefficients[1:-1]):
            partial = (partial + coefficient) * x
        value += partial
    return value


def _shapiro_coefficients(n: int) -> np.ndarray:
    """The AS R94 coefficients a[1..n/2] (index 0 unused), for ``n`` >= 3."""
    half = n // 2
    a = np.zeros(half + 1)
    if n == 3:
        a[1] = 0.70710678  # sqrt(1/2), to the digits of the algorithm
        return a
    quantiles = special.ndtri((np.arange(1, half + 1) - 0.375) / (n + 0.25))
    a[1:] = quantiles
    summ2 = 0.0
    for value in quantiles:
        summ2 += value * value
    summ2 *= 2.0
    ssumm2 = math.sqrt(summ2)
    rsn = 1.0 / math.sqrt(n)
    a1 = _poly(_C1, rsn) - a[1] / ssumm2
    if n > 5:
        first = 3
        a2 = -a[2] / ssumm2 + _poly(_C2, rsn)
        fac = math.sqrt((summ2 - 2.0 * a[1] ** 2 - 2.0 * a[2] ** 2) / (1.0 - 2.0 * a1 ** 2 - 2.0 * a2 ** 2))
        a[2] = a2
    else:
        first = 2
        fac = math.sqrt((summ2 - 2.0 * a[1] ** 2) / (1.0 - 2.0 * a1 ** 2))
    a[1] = a1
    a[first:] /= -fac
    return a


def shapiro(values) -> tuple[float, float]:
    """Shapiro-Wilk test of normality: (W, P), by Royston's algorithm AS R94 (R's ``shapiro.test``).

    As SciPy does, the sorted values are first shifted by their middle value (W does not depend on the
    location; the shift keeps the sums accurate for values far from zero). Values that are all equal give
    (1, 1), as SciPy's port of the algorithm returns them.

    >>> w, p = shapiro([2.1, 3.4, 1.9, 5.6, 4.4, 3.3, 2.8, 6.1, 3.9, 4.2, 5.0, 2.2])
    >>> round(w, 6), round(p, 6)
    (0.955756, 0.721972)
    """
    x = np.sort(np.ravel(np.asarray(values, dtype=float)))
    n = len(x)
    if n < 3:
        raise ValueError("the Shapiro-Wilk test needs at least 3 values")
    x = x - x[n // 2]
    spread = x[-1] - x[0]
    if not spread >= 1e-19:
        return 1.0, 1.0
    a = _shapiro_coefficients(n)
    # the coefficient of the i-th smallest value: -a[i+1] in the lower half, +a[n-i] in the upper, 0 in the middle
    half = n // 2
    signed = np.zeros(n)
    signed[:half] = -a[1:half + 1]
    signed[n - half:] = a[1:half + 1][::-1]
    scaled = x / spread
    sa, sx = signed.sum() / n, scaled.sum() / n
    ssa = ssx = sax = 0.0
    for coefficient, value in zip(signed - sa, scaled - sx):
        ssa += coefficient * coefficient
        ssx += value * value
        sax += coefficient * value
    ssassx = math.sqrt(ssa * ssx)
    w1 = (ssassx - sax) * (ssassx + sax) / (ssa * ssx)  # 1 - W, accurate when W is near 1
    w = float(1.0 - w1)
    if n == 3:  # exact
        return w, max(1.90985931710274 * (math.asin(math.sqrt(w)) - 1.04719755119660), 0.0)
    y, log_n = math.log(w1), math.log(n)
    if n <= 11:
        gamma = _poly(_G, n)
        if y >= gamma:
            return w, 1e-99
        y = -math.log(gamma - y)
        mean, sd = _poly(_C3, n), math.exp(_poly(_C4, n))
    else:
        mean, sd = _poly(_C5, log_n), math.exp(_poly(_C6, log_n))
    return w, float(norm_sf((y - mean) / sd))
