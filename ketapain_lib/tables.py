"""Tables of the report, as DataFrames ready to display or export.

So far: the data dictionary (generated from :mod:`ketapain_lib.schema`, so it
cannot drift from the contract the loader enforces) and the calibration
tables of the synthetic data.
"""
from __future__ import annotations

import pandas as pd

from .schema import SCORES, TABLES, Column


def _values(column: Column) -> str:
    if column.allowed:
        return ", ".join(column.allowed)
    if column.value_range:
        low, high = (int(v) if float(v).is_integer() else v for v in column.value_range)
        return f"{low} to {high}"
    return ""


def data_dictionary() -> pd.DataFrame:
    """One row per column of every raw-data file: type, unit, allowed values, whether it may be empty.

    >>> data_dictionary().query("file == 'diary.csv' and column == 'day'")["values"].item()
    '0 to 35'
    """
    rows = []
    for table in TABLES.values():
        for column in table.columns:
            rows.append({
                "file": table.filename,
                "column": column.name,
                "type": column.kind,
                "unit": column.unit,
                "values": _values(column),
                "may be empty": "yes" if column.nullable else "no",
                "key": "yes" if column.name in table.key else "",
                "description": column.description,
            })
    return pd.DataFrame(rows)


def file_dictionary() -> pd.DataFrame:
    """One row per raw-data file: what a row is and the columns that identify it."""
    return pd.DataFrame([{"file": t.filename, "one row per": t.description, "key": ", ".join(t.key),
                          "may have no rows": "yes" if t.may_be_empty else "no"} for t in TABLES.values()])


def score_dictionary() -> pd.DataFrame:
    """The questionnaire scores of ``questionnaires.csv``: instrument, valid range, visits."""
    return pd.DataFrame([{
        "score": s.name, "instrument": s.instrument,
        "range": f"{s.value_range[0]:g} to {s.value_range[1]:g}",
        "whole numbers": "yes" if s.integer else "no (decimals allowed)",
        "collected at": ", ".join(s.visits), "description": s.description,
    } for s in SCORES])


def assumptions_table() -> pd.DataFrame:
    """The generator's parameters that the paper does not publish, one row each."""
    from .simulate import ASSUMPTIONS

    rows = []
    for name, value in ASSUMPTIONS.items():
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                rows.append({"assumption": f"{name}: {sub}", "value": str(subvalue)})
        elif isinstance(value, tuple) and value and isinstance(value[0], tuple):
            rows += [{"assumption": name, "value": ", ".join(map(str, v))} for v in value]
        else:
            rows.append({"assumption": name, "value": str(value)})
    return pd.DataFrame(rows)
