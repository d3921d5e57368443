"""A seeded generator of synthetic KETAPAIN raw data, calibrated to the published summaries.

The real patient-level data are held by the investigators. This module makes
a stand-in with the same schema (:mod:`ketapain_lib.rawdata.schema`) whose summaries
match what the paper publishes, so that every analysis of the report can run
and be checked end to end:

* **Exact counts** (flow, aetiologies, baseline drug classes, adverse events by
  treatment and term, patients with a related event, patients with no event,
  12 of 20 with consecutive ketamine periods) are built in by construction.
* **Continuous targets** (areas under the pain curve, their intraclass
  correlation, pre-infusion pain, years with pain, DN4) are reached by
  drawing a per-patient, per-period target matrix with the published means,
  SDs and intraclass correlation, then generating integer daily diaries whose
  AUCs are pulled onto those targets by a few deterministic correction
  passes. The achieved values and their tolerances are listed by
  :func:`ketapain_lib.synthetic.calibration.calibration_report`.
* **Everything the paper does not publish** (sex ratio, age, weight, height,
  questionnaire levels, the AUCs of maximal and night pain, the day-7 AUC
  with ketamine/magnesium, concomitant changes) follows :data:`ASSUMPTIONS`,
  plausible values for such a population taken from the instruments'
  published norms; they are assumptions, not findings.

Targets are read from the published-results file (:mod:`ketapain_lib.paper.published`),
never typed here. The same seed gives byte-identical files.

Examples
--------
>>> frames = simulate_trial(seed=DEFAULT_SEED)   # doctest: +SKIP
>>> sorted(frames)[:3]                          # doctest: +SKIP
['adverse_events', 'baseline_drugs', 'blinding']

(Four seconds of calibration, so the fast test tier skips this example; the full suite regenerates the shipped
files from the seed and compares them byte for byte, ``tests/test_synthetic_data.py``.)

From the shell::

    python -m ketapain_lib simulate --seed 20150610 --out data/synthetic
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from ..design import SEQUENCES, DIARY_DAYS, KETAMINE_MG_PER_KG, MAGNESIUM_SULFATE_DOSE_MG, PERIOD_DAYS
from ..rawdata.load import SYNTHETIC_MARKER
from ..rawdata.schema import AETIOLOGIES, PERIODS, TABLES, TREATMENT_CODES, TREATMENTS
from ..paper.published import published_value as pv
from .assumptions import ASSUMPTIONS, AUC7_BOUNDS, AUC35_BOUNDS, DEFAULT_SEED  # noqa: F401  (re-exported)
from .domains import (draw_adverse_events, assign_sequences, draw_baseline_drugs, draw_blinding, calibrated_diary, draw_concomitant,
                      draw_missing_masks, draw_patients, draw_preinfusion_pain, draw_questionnaires, draw_screening, exact_counts,
                      target_matrix)


# --------------------------------------------------------------------------- the whole trial

def _auc_targets(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each patient's level and target AUCs (day 35 with LOCF, and day 7), treatments in TREATMENTS order."""
    # SciPy's own paired t test, as when the shipped data were generated
    from scipy import stats

    quantiles = (np.arange(n) + 0.5) / n
    patient_level = rng.permutation(quantiles)
    auc35 = target_matrix(rng, patient_level,
                           np.array([pv(f"auc35_locf_mean_{t}") for t in TREATMENTS]),
                           np.array([pv(f"auc35_locf_sd_{t}") for t in TREATMENTS]),
                           pv("auc35_locf_icc"), AUC35_BOUNDS)
    km7 = ASSUMPTIONS["auc7_mean_sd_ketamine_magnesium"]
    auc7_means = np.array([pv("auc7_mean_placebo"), pv("auc7_mean_ketamine"), km7[0]])
    auc7_sds = np.array([pv("auc7_sd_placebo"), pv("auc7_sd_ketamine"), km7[1]])
    level7 = auc35.mean(axis=1) + 8 * rng.standard_normal(n)
    # the paper's one positive finding is ketamine below placebo at day 7; among a few draws of the
    # within-patient noise, keep the one whose paired ketamine-placebo test is closest to the published P
    target_p = pv("auc7_ketamine_vs_placebo_p")
    best_distance, auc7 = np.inf, None
    for _ in range(ASSUMPTIONS["auc7_draws"]):
        candidate = np.minimum(target_matrix(rng, level7, auc7_means, auc7_sds, pv("auc7_icc"), AUC7_BOUNDS),
                               auc35 - 2)  # the first week cannot hold more than the whole period
        p = stats.ttest_rel(candidate[:, TREATMENTS.index("ketamine")],
                            candidate[:, TREATMENTS.index("placebo")]).pvalue
        if abs(np.log(p / target_p)) < best_distance:
            best_distance, auc7 = abs(np.log(p / target_p)), candidate
    return patient_level, auc35, auc7


