"""The trial's design and the report's analysis choices: each fact defined once, imported everywhere else.

Facts of the trial (Pickering et al. 2020, Methods) and choices of the report
(where the paper is silent, each with its reason). Nothing else in the
library types a treatment code, a window, a dose or a significance level.

>>> PRIMARY.measure, PRIMARY.last_day, PRIMARY.imputation
('average_pain', 35, 'locf')
>>> REFERENCE_TREATMENT, SEQUENCES[0]
('placebo', 'P-K-M')
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# --------------------------------------------------------------------------- treatments and schedule
#: Treatment codes in the order used by every table and figure; the first is the reference (placebo).
TREATMENTS: tuple[str, ...] = ("placebo", "ketamine", "ketamine_magnesium")
REFERENCE_TREATMENT: str = TREATMENTS[0]
ACTIVE_TREATMENTS: tuple[str, ...] = TREATMENTS[1:]
TREATMENT_LABELS: dict[str, str] = {
    "placebo": "Placebo",
    "ketamine": "Ketamine",
    "ketamine_magnesium": "Ketamine/magnesium",
}
#: One-letter codes used to spell a randomization sequence, e.g. ``P-K-M``.
TREATMENT_CODES: dict[str, str] = {"P": "placebo", "K": "ketamine", "M": "ketamine_magnesium"}
#: The six sequences of the three-period Williams design, in the report's order.
SEQUENCES: tuple[str, ...] = ("P-K-M", "P-M-K", "K-M-P", "M-K-P", "K-P-M", "M-P-K")
PERIODS: tuple[int, ...] = (1, 2, 3)
#: Days between two infusions, and the diary days after each infusion (day 0 = infusion day).
PERIOD_DAYS: int = 35
DIARY_DAYS: tuple[int, ...] = tuple(range(PERIOD_DAYS + 1))

# --------------------------------------------------------------------------- doses
KETAMINE_MG_PER_KG: float = 0.5
#: Relative deviation of a recorded ketamine dose from 0.5 mg/kg that the validator still accepts.
KETAMINE_DOSE_TOLERANCE: float = 0.10
MAGNESIUM_SULFATE_DOSE_MG: int = 3000

# --------------------------------------------------------------------------- endpoints
PAIN_MEASURES: tuple[str, ...] = ("average_pain", "maximal_pain", "night_pain")
#: Ends of the AUC windows (days after the infusion) of the paper's Table 2.
AUC_WINDOWS: tuple[int, ...] = (7, 15, 21, 28, 35)
#: Windows of the paper's Figure 4 (patients improved at day 7 and day 35).
FIGURE4_WINDOWS: tuple[int, ...] = (7, 35)
Imputation = Literal["locf", "none"]
#: How the report's tables name each diary measure and each handling of missing diary days.
MEASURE_LABELS: dict[str, str] = {"average_pain": "Average pain", "maximal_pain": "Maximal pain",
                                  "night_pain": "Night pain"}
IMPUTATION_LABELS: dict[str, str] = {"none": "days as recorded", "locf": "missing days carried forward (LOCF)"}


@dataclass(frozen=True)
class Endpoint:
    """An AUC endpoint: a diary measure, the last day of its window and how gaps are filled."""

    measure: str
    last_day: int
    imputation: Imputation


#: The primary endpoint: AUC of daily average pain over the whole period, gaps filled by LOCF.
PRIMARY = Endpoint("average_pain", PERIOD_DAYS, "locf")
#: The paper's one positive secondary result: the first week, without imputation.
DAY7 = Endpoint("average_pain", 7, "none")

# --------------------------------------------------------------------------- rules
#: A patient responds (is "improved") when mean daily pain over the window is at least this fraction below
#: the pain before the infusion: the usual threshold of a moderate, clinically important change in chronic pain.
RESPONSE_THRESHOLD: float = 0.30
#: Further thresholds shown in "beyond the paper" (30% moderate, 50% substantial improvement).
RESPONDER_THRESHOLDS: tuple[float, ...] = (0.30, 0.50)

# --------------------------------------------------------------------------- inference
#: Two-sided type I error of every test, as in the paper.
ALPHA: float = 0.05
#: Confidence level of every interval.
CI_LEVEL: float = 0.95
Method = Literal["ML", "REML"]
#: How the carry-over term of the paper's model codes the previous period's treatment:
#: ``"placebo_carries_nothing"`` ("none" in period 1 and after placebo) or ``"previous_treatment"``
#: (each previous treatment its own level, placebo included, "none" only in period 1: Stata's ``pkshape``).
CarryoverCoding = Literal["placebo_carries_nothing", "previous_treatment"]
CARRYOVER_CODING: CarryoverCoding = "previous_treatment"
#: Estimation of the report's mixed models: maximum likelihood with Wald tests, as Stata 13's ``mixed`` (the paper).
REPORT_METHOD: Method = "ML"
#: The small-sample analysis shown beside it: REML, with Kenward-Roger (and Satterthwaite) degrees of freedom.
SMALL_SAMPLE_METHOD: Method = "REML"
#: The ledger's class of a published number nothing aimed at (the synthetic data's targeting; the paper's conclusions
#: read it to say what a test on synthetic data rests on).
NOT_TARGETED = "not targeted"
