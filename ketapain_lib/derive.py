"""Endpoint derivations from the raw tables: imputation of the daily diary and areas under the curve.

Conventions (the paper names the methods but not every detail):

* **Grid.** Each period's diary is laid on the full grid of days 0 to 35 after
  the infusion; a day with no row and a day with an empty cell are both a
  missing entry.
* **LOCF** (the paper's primary analysis). A missing day takes the last
  observed value of the same period and measure. A missing first day (day 0)
  has no earlier value and takes the first observed value of the period
  (next observation carried backward). A period with no observation at all
  stays missing and yields a missing AUC.
* **No imputation** (the paper's exploratory time points). The trapezoids
  join consecutive *observed* days, so an interior gap is bridged by a
  straight line; a missing first or last day shortens the span of the
  curve (the AUC is not extrapolated). A period with fewer than two
  observations in the window yields a missing AUC.
* **AUC** by the trapezoidal rule on the day scale, from day 0 to the last
  day of the window, in *pain score-days* (0-10 score x days): a constant
  pain of 5 over days 0-35 gives 5 x 35 = 175.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .schema import DIARY_DAYS

PAIN_MEASURES: tuple[str, ...] = ("average_pain", "maximal_pain", "night_pain")
#: Ends of the AUC windows reported by the paper (days after infusion).
AUC_WINDOWS: tuple[int, ...] = (7, 15, 21, 28, 35)

Imputation = Literal["locf", "none"]


def diary_grid(diary: pd.DataFrame, measures: tuple[str, ...] = PAIN_MEASURES) -> pd.DataFrame:
    """The diary on the complete grid of days 0-35 for every patient and period present.

    Returns one row per ``patient_id``, ``period`` and ``day`` with the
    requested measures (missing entries as NA), sorted by those keys.
    """
    keys = diary[["patient_id", "period"]].drop_duplicates()
    days = pd.DataFrame({"day": pd.array(DIARY_DAYS, dtype="Int64")})
    grid = keys.merge(days, how="cross")
    out = grid.merge(diary[["patient_id", "period", "day", *measures]], on=["patient_id", "period", "day"],
                     how="left")
    return out.sort_values(["patient_id", "period", "day"], kind="stable").reset_index(drop=True)


def locf(diary: pd.DataFrame, measures: tuple[str, ...] = PAIN_MEASURES) -> pd.DataFrame:
    """Fill missing diary entries by last observation carried forward, within patient and period.

    A missing day 0 takes the first later observation (see the module
    docstring). Returns the full day grid with filled measures.

    >>> import pandas as pd
    >>> d = pd.DataFrame({"patient_id": ["P01"] * 3, "period": [1] * 3, "day": [0, 1, 3],
    ...                   "average_pain": [5, None, 7]})
    >>> locf(d, ("average_pain",)).set_index("day")["average_pain"].head(5).tolist()
    [5.0, 5.0, 5.0, 7.0, 7.0]
    """
    grid = diary_grid(diary, measures)
    values = grid[list(measures)].astype("float64")
    filled = values.groupby([grid["patient_id"], grid["period"]], sort=False).ffill()
    filled = filled.groupby([grid["patient_id"], grid["period"]], sort=False).bfill()
    grid[list(measures)] = filled
    return grid


def trapezoid_auc(days: np.ndarray, values: np.ndarray) -> float:
    """Area under a piecewise-linear curve through (days, values), NaN points skipped.

    >>> trapezoid_auc(np.array([0, 1, 2]), np.array([2.0, 4.0, 4.0]))
    7.0
    >>> trapezoid_auc(np.array([0, 1, 2]), np.array([2.0, np.nan, 4.0]))
    6.0
    """
    keep = ~np.isnan(values)
    if keep.sum() < 2:
        return float("nan")
    x, y = days[keep].astype(float), values[keep]
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))


def auc(diary: pd.DataFrame, measure: str = "average_pain", last_day: int = 35,
        imputation: Imputation = "locf") -> pd.DataFrame:
    """AUC of a daily pain measure from day 0 to ``last_day`` for every patient and period.

    Parameters
    ----------
    diary
        The raw diary table (``patient_id``, ``period``, ``day`` and measures).
    measure
        ``average_pain``, ``maximal_pain`` or ``night_pain``.
    last_day
        End of the window, in days after the infusion (7, 15, 21, 28 or 35).
    imputation
        ``"locf"`` or ``"none"`` (see the module docstring).

    Returns
    -------
    DataFrame with ``patient_id``, ``period`` and ``auc`` (pain score-days).
    """
    if imputation == "locf":
        grid = locf(diary, (measure,))
    elif imputation == "none":
        grid = diary_grid(diary, (measure,))
    else:
        raise ValueError(f"imputation must be 'locf' or 'none', not {imputation!r}")
    window = grid[grid["day"] <= last_day]
    rows = []
    for (patient_id, period), part in window.groupby(["patient_id", "period"], sort=True):
        rows.append((patient_id, period, trapezoid_auc(part["day"].to_numpy(dtype=float),
                                                       part[measure].to_numpy(dtype=float, na_value=np.nan))))
    return pd.DataFrame(rows, columns=["patient_id", "period", "auc"])


def with_treatment(frame: pd.DataFrame, infusions: pd.DataFrame) -> pd.DataFrame:
    """Add the ``treatment`` of each patient and period from the infusions table."""
    return frame.merge(infusions[["patient_id", "period", "treatment"]], on=["patient_id", "period"],
                       how="left", validate="many_to_one")


def consecutive_ketamine(randomization: pd.DataFrame) -> pd.Series:
    """Whether the two ketamine periods of each patient are consecutive (no placebo between them).

    Returns a boolean Series indexed by ``patient_id``. Sequences ``K-P-M``
    and ``M-P-K`` put placebo between the two ketamine periods.
    """
    middle = randomization["sequence"].astype(str).str.split("-").str[1]
    return pd.Series((middle != "P").to_numpy(), index=randomization["patient_id"].to_numpy(),
                     name="consecutive_ketamine")
