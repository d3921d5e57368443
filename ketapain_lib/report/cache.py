"""The report's one cache: every stored result lives under one directory, keyed by one hash of its inputs.

* **Where.** ``$KETAPAIN_CACHE_DIR`` if set. A book build sets it to a folder
  inside the build's own execution cache (see :mod:`ketapain_lib.report.sphinx_ext`),
  so the notebook kernels it starts share it and a wiped build leaves nothing
  behind; outside a build (nbval, the export, a notebook) it defaults to the
  user's cache directory, never to a folder next to the installed package.
* **Key.** :func:`library_hash` covers every file of ``ketapain_lib`` (code
  and the published-results file) and the pins, so editing any module,
  a private helper included, invalidates every stored result; each entry is
  further keyed by a hash of its own arguments (the data as loaded, not as
  found on disk, so an in-memory subset never gets the full data's results).
* **Concurrency.** Every page of a build runs in a Jupyter kernel of its own
  and they all read this one cache: an entry is computed once, by the first
  process that asks for it, under a lock (:func:`memoize`), and written
  atomically, so no process reads half an entry.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Callable, TypeVar

CACHE_ENV = "KETAPAIN_CACHE_DIR"
LIBRARY = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def cache_dir() -> Path:
    """The cache root: ``$KETAPAIN_CACHE_DIR``, else ``$XDG_CACHE_HOME/ketapain`` (``~/.cache/ketapain``)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ketapain"


@lru_cache(maxsize=1)
def library_hash() -> str:
    """:func:`hash_library` of this library, computed once per process."""
    return hash_library(LIBRARY)


def hash_library(library: Path) -> str:
    """SHA-256 of a library's files (``.py``, ``.csv``) and of ``requirements.txt`` beside it when present."""
    digest = hashlib.sha256()
    files = sorted(p for p in library.rglob("*") if p.is_file() and p.suffix in (".py", ".csv")
                   and "__pycache__" not in p.parts)
    requirements = library.parent / "requirements.txt"
    for path in files + ([requirements] if requirements.is_file() else []):
        digest.update(f"{path.relative_to(library.parent)}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def value_hash(*values: object) -> str:
    """A stable hash of DataFrames, arrays and plain values (content only, not identity or row labels' memory)."""
    import numpy as np  # here, not at the top: the Sphinx extension imports this module for library_hash only
    import pandas as pd

    digest = hashlib.sha256()
    for value in values:
        if isinstance(value, pd.DataFrame):
            # names and dtypes, then pandas' content hash of each row (fixed key: the same in every process)
            digest.update(repr([(str(c), str(t)) for c, t in value.dtypes.items()]).encode())
            digest.update(pd.util.hash_pandas_object(value, index=False).to_numpy().tobytes())
        elif isinstance(value, np.ndarray):
            digest.update(value.tobytes())
        elif hasattr(value, "__dataclass_fields__"):
            digest.update(value_hash(*(getattr(value, f) for f in value.__dataclass_fields__
                                       if f != "source")).encode())
        else:
            digest.update(repr(value).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def memoize(namespace: str, key: str, compute: Callable[[], T]) -> T:
    """``compute()``, stored as a pickle under ``cache_dir()/<library hash>/<namespace>/<key>``.

    Safe under concurrent kernels (the pages of one build, each in its kernel, or the export beside them):

    * a reader sees a whole entry or none: each is written to a temporary file in its folder, then renamed
      over its name (``os.replace``, atomic on POSIX and Windows);
    * an entry is computed once: the process that computes it holds the entry's lock file
      (:func:`locked`), and another process asking for it meanwhile waits, then reads what the first stored.
    """
    path = cache_dir() / library_hash()[:16] / namespace / f"{key}.pickle"
    found = _read(path)
    if found is not _MISSING:
        return found
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path.with_suffix(".lock")):
        found = _read(path)  # stored by another process while this one waited for the lock
        if found is not _MISSING:
            return found
        value = compute()
        _write_atomic(path, pickle.dumps(value))
    return value


_MISSING = object()


def _read(path: Path) -> object:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return _MISSING
    return pickle.loads(data)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file of the same folder, renamed over it."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


#: How long a lock file may stand without its holder (on systems without ``fcntl``) before it is taken as
#: left by a process that died, in seconds: longer than any analysis of the report takes.
STALE_LOCK_SECONDS = 600.0


@contextmanager
def locked(lock: Path, poll: float = 0.05):
    """Hold an exclusive lock on the file ``lock`` (created if needed) for the ``with`` block, across processes.

    On POSIX, ``fcntl.flock`` on the open file: the system releases it when its holder ends, even if it dies.
    Elsewhere (Windows), the lock is the file's existence, created with ``O_CREAT | O_EXCL``; a waiter polls
    every ``poll`` seconds and removes a lock older than :data:`STALE_LOCK_SECONDS`.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        fcntl = None
    if fcntl is not None:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)
        return
    while True:  # pragma: no cover - Windows
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                if time.time() - lock.stat().st_mtime > STALE_LOCK_SECONDS:
                    lock.unlink(missing_ok=True)
                    continue
            except FileNotFoundError:
                continue
            time.sleep(poll)
    try:
        os.close(descriptor)
        yield
    finally:
        lock.unlink(missing_ok=True)
