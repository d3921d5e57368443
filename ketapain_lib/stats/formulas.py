"""Model formulas to design matrices: the treatment-coded terms of the crossover models, without patsy's overhead.

patsy builds a design matrix through generic machinery whose cost, at 2,000 patients, is ten times that of
the mixed-model fit itself. The crossover models need one kind of term only (categorical factors in
treatment coding, and the product of two), so :func:`design_matrix` builds them directly; the tests check
that every formula of the report gives patsy's matrix, column for column and name for name.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

_FACTOR = re.compile(r"C\((\w+)(?:, Treatment\((['\"])(.*?)\2\))?\)")


def design_matrix(formula: str, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``y``, ``X`` and column names of a model formula, as patsy builds them with treatment coding.

    The formulas of the crossover models only: ``y ~ C(a) + C(b, Treatment('ref')) + C(c) * C(d)``. A
    factor's levels are its categories (categoricals) or its sorted values, the reference (first) level
    dropped; ``*`` adds both factors and their products.

    >>> frame = pd.DataFrame({"y": [1.0, 2.0, 3.0], "arm": ["b", "a", "c"]})
    >>> design_matrix("y ~ C(arm, Treatment('b'))", frame)[2]
    ['Intercept', "C(arm, Treatment('b'))[T.a]", "C(arm, Treatment('b'))[T.c]"]
    """
    outcome, terms = (part.strip() for part in formula.split("~"))
    names, columns = ["Intercept"], [np.ones(len(data))]
    for term in (t.strip() for t in terms.split("+")):
        factors = [_dummies(part.strip(), data) for part in term.split("*")]
        for factor in factors:
            names += list(factor)
            columns += list(factor.values())
        if len(factors) == 2:
            for (first, a), (second, b) in ((x, y) for y in factors[1].items() for x in factors[0].items()):
                names.append(f"{first}:{second}")
                columns.append(a * b)
    return data[outcome].to_numpy(dtype=float), np.column_stack(columns), names


def _dummies(factor: str, data: pd.DataFrame) -> dict[str, np.ndarray]:
    match = _FACTOR.fullmatch(factor)
    if match is None:
        raise ValueError(f"unsupported model term {factor!r} (expected C(name) or C(name, Treatment('level')))")
    values = data[match.group(1)]
    levels = list(values.cat.categories) if isinstance(values.dtype, pd.CategoricalDtype) else \
        sorted(pd.unique(values))
    if match.group(3) is not None:
        levels = [match.group(3), *(level for level in levels if str(level) != match.group(3))]
    as_array = values.to_numpy()
    return {f"{factor}[T.{level}]": (as_array == level).astype(float) for level in levels[1:]}