def _infusions(rng: np.random.Generator, patients: pd.DataFrame, treatment_of: dict,
               preinfusion: np.ndarray) -> pd.DataFrame:
    rows = []
    for i, pid in enumerate(patients["patient_id"]):
        weight = float(patients.at[i, "weight_kg"])
        study_day = 0
        for period in PERIODS:
            if period > 1:
                study_day += PERIOD_DAYS + int(rng.integers(0, 4))
            t = treatment_of[(pid, period)]
            j = TREATMENTS.index(t)
            rows.append((pid, period, study_day, t, round(KETAMINE_MG_PER_KG * weight, 1) if t != "placebo" else 0.0,
                         MAGNESIUM_SULFATE_DOSE_MG if t == "ketamine_magnesium" else 0, preinfusion[i, j]))
    return pd.DataFrame(rows, columns=list(TABLES["infusions"].column_names))


def _diary(rng: np.random.Generator, ids: list[str], treatment_of: dict, auc7: np.ndarray,
           auc35: np.ndarray) -> pd.DataFrame:
    """Daily average, maximal and night pain, calibrated to each patient's target AUCs, with gaps."""
    n_days = len(DIARY_DAYS)
    cells = [(pid, period) for pid in ids for period in PERIODS]
    phi, noise_sd = ASSUMPTIONS["daily_noise_autocorrelation"], ASSUMPTIONS["daily_noise_sd_points"]
    innovations = rng.standard_normal((len(cells), n_days))
    noise = np.empty_like(innovations)
    noise[:, 0] = innovations[:, 0]
    for d in range(1, n_days):
        noise[:, d] = phi * noise[:, d - 1] + np.sqrt(1 - phi**2) * innovations[:, d]
    noise *= noise_sd
    missing = draw_missing_masks(rng, len(cells))
    max_shift = rng.normal(*ASSUMPTIONS["maximal_minus_average_mean_sd"], len(ids)).clip(0.3, 3)
    night_shift = rng.normal(*ASSUMPTIONS["night_minus_average_mean_sd"], len(ids))
    partial = rng.random((len(cells), n_days, 2)) < ASSUMPTIONS["diary_partial_missing_probability"]
    extra_noise = rng.normal(0, 0.6, (len(cells), n_days, 2))
    rows = []
    for c, (pid, period) in enumerate(cells):
        i, j = ids.index(pid), TREATMENTS.index(treatment_of[(pid, period)])
        average = calibrated_diary(noise[c], missing[c], auc7[i, j], auc35[i, j])
        maximal = np.clip(np.round(average + max_shift[i] + extra_noise[c, :, 0]), average, 10)
        night = np.clip(np.round(average + night_shift[i] + extra_noise[c, :, 1]), 0, 10)
        for day in range(n_days):
            if missing[c, day]:
                values = [None, None, None]
            else:
                values = [int(average[day]),
                          None if partial[c, day, 0] else int(maximal[day]),
                          None if partial[c, day, 1] else int(night[day])]
            rows.append((pid, period, day, *values))
    return pd.DataFrame(rows, columns=list(TABLES["diary"].column_names))


