"""Crossover data: from the raw tables to one row per patient and period, with treatment, sequence and carry-over.

:func:`crossover_frame` takes any crossover (treatment names, period labels,
missing periods) and refuses, with a message naming the problem, what a
model cannot use.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import get_args

import numpy as np
import pandas as pd

from ..design import CARRYOVER_CODING, REFERENCE_TREATMENT, TREATMENT_CODES, TREATMENTS, CarryoverCoding


def _period_order(labels: pd.Series, period_order: Sequence | None = None) -> list:
    """Period labels in schedule order: ``period_order`` when given, the categories of an ordered categorical,
    numerically when every label is a number; text labels (whose order cannot be known) are refused."""
    unique = list(pd.unique(labels.dropna()))
    if period_order is not None:
        order = list(period_order)
        if len(set(map(repr, order))) != len(order):
            raise ValueError(f"period_order {order} names a period twice")
        unknown = [label for label in unique if label not in order]
        if unknown:
            raise ValueError(f"period(s) {unknown} of the infusions are not in period_order {order}")
        return order
    if isinstance(labels.dtype, pd.CategoricalDtype) and labels.cat.ordered:
        return list(labels.cat.categories)
    numeric = pd.to_numeric(pd.Series(unique, dtype=object).astype(str), errors="coerce")
    if numeric.notna().all():
        return [label for _, label in sorted(zip(numeric, unique), key=lambda pair: pair[0])]
    text = [label for label, number in zip(unique, numeric) if pd.isna(number)]
    raise ValueError(f"period labels {sorted(map(str, text))} are text, whose order is not known: give the "
                     "periods as numbers, as an ordered categorical (pandas.Categorical(..., ordered=True)) or "
                     "in schedule order with period_order=[...]")


def _plain_periods(periods: pd.Series, order: list) -> pd.Series:
    """Periods as plain integers (or floats) when they are numbers, else an ordered categorical."""
    numeric = pd.to_numeric(periods if pd.api.types.is_numeric_dtype(periods) else periods.astype(str),
                            errors="coerce")
    pairs = pd.DataFrame({"label": periods.astype(str).to_numpy(), "number": numeric.to_numpy()}).drop_duplicates()
    one_to_one = numeric.notna().all() and pairs["label"].is_unique and pairs["number"].is_unique
    if one_to_one and not isinstance(periods.dtype, pd.CategoricalDtype):   # "1" and "01" stay two periods
        values = numeric.to_numpy(dtype=float)
        return pd.Series(values.astype(np.int64) if np.all(values == np.round(values)) else values,
                         index=periods.index)
    return pd.Series(pd.Categorical(periods.astype(object), categories=order, ordered=True), index=periods.index)


def _rows(table: pd.DataFrame, mask) -> str:
    """The index labels of the rows of ``table`` under ``mask``, as a reader names them."""
    labels = [str(label) for label in table.index[np.asarray(mask, dtype=bool)]]
    return f"row{'s' if len(labels) > 1 else ''} {', '.join(labels[:5])}{' ...' if len(labels) > 5 else ''}"


def _check_columns(table: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, not {type(table).__name__}")
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(f"{name} has no column {missing[0]!r} (needed: {', '.join(columns)})")
    for column in columns:
        empty = table[column].isna().to_numpy()
        if empty.any():
            raise ValueError(f"{name}: {column} is missing in {_rows(table, empty)}")


def _check_unique(table: pd.DataFrame, name: str, keys: list[str], what: str, rule: str) -> None:
    """Refuse two rows of ``table`` for the same ``keys`` (a patient randomized twice, a period given twice)."""
    as_text = table[keys].astype(str)
    twice = as_text.duplicated(keep=False).to_numpy()
    if twice.any():
        first = as_text[twice].iloc[0]
        same = (as_text == first).all(axis=1).to_numpy()
        where = " ".join(f"{key.replace('_id', '')} {first[key]}" for key in keys)
        raise ValueError(f"{name}: {what}{where} appears {int(same.sum())} times ({_rows(table, same)}): {rule}")


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
    """``patient_id``, ``period`` and each of ``outcomes`` as floats. An outcome that is text but not a number
    (e.g. ``'n/a'``; a missing outcome is NaN or None) or infinite is refused, naming the rows."""
    _check_columns(values, "values", ["patient_id", "period"])
    _check_unique(values, "values", ["patient_id", "period"], "the outcome of ",
                  "one value per patient and period")
    columns = {}
    for outcome in outcomes:
        if outcome not in values.columns:
            raise ValueError(f"no column {outcome!r} in the values")
        raw = values[outcome]
        y = pd.to_numeric(raw, errors="coerce").astype(float)
        text = (y.isna() & raw.notna()).to_numpy()
        if text.any():
            first = values[text].iloc[0]
            raise ValueError(f"{int(text.sum())} value(s) of {outcome} are not numbers, e.g. "
                             f"{raw[text].iloc[0]!r} for patient {first['patient_id']} period {first['period']} "
                             f"({_rows(values, text)}); leave a missing outcome empty (NaN)")
        if np.isinf(y).any():
            bad = values.loc[np.isinf(y), ["patient_id", "period"]].astype(str).agg(" period ".join, axis=1)
            raise ValueError(f"infinite {outcome} for patient {', '.join(bad)}: not a measurement")
        columns[outcome] = y
    return pd.DataFrame({"patient_id": values["patient_id"].astype(str), "period": values["period"], **columns})


def crossover_frame(values: pd.DataFrame, infusions: pd.DataFrame, randomization: pd.DataFrame,
                    outcome: str = "auc", carryover: CarryoverCoding = CARRYOVER_CODING,
                    treatments: Sequence[str] | None = None, reference: str | None = None,
                    period_order: Sequence | None = None) -> pd.DataFrame:
    """Tidy model data: one row per patient and period with treatment, sequence, carry-over and the outcome.

    Any treatments, any period labels (ordered numerically when they are
    numbers, e.g. 2, 4, 6 or 1.5; text labels by an ordered categorical or
    ``period_order``), missing periods.

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
    period_order
        The period labels in schedule order, needed when they are text (e.g.
        ``["one", "two", "three"]``) and not an ordered categorical.

    Raises
    ------
    ValueError
        Naming the problem: a missing column or label, an outcome that is not
        a number or infinite, a patient-period given twice, a patient
        randomized twice, a value without an infusion, a patient without a
        randomization, a sequence that contradicts the infusions, a treatment
        not among the levels, text periods without an order, an unknown
        carry-over coding.
    """
    return crossover_frames(values, infusions, randomization, [outcome], carryover, treatments, reference,
                            period_order)[outcome]


def crossover_frames(values: pd.DataFrame, infusions: pd.DataFrame, randomization: pd.DataFrame,
                     outcomes: Sequence[str], carryover: CarryoverCoding = CARRYOVER_CODING,
                     treatments: Sequence[str] | None = None, reference: str | None = None,
                     period_order: Sequence | None = None) -> dict[str, pd.DataFrame]:
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
    schedule, order, levels = _schedule(infusions, randomization, carryover, treatments, reference, period_order)
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
                        reference: str | None = None,
                        period_order: Sequence | None = None) -> list[tuple[tuple, pd.DataFrame]]:
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
    frames = crossover_frames(wide, infusions, randomization, names, carryover, treatments, reference, period_order)
    firsts = long.loc[~groups.duplicated(), list(keys)].itertuples(index=False, name=None)
    return [(key, frames[name]) for key, name in zip(firsts, names)]


#: Schedules already built, by a hash of their inputs: the tables and sensitivity analyses model many
#: outcomes of one trial, whose schedule (treatment, carry-over, sequence of every period) is the same.
_SCHEDULES: dict[tuple, tuple[pd.DataFrame, list, list[str]]] = {}


def _schedule(infusions: pd.DataFrame, randomization: pd.DataFrame, carryover: CarryoverCoding,
              treatments: Sequence[str] | None, reference: str | None,
              period_order: Sequence | None = None) -> tuple[pd.DataFrame, list, list[str]]:
    """Every period given: ``patient_id``, ``period``, ``rank``, ``treatment``, ``carryover``, ``sequence``."""
    if carryover not in get_args(CarryoverCoding):
        raise ValueError(f"carryover must be one of {', '.join(map(repr, get_args(CarryoverCoding)))}, "
                         f"not {carryover!r}")
    _check_columns(infusions, "infusions", ["patient_id", "period", "treatment"])
    _check_columns(randomization, "randomization", ["patient_id", "sequence"])
    periods = infusions[["patient_id", "period", "treatment"]].astype({"patient_id": str, "treatment": str})
    sequences = randomization[["patient_id", "sequence"]].astype({"patient_id": str, "sequence": str})
    categories = tuple(map(repr, periods["period"].cat.categories)) + (periods["period"].cat.ordered,) \
        if isinstance(periods["period"].dtype, pd.CategoricalDtype) else None
    key = (int(pd.util.hash_pandas_object(periods, index=False).sum()), str(periods["period"].dtype), categories,
           int(pd.util.hash_pandas_object(sequences, index=False).sum()), len(periods), len(sequences),
           carryover, tuple(treatments) if treatments is not None else None, reference,
           tuple(map(repr, period_order)) if period_order is not None else None)
    if key in _SCHEDULES:
        return _SCHEDULES[key]  # read-only: crossover_frame only merges it into a new frame
    _check_unique(infusions, "infusions", ["patient_id", "period"], "the infusion of ",
                  "one infusion per patient and period")
    _check_unique(randomization, "randomization", ["patient_id"], "", "a patient is randomized once")
    order = _period_order(infusions["period"], period_order)
    rank = {label: i for i, label in enumerate(order)}
    levels = _treatment_levels(set(periods["treatment"]), treatments, reference)
    # carry-over is the treatment of the previous period *of the schedule*, taken from every infusion, so that
    # a period missing from ``values`` (complete cases, a missing score) cannot shift it onto the wrong row
    periods = periods.assign(rank=periods["period"].map(rank).astype(np.int64))
    previous = periods.assign(rank=periods["rank"] + 1)[["patient_id", "rank", "treatment"]]
    periods = periods.merge(previous.rename(columns={"treatment": "previous"}), on=["patient_id", "rank"], how="left")
    carries_nothing = {levels[0]} if carryover == "placebo_carries_nothing" else set()
    nothing = no_carryover_label(levels)
    periods["carryover"] = [(nothing if not isinstance(p, str) or p in carries_nothing else p)
                            for p in periods["previous"].astype(object).where(periods["previous"].notna(), None)]
    schedule = periods[["patient_id", "period", "rank", "treatment", "carryover"]].merge(
        sequences, on="patient_id", how="left", validate="many_to_one")
    _check_sequences(schedule, order, levels)
    if len(_SCHEDULES) > 64:  # bounded: a long session modelling many trials keeps the latest few
        _SCHEDULES.clear()
    _SCHEDULES[key] = (schedule, order, levels)
    return schedule, order, levels


def no_carryover_label(treatments: Sequence[str]) -> str:
    """The carry-over of a first period (and of a treatment that carries nothing): ``none``, or, when a treatment
    is itself named so, ``(none)`` with as many brackets as it takes to be no treatment's name.

    >>> no_carryover_label(["placebo", "active"]), no_carryover_label(["none", "(none)"])
    ('none', '((none))')
    """
    label = "none"
    while label in set(treatments):
        label = f"({label})"
    return label


def _sequence_treatments(label: str, periods: int, levels: list[str]) -> list[str] | None:
    """The treatment of each period that a sequence label spells (``P-K-M``, ``A-B``, ``ABBA``), or None when
    the label does not spell one (then only the consistency of its patients is checked)."""
    tokens = re.split(r"\s*[-,/>|]\s*|\s+", label.strip()) if re.search(r"[-,/>|\s]", label.strip()) else list(label)
    if len(tokens) != periods:
        return None
    spelled = []
    for token in tokens:
        if token in levels:
            spelled.append(token)
        elif TREATMENT_CODES.get(token) in levels:
            spelled.append(TREATMENT_CODES[token])
        else:
            initial = [level for level in levels if len(token) == 1 and level[:1].lower() == token.lower()]
            if len(initial) != 1:
                return None
            spelled.append(initial[0])
    return spelled


def _check_sequences(schedule: pd.DataFrame, order: list, levels: list[str]) -> None:
    """Refuse a sequence that contradicts the infusions: one its label spells otherwise, or patients of one
    sequence given different treatments in the same period."""
    known = schedule.dropna(subset=["sequence"])
    for label, group in known.groupby("sequence", sort=True):
        spelled = _sequence_treatments(str(label), len(order), levels)
        if spelled is not None:
            wrong = group[[spelled[r] != t for r, t in zip(group["rank"], group["treatment"])]]
            if len(wrong):
                first = wrong.iloc[0]
                raise ValueError(f"patient {first['patient_id']} is randomized to sequence {label!r}, which gives "
                                 f"{spelled[first['rank']]} in period {first['period']}, but the infusions "
                                 f"record {first['treatment']}")
        for rank, period in group.groupby("rank", sort=True):
            given = list(pd.unique(period["treatment"]))
            if len(given) > 1:
                patients = [period.loc[period["treatment"] == t, "patient_id"].iloc[0] for t in given[:2]]
                raise ValueError(f"sequence {label!r} does not match the infusions: in period "
                                 f"{period['period'].iloc[0]} patient {patients[0]} received {given[0]} and "
                                 f"patient {patients[1]} received {given[1]}")
