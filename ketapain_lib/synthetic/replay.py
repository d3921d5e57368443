"""The recorded reconstruction (:mod:`ketapain_lib.synthetic.reconstruct`): its files in this package, and
the replay of its changes by the generator.

>>> CHANGE_COLUMNS[:3]
['file', 'patient_id', 'period']
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

#: Every value the recorded reconstruction changed: file, patient, period, day (diary), column, change.
CHANGES_FILE = "reconstruction_changes.csv"
#: Every number the reconstruction targeted: published, achieved on the reconstructed data, status.
REPORT_FILE = "reconstruction_report.csv"
#: The columns of :data:`CHANGES_FILE`.
CHANGE_COLUMNS = ["file", "patient_id", "period", "day", "column", "change"]


def _package_file(name: str) -> Path:
    return Path(str(resources.files(__package__).joinpath(name)))


def _read(name: str, **options) -> pd.DataFrame | None:
    path = _package_file(name)
    return pd.read_csv(path, dtype={"patient_id": str}, **options) if path.is_file() else None


def recorded_changes() -> pd.DataFrame | None:
    """The changes of the recorded reconstruction (None before one was recorded)."""
    return _read(CHANGES_FILE, keep_default_na=False)  # an empty day (not a diary row) stays empty


def recorded_report() -> pd.DataFrame | None:
    """The targeted numbers of the recorded reconstruction: key, published, achieved, tolerance, implied (what
    the allocation and the published pairwise P values force, for an unreachable number) and status."""
    return _read(REPORT_FILE)


# --------------------------------------------------------------------------- replaying

def apply_changes(frames: dict[str, pd.DataFrame], changes: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The generator's tables with the recorded changes added (new tables; the inputs are left as they were)."""
    out = dict(frames)
    for file, part in changes.groupby("file", sort=True):
        if file == "diary.csv":
            table = out["diary"].copy()
            keys = list(zip(table["patient_id"], table["period"].astype(int), table["day"].astype(int)))
            for column, rows in part.groupby("column"):
                delta = {(p, int(q), int(d)): int(c) for p, q, d, c in
                         zip(rows["patient_id"], rows["period"], rows["day"], rows["change"])}
                values = pd.to_numeric(table[column], errors="coerce").to_numpy()
                table[column] = [None if pd.isna(v) else int(v + delta.get(k, 0)) for v, k in zip(values, keys)]
            out["diary"] = table
        elif file == "infusions.csv":
            table = out["infusions"].copy()
            delta = {(p, int(q)): int(c) for p, q, c in zip(part["patient_id"], part["period"], part["change"])}
            table["preinfusion_pain"] = [int(v) + delta.get((p, int(q)), 0) for v, p, q in
                                         zip(table["preinfusion_pain"], table["patient_id"], table["period"])]
            out["infusions"] = table
        elif file == "questionnaires.csv":
            table = out["questionnaires"].copy()
            delta = {(p, int(q), s): float(c) for p, q, s, c in
                     zip(part["patient_id"], part["period"], part["column"], part["change"])}
            at_end = table["visit"] == "end_of_period"
            table["value"] = [v + delta.get((p, int(q), s), 0) if end else v for v, p, q, s, end in
                              zip(table["value"], table["patient_id"], table["period"].fillna(0), table["score"],
                                  at_end)]
            out["questionnaires"] = table
        else:  # pragma: no cover - the file is written by this module
            raise ValueError(f"{CHANGES_FILE}: cannot replay changes to {file}")
    return out


def record(changes: pd.DataFrame, report: pd.DataFrame) -> list[Path]:
    """Write the changes and the report into the package (what the generator replays and the book reads)."""
    written = []
    for name, table in ((CHANGES_FILE, changes), (REPORT_FILE, report)):
        path = _package_file(name)
        table.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")
        written.append(path)
    return written
