"""Design matrices of the crossover models, built from the data: treatment-coded factors and their products.

patsy builds a design matrix through generic machinery whose cost, at 2,000 patients, is ten times that of
the mixed-model fit itself, and it parses formula strings, so that a level named ``saline+placebo`` or
``x ~ y`` breaks it. The crossover models need one kind of term only (categorical factors in treatment
coding, and the product of two), so :func:`treatment_design` builds them directly from the columns' values:
any label works. Each column carries its factor(s) and level(s) (:class:`Column`), which the fits use to
find a contrast's columns; its ``name`` is patsy's, for display (the tests check that every model of the
report gives patsy's matrix, column for column and name for name).
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .lmm_core import dropped_note

_FACTOR = re.compile(r"C\((\w+)(?:, Treatment\((['\"])(.*?)\2\))?\)")


@dataclass(frozen=True)
class Column:
    """One column of a design: the factors of its term (none for the intercept) and the level of each."""
    factors: tuple[str, ...]
    levels: tuple
    name: str


def factor_levels(values: pd.Series, reference=None) -> list:
    """A factor's levels, the reference first: its categories (categoricals), else its sorted values (numbers
    numerically, anything else as text), then ``reference`` moved to the front.

    >>> factor_levels(pd.Series([10, 9, 10])) == [9, 10]
    True
    >>> factor_levels(pd.Series(["b", "a+c", "b"]), reference="b")
    ['b', 'a+c']
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        levels = list(values.cat.categories)
    else:
        unique = list(pd.unique(values))
        numeric = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                      for v in unique)
        levels = sorted(unique) if numeric else sorted(unique, key=str)
    if reference is not None:     # a reference without data (e.g. no first period) is kept as the baseline
        levels = [reference, *(level for level in levels if level != reference)]
    return levels


def _factor_name(factor: str, reference) -> str:
    return f"C({factor})" if reference is None else f"C({factor}, Treatment({reference!r}))"


def treatment_design(data: pd.DataFrame, outcome: str | None, terms: Sequence[tuple[str, ...]],
                     references: Mapping[str, object] | None = None
                     ) -> tuple[np.ndarray | None, np.ndarray, list[Column]]:
    """``y``, ``X`` and the columns of an intercept plus ``terms`` in treatment coding, from the data.

    The one way the library builds a design matrix (the models' fits, the power of the achieved design).
    ``outcome`` None builds the design alone (``y`` None).

    Each term is one factor (a column of ``data``) or two (both factors' columns, then their products,
    patsy's ``a * b``). A factor's levels are :func:`factor_levels`, the first (``references[factor]`` when
    given) dropped. Values are compared as they are: any label (quotes, ``+``, ``~``, non-ASCII) is a level.

    >>> frame = pd.DataFrame({"y": [1.0, 2.0, 3.0], "arm": ["b", "a~1", "c"]})
    >>> [column.name for column in treatment_design(frame, "y", [("arm",)], {"arm": "b"})[2]]
    ['Intercept', "C(arm, Treatment('b'))[T.a~1]", "C(arm, Treatment('b'))[T.c]"]
    """
    references = dict(references or {})
    columns, values = [Column((), (), "Intercept")], [np.ones(len(data))]
    for term in terms:
        dummies = []
        for factor in term:
            reference = references.get(factor)
            levels = factor_levels(data[factor], reference)
            codes, label = _codes(data[factor], levels), _factor_name(factor, reference)
            dummies.append([(Column((factor,), (level,), f"{label}[T.{level}]"), (codes == i).astype(float))
                            for i, level in enumerate(levels) if i > 0])
        for one in dummies:
            columns += [column for column, _ in one]
            values += [value for _, value in one]
        if len(dummies) == 2:
            for second, b in dummies[1]:
                for first, a in dummies[0]:
                    columns.append(Column(first.factors + second.factors, first.levels + second.levels,
                                          f"{first.name}:{second.name}"))
                    values.append(a * b)
    y = None if outcome is None else pd.to_numeric(data[outcome], errors="raise").to_numpy(dtype=float)
    return y, np.column_stack(values), columns


def _codes(values: pd.Series, levels: list) -> np.ndarray:
    """The index of each value in ``levels`` (-1 for a value that is none of them, e.g. missing)."""
    if isinstance(values.dtype, pd.CategoricalDtype) and list(values.cat.categories) == levels:
        return values.cat.codes.to_numpy()
    index = {level: i for i, level in enumerate(levels)}
    return np.array([index.get(value, -1) for value in values.astype(object)], dtype=np.int64)


