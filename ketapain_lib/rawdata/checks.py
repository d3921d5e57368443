"""Checks across rows and files: referential integrity and the crossover design, as a list of named checks.

Each check takes the :class:`Tables` read from a directory and returns the
problems it finds; :data:`CHECKS` lists them in the order they run, and
:func:`check_design` runs them all. A file or column that could not be read
is reported once by the reader, and the checks that need it are skipped.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..design import KETAMINE_DOSE_TOLERANCE, KETAMINE_MG_PER_KG, MAGNESIUM_SULFATE_DOSE_MG, PERIOD_DAYS
from .problems import Problem, plain_number as _fmt
from .questionnaires import check_questionnaires
from .read import LARGE_ROWS
from .schema import PERIODS, TABLES, TREATMENT_CODES

@dataclass
class Tables:
    """The rows read from one directory, as the checks see them."""

    directory: Path
    frames: dict[str, pd.DataFrame | None]
    memo: dict = field(default_factory=dict)

    def shown(self, name: str) -> str:
        """The file's path as problems name it."""
        return str(self.directory / TABLES[name].filename)

    def rows(self, name: str) -> pd.DataFrame:
        """Rows of a table; a cell that failed to parse, or a column missing from the file, is None."""
        frame = self.frames.get(name)
        if frame is None or frame.empty:
            return pd.DataFrame(columns=["source_line", "bad_columns", *TABLES[name].column_names])
        missing = [c for c in TABLES[name].column_names if c not in frame.columns]
        if missing:  # already reported as a header problem; None keeps the checks from crashing
            frame = frame.assign(**{c: pd.Series([None] * len(frame), dtype=object, index=frame.index)
                                    for c in missing})
        return frame

    def has(self, name: str, *columns: str) -> bool:
        """Whether a file was read and its header holds these columns."""
        frame = self.frames.get(name)
        return frame is not None and set(columns) <= set(frame.columns)

    @property
    def patient_ids(self) -> set:
        patients = self.rows("patients")
        return set(patients["patient_id"].dropna())

    def patient_line(self, patient_id) -> int:
        patients = self.rows("patients")
        return dict(zip(patients["patient_id"], patients["source_line"]))[patient_id]


def patients_are_known(t: Tables) -> list[Problem]:
    """Every patient id used in any file exists in patients.csv."""
    known, problems = t.patient_ids, []
    if not t.has("patients", "patient_id") or not known:
        return []  # patients.csv is missing, headless or empty: reported there once, not at every other row
    for name, table in TABLES.items():
        if name == "patients" or "patient_id" not in table.column_names:
            continue
        rows = t.rows(name)
        if len(rows) > LARGE_ROWS:
            rows = rows[~rows["patient_id"].isin(known)]
        unknown: dict[str, list[int]] = defaultdict(list)
        for line, pid in zip(rows["source_line"], rows["patient_id"]):
            if pid not in known and pid is not None:
                unknown[pid].append(line)
        for pid, lines in unknown.items():
            count = f" ({len(lines)} rows, the first here)" if len(lines) > 1 else ""
            problems.append(Problem(t.shown(name), lines[0], "patient_id",
                                    f"unknown patient {pid!r} (not in patients.csv){count}"))
    return problems


def screening_matches_patients(t: Tables) -> list[Problem]:
    """Randomized persons, and only they, have a patient id; every patient was screened once."""
    if not (t.has("screening", "screening_outcome", "patient_id") and t.has("patients", "patient_id")):
        return []
    shown, problems, screened_ids = t.shown("screening"), [], {}
    for row in t.rows("screening").itertuples(index=False):
        if row.screening_outcome is None or "patient_id" in row.bad_columns:
            continue
        if row.screening_outcome == "randomized" and row.patient_id is None:
            problems.append(Problem(shown, row.source_line, "patient_id", "a randomized person must have a patient id"))
        if row.screening_outcome != "randomized" and row.patient_id is not None:
            problems.append(Problem(shown, row.source_line, "patient_id",
                                    f"only randomized persons have a patient id (outcome is {row.screening_outcome})"))
        if row.patient_id is not None:
            if row.patient_id in screened_ids:
                problems.append(Problem(shown, row.source_line, "patient_id",
                                        f"patient {row.patient_id} is screened twice (also line "
                                        f"{screened_ids[row.patient_id]})"))
            screened_ids.setdefault(row.patient_id, row.source_line)
    for pid in sorted(t.patient_ids - set(screened_ids)):
        problems.append(Problem(t.shown("patients"), t.patient_line(pid), "patient_id",
                                f"patient {pid} has no randomized row in screening.csv"))
    return problems


def every_patient_is_randomized(t: Tables) -> list[Problem]:
    """Each patient has a row in randomization.csv."""
    if not (t.has("randomization", "patient_id") and t.has("patients", "patient_id")):
        return []
    randomized = set(t.rows("randomization")["patient_id"])
    return [Problem(t.shown("patients"), t.patient_line(pid), "patient_id",
                    f"patient {pid} has no row in randomization.csv")
            for pid in sorted(t.patient_ids - randomized)]


