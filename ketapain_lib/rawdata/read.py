"""Reading one raw CSV file against its contract: bytes, header, rows and cells, each problem located.

:func:`read_table` never raises on bad input: it returns the rows it could
parse (each with its ``source_line`` and the set of ``bad_columns``) and the
list of :class:`~ketapain_lib.rawdata.problems.Problem` found.
"""
from __future__ import annotations

import csv
import io
import os
import re
import stat
from pathlib import Path

import numpy as np
import pandas as pd

from .problems import Problem, plain_number as _fmt
from .schema import Column, Table

# ASCII digits only: Python's int() and float() also read Arabic-Indic or full-width digits, a CSV must not
_INTEGER = re.compile(r"^[+-]?[0-9]+$", re.ASCII)
_DECIMAL = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$", re.ASCII)
#: The longest cell text parsed as a number, and the longest excerpt of a value echoed in a message.
MAX_NUMBER_CHARS, MAX_ECHO_CHARS = 30, 40


def excerpt(text: str) -> str:
    """A value as a message shows it: quoted, and clipped to a short excerpt."""
    return repr(text) if len(text) <= MAX_ECHO_CHARS else repr(text[:MAX_ECHO_CHARS]) + f"... ({len(text)} characters)"


def _parse_cell(text: str, column: Column, score=None) -> tuple[object, str | None]:
    """Parse one cell; return (value, problem message or None)."""
    if text == "":
        return (None, None) if column.nullable else (None, "missing value (the column is required)")
    if text != text.strip():
        return None, f"value {excerpt(text)} has leading or trailing spaces"
    if column.kind in ("integer", "decimal") and len(text) > MAX_NUMBER_CHARS:
        return None, f"value {excerpt(text)} is too long to be a number"
    if column.kind == "integer":
        if not _INTEGER.match(text):
            return None, f"value {excerpt(text)} is not an integer"
        value: object = int(text)
    elif column.kind == "decimal":
        if not _DECIMAL.match(text):
            return None, f"value {excerpt(text)} is not a number"
        value = float(text)
    elif column.kind == "category":
        if text not in column.allowed:
            return None, f"unknown value {excerpt(text)} (allowed: {', '.join(column.allowed)})"
        value = text
    else:
        value = text
    if column.value_range is not None and column.kind in ("integer", "decimal"):
        low, high = column.value_range
        if not low <= value <= high:
            return None, f"value {excerpt(text)} is outside the range {_fmt(low)} to {_fmt(high)}"
    return value, None


