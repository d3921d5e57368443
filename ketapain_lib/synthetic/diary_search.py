"""The diary search of the reconstruction: integer moves on the calibrated diaries until the model-based
published numbers are met too (driven by :mod:`ketapain_lib.synthetic.reconstruct`).

The generator (:mod:`ketapain_lib.synthetic.simulate`) calibrates means, SDs, counts and ICCs; the paper's
model-based numbers (the omnibus and pairwise P values, the effect sizes and their CIs, the day-7 result)
depend on the within-patient structure it does not target. In the spirit of SPRITE (Heathers et al. 2018),
this search starts from the calibrated data and changes one daily average-pain entry by one point at a time
(an observed entry, within 0-10, the maximal pain raised with it when needed), keeping a move only when it
brings the published numbers closer, until every targeted number prints as published or the time budget
ends. Each evaluation fits the paper's model, as the report does, on the day-35 AUC (missing days carried
forward) and on the day-7 AUC (no imputation).

It is seeded and deterministic: the same seed and budget give the same moves.

>>> [target.key for target in targets()][:2]
['auc35_locf_mean_placebo', 'auc35_locf_sd_placebo']
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..design import ALPHA, DAY7, DIARY_DAYS, PRIMARY, REPORT_METHOD, TREATMENTS
from ..stats import crossover, derive, lmm_core, small_sample
from ..stats.descriptives import shapiro_wilk
from ..stats.crossover import Z_CI, PAIRS, sidak
from ..paper.published import PAIR_KEYS, published_precision, published_results, published_value
from ..paper.audit_structure import unreachable
from .sprite import hinge_loss

#: Seconds the offline search may run (the issue allows ten minutes on two cores).
BUDGET_SECONDS = 480.0
#: Seconds the continuous stage usually takes (the scale of its progress bar).
PLAN_SECONDS = 240.0


@dataclass(frozen=True)
class Target:
    key: str
    value: float
    tolerance: float


def targets(excluded: frozenset[str] = frozenset()) -> list[Target]:
    """The published numbers the search aims at, with their printed precision (less ``excluded``)."""
    keys = [f"auc35_locf_{stat}_{t}" for t in TREATMENTS for stat in ("mean", "sd")]
    keys += ["auc35_locf_omnibus_p", "auc35_locf_icc"]
    keys += [f"auc35_es_{stem}{suffix}" for stem in PAIR_KEYS.values() for suffix in ("", "_lo", "_hi", "_p")]
    keys += [f"auc7_{stat}_{t}" for t in ("ketamine", "placebo") for stat in ("mean", "sd")]
    keys += ["auc7_omnibus_p", "auc7_ketamine_vs_placebo_p", "auc7_icc"]
    keys += ["consecutive_auc_sd", "nonconsecutive_auc_sd"]
    found = [Target(key, published_value(key), published_precision(key)) for key in keys if key not in excluded]
    # the groups' means cannot both be met with the treatments' means (see the audit): they are kept within the
    # generator's calibration tolerance instead of their printed precision
    calibration = published_results()["calibration_tolerance"]
    return found + [Target(key, published_value(key), float(calibration[key]))
                    for key in ("consecutive_auc_mean", "nonconsecutive_auc_mean")]


# --------------------------------------------------------------------------- the diaries as arrays

def _normality_p(core, y: np.ndarray, model: dict) -> float:
    """Shapiro-Wilk P of the conditional residuals, as :meth:`CrossoverFit.residual_normality` computes it."""
    marginal = y - model["X"][:, model["kept"]] @ core.beta
    codes = model["codes"]
    counts = np.bincount(codes).astype(float)
    s2_b = core.s2_patient if math.isfinite(core.s2_patient) else 0.0
    shrunk = s2_b * np.bincount(codes, marginal) / (core.s2_residual + counts * s2_b)
    return float(shapiro_wilk(np.sort(marginal - shrunk[codes]))[1])


def _aucs(values: np.ndarray) -> dict[str, np.ndarray]:
    """The searched AUCs of each row of a (cells x days) diary array, by the report's rules (:func:`derive.auc_by_day`)."""
    return {"auc35": derive.auc_by_day(values, PRIMARY.imputation)[:, PRIMARY.last_day],
            "auc7": derive.auc_by_day(values, DAY7.imputation)[:, DAY7.last_day]}