def replays_reconstruction(seed: int, patients: int | None) -> bool:
    """Whether the generator replays the recorded reconstruction for these settings: the trial's own size and
    the default seed (:mod:`ketapain_lib.synthetic.targeting` asks, to know what a dataset was aimed at)."""
    return patients is None and seed == DEFAULT_SEED


def simulate_trial(seed: int = DEFAULT_SEED, patients: int | None = None, dropouts: int = 0,
                  reconstructed: bool = True) -> dict[str, pd.DataFrame]:
    """Generate the whole raw dataset; returns one DataFrame per table of the contract.

    ``patients`` (default: the trial's 20) scales every published count to another size, for tests and
    benchmarks; ``dropouts`` patients then discontinue (:func:`discontinue`). For the trial's own size and the
    default seed, the recorded reconstruction is replayed unless ``reconstructed`` is False
    (:mod:`ketapain_lib.synthetic.reconstruct`). The defaults give the shipped dataset.
    """
    rng = np.random.default_rng(seed)
    replay = reconstructed and replays_reconstruction(seed, patients)  # the trial's own dataset
    n = int(pv("flow_randomized")) if patients is None else int(patients)
    if n < len(SEQUENCES):
        raise ValueError(f"{n} patient(s) cannot hold the design: its {len(SEQUENCES)} sequences need at least "
                         f"{len(SEQUENCES)} patients, one per sequence")
    if not 0 <= dropouts <= n:
        raise ValueError(f"drop-outs must be 0 to the {n} patients, not {dropouts}")
    patients = draw_patients(rng, n)
    ids = patients["patient_id"].tolist()
    patient_level, auc35, auc7 = _auc_targets(rng, n)
    sequences = assign_sequences(rng, auc35)
    randomization = pd.DataFrame({"patient_id": ids, "randomization_number": np.arange(1, n + 1),
                                  "sequence": sequences})
    treatment_of = {(pid, p): TREATMENT_CODES[seq.split("-")[p - 1]] for pid, seq in zip(ids, sequences)
                    for p in PERIODS}
    period_of = {(pid, t): p for (pid, p), t in treatment_of.items()}
    # the order of the draws below is the generator's stream: changing it changes every file
    infusions = _infusions(rng, patients, treatment_of, draw_preinfusion_pain(rng, patient_level))
    diary = _diary(rng, ids, treatment_of, auc7, auc35)
    screening = draw_screening(rng, ids)
    concomitant = draw_concomitant(rng, ids)
    frames = {
        "screening": screening,
        "patients": patients,
        "baseline_drugs": draw_baseline_drugs(rng, ids),
        "randomization": randomization,
        "disposition": pd.DataFrame({"patient_id": ids, "status": "completed", "discontinuation_study_day": None,
                                     "discontinuation_reason": None}),
        "infusions": infusions,
        "diary": diary,
        "questionnaires": draw_questionnaires(rng, ids, patient_level, treatment_of),
        "adverse_events": draw_adverse_events(rng, ids, period_of),
        "concomitant_changes": concomitant,
        "blinding": draw_blinding(rng, ids, treatment_of),
    }
    if replay:
        # the recorded reconstruction (python -m ketapain_lib simulate --reconstruct), replayed
        from .replay import apply_changes, recorded_changes

        changes = recorded_changes()
        frames = frames if changes is None else apply_changes(frames, changes)
    # a stream of its own, so that drop-outs leave every other draw of the dataset as it was
    return discontinue(frames, np.random.default_rng([seed, dropouts]), dropouts) if dropouts else frames


