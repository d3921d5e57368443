"""How close a dataset comes to the summaries the paper publishes (the calibration report).

:func:`calibration_report` sets the published numbers that the synthetic generator is calibrated to beside
the same numbers computed from the raw tables (:func:`ketapain_lib.paper.reproduce.summary_statistics`, with
Stata's conventions) and the tolerance the generator allows. The same report run on a real export shows how the
real data compare with the paper.

>>> report = calibration_report(load_trial())
>>> bool(report["within_tolerance"].all())
True
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..design import PRIMARY
from ..paper.published import calibration_targets, published_precision, within_tolerance
from ..paper.reproduce import summary_statistics
from ..rawdata.load import Trial, load_trial  # noqa: F401  (load_trial is used by the doctest)
from ..stats import derive


def calibration_report(trial: Trial) -> pd.DataFrame:
    """Published target, achieved value, tolerance and status for every calibration target.

    Columns: ``key``, ``description``, ``section``, ``published``,
    ``achieved``, ``difference`` (achieved - published), ``tolerance``
    (absolute; 0 = must match exactly), ``within_tolerance`` and ``same_as_printed`` (the ledger's rule: within
    half a unit of the last digit the paper prints). Rows follow the order of the published-results file.
    """
    targets = calibration_targets()
    achieved = summary_statistics(trial)
    missing = sorted(set(targets.index) - set(achieved))
    if missing:
        raise KeyError(f"no achieved value computed for calibration target(s): {', '.join(missing)}")
    report = pd.DataFrame({
        "key": targets.index,
        "description": targets["description"].to_numpy(),
        "section": targets["section"].to_numpy(),
        "published": targets["value"].astype(float).to_numpy(),
        "achieved": [float(achieved[k]) for k in targets.index],
        "tolerance": targets["calibration_tolerance"].astype(float).to_numpy(),
    })
    report["difference"] = report["achieved"] - report["published"]
    report["within_tolerance"] = within_tolerance(report["difference"], report["tolerance"])
    # the ledger's rule (half a unit of the paper's last printed digit), beside the generator's looser one
    precision = np.array([published_precision(k) for k in targets.index])
    report["same_as_printed"] = within_tolerance(report["difference"], precision)
    return report[["key", "description", "section", "published", "achieved", "difference", "tolerance",
                   "within_tolerance", "same_as_printed"]]


def diary_missing_rate(trial: Trial) -> float:
    """Share of the expected average-pain diary entries (days 0-35, every period) that are missing."""
    grid = derive.diary_grid(trial.diary, (PRIMARY.measure,), trial.infusions)
    return float(np.mean(grid[PRIMARY.measure].isna()))
