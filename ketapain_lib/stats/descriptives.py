"""Descriptive statistics and two-group comparisons whose results do not depend on the row order.

Sums are exact (:func:`math.fsum`, correctly rounded), so that a mean that is
truly 6.25 is stored as 6.25 whatever the order of the rows, and prints as
6.3 (rounded half up) rather than as 6.2 or 6.3 depending on how the file was
sorted. Tests that are not sums (Shapiro-Wilk, t tests) see their input sorted.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..design import ALPHA
from ..formatting import fixed


def exact_mean(values) -> float:
    """Correctly rounded mean of the non-missing values (NaN if none).

    >>> exact_mean([0.1] * 10) == 0.1, exact_mean([])
    (True, nan)
    """
    clean = _clean(values)
    return math.fsum(clean) / len(clean) if len(clean) else float("nan")


def exact_sd(values) -> float:
    """Sample SD (n - 1 denominator) from exact sums; NaN for fewer than two values.

    >>> exact_sd([1, 2, 3, 4])
    1.2909944487358056
    """
    clean = _clean(values)
    if len(clean) < 2:
        return float("nan")
    mean = math.fsum(clean) / len(clean)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in clean) / (len(clean) - 1))


def _clean(values) -> np.ndarray:
    array = np.sort(pd.Series(values, dtype=float).dropna().to_numpy())
    return array


def shapiro_wilk(values) -> tuple[float, float]:
    """Shapiro-Wilk W and P (the paper's normality rule), by ``scipy.stats.shapiro``.

    SciPy ports Royston's algorithm AS R94, as R's ``shapiro.test`` computes it, with single-precision
    constants: its W and P differ from R's below 1e-6 (``tests/test_distributions.py`` checks it against R).
    Values that are all equal give (1, 1), and more than 5,000 values an extrapolated P (R refuses them),
    without SciPy's warnings.

    >>> round(shapiro_wilk([1.0, 2.0, 3.0, 4.0, 10.0])[0], 3)
    0.836
    """
    values = np.sort(np.ravel(np.asarray(values, dtype=float)))  # SciPy's last digits depend on the order
    if len(values) < 3:
        raise ValueError(f"the Shapiro-Wilk test needs at least 3 values, not {len(values)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # range zero; more than 5,000 values
        result = stats.shapiro(values)
    return float(result.statistic), float(result.pvalue)


def describe(values, alpha: float = ALPHA, decimals: int = 0) -> dict[str, object]:
    """Mean ± SD if Shapiro-Wilk does not reject normality (P ≥ ``alpha``), else median [Q1; Q3].

    Returns the chosen summary as text (at ``decimals``) plus its parts, in the
    units of ``values``; quartiles by linear interpolation.

    >>> describe(pd.Series([1, 2, 3, 4, 5, 6, 7, 8]))["text"]
    '5 ± 2'
    """
    clean = _clean(values)
    n = len(clean)
    shapiro_p = shapiro_wilk(clean)[1] if n >= 3 and np.unique(clean).size > 1 else float("nan")
    normal = not (shapiro_p < alpha)
    mean, sd = exact_mean(clean), exact_sd(clean)
    q1, median, q3 = (float(v) for v in np.quantile(clean, [0.25, 0.5, 0.75])) if n else (float("nan"),) * 3
    text = (f"{fixed(mean, decimals)} ± {fixed(sd, decimals)}" if normal
            else f"{fixed(median, decimals)} [{fixed(q1, decimals)}; {fixed(q3, decimals)}]")
    return {"n": n, "summary": "mean ± SD" if normal else "median [IQR]", "text": text, "mean": mean, "sd": sd,
            "median": median, "q1": q1, "q3": q3, "shapiro_p": shapiro_p}


def compare_groups(values: pd.Series, group: pd.Series) -> dict[str, float]:
    """Two independent groups of patients: Student t test (equal variances) and Welch's, with descriptives.

    Used for the consecutive vs non-consecutive ketamine periods, where each
    patient contributes one value (the sum of the two ketamine AUCs).
    ``group`` is boolean; ``True`` is the first group. A group with fewer than
    two values gives NaN tests and a ``note`` saying why.

    >>> compare_groups(pd.Series([1.0, 2.0, 3.0, 4.0]), pd.Series([True, True, False, False]))["difference"]
    -2.0
    """
    mask = group.to_numpy(dtype=bool)
    first = _clean(values[mask])
    second = _clean(values[~mask])
    note = ""
    if min(len(first), len(second)) < 2:
        t = p = p_welch = float("nan")
        note = "a group has fewer than two patients with a value: no t test"
    else:
        student = stats.ttest_ind(first, second, equal_var=True)
        t, p = float(student.statistic), float(student.pvalue)
        p_welch = float(stats.ttest_ind(first, second, equal_var=False).pvalue)
    return {"n_first": len(first), "mean_first": exact_mean(first), "sd_first": exact_sd(first),
            "n_second": len(second), "mean_second": exact_mean(second), "sd_second": exact_sd(second),
            "difference": exact_mean(first) - exact_mean(second), "t": t, "p": p, "p_welch": p_welch,
            "note": note}
