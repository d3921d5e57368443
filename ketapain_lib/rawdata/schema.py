"""The raw-data contract of the KETAPAIN trial, in machine-readable form.

One CSV file per domain, UTF-8, comma-separated, one header line, long format.
Patients are identified by a pseudonymous id (``P01`` … ``P20``); time is
expressed in study days (day 0 = first infusion) or in days since the
infusion of a period, never in calendar dates. No names, initials or dates of
birth are part of the contract.

Everything that reads or documents the raw data goes through :data:`TABLES`:
the loader and validator (:mod:`ketapain_lib.rawdata.load`), the synthetic-data
generator (:mod:`ketapain_lib.synthetic.simulate`) and the data-dictionary page of the
book (:func:`ketapain_lib.report.tables.data_dictionary`). The contract therefore
cannot drift from its documentation.

Examples
--------
>>> from ketapain_lib.rawdata.schema import TABLES
>>> TABLES["diary"].columns[3].name, TABLES["diary"].columns[3].value_range
('average_pain', (0, 10))
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["string", "integer", "decimal", "category"]

# the design's facts the contract refers to (defined once, in ketapain_lib.design)
from ..design import DIARY_DAYS, PERIODS, TREATMENT_CODES, TREATMENT_LABELS, TREATMENTS  # noqa: F401

AETIOLOGIES = ("surgery", "radiculopathy", "trauma", "diabetes", "chemotherapy", "other")
DRUG_CLASSES = (
    "antidepressant",
    "antiepileptic",
    "paracetamol_nsaid",
    "anxiolytic",
    "nefopam",
    "tramadol",
    "fentanyl",
    "adjuvant",
)
AE_TERMS = (
    "fatigue",
    "nausea",
    "vomiting",
    "dizziness",
    "feeling_drunk",
    "insomnia",
    "hypertension",
    "headache",
    "hot_flushes",
    "breathing_difficulty",
)
DISPOSITION_STATUSES = ("completed", "discontinued")
DISCONTINUATION_REASONS = ("adverse_event", "lack_of_efficacy", "withdrew_consent", "lost_to_follow_up",
                           "protocol_deviation", "other")
RELATEDNESS = ("unrelated", "possible", "probable", "certain")
#: Relatedness levels that make an adverse event "treatment-related" in the paper.
RELATED_LEVELS = ("possible", "probable", "certain")


@dataclass(frozen=True)
class Score:
    """A questionnaire score: its name, instrument, valid range and meaning."""

    name: str
    instrument: str
    value_range: tuple[float, float]
    integer: bool
    description: str
    #: visits at which the score is collected: "inclusion" and/or "end_of_period"
    visits: tuple[str, ...] = ("inclusion", "end_of_period")


SCORES: tuple[Score, ...] = (
    Score("bpi_severity", "BPI", (0, 10), False, "Brief Pain Inventory, pain severity (mean of 4 items, 0 = no pain)"),
    Score("bpi_interference", "BPI", (0, 10), False, "Brief Pain Inventory, pain interference (mean of 7 items, 0 = none)"),
    Score("mcgill_total", "McGill", (0, 45), True, "Short-form McGill Pain Questionnaire, total (sensory + affective) score"),
    Score("npsi_total", "NPSI", (0, 100), True, "Neuropathic Pain Symptom Inventory, total intensity score"),
    Score("pgic_global", "PGIC", (1, 7), True,
          "Patient Global Impression of Change, global (1 = very much improved, 4 = no change, 7 = very much worse)",
          ("end_of_period",)),
    Score("pgic_pain", "PGIC", (1, 7), True, "PGIC sub-item: pain intensity (same 1-7 scale)", ("end_of_period",)),
    Score("pgic_sleep", "PGIC", (1, 7), True, "PGIC sub-item: sleep disturbance (same 1-7 scale)", ("end_of_period",)),
    Score("pgic_mood", "PGIC", (1, 7), True, "PGIC sub-item: mood (same 1-7 scale)", ("end_of_period",)),
    Score("pgic_activity", "PGIC", (1, 7), True, "PGIC sub-item: daily activities (same 1-7 scale)", ("end_of_period",)),
    Score("hads_anxiety", "HADS", (0, 21), True, "Hospital Anxiety and Depression scale, anxiety subscale"),
    Score("hads_depression", "HADS", (0, 21), True, "Hospital Anxiety and Depression scale, depression subscale"),
    Score("sf36_physical", "SF-36", (0, 100), False, "SF-36 physical component summary (norm-based, population mean 50)"),
    Score("sf36_mental", "SF-36", (0, 100), False, "SF-36 mental component summary (norm-based, population mean 50)"),
    Score("psqi_global", "PSQI", (0, 21), True, "Pittsburgh Sleep Quality Index, global score (higher = worse sleep)"),
)
SCORE_BY_NAME: dict[str, Score] = {s.name: s for s in SCORES}
#: How a table names each instrument (its row group) and each score (its row).
INSTRUMENT_NAMES: dict[str, str] = {
    "BPI": "Brief Pain Inventory (BPI)", "McGill": "Short-form McGill Pain Questionnaire",
    "NPSI": "Neuropathic Pain Symptom Inventory (NPSI)", "PGIC": "Patient Global Impression of Change (PGIC)",
    "HADS": "Hospital Anxiety and Depression scale (HADS)", "SF-36": "Short Form 36 Health Survey (SF-36)",
    "PSQI": "Pittsburgh Sleep Quality Index (PSQI)"}
SCORE_LABELS: dict[str, str] = {
    "bpi_severity": "Pain severity (0-10)", "bpi_interference": "Pain interference (0-10)",
    "mcgill_total": "Total score (0-45)", "npsi_total": "Total intensity (0-100)",
    "pgic_global": "Global (1-7)", "pgic_pain": "Pain intensity (1-7)", "pgic_sleep": "Sleep (1-7)",
    "pgic_mood": "Mood (1-7)", "pgic_activity": "Daily activities (1-7)", "hads_anxiety": "Anxiety (0-21)",
    "hads_depression": "Depression (0-21)", "sf36_physical": "Physical component", "sf36_mental": "Mental component",
    "psqi_global": "Global score (0-21)"}
VISITS = ("inclusion", "end_of_period")


@dataclass(frozen=True)
class Column:
    """One column of a raw-data file.

    ``value_range`` is inclusive; ``allowed`` lists the codes of a category
    column in their reporting order; ``nullable`` says whether an empty cell
    is a legitimate missing value.
    """

    name: str
    kind: Kind
    description: str
    unit: str = ""
    nullable: bool = False
    value_range: tuple[float, float] | None = None
    allowed: tuple[str, ...] | None = None
    #: (table, column) this column must match, for referential integrity
    references: tuple[str, str] | None = None


@dataclass(frozen=True)
class Table:
    """One raw-data file: its columns, primary key and row-count expectations."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    #: an export may legitimately have no row (e.g. no concomitant change)
    may_be_empty: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


