"""Write every output of the report (tables as CSV, figures as PNG and SVG) and the ledger, without building the book.

    python -m ketapain_lib export --out DIR [--data DIR]

The export walks the registry (:data:`ketapain_lib.report.registry.OUTPUTS`),
so it writes every table and figure that a chapter shows, plus the derived
datasets of :data:`DATASETS`. On synthetic data it says so three times, and the CSVs stay plain data: in the
manifest's first line, in the metadata file :data:`DATA_SOURCE` beside them, and in each figure's footer
(:data:`ketapain_lib.report.registry.SYNTHETIC_FOOTER`). The same inputs give byte-identical files:
stable row order, fixed float format, no timestamps in the figures.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the annotations only: the folder rules and names serve the book's build, which should not
    # pay for pandas (an unchanged rebuild imports none) or matplotlib
    import pandas as pd

    from ..rawdata.load import Trial
    from .results import Results

FLOAT_FORMAT = "%.10g"
#: The folder of the HTML build that holds a copy of the export, for the pages' download links.
DOWNLOADS_FOLDER = "downloads"
#: Derived data a reader may want beyond the outputs: name -> function of the results.
DATASETS: dict[str, Callable[["Results"], pd.DataFrame]] = {
    "auc_all": lambda r: r["auc_long"],
}


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


#: The export's own manifest: the files it wrote, so that the next export can replace them and nothing else.
#: Lines starting with ``#`` are comments (on synthetic data, the first says so).
MANIFEST = "EXPORT_MANIFEST.txt"
#: The export's metadata, beside its CSVs: where the data come from (on synthetic data: that they are synthetic).
DATA_SOURCE = "DATA_SOURCE.json"
SYNTHETIC_STATEMENT = ("Synthetic data: every file here is computed from a seeded simulation calibrated to the "
                       "published summaries of the KETAPAIN trial, not from patients.")


def manifest_files(text: str) -> list[str]:
    """The files a manifest lists (its comment lines skipped).

    >>> manifest_files("# Synthetic data.\\nledger.csv\\ntables/a.csv\\n")
    ['ledger.csv', 'tables/a.csv']
    """
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def data_source(trial: "Trial") -> dict[str, object]:
    """The export's metadata (:data:`DATA_SOURCE`): synthetic data say so; a real export says it is one.

    Nothing in it depends on how the data are stored (their folder, the order of their rows): the same data give
    the same export, byte for byte.
    """
    if trial.is_synthetic:
        return {"synthetic": True, "statement": SYNTHETIC_STATEMENT}
    return {"source": "raw export", "statement": "Every file here is computed from a raw export of the trial's data."}


def check_output_folder(out: Path, data: Path) -> None:
    """Refuse an output folder inside the data directory (or holding it): nothing is ever written into the data."""
    out, data = out.resolve(), data.resolve()
    if out == data or data in out.parents or out in data.parents:
        raise ValueError(f"{out}: the export never writes into or around the data directory {data}; "
                         "choose another --out")
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder")


def prepare_output_folder(out: str | Path, data: Path) -> Path:
    """Make ``out`` ready before any data are loaded: allowed, writable, and empty or a previous export.

    A folder holding a previous export (its :data:`MANIFEST`) has those files removed, so no stale file
    survives; a folder holding anything else is refused. Raises ``ValueError`` or ``OSError`` with one line.
    """
    out = Path(out)
    check_output_folder(out, data)
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST
    previous = manifest_files(manifest.read_text(encoding="utf-8")) if manifest.is_file() else []
    present = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() or p.is_symlink())
    foreign = [name for name in present if name not in previous and name != MANIFEST]
    if foreign:
        raise ValueError(f"{out}: not empty and not a previous export (it holds {foreign[0]}"
                         f"{f' and {len(foreign) - 1} more' if len(foreign) > 1 else ''}); choose an empty folder")
    probe = out / ".ketapain_write_probe"
    probe.write_bytes(b"")  # an unwritable folder fails here, before the data are loaded
    probe.unlink()
    for name in previous:
        (out / name).unlink(missing_ok=True)
    manifest.unlink(missing_ok=True)
    for folder in sorted((p for p in out.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return out


def export_all(trial: Trial, out: str | Path, results: "Results | None" = None) -> list[Path]:
    """Write the report's outputs into ``out`` (see :func:`prepare_output_folder`); return the paths written, sorted.

    Raises ``ValueError`` for an output folder in or around the data directory, or holding other files.
    """
    # imported here: the folder rules above serve the book's build, which should not pay for matplotlib
    from .registry import FIGURE_FORMATS, OUTPUTS, figure_bytes
    from .results import Results

    out = prepare_output_folder(out, trial.source)
    results = Results(trial) if results is None else results
    written = []
    for entry in (entry for entry in OUTPUTS.values() if entry.exported):
        target = out / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if entry.kind == "figure":
            for suffix in FIGURE_FORMATS:
                path = target.with_name(f"{target.name}.{suffix}")
                path.write_bytes(figure_bytes(results, entry.name, suffix))
                written.append(path)
        else:
            _write_table(entry.make(results), target)
            written.append(target)
    for name, make in DATASETS.items():
        path = out / "tables" / f"{name}.csv"
        _write_table(make(results), path)
        written.append(path)
    import json

    source = out / DATA_SOURCE
    source.write_text(json.dumps(data_source(trial), indent=1) + "\n", encoding="utf-8")
    written.append(source)
    header = f"# {SYNTHETIC_STATEMENT}\n" if trial.is_synthetic else ""
    (out / MANIFEST).write_text(header + "".join(f"{p.relative_to(out).as_posix()}\n" for p in sorted(written)),
                                encoding="utf-8")
    return sorted(written)
