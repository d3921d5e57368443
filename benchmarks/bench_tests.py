"""Time the test tiers: the fast tier (``-m "not slow"``) and the full suite (the README's test command).

    python benchmarks/bench_tests.py [--repeat N] [--full]

Each tier runs ``N`` times (default 3) in a fresh process; the table gives the median and the spread
(min-max) in seconds, with the machine's core count. The full suite is only timed with ``--full`` (it
builds the book and runs the portability checks: minutes, not seconds).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIERS = {"fast tier (-m 'not slow')": ["-m", "not slow"], "full suite": []}


def timed(arguments: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"pytest {' '.join(arguments)} failed:\n{result.stdout[-3000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="also time the full suite")
    args = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()}")
    print(f"{'tier':<28} {'median s':>9} {'min s':>7} {'max s':>7}  runs")
    for name, arguments in TIERS.items():
        if name == "full suite" and not args.full:
            continue
        times = [timed(arguments) for _ in range(args.repeat)]
        print(f"{name:<28} {statistics.median(times):9.1f} {min(times):7.1f} {max(times):7.1f}  {len(times)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
