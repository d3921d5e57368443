"""A problem in the raw data, located by file, line and column, and the error that carries them all."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found in the raw data, located as precisely as possible."""

    path: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


class DataValidationError(ValueError):
    """The raw data break the contract; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        listing = "\n".join(str(p) for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the raw data:\n{listing}")



def plain_number(number: float) -> str:
    """A number as the raw file would spell it: ``3`` for 3.0, ``2.5`` for 2.5."""
    return str(int(number)) if float(number).is_integer() else str(number)
