"""The generator's assumptions: what the paper does not publish, and the seed.

Plausible values for such a population, from the instruments' published
norms; they are assumptions, not findings, and the synthetic-data appendix
lists them.
"""
from __future__ import annotations

#: Registration date of the trial (10 June 2015) as the default seed.
DEFAULT_SEED = 20150610

#: Generator parameters that the paper does not publish (plausible norms, said as such).
ASSUMPTIONS: dict[str, object] = {
    "female_share": 0.60,  # neuropathic-pain clinic cohorts are mostly women
    "age_mean_sd_years": (56.0, 12.0),
    "height_mean_sd_cm": {"female": (163.0, 6.0), "male": (176.0, 7.0)},
    "bmi_mean_sd": (26.0, 4.0),
    "dn4_probabilities_4_to_10": (0.25, 0.20, 0.15, 0.12, 0.10, 0.10, 0.08),
    # the paper reports the day-7 AUC for ketamine and placebo only
    "auc7_mean_sd_ketamine_magnesium": (38.0, 23.0),
    # draws of the day-7 within-patient noise among which the closest to the published P is kept
    "auc7_draws": 40,
    # maximal pain sits above the average, night pain slightly below (points on 0-10)
    "maximal_minus_average_mean_sd": (1.5, 0.6),
    "night_minus_average_mean_sd": (-0.4, 1.0),
    "daily_noise_sd_points": 0.8,
    "daily_noise_autocorrelation": 0.6,
    # share of missing diary days rises from the start to the end of a period
    "diary_missing_probability_day1_day35": (0.005, 0.05),
    "diary_partial_missing_probability": 0.01,
    "diary_dropout_periods": 3,
    "preinfusion_pain_patient_correlation": 0.6,
    "blinding_correct_guess_probability": 0.6,
    # questionnaire (mean, SD, rounding decimals) at inclusion, from published norms in chronic pain
    "questionnaires": {
        "bpi_severity": (5.8, 1.5, 1),
        "bpi_interference": (5.5, 2.0, 1),
        "mcgill_total": (20.0, 8.0, 0),
        "npsi_total": (38.0, 17.0, 0),
        "pgic_global": (4.0, 1.0, 0),
        "pgic_pain": (4.0, 1.0, 0),
        "pgic_sleep": (4.0, 1.0, 0),
        "pgic_mood": (4.0, 1.0, 0),
        "pgic_activity": (4.0, 1.0, 0),
        "hads_anxiety": (9.0, 4.0, 0),
        "hads_depression": (8.0, 4.0, 0),
        "sf36_physical": (33.0, 8.0, 1),
        "sf36_mental": (40.0, 11.0, 1),
        "psqi_global": (11.0, 4.0, 0),
    },
    # small benefit of either ketamine infusion on the PGIC sleep item (the paper's discussion)
    "pgic_sleep_ketamine_shift": -0.2,
    "concomitant_changes": (
        ("paracetamol", "paracetamol_nsaid", "added", "dental pain"),
        ("amoxicillin", "antibiotic", "added", "respiratory infection"),
        ("ibuprofen", "paracetamol_nsaid", "added", "joint pain"),
        ("tramadol", "tramadol", "increased", "severe pain"),
    ),
}

#: Williams-type sequences of the three treatments; K and M adjacent unless placebo is in the middle.
AUC35_BOUNDS = (7.0, 343.0)
AUC7_BOUNDS = (2.0, 68.0)
