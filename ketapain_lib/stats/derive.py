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

from ..rawdata.schema import DIARY_DAYS, RELATED_LEVELS

from ..design import (ACTIVE_TREATMENTS, AUC_WINDOWS, FIGURE4_WINDOWS, PAIN_MEASURES, PRIMARY, REFERENCE_TREATMENT,
                      RESPONSE_THRESHOLD)  # noqa: E402
#: Ends of the AUC windows reported by the paper (days after infusion).


Imputation = Literal["locf", "none"]


def diary_grid(diary: pd.DataFrame, measures: tuple[str, ...] = PAIN_MEASURES,
               periods: pd.DataFrame | None = None) -> pd.DataFrame:
    """The diary on the complete grid of days 0-35 for every patient and period.

    ``periods`` (``patient_id``, ``period``; e.g. the infusions table) lists
    the periods the grid covers, so that a period given without a single
    diary row is there, all missing; without it, the periods present in the
    diary. Returns one row per ``patient_id``, ``period`` and ``day`` with
    the requested measures (missing entries as NA), sorted by those keys.
    """
    keys = (diary if periods is None else periods)[["patient_id", "period"]].drop_duplicates()
    days = pd.DataFrame({"day": pd.array(DIARY_DAYS, dtype="Int64")})
    grid = keys.merge(days, how="cross")
    out = grid.merge(diary[["patient_id", "period", "day", *measures]], on=["patient_id", "period", "day"],
                     how="left")
    return out.sort_values(["patient_id", "period", "day"], kind="stable").reset_index(drop=True)


def locf(diary: pd.DataFrame, measures: tuple[str, ...] = PAIN_MEASURES,
         periods: pd.DataFrame | None = None) -> pd.DataFrame:
    """Fill missing diary entries by last observation carried forward, within patient and period.

    A missing day 0 takes the first later observation (see the module
    docstring). Returns the full day grid (:func:`diary_grid`) with filled
    measures; a period without any entry stays missing.

    >>> import pandas as pd
    >>> d = pd.DataFrame({"patient_id": ["P01"] * 3, "period": [1] * 3, "day": [0, 1, 3],
    ...                   "average_pain": [5, None, 7]})
    >>> locf(d, ("average_pain",)).set_index("day")["average_pain"].head(5).tolist()
    [5.0, 5.0, 5.0, 7.0, 7.0]
    """
    grid = diary_grid(diary, measures, periods)
    _, values = _day_matrix(diary, measures, periods)  # the same periods, in the grid's order, day by day
    for measure in measures:
        grid[measure] = _carried(values[measure]).reshape(-1)
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


def auc(diary: pd.DataFrame, measure: str = PRIMARY.measure, last_day: int = PRIMARY.last_day,
        imputation: Imputation = PRIMARY.imputation, periods: pd.DataFrame | None = None) -> pd.DataFrame:
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
    periods
        The periods to cover (:func:`diary_grid`); a period without two
        observed days has a missing AUC.

    Returns
    -------
    DataFrame with ``patient_id``, ``period`` and ``auc`` (pain score-days).

    >>> d = pd.DataFrame({"patient_id": ["P01"] * 3, "period": [1] * 3, "day": [0, 2, 35],
    ...                   "average_pain": [4, None, 6]})
    >>> float(auc(d, "average_pain", 35, "none")["auc"].iloc[0])   # (4 + 6) / 2 x 35 days
    175.0
    >>> float(auc(d, "average_pain", 7, "locf")["auc"].iloc[0])    # 4 carried over days 0-7
    28.0
    """
    if imputation not in ("locf", "none"):
        raise ValueError(f"imputation must be 'locf' or 'none', not {imputation!r}")
    keys, values = _day_matrix(diary, (measure,), periods)
    return keys.assign(auc=auc_by_day(values[measure], imputation)[:, DIARY_DAYS.index(last_day)])


def auc_by_day(values: np.ndarray, imputation: Imputation) -> np.ndarray:
    """AUC from day 0 to each day (pain score-days) of each row of a (rows x days 0-35) array, NaN if missing.

    The rules of :func:`auc` on arrays: with ``"locf"`` the missing days are imputed first; with ``"none"``
    the trapezoids join consecutive observed days. Column ``d`` is the AUC of the window ending on day ``d``.

    >>> float(auc_by_day(np.array([[4.0] + [np.nan] * 34 + [6.0]]), "none")[0, 35])
    175.0
    """
    return _cumulative_auc(_carried(values) if imputation == "locf" else values)


def _day_matrix(diary: pd.DataFrame, measures: tuple[str, ...],
                periods: pd.DataFrame | None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Keys (``patient_id``, ``period``; sorted) and, per measure, a (periods x days 0-35) array, NaN if missing."""
    keys = (diary if periods is None else periods)[["patient_id", "period"]].drop_duplicates()
    keys = keys.sort_values(["patient_id", "period"], kind="stable").reset_index(drop=True)
    row = pd.MultiIndex.from_frame(keys).get_indexer(pd.MultiIndex.from_frame(diary[["patient_id", "period"]]))
    column = pd.to_numeric(diary["day"], errors="coerce").to_numpy(dtype=float)
    on_grid = (row >= 0) & np.isin(column, DIARY_DAYS)  # as the grid's left join: rows off the grid are ignored
    row, column = row[on_grid], column[on_grid].astype(int) - DIARY_DAYS[0]
    values = {}
    for measure in measures:
        array = np.full((len(keys), len(DIARY_DAYS)), np.nan)
        array[row, column] = pd.to_numeric(diary[measure], errors="coerce").to_numpy(dtype=float, na_value=np.nan)[
            on_grid]
        values[measure] = array
    return keys, values


