"""Publication tables: great_tables escapes every cell, and a table comes out the same every time."""
from __future__ import annotations

import pandas as pd

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


def test_tables_escape_their_cells_and_come_out_the_same_twice():
    first = _tables()
    assert "BPI &lt;severity&gt;" in first["plain"] and "HADS &amp; anxiety" in first["plain"]
    assert first == _tables()
