"""Portability: a printed result depends on the data only, not on the machine's BLAS kernels or the file's row order.

OpenBLAS picks its kernels at run time; ``OPENBLAS_CORETYPE`` forces another machine's choice, whose
floating-point rounding differs in the last bits. Under each kernel the numeric tests and the chapters' stored
outputs (nbval) must pass, and the export (every table, figure and the ledger) must be byte-identical. The
same data stored differently (rows permuted; patients relabelled) must give the same export, apart from where
the ids themselves are printed.
"""
from __future__ import annotations

import csv
import filecmp
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
KERNELS = ("Haswell", "Sandybridge", "Nehalem")
#: the numeric tests re-run under each other kernel (the chapters' nbval checks run with them)
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


def _export(out: Path, data: Path, kernel: str | None, cache: Path) -> Path:
    result = subprocess.run([sys.executable, "-m", "ketapain_lib", "export", "--out", str(out), "--data", str(data)],
                            capture_output=True, text=True, env=_env(kernel, cache), check=False, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def _same(first: Path, second: Path, names: list[str] | None = None) -> list[str]:
    names = _files(first) if names is None else names
    assert _files(first) == _files(second)
    _, mismatch, errors = filecmp.cmpfiles(first, second, names, shallow=False)
    return mismatch + errors


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


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("portability")
    jobs = {kernel: (SHIPPED_DATA_DIR, kernel) for kernel in KERNELS}
    jobs["permuted"] = (_permuted(tmp), None)
    jobs["relabelled"] = (_relabelled(tmp), None)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_export, tmp / f"export_{name}", data, kernel, tmp / f"cache_{name}")
                   for name, (data, kernel) in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def test_export_is_byte_identical_under_every_kernel(exports):
    for kernel in KERNELS[1:]:
        assert _same(exports[KERNELS[0]], exports[kernel]) == [], kernel


def test_export_is_byte_identical_for_permuted_rows(exports):
    assert _same(exports[KERNELS[0]], exports["permuted"]) == []


def test_relabelled_ids_give_the_same_numbers(exports):
    reference, relabelled = exports[KERNELS[0]], exports["relabelled"]
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


@pytest.mark.parametrize("kernel", KERNELS[1:])
def test_numeric_tests_and_chapters_pass_under_another_kernel(kernel, tmp_path):
    tests = [t for t in NUMERIC_TESTS if (ROOT / t).is_file()]
    # the fast numeric tests and the chapters (nbval); the tests that start their own kernels are left out
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                             "-m", "not slow or notebook", *tests, "chapters"],
                            capture_output=True, text=True, env=_env(kernel, tmp_path / "cache"), cwd=ROOT,
                            check=False)
    assert result.returncode == 0, result.stdout[-6000:]
