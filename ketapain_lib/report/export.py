"""Write every table (CSV), figure (PNG and SVG) and the ledger of the report, without building the book.

    python -m ketapain_lib export --out DIR [--data DIR]

The same inputs give byte-identical files: stable row order, fixed float
format, no timestamps in the figures.
"""
from __future__ import annotations

from dataclasses import astuple
from pathlib import Path

import pandas as pd

from ..stats import analyses
from ..stats import derive
from . import figures
from ..provenance import ledger
from . import tables
from ..design import FIGURE4_WINDOWS, PRIMARY, REPORT_METHOD
from ..provenance.calibration import calibration_report
from ..rawdata.load import Trial

FLOAT_FORMAT = "%.10g"


def export_all(trial: Trial, out: str | Path) -> list[Path]:
    """Write the report's tables, figures and ledger into ``out``; return the paths written, sorted."""
    out = Path(out)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    results = analyses.all_analyses(trial)
    auc_long = results["auc_long"]
    preinfusion = derive.preinfusion_pain(trial.infusions)

    frames: dict[str, pd.DataFrame] = {
        "table1_characteristics": tables.table1(trial),
        "table2_auc": results["auc_table"],
        "table3_questionnaires": results["questionnaires"],
        "table4_concomitant_changes": tables.table4(trial),
        "adverse_events": tables.adverse_event_table(trial),
        "adverse_events_relatedness": tables.relatedness_table(trial),
        "adverse_events_model": results["adverse_events"]["fixed_effects"],
        "primary_descriptives": results["primary"]["descriptives"],
        "primary_model": results["primary"]["summary"],
        "primary_pairwise": results["primary"]["pairwise"],
        "primary_interaction": results["primary"]["interaction"],
        "primary_model_comparison": results["model_comparison"],
        "preinfusion_pain": results["preinfusion"],
        "consecutive_ketamine": results["consecutive"],
        "improvement_counts": results["improvement"],
        "missing_diary": results["missing_diary"],
        "sample_size": results["sample_size"],
        "auc_all": auc_long,
        "calibration": calibration_report(trial),
        "data_dictionary": tables.data_dictionary(),
    }
    written = []
    for name, frame in frames.items():
        path = out / "tables" / f"{name}.csv"
        frame.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
        written.append(path)
    path = out / "ledger.csv"
    ledger.ledger(trial, results).to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    written.append(path)

    day = {d: auc_long.query(f"measure == '{PRIMARY.measure}' and last_day == {d} and imputation == 'locf'")
           for d in FIGURE4_WINDOWS}
    from ..stats.crossover import crossover_frame, fit_crossover

    primary_data = crossover_frame(derive.auc(trial.diary, *astuple(PRIMARY)), trial.infusions,
                                   trial.randomization)
    drawn = {
        "figure1_flow": figures.flow_diagram(trial),
        "figure2_daily_pain": figures.daily_pain(trial),
        "figure3_auc_windows": figures.auc_by_timepoint(auc_long),
        "figure4a_patients_day7": figures.patient_auc(auc_long, 7, derive.improvement(day[7], preinfusion, 7),
                                                      imputation="locf"),
        "figure4b_patients_day35": figures.patient_auc(auc_long, 35, derive.improvement(day[35], preinfusion, 35),
                                                       imputation="locf"),
        "primary_residuals_qq": figures.residual_qq(fit_crossover(primary_data, "paper", REPORT_METHOD)),
    }
    for name, figure in drawn.items():
        for suffix, render in (("png", figures.to_png), ("svg", figures.to_svg)):
            path = out / "figures" / f"{name}.{suffix}"
            path.write_bytes(render(figure))
            written.append(path)
    return sorted(written)
