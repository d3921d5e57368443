"""Write the simulated crossover datasets of the extended R reference (run once; the CSVs are committed).

Pure numpy/pandas, seeded: ``python tests/reference/make_datasets_extra.py`` rewrites the same bytes.
The real published datasets of the extended reference are written by ``make_datasets_real.R``.

Every file has one row per *observed* patient-period, sorted by patient and period, with the columns
``patient_id, period, y, treatment, sequence, carryover, carryover_stata``:

* ``sequence``: the patient's randomized order of treatments, letters joined by ``-`` (e.g. ``M-P-K``);
* ``carryover``: the project's coding (``ketapain_lib.stats.crossover.crossover_frame``): the treatment of the
  previous period, ``none`` in period 1 *and* after the reference treatment (placebo assumed inert);
* ``carryover_stata``: Stata's ``pkshape`` coding: the treatment of the previous period whatever it is
  (the reference included), ``none`` only in period 1.

Both carry-over columns come from the *schedule* (the sequence), not from the observed rows, so a period
whose outcome is missing still sets the carry-over of the next observed period.

Datasets (model: y = mu + treatment + period + carry-over(previous treatment, reference inert)
+ patient N(0, sd_patient^2) + residual N(0, sd_residual^2)):

* ``sim_williams_missing``: placebo/ketamine/ketamine_magnesium, Williams design (all 6 sequences,
  4 patients each, 24 patients); 5 patients observed in 1 period only, 4 in 2 periods (drop-outs after
  period 1 or 2, an intermittent missing period 2, a missing period 1). AUC-like scale (~250).
* ``sim_unbalanced_abc``: treatments A/B/C (reference A), Williams sequences with very unequal
  numbers of patients (7, 1, 4, 2, 5, 3), complete data.
* ``sim_near_zero_between``: control/drug_x/drug_y (reference control), 3-sequence Latin square,
  18 patients, between-patient SD 0 in the simulation: the fitted patient variance is at (or next to)
  the boundary, i.e. a singular fit.
* ``sim_large_scale``: placebo/ketamine/ketamine_magnesium, Williams design, 18 patients, outcome ~1e4.
* ``sim_small_scale``: placebo/drug_x/drug_y, Williams design, 18 patients, outcome ~2e-3
  (different names with a placebo: the reference is still ``placebo``).
* ``sim_2x2_missing``: 2x2 (AB/BA) crossover placebo/drug_x, sequences P-X (8) and X-P (6), two
  patients without a period-2 outcome; with Stata's carry-over coding and the sequence term the
  model is rank deficient (carry-over is aliased with sequence x period).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
COLUMNS = ["patient_id", "period", "y", "treatment", "sequence", "carryover", "carryover_stata"]


@dataclass
class Design:
    name: str
    seed: int
    letters: dict[str, str]          # treatment -> letter used in the sequence label
    reference: str                   # the inert treatment of the project's carry-over coding
    sequences: list[tuple[str, ...]]  # as letters, e.g. ("P", "K", "M")
    counts: list[int]                # patients per sequence
    mu: float
    effects: dict[str, float]        # treatment effects (reference 0)
    period_effects: list[float]
    carry_effects: dict[str, float]  # effect of the previous period's treatment
    sd_patient: float
    sd_residual: float
    decimals: int
    missing: dict[int, list[int]] = field(default_factory=dict)  # patient index -> missing periods


def williams3(letters: str) -> list[tuple[str, ...]]:
    """The 6 sequences of a 3-treatment Williams design (both 3x3 Latin squares), sorted."""
    a, b, c = letters
    return sorted([(a, b, c), (b, c, a), (c, a, b), (a, c, b), (c, b, a), (b, a, c)])


def simulate(design: Design) -> pd.DataFrame:
    rng = np.random.default_rng(design.seed)
    by_letter = {letter: treatment for treatment, letter in design.letters.items()}
    rows = []
    index = 0
    width = len(str(sum(design.counts)))
    for sequence, count in zip(design.sequences, design.counts):
        label = "-".join(sequence)
        for _ in range(count):
            index += 1
            patient = f"S{index:0{width}d}"
            b = rng.normal(0.0, design.sd_patient)
            previous = None
            for period, letter in enumerate(sequence, start=1):
                treatment = by_letter[letter]
                e = rng.normal(0.0, design.sd_residual)  # drawn even when missing: fixed stream per design
                y = (design.mu + design.effects.get(treatment, 0.0) + design.period_effects[period - 1]
                     + (design.carry_effects.get(previous, 0.0) if previous else 0.0) + b + e)
                if period not in design.missing.get(index, []):
                    rows.append({
                        "patient_id": patient, "period": period, "y": round(float(y), design.decimals),
                        "treatment": treatment, "sequence": label,
                        "carryover": "none" if previous in (None, design.reference) else previous,
                        "carryover_stata": "none" if previous is None else previous,
                    })
                previous = treatment
    return pd.DataFrame(rows, columns=COLUMNS)


PKM = {"placebo": "P", "ketamine": "K", "ketamine_magnesium": "M"}

DESIGNS = [
    Design("sim_williams_missing", 20240101, PKM, "placebo", williams3("KMP"), [4] * 6,
           mu=250.0, effects={"ketamine": -25.0, "ketamine_magnesium": -35.0}, period_effects=[0.0, -8.0, -12.0],
           carry_effects={"ketamine": 6.0, "ketamine_magnesium": 4.0}, sd_patient=60.0, sd_residual=25.0,
           decimals=1,
           # 1 period only: 2, 7, 13 (drop-out after period 1), 19 (periods 1, 2 missing), 24 (periods 1, 3 missing);
           # 2 periods: 4, 10 (drop-out after period 2), 16 (period 2 missing), 22 (period 1 missing)
           missing={2: [2, 3], 7: [2, 3], 13: [2, 3], 19: [1, 2], 24: [1, 3],
                    4: [3], 10: [3], 16: [2], 22: [1]}),
    Design("sim_unbalanced_abc", 20240202, {"A": "A", "B": "B", "C": "C"}, "A", williams3("ABC"),
           [7, 1, 4, 2, 5, 3], mu=40.0, effects={"B": 3.0, "C": -2.0}, period_effects=[0.0, 1.5, 2.5],
           carry_effects={"B": 1.0, "C": -1.0}, sd_patient=6.0, sd_residual=3.0, decimals=2),
    Design("sim_near_zero_between", 20240303, {"control": "C", "drug_x": "X", "drug_y": "Y"}, "control",
           [("C", "X", "Y"), ("X", "Y", "C"), ("Y", "C", "X")], [6, 6, 6],
           mu=10.0, effects={"drug_x": 1.0, "drug_y": 0.5}, period_effects=[0.0, 0.3, -0.2],
           carry_effects={}, sd_patient=0.0, sd_residual=1.5, decimals=3),
    Design("sim_large_scale", 20240404, PKM, "placebo", williams3("KMP"), [3] * 6,
           mu=12000.0, effects={"ketamine": -900.0, "ketamine_magnesium": -1400.0},
           period_effects=[0.0, -300.0, -500.0], carry_effects={"ketamine": 250.0, "ketamine_magnesium": 150.0},
           sd_patient=2500.0, sd_residual=700.0, decimals=0),
    Design("sim_small_scale", 20240505, {"placebo": "P", "drug_x": "X", "drug_y": "Y"}, "placebo",
           williams3("PXY"), [3] * 6, mu=2.0e-3, effects={"drug_x": -2.5e-4, "drug_y": 1.5e-4},
           period_effects=[0.0, 5e-5, 1e-4], carry_effects={"drug_x": 5e-5, "drug_y": -3e-5},
           sd_patient=4e-4, sd_residual=2e-4, decimals=8),
    Design("sim_2x2_missing", 20240606, {"placebo": "P", "drug_x": "X"}, "placebo", [("P", "X"), ("X", "P")],
           [8, 6], mu=50.0, effects={"drug_x": -6.0}, period_effects=[0.0, -2.0], carry_effects={"drug_x": 1.0},
           sd_patient=8.0, sd_residual=5.0, decimals=1, missing={3: [2], 12: [2]}),
]


def main() -> None:
    for design in DESIGNS:
        frame = simulate(design)
        frame.to_csv(HERE / f"{design.name}.csv", index=False)
        print(f"{design.name}: {frame['patient_id'].nunique()} patients, {len(frame)} rows")


if __name__ == "__main__":
    main()