class Reconstruction:
    """The state of the search: the diaries of average and maximal pain, and the model fits to redo.

    :meth:`values` refits the paper's model with the design of the first fit (the same
    :func:`~ketapain_lib.stats.lmm_core.fit_random_intercept` the report calls, without rebuilding the
    formula), so a value here is the value the report prints.
    """

    def __init__(self, trial):
        self.trial = trial
        diary = trial.diary.sort_values(["patient_id", "period", "day"])
        self.cells = list(dict.fromkeys(zip(diary["patient_id"].astype(str), diary["period"].astype(int))))
        shape = (len(self.cells), len(DIARY_DAYS))
        index = {cell: i for i, cell in enumerate(self.cells)}
        rows = np.array([index[(p, q)] for p, q in zip(diary["patient_id"].astype(str), diary["period"].astype(int))])
        days = diary["day"].astype(int).to_numpy()
        self.average = np.full(shape, np.nan)
        self.maximal = np.full(shape, np.nan)
        self.average[rows, days] = diary[PRIMARY.measure].astype(float).to_numpy()
        self.maximal[rows, days] = diary["maximal_pain"].astype(float).to_numpy()
        self.models = {}
        for name, endpoint in (("auc35", PRIMARY), ("auc7", DAY7)):
            auc = derive.auc(trial.diary, *(endpoint.measure, endpoint.last_day, endpoint.imputation),
                             periods=trial.infusions)
            frame = crossover.crossover_frame(auc, trial.infusions, trial.randomization, outcome="auc")
            frame = frame.dropna(subset=["y"]).reset_index(drop=True)
            order = np.array([index[(str(p), int(q))] for p, q in zip(frame["patient_id"], frame["period"])])
            template = crossover.fit_crossover(frame, "paper", REPORT_METHOD)
            kept = list(template.core.kept)
            codes, _ = pd.factorize(frame["patient_id"], sort=True)
            self.models[name] = {
                "X": template.X, "order": order, "groups": frame["patient_id"].astype(str).to_numpy(),
                "codes": codes, "kept": kept,
                "rows": {t: (frame["treatment"].astype(str) == t).to_numpy() for t in TREATMENTS},
                "omnibus": template._treatment_rows(),
                "contrasts": {f"{a} vs {b}": template._contrast(a, b)[kept] for a, b in template.pairs}}
        consecutive = derive.consecutive_ketamine(trial.randomization)
        ketamine = [[index[(str(p), int(q))] for (p, q), t in self._treatments(trial).items()
                     if p == patient and t != "placebo"] for patient in consecutive.index.astype(str)]
        self.ketamine_cells = np.array(ketamine)  # each patient's two ketamine cells
        self.consecutive = consecutive.to_numpy(dtype=bool)
        self.unreachable = unreachable(trial.randomization)
        self.targets = targets(frozenset(self.unreachable))

    @staticmethod
    def _treatments(trial) -> dict[tuple[str, int], str]:
        infusions = trial.infusions
        return {(str(p), int(q)): str(t) for p, q, t in
                zip(infusions["patient_id"], infusions["period"], infusions["treatment"])}

    def aucs(self) -> dict[str, np.ndarray]:
        return _aucs(self.average)

    def values(self, aucs: dict[str, np.ndarray] | None = None) -> dict[str, float]:
        """The targeted numbers, computed as the report computes them (:mod:`ketapain_lib.paper.reproduce`),
        for the current diaries or for given AUCs by cell."""
        aucs, out = self.aucs() if aucs is None else aucs, {}
        for name in ("auc35", "auc7"):
            model = self.models[name]
            y = aucs[name][model["order"]]
            prefix = "auc35_locf" if name == "auc35" else "auc7"
            for treatment, rows in model["rows"].items():
                out[f"{prefix}_mean_{treatment}"] = float(y[rows].mean())
                out[f"{prefix}_sd_{treatment}"] = float(y[rows].std(ddof=1))
            core = lmm_core.fit_random_intercept(y, model["X"], model["groups"], reml=REPORT_METHOD == "REML")
            out[f"{name}_log_scale"] = float(_normality_p(core, y, model) < ALPHA)
            out[f"{prefix}_omnibus_p"] = float(small_sample.wald_chi2(core, model["omnibus"])["p"])
            total = core.s2_patient + core.s2_residual
            out[f"{prefix}_icc"] = float(core.s2_patient / total)
            scale = math.sqrt(2 * core.s2_residual)  # the effect sizes' scale (CrossoverFit.pairwise)
            for comparison, vector in model["contrasts"].items():
                estimate = float(vector @ core.beta)
                se = float(np.sqrt(vector @ core.cov_beta @ vector))
                p = float(2 * stats.norm.sf(abs(estimate / se)))
                if name == "auc35":
                    stem = PAIR_KEYS[comparison]
                    out[f"auc35_es_{stem}"] = estimate / scale
                    out[f"auc35_es_{stem}_lo"] = (estimate - Z_CI * se) / scale
                    out[f"auc35_es_{stem}_hi"] = (estimate + Z_CI * se) / scale
                    out[f"auc35_es_{stem}_p"] = p
                elif comparison == "ketamine vs placebo":
                    out["auc7_ketamine_vs_placebo_p"] = float(sidak(p, len(PAIRS)))
        sums = aucs["auc35"][self.ketamine_cells].sum(axis=1)  # each patient's two ketamine AUCs
        out["consecutive_auc_sd"] = float(sums[self.consecutive].std(ddof=1))
        out["nonconsecutive_auc_sd"] = float(sums[~self.consecutive].std(ddof=1))
        out["consecutive_auc_mean"] = float(sums[self.consecutive].mean())
        out["nonconsecutive_auc_mean"] = float(sums[~self.consecutive].mean())
        return out

    def residuals(self, values: dict[str, float]) -> np.ndarray:
        """Each target's distance in units of its printed precision."""
        return np.array([(values[t.key] - t.value) / t.tolerance for t in self.targets])

    def loss(self, values: dict[str, float]) -> float:
        """Zero when every target prints as published (:func:`ketapain_lib.synthetic.sprite.hinge_loss`)."""
        return hinge_loss(self.residuals(values), values["auc35_log_scale"] + values["auc7_log_scale"])

    def unmet(self, values: dict[str, float]) -> list[str]:
        return [t.key for t in self.targets if abs(values[t.key] - t.value) > t.tolerance]

    # ------------------------------------------------------------------ moves
    def try_move(self, cell: int, day: int, step: int) -> tuple | None:
        """Change one observed entry by ``step`` (maximal pain raised with it if needed); None if not allowed."""
        value = self.average[cell, day]
        if np.isnan(value) or not 0 <= value + step <= 10:
            return None
        maximal = self.maximal[cell, day]
        raise_maximal = not np.isnan(maximal) and value + step > maximal
        if raise_maximal and maximal + 1 > 10:
            return None
        self.average[cell, day] = value + step
        if raise_maximal:
            self.maximal[cell, day] = maximal + 1
        return cell, day, step, raise_maximal

    def undo(self, move: tuple) -> None:
        cell, day, step, raised = move
        self.average[cell, day] -= step
        if raised:
            self.maximal[cell, day] -= 1

    def realize(self, cell: int, target35: float, target7: float) -> list[tuple]:
        """One-point moves on one cell's diary until its two AUCs reach the targets (or no move helps): the
        first week's entries for the day-7 AUC, the later days for the rest of the day-35 AUC."""
        moves = []
        for window, target, auc in ((range(0, DAY7.last_day + 1), target7, "auc7"),
                                    (range(DAY7.last_day + 1, PRIMARY.last_day + 1), target35, "auc35")):
            for _ in range(400):
                now = self._cell_aucs(cell)[auc]
                if not np.isfinite(target) or abs(now - target) < 0.25:
                    break
                step = 1 if target > now else -1
                best = None
                for day in window:
                    move = self.try_move(cell, day, step)
                    if move is None:
                        continue
                    gap = abs(self._cell_aucs(cell)[auc] - target)
                    self.undo(move)
                    if gap < abs(now - target) and (best is None or gap < best[0]):
                        best = (gap, day)
                if best is None:
                    break
                moves.append(self.try_move(cell, best[1], step))
        return moves

    def _cell_aucs(self, cell: int) -> dict[str, float]:
        row = self.average[cell: cell + 1]
        return {key: float(value[0]) for key, value in _aucs(row).items()}


