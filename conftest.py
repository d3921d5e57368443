"""Test tiers: ``slow`` marks book builds, browser checks, notebook (nbval) runs and the portability checks.

    python -m pytest                   # everything (the README's test command, and CI)
    python -m pytest -m "not slow"     # the authors' inner loop
"""
from __future__ import annotations

import sys

import pytest

# The fast tier is the authors' inner loop, run again and again: keep the compiled library and the rewritten
# test modules (git-ignored __pycache__ folders) even where PYTHONDONTWRITEBYTECODE is set, so that a run
# after the first re-compiles only what changed (a third of the fast tier's collection time)
sys.dont_write_bytecode = False

#: the R reference's dataset scripts are run by hand (tests/reference/README.md), not imported by the suite
collect_ignore_glob = ["tests/reference/*.py"]


def pytest_ignore_collect(collection_path, config):
    """The fast tier (``-m "not slow"``) does not read the chapters' notebooks: each would be an nbval item,
    marked slow below and deselected (reading them costs each worker half a second)."""
    if collection_path.suffix == ".ipynb" and config.option.markexpr.replace(" ", "") == "notslow":
        return True
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        # nbval items: each executes a chapter notebook in a kernel
        if str(getattr(item, "path", "")).endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.notebook)


#: The report cache this process made for the session (none in a pytest-xdist worker, which shares its
#: controller's): only its maker removes it.
_SESSION_CACHE: list[str] = []


def pytest_configure(config):
    """Every test session stores results in a cache of its own, which its pytest-xdist workers and the notebook
    kernels nbval starts share: an analysis is computed once per session (the cache is locked per entry and
    written atomically, so concurrent workers compute nothing twice)."""
    import os
    import tempfile

    if os.environ.get("KETAPAIN_START_METHOD"):  # e.g. spawn: the suite under another start method than the OS's
        import multiprocessing

        multiprocessing.set_start_method(os.environ["KETAPAIN_START_METHOD"], force=True)

    from ketapain_lib.report.cache import CACHE_ENV

    if hasattr(config, "workerinput") and os.environ.get(CACHE_ENV):
        return  # a pytest-xdist worker: its controller's session cache, inherited
    _SESSION_CACHE.append(tempfile.mkdtemp(prefix="ketapain_cache_"))
    os.environ[CACHE_ENV] = _SESSION_CACHE[-1]


def pytest_unconfigure(config):
    import shutil

    for folder in _SESSION_CACHE:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def shipped_export(tmp_path_factory):
    """The export command's output on the shipped data (``python -m ketapain_lib export``), made once per run."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("shipped") / "export"
    result = subprocess.run([sys.executable, "-m", "ketapain_lib", "export", "--out", str(out)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="session")
def real_export(tmp_path_factory):
    """The shipped data without the generator's marker, as a real export would arrive (copied once per run;
    the shipped folder itself is never written)."""
    import shutil

    from ketapain_lib.rawdata.load import SHIPPED_DATA_DIR, SYNTHETIC_MARKER

    folder = tmp_path_factory.mktemp("real") / "export"
    shutil.copytree(SHIPPED_DATA_DIR, folder)
    (folder / SYNTHETIC_MARKER).unlink()
    return folder
