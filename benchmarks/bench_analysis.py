"""Benchmark: every analysis of the report, on the shipped trial and on generated trials of 200 and 2,000 patients.

    python benchmarks/bench_analysis.py [--repeat 3] [--sizes 20 200 2000]

Trials other than the shipped one come from the generator (``simulate --patients N``, made once per run,
not timed). For each size: loading and validating the raw files, one fit of the primary crossover model,
and every analysis of the report, "beyond the paper" included: in one process (``Results.compute_all``,
nothing cached), and as the book's build computes them: each once, into a fresh report cache
(:func:`ketapain_lib.report.cache.memoize`), which the pages' kernels then read. Median and range of ``--repeat`` runs go to ``benchmarks/results.csv``.
Targets at 2,000 patients: every analysis in 10 s, one fit in 0.05 s. A benchmark, not a test: nothing
asserts a time.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import astuple
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from record import measure, record  # noqa: E402

from ketapain_lib import load_trial  # noqa: E402
from ketapain_lib.design import PRIMARY  # noqa: E402
from ketapain_lib.synthetic.simulate import simulate_trial, write_dataset  # noqa: E402
from ketapain_lib.report.cache import CACHE_ENV  # noqa: E402
from ketapain_lib.report.results import Results  # noqa: E402
from ketapain_lib.stats import crossover, derive  # noqa: E402

TARGETS = {2000: {"fit": 0.05, "all": 10}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 200, 2000])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for size in args.sizes:
            folder = None
            if size != 20:
                folder = Path(scratch) / f"trial{size}"
                write_dataset(simulate_trial(patients=size), folder, seed=0, patients=size)
            trial = load_trial(folder)
            targets = TARGETS.get(size, {})
            rows.append(measure(f"{size:,} patients: load and validate", None, lambda: load_trial(folder), args.repeat))
            data = crossover.crossover_frame(derive.auc(trial.diary, *astuple(PRIMARY), periods=trial.infusions),
                                             trial.infusions, trial.randomization)
            rows.append(measure(f"{size:,} patients: one fit of the primary model", targets.get("fit"),
                                lambda: crossover.fit_crossover(data), max(args.repeat, 5)))
            rows.append(measure(f"{size:,} patients: every analysis of the report, one process", None,
                                lambda: Results(trial, cached=False).compute_all(), args.repeat))
            runs = iter(range(args.repeat))

            def as_built(size=size, folder=folder):
                os.environ[CACHE_ENV] = str(Path(scratch) / f"cache{size}_{next(runs)}")  # nothing reused
                Results(load_trial(folder)).compute_all()
            rows.append(measure(f"{size:,} patients: every analysis of the report, as the build stores them "
                                "(into a fresh cache)", targets.get("all"), as_built, args.repeat))
    record("analyses", rows)


if __name__ == "__main__":
    main()