def readable_term(term: str, column: Column | None = None) -> str:
    """A model term as a reader names it (from its ``column`` when given, whatever its labels).

    >>> readable_term("C(treatment, Treatment('placebo'))[T.ketamine]")
    'ketamine vs placebo'
    >>> readable_term("C(carryover, Treatment('none'))[T.ketamine]"), readable_term("C(sequence)[T.K-P-M]")
    ('carry-over from ketamine', 'sequence K-P-M')
    """
    if column is not None and len(column.factors) == 1:
        factor, level = column.factors[0], column.levels[0]
        return f"carry-over from {level}" if factor == "carryover" else f"{factor} {level}"
    match = re.fullmatch(r"C\(treatment, Treatment\('(.+)'\)\)\[T\.(.+)\]", term)
    if match:
        return f"{match.group(2)} vs {match.group(1)}"
    match = re.fullmatch(r"C\(carryover, Treatment\('none'\)\)\[T\.(.+)\]", term)
    if match:
        return f"carry-over from {match.group(1)}"
    match = re.fullmatch(r"C\((\w+)\)\[T\.(.+)\]", term)
    if match:
        return f"{match.group(1)} {match.group(2)}"
    return term


def model_frame(data: pd.DataFrame, factors) -> pd.DataFrame:
    """A copy of crossover data checked for a model: ``y`` (finite numbers), ``patient_id`` and ``factors``
    present and never missing; ``treatment`` a categorical. Anything else is one ``ValueError`` naming the column
    and rows."""
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame (crossover_frame's output), not {type(data).__name__}")
    needed = ["y", "patient_id", *dict.fromkeys(factors)]
    missing = [column for column in needed if column not in data.columns]
    if missing:
        raise ValueError(f"the data have no column {missing[0]!r} (needed: {', '.join(needed)})")
    frame = data.copy()
    for column in needed:
        empty = frame[column].isna().to_numpy()
        if empty.any():
            rows = [str(label) for label in frame.index[empty][:5]]
            raise ValueError(f"{column} is missing in row(s) {', '.join(rows)} of the data")
    y = pd.to_numeric(frame["y"], errors="coerce")
    bad = (y.isna() | ~np.isfinite(y.astype(float))).to_numpy()
    if bad.any():
        first = frame.index[bad][0]
        raise ValueError(f"y must be a finite number: {frame.at[first, 'y']!r} in row {first} of the data")
    frame["y"] = y.astype(float)
    if not isinstance(frame["treatment"].dtype, pd.CategoricalDtype):
        frame["treatment"] = pd.Categorical(frame["treatment"], categories=factor_levels(frame["treatment"]))
    return frame


def named_notes(core, columns: list[Column]) -> list[str]:
    """The notes of a fit (:class:`~ketapain_lib.stats.lmm_core.RandomInterceptFit`), with dropped (aliased)
    columns named by term as a reader names them, not by index."""
    named = {dropped_note(core.dropped):
             "dropped aliased term(s), not estimable beside the others: "
             + ", ".join(readable_term(columns[i].name, columns[i]) for i in core.dropped)} if core.dropped else {}
    return [named.get(note, note) for note in core.notes]


def design_matrix(formula: str, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``y``, ``X`` and column names of a model formula, as patsy builds them with treatment coding.

    The formulas of the crossover models only, with plain level names: ``y ~ C(a) + C(b, Treatment('ref')) +
    C(c) * C(d)`` (:func:`treatment_design` takes any label). A factor's levels are its categories
    (categoricals) or its sorted values, the reference (first) level dropped; ``*`` adds both factors and
    their products.

    >>> frame = pd.DataFrame({"y": [1.0, 2.0, 3.0], "arm": ["b", "a", "c"]})
    >>> design_matrix("y ~ C(arm, Treatment('b'))", frame)[2]
    ['Intercept', "C(arm, Treatment('b'))[T.a]", "C(arm, Treatment('b'))[T.c]"]
    """
    outcome, rhs = (part.strip() for part in formula.split("~"))
    terms, references = [], {}
    for term in (t.strip() for t in rhs.split("+")):
        factors = []
        for part in (p.strip() for p in term.split("*")):
            match = _FACTOR.fullmatch(part)
            if match is None:
                raise ValueError(f"unsupported model term {part!r} (expected C(name) or C(name, Treatment('level')))")
            factors.append(match.group(1))
            if match.group(3) is not None:
                levels = factor_levels(data[match.group(1)])
                references[match.group(1)] = next((level for level in levels if str(level) == match.group(3)),
                                                  match.group(3))
        terms.append(tuple(factors))
    y, X, columns = treatment_design(data, outcome, terms, references)
    return y, X, [column.name for column in columns]
