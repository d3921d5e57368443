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

import csv
import io
import math
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .schema import (
    PERIODS,
    SCORE_BY_NAME,
    TABLES,
    TREATMENT_CODES,
    TREATMENTS,
    Column,
    Table,
)

#: The synthetic dataset that ships with the project.
SHIPPED_DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "synthetic"
#: Marker file the generator writes; a real export does not have it.
SYNTHETIC_MARKER = "SYNTHETIC_DATA.md"
DATA_DIR_ENV = "KETAPAIN_DATA"

# the protocol's doses, and the relative tolerance accepted when checking a dose against the weight
from ..design import KETAMINE_DOSE_TOLERANCE, KETAMINE_MG_PER_KG, MAGNESIUM_SULFATE_DOSE_MG  # noqa: E402

_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found in the raw data, located as precisely as possible."""

    path: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


class DataValidationError(ValueError):
    """The raw data break the contract; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        listing = "\n".join(str(p) for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the raw data:\n{listing}")


@dataclass
class Trial:
    """The loaded raw data: one typed DataFrame per table of the contract.

    ``is_synthetic`` is true for data made by :mod:`ketapain_lib.provenance.simulate`.
    """

    source: Path
    is_synthetic: bool
    screening: pd.DataFrame
    patients: pd.DataFrame
    baseline_drugs: pd.DataFrame
    randomization: pd.DataFrame
    infusions: pd.DataFrame
    diary: pd.DataFrame
    questionnaires: pd.DataFrame
    adverse_events: pd.DataFrame
    concomitant_changes: pd.DataFrame
    blinding: pd.DataFrame


def data_dir(directory: str | os.PathLike | None = None) -> Path:
    """The data directory to read: argument, else ``$KETAPAIN_DATA``, else the shipped synthetic data."""
    if directory is not None:
        return Path(directory)
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    return SHIPPED_DATA_DIR


# --------------------------------------------------------------------------- reading one file

def _parse_cell(text: str, column: Column, score=None) -> tuple[object, str | None]:
    """Parse one cell; return (value, problem message or None)."""
    if text == "":
        return (None, None) if column.nullable else (None, "missing value (the column is required)")
    if text != text.strip():
        return None, f"value {text!r} has leading or trailing spaces"
    if column.kind == "integer":
        if not _INTEGER.match(text):
            return None, f"value {text!r} is not an integer"
        value: object = int(text)
    elif column.kind == "decimal":
        if not _DECIMAL.match(text):
            return None, f"value {text!r} is not a number"
        value = float(text)
    elif column.kind == "category":
        if text not in column.allowed:
            return None, f"unknown value {text!r} (allowed: {', '.join(column.allowed)})"
        value = text
    else:
        value = text
    if column.value_range is not None and column.kind in ("integer", "decimal"):
        low, high = column.value_range
        if not low <= value <= high:
            return None, f"value {text!r} is outside the range {_fmt(low)} to {_fmt(high)}"
    return value, None


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _read_table(directory: Path, table: Table) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read and check one CSV file; return its parsed rows (with a ``_line`` column) and problems."""
    path = directory / table.filename
    shown = str(path)
    if not path.is_file():
        return None, [Problem(shown, None, None, f"file not found (expected the {table.name} table)")]
    raw = path.read_bytes()
    expected_header = ",".join(table.column_names)
    if not raw.strip():
        return None, [Problem(shown, 1, None, f"file is empty (expected a header line: {expected_header})")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        return None, [Problem(shown, line, None,
                              f"file is not valid UTF-8 (byte 0x{raw[err.start]:02X}); re-export it as UTF-8")]

    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except csv.Error as err:  # pragma: no cover - csv rarely fails on a header
        return None, [Problem(shown, 1, None, f"unreadable header ({err})")]
    problems: list[Problem] = []
    if len(header) == 1 and header[0] not in table.column_names:
        for delimiter, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if delimiter in header[0]:
                return None, [Problem(shown, 1, None,
                                      f"columns are separated by a {name}, not a comma "
                                      f"(expected header: {expected_header})")]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(shown, 1, name, "column appears more than once in the header"))
        seen.add(name)
    for name in table.column_names:
        if name not in header:
            problems.append(Problem(shown, 1, name, "required column is missing"))
    for name in header:
        if name not in table.column_names:
            problems.append(Problem(shown, 1, name,
                                    f"unexpected column (expected: {expected_header})"))
    position = {name: header.index(name) for name in table.column_names if name in header}

    records: list[dict] = []
    previous_end = reader.line_num
    try:
        for fields in reader:
            # a record starts on the line after the previous one ended; one that spans several lines
            # holds a quoted line break, most often an unclosed quote that swallowed the lines below
            line, end = previous_end + 1, reader.line_num
            previous_end = end
            if not fields:
                problems.append(Problem(shown, line, None, "blank line"))
                continue
            if end > line:
                problems.append(Problem(shown, line, None,
                                        f"a quoted field runs over lines {line} to {end} "
                                        "(unclosed quote or line break inside a field)"))
                continue
            if len(fields) != len(header):
                problems.append(Problem(shown, line, None,
                                        f"row has {len(fields)} fields but the header has {len(header)}"))
                continue
            record: dict = {"source_line": line}
            bad = set()
            for name, index in position.items():
                value, message = _parse_cell(fields[index], table.column(name))
                if message:
                    problems.append(Problem(shown, line, name, message))
                    bad.add(name)
                record[name] = value
            record["bad_columns"] = frozenset(bad)
            records.append(record)
    except csv.Error as err:
        problems.append(Problem(shown, reader.line_num, None, f"malformed CSV ({err})"))

    if not records and not table.may_be_empty and not problems:
        problems.append(Problem(shown, 2, None, "file has a header but no data rows"))
    # object columns keep None as the missing marker (no silent NaN or float conversion)
    frame = pd.DataFrame({name: pd.Series([r[name] for r in records], dtype=object)
                          for name in ["source_line", "bad_columns", *position]})
    problems += _check_key(shown, table, frame)
    return frame, problems


def _check_key(shown: str, table: Table, frame: pd.DataFrame) -> list[Problem]:
    if not set(table.key) <= set(frame.columns) or frame.empty:
        return []
    problems = []
    first_line: dict[tuple, int] = {}
    for row in frame.itertuples(index=False):
        row = row._asdict()
        key = tuple(row[k] for k in table.key)
        if any(v is None for k, v in zip(table.key, key) if not table.column(k).nullable):
            continue
        if key in first_line:
            spelled = ", ".join(f"{k}={'' if v is None else v}" for k, v in zip(table.key, key))
            problems.append(Problem(shown, row["source_line"], table.key[-1],
                                    f"duplicate row for ({spelled}); first given at line {first_line[key]}"))
        else:
            first_line[key] = row["source_line"]
    return problems


# --------------------------------------------------------------------------- checks across rows and files

def _check_design(directory: Path, frames: dict[str, pd.DataFrame]) -> list[Problem]:
    """Referential integrity and the crossover design itself."""
    problems: list[Problem] = []
    shown = {name: str(directory / table.filename) for name, table in TABLES.items()}

    def ok_rows(name: str) -> pd.DataFrame:
        """Rows of a table; a cell that failed to parse, or a column missing from the file, is None."""
        frame = frames.get(name)
        if frame is None or frame.empty:
            return pd.DataFrame(columns=["source_line", "bad_columns", *TABLES[name].column_names])
        missing = [c for c in TABLES[name].column_names if c not in frame.columns]
        if missing:  # already reported as a header problem; None keeps the checks below from crashing
            frame = frame.assign(**{c: pd.Series([None] * len(frame), dtype=object, index=frame.index)
                                    for c in missing})
        return frame

    def has(name: str, *columns: str) -> bool:
        """Whether a file was read and its header holds these columns."""
        frame = frames.get(name)
        return frame is not None and set(columns) <= set(frame.columns)

    patients = ok_rows("patients")
    known = set(patients["patient_id"].dropna()) if "patient_id" in patients else set()
    patient_line = dict(zip(patients.get("patient_id", []), patients.get("source_line", [])))

    # every patient id used anywhere exists in patients.csv
    if has("patients", "patient_id"):
        for name, table in TABLES.items():
            if name == "patients" or "patient_id" not in table.column_names:
                continue
            rows = ok_rows(name)
            if "patient_id" not in rows:
                continue
            for line, pid in zip(rows["source_line"], rows["patient_id"]):
                if pid is not None and pid not in known:
                    problems.append(Problem(shown[name], line, "patient_id",
                                            f"unknown patient {pid!r} (not in patients.csv)"))

    # screening: randomized <=> patient id, and every patient was screened once
    screening = ok_rows("screening")
    if has("screening", "screening_outcome", "patient_id") and has("patients", "patient_id"):
        screened_ids = {}
        for row in screening.itertuples(index=False):
            if row.screening_outcome is None or "patient_id" in row.bad_columns:
                continue
            if row.screening_outcome == "randomized" and row.patient_id is None:
                problems.append(Problem(shown["screening"], row.source_line, "patient_id",
                                        "a randomized person must have a patient id"))
            if row.screening_outcome != "randomized" and row.patient_id is not None:
                problems.append(Problem(shown["screening"], row.source_line, "patient_id",
                                        f"only randomized persons have a patient id (outcome is "
                                        f"{row.screening_outcome})"))
            if row.patient_id is not None:
                if row.patient_id in screened_ids:
                    problems.append(Problem(shown["screening"], row.source_line, "patient_id",
                                            f"patient {row.patient_id} is screened twice (also line "
                                            f"{screened_ids[row.patient_id]})"))
                screened_ids.setdefault(row.patient_id, row.source_line)
        for pid in sorted(known - set(screened_ids)):
            problems.append(Problem(shown["patients"], patient_line[pid], "patient_id",
                                    f"patient {pid} has no randomized row in screening.csv"))

    # randomization: one per patient
    randomization = ok_rows("randomization")
    sequence_of = dict(zip(randomization["patient_id"], randomization["sequence"]))
    sequence_line = dict(zip(randomization["patient_id"], randomization["source_line"]))
    if has("randomization", "patient_id") and has("patients", "patient_id"):
        for pid in sorted(known - set(randomization["patient_id"])):
            problems.append(Problem(shown["patients"], patient_line[pid], "patient_id",
                                    f"patient {pid} has no row in randomization.csv"))

    # infusions: three periods, three distinct treatments, matching the sequence, plausible doses
    infusions = ok_rows("infusions")
    weight_of = dict(zip(patients.get("patient_id", []), patients.get("weight_kg", [])))
    if has("infusions", "patient_id", "period") and has("patients", "patient_id"):
        by_patient = defaultdict(list)
        for row in infusions.itertuples(index=False):
            if row.patient_id is not None and row.period is not None:
                by_patient[row.patient_id].append(row)
        for pid in sorted(known - set(by_patient)):
            problems.append(Problem(shown["patients"], patient_line[pid], "patient_id",
                                    f"patient {pid} has no row in infusions.csv"))
        for pid, rows in sorted(by_patient.items()):
            rows.sort(key=lambda r: r.period)
            periods = [r.period for r in rows]
            missing = [p for p in PERIODS if p not in periods]
            if missing:
                problems.append(Problem(shown["infusions"], rows[0].source_line, "period",
                                        f"patient {pid} has no infusion for period(s) "
                                        f"{', '.join(map(str, missing))}"))
            first_period_of: dict[str, object] = {}
            for row in rows:
                if row.treatment is None:
                    continue
                if row.treatment in first_period_of:
                    other = first_period_of[row.treatment]
                    problems.append(Problem(shown["infusions"], row.source_line, "treatment",
                                            f"patient {pid} receives {row.treatment} in periods {other.period} "
                                            f"and {row.period} (lines {other.source_line} and {row.source_line}); each "
                                            f"treatment must be given once"))
                else:
                    first_period_of[row.treatment] = row
                sequence = sequence_of.get(pid)
                if sequence is not None:
                    expected = TREATMENT_CODES[sequence.split("-")[row.period - 1]]
                    if row.treatment != expected:
                        problems.append(Problem(shown["infusions"], row.source_line, "treatment",
                                                f"{row.treatment} in period {row.period} contradicts sequence "
                                                f"{sequence} of randomization.csv:{sequence_line[pid]} "
                                                f"(expects {expected})"))
                problems += _check_doses(shown["infusions"], row, weight_of.get(pid))
            days = [(r.study_day, r) for r in rows if r.study_day is not None]
            for (day_a, row_a), (day_b, row_b) in zip(days, days[1:]):
                if day_b <= day_a:
                    problems.append(Problem(shown["infusions"], row_b.source_line, "study_day",
                                            f"period {row_b.period} starts on day {day_b}, not after period "
                                            f"{row_a.period} (day {day_a})"))
            if days and days[0][1].period == 1 and days[0][0] != 0:
                problems.append(Problem(shown["infusions"], days[0][1].source_line, "study_day",
                                        "the first infusion defines study day 0"))

    # every (patient, period) of the period-level tables had an infusion; one problem per pair
    if has("infusions", "patient_id", "period"):
        infused = set(zip(infusions["patient_id"], infusions["period"]))
        for name, table in TABLES.items():
            if name == "infusions" or "period" not in table.column_names:
                continue
            rows = ok_rows(name)
            if not {"patient_id", "period"} <= set(rows.columns):
                continue
            orphans: dict[tuple, list[int]] = defaultdict(list)
            for line, pid, period in zip(rows["source_line"], rows["patient_id"], rows["period"]):
                if period is not None and pid in known and (pid, period) not in infused:
                    orphans[(pid, period)].append(line)
            for (pid, period), lines in sorted(orphans.items()):
                count = f" ({len(lines)} rows, the first here)" if len(lines) > 1 else ""
                problems.append(Problem(shown[name], lines[0], "period",
                                        f"patient {pid} has no infusion in period {period}{count}"))

    problems += _check_questionnaires(shown["questionnaires"], ok_rows("questionnaires"), known,
                                      has("questionnaires", *TABLES["questionnaires"].column_names))
    return problems


def _check_doses(shown: str, row, weight: float | None) -> list[Problem]:
    problems = []
    ketamine = row.ketamine_dose_mg
    magnesium = row.magnesium_sulfate_dose_mg
    if ketamine is None or magnesium is None:
        return problems
    if row.treatment == "placebo" and ketamine != 0:
        problems.append(Problem(shown, row.source_line, "ketamine_dose_mg",
                                f"placebo infusion with {_fmt(ketamine)} mg of ketamine"))
    if row.treatment in ("placebo", "ketamine") and magnesium != 0:
        problems.append(Problem(shown, row.source_line, "magnesium_sulfate_dose_mg",
                                f"{row.treatment} infusion with {magnesium} mg of magnesium sulfate"))
    if row.treatment == "ketamine_magnesium" and magnesium != MAGNESIUM_SULFATE_DOSE_MG:
        problems.append(Problem(shown, row.source_line, "magnesium_sulfate_dose_mg",
                                f"ketamine_magnesium infusion with {magnesium} mg of magnesium sulfate "
                                f"(protocol: {MAGNESIUM_SULFATE_DOSE_MG} mg)"))
    if row.treatment in ("ketamine", "ketamine_magnesium") and weight is not None:
        expected = KETAMINE_MG_PER_KG * weight
        if not math.isclose(ketamine, expected, rel_tol=KETAMINE_DOSE_TOLERANCE):
            problems.append(Problem(shown, row.source_line, "ketamine_dose_mg",
                                    f"{_fmt(ketamine)} mg of ketamine is not 0.5 mg/kg of the recorded weight "
                                    f"{_fmt(weight)} kg (expected about {expected:.1f} mg)"))
    return problems


def _check_questionnaires(shown: str, rows: pd.DataFrame, known: set, present: bool) -> list[Problem]:
    if not present:  # a missing file or column is reported already; completeness cannot be judged
        return []
    problems = []
    collected = defaultdict(set)
    for row in rows.itertuples(index=False):
        if row.bad_columns & {"patient_id", "visit", "period", "score"}:
            continue
        score = SCORE_BY_NAME[row.score]
        if row.visit == "inclusion" and row.period is not None:
            problems.append(Problem(shown, row.source_line, "period", "the inclusion visit has no period; leave it empty"))
            continue
        if row.visit == "end_of_period" and row.period is None:
            problems.append(Problem(shown, row.source_line, "period", "an end_of_period visit needs its period (1-3)"))
            continue
        if row.visit not in score.visits:
            problems.append(Problem(shown, row.source_line, "visit",
                                    f"{row.score} is not collected at the {row.visit} visit "
                                    f"(collected at: {', '.join(score.visits)})"))
            continue
        collected[row.patient_id].add((row.visit, row.period, row.score))
        low, high = score.value_range
        if row.value is None:
            continue
        if not low <= row.value <= high:
            problems.append(Problem(shown, row.source_line, "value",
                                    f"{row.score} value {_fmt(row.value)} is outside its range "
                                    f"{_fmt(low)} to {_fmt(high)}"))
        elif score.integer and not float(row.value).is_integer():
            problems.append(Problem(shown, row.source_line, "value",
                                    f"{row.score} value {row.value} must be a whole number"))
    for pid in sorted(known):
        have = collected.get(pid, set())
        expected = [(visit, period, score.name)
                    for score in SCORE_BY_NAME.values() for visit in score.visits
                    for period in ((None,) if visit == "inclusion" else PERIODS)]
        missing = [e for e in expected if e not in have]
        if missing and have:  # patients with no questionnaire at all are reported once below
            spelled = "; ".join(f"{s} at {v}{'' if p is None else f' {p}'}" for v, p, s in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            problems.append(Problem(shown, None, "score",
                                    f"patient {pid} lacks {len(missing)} expected score(s): {spelled}{more}"))
        elif not have:
            problems.append(Problem(shown, None, "patient_id", f"patient {pid} has no questionnaire"))
    return problems


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
        return {}, [Problem(str(directory), None, None, "data directory not found")]
    frames, problems = {}, []
    for name, table in TABLES.items():
        frame, found = _read_table(directory, table)
        frames[name] = frame
        problems += found
    problems += _check_design(directory, frames)
    order = {str(directory / t.filename): i for i, t in enumerate(TABLES.values())}
    return frames, sorted(set(problems),
                          key=lambda p: (order.get(p.path, -1), p.line or 0, p.column or "", p.message))


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
    return Trial(source=directory, is_synthetic=(directory / SYNTHETIC_MARKER).is_file(), **frames)