def _plan(state: Reconstruction, progress: bool) -> dict[str, np.ndarray]:
    """Continuous stage: AUCs by cell that meet the targets, near the calibrated ones (least squares)."""
    from scipy import optimize

    start = state.aucs()
    free7 = np.isfinite(start["auc7"])
    x0 = np.concatenate([start["auc35"], start["auc7"][free7]])
    n35 = len(start["auc35"])

    def unpack(x):
        auc7 = start["auc7"].copy()
        auc7[free7] = x[n35:]
        return {"auc35": x[:n35], "auc7": auc7}

    calls = [0]
    began = time.perf_counter()

    def residuals(x):
        calls[0] += 1
        if progress and calls[0] % 50 == 0:
            _progress(time.perf_counter() - began, PLAN_SECONDS, calls[0], 0, float("nan"), -1, stage="plan")
        values = state.values(unpack(x))
        # a light pull towards the calibrated AUCs keeps the plan realizable by small diary changes
        return np.concatenate([state.residuals(values), 0.02 * (x - x0) / 10])

    upper = np.concatenate([np.full(n35, 10.0 * PRIMARY.last_day), np.full(free7.sum(), 10.0 * DAY7.last_day)])
    result = optimize.least_squares(residuals, x0, bounds=(np.zeros_like(x0), upper), diff_step=1e-4,
                                    x_scale=10.0, max_nfev=200, verbose=0)
    if progress:
        print(f"\nreconstruct: planned AUCs, {len(state.unmet(state.values(unpack(result.x))))} target(s) unmet "
              "before rounding", file=sys.stderr)
    return unpack(result.x)