def randomization_numbers_are_unique(t: Tables) -> list[Problem]:
    """Each number of the pharmacy's randomization list is given to one patient."""
    if not t.has("randomization", "randomization_number"):
        return []
    first_line: dict[int, int] = {}
    problems = []
    for row in t.rows("randomization").itertuples(index=False):
        number = row.randomization_number
        if number is None:
            continue
        if number in first_line:
            problems.append(Problem(t.shown("randomization"), row.source_line, "randomization_number",
                                    f"randomization number {number} is also given at line {first_line[number]}"))
        first_line.setdefault(number, row.source_line)
    return problems


def _infusions_by_patient(t: Tables) -> dict[str, list]:
    if "infusions_by_patient" in t.memo:  # several checks need it; build it once per validation
        return t.memo["infusions_by_patient"]
    by_patient = defaultdict(list)
    for row in t.rows("infusions").itertuples(index=False):
        if row.patient_id is not None and row.period is not None:
            by_patient[row.patient_id].append(row)
    for rows in by_patient.values():
        rows.sort(key=lambda r: r.period)
    t.memo["infusions_by_patient"] = dict(sorted(by_patient.items()))
    return t.memo["infusions_by_patient"]


def infusions_follow_the_sequence(t: Tables) -> list[Problem]:
    """Each patient has one infusion per period, each treatment once, in the randomized order, at protocol doses."""
    if not (t.has("infusions", "patient_id", "period") and t.has("patients", "patient_id")):
        return []
    randomization, patients = t.rows("randomization"), t.rows("patients")
    sequence_of = dict(zip(randomization["patient_id"], randomization["sequence"]))
    sequence_line = dict(zip(randomization["patient_id"], randomization["source_line"]))
    weight_of = dict(zip(patients["patient_id"], patients["weight_kg"]))
    shown, problems = t.shown("infusions"), []
    by_patient = _infusions_by_patient(t)
    for pid, rows in by_patient.items():
        first_period_of: dict[str, object] = {}
        for row in rows:
            if row.treatment is None:
                continue
            if row.treatment in first_period_of:
                other = first_period_of[row.treatment]
                problems.append(Problem(shown, row.source_line, "treatment",
                                        f"patient {pid} receives {row.treatment} in periods {other.period} "
                                        f"and {row.period} (lines {other.source_line} and {row.source_line}); each "
                                        f"treatment must be given once"))
            else:
                first_period_of[row.treatment] = row
            sequence = sequence_of.get(pid)
            if sequence is not None:
                expected = TREATMENT_CODES[sequence.split("-")[row.period - 1]]
                if row.treatment != expected:
                    problems.append(Problem(shown, row.source_line, "treatment",
                                            f"{row.treatment} in period {row.period} contradicts sequence "
                                            f"{sequence} of randomization.csv:{sequence_line[pid]} "
                                            f"(expects {expected})"))
            problems += _check_doses(shown, row, weight_of.get(pid))
    return problems


def _disposition_of(t: Tables) -> dict:
    return {row.patient_id: row for row in t.rows("disposition").itertuples(index=False)
            if row.patient_id is not None and not ({"status"} & row.bad_columns)}


def periods_follow_the_disposition(t: Tables) -> list[Problem]:
    """Completed patients have the three periods; a discontinued one has periods 1..k begun before discontinuing.

    Only a discontinuation explains a missing period, and only the periods after it: a gap (period 2
    missing, period 3 given) or an infusion after the day of discontinuation is a problem.
    """
    if not (t.has("disposition", "patient_id", "status") and t.has("patients", "patient_id")
            and t.has("infusions", "patient_id", "period")):
        return []
    shown, problems = t.shown("disposition"), []
    disposition, by_patient = _disposition_of(t), _infusions_by_patient(t)
    for pid in sorted(t.patient_ids - set(t.rows("disposition")["patient_id"])):
        problems.append(Problem(t.shown("patients"), t.patient_line(pid), "patient_id",
                                f"patient {pid} has no row in disposition.csv"))
    for pid, row in sorted(disposition.items()):
        received = [r.period for r in by_patient.get(pid, [])]
        day, reason = row.discontinuation_study_day, row.discontinuation_reason
        if row.status == "completed":
            for column, value in (("discontinuation_study_day", day), ("discontinuation_reason", reason)):
                if value is not None:
                    problems.append(Problem(shown, row.source_line, column,
                                            f"patient {pid} completed the trial; leave {column} empty"))
            missing = [p for p in PERIODS if p not in received]
            if missing:
                problems.append(Problem(shown, row.source_line, "status",
                                        f"patient {pid} is 'completed' but has no infusion for period(s) "
                                        f"{', '.join(map(str, missing))} in infusions.csv (a missing period "
                                        f"needs status 'discontinued')"))
            continue
        if row.status != "discontinued":
            continue
        for column, value in (("discontinuation_study_day", day), ("discontinuation_reason", reason)):
            if value is None and column not in row.bad_columns:
                problems.append(Problem(shown, row.source_line, column,
                                        f"patient {pid} discontinued: {column} is required"))
        gaps = [p for p in PERIODS if p not in received and any(q > p for q in received)]
        if gaps:
            problems.append(Problem(t.shown("infusions"), by_patient[pid][0].source_line, "period",
                                    f"patient {pid} has no infusion for period(s) {', '.join(map(str, gaps))} "
                                    f"but has a later one; discontinuation explains only the periods after it"))
        late = [r for r in by_patient.get(pid, []) if day is not None and r.study_day is not None
                and r.study_day > day]
        if late:
            problems.append(Problem(t.shown("infusions"), late[0].source_line, "study_day",
                                    f"patient {pid} is infused on study day {late[0].study_day}, after discontinuing "
                                    f"on day {day} (disposition.csv:{row.source_line})"))
    return problems