def _carried(values: np.ndarray) -> np.ndarray:
    """LOCF along the days of each row, then the first observation carried backward to the missing first days."""
    frame = pd.DataFrame(values)
    return frame.ffill(axis=1).bfill(axis=1).to_numpy()


def _cumulative_auc(values: np.ndarray) -> np.ndarray:
    """Trapezoid AUC from day 0 to each day (columns), joining consecutive observed days; NaN below two points.

    Each observed day adds the trapezoid back to the previous observed day of its row, so one cumulative sum
    gives every window at once.
    """
    days = np.asarray(DIARY_DAYS, dtype=float)
    observed = ~np.isnan(values)
    index = np.where(observed, np.arange(values.shape[1]), -1)
    previous = np.concatenate([np.full((len(values), 1), -1), np.maximum.accumulate(index, axis=1)[:, :-1]], axis=1)
    has_previous = observed & (previous >= 0)
    safe = np.maximum(previous, 0)
    previous_values = np.take_along_axis(values, safe, axis=1)
    trapezoids = np.where(has_previous, (days - days[safe]) * (values + previous_values) / 2, 0.0)
    areas = np.cumsum(trapezoids, axis=1)
    return np.where(np.cumsum(observed, axis=1) >= 2, areas, np.nan)


def with_treatment(frame: pd.DataFrame, infusions: pd.DataFrame) -> pd.DataFrame:
    """Add the ``treatment`` of each patient and period from the infusions table."""
    return frame.merge(infusions[["patient_id", "period", "treatment"]], on=["patient_id", "period"],
                       how="left", validate="many_to_one")


def related_adverse_events(adverse_events: pd.DataFrame, infusions: pd.DataFrame) -> pd.DataFrame:
    """Adverse events judged possibly, probably or certainly related to the study drug, with their treatment."""
    events = with_treatment(adverse_events, infusions)
    return events[events["relatedness"].isin(RELATED_LEVELS)].reset_index(drop=True)


def flow_counts(screening: pd.DataFrame) -> dict[str, int]:
    """Screened, randomized and not randomized patients (the top of the flow diagram).

    >>> flow_counts(pd.DataFrame({"screening_outcome": ["randomized", "declined", "randomized"]}))
    {'screened': 3, 'randomized': 2, 'not_randomized': 1}
    """
    outcome = screening["screening_outcome"].astype(str)
    randomized = int((outcome == "randomized").sum())
    return {"screened": len(outcome), "randomized": randomized, "not_randomized": len(outcome) - randomized}


def discontinuations(disposition: pd.DataFrame, infusions: pd.DataFrame) -> pd.DataFrame:
    """Patients who discontinued, with the period they were in (their last infusion) and the reason.

    Returns ``patient_id``, ``period`` (0 if never infused), ``study_day`` and
    ``reason``, one row per discontinued patient, sorted by period and patient.

    >>> disposition = pd.DataFrame({"patient_id": ["P01", "P02"], "status": ["completed", "discontinued"],
    ...                             "discontinuation_study_day": [None, 40],
    ...                             "discontinuation_reason": [None, "adverse_event"]})
    >>> infusions = pd.DataFrame({"patient_id": ["P01"] * 3 + ["P02"] * 2, "period": [1, 2, 3, 1, 2]})
    >>> discontinuations(disposition, infusions)[["patient_id", "period", "reason"]].values.tolist()
    [['P02', 2, 'adverse_event']]
    """
    left = disposition[disposition["status"].astype(str) == "discontinued"]
    last_period = infusions.groupby("patient_id", observed=True)["period"].max().astype(int)
    out = pd.DataFrame({"patient_id": left["patient_id"].astype(str).to_numpy(),
                        "period": left["patient_id"].map(last_period).fillna(0).astype(int).to_numpy(),
                        "study_day": left["discontinuation_study_day"].to_numpy(),
                        "reason": left["discontinuation_reason"].astype(str).to_numpy()})
    return out.sort_values(["period", "patient_id"], kind="stable").reset_index(drop=True)


