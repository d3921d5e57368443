"""The benchmarks' one table: each script measures its steps and records them in ``benchmarks/results.csv``.

A row per step: what was timed, its target (seconds), the median and the range of the repeated runs, the
number of runs and the machine's core count. A script replaces its own rows and keeps the others', so the
table always holds the latest measurement of every step; the book's environment appendix shows it. No
timestamp: the same measurements give the same file.

    from record import measure, record
    record("book", [measure("cold build", 15, run_once, repeat=3)])
"""
from __future__ import annotations

import csv
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.csv"
COLUMNS = ("group", "step", "target_s", "median_s", "min_s", "max_s", "runs", "cores")


def measure(step: str, target: float | None, run: Callable[[], object], repeat: int = 3) -> dict:
    """Time ``run`` ``repeat`` times (wall clock); a row of the table."""
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return {"step": step, "target_s": "" if target is None else f"{target:g}",
            "median_s": f"{statistics.median(seconds):.3g}", "min_s": f"{min(seconds):.3g}",
            "max_s": f"{max(seconds):.3g}", "runs": repeat, "cores": os.cpu_count()}


def record(group: str, rows: list[dict]) -> None:
    """Replace the rows of ``group`` in the results table, and print them."""
    kept = []
    if RESULTS.is_file():
        with RESULTS.open(encoding="utf-8", newline="") as handle:
            kept = [row for row in csv.DictReader(handle) if row["group"] != group]
    rows = [{"group": group, **row} for row in rows]
    with RESULTS.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept + rows)
    for row in rows:
        print(f"{row['step']:<60} median {row['median_s']:>7} s  range {row['min_s']}-{row['max_s']}  "
              f"target {row['target_s'] or '-'}  ({row['runs']} runs, {row['cores']} cores)")
