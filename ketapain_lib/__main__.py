"""Command line: ``python -m ketapain_lib {validate,simulate,calibrate}``.

* ``validate [DIR]`` prints ``OK`` and exits 0 on good data, or prints one
  problem per line (``file:line: column: problem``) and exits 1.
* ``simulate --seed N --out DIR [--patients N] [--dropouts K]`` writes a
  synthetic raw dataset (the shipped one by default; another size, or with
  drop-outs, for tests and benchmarks). ``--reconstruct`` first runs the offline
  search for data that reproduce the model-based published numbers too, and
  records it (:mod:`ketapain_lib.synthetic.reconstruct`); without it the
  recorded reconstruction is replayed.
* ``calibrate [DIR]`` prints the calibration report (published vs achieved)
  and exits 1 if a target is outside its tolerance.
* ``export --out DIR [--data DIR]`` writes every table (CSV), figure (PNG,
  SVG) and the ledger, without building the book.

``DIR`` defaults to ``$KETAPAIN_DATA``, else the shipped synthetic data.
"""
from __future__ import annotations

import argparse
import sys

from . import __version__


def _validate(args: argparse.Namespace) -> int:
    from .rawdata.load import data_dir, validate

    directory = data_dir(args.directory)
    problems = validate(directory)
    if not problems:
        print("OK")
        return 0
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s) found in {directory}", file=sys.stderr)
    return 1


def _simulate(args: argparse.Namespace) -> int:
    from .synthetic.simulate import DEFAULT_SEED, simulate_trial, write_dataset

    if args.reconstruct:
        if args.patients is not None or args.seed != DEFAULT_SEED:
            print("simulate: --reconstruct searches the trial's own dataset (default seed, 20 patients)")
            return 1
        from .synthetic import reconstruct, replay

        changes, report = reconstruct.run(args.seed, args.budget)
        for path in replay.record(changes, report):
            print(f"recorded {path}")
        counts = report["status"].value_counts()
        print(f"reconstruction: {len(changes)} value(s) changed; of {len(report)} targeted numbers "
              f"{int(counts.get('met', 0))} met, {int(counts.get('unmet', 0))} unmet, "
              f"{int(counts.get('unreachable', 0))} unreachable on this allocation")
    try:
        frames = simulate_trial(args.seed, args.patients, args.dropouts)
    except ValueError as err:
        print(f"simulate: {err}")
        return 1
    written = write_dataset(frames, args.out, args.seed, args.patients, args.dropouts)
    print(f"wrote {len(written)} files to {args.out} (seed {args.seed})")
    return 0


def _load(directory):
    """The validated trial, or None after printing every problem (no traceback for data errors)."""
    from .rawdata.load import DataValidationError, load_trial

    try:
        return load_trial(directory)
    except DataValidationError as err:
        print(err)
        return None


def _calibrate(args: argparse.Namespace) -> int:
    import pandas as pd

    from .synthetic.calibration import calibration_report, diary_missing_rate

    trial = _load(args.directory)
    if trial is None:
        return 1
    report = calibration_report(trial)
    shown = report.assign(status=report["within_tolerance"].map({True: "ok", False: "OUT"}))
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.precision", 3):
        print(shown[["key", "published", "achieved", "tolerance", "status"]].to_string(index=False))
    print(f"\ndiary entries missing (average pain): {100 * diary_missing_rate(trial):.1f}%")
    failed = int((~report["within_tolerance"]).sum())
    print(f"{len(report) - failed} of {len(report)} calibration targets within tolerance")
    return 1 if failed else 0


def _export(args: argparse.Namespace) -> int:
    from .rawdata.load import data_dir
    from .report.export import export_all, prepare_output_folder

    try:  # an unwritable or forbidden --out is refused before the data are loaded
        prepare_output_folder(args.out, data_dir(args.data))
    except (OSError, ValueError) as err:
        print(f"export: {err}")
        return 1
    trial = _load(args.data)
    if trial is None:
        return 1
    try:
        written = export_all(trial, args.out)
    except (OSError, ValueError) as err:  # one line, no traceback: an unwritable or forbidden --out
        print(f"export: {err}")
        return 1
    print(f"wrote {len(written)} files to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from .synthetic.simulate import DEFAULT_SEED

    parser = argparse.ArgumentParser(prog="python -m ketapain_lib", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"ketapain_lib {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check a raw-data directory against the contract")
    validate.add_argument("directory", nargs="?", help="data directory (default: $KETAPAIN_DATA or data/synthetic)")
    validate.set_defaults(run=_validate)
    simulate = commands.add_parser("simulate", help="write a calibrated synthetic raw dataset")
    simulate.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    simulate.add_argument("--out", required=True, help="output directory (created if needed)")
    simulate.add_argument("--patients", type=int, help="number of patients (default: the trial's 20; counts scale)")
    simulate.add_argument("--dropouts", type=int, default=0, help="patients who discontinue (default 0)")
    simulate.add_argument("--reconstruct", action="store_true",
                          help="first search the calibrated data for one that reproduces the model-based published "
                               "numbers too, and record it (offline, under 10 minutes)")
    simulate.add_argument("--budget", type=float, default=480.0, help="seconds for the diary search (default 480)")
    simulate.set_defaults(run=_simulate)
    calibrate = commands.add_parser("calibrate", help="published summaries vs those of a dataset")
    calibrate.add_argument("directory", nargs="?", help="data directory (default: $KETAPAIN_DATA or data/synthetic)")
    calibrate.set_defaults(run=_calibrate)
    export = commands.add_parser("export", help="write every table, figure and the ledger")
    export.add_argument("--out", required=True, help="output directory (created if needed)")
    export.add_argument("--data", help="data directory (default: $KETAPAIN_DATA or data/synthetic)")
    export.set_defaults(run=_export)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
