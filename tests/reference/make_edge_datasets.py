"""Datasets of the crossover API's edge cases (issue 26), for the R reference ``make_edge_reference.R``.

    python tests/reference/make_edge_datasets.py      # writes edge_*.csv beside this script

Each CSV has one row per observed patient-period: ``patient_id, period, y, treatment, sequence, carryover``.
``carryover`` is the treatment of the previous period of the patient's sequence (``none`` in period 1), the
library's default coding (``previous_treatment``). All are simulated with numpy's default generator, one seed
per dataset: ``y = 50 + treatment effect + period effect + patient effect + error``.

| dataset | design | patients | what it exercises |
| --- | --- | --- | --- |
| ``edge_2x2`` | AB/BA | 7 + 7 | the plain 2x2 |
| ``edge_williams_4x4`` | Williams 4x4 (ABDC, BCAD, CDBA, DACB), four treatments | 3 per sequence | four treatments, six contrasts |
| ``edge_replicate`` | ABBA/BAAB, four periods | 5 + 5 | a replicate design |
| ``edge_unequal`` | AB/BA | 9 + 3 | unequal sequence sizes |
| ``edge_boundary`` | Williams 3x3, six sequences | 2 per sequence | no between-patient variance: the fit is on the boundary |
| ``edge_one_per_sequence`` | Williams 4x4 | 1 per sequence | the patient effect confounded with sequence |
| ``edge_text_periods`` | Williams 3x3, six sequences | 2 per sequence | the test relabels its periods one, two, three |
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WILLIAMS_3 = ["ABC", "ACB", "BCA", "CBA", "CAB", "BAC"]
WILLIAMS_4 = ["ABDC", "BCAD", "CDBA", "DACB"]
DATASETS = {
    # name: (seed, sequences, patients per sequence, treatment effects, patient SD, residual SD)
    "edge_2x2": (2601, ["AB", "BA"], [7, 7], {"A": 0.0, "B": -4.0}, 6.0, 3.0),
    "edge_williams_4x4": (2602, WILLIAMS_4, [3] * 4, {"A": 0.0, "B": -3.0, "C": -1.0, "D": 2.0}, 6.0, 3.0),
    "edge_replicate": (2603, ["ABBA", "BAAB"], [5, 5], {"A": 0.0, "B": -2.5}, 5.0, 3.0),
    "edge_unequal": (2604, ["AB", "BA"], [9, 3], {"A": 0.0, "B": -4.0}, 6.0, 3.0),
    "edge_boundary": (2605, WILLIAMS_3, [2] * 6, {"A": 0.0, "B": -2.0, "C": 1.0}, 0.0, 4.0),
    "edge_one_per_sequence": (2606, WILLIAMS_4, [1] * 4, {"A": 0.0, "B": -3.0, "C": -1.0, "D": 2.0}, 6.0, 3.0),
    "edge_text_periods": (2607, WILLIAMS_3, [2] * 6, {"A": 0.0, "B": -3.0, "C": 1.5}, 6.0, 3.0),
}


def rows(seed: int, sequences: list[str], sizes: list[int], effects: dict[str, float], sd_patient: float,
         sd_residual: float) -> list[tuple]:
    rng = np.random.default_rng(seed)
    out, number = [], 0
    for sequence, size in zip(sequences, sizes):
        for _ in range(size):
            number += 1
            patient = rng.normal(0.0, sd_patient)
            for period, treatment in enumerate(sequence, start=1):
                y = 50.0 + effects[treatment] + 1.0 * (period - 1) + patient + rng.normal(0.0, sd_residual)
                carryover = "none" if period == 1 else sequence[period - 2]
                out.append((f"S{number:02d}", period, f"{y:.6f}", treatment, sequence, carryover))
    return out


def main() -> None:
    for name, spec in DATASETS.items():
        with (HERE / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["patient_id", "period", "y", "treatment", "sequence", "carryover"])
            writer.writerows(rows(*spec))


if __name__ == "__main__":
    main()
