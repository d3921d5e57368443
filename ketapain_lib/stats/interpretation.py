"""Reading a negative trial: clinically important differences, equivalence, Bayesian probabilities, responders.

The clinically important difference (CID) is a choice, not a finding; the
report states two:

* :data:`CID_POINTS` point on the 0-10 scale sustained over the whole period,
  i.e. ``CID_POINTS * 35`` pain score-days of AUC;
* :data:`CID_RELATIVE` of the placebo mean AUC (a 30% reduction, the usual
  threshold of a moderate improvement in chronic pain).

For each contrast with placebo (negative = less pain with the active
infusion) the report gives the confidence interval against the CID, the
two one-sided tests (TOST) of equivalence within +-CID, and the posterior
probability of a clinically important benefit under a flat and a sceptical
prior. The Bayesian reading is a conjugate normal approximation: the
likelihood of the contrast is N(estimate, se^2) from the mixed model; the
sceptical prior is N(0, tau^2) with tau such that a benefit larger than the
CID has 5% prior probability (tau = CID / 1.645).
"""
from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pandas as pd
from scipy import stats

from . import derive
from ..rawdata.load import Trial
from ..rawdata.schema import TREATMENTS

CID_POINTS = 1.0
CID_RELATIVE = 0.30
#: Prior probability of a benefit beyond the CID under the sceptical prior.
SCEPTICAL_TAIL = 0.05
from ..design import ALPHA, PRIMARY, REFERENCE_TREATMENT, RESPONDER_THRESHOLDS  # noqa: E402


def clinically_important_differences(trial: Trial) -> pd.DataFrame:
    """The two CIDs in pain score-days: one point sustained over the period, and 30% of the placebo mean AUC."""
    auc = derive.with_treatment(derive.auc(trial.diary, *astuple(PRIMARY), periods=trial.infusions), trial.infusions)
    placebo_mean = float(auc.loc[auc["treatment"] == REFERENCE_TREATMENT, "auc"].mean())
    days = PRIMARY.last_day  # "sustained over the window" of the primary endpoint
    return pd.DataFrame([
        {"cid": f"{CID_POINTS:g} point over {days} days", "score_days": CID_POINTS * days},
        {"cid": f"{100 * CID_RELATIVE:.0f}% of the placebo mean", "score_days": CID_RELATIVE * placebo_mean},
    ])


def tost(estimate: float, se: float, margin: float, alpha: float = ALPHA) -> dict[str, float]:
    """Two one-sided Wald tests of equivalence: is the difference within (-margin, +margin)?

    Returns both one-sided P values, their maximum (the TOST P) and the
    (1 - 2 alpha) confidence interval whose inclusion in the margins is the
    same decision.

    Written out with ``scipy.stats.norm``: the difference is the mixed model's contrast (adjusted for
    sequence and carry-over, Wald z as the report's other tests), which statsmodels' ``ttost_paired``
    (a paired t test on two raw samples) does not take; statsmodels has no TOST from an estimate and its SE.

    >>> round(tost(0.0, 1.0, 3.0)["p"], 5)
    0.00135
    """
    p_lower = float(stats.norm.sf((estimate + margin) / se))   # H0: difference <= -margin
    p_upper = float(stats.norm.cdf((estimate - margin) / se))  # H0: difference >= +margin
    z = stats.norm.ppf(1 - alpha)
    return {"p_lower": p_lower, "p_upper": p_upper, "p": max(p_lower, p_upper),
            "ci90_low": estimate - z * se, "ci90_high": estimate + z * se,
            "equivalent": bool(max(p_lower, p_upper) < alpha)}


def normal_posterior(estimate: float, se: float, prior_sd: float | None) -> tuple[float, float]:
    """Posterior mean and SD of a normal likelihood with a N(0, prior_sd^2) prior (flat if None).

    >>> normal_posterior(2.0, 1.0, 1.0)
    (1.0, 0.7071067811865476)
    """
    if prior_sd is None:
        return estimate, se
    precision = 1 / se**2 + 1 / prior_sd**2
    return float((estimate / se**2) / precision), float(np.sqrt(1 / precision))


def honest_reading(pairwise: pd.DataFrame, cids: pd.DataFrame) -> pd.DataFrame:
    """For each active-vs-placebo contrast and CID: CI vs CID, TOST, posterior probabilities of benefit.

    ``pairwise`` is :meth:`ketapain_lib.stats.crossover.CrossoverFit.pairwise` output;
    contrasts are turned into active minus placebo, so negative = benefit.
    """
    rows = []
    for _, row in pairwise.iterrows():
        if REFERENCE_TREATMENT not in (row["first"], row["second"]):
            continue
        sign = 1.0 if row["second"] == REFERENCE_TREATMENT else -1.0
        active = row["first"] if row["second"] == REFERENCE_TREATMENT else row["second"]
        estimate, se = sign * row["estimate"], row["se"]
        low, high = sorted((sign * row["ci_low"], sign * row["ci_high"]))
        for _, cid in cids.iterrows():
            margin = float(cid["score_days"])
            equivalence = tost(estimate, se, margin)
            sceptical_sd = margin / stats.norm.ppf(1 - SCEPTICAL_TAIL)
            out = {"contrast": f"{active} - placebo", "cid": cid["cid"], "cid_score_days": margin,
                   "estimate": estimate, "ci_low": low, "ci_high": high,
                   "ci_excludes_cid_benefit": bool(low > -margin), "tost_p": equivalence["p"],
                   "equivalent": equivalence["equivalent"]}
            for prior, prior_sd in (("flat", None), ("sceptical", sceptical_sd)):
                mean, sd = normal_posterior(estimate, se, prior_sd)
                out[f"p_benefit_{prior}"] = float(stats.norm.cdf((0 - mean) / sd))
                out[f"p_important_benefit_{prior}"] = float(stats.norm.cdf((-margin - mean) / sd))
            rows.append(out)
    return pd.DataFrame(rows)


def responders(trial: Trial, thresholds: tuple[float, ...] = RESPONDER_THRESHOLDS) -> pd.DataFrame:
    """Patients whose mean daily pain over the period (LOCF) fell by at least each threshold from pre-infusion pain.

    Returns one row per treatment and threshold: ``responders``, ``n`` and ``pct``.
    """
    auc = derive.with_treatment(derive.auc(trial.diary, *astuple(PRIMARY), periods=trial.infusions), trial.infusions)
    pre = derive.preinfusion_pain(trial.infusions)
    merged = auc.merge(pre[["patient_id", "period", "pain"]], on=["patient_id", "period"])
    reduction = derive.relative_reduction(merged["auc"] / PRIMARY.last_day, merged["pain"])
    rows = []
    for threshold in thresholds:
        for treatment in TREATMENTS:
            mask = merged["treatment"] == treatment
            count = int(derive.responds(reduction[mask], threshold).sum())
            rows.append({"threshold": f"{100 * threshold:.0f}% reduction", "treatment": treatment,
                         "responders": count, "n": int(mask.sum()), "pct": 100 * count / int(mask.sum())})
    return pd.DataFrame(rows)