def discontinue(frames: dict[str, pd.DataFrame], rng: np.random.Generator, count: int) -> dict[str, pd.DataFrame]:
    """``count`` patients leave the trial during period 1 or 2: later periods and later diary days are removed.

    A patient who leaves on day ``d`` of a period keeps that period's infusion and diary days 0 to ``d``
    (none when ``d`` is 0), loses its end-of-period questionnaire, and has no later period. The
    disposition records the study day and a reason.
    """
    out = {name: frame.copy() for name, frame in frames.items()}
    infusions = out["infusions"]
    leaving = sorted(rng.choice(out["patients"]["patient_id"].to_numpy(), size=count, replace=False))
    disposition = out["disposition"].set_index("patient_id")
    for pid in leaving:
        last_period = int(rng.integers(1, 3))
        day_in_period = int(rng.integers(0, PERIOD_DAYS))
        start = int(infusions.loc[(infusions["patient_id"] == pid) & (infusions["period"] == last_period),
                                  "study_day"].iloc[0])
        disposition.loc[pid] = ["discontinued", start + day_in_period,
                                str(rng.choice(["adverse_event", "lack_of_efficacy", "withdrew_consent"]))]
        for name in ("infusions", "diary", "adverse_events", "concomitant_changes", "blinding", "questionnaires"):
            frame = out[name]
            period = frame["period"].astype(float)
            later = (frame["patient_id"] == pid) & (period > last_period)
            if name == "diary":
                later |= (frame["patient_id"] == pid) & (period == last_period) & (frame["day"] > day_in_period)
            if name == "questionnaires":
                later |= (frame["patient_id"] == pid) & (period == last_period)
            if name in ("adverse_events", "concomitant_changes"):
                later |= (frame["patient_id"] == pid) & (period == last_period) & (frame["day"] > day_in_period)
            out[name] = frame[~later].reset_index(drop=True)
    out["disposition"] = disposition.reset_index()
    return out


# --------------------------------------------------------------------------- writing

def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:.1f}".rstrip("0").rstrip(".") if not float(value).is_integer() else str(int(value))
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


def rounding_note(patients: int | None) -> str:
    """How the published shares became whole patients at a size other than the trial's ('' at its own size)."""
    trial = int(pv("flow_randomized"))
    if patients is None or int(patients) == trial:
        return ""
    n = int(patients)
    aetiologies = {a: pv(f"aetiology_{a}_pct") for a in AETIOLOGIES if a != "other"}
    counts = exact_counts(aetiologies, n)
    inexact = [f"{a} {counts[a]} ({_cell(float(share))}% of {n} = {_cell(round(share * n / 100, 1))})"
               for a, share in aetiologies.items() if abs(share * n / 100 - counts[a]) > 1e-9]
    text = (f"These files hold {n} patients, not the trial's {trial}: each published count is scaled to {n} "
            "patients and rounded to a whole patient. Shares that add up to 100% (the pain aetiologies) are "
            f"rounded by largest remainder, so that they add up to {n}; other shares (baseline drugs, adverse "
            "events) to the nearest whole patient, halves up; a patient with an event that no rounded term count "
            "covers gets the treatment's most frequent term.")
    return text + (f" Aetiologies not a whole number of patients: {'; '.join(inexact)}.\n\n" if inexact else "\n\n")


def write_dataset(frames: dict[str, pd.DataFrame], out_dir: str | Path, seed: int, patients: int | None = None,
                  dropouts: int = 0) -> list[Path]:
    """Write the tables as CSV (UTF-8, comma, ``\\n`` line ends) plus the synthetic-data marker file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in TABLES.items():
        path = out / table.filename
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(table.column_names)
            for row in frames[name][list(table.column_names)].itertuples(index=False):
                writer.writerow([_cell(v) for v in row])
        written.append(path)
    marker = out / SYNTHETIC_MARKER
    marker.write_text(
        "# Synthetic KETAPAIN data\n\n"
        "These files are **synthetic**: they were made by `ketapain_lib.synthetic.simulate`, calibrated to the\n"
        "summaries published in the KETAPAIN paper, and hold no real patient's data.\n\n"
        f"Regenerate them byte for byte with:\n\n    python -m ketapain_lib simulate --seed {seed}"
        f"{'' if patients is None else f' --patients {patients}'}{f' --dropouts {dropouts}' if dropouts else ''} "
        "--out DIR\n\n"
        f"{rounding_note(patients)}"
        "A real export has the same files without this one.\n", encoding="utf-8")
    written.append(marker)
    return written