def _candidates(state: Reconstruction, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """One-point moves worth trying, per cell and direction: an entry of the first week (both AUCs move), a
    later entry (the day-35 AUC alone), and an end of a window (days 0, 7 and 35 weigh half a day: the finest
    step), each an observed day drawn at random."""
    moves = []
    ends = (0, DAY7.last_day, PRIMARY.last_day)
    for cell in range(len(state.cells)):
        for window in (range(1, DAY7.last_day), range(DAY7.last_day + 1, PRIMARY.last_day), ends):
            days = [d for d in window if not np.isnan(state.average[cell, d])]
            if days:
                day = int(days[rng.integers(len(days))])
                moves += [(cell, day, 1), (cell, day, -1)]
    return moves


#: The single moves combined in pairs at a local minimum (the best ones by their own loss).
PAIR_POOL = 16


def _best_pair(state: Reconstruction, singles: list, loss: float) -> list:
    """The pair of single moves (from the best few) that lowers the loss most together; [] if none does."""
    best = None
    for i, (_, first, _) in enumerate(singles):
        for _, second, _ in singles[i + 1:]:
            moves = [state.try_move(*first)]
            moves.append(state.try_move(*second) if moves[0] is not None else None)
            if None not in moves:
                values = state.values()
                if state.loss(values) < loss and (best is None or state.loss(values) < best[0]):
                    best = (state.loss(values), first, second, values)
            for move in reversed(moves):
                if move is not None:
                    state.undo(move)
    if best is None:
        return []
    new_loss, first, second, values = best
    return [(new_loss, first, values), (new_loss, second, values)]


def search(trial, seed: int, budget_seconds: float = BUDGET_SECONDS, progress: bool = True) -> tuple[list, dict]:
    """Plan AUCs that meet the targets, realize them by one-point diary moves, then polish by best-improvement
    one-point moves until every target is met or the budget ends.

    Returns the accepted moves (patient, period, day, step, maximal raised) and the final targeted values.
    """
    start = time.perf_counter()
    state = Reconstruction(trial)
    plan = _plan(state, progress)
    accepted = []
    for cell in range(len(state.cells)):
        accepted += state.realize(cell, round(2 * plan["auc35"][cell]) / 2, round(2 * plan["auc7"][cell]) / 2
                                  if np.isfinite(plan["auc7"][cell]) else np.nan)
    rng = np.random.default_rng(seed)
    values = state.values()
    loss = state.loss(values)
    tried = 0
    while loss > 0 and time.perf_counter() - start < budget_seconds:
        singles = []
        for cell, day, step in _candidates(state, rng):
            move = state.try_move(cell, day, step)
            if move is None:
                continue
            tried += 1
            candidate = state.values()
            singles.append((state.loss(candidate), (cell, day, step), candidate))
            state.undo(move)
        singles.sort(key=lambda item: item[0])
        if singles and singles[0][0] < loss:
            chosen = [singles[0]]
        else:  # a local minimum of single moves: two moves that each cost a little may gain together
            chosen, tried = _best_pair(state, singles[:PAIR_POOL], loss), tried + PAIR_POOL * (PAIR_POOL - 1) // 2
        for new_loss, (cell, day, step), new_values in chosen:
            accepted.append(state.try_move(cell, day, step))
            loss, values = new_loss, new_values
        if progress:
            _progress(time.perf_counter() - start, budget_seconds, tried, len(accepted), loss,
                      len(state.unmet(values)))
    if progress:
        print(file=sys.stderr)
    return [(state.cells[c][0], state.cells[c][1], d, s, r) for c, d, s, r in accepted], values


def _progress(elapsed: float, budget: float, tried: int, accepted: int, loss: float, unmet: int,
              stage: str = "polish") -> None:
    """One line of progress on stderr, rewritten in place: a bar of the time budget and the search's state."""
    width = 30
    done = min(1.0, elapsed / budget)
    bar = "#" * int(width * done) + "-" * (width - int(width * done))
    state = (f"model evaluations {tried}" if stage == "plan" else
             f"moves tried {tried}, kept {accepted}, loss {loss:9.2f}, targets unmet {unmet:2d}")
    print(f"\rreconstruct {stage:6s} [{bar}] {elapsed:5.0f}/{budget:.0f} s  {state}", end="", file=sys.stderr,
          flush=True)
