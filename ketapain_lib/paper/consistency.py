"""Consistency tests of published summaries: can these printed numbers come from one dataset?

The tests of meta-research, each taking numbers *as printed* and the half-unit of their last printed digit
(``half``) as the tolerance, so that a verdict never depends on rounding:

* :func:`grim` - can a mean of ``n`` values on a grid of ``unit`` (1 for integer scores, 0.5 for the AUC of
  an integer diary on a day grid) print as this? (Brown and Heathers' GRIM);
* :func:`grimmer` - can a mean and an SD of such values print as these? The sum of squares of integers has
  the parity of their sum (Anaya's GRIMMER), and the SD cannot exceed what the scale's bounds allow;
* :func:`percent_of` - can a percentage of ``n`` patients print as this?
* :func:`p_from_ci` - the range of two-sided P values a symmetric normal CI and estimate imply (statcheck's
  idea applied to a CI);
* :func:`t_test_p` - the range of Student and Welch P values two groups' printed summaries imply;
* :func:`omnibus_from_pairwise` - the omnibus 2-df Wald P implied by two pairwise z tests against a common
  reference in a balanced three-treatment crossover (equal standard errors, correlation 1/2).

Each returns what the numbers allow; the caller (:mod:`ketapain_lib.paper.audit`) gives the verdict.

>>> grim(6.05, 0.005, 20), grim(6.03, 0.005, 20)
(True, False)
"""
from __future__ import annotations

import math

import numpy as np

from scipy import stats

EPS = 1e-9


def grim(mean: float, half: float, n: int, unit: float = 1.0) -> bool:
    """Whether some total of ``n`` values on a grid of ``unit`` has a mean within ``half`` of ``mean``.

    >>> grim(185, 0.5, 20, unit=0.5)
    True
    """
    centre = round(mean * n / unit)
    return any(abs(k * unit / n - mean) <= half + EPS for k in range(centre - 2, centre + 3))


def max_sd(mean: float, n: int, low: float, high: float) -> float:
    """The largest SD ``n`` values between ``low`` and ``high`` with this mean can have (sample SD, n - 1).

    >>> round(max_sd(5, 20, 0, 10), 2)
    5.13
    """
    return math.sqrt(max(0.0, n / (n - 1) * (mean - low) * (high - mean)))


def grimmer(mean: float, half_mean: float, sd: float, half_sd: float, n: int, unit: float = 1.0) -> bool:
    """Whether ``n`` values on a grid of ``unit`` can have a mean and an SD (n - 1) that print as these.

    The values are counted in units (integers); for each integer total whose mean prints as ``mean``, an
    integer sum of squares of the same parity as the total must give an SD that prints as ``sd``.

    >>> grimmer(3.0, 0.005, 1.58, 0.005, 5), grimmer(3.0, 0.005, 1.59, 0.005, 5)  # 1, 2, 3, 4, 5 has SD 1.58
    (True, False)
    """
    m, s, hm, hs = mean / unit, sd / unit, half_mean / unit, half_sd / unit
    for total in range(math.floor((m - hm) * n) - 1, math.ceil((m + hm) * n) + 2):
        if abs(total / n - m) > hm + EPS:
            continue
        low = total * total / n + (n - 1) * max(0.0, s - hs) ** 2
        high = total * total / n + (n - 1) * (s + hs) ** 2
        first = math.ceil(low - EPS)
        first += (first - total) % 2  # a sum of squares of integers has the parity of their sum
        if first <= high + EPS:
            return True
    return False


def percent_of(percent: float, half: float, n: int) -> list[int]:
    """The counts out of ``n`` whose percentage prints as ``percent``.

    >>> percent_of(35, 0.5, 20), percent_of(33, 0.5, 20)
    ([7], [])
    """
    return [k for k in range(n + 1) if abs(100 * k / n - percent) <= half + EPS]


def corners(*ranges: tuple[float, float]):
    """Every combination of the ends of the ranges (the extremes of a monotone function lie there)."""
    combos = [()]
    for low, high in ranges:
        combos = [c + (v,) for c in combos for v in (low, high)]
    return combos


