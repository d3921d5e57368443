"""Portability: a printed result depends on the data only, not on the machine's BLAS kernels or the file's row order.

OpenBLAS picks its kernels at run time; ``OPENBLAS_CORETYPE`` forces another machine's choice, whose
floating-point rounding differs in the last bits. Under each other kernel, the export (every table, figure and
the ledger) must be byte-identical to the recorded one (``tests/reference/export_sha256.json``, which the
rest of the suite checks on this machine's kernel) and the numeric tests must pass; under the kernel least like
this machine's (:data:`CHAPTERS_KERNEL`) every chapter must also show what its stored notebook shows (nbval's
comparison, in one process: ``tests/kernel_run.py``). The same data
stored differently (rows permuted; patients relabelled) must give the same export, apart from where the ids
themselves are printed.
"""
from __future__ import annotations

import csv
import json
import os
import random
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ketapain_lib.rawdata.load import SHIPPED_DATA_DIR

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
#: other machines' kernels (this machine's own is the one of the rest of the suite)
KERNELS = ("Sandybridge", "Nehalem")
#: the kernel under which every chapter is also executed and compared with its stored outputs: the one least like
#: a current machine's (no AVX). The chapters print what the export holds, computed by the same calls, and the
#: export is checked under every kernel; running the fourteen chapters once more under a second kernel would
#: cost the suite about 40 s of CPU for no path that the export and this kernel's chapters do not cover.
CHAPTERS_KERNEL = "Nehalem"
#: the numeric tests re-run under each other kernel
NUMERIC_TESTS = ("tests/test_models_reference.py", "tests/test_lmm_core.py", "tests/test_glmm.py",
                 "tests/test_mice.py", "tests/test_beyond.py")
#: figures that print patient ids, compared only after the ids are mapped back
ID_FIGURES = ("figure4a_patients_day7", "figure4b_patients_day35")


def _env(kernel: str | None, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "KETAPAIN_DATA")}
    env["KETAPAIN_CACHE_DIR"] = str(cache)  # nothing computed under another kernel is reused
    if kernel:
        env["OPENBLAS_CORETYPE"] = kernel
    return env


def _run(out: Path, data: Path, kernel: str | None, chapters: bool) -> Path:
    command = [sys.executable, str(ROOT / "tests" / "kernel_run.py"), str(out), "--data", str(data)]
    result = subprocess.run(command + (["--chapters"] if chapters else []), capture_output=True, text=True,
                            env=_env(kernel, out / "cache"), check=False, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def _recorded() -> dict[str, str]:
    return json.loads((ROOT / "tests" / "reference" / "export_sha256.json").read_text(encoding="utf-8"))


def _hashes(directory: Path) -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "scripts"))
    from export_manifest import manifest

    return manifest(directory)


def _files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def _rewrite(source: Path, target: Path, transform) -> Path:
    target.mkdir(parents=True)
    for path in sorted(source.iterdir()):
        if path.suffix != ".csv":
            shutil.copy(path, target / path.name)
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        header, body = rows[0], rows[1:]
        with (target / path.name).open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows([header, *transform(path.name, header, body)])
    return target


def _permuted(tmp: Path) -> Path:
    def shuffle(name, header, body):
        body = list(body)
        random.Random(name).shuffle(body)
        return body
    return _rewrite(SHIPPED_DATA_DIR, tmp / "permuted", shuffle)


def _ids() -> list[str]:
    with (SHIPPED_DATA_DIR / "patients.csv").open(encoding="utf-8") as handle:
        return sorted(row["patient_id"] for row in csv.DictReader(handle))


def _relabelling() -> dict[str, str]:
    # reversed order, another prefix: sorting by id now puts the patients the other way round
    ids = _ids()
    return {old: f"ID{140 - i}" for i, old in enumerate(ids)}


def _relabelled(tmp: Path) -> Path:
    mapping = _relabelling()

    def relabel(name, header, body):
        columns = [i for i, column in enumerate(header) if column == "patient_id"]
        return [[mapping.get(v, v) if i in columns else v for i, v in enumerate(row)] for row in body]
    return _rewrite(SHIPPED_DATA_DIR, tmp / "relabelled", relabel)