def study_days_increase(t: Tables) -> list[Problem]:
    """The first infusion is study day 0 and each period starts after the previous one."""
    if not (t.has("infusions", "patient_id", "period") and t.has("patients", "patient_id")):
        return []
    shown, problems = t.shown("infusions"), []
    for rows in _infusions_by_patient(t).values():
        days = [(r.study_day, r) for r in rows if r.study_day is not None]
        for (day_a, row_a), (day_b, row_b) in zip(days, days[1:]):
            if day_b <= day_a:
                problems.append(Problem(shown, row_b.source_line, "study_day",
                                        f"period {row_b.period} starts on day {day_b}, not after period "
                                        f"{row_a.period} (day {day_a})"))
            elif day_b < day_a + PERIOD_DAYS:
                problems.append(Problem(shown, row_b.source_line, "study_day",
                                        f"period {row_b.period} starts on day {day_b}, inside period {row_a.period} "
                                        f"(days {day_a} to {day_a + PERIOD_DAYS}): the periods overlap"))
        if days and days[0][1].period == 1 and days[0][0] != 0:
            problems.append(Problem(shown, days[0][1].source_line, "study_day",
                                    "the first infusion defines study day 0"))
    return problems


def periods_have_an_infusion(t: Tables) -> list[Problem]:
    """Every (patient, period) of a period-level table had an infusion; one problem per pair."""
    if not t.has("infusions", "patient_id", "period"):
        return []
    infusions, known, problems = t.rows("infusions"), t.patient_ids, []
    infused = set(zip(infusions["patient_id"], infusions["period"]))
    for name, table in TABLES.items():
        if name == "infusions" or "period" not in table.column_names:
            continue
        rows = t.rows(name)
        if len(rows) > LARGE_ROWS:
            rows = rows[~pd.MultiIndex.from_arrays([rows["patient_id"], rows["period"]]).isin(list(infused))]
        orphans: dict[tuple, list[int]] = defaultdict(list)
        for line, pair in zip(rows["source_line"], zip(rows["patient_id"], rows["period"])):
            if pair not in infused and pair[1] is not None and pair[0] in known:
                orphans[pair].append(line)
        for (pid, period), lines in sorted(orphans.items()):
            count = f" ({len(lines)} rows, the first here)" if len(lines) > 1 else ""
            problems.append(Problem(t.shown(name), lines[0], "period",
                                    f"patient {pid} has no infusion in period {period}{count}"))
    return problems


def questionnaires_are_complete(t: Tables) -> list[Problem]:
    """Each score at its visits, in its range, for every patient."""
    return check_questionnaires(t.shown("questionnaires"), t.rows("questionnaires"), _closed_periods(t),
                                 t.has("questionnaires", *TABLES["questionnaires"].column_names))


def _closed_periods(t: Tables) -> dict[str, tuple[int, ...]]:
    """The periods whose end-of-period visit each patient must have: all three, or those a drop-out finished.

    A discontinued patient's last period was cut short, so its end-of-period visit may be missing.
    """
    received = {pid: tuple(r.period for r in rows) for pid, rows in _infusions_by_patient(t).items()}
    disposition = _disposition_of(t) if t.has("disposition", "patient_id", "status") else {}
    closed = {}
    for pid in t.patient_ids:
        row = disposition.get(pid)
        if row is not None and row.status == "discontinued":
            closed[pid] = received.get(pid, ())[:-1]
        else:
            closed[pid] = PERIODS
    return closed


#: The checks across rows and files, in the order they run.
CHECKS: tuple[Callable[[Tables], list[Problem]], ...] = (
    patients_are_known,
    screening_matches_patients,
    every_patient_is_randomized,
    randomization_numbers_are_unique,
    infusions_follow_the_sequence,
    periods_follow_the_disposition,
    study_days_increase,
    periods_have_an_infusion,
    questionnaires_are_complete,
)


def check_design(directory: Path, frames: dict[str, pd.DataFrame | None]) -> list[Problem]:
    """Run every check of :data:`CHECKS` on the tables read from ``directory``."""
    tables = Tables(directory, frames)
    return [problem for check in CHECKS for problem in check(tables)]


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
