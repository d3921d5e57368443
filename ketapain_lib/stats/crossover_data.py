"""Crossover data: from the raw tables to one row per patient and period, with treatment, sequence and carry-over.

:func:`crossover_frame` takes any crossover (treatment names, period labels,
missing periods) and refuses, with a message naming the problem, what a
model cannot use.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..design import CARRYOVER_CODING, REFERENCE_TREATMENT, TREATMENTS, CarryoverCoding


def _period_order(labels: pd.Series) -> list:
    """Period labels in schedule order: numerically when every label is a number, else as sorted text."""
    unique = list(pd.unique(labels.dropna()))
    numeric = pd.to_numeric(pd.Series(unique, dtype=object).astype(str), errors="coerce")
    if numeric.notna().all():
        return [label for _, label in sorted(zip(numeric, unique), key=lambda pair: pair[0])]
    return sorted(unique, key=str)


def _plain_periods(periods: pd.Series, order: list) -> pd.Series:
    """Periods as plain integers (or floats) when they are numbers, else an ordered categorical."""
    numeric = pd.to_numeric(periods if pd.api.types.is_numeric_dtype(periods) else periods.astype(str),
                            errors="coerce")
    if numeric.notna().all():
        values = numeric.to_numpy(dtype=float)
        return pd.Series(values.astype(np.int64) if np.all(values == np.round(values)) else values,
                         index=periods.index)
    return pd.Series(pd.Categorical(periods, categories=order, ordered=True), index=periods.index)


def _treatment_levels(observed: set[str], treatments: Sequence[str] | None, reference: str | None) -> list[str]:
    if treatments is None:
        treatments = list(TREATMENTS) if observed <= set(TREATMENTS) else sorted(observed)
    unknown = observed - set(treatments)
    if unknown:
        raise ValueError(f"treatment(s) {sorted(unknown)} not among the levels {list(treatments)}")
    reference = reference if reference is not None else (
        REFERENCE_TREATMENT if REFERENCE_TREATMENT in treatments else treatments[0])
    if reference not in treatments:
        raise ValueError(f"reference treatment {reference!r} is not among the levels {list(treatments)}")
    return [reference, *(t for t in treatments if t != reference)]


def _outcome_values(values: pd.DataFrame, outcomes: Sequence[str]) -> pd.DataFrame:
    """``patient_id``, ``period`` and each of ``outcomes`` as floats; an infinite outcome is refused, naming the
    rows."""
    columns = {}
    for outcome in outcomes:
        if outcome not in values.columns:
            raise ValueError(f"no column {outcome!r} in the values")
        y = pd.to_numeric(values[outcome], errors="coerce").astype(float)
        if np.isinf(y).any():
            bad = values.loc[np.isinf(y), ["patient_id", "period"]].astype(str).agg(" period ".join, axis=1)
            raise ValueError(f"infinite {outcome} for patient {', '.join(bad)}: not a measurement")
        columns[outcome] = y
    return pd.DataFrame({"patient_id": values["patient_id"].astype(str), "period": values["period"], **columns})


def crossover_frame(values: pd.DataFrame, infusions: pd.DataFrame, randomization: pd.DataFrame,
                    outcome: str = "auc", carryover: CarryoverCoding = CARRYOVER_CODING,
                    treatments: Sequence[str] | None = None, reference: str | None = None) -> pd.DataFrame:
    """Tidy model data: one row per patient and period with treatment, sequence, carry-over and the outcome.

    Any treatments, any period labels (ordered numerically when they are
    numbers, e.g. 2, 4, 6 or 1.5, else as text), missing periods.

    Parameters
    ----------
    values
        ``patient_id``, ``period`` and the ``outcome`` column. A missing (NaN)
        outcome drops the row: the mixed model uses every available period.
    infusions
        ``patient_id``, ``period``, ``treatment``: every period given, also
        those without an outcome, so that carry-over is always the treatment of
        the previous period of the schedule.
    randomization
        ``patient_id`` and ``sequence``.
    carryover
        Coding of the previous period's treatment
        (:data:`ketapain_lib.design.CARRYOVER_CODING`); with
        ``"placebo_carries_nothing"`` the reference treatment carries nothing.
    treatments, reference
        Treatment levels and the reference (first) level; default the
        design's treatments when they cover the data, else the sorted names,
        with the design's reference when present.

    Raises
    ------
    ValueError
        Naming the problem: an infinite outcome, a value without an infusion,
        a patient without a randomization, a treatment not among the levels.
    """
    return crossover_frames(values, infusions, randomization, [outcome], carryover, treatments, reference)[outcome]


def crossover_frames(values: pd.DataFrame, infusions: pd.DataFrame, randomization: pd.DataFrame,
                     outcomes: Sequence[str], carryover: CarryoverCoding = CARRYOVER_CODING,
                     treatments: Sequence[str] | None = None,
                     reference: str | None = None) -> dict[str, pd.DataFrame]:
    """:func:`crossover_frame` of each column of ``outcomes`` (e.g. the AUC of every window, one column each),
    by outcome: the values are checked against the schedule, and merged with it, once for all of them.

    >>> import pandas as pd
    >>> infusions = pd.DataFrame({"patient_id": ["1", "1"], "period": [1, 2], "treatment": ["placebo", "ketamine"]})
    >>> randomization = pd.DataFrame({"patient_id": ["1"], "sequence": ["PK"]})
    >>> values = pd.DataFrame({"patient_id": ["1", "1"], "period": [1, 2], "a": [3.0, 4.0], "b": [5.0, None]})
    >>> frames = crossover_frames(values, infusions, randomization, ["a", "b"])
    >>> frames["a"]["y"].tolist(), frames["b"]["carryover"].tolist()
    ([3.0, 4.0], ['none'])
    """
    outcome_values = _outcome_values(values, outcomes)
    schedule, order, levels = _schedule(infusions, randomization, carryover, treatments, reference)
    frame = outcome_values.merge(schedule, on=["patient_id", "period"], how="left", validate="one_to_one")
    orphans = frame[frame["treatment"].isna()]
    if len(orphans):
        first = orphans.iloc[0]
        raise ValueError(f"{len(orphans)} value(s) without an infusion, e.g. patient {first['patient_id']} "
                         f"period {first['period']}")
    unrandomized = sorted(set(frame.loc[frame["sequence"].isna(), "patient_id"]))
    if unrandomized:
        raise ValueError(f"patient(s) {', '.join(unrandomized)} have no randomization (sequence)")
    frame = frame.sort_values(["patient_id", "rank"], kind="stable").drop(columns=["rank"]).reset_index(drop=True)
    frame["treatment"] = pd.Categorical(frame["treatment"], categories=levels)
    frame["period"] = _plain_periods(frame["period"], order)
    design = frame.drop(columns=list(outcomes))
    frames = {}
    for outcome in outcomes:
        observed = frame[outcome].notna().to_numpy()
        one = design[observed].reset_index(drop=True)
        one.insert(2, "y", frame.loc[observed, outcome].to_numpy(dtype=float))
        frames[outcome] = one
    return frames


def crossover_frames_by(long: pd.DataFrame, keys: Sequence[str], outcome: str, infusions: pd.DataFrame,
                        randomization: pd.DataFrame, carryover: CarryoverCoding = CARRYOVER_CODING,
                        treatments: Sequence[str] | None = None,
                        reference: str | None = None) -> list[tuple[tuple, pd.DataFrame]]:
    """(key, :func:`crossover_frame`) of each group of ``long`` by the columns ``keys`` (each group one value of
    ``outcome`` per patient and period), in order of appearance: :func:`crossover_frames` of the groups side
    by side, so the values are merged with the schedule once.

    >>> import pandas as pd
    >>> infusions = pd.DataFrame({"patient_id": ["1", "1"], "period": [1, 2], "treatment": ["placebo", "ketamine"]})
    >>> randomization = pd.DataFrame({"patient_id": ["1"], "sequence": ["PK"]})
    >>> long = pd.DataFrame({"day": [7, 7, 35, 35], "patient_id": ["1"] * 4, "period": [1, 2, 1, 2],
    ...                      "auc": [1.0, 2.0, 3.0, 4.0]})
    >>> frames = crossover_frames_by(long, ["day"], "auc", infusions, randomization)
    >>> [(key, frame["y"].tolist()) for key, frame in frames]
    [((7,), [1.0, 2.0]), ((35,), [3.0, 4.0])]
    """
    groups = long.groupby(list(keys), sort=False).ngroup()
    wide = (long.assign(_group=groups.map("group {}".format)).pivot(index=["patient_id", "period"], columns="_group",
                                                                    values=outcome).reset_index())
    names = [f"group {number}" for number in range(groups.max() + 1)] if len(long) else []
    frames = crossover_frames(wide, infusions, randomization, names, carryover, treatments, reference)
    firsts = long.loc[~groups.duplicated(), list(keys)].itertuples(index=False, name=None)
    return [(key, frames[name]) for key, name in zip(firsts, names)]


#: Schedules already built, by a hash of their inputs: the tables and sensitivity analyses model many
#: outcomes of one trial, whose schedule (treatment, carry-over, sequence of every period) is the same.
_SCHEDULES: dict[tuple, tuple[pd.DataFrame, list, list[str]]] = {}


def _schedule(infusions: pd.DataFrame, randomization: pd.DataFrame, carryover: CarryoverCoding,
              treatments: Sequence[str] | None, reference: str | None) -> tuple[pd.DataFrame, list, list[str]]:
    """Every period given: ``patient_id``, ``period``, ``rank``, ``treatment``, ``carryover``, ``sequence``."""
    periods = infusions[["patient_id", "period", "treatment"]].astype({"patient_id": str, "treatment": str})
    sequences = randomization[["patient_id", "sequence"]].astype({"patient_id": str, "sequence": str})
    key = (int(pd.util.hash_pandas_object(periods, index=False).sum()), str(periods["period"].dtype),
           int(pd.util.hash_pandas_object(sequences, index=False).sum()), len(periods), len(sequences),
           carryover, tuple(treatments) if treatments is not None else None, reference)
    if key in _SCHEDULES:
        return _SCHEDULES[key]  # read-only: crossover_frame only merges it into a new frame
    order = _period_order(periods["period"])
    rank = {label: i for i, label in enumerate(order)}
    levels = _treatment_levels(set(periods["treatment"]), treatments, reference)
    # carry-over is the treatment of the previous period *of the schedule*, taken from every infusion, so that
    # a period missing from ``values`` (complete cases, a missing score) cannot shift it onto the wrong row
    periods = periods.assign(rank=periods["period"].map(rank))
    previous = periods.assign(rank=periods["rank"] + 1)[["patient_id", "rank", "treatment"]]
    periods = periods.merge(previous.rename(columns={"treatment": "previous"}), on=["patient_id", "rank"], how="left")
    carries_nothing = {levels[0]} if carryover == "placebo_carries_nothing" else set()
    periods["carryover"] = [("none" if not isinstance(p, str) or p in carries_nothing else p)
                            for p in periods["previous"].astype(object).where(periods["previous"].notna(), None)]
    schedule = periods[["patient_id", "period", "rank", "treatment", "carryover"]].merge(
        sequences, on="patient_id", how="left", validate="many_to_one")
    if len(_SCHEDULES) > 64:  # bounded: a long session modelling many trials keeps the latest few
        _SCHEDULES.clear()
    _SCHEDULES[key] = (schedule, order, levels)
    return schedule, order, levels
