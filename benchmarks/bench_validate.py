"""Benchmark: validating a large export, time and peak memory (the real-export issue's resource bound).

    python benchmarks/bench_validate.py [--repeat 3] [--copies 100 926]

Each size is the shipped export replicated at the byte level (``copies`` blocks of its 20 patients under
new ids, screening numbers, randomization numbers and event ids), so it is valid by construction: 100
copies give 2,000 patients, 926 copies a 2,000,160-row diary. Each run is a fresh
``python -m ketapain_lib validate`` process, so its peak resident memory is the validator's own. Records
the median and range of the wall-clock times, with the largest peak memory, in ``benchmarks/results.csv``
(target: 2 million rows in 15 s and 1 GB). Nothing asserts a time.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ketapain_lib.rawdata.load import SHIPPED_DATA_DIR  # noqa: E402
from ketapain_lib.rawdata.schema import TABLES  # noqa: E402
from record import record  # noqa: E402

RENAMED = {"patient_id", "screening_id", "event_id"}


def replicate(copies: int, out: Path) -> int:
    """Write ``copies`` renamed blocks of the shipped export into ``out``; return the diary's row count."""
    out.mkdir(parents=True, exist_ok=True)
    n_patients = sum(1 for _ in (SHIPPED_DATA_DIR / "patients.csv").open(encoding="utf-8")) - 1
    diary_rows = 0
    for table in TABLES.values():
        with (SHIPPED_DATA_DIR / table.filename).open(encoding="utf-8", newline="") as handle:
            header, *rows = list(csv.reader(handle))
        renamed = [i for i, name in enumerate(header) if name in RENAMED]
        number = header.index("randomization_number") if "randomization_number" in header else None
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        for copy in range(copies):
            for row in rows:
                row = list(row)
                for i in renamed:
                    row[i] = f"{row[i]}_{copy:04d}" if row[i] else ""
                if number is not None:
                    row[number] = str(int(row[number]) + copy * n_patients)
                writer.writerow(row)
        (out / table.filename).write_text(buffer.getvalue(), encoding="utf-8")
        if table.name == "diary":
            diary_rows = len(rows) * copies
    return diary_rows


def validate_once(directory: Path) -> tuple[float, float, str]:
    """One validation in a fresh process: (seconds, peak resident MiB, first line of output)."""
    code = ("import resource, sys, time\n"
            "start = time.perf_counter()\n"
            "from ketapain_lib.rawdata.load import validate\n"
            f"problems = validate({str(directory)!r})\n"
            "seconds = time.perf_counter() - start\n"
            "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
            "import json; print(json.dumps([seconds, peak, str(problems[0]) if problems else 'OK']))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return tuple(json.loads(result.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--copies", type=int, nargs="+", default=[100, 926])
    args = parser.parse_args()
    rows = []
    for copies in args.copies:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "export"
            diary_rows = replicate(copies, folder)
            runs = [validate_once(folder) for _ in range(args.repeat)]
        seconds = [run[0] for run in runs]
        peak = max(run[1] for run in runs)
        rows.append({"step": f"validate {copies * 20:,} patients, {diary_rows:,} diary rows "
                             f"(peak {peak:,.0f} MiB; {runs[0][2]})",
                     "target_s": "15" if diary_rows >= 2_000_000 else "",
                     "median_s": f"{statistics.median(seconds):.3g}", "min_s": f"{min(seconds):.3g}",
                     "max_s": f"{max(seconds):.3g}", "runs": len(runs), "cores": os.cpu_count()})
    record("validation", rows)


if __name__ == "__main__":
    main()