def p_from_ci(estimate: float, low: float, high: float, half: float, level: float = 0.95) -> tuple[float, float]:
    """The two-sided P values a normal CI (symmetric on this scale) and estimate imply, allowing each printed
    number its rounding: (smallest, largest).

    >>> [round(float(p), 2) for p in p_from_ci(-0.2, -0.6, 0.3, 0.05)]
    [0.22, 0.56]
    """
    z_level = stats.norm.ppf(0.5 + level / 2)
    ses = [max((h - l) / (2 * z_level), EPS) for l, h in corners((low - half, low + half), (high - half, high + half))]
    estimates = (estimate - half, estimate + half)
    smallest_abs = 0.0 if estimates[0] <= 0 <= estimates[1] else min(abs(e) for e in estimates)
    z_high = max(abs(e) for e in estimates) / min(ses)
    z_low = smallest_abs / max(ses)
    return float(2 * stats.norm.sf(z_high)), float(2 * stats.norm.sf(z_low))


def t_test_p(mean1: float, sd1: float, n1: int, mean2: float, sd2: float, n2: int, half_mean: float,
             half_sd: float) -> dict[str, tuple[float, float]]:
    """The ranges of the two-sided Student and Welch P values of two groups' printed summaries.

    >>> {k: tuple(round(p, 2) for p in v) for k, v in t_test_p(378, 212, 12, 343, 151, 8, 0.5, 0.5).items()}
    {'student': (0.68, 0.7), 'welch': (0.66, 0.68)}
    """
    found: dict[str, list[float]] = {"student": [], "welch": []}
    for m1, m2, s1, s2 in corners((mean1 - half_mean, mean1 + half_mean), (mean2 - half_mean, mean2 + half_mean),
                                   (sd1 - half_sd, sd1 + half_sd), (sd2 - half_sd, sd2 + half_sd)):
        for equal in (True, False):
            p = float(stats.ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=equal).pvalue)
            found["student" if equal else "welch"].append(p)
    return {name: (min(values), max(values)) for name, values in found.items()}


def z_of_p(p: float) -> float:
    """The |z| of a two-sided P value."""
    return float(stats.norm.isf(p / 2))


def omnibus_from_pairwise(z_first: float, z_second: float) -> float:
    """The 2-df Wald P of three treatments from the z of each active treatment against the reference.

    In a balanced crossover the two contrasts have equal standard errors and share the reference, so their
    correlation is 1/2: chi2 = (z1^2 - z1 z2 + z2^2) / (3/4).

    >>> round(omnibus_from_pairwise(-0.798, 0.764), 3)
    0.295
    """
    chi2 = (z_first ** 2 - z_first * z_second + z_second ** 2) / 0.75
    return float(stats.chi2.sf(chi2, 2))


def second_contrast_for_omnibus(z_first: float, omnibus_p: float) -> list[float]:
    """The z values of the second active-vs-reference contrast that, with ``z_first``, give ``omnibus_p``
    (the two roots of :func:`omnibus_from_pairwise`; empty when none exists).

    >>> [round(z, 2) for z in second_contrast_for_omnibus(-2.034, 0.048)]
    [-2.22, 0.19]
    """
    chi2 = float(stats.chi2.isf(omnibus_p, 2))
    discriminant = z_first ** 2 - 4 * (z_first ** 2 - 0.75 * chi2)
    if discriminant < 0:
        return []
    root = math.sqrt(discriminant)
    return sorted([(z_first - root) / 2, (z_first + root) / 2])


# --------------------------------------------------------------------------- the crossover model's structure

