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


def pytest_configure(config):
    """Every test session, and each notebook kernel nbval starts, stores results in a cache of its own."""
    import os
    import tempfile

    if os.environ.get("KETAPAIN_START_METHOD"):  # e.g. spawn: the suite under another start method than the OS's
        import multiprocessing

        multiprocessing.set_start_method(os.environ["KETAPAIN_START_METHOD"], force=True)

    from ketapain_lib.report.cache import CACHE_ENV

    os.environ[CACHE_ENV] = tempfile.mkdtemp(prefix="ketapain_cache_")


def pytest_unconfigure(config):
    import os
    import shutil

    from ketapain_lib.report.cache import CACHE_ENV

    if os.path.basename(os.environ.get(CACHE_ENV, "")).startswith("ketapain_cache_"):
        shutil.rmtree(os.environ[CACHE_ENV], ignore_errors=True)


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