def read_table(directory: Path, table: Table) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read and check one CSV file; return its parsed rows (with a ``_line`` column) and problems."""
    path = directory / table.filename
    shown = str(path)
    if not path.exists() and not path.is_symlink():
        return None, [Problem(shown, None, None, f"file not found (expected the {table.name} table)")]
    if path.is_symlink() and not path.exists():
        return None, [Problem(shown, None, None, f"is a broken symbolic link (its target {excerpt(os.readlink(path))} "
                                                 "does not exist); not read")]
    if directory.resolve() not in path.resolve().parents:
        return None, [Problem(shown, None, None, "is a link to a file outside the data directory; not read")]
    if not path.is_file():
        return None, [Problem(shown, None, None, f"{_not_a_file(path)}; not read")]
    raw = path.read_bytes()
    expected_header = ",".join(table.column_names)
    if not raw.strip():
        return None, [Problem(shown, 1, None, f"file is empty (expected a header line: {expected_header})")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        return None, [Problem(shown, line, None,
                              f"file is not valid UTF-8 (byte 0x{raw[err.start]:02X}); re-export it as UTF-8")]

    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except csv.Error as err:  # pragma: no cover - csv rarely fails on a header
        return None, [Problem(shown, 1, None, f"unreadable header ({err})")]
    if len(header) == 1 and header[0] not in table.column_names:
        for delimiter, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if delimiter in header[0]:
                return None, [Problem(shown, 1, None,
                                      f"columns are separated by a {name}, not a comma "
                                      f"(expected header: {expected_header})")]
    problems = _header_problems(shown, table, header)
    position = {name: header.index(name) for name in table.column_names if name in header}
    parsed = _plain_columns(shown, table, raw, text, header, position)
    if parsed is None:
        # the csv module refuses a field over its limit (128 KiB): raise it to the file's size, so that a long
        # valid field is read as what it is (the limit is the process's; it is put back)
        limit = csv.field_size_limit()
        csv.field_size_limit(max(limit, len(text) + 1))
        try:
            parsed = _records(shown, table, reader, header, position, text)
        finally:
            csv.field_size_limit(limit)
    columns, row_problems = parsed
    problems += row_problems
    del text, raw, reader  # the parsed columns are all that is kept

    if not columns["source_line"] and not table.may_be_empty and not problems:
        problems.append(Problem(shown, 2, None, "file has a header but no data rows"))
    # object columns keep None as the missing marker (no silent NaN or float conversion)
    frame = pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in columns.items()})
    del columns
    problems += check_key(shown, table, frame)
    return frame, problems


def _not_a_file(path: Path) -> str:
    """What a path that is not a regular file is, as a message says it."""
    mode = path.stat().st_mode
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return f"is {kind}, not a file"
    return "is not a regular file"


def _shape_problem(line: int, end: int, fields: int, width: int, content: str, physical: list[str]) -> str:
    """Why the record of lines ``line`` to ``end`` is not a row: a quote left open to the end of the file, a
    quoted field over several lines, or a wrong number of fields. ``physical``: the file's lines, split from
    ``content`` on first need (most files never need them)."""
    if '"' in content:
        if not physical:
            physical.extend(content.split("\n"))
        at_the_end = end >= len(physical) - (physical[-1] == "")          # the record reaches the end of the file
        if at_the_end and sum(text.count('"') for text in physical[line - 1:end]) % 2 == 1:
            return ("unclosed quote: a quote in this line is never closed, so the field runs to the end of the "
                    f"file{'' if end == line else f' (line {end})'}")
    if end > line:
        return f"a quoted field runs over lines {line} to {end} (unclosed quote or line break inside a field)"
    return f"row has {fields} fields but the header has {width}"


def _header_problems(shown: str, table: Table, header: list[str]) -> list[Problem]:
    expected_header = ",".join(table.column_names)
    problems, seen = [], set()
    for name in header:
        if name in seen:
            problems.append(Problem(shown, 1, _header_column(name), "column appears more than once in the header"))
        seen.add(name)
    problems += [Problem(shown, 1, name, "required column is missing")
                 for name in table.column_names if name not in header]
    problems += [Problem(shown, 1, _header_column(name),
                         f"unexpected column{'' if _header_column(name) == name else ' ' + excerpt(name)} "
                         f"(expected: {expected_header})")
                 for name in header if name not in table.column_names]
    return problems


def _header_column(name: str) -> str:
    """A header cell as the column of a message: itself if it is a plain name, else ``header`` (never raw bytes)."""
    return name if name.isascii() and name.replace("_", "").isalnum() and len(name) <= MAX_ECHO_CHARS else "header"


#: Rows parsed at a time by the plain-file path: bounds its memory whatever the file's size.
CHUNK_ROWS = 200_000
#: Above this many rows, the cross-row checks first narrow the rows down with pandas' vectorized hashing.
LARGE_ROWS = 20_000
#: Smaller files take the csv-module path, whose fixed cost is lower; both give the same rows and problems.
PLAIN_PATH_MIN_BYTES = 64 * 1024


def _plain_columns(shown: str, table: Table, raw: bytes, text: str, header: list[str],
                   position: dict[str, int]) -> tuple[dict[str, list], list[Problem]] | None:
    """The fast path for a plain file, or None to use :func:`_records`, which handles every other case.

    A plain file has no quote, carriage return or NUL, no blank line, and the header's number of fields
    on every line, so line ``i`` of the file is data row ``i - 1`` and pandas' C reader splits it exactly as
    the csv module would. Each distinct text of a column is parsed once by the same :func:`_parse_cell`.
    """
    if len(raw) < PLAIN_PATH_MIN_BYTES or '"' in text or "\r" in text or "\x00" in text:
        return None
    content = np.frombuffer(raw, dtype=np.uint8)
    ends = np.flatnonzero(content == 10)
    if content.size and content[-1] != 10:
        ends = np.append(ends, content.size)
    starts = np.concatenate(([0], ends[:-1] + 1))
    commas = np.bincount(np.searchsorted(ends, np.flatnonzero(content == 44)), minlength=len(ends))
    if len(ends) < 2 or np.any(ends == starts) or np.any(commas != len(header) - 1):
        return None
    problems: list[Problem] = []
    memos: dict[str, dict] = {name: {} for name in position}
    parts: dict[str, list[np.ndarray]] = {name: [] for name in ["source_line", "bad_columns", *position]}
    chunks = pd.read_csv(io.StringIO(text), header=None, skiprows=1, names=range(len(header)), dtype=str,
                         na_filter=False, quoting=csv.QUOTE_NONE, engine="c", skip_blank_lines=False,
                         chunksize=CHUNK_ROWS)
    first_line = 2
    for chunk in chunks:
        lines = np.arange(first_line, first_line + len(chunk))
        first_line += len(chunk)
        bad = np.empty(len(chunk), dtype=object)
        bad.fill(frozenset())
        for name, index in position.items():
            codes, texts = pd.factorize(chunk[index], sort=False)
            memo, column = memos[name], table.column(name)
            outcomes = [memo.get(t) or memo.setdefault(t, _parse_cell(t, column)) for t in texts]
            values = np.empty(len(outcomes), dtype=object)
            for code, (value, _) in enumerate(outcomes):
                values[code] = value
            for code, (_, message) in enumerate(outcomes):
                if message:
                    for row in np.flatnonzero(codes == code):
                        problems.append(Problem(shown, int(lines[row]), name, message))
                        bad[row] = bad[row] | {name}
            parts[name].append(values[codes])
        parts["source_line"].append(lines)
        parts["bad_columns"].append(bad)
    columns = {name: (np.concatenate(chunks_of) if chunks_of else np.array([], dtype=object)).tolist()
               for name, chunks_of in parts.items()}
    return columns, problems


def _records(shown: str, table: Table, reader, header: list[str],
             position: dict[str, int], content: str = "") -> tuple[dict[str, list], list[Problem]]:
    """Parse the data rows into columns: ``source_line``, each column's values and each row's ``bad_columns``.

    Column lists, not a dict per row, and each distinct cell text parsed once: a 2-million-row diary
    validates in seconds, in bounded memory.
    """
    problems: list[Problem] = []
    columns: dict[str, list] = {name: [] for name in ["source_line", "bad_columns", *position]}
    lines, bad_columns = columns["source_line"], columns["bad_columns"]
    blank_lines: list[int] = []
    previous_end = reader.line_num
    # (name, index, column, its value list, its parse memo): most cells repeat a few values (pain 0-10, codes)
    cells = [(name, index, table.column(name), columns[name], {}) for name, index in position.items()]
    width, no_problem = len(header), frozenset()
    physical: list[str] = []          # the file's lines, split only when a record needs a second look
    try:
        for fields in reader:
            # a record starts on the line after the previous one ended; one that spans several lines
            # holds a quoted line break, most often an unclosed quote that swallowed the lines below
            line, end = previous_end + 1, reader.line_num
            previous_end = end
            if not fields:
                blank_lines.append(line)
                continue
            if blank_lines:  # a blank line before more data is a problem; one at the very end is not
                problems += [Problem(shown, blank, None, "blank line") for blank in blank_lines]
                blank_lines = []
            if end > line or len(fields) != width:
                problems.append(Problem(shown, line, None, _shape_problem(line, end, len(fields), width, content,
                                                                          physical)))
                continue
            bad = no_problem
            for name, index, column, values, memo in cells:
                text = fields[index]
                parsed = memo.get(text)
                if parsed is None:
                    parsed = _parse_cell(text, column)
                    if len(memo) < 10_000:  # bounded memory whatever the file
                        memo[text] = parsed
                if parsed[1]:
                    problems.append(Problem(shown, line, name, parsed[1]))
                    bad = bad | {name}
                values.append(parsed[0])
            lines.append(line)
            bad_columns.append(bad)
    except csv.Error as err:
        problems.append(Problem(shown, reader.line_num, None, f"malformed CSV ({err}); the rest of the file is not read"))
    problems += [Problem(shown, blank, None, "blank line") for blank in blank_lines[1:]]
    return columns, problems


def check_key(shown: str, table: Table, frame: pd.DataFrame) -> list[Problem]:
    """One problem per row that repeats the key of an earlier row (rows with a missing required key part skipped)."""
    if not set(table.key) <= set(frame.columns) or frame.empty:
        return []
    problems = []
    first_line: dict[tuple, int] = {}
    required = [i for i, k in enumerate(table.key) if not table.column(k).nullable]
    if len(frame) > LARGE_ROWS:  # hashing in C first: Python only walks the rows whose key repeats
        frame = frame[frame[list(table.key)].duplicated(keep=False)]
    for line, key in zip(frame["source_line"], zip(*(frame[k] for k in table.key))):
        if key in first_line:
            spelled = ", ".join(f"{k}={'' if v is None else v}" for k, v in zip(table.key, key))
            problems.append(Problem(shown, line, table.key[-1],
                                    f"duplicate row for ({spelled}); first given at line {first_line[key]}"))
        elif all(key[i] is not None for i in required):
            first_line[key] = line
    return problems
