"""Sample-size planning of a crossover trial: the paper's calculation, redone from its published inputs.

The paper planned its sample size from a pilot study's SD, a difference to
detect, two-sided alpha, power and an assumed within-patient correlation.
:func:`crossover_sample_size` gives the textbook normal-approximation formula
for a paired (within-patient) comparison and, beside it, the smallest sample
whose paired t test has the power (statsmodels' ``TTestPower``, R's
``power.t.test(type = "paired")``); :func:`planning_sample_size` applies them to
the paper's inputs.

The normal formula stays written out: it is a closed form,
``n = ((z_{1-alpha/2} + z_{power}) * sd_diff / difference) ** 2``, which
statsmodels does not offer. Its ``NormalIndPower(ratio=0)`` solves the exact
two-tailed normal power numerically instead: on the paper's inputs it agrees to
1e-8 (5.7853059 patients), but its root finder returns NaN for many small
samples, and the SD implied by a published ``n`` is the formula's inverse.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
from scipy import stats

from .power import two_sided_t_power


def crossover_sample_size(difference: float, sd: float, correlation: float, alpha: float, power: float) -> dict:
    """Patients needed for a two-treatment within-patient comparison (normal approximation and paired t).

    The SD of a within-patient difference is ``sd * sqrt(2 * (1 - correlation))``;
    ``n = ((z_{1-alpha/2} + z_{power}) * sd_diff / difference) ** 2``, rounded
    up; the paired-t ``n`` is the smallest number of patients whose two-sided
    paired t test (``n - 1`` df, noncentral t) has at least ``power``, by
    statsmodels' ``TTestPower`` (R's ``power.t.test(type = "paired")``, rounded up).

    >>> crossover_sample_size(57, 38, 0.5, 0.02, 0.90)["n_normal"]
    6
    >>> crossover_sample_size(57, 38, 0.5, 0.02, 0.90)["n_t"]
    9
    """
    for name, value in (("difference", difference), ("sd", sd)):
        if not value > 0:
            raise ValueError(f"{name} must be positive, not {value!r}")
    for name, value in (("alpha", alpha), ("power", power)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must lie strictly between 0 and 1, not {value!r}")
    if not -1 <= correlation < 1:
        raise ValueError(f"correlation must lie in [-1, 1), not {correlation!r}")
    sd_difference = sd * math.sqrt(2 * (1 - correlation))
    z_alpha, z_power = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    exact = ((z_alpha + z_power) * sd_difference / difference) ** 2
    n_t = 2  # the power grows with n: the first n that reaches it (solve_power's root finder can fail)
    while paired_t_power(difference / sd_difference, n_t, alpha) < power:
        n_t += 1
    return {"sd_difference": sd_difference, "n_normal_exact": float(exact), "n_normal": math.ceil(exact), "n_t": n_t}


def paired_t_power(effect_size: float, n: int, alpha: float) -> float:
    """Power of the two-sided paired t test of ``n`` patients at level ``alpha`` for a true mean difference of
    ``effect_size`` SDs of a difference: statsmodels' ``TTestPower``
    (:func:`ketapain_lib.stats.power.two_sided_t_power`, noncentrality ``effect_size * sqrt(n)``, ``n - 1`` df).

    >>> round(paired_t_power(1.0, 10, 0.05), 4)   # R: power.t.test(n = 10, delta = 1, type = "paired", strict = TRUE)
    0.8031
    """
    return float(two_sided_t_power(effect_size * math.sqrt(n), n - 1, alpha))


def sd_for_sample_size(n: int, difference: float, correlation: float, alpha: float, power: float) -> float:
    """The per-period SD for which the normal-approximation formula gives exactly ``n`` patients.

    Inverts :func:`crossover_sample_size`; used to show which SD a published
    sample size implies.

    >>> round(sd_for_sample_size(6, 57, 0.5, 0.02, 0.90), 1)
    38.7
    """
    z_alpha, z_power = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    return float(difference * math.sqrt(n) / (z_alpha + z_power) / math.sqrt(2 * (1 - correlation)))


def planning_sample_size(inputs: Mapping[str, float]) -> pd.DataFrame:
    """The paper's planning calculation, redone from its published inputs.

    ``inputs`` holds ``difference`` (pain score-days), ``sd`` (the pilot SD,
    pain score-days), two-sided ``alpha``, ``power``, the within-patient
    ``correlation`` and the ``n`` the paper states (see
    :func:`ketapain_lib.paper.published.planning_inputs`). Returns one row
    per method (normal approximation, paired t) with the patients needed,
    beside the published number, and the SD that would have given that number.

    >>> table = planning_sample_size({"difference": 57, "sd": 38, "alpha": 0.02, "power": 0.9,
    ...                               "correlation": 0.5, "n": 6})
    >>> table["n_reproduced"].tolist()
    [6, 9]
    """
    difference, sd, alpha = inputs["difference"], inputs["sd"], inputs["alpha"]
    power, correlation, published_n = inputs["power"], inputs["correlation"], int(inputs["n"])
    result = crossover_sample_size(difference, sd, correlation, alpha, power)
    implied = sd_for_sample_size(published_n, difference, correlation, alpha, power)
    return pd.DataFrame([
        {"method": "normal approximation", "difference": difference, "sd": sd, "correlation": correlation,
         "alpha": alpha, "power": power, "n_reproduced": result["n_normal"], "n_published": published_n,
         "sd_implied_by_published_n": implied},
        {"method": "paired t", "difference": difference, "sd": sd, "correlation": correlation,
         "alpha": alpha, "power": power, "n_reproduced": result["n_t"], "n_published": published_n,
         "sd_implied_by_published_n": implied},
    ])