def unsure_of_treatment(blinding: pd.DataFrame) -> pd.Series:
    """Share of patients who could not guess their treatment, by period (0-1): how well the blind held."""
    unsure = blinding["guess"].astype(str) == "do_not_know"
    return unsure.groupby(blinding["period"].astype(int)).mean()


def consecutive_ketamine(randomization: pd.DataFrame) -> pd.Series:
    """Whether the two ketamine periods of each patient are consecutive (no placebo between them).

    Returns a boolean Series indexed by ``patient_id``. Sequences ``K-P-M``
    and ``M-P-K`` put placebo between the two ketamine periods.
    """
    middle = randomization["sequence"].astype(str).str.split("-").str[1]
    return pd.Series((middle != "P").to_numpy(), index=randomization["patient_id"].to_numpy(),
                     name="consecutive_ketamine")


def auc_all(diary: pd.DataFrame, infusions: pd.DataFrame) -> pd.DataFrame:
    """Every AUC the paper reports: each measure, window and imputation, for every patient and period.

    Long format: ``patient_id``, ``period``, ``treatment``, ``measure``,
    ``last_day``, ``imputation``, ``auc`` (pain score-days). The primary
    endpoint is ``measure == "average_pain"``, ``last_day == 35``,
    ``imputation == "locf"``. The same values as :func:`auc` for each, from one pass over the diary.
    """
    keys, values = _day_matrix(diary, PAIN_MEASURES, infusions)
    parts = []
    for measure in PAIN_MEASURES:
        by_imputation = {imputation: auc_by_day(values[measure], imputation) for imputation in ("locf", "none")}
        for last_day in AUC_WINDOWS:
            for imputation in ("locf", "none"):
                parts.append(keys.assign(auc=by_imputation[imputation][:, DIARY_DAYS.index(last_day)],
                                         measure=measure, last_day=last_day, imputation=imputation))
    frame = with_treatment(pd.concat(parts, ignore_index=True), infusions)
    return frame[["patient_id", "period", "treatment", "measure", "last_day", "imputation", "auc"]]


def preinfusion_pain(infusions: pd.DataFrame) -> pd.DataFrame:
    """Pain on the day of each infusion, before it (0-10): ``patient_id``, ``period``, ``treatment``, ``pain``."""
    frame = infusions[["patient_id", "period", "treatment", "preinfusion_pain"]].rename(
        columns={"preinfusion_pain": "pain"})
    return frame.astype({"pain": "float64"}).reset_index(drop=True)


#: Readings of the paper's "improved (decreased AUC)" behind its figure 4, in the order the report shows them.
IMPROVEMENT_RULES: dict[str, str] = {
    "baseline_30pct": "mean daily pain over the window at least 30% below the pain before that infusion",  # RESPONSE_THRESHOLD
    "baseline_any": "mean daily pain over the window below the pain before that infusion",
    "versus_placebo": "AUC lower than with the comparator: each active infusion against placebo, placebo against both active infusions",
}


