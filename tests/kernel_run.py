"""Everything a reader gets, computed in one process: the export and every chapter's outputs, checked.

    OPENBLAS_CORETYPE=Nehalem python tests/kernel_run.py OUT [--data DIR] [--chapters]

Run by :mod:`tests.test_portability` under other OpenBLAS kernels and on re-stored copies of the data. It
writes the export (every table, figure and the ledger) to ``OUT/export`` and, with ``--chapters``, executes
each chapter's paired notebook in a Jupyter kernel of its own, as the book's build does (nbclient; the
kernels inherit this process's environment, its OpenBLAS kernel included, and read the analyses it stored in
the report's cache) and compares its outputs with the stored ones as nbval does (the same sanitizers, ``tests/nbval_sanitize.cfg``, the same ignored fields, and
the same flattening of each cell's outputs by field). The differences go to ``OUT/chapters.json``: an empty
mapping when every chapter shows what its stored notebook shows.
"""
from __future__ import annotations

import argparse
import configparser
import json
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: nbval's ignored output fields (nbval.plugin.IPyNbFile.skip_compare)
SKIP = ("metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
        "application/vnd.jupyter.widget-view+json")


def sanitizers() -> list[tuple[re.Pattern, str]]:
    config = configparser.ConfigParser()
    config.read(ROOT / "tests" / "nbval_sanitize.cfg", encoding="utf-8")
    return [(re.compile(config[section]["regex"]), config[section]["replace"]) for section in config.sections()]


def comparable(outputs: list, patterns: list[tuple[re.Pattern, str]]) -> dict[str, list]:
    """A cell's outputs as nbval compares them: streams merged by name, fields flattened, text sanitized."""
    def clean(value):
        if isinstance(value, list):  # multi-line text as stored in a notebook file
            value = "".join(value)
        if isinstance(value, str):
            for pattern, replacement in patterns:
                value = pattern.sub(replacement, value)
        return value

    merged, streams = [], {}
    for output in outputs:
        if output.get("output_type") == "stream":
            if output["name"] in streams:
                streams[output["name"]]["text"] += clean(output["text"])
                continue
            output = {**output, "text": clean(output["text"])}
            streams[output["name"]] = output
        merged.append(output)
    fields: dict[str, list] = defaultdict(list)
    for output in merged:
        for key, value in output.items():
            if key in SKIP:
                continue
            if key == "data":
                for mime, content in value.items():
                    if mime not in SKIP:
                        fields[mime].append(clean(content))
            else:
                fields[key].append(clean(value))
    return dict(fields)


def chapter_differences() -> dict[str, list[str]]:
    """Execute every chapter's stored notebook in a kernel; for each one that differs, its differing cells."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    patterns = sanitizers()
    differences = {}
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        stored = nbformat.read(path, as_version=4)
        executed = nbformat.read(path, as_version=4)
        try:
            NotebookClient(executed, timeout=300, resources={"metadata": {"path": str(path.parent)}}).execute()
        except CellExecutionError as error:
            differences[path.name] = [f"execution failed: {str(error)[-500:]}"]
            continue
        cells = [(index, old, new) for index, (old, new) in enumerate(zip(stored.cells, executed.cells))
                 if old.cell_type == "code"]
        changed = [f"cell {index}" for index, old, new in cells
                   if comparable(old.outputs, patterns) != comparable(new.outputs, patterns)]
        if changed:
            differences[path.name] = changed
    return differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--chapters", action="store_true")
    args = parser.parse_args()
    if args.data is not None:
        args.data = args.data.resolve()  # the chapters run in their own folder
        os.environ["KETAPAIN_DATA"] = str(args.data)  # and read the data the book would
    from ketapain_lib.report import book
    from ketapain_lib.report.export import export_all

    trial = book.load_trial(args.data)
    export_all(trial, args.out / "export", book.results(trial))
    if args.chapters:
        (args.out / "chapters.json").write_text(json.dumps(chapter_differences(), indent=1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