def sequence_information(model: str, icc: float) -> tuple[np.ndarray, list[str]]:
    """Each sequence's contribution to the information matrix X'V^-1X of a crossover mixed model (one patient,
    residual variance 1), and the design's column names.

    In a random-intercept model every patient of a sequence has the same three design rows and the same
    V = I + t 11' (t = ICC / (1 - ICC)), so an allocation's information is the sum over sequences of the
    patients' count times this block: the precision of every contrast follows from the allocation alone.
    """
    import pandas as pd

    from ..design import SEQUENCES, TREATMENT_CODES, TREATMENTS
    from ..stats.crossover import FORMULAS
    from ..stats.formulas import design_matrix

    rows = []
    for patient, sequence in enumerate(SEQUENCES):
        codes = sequence.split("-")
        for period, code in enumerate(codes, start=1):
            rows.append({"patient_id": f"S{patient}", "period": period, "treatment": TREATMENT_CODES[code],
                         "carryover": "none" if period == 1 else TREATMENT_CODES[codes[period - 2]],
                         "sequence": sequence, "y": 0.0})
    frame = pd.DataFrame(rows)
    frame["treatment"] = pd.Categorical(frame["treatment"], categories=list(TREATMENTS))
    formula = "y ~ " + FORMULAS[model].format(treatment=f"C(treatment, Treatment({TREATMENTS[0]!r}))")
    _, design, names = design_matrix(formula, frame)
    t = icc / (1 - icc)
    v_inverse = np.eye(3) - t / (1 + 3 * t) * np.ones((3, 3))
    blocks = np.stack([design[3 * s: 3 * s + 3].T @ v_inverse @ design[3 * s: 3 * s + 3]
                       for s in range(len(SEQUENCES))])
    return blocks, list(names)


def contrast_covariances(blocks: np.ndarray, names: list[str], allocations: np.ndarray,
                         treatments: tuple[str, str]) -> np.ndarray:
    """The 2 x 2 covariances (residual-variance units) of the two treatment effects against the reference,
    one per allocation (rows of patient counts by sequence, each at least one)."""
    keep = _independent_columns(blocks.sum(axis=0))  # every allocation with all six sequences spans the same
    information = np.einsum("as,sij->aij", np.asarray(allocations, dtype=float), blocks)[:, keep][:, :, keep]
    covariance = np.linalg.inv(information)
    positions = [keep.index(names.index(f"C(treatment, Treatment('placebo'))[T.{t}]")) for t in treatments]
    return covariance[:, positions][:, :, positions]


def _independent_columns(information: np.ndarray) -> list[int]:
    """Columns of a positive semi-definite matrix that are not combinations of earlier ones (Stata's and
    R's rule for aliased terms: the first of a dependent set is kept)."""
    keep: list[int] = []
    for j in range(len(information)):
        trial = keep + [j]
        if np.linalg.matrix_rank(information[np.ix_(trial, trial)], tol=1e-9 * np.trace(information)) == len(trial):
            keep = trial
    return keep


def implied_primary(covariance: np.ndarray, z_first: float, z_second: float, level: float = 0.95) -> dict:
    """What two z tests against the reference imply, given the contrasts' covariance (residual-variance units;
    one 2 x 2 matrix or a stack of them): the omnibus 2-df Wald P, the third pairwise P, and each effect size (the
    contrast over the SD of a within-patient difference, sqrt(2) residual SDs) with its CI.

    >>> values = implied_primary(np.array([[0.1, 0.05], [0.05, 0.1]]), -0.798, 0.764)
    >>> round(float(values["omnibus_p"]), 3), round(float(values["third_p"]), 3)
    (0.295, 0.118)
    """
    z_level = float(stats.norm.ppf(0.5 + level / 2))
    c11, c22, c12 = covariance[..., 0, 0], covariance[..., 1, 1], covariance[..., 0, 1]
    se1, se2 = np.sqrt(c11), np.sqrt(c22)
    e1, e2 = z_first * se1, z_second * se2
    chi2 = (c22 * e1 ** 2 - 2 * c12 * e1 * e2 + c11 * e2 ** 2) / (c11 * c22 - c12 ** 2)
    se3 = np.sqrt(c11 + c22 - 2 * c12)
    e3 = e1 - e2
    out = {"omnibus_p": stats.chi2.sf(chi2, 2), "third_p": 2 * stats.norm.sf(np.abs(e3 / se3))}
    for name, estimate, error in (("first", e1, se1), ("second", e2, se2), ("third", e3, se3)):
        out[f"{name}_es"] = estimate / math.sqrt(2)
        out[f"{name}_es_lo"] = (estimate - z_level * error) / math.sqrt(2)
        out[f"{name}_es_hi"] = (estimate + z_level * error) / math.sqrt(2)
    return out