def improvement(auc_values: pd.DataFrame, preinfusion: pd.DataFrame, last_day: int,
                rule: str = "baseline_30pct") -> pd.DataFrame:
    """Per-patient improvement flags behind figure 4, under one reading of the paper's wording.

    The paper counts patients who "improved (decreased AUC)" with ketamine
    and/or ketamine/magnesium, and with placebo, without saying against what.
    The report's choice (``baseline_30pct``) compares each period with its own
    starting point: the mean daily pain over the window (AUC / ``last_day``)
    at least 30% below the pain recorded just before that infusion (30% is the
    usual threshold of a moderate, clinically important improvement in chronic
    pain). The other readings of :data:`IMPROVEMENT_RULES` are shown beside it.

    Parameters
    ----------
    auc_values
        ``patient_id``, ``treatment`` and ``auc`` for one measure and window,
        covering the whole window (after LOCF): an AUC without imputation
        whose last days are missing spans fewer days and would understate
        the mean daily pain.
    preinfusion
        Output of :func:`preinfusion_pain`.
    last_day
        End of the window, to turn the AUC into a mean daily pain.

    Returns
    -------
    One row per patient: ``improved_active`` (ketamine and/or
    ketamine/magnesium) and ``improved_placebo``, nullable booleans: NA
    where the patient has no value for the treatment(s) concerned.
    """
    if rule not in IMPROVEMENT_RULES:
        raise ValueError(f"rule must be one of {', '.join(IMPROVEMENT_RULES)}, not {rule!r}")
    wide = auc_values.pivot(index="patient_id", columns="treatment", values="auc")
    wide = wide.reindex(columns=[REFERENCE_TREATMENT, *ACTIVE_TREATMENTS])  # a treatment nobody had is all missing
    if rule == "versus_placebo":
        best_active = wide[list(ACTIVE_TREATMENTS)].min(axis=1)
        known = pd.DataFrame({"active": best_active.notna() & wide[REFERENCE_TREATMENT].notna()})
        known["placebo"] = known["active"]
        active = (best_active < wide[REFERENCE_TREATMENT]).where(known["active"])
        placebo = (wide[REFERENCE_TREATMENT] < best_active).where(known["placebo"])
    else:
        start = preinfusion.pivot(index="patient_id", columns="treatment", values="pain").reindex(columns=wide.columns)
        reduction = relative_reduction(wide / last_day, start)
        better = (responds(reduction) if rule == "baseline_30pct" else reduction > 0).where(reduction.notna())
        active = better[list(ACTIVE_TREATMENTS)].eq(True).any(axis=1).where(
            better[list(ACTIVE_TREATMENTS)].notna().any(axis=1))
        placebo = better[REFERENCE_TREATMENT]
    # a patient without the period (a drop-out, or no diary) is unknown, not "not improved"
    return pd.DataFrame({"improved_active": active.astype("boolean"), "improved_placebo": placebo.astype("boolean")})


def relative_reduction(mean_pain, preinfusion_pain):
    """Fraction by which mean daily pain fell below the pain before the infusion (NaN if that pain was 0).

    >>> round(float(relative_reduction(3.5, 5.0)), 12)
    0.3
    """
    start = preinfusion_pain.where(preinfusion_pain > 0) if hasattr(preinfusion_pain, "where") else (
        preinfusion_pain if preinfusion_pain > 0 else float("nan"))
    return 1 - mean_pain / start


def responds(reduction, threshold: float = RESPONSE_THRESHOLD):
    """The report's one rule of improvement (figure 4) and response: a reduction of at least ``threshold``.

    A tolerance of 1e-9 keeps a reduction of exactly 30% (e.g. 3.5 against 5) on the right side of the
    threshold whatever the rounding of the division.

    >>> bool(responds(0.3)), bool(responds(0.29))
    (True, False)
    """
    return reduction >= threshold - 1e-9


def improvement_counts(auc_long: pd.DataFrame, preinfusion: pd.DataFrame, windows: tuple[int, ...] = FIGURE4_WINDOWS,
                       measure: str = PRIMARY.measure, imputation: Imputation = PRIMARY.imputation) -> pd.DataFrame:
    """Patients improved with an active treatment and with placebo, for every rule and window.

    ``auc_long`` is :func:`auc_all`'s output. Returns ``rule``, ``last_day``,
    ``improved_active``, ``improved_placebo``, ``n`` (patients) and the
    patients with a known flag, ``n_active`` and ``n_placebo``.
    """
    rows = []
    for rule in IMPROVEMENT_RULES:
        for last_day in windows:
            values = auc_long[(auc_long["measure"] == measure) & (auc_long["last_day"] == last_day)
                              & (auc_long["imputation"] == imputation)]
            flags = improvement(values, preinfusion, last_day, rule)
            rows.append({"rule": rule, "last_day": last_day, "improved_active": int(flags["improved_active"].sum()),
                         "improved_placebo": int(flags["improved_placebo"].sum()), "n": len(flags),
                         "n_active": int(flags["improved_active"].notna().sum()),
                         "n_placebo": int(flags["improved_placebo"].notna().sum())})
    return pd.DataFrame(rows)


def missing_diary(diary: pd.DataFrame, infusions: pd.DataFrame, measure: str = PRIMARY.measure) -> pd.DataFrame:
    """Missing diary entries by treatment and day (the paper's supplementary tables 1-3).

    Returns ``treatment``, ``day``, ``n_expected`` (patients given that
    treatment), ``n_missing`` and ``pct_missing``. A period given without a
    single diary row counts as missing on every day.
    """
    grid = with_treatment(diary_grid(diary, (measure,), infusions), infusions)
    grid["missing"] = grid[measure].isna()
    table = grid.groupby(["treatment", "day"], observed=True).agg(
        n_expected=("missing", "size"), n_missing=("missing", "sum")).reset_index()
    table["n_missing"] = table["n_missing"].astype(int)
    table["pct_missing"] = 100.0 * table["n_missing"] / table["n_expected"]
    return table