PATIENT = Column("patient_id", "string", "Pseudonymous patient identifier (P01, P02, ...)",
                 references=("patients", "patient_id"))
PERIOD = Column("period", "integer", "Treatment period (1-3), in the order the infusions were given",
                value_range=(1, 3))

TABLES: dict[str, Table] = {}


def _register(table: Table) -> Table:
    TABLES[table.name] = table
    return table


_register(Table(
    "screening",
    "Every person screened for the trial and the outcome of screening (flow diagram).",
    (
        Column("screening_id", "string", "Screening log number (S01, S02, ...)"),
        Column("screening_outcome", "category", "Outcome of the selection visit",
               allowed=("randomized", "refused", "ineligible")),
        Column("patient_id", "string", "Patient id given at randomization; empty if not randomized",
               nullable=True, references=("patients", "patient_id")),
        Column("reason", "string", "Reason for non-inclusion, free text; empty if randomized", nullable=True),
    ),
    key=("screening_id",),
))

_register(Table(
    "patients",
    "One row per randomized patient: demographics and pain history at inclusion.",
    (
        Column("patient_id", "string", "Pseudonymous patient identifier (P01, P02, ...)"),
        Column("sex", "category", "Sex", allowed=("female", "male")),
        Column("age_years", "integer", "Age at inclusion", "years", value_range=(18, 100)),
        Column("weight_kg", "decimal", "Body weight at inclusion", "kg", value_range=(30, 200)),
        Column("height_cm", "integer", "Height at inclusion", "cm", value_range=(120, 220)),
        Column("pain_duration_years", "integer", "Time since onset of the neuropathic pain", "years",
               value_range=(0, 80)),
        Column("pain_aetiology", "category", "Cause of the peripheral neuropathic pain", allowed=AETIOLOGIES),
        Column("dn4_score", "integer", "DN4 neuropathic pain questionnaire at inclusion (>= 4 required)", "points",
               value_range=(4, 10)),
    ),
    key=("patient_id",),
))

_register(Table(
    "baseline_drugs",
    "Drug classes taken at inclusion, one row per patient and class (absent row = class not taken).",
    (
        PATIENT,
        Column("drug_class", "category", "Analgesic or psychotropic drug class", allowed=DRUG_CLASSES),
    ),
    key=("patient_id", "drug_class"),
    may_be_empty=True,
))

_register(Table(
    "randomization",
    "Randomization list as allocated: one row per randomized patient.",
    (
        PATIENT,
        Column("randomization_number", "integer", "Number on the pharmacy's randomization list",
               value_range=(1, 99999)),
        Column("sequence", "category",
               "Order of the three treatments, one letter per period: P placebo, K ketamine, "
               "M ketamine + magnesium sulfate",
               allowed=("P-K-M", "P-M-K", "K-P-M", "K-M-P", "M-P-K", "M-K-P")),
    ),
    key=("patient_id",),
))

