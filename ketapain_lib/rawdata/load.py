"""Load and validate a KETAPAIN raw-data directory.

The directory holds one CSV file per table of :data:`ketapain_lib.rawdata.schema.TABLES`.
:func:`validate` checks every file against the contract and the trial design
and returns *all* problems at once, each one naming the file, the line and the
column (``diary.csv:118: average_pain: value '11' is outside the range 0 to 10``).
:func:`load_trial` returns typed DataFrames, or raises
:class:`DataValidationError` carrying the same problems.

Files are opened read-only and nothing is ever written into the data
directory.

Which directory is read: the ``directory`` argument if given, else the
``KETAPAIN_DATA`` environment variable, else the synthetic data shipped in
``data/synthetic``. A real export with the same schema therefore regenerates
the real report with no code change::

    KETAPAIN_DATA=/secure/ketapain_export jupyter-book build .

Examples
--------
>>> trial = load_trial()
>>> trial.patients.shape[0]
20
>>> sorted(trial.infusions["treatment"].cat.categories)
['ketamine', 'ketamine_magnesium', 'placebo']
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .checks import check_design
from .location import DATA_DIR_ENV, SHIPPED_DATA_DIR, SYNTHETIC_MARKER, data_dir, fingerprint, is_synthetic
from .problems import DataValidationError, Problem
from .read import read_table
from .schema import TABLES, Table

__all__ = ["DATA_DIR_ENV", "SHIPPED_DATA_DIR", "SYNTHETIC_MARKER", "DataValidationError", "Problem", "Trial",
           "data_dir", "fingerprint", "is_synthetic", "load_trial", "validate"]

@dataclass
class Trial:
    """The loaded raw data: one typed DataFrame per table of the contract.

    ``is_synthetic`` is true for data made by :mod:`ketapain_lib.synthetic.simulate`.
    """

    source: Path
    is_synthetic: bool
    screening: pd.DataFrame
    patients: pd.DataFrame
    baseline_drugs: pd.DataFrame
    randomization: pd.DataFrame
    disposition: pd.DataFrame
    infusions: pd.DataFrame
    diary: pd.DataFrame
    questionnaires: pd.DataFrame
    adverse_events: pd.DataFrame
    concomitant_changes: pd.DataFrame
    blinding: pd.DataFrame


# --------------------------------------------------------------------------- checks across rows and files

# --------------------------------------------------------------------------- public API

def validate(directory: str | os.PathLike | None = None) -> list[Problem]:
    """Check a raw-data directory against the contract and the design.

    Returns every problem found (an empty list for valid data), sorted by
    file and line. Nothing is written anywhere.

    >>> validate()
    []
    """
    return _read_all(data_dir(directory))[1]


def _read_all(directory: Path) -> tuple[dict[str, pd.DataFrame | None], list[Problem]]:
    if not directory.is_dir():
        what = ("is a file, not a data directory (give the folder that holds the CSV files)" if directory.exists()
                else "data directory not found")
        return {}, [Problem(str(directory), None, None, what)]
    frames, problems = {}, []
    for name, table in TABLES.items():
        frame, found = read_table(directory, table)
        frames[name] = frame
        problems += found
    problems += check_design(directory, frames)
    order = {str(directory / t.filename): i for i, t in enumerate(TABLES.values())}
    ordered = sorted(set(problems), key=lambda p: (order.get(p.path, -1), p.line or 0, p.column or "", p.message))
    return frames, summarize(ordered)


#: How many problems with the same file, column and message are listed before the rest are counted.
SHOWN_PER_KIND = 3


def summarize(problems: list[Problem]) -> list[Problem]:
    """One root cause, a few lines: repeats of a (file, column, message) beyond :data:`SHOWN_PER_KIND` are
    counted in the last one shown ("and 2,158 more lines like it") instead of listed."""
    seen: dict[tuple, list[int]] = {}
    for index, problem in enumerate(problems):
        seen.setdefault((problem.path, problem.column, problem.message), []).append(index)
    kept = []
    for index, problem in enumerate(problems):
        same = seen[(problem.path, problem.column, problem.message)]
        position = same.index(index)
        if position < SHOWN_PER_KIND - 1 or len(same) <= SHOWN_PER_KIND:
            kept.append(problem)
        elif position == SHOWN_PER_KIND - 1:
            more = len(same) - position - 1
            kept.append(Problem(problem.path, problem.line, problem.column,
                                f"{problem.message} (and {more:,} more line(s) like it)"))
    return kept


def _typed(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.drop(columns=["source_line", "bad_columns"])
    out = {}
    for column in table.columns:
        values = frame[column.name]
        if column.kind == "integer":
            out[column.name] = pd.array(values.tolist(), dtype="Int64")
        elif column.kind == "decimal":
            out[column.name] = pd.to_numeric(values, errors="raise").astype("float64")
        elif column.kind == "category":
            out[column.name] = pd.Categorical(values, categories=list(column.allowed), ordered=True)
        else:
            out[column.name] = values.astype("string")
    return pd.DataFrame(out).sort_values(list(table.key), na_position="first", kind="stable").reset_index(drop=True)


def load_trial(directory: str | os.PathLike | None = None) -> Trial:
    """Validate and load a raw-data directory into typed DataFrames.

    Parameters
    ----------
    directory
        Folder holding the CSV files; default ``$KETAPAIN_DATA`` or the
        shipped synthetic data (:data:`SHIPPED_DATA_DIR`).

    Raises
    ------
    DataValidationError
        If any problem is found; its message lists every problem.
    """
    directory = data_dir(directory)
    raw_frames, problems = _read_all(directory)
    if problems:
        raise DataValidationError(problems)
    frames = {name: _typed(table, raw_frames[name]) for name, table in TABLES.items()}
    return Trial(source=directory, is_synthetic=is_synthetic(directory), **frames)
