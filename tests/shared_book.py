"""Book builds shared by the whole test session: each dataset's book is built once, whichever test asks first.

A cold build of the book costs half a minute, and half the suite's modules read the shipped book. A build is
made once per session, by the first worker that asks for it, into the session's shared temporary folder (the
parent of the pytest-xdist workers' own); a worker that asks meanwhile waits on a lock
(:func:`ketapain_lib.report.cache.locked`), then reads the same build. The build runs in a Python that cannot
fork (:data:`SPAWN_ONLY`), so every test that reads a book also shows that nothing of it needs fork.

Tests read a shared build and never write into it: one that rebuilds, prints a PDF or edits a page works on its
own copy (:func:`copy_of`).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

from ketapain_lib.report import cache

ROOT = Path(__file__).resolve().parent.parent

#: A Python whose multiprocessing starts every process by ``spawn`` and in which ``os.fork`` raises: any code
#: path that forks (multiprocessing's fork context, a forked pool, os.fork itself) fails the command. Programs
#: started by subprocess (the Jupyter kernels) are not forked by Python code and still start.
SPAWN_ONLY = (
    "import multiprocessing, os, sys\n"
    "multiprocessing.set_start_method('spawn', force=True)\n"
    "def no_fork(*args, **kwargs):\n"
    "    raise RuntimeError('os.fork called: this code path relies on fork')\n"
    "os.fork = no_fork\n"
    "sys.argv = sys.argv[1:]\n"
)
RUN_BUILD = SPAWN_ONLY + "from jupyter_book.cli.main import main\nsys.exit(main())\n"


def book_env(data: Path | None = None) -> dict[str, str]:
    """The environment of a build: the caller's, reading ``data`` (default: the shipped data) and the build's own
    report cache."""
    env = {k: v for k, v in os.environ.items() if k not in ("KETAPAIN_DATA", cache.CACHE_ENV)}
    if data is not None:
        env["KETAPAIN_DATA"] = str(data)
    return env


def run_build(out: Path, data: Path | None = None) -> tuple[str, int]:
    """Build the book into ``out`` (``-W``) in a Python that cannot fork: (log, exit status)."""
    result = subprocess.run([sys.executable, "-c", RUN_BUILD, "jupyter-book", "build", str(ROOT), "--path-output",
                             str(out), "-W", "-n", "--keep-going"], capture_output=True, text=True, cwd=ROOT,
                            check=False, env=book_env(data))
    return result.stdout + result.stderr, result.returncode


def _session_folder(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    # a pytest-xdist worker's folder is named after the worker ("popen-gw0"), inside the session's; a pytest run
    # started from a worker inherits the variable, not the folder, and keeps its own
    return base.parent if worker and base.name.endswith(worker) else base


def shared_build(tmp_path_factory, name: str, make_data=None, over: Path | None = None) -> tuple[Path, str, int, Path | None]:
    """The session's build called ``name``: (folder given to ``--path-output``, log, exit status, data folder).

    ``make_data(folder)`` writes the dataset it reads into ``folder`` (None: the shipped data, and no data
    folder); it runs once, with the build. With ``over``, the build is a rebuild over a copy of that build's
    folder. A build that fails, or whose data cannot be made, is recorded as failed with its error, so that every
    test that asks for it reports the same error instead of building again over what was left.
    """
    session = _session_folder(tmp_path_factory)
    out = session / f"book_{name}"
    data = session / f"data_{name}" if make_data is not None else None
    done, log_file = session / f"book_{name}.status", session / f"book_{name}.log"
    with cache.locked(session / f"book_{name}.lock"):
        if not done.is_file():
            log, status = "the build was interrupted", 1
            try:
                if data is not None:
                    make_data(data)
                if over is not None:
                    copy_of(over, out)
                log, status = run_build(out, data)
            except Exception:  # noqa: BLE001 - recorded for every test that asks, then raised here
                log = traceback.format_exc()
                raise
            finally:
                log_file.write_text(log, encoding="utf-8")
                done.write_text(str(status), encoding="utf-8")
    return out, log_file.read_text(encoding="utf-8"), int(done.read_text(encoding="utf-8")), data


def shipped_book(tmp_path_factory) -> tuple[Path, str]:
    """The shipped data's book, built once per session: (folder, log); a failed build fails the caller."""
    out, log, status, _ = shared_build(tmp_path_factory, "shipped")
    assert status == 0, log[-4000:]
    return out, log


def write_real_export(folder: Path) -> None:
    from test_dropouts import discontinue_p02_after_period_2

    from ketapain_lib.rawdata.load import SHIPPED_DATA_DIR, SYNTHETIC_MARKER

    shutil.copytree(SHIPPED_DATA_DIR, folder)
    (folder / SYNTHETIC_MARKER).unlink()
    discontinue_p02_after_period_2(folder)


def real_export_book(tmp_path_factory) -> tuple[Path, str, Path]:
    """The book rebuilt, over a copy of the shipped book, from "a real export": the shipped data without the
    generator's marker, in which P02 left during period 2 (:func:`test_dropouts.discontinue_p02_after_period_2`):
    (folder, log of the rebuild, data folder)."""
    shipped, _ = shipped_book(tmp_path_factory)
    out, log, status, data = shared_build(tmp_path_factory, "real_export", write_real_export, over=shipped)
    assert status == 0, log[-4000:]
    return out, log, data


#: The generated trial the books on other data read: 40 patients, 3 of whom drop out, seed 1.
SIMULATED = {"seed": 1, "patients": 40, "dropouts": 3}


def write_simulated(folder: Path) -> None:
    from ketapain_lib.synthetic.simulate import simulate_trial, write_dataset

    write_dataset(simulate_trial(**SIMULATED), folder, **SIMULATED)


def simulated_book(tmp_path_factory) -> tuple[Path, Path]:
    """The book of a generated trial with drop-outs (:data:`SIMULATED`), built once per session: (folder, data)."""
    out, log, status, data = shared_build(tmp_path_factory, "simulated", write_simulated)
    assert status == 0, log[-4000:]
    return out, data


def copy_of(out: Path, into: Path) -> Path:
    """A copy of a shared build's folder (its ``_build``: pages, execution cache, stamp), for a test that writes."""
    shutil.copytree(out / "_build", into / "_build", symlinks=True)
    return into