def _numeric_tests(kernel: str, cache: Path) -> subprocess.CompletedProcess:
    tests = [t for t in NUMERIC_TESTS if (ROOT / t).is_file()]
    # the fast numeric tests; the tests that start their own kernels are left out
    # one process (-n 0): this module's runs already occupy the cores
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not slow",
                           "--no-header", "-n", "0", *tests], capture_output=True, text=True, env=_env(kernel, cache), cwd=ROOT,
                          check=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, object]:
    """Every run of this module, two at a time (the machine's cores): exports, chapters and numeric tests."""
    tmp = tmp_path_factory.mktemp("portability")
    jobs = {kernel: (SHIPPED_DATA_DIR, kernel, kernel == CHAPTERS_KERNEL) for kernel in KERNELS}
    jobs["permuted"] = (_permuted(tmp), None, False)
    jobs["relabelled"] = (_relabelled(tmp), None, False)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_run, tmp / f"run_{name}", data, kernel, chapters)
                   for name, (data, kernel, chapters) in jobs.items()}
        futures |= {f"numeric tests {kernel}": pool.submit(_numeric_tests, kernel, tmp / f"numeric_{kernel}")
                    for kernel in KERNELS}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("kernel", KERNELS)
def test_export_is_byte_identical_under_another_kernel(runs, kernel):
    written = _hashes(runs[kernel] / "export")
    assert sorted(path for path, digest in _recorded().items() if written.get(path) != digest) == []


def test_every_chapter_shows_its_stored_outputs_under_another_kernel(runs):
    assert json.loads((runs[CHAPTERS_KERNEL] / "chapters.json").read_text(encoding="utf-8")) == {}


def test_export_is_byte_identical_for_permuted_rows(runs):
    written = _hashes(runs["permuted"] / "export")
    assert sorted(path for path, digest in _recorded().items() if written.get(path) != digest) == []


def test_relabelled_ids_give_the_same_numbers(runs, shipped_export):
    reference, relabelled = shipped_export, runs["relabelled"] / "export"
    back = {new: old for old, new in _relabelling().items()}
    names = _files(reference)
    assert names == _files(relabelled)
    for name in names:
        if any(name.startswith(f"figures/{figure}") for figure in ID_FIGURES):
            continue  # the ids themselves are printed there
        if name.endswith(".csv"):
            with (reference / name).open(encoding="utf-8") as handle:
                expected = sorted(map(tuple, csv.reader(handle)))
            with (relabelled / name).open(encoding="utf-8") as handle:
                actual = sorted(tuple(back.get(v, v) for v in row) for row in csv.reader(handle))
            assert actual == expected, name
        else:
            assert (reference / name).read_bytes() == (relabelled / name).read_bytes(), name


@pytest.mark.parametrize("kernel", KERNELS)
def test_numeric_tests_pass_under_another_kernel(runs, kernel):
    result = runs[f"numeric tests {kernel}"]
    assert result.returncode == 0, result.stdout[-6000:]


def test_the_chapter_comparison_sees_a_changed_number_but_not_a_redrawn_figure():
    """kernel_run compares as nbval does: printed text counts, an embedded figure's bytes do not."""
    import nbformat

    sys.path.insert(0, str(ROOT / "tests"))
    from kernel_run import comparable, sanitizers

    notebook = nbformat.read(ROOT / "chapters" / "03_primary_endpoint.ipynb", as_version=4)
    patterns = sanitizers()
    shown = [cell.outputs for cell in notebook.cells if cell.cell_type == "code" and any(
        "text/html" in output.get("data", {}) for output in cell.outputs)]
    table = next(outputs for outputs in shown if "<td" in outputs[0]["data"]["text/html"])
    figure = next(outputs for outputs in shown if "data:image/svg+xml;base64," in outputs[0]["data"]["text/html"])
    html = table[0]["data"]["text/html"]
    digit = next(i for i, c in enumerate(html) if c.isdigit() and html[i - 1] == ">")
    changed = [{**table[0], "data": {**table[0]["data"], "text/html": html[:digit] + str((int(html[digit]) + 1) % 10)
                                     + html[digit + 1:]}}]
    assert comparable(changed, patterns) != comparable(table, patterns)
    svg = figure[0]["data"]["text/html"]
    start = svg.index("base64,") + len("base64,")
    redrawn = [{**figure[0], "data": {**figure[0]["data"], "text/html": svg[:start] + "AAAA" + svg[start + 4:]}}]
    assert comparable(redrawn, patterns) == comparable(figure, patterns)
