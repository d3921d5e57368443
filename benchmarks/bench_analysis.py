"""Benchmark: load, derive every endpoint and fit every model of the report, on the shipped trial
and on a 100x larger one (2,000 patients, the shipped patients replicated under new ids).

    python benchmarks/bench_analysis.py [--repeat 3] [--scale 100]

Prints the best of ``--repeat`` wall-clock times per step (seconds). A benchmark, not a test: nothing
asserts a time, so a slow machine cannot fail the suite.
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import pandas as pd

from ketapain_lib import load_trial
from ketapain_lib.report.results import Results
from ketapain_lib.stats import derive
from ketapain_lib.rawdata.load import Trial


def replicate(trial: Trial, copies: int) -> Trial:
    """A trial ``copies`` times larger: every patient-level table repeated with renamed patients."""
    frames = {}
    for field in dataclasses.fields(Trial):
        value = getattr(trial, field.name)
        if not isinstance(value, pd.DataFrame) or "patient_id" not in value.columns:
            frames[field.name] = value
            continue
        parts = []
        for copy in range(copies):
            part = value.copy()
            part["patient_id"] = part["patient_id"].astype("string") + f"_{copy:03d}"
            if "event_id" in part.columns:
                part["event_id"] = part["event_id"].astype("string") + f"_{copy:03d}"
            parts.append(part)
        frames[field.name] = pd.concat(parts, ignore_index=True)
    return Trial(**frames)


def best_time(function, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=int, default=100)
    args = parser.parse_args()

    rows = []
    load_seconds, trial = best_time(load_trial, args.repeat)
    rows.append(("20 patients", "load and validate the raw files", load_seconds))
    for label, subject, repeat in (("20 patients", trial, args.repeat),
                                   (f"{20 * args.scale} patients", replicate(trial, args.scale), 1)):
        derive_seconds, _ = best_time(lambda: (derive.auc_all(subject.diary, subject.infusions),
                                               derive.missing_diary(subject.diary, subject.infusions)), repeat)
        rows.append((label, "derive every AUC (3 measures x 5 windows x 2 imputations) and missing tables",
                     derive_seconds))
        # the paper's analyses and the ledger; "beyond the paper" (imputation, power simulation) is timed apart:
        # at 2,000 patients its simulation is the subject of the speed issue
        all_seconds, _ = best_time(lambda: Results(subject, cached=False).compute_all(skip=("beyond", "ledger")),
                                   repeat)
        rows.append((label, "every analysis of the paper (Results.compute_all, without beyond the paper)",
                     all_seconds))
    beyond_seconds, _ = best_time(lambda: Results(trial, cached=False)["beyond"], args.repeat)
    rows.append(("20 patients", "beyond the paper: imputation, model choices, power simulation", beyond_seconds))
    table = pd.DataFrame(rows, columns=["data", "step", "seconds"])
    with pd.option_context("display.max_colwidth", 100, "display.width", 200):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
