"""Publication tables: great_tables reading and writing cells through ``iat`` gives the same tables."""
from __future__ import annotations

import pandas as pd
import pytest

from ketapain_lib.report import publication
from ketapain_lib.report.publication import Layout, publication_table

FRAMES = {
    "plain": (pd.DataFrame({"score": ["BPI <severity>", "HADS & anxiety", "NPSI"], "Placebo": ["1.0", "nan", "3"],
                            "omnibus_p": ["0.012", "<0.001", ""]}), Layout()),
    "grouped": (pd.DataFrame({"measure": ["average_pain"] * 5 + ["night_pain"] * 5,
                              "last_day": [str(d) for d in range(10)], "p": ["0.5"] * 10}), Layout()),
    "stub and notes": (pd.DataFrame({"comparison": ["a vs b", "c vs d"], "estimate": ["-1.2", "3.4"],
                                     "ci_low": ["-2", "1"], "ci_high": ["0", "5"]}),
                       Layout(stub="comparison", spanners=(("95% CI", ("ci_low", "ci_high")),),
                              footnotes=(("Wald interval.", ("95% CI",)), ("Unmarked.", ())))),
}


def _tables() -> dict[str, str]:
    return {name: publication_table(f"t{i}", "Table 1", "A caption.", frame, {"Placebo": 20},
                                    ("Source: a test.",), layout)
            for i, (name, (frame, layout)) in enumerate(FRAMES.items())}


def test_cells_through_iat_give_the_tables_great_tables_gives_itself():
    from great_tables import _tbl_data  # imported by the test that needs it, not by every worker's collection

    fast = _tables()
    assert publication._CELL_ACCESS, "the scalar cell access is in place after a table"
    original_get, original_set = publication._CELL_ACCESS[0]
    ours = _tbl_data._get_cell.dispatch(pd.DataFrame), _tbl_data._set_cell.dispatch(pd.DataFrame)
    assert ours != (original_get, original_set)
    try:
        _tbl_data._get_cell.register(pd.DataFrame, original_get)
        _tbl_data._set_cell.register(pd.DataFrame, original_set)
        slow = _tables()
    finally:
        _tbl_data._get_cell.register(pd.DataFrame, ours[0])
        _tbl_data._set_cell.register(pd.DataFrame, ours[1])
    assert fast == slow
    assert "BPI &lt;severity&gt;" in fast["plain"]  # escaped as great_tables escapes


def test_a_repeated_column_name_is_refused_as_great_tables_refuses_it():
    frame = pd.DataFrame([["1", "2"]], columns=["p", "p"])
    with pytest.raises(ValueError):
        publication._position(frame, "p")
