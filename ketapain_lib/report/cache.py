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
"""
from __future__ import annotations

import hashlib
import os
import pickle
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

    Writes are atomic (a reader sees a whole file or none), so two kernels
    of one build can share an entry.
    """
    path = cache_dir() / library_hash()[:16] / namespace / f"{key}.pickle"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    partial.write_bytes(pickle.dumps(value))
    partial.replace(path)
    return value
