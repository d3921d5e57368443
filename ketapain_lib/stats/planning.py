"""Sample-size planning of a crossover trial: the paper's calculation, redone from its published inputs.

The paper planned its sample size from a pilot study's SD, a difference to
detect, two-sided alpha, power and an assumed within-patient correlation.
:func:`crossover_sample_size` is the textbook normal-approximation formula
for a paired (within-patient) comparison, with the smallest paired-t sample
size beside it; :func:`planning_sample_size` applies it to the paper's inputs.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
from . import distributions


def crossover_sample_size(difference: float, sd: float, correlation: float, alpha: float, power: float) -> dict:
    """Patients needed for a two-treatment within-patient comparison (normal approximation and paired t).

    The SD of a within-patient difference is ``sd * sqrt(2 * (1 - correlation))``;
    ``n = ((z_{1-alpha/2} + z_{power}) * sd_diff / difference) ** 2``, rounded
    up; the paired-t version is the smallest ``n`` that meets the same
    requirement with t quantiles on ``n - 1`` df.

    >>> crossover_sample_size(57, 38, 0.5, 0.02, 0.90)["n_normal"]
    6
    """
    sd_difference = sd * math.sqrt(2 * (1 - correlation))
    z_alpha, z_power = distributions.norm_ppf(1 - alpha / 2), distributions.norm_ppf(power)
    exact = ((z_alpha + z_power) * sd_difference / difference) ** 2
    n_t = 2  # smallest n whose paired-t requirement, on n - 1 df, it meets
    while ((distributions.t_ppf(1 - alpha / 2, n_t - 1) + distributions.t_ppf(power, n_t - 1)) * sd_difference / difference) ** 2 > n_t:
        n_t += 1
    return {"sd_difference": sd_difference, "n_normal_exact": float(exact), "n_normal": math.ceil(exact), "n_t": n_t}


def sd_for_sample_size(n: int, difference: float, correlation: float, alpha: float, power: float) -> float:
    """The per-period SD for which the normal-approximation formula gives exactly ``n`` patients.

    Inverts :func:`crossover_sample_size`; used to show which SD a published
    sample size implies.

    >>> round(sd_for_sample_size(6, 57, 0.5, 0.02, 0.90), 1)
    38.7
    """
    z_alpha, z_power = distributions.norm_ppf(1 - alpha / 2), distributions.norm_ppf(power)
    return float(difference * math.sqrt(n) / (z_alpha + z_power) / math.sqrt(2 * (1 - correlation)))


def planning_sample_size(inputs: Mapping[str, float]) -> pd.DataFrame:
    """The paper's planning calculation, redone from its published inputs.

    ``inputs`` holds ``difference`` (pain score-days), ``sd`` (the pilot SD,
    pain score-days), two-sided ``alpha``, ``power``, the within-patient
    ``correlation`` and the ``n`` the paper states (see
    :func:`ketapain_lib.provenance.published.planning_inputs`). Returns one row
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
