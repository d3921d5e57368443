"""The generator's parts, one per domain of the raw data (patients, sequences, diaries, questionnaires, events).

Each part draws from the generator's one random stream in the order that
:func:`ketapain_lib.synthetic.simulate.simulate_trial` calls it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import derive
from ..paper.published import published_value as pv
from ..rawdata.schema import (
    AE_TERMS,
    AETIOLOGIES,
    DRUG_CLASSES,
    PERIODS,
    RELATED_LEVELS,
    SCORES,
    TABLES,
    TREATMENTS,
)

from ..design import SEQUENCES
from .assumptions import ASSUMPTIONS


# --------------------------------------------------------------------------- helpers

def exact_counts(shares_pct: dict[str, float], n: int) -> dict[str, int]:
    """Published percentages as whole numbers of ``n`` patients (exact when they are, as for the trial's 20).

    Shares that add up to 100% (a partition, e.g. the pain aetiologies) are rounded by largest remainder, so
    the counts add up to ``n``: each gets the whole part of its share, then the patients left go to the
    largest fractional parts (ties: the order of ``shares_pct``). Other shares (a patient may have several,
    e.g. baseline drugs) are rounded each to the nearest whole patient, halves up.

    >>> exact_counts({"a": 45, "b": 35, "c": 10, "d": 5, "e": 5}, 30)
    {'a': 14, 'b': 11, 'c': 3, 'd': 1, 'e': 1}
    """
    exact = {key: share * n / 100 for key, share in shares_pct.items()}
    if abs(sum(shares_pct.values()) - 100) > 1e-9:
        return {key: int(np.floor(value + 0.5 + 1e-9)) for key, value in exact.items()}
    counts = {key: int(np.floor(value + 1e-9)) for key, value in exact.items()}
    by_remainder = sorted(exact, key=lambda key: -(exact[key] - counts[key]))    # stable: ties keep their order
    for key in by_remainder[:n - sum(counts.values())]:
        counts[key] += 1
    return counts


def anova_icc(matrix: np.ndarray) -> float:
    """Intraclass correlation of a complete patients x treatments matrix (two-way ANOVA, consistency).

    ICC = (MS_patients - MS_error) / (MS_patients + (k - 1) MS_error); for
    balanced complete data this equals the REML estimate of a random-intercept
    model with treatment as a fixed effect, when positive.
    """
    n, k = matrix.shape
    grand = matrix.mean()
    ss_patients = k * ((matrix.mean(axis=1) - grand) ** 2).sum()
    ss_treatments = n * ((matrix.mean(axis=0) - grand) ** 2).sum()
    ss_error = ((matrix - grand) ** 2).sum() - ss_patients - ss_treatments
    ms_patients = ss_patients / (n - 1)
    ms_error = ss_error / ((n - 1) * (k - 1))
    return float((ms_patients - ms_error) / (ms_patients + (k - 1) * ms_error))


def target_matrix(rng: np.random.Generator, patient_level: np.ndarray, means: np.ndarray, sds: np.ndarray,
                   icc: float, bounds: tuple[float, float]) -> np.ndarray:
    """A patients x treatments matrix with exact column means and SDs and the given ICC.

    ``patient_level`` sets each patient's rank; the within-patient spread is
    tuned by bisection until the ANOVA ICC hits ``icc``.
    """
    within = rng.standard_normal((len(patient_level), len(means)))
    base = (patient_level - patient_level.mean()) / patient_level.std(ddof=1)

    def build(scale: float) -> np.ndarray:
        # columns as contiguous rows: each row's mean and SD are summed exactly as a 1-D column's would be,
        # so the result is the column-by-column standardization's, bit for bit, in one call per pass
        rows = np.ascontiguousarray((base[:, None] + scale * within).T)
        for _ in range(20):  # standardize, clip into bounds, repeat until stable
            previous = rows
            rows = means[:, None] + sds[:, None] * (rows - rows.mean(axis=1, keepdims=True)) / rows.std(
                axis=1, ddof=1, keepdims=True)
            rows = np.clip(rows, *bounds)
            if np.array_equal(rows, previous):  # a fixed point: the remaining passes would change nothing
                break
        return np.ascontiguousarray(rows.T)

    low, high = 0.0, 2.0
    for _ in range(60):
        middle = (low + high) / 2
        if anova_icc(build(middle)) > icc:
            low = middle
        else:
            high = middle
    return build((low + high) / 2)


# --------------------------------------------------------------------------- the domains

def draw_patients(rng: np.random.Generator, n: int) -> pd.DataFrame:
    ids = [f"P{i:0{max(2, len(str(n)))}d}" for i in range(1, n + 1)]
    n_female = int(round(ASSUMPTIONS["female_share"] * n))
    sex = np.array(["female"] * n_female + ["male"] * (n - n_female))
    rng.shuffle(sex)
    age_mean, age_sd = ASSUMPTIONS["age_mean_sd_years"]
    age = np.clip(np.round(rng.normal(age_mean, age_sd, n)), 25, 85).astype(int)
    heights = np.array([rng.normal(*ASSUMPTIONS["height_mean_sd_cm"][s]) for s in sex]).round().astype(int)
    bmi = rng.normal(*ASSUMPTIONS["bmi_mean_sd"], n).clip(18.5, 40)
    weight = np.round(bmi * (heights / 100) ** 2, 1)

    aetiology_counts = exact_counts({a: pv(f"aetiology_{a}_pct") for a in AETIOLOGIES if a != "other"}, n)
    aetiology = np.array([a for a, c in aetiology_counts.items() for _ in range(c)])
    rng.shuffle(aetiology)

    # years with pain: sorted values whose 25th, 50th and 75th percentiles equal the published ones
    # whatever the quantile definition, because the neighbouring order statistics are equal
    q1, median, q3 = pv("pain_years_q1"), pv("pain_years_median"), pv("pain_years_q3")
    years = np.sort(np.round(np.exp(rng.normal(np.log(median), 0.9, n))).clip(1, 40))
    lo, mid, hi = (int(np.floor(p * (n - 1))) for p in (0.25, 0.5, 0.75))
    for start, stop, low, high in ((0, lo, 1, q1), (lo, lo + 2, q1, q1), (lo + 2, mid, q1, median),
                                   (mid, mid + 2, median, median), (mid + 2, hi, median, q3),
                                   (hi, hi + 2, q3, q3), (hi + 2, n, q3, 40)):
        years[start:stop] = np.clip(years[start:stop], low, high)
    years = years.astype(int)
    rng.shuffle(years)

    dn4_p = np.array(ASSUMPTIONS["dn4_probabilities_4_to_10"])
    for _ in range(10_000):
        dn4 = rng.choice(np.arange(4, 11), size=n, p=dn4_p / dn4_p.sum())
        if abs(dn4.mean() - pv("dn4_mean")) < 0.25 and abs(dn4.std(ddof=1) - pv("dn4_sd")) < 0.25:
            break
    return pd.DataFrame({
        "patient_id": ids, "sex": sex, "age_years": age, "weight_kg": weight, "height_cm": heights,
        "pain_duration_years": years, "pain_aetiology": aetiology, "dn4_score": dn4,
    })


def draw_baseline_drugs(rng: np.random.Generator, ids: list[str]) -> pd.DataFrame:
    counts = exact_counts({d: pv(f"drug_{d}_pct") for d in DRUG_CLASSES}, len(ids))
    rows = [(pid, drug) for drug, count in counts.items() for pid in rng.choice(ids, size=count, replace=False)]
    order = {d: i for i, d in enumerate(DRUG_CLASSES)}
    return pd.DataFrame(sorted(rows, key=lambda r: (r[0], order[r[1]])), columns=["patient_id", "drug_class"])


def _sequence_pool(n: int, n_consecutive: int) -> list[str]:
    consecutive, placebo_between = SEQUENCES[:4], SEQUENCES[4:]
    pool = [consecutive[i % 4] for i in range(n_consecutive)]
    pool += [placebo_between[i % 2] for i in range(n - n_consecutive)]
    return pool


def assign_sequences(rng: np.random.Generator, auc35: np.ndarray) -> list[str]:
    """Give each patient a sequence so that the consecutive-ketamine groups resemble the published ones."""
    n = len(auc35)
    pool = np.array(_sequence_pool(n, scaled_count("consecutive_n", n)))
    ketamine_sum = auc35[:, TREATMENTS.index("ketamine")] + auc35[:, TREATMENTS.index("ketamine_magnesium")]
    targets = {"consecutive": (pv("consecutive_auc_mean"), pv("consecutive_auc_sd")),
               "nonconsecutive": (pv("nonconsecutive_auc_mean"), pv("nonconsecutive_auc_sd"))}
    best, best_loss = None, np.inf
    for _ in range(3000):
        candidate = rng.permutation(pool)
        is_consecutive = np.array([s.split("-")[1] != "P" for s in candidate])
        loss = 0.0
        for group, mask in (("consecutive", is_consecutive), ("nonconsecutive", ~is_consecutive)):
            mean, sd = targets[group]
            loss += ((ketamine_sum[mask].mean() - mean) / 25) ** 2 + ((ketamine_sum[mask].std(ddof=1) - sd) / 40) ** 2
        if loss < best_loss:
            best, best_loss = candidate, loss
    return list(best)


def _diary_for_cell(noise: np.ndarray, early: float, late: float) -> np.ndarray:
    """Integer daily average pain (days 0-35) from an early level (days 0-7) and a late level (days 8-35)."""
    days = np.arange(36)
    blend = np.clip((days - 6) / 4, 0, 1)  # eases from the first-week level to the late level over days 6-10
    return np.clip(np.round(early + (late - early) * blend + noise), 0, 10)


def _auc_from_values(values: np.ndarray, missing: np.ndarray, last_day: int, locf: bool) -> float:
    series = np.where(missing, np.nan, values)[: last_day + 1]
    if locf:
        filled = pd.Series(series).ffill().bfill().to_numpy()
        return derive.trapezoid_auc(np.arange(last_day + 1), filled)
    return derive.trapezoid_auc(np.arange(last_day + 1), series)


def calibrated_diary(noise: np.ndarray, missing: np.ndarray, target7: float, target35: float) -> np.ndarray:
    """Daily average pain whose AUC(0-7, no imputation) and AUC(0-35, LOCF) approach the targets."""
    early, late = target7 / 7, (target35 - target7) / 28
    best, best_error = None, np.inf
    for _ in range(40):
        values = _diary_for_cell(noise, early, late)
        got7 = _auc_from_values(values, missing, 7, locf=False)
        got35 = _auc_from_values(values, missing, 35, locf=True)
        error = abs(got7 - target7) / 7 + abs(got35 - target35) / 35
        if error < best_error:
            best, best_error = values, error
        if abs(got7 - target7) <= 0.5 and abs(got35 - target35) <= 0.5:
            break
        early += 0.7 * (target7 - got7) / 7
        late += 0.7 * ((target35 - got35) - (target7 - got7)) / 28
    return best


def draw_missing_masks(rng: np.random.Generator, n_cells: int) -> np.ndarray:
    """Missing-entry indicator per cell and day (day 0 is filled at the centre, never missing)."""
    start, end = ASSUMPTIONS["diary_missing_probability_day1_day35"]
    probability = np.concatenate([[0.0], np.linspace(start, end, 35)])
    tendency = rng.gamma(2.0, 0.5, n_cells)  # some patients forget more often than others
    mask = rng.random((n_cells, 36)) < probability[None, :] * tendency[:, None]
    for cell in rng.choice(n_cells, size=ASSUMPTIONS["diary_dropout_periods"], replace=False):
        mask[cell, 36 - int(rng.integers(1, 4)):] = True  # the last one to three days never filled in
    return mask


def draw_preinfusion_pain(rng: np.random.Generator, patient_level: np.ndarray) -> np.ndarray:
    n = len(patient_level)
    rho = ASSUMPTIONS["preinfusion_pain_patient_correlation"]
    z_patient = (patient_level - patient_level.mean()) / patient_level.std()
    tolerance = 0.25
    for _ in range(20_000):
        z = rho * z_patient[:, None] + np.sqrt(1 - rho**2) * rng.standard_normal((n, 3))
        values = np.column_stack([
            np.clip(np.round(pv(f"preinfusion_pain_mean_{t}") + pv(f"preinfusion_pain_sd_{t}") * z[:, j]), 0, 10)
            for j, t in enumerate(TREATMENTS)])
        if all(abs(values[:, j].mean() - pv(f"preinfusion_pain_mean_{t}")) < tolerance
               and abs(values[:, j].std(ddof=1) - pv(f"preinfusion_pain_sd_{t}")) < tolerance
               for j, t in enumerate(TREATMENTS)):
            return values.astype(int)
    raise RuntimeError("could not draw pre-infusion pain within tolerance")


def draw_questionnaires(rng: np.random.Generator, ids: list[str], patient_level: np.ndarray,
                    treatment_of: dict[tuple[str, int], str]) -> pd.DataFrame:
    z_patient = (patient_level - patient_level.mean()) / patient_level.std()
    rows = []
    for score in SCORES:
        mean, sd, decimals = ASSUMPTIONS["questionnaires"][score.name]
        low, high = score.value_range
        # worse pain goes with worse scores, except SF-36 where higher is better
        sign = -1.0 if score.name.startswith("sf36") else 1.0
        link = 0.0 if score.instrument == "PGIC" else 0.5
        trait = rng.standard_normal(len(ids))
        for i, pid in enumerate(ids):
            person = mean + sd * (sign * link * z_patient[i] + np.sqrt(1 - link**2) * trait[i]) * 0.8
            visits = [("inclusion", None)] if "inclusion" in score.visits else []
            visits += [("end_of_period", p) for p in PERIODS]
            for visit, period in visits:
                value = person + sd * 0.6 * rng.standard_normal()
                if score.name == "pgic_sleep" and period is not None and treatment_of[(pid, period)] != "placebo":
                    value += ASSUMPTIONS["pgic_sleep_ketamine_shift"]
                value = float(np.clip(np.round(value, decimals), low, high))
                rows.append((pid, visit, period, score.name, value))
    frame = pd.DataFrame(rows, columns=["patient_id", "visit", "period", "score", "value"])
    return frame


def draw_adverse_events(rng: np.random.Generator, ids: list[str],
                    period_of: dict[tuple[str, str], int]) -> pd.DataFrame:
    """Events whose patient counts by treatment and term, relatedness and no-event count are the published ones."""
    n = len(ids)
    n_none = scaled_count("ae_none_n", n)
    term_counts = {t: {term: int(round(pv(f"ae_pct_{t}_{term}") * n / 100))
                       for term in AE_TERMS if _has(f"ae_pct_{t}_{term}")} for t in TREATMENTS}
    related_n = {t: scaled_count(f"ae_related_{t}_n", n) for t in TREATMENTS}
    # patients with any event under each treatment: at least the largest term and the related count
    sizes = {t: max(max(term_counts[t].values()), related_n[t]) for t in TREATMENTS}
    # a few patients with only unrelated events (1, 2 and 1 of the published 20)
    for t, extra in (("placebo", 1), ("ketamine", 2), ("ketamine_magnesium", 1)):
        sizes[t] = min(sizes[t] + max(1, round(extra * n / pv("flow_randomized"))), n - n_none)
    with_event = list(rng.choice(ids, size=n - n_none, replace=False))
    uncovered = list(with_event)
    rng.shuffle(uncovered)
    members: dict[str, list[str]] = {}
    for t in sorted(TREATMENTS, key=lambda t: -sizes[t]):
        take = uncovered[: sizes[t]]
        uncovered = uncovered[len(take):]
        others = [p for p in with_event if p not in take]
        take += list(rng.choice(others, size=sizes[t] - len(take), replace=False))
        members[t] = take
    if uncovered:
        raise RuntimeError("adverse-event construction left patients without an event")

    rows = []
    for t in TREATMENTS:
        patients = members[t]
        terms_of: dict[str, list[str]] = {p: [] for p in patients}
        for term, count in sorted(term_counts[t].items(), key=lambda kv: -kv[1]):
            bare = [p for p in patients if not terms_of[p]]
            rest = [p for p in patients if terms_of[p]]
            rng.shuffle(bare)
            rng.shuffle(rest)
            for p in (bare + rest)[:count]:
                terms_of[p].append(term)
        # at sizes other than the trial's, the rounded term counts may not cover every patient with an event
        # under t: those get t's most frequent term (no draw, so the trial's own stream is unchanged)
        commonest = max(term_counts[t].items(), key=lambda kv: kv[1])[0]
        for p in patients:
            terms_of[p] = terms_of[p] or [commonest]
        related = set(rng.choice(patients, size=related_n[t], replace=False))
        for p in patients:
            for term in terms_of[p]:
                relatedness = str(rng.choice(RELATED_LEVELS)) if p in related else "unrelated"
                rows.append([p, period_of[(p, t)], int(rng.integers(0, 2)), term, relatedness, "no"])
    rows.sort(key=lambda r: (r[0], r[1], AE_TERMS.index(r[3])))
    frame = pd.DataFrame(rows, columns=["patient_id", "period", "day", "term", "relatedness", "serious"])
    width = max(3, len(str(len(frame))))
    frame.insert(0, "event_id", [f"AE{i:0{width}d}" for i in range(1, len(frame) + 1)])
    return frame


def scaled_count(key: str, n: int) -> int:
    """A published count of patients, scaled from the trial's size to ``n`` patients (itself when n is the trial's).

    >>> scaled_count("consecutive_n", 20), scaled_count("consecutive_n", 200)
    (12, 120)
    """
    return int(round(pv(key) * n / pv("flow_randomized")))


def _has(key: str) -> bool:
    try:
        pv(key)
        return True
    except KeyError:
        return False


def draw_blinding(rng: np.random.Generator, ids: list[str], treatment_of: dict) -> pd.DataFrame:
    n = len(ids)
    low, high = pv("blinding_do_not_know_min_pct"), pv("blinding_do_not_know_max_pct")
    # the first period is the hardest to guess; by the third, patients have felt the infusions
    shares = {1: high, 2: round((low + high) / 2 / 5) * 5, 3: low}
    rows = []
    for period in PERIODS:
        unsure = set(rng.choice(ids, size=int(round(shares[period] * n / 100)), replace=False))
        for pid in ids:
            truth = treatment_of[(pid, period)]
            if pid in unsure:
                guess = "do_not_know"
            elif rng.random() < ASSUMPTIONS["blinding_correct_guess_probability"]:
                guess = truth
            else:
                guess = str(rng.choice([t for t in TREATMENTS if t != truth]))
            rows.append((pid, period, guess))
    return pd.DataFrame(sorted(rows), columns=["patient_id", "period", "guess"])


def draw_screening(rng: np.random.Generator, ids: list[str]) -> pd.DataFrame:
    outcomes = (["refused"] * scaled_count("flow_refused", len(ids))
                + ["ineligible"] * scaled_count("flow_ineligible", len(ids)))
    n_screened = len(ids) + len(outcomes)
    width = max(2, len(str(n_screened)))
    slots = sorted(rng.choice(n_screened, size=len(outcomes), replace=False))
    reasons = {"refused": "declined to take part", "ineligible": "did not meet the inclusion criteria"}
    rows, next_patient = [], iter(ids)
    for k in range(n_screened):
        if k in slots:
            outcome = outcomes[slots.index(k)]
            rows.append((f"S{k + 1:0{width}d}", outcome, None, reasons[outcome]))
        else:
            rows.append((f"S{k + 1:0{width}d}", "randomized", next(next_patient), None))
    return pd.DataFrame(rows, columns=list(TABLES["screening"].column_names))


def draw_concomitant(rng: np.random.Generator, ids: list[str]) -> pd.DataFrame:
    rows = []
    for drug, drug_class, change, reason in ASSUMPTIONS["concomitant_changes"]:
        rows.append((str(rng.choice(ids)), int(rng.integers(1, 4)), int(rng.integers(1, 35)), drug, drug_class,
                     change, reason))
    rows.sort()
    return pd.DataFrame(rows, columns=list(TABLES["concomitant_changes"].column_names))
