"""The structure of the paper's crossover model: which allocations of the patients to the six sequences let the
primary endpoint's published P values, effect sizes and CIs hold together (used by the audit, the ledger and the
reconstruction).

Two z tests against placebo and the design fix every other model-based number of the primary endpoint
(:func:`ketapain_lib.paper.consistency.implied_primary`); the design is the allocation of the patients to
the sequences, which the paper does not publish beyond the 12 patients with consecutive ketamine periods.

>>> len(allocations(12))
1155
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..design import CI_LEVEL, SEQUENCES
from . import consistency as test
from .published import published_precision, published_value

#: Patients randomized (the published flow).
N = int(published_value("flow_randomized"))

#: The primary endpoint's model-based numbers that two pairwise P values and the design determine.
IMPLIED_KEYS = {"omnibus_p": "auc35_locf_omnibus_p", "third_p": "auc35_es_ketamine_vs_ketamine_magnesium_p",
                 **{f"{which}_es{part}": f"auc35_es_{stem}{part}"
                    for which, stem in (("first", "ketamine_vs_placebo"), ("second", "placebo_vs_ketamine_magnesium"),
                                        ("third", "ketamine_vs_ketamine_magnesium"))
                    for part in ("", "_lo", "_hi")}}
#: The models whose structure is checked: the paper's (with carry-over) and the standard period-adjusted one.
STRUCTURE_MODELS = {"paper": "the paper's model (treatment, sequence and carry-over)",
                     "period": "the period-adjusted model without carry-over (treatment, period, sequence)"}


def allocations(consecutive: int) -> np.ndarray:
    """Every allocation of the trial's patients to the six sequences, each used, with ``consecutive`` patients in
    the four sequences whose ketamine periods follow each other (rows of counts in :data:`SEQUENCES` order)."""
    def compositions(total: int, parts: int):
        if parts == 1:
            yield (total,)
            return
        for first in range(1, total - parts + 2):
            for rest in compositions(total - first, parts - 1):
                yield (first, *rest)

    together = [s.split("-")[1] != "P" for s in SEQUENCES]
    counts = [c for c in compositions(N, len(SEQUENCES))
              if sum(n for n, t in zip(c, together) if t) == consecutive]
    return np.array(counts)


def compatible_allocations(model: str):
    """Every allocation with the published count of consecutive patients, whether some rounding of the ICC and of
    the two pairwise P values makes all of :data:`IMPLIED_KEYS` print as published under ``model``, and the
    closest miss: (allocations, compatible flags, (number missed, (allocation, keys missed)))."""
    v = published_value
    candidates = allocations(int(v("consecutive_n")))
    p_first, p_second = v("auc35_es_ketamine_vs_placebo_p"), v("auc35_es_placebo_vs_ketamine_magnesium_p")
    half_p, half_icc = published_precision("auc35_es_ketamine_vs_placebo_p"), published_precision("auc35_locf_icc")
    fewest = (len(IMPLIED_KEYS) + 1, None)
    compatible = np.zeros(len(candidates), dtype=bool)
    for icc in (v("auc35_locf_icc") - 0.8 * half_icc, v("auc35_locf_icc"), v("auc35_locf_icc") + 0.8 * half_icc):
        blocks, names = test.sequence_information(model, icc)
        covariances = test.contrast_covariances(blocks, names, candidates, ("ketamine", "ketamine_magnesium"))
        for q1, q2 in itertools.product(*[(p - 0.8 * half_p, p, p + 0.8 * half_p) for p in (p_first, p_second)]):
            implied = test.implied_primary(covariances, -test.z_of_p(q1), test.z_of_p(q2), CI_LEVEL)
            missed = np.stack([np.abs(implied[name] - v(key)) > published_precision(key) + test.EPS
                               for name, key in IMPLIED_KEYS.items()], axis=1)
            compatible |= ~missed.any(axis=1)
            best = int(np.argmin(missed.sum(axis=1)))
            if missed[best].sum() < fewest[0]:
                fewest = (int(missed[best].sum()), (tuple(candidates[best]),
                                                   [k for k, m in zip(IMPLIED_KEYS.values(), missed[best]) if m]))
    return candidates, compatible, fewest


def unreachable(randomization: pd.DataFrame) -> dict[str, float]:
    """The primary endpoint's published numbers that the data's allocation of patients to sequences cannot give
    together with the two published P values against placebo, under the paper's model (the design fixes them:
    :func:`ketapain_lib.paper.consistency.implied_primary`), each with the value it would need."""
    counts = np.array([[int((randomization["sequence"].astype(str) == s).sum()) for s in SEQUENCES]])
    blocks, names = test.sequence_information("paper", published_value("auc35_locf_icc"))
    covariance = test.contrast_covariances(blocks, names, counts, ("ketamine", "ketamine_magnesium"))
    implied = test.implied_primary(covariance, -test.z_of_p(published_value("auc35_es_ketamine_vs_placebo_p")),
                                   test.z_of_p(published_value("auc35_es_placebo_vs_ketamine_magnesium_p")))
    return {key: float(implied[name][0]) for name, key in IMPLIED_KEYS.items()
            if abs(float(implied[name][0]) - published_value(key)) > published_precision(key)}
