"""Fuzzing the validator: random byte mutations of a small valid export never give a traceback or a vague message.

Each case mutates one file of a six-patient subset of the shipped data (so that a case costs milliseconds)
with a few random byte-level edits: flipped, inserted or deleted bytes, duplicated or dropped lines, stray
commas, quotes and line ends, NUL and non-UTF-8 bytes, long digit runs. Whatever the bytes, ``validate``
returns (never raises), every problem has the ``file:line: column: problem`` form (or ``file: problem`` for a
file-level one), and the data directory is left as it was apart from the mutation itself.
"""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from ketapain_lib.rawdata.load import SHIPPED_DATA_DIR, validate
from ketapain_lib.rawdata.schema import TABLES

pytestmark = pytest.mark.slow

CASES = 2000
WORKERS = 2
FAST_PATH_CASES = 450
KEPT_PATIENTS = {f"P{i:02d}" for i in range(1, 7)}
#: file:line: column: problem, file: column: problem (a header), or file: problem (the file as a whole)
MESSAGE = re.compile(r"^[A-Za-z_]+\.csv(:\d+)?: ([a-z_]+: )?\S.*$")
SPECIALS = [b",", b"\"", b"\n", b"\r", b"\x00", b"\xff\xfe", b"9" * 60, b"-1", b"1e308", b"nan", b" ", b"\xc3("]


def _subset(source: Path, target: Path) -> None:
    """A valid six-patient export: the rows of P01-P06 in every file (screening keeps its other outcomes)."""
    target.mkdir()
    for table in TABLES.values():
        lines = (source / table.filename).read_bytes().split(b"\n")
        header, rows = lines[0], [line for line in lines[1:] if line]
        position = table.column_names.index("patient_id")
        kept = [row for row in rows
                if row.split(b",")[position].decode() in KEPT_PATIENTS | ({""} if table.name == "screening" else set())]
        (target / table.filename).write_bytes(b"\n".join([header, *kept]) + b"\n")


def _mutate(rng: np.random.Generator, content: bytes) -> bytes:
    data = bytearray(content)
    for _ in range(int(rng.integers(1, 4))):
        at = int(rng.integers(0, len(data) + 1))
        kind = int(rng.integers(0, 6))
        if kind == 0 and data:  # flip a byte
            data[min(at, len(data) - 1)] = int(rng.integers(0, 256))
        elif kind == 1:  # insert a special token
            data[at:at] = SPECIALS[int(rng.integers(0, len(SPECIALS)))]
        elif kind == 2:  # delete a run
            del data[at:at + int(rng.integers(1, 40))]
        elif kind == 3:  # duplicate a line
            lines = bytes(data).split(b"\n")
            i = int(rng.integers(0, len(lines)))
            lines.insert(i, lines[i])
            data = bytearray(b"\n".join(lines))
        elif kind == 4:  # drop a line
            lines = bytes(data).split(b"\n")
            del lines[int(rng.integers(0, len(lines)))]
            data = bytearray(b"\n".join(lines))
        else:  # random bytes
            data[at:at] = rng.integers(0, 256, int(rng.integers(1, 12)), dtype=np.uint8).tobytes()
    return bytes(data)


def _run_cases(folder: Path, seed: int, cases: int, plain_path_min_bytes: int) -> tuple[int, list]:
    """Mutate and validate ``cases`` times in ``folder``; return (cases found valid, offending messages).

    ``plain_path_min_bytes`` 0 sends every plain file through the reader's fast path, which the small
    files of this export would otherwise not take.
    """
    from ketapain_lib.rawdata import read

    read.PLAIN_PATH_MIN_BYTES = plain_path_min_bytes
    rng = np.random.default_rng(seed)
    names = [table.filename for table in TABLES.values()]
    originals = {name: (folder / name).read_bytes() for name in names}
    listing = sorted(p.name for p in folder.iterdir())
    bad_messages, ok = [], 0
    for case in range(cases):
        name = names[int(rng.integers(0, len(names)))]
        mutated = _mutate(rng, originals[name])
        (folder / name).write_bytes(mutated)
        try:
            problems = validate(folder)
        except Exception as err:  # noqa: BLE001 - the property under test
            return ok, [(seed, case, name, f"{type(err).__name__}: {err}")]
        ok += not problems
        for problem in problems:
            text = str(problem).replace(f"{folder}/", "")
            if not MESSAGE.match(text) or len(text) > 400:
                bad_messages.append((seed, case, name, text[:200]))
        if (folder / name).read_bytes() != mutated or sorted(p.name for p in folder.iterdir()) != listing:
            return ok, [(seed, case, name, "the validator wrote into the data directory")]
        (folder / name).write_bytes(originals[name])
    return ok, bad_messages


def test_random_byte_mutations_give_messages_never_tracebacks(tmp_path):
    """2,000 cases in two processes (the machine's two cores), each on its own copy of the small export;
    one of them sends every plain file through the reader's fast path."""
    from concurrent.futures import ProcessPoolExecutor

    folders = []
    for worker in range(WORKERS):
        folder = tmp_path / f"export{worker}"
        _subset(SHIPPED_DATA_DIR, folder)
        folders.append(folder)
    assert validate(folders[0]) == []  # the subset itself is valid
    from ketapain_lib.rawdata.read import PLAIN_PATH_MIN_BYTES

    # the fast path costs more per small file: fewer of its cases keep the two workers even
    with ProcessPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(_run_cases, folders, range(WORKERS), [CASES - FAST_PATH_CASES, FAST_PATH_CASES],
                                 [PLAIN_PATH_MIN_BYTES, 0]))
    valid = sum(ok for ok, _ in outcomes)
    assert [bad for _, found in outcomes for bad in found] == []
    assert valid < CASES / 2  # the mutations do break the data: most cases are reported