_register(Table(
    "disposition",
    "How each randomized patient left the trial: completed the three periods, or discontinued (when and why). "
    "A discontinued patient has the periods begun before discontinuation, and no later ones.",
    (
        PATIENT,
        Column("status", "category", "completed (all three periods) or discontinued", allowed=DISPOSITION_STATUSES),
        Column("discontinuation_study_day", "integer",
               "Study day of discontinuation (day 0 = first infusion); empty if completed", "days", nullable=True,
               value_range=(0, 200)),
        Column("discontinuation_reason", "category", "Main reason for discontinuation; empty if completed",
               nullable=True, allowed=DISCONTINUATION_REASONS),
    ),
    key=("patient_id",),
))

_register(Table(
    "infusions",
    "One row per patient and period: the infusion actually given and the pain just before it.",
    (
        PATIENT,
        PERIOD,
        Column("study_day", "integer", "Day of the infusion (day 0 = first infusion of the patient)", "days",
               value_range=(0, 200)),
        Column("treatment", "category", "Treatment infused", allowed=TREATMENTS),
        Column("ketamine_dose_mg", "decimal", "Ketamine infused (0.5 mg/kg over 2 h, 0 with placebo)", "mg",
               value_range=(0, 100)),
        Column("magnesium_sulfate_dose_mg", "integer", "Magnesium sulfate infused (3,000 mg over 30 min or 0)", "mg",
               value_range=(0, 3000)),
        Column("preinfusion_pain", "integer", "Average pain on the day of infusion, before it (0-10 NRS)",
               "points", value_range=(0, 10)),
    ),
    key=("patient_id", "period"),
))

_register(Table(
    "diary",
    "Daily pain diary: one row per patient, period and day after infusion; an empty cell is a missing entry.",
    (
        PATIENT,
        PERIOD,
        Column("day", "integer", "Days since the infusion of the period (0 = infusion day)", "days",
               value_range=(0, 35)),
        Column("average_pain", "integer", "Average pain of the day (0-10 NRS)", "points", nullable=True,
               value_range=(0, 10)),
        Column("maximal_pain", "integer", "Maximal pain of the day (0-10 NRS)", "points", nullable=True,
               value_range=(0, 10)),
        Column("night_pain", "integer", "Night pain (0-10 NRS)", "points", nullable=True, value_range=(0, 10)),
    ),
    key=("patient_id", "period", "day"),
))

_register(Table(
    "questionnaires",
    "Questionnaire scores, one row per patient, visit and score; inclusion visit and end of each period.",
    (
        PATIENT,
        Column("visit", "category", "inclusion (14 days before the first infusion) or end_of_period (day 35)",
               allowed=VISITS),
        Column("period", "integer", "Period whose end the visit closes; empty at inclusion", nullable=True,
               value_range=(1, 3)),
        Column("score", "category", "Score name (see the questionnaire scores table)",
               allowed=tuple(s.name for s in SCORES)),
        Column("value", "decimal", "Score value, within the score's valid range", "points"),
    ),
    key=("patient_id", "visit", "period", "score"),
))

_register(Table(
    "adverse_events",
    "Adverse events collected by phone the day after each infusion; one row per event.",
    (
        Column("event_id", "string", "Adverse event number (AE001, ...)"),
        PATIENT,
        PERIOD,
        Column("day", "integer", "Day of onset after the infusion", "days", value_range=(0, 35)),
        Column("term", "category", "Adverse event term", allowed=AE_TERMS),
        Column("relatedness", "category", "Investigator's causality assessment", allowed=RELATEDNESS),
        Column("serious", "category", "Serious adverse event", allowed=("no", "yes")),
    ),
    key=("event_id",),
    may_be_empty=True,
))

_register(Table(
    "concomitant_changes",
    "Changes in concomitant treatment reported in the diary during the trial (the paper's table 4).",
    (
        PATIENT,
        PERIOD,
        Column("day", "integer", "Day after the infusion the change started", "days", value_range=(0, 35)),
        Column("drug", "string", "Drug taken (international non-proprietary name)"),
        Column("drug_class", "category", "Class of the drug",
               allowed=DRUG_CLASSES + ("antibiotic", "corticosteroid", "other")),
        Column("change", "category", "Kind of change", allowed=("added", "increased", "decreased", "stopped")),
        Column("reason", "string", "Reason given by the patient"),
    ),
    key=("patient_id", "period", "day", "drug"),
    may_be_empty=True,
))

_register(Table(
    "blinding",
    "End-of-trial blinding question: for each period, the treatment the patient believes they received.",
    (
        PATIENT,
        PERIOD,
        Column("guess", "category", "Treatment guessed, or do_not_know",
               allowed=TREATMENTS + ("do_not_know",)),
    ),
    key=("patient_id", "period"),
))
