"""Time the test tiers: the fast tier (``-m "not slow"``) and the full suite (the README's test command).

    python benchmarks/bench_tests.py [--repeat N] [--full [--full-repeat M]]

The fast tier runs ``N`` times (default 3) in a fresh process, the full suite ``M`` times (default 1: it
takes minutes) and only with ``--full``; the median and range go to ``benchmarks/results.csv`` with the
machine's core count.
Targets: 20 s for the fast tier, 300 s for the full suite.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from record import measure, record

ROOT = Path(__file__).resolve().parent.parent
TIERS = {"fast tier (-m 'not slow')": (["-m", "not slow"], 20), "full suite": ([], 300)}


def run(arguments: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"pytest {' '.join(arguments)} failed:\n{result.stdout[-3000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="also time the full suite")
    parser.add_argument("--full-repeat", type=int, default=1)
    args = parser.parse_args(argv)
    rows = [measure(name, target, lambda arguments=arguments: run(arguments),
                    args.full_repeat if name == "full suite" else args.repeat)
            for name, (arguments, target) in TIERS.items() if args.full or name != "full suite"]
    record("tests", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
