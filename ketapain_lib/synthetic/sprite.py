"""SPRITE-style search on one whole-number measurement per patient and period (pre-infusion pain, a
questionnaire score): one-point moves within the scale, kept when they bring the treatments' means, SDs and
the omnibus P of the paper's model closer to the published values.

The report computes these numbers with :func:`ketapain_lib.stats.crossover.fit_crossover` (pre-infusion pain)
or :func:`~ketapain_lib.stats.crossover.fit_with_normality_check` (questionnaires); the search calls the same.

>>> import numpy as np
>>> found = search_scores(np.array([3., 4., 5., 6.]), (0, 10), lambda v: {"mean": float(v.mean())},
...                       {"mean": (5.0, 0.05)}, np.random.default_rng(1))
>>> float(found.mean())
5.0
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..design import REPORT_METHOD, TREATMENTS
from ..stats import crossover

#: A number counts as met within this share of its printed precision.
MARGIN = 0.9


def hinge_loss(distances, log_scale: float = 0.0) -> float:
    """The searches' loss: zero when every distance (in units of a number's printed precision) is within
    :data:`MARGIN`, else the sum of the squared excess; a fit that would move to the log scale costs a million."""
    excess = np.maximum(0.0, np.abs(np.asarray(distances, dtype=float)) - MARGIN)
    return float((excess ** 2).sum() + 1e6 * log_scale)


def _loss(values: dict[str, float], targets: dict[str, tuple[float, float]]) -> float:
    return hinge_loss([(values[key] - value) / tolerance for key, (value, tolerance) in targets.items()],
                      values.get("log_scale", 0.0))


def search_scores(start: np.ndarray, bounds: tuple[int, int], evaluate: Callable[[np.ndarray], dict[str, float]],
                  targets: dict[str, tuple[float, float]], rng: np.random.Generator,
                  rounds: int = 200) -> np.ndarray:
    """Best-improvement one-point moves on ``start`` (then pairs of them at a local minimum) until every
    target (value, tolerance) is met or ``rounds`` end; returns the new values."""
    values = np.asarray(start, dtype=float).copy()
    loss = _loss(evaluate(values), targets)
    for _ in range(rounds):
        if loss == 0:
            break
        singles = []
        for index in rng.permutation(len(values)):
            for step in (-1, 1):
                if bounds[0] <= values[index] + step <= bounds[1]:
                    values[index] += step
                    singles.append((_loss(evaluate(values), targets), int(index), step))
                    values[index] -= step
        singles.sort()
        if singles and singles[0][0] < loss:
            loss, index, step = singles[0]
            values[index] += step
            continue
        best = None
        for i, (_, first, step1) in enumerate(singles[:16]):
            for _, second, step2 in singles[i + 1:16]:
                if first == second:
                    continue
                values[first] += step1
                values[second] += step2
                pair_loss = _loss(evaluate(values), targets)
                values[first] -= step1
                values[second] -= step2
                if pair_loss < loss and (best is None or pair_loss < best[0]):
                    best = (pair_loss, first, step1, second, step2)
        if best is None:
            break
        loss, first, step1, second, step2 = best
        values[first] += step1
        values[second] += step2
    return values


def model_evaluator(frame: pd.DataFrame, normality_check: bool, prefix: str | None) -> Callable:
    """The numbers the report prints for one measurement: each treatment's mean and SD (keys
    ``{prefix}_mean_{treatment}``; none when ``prefix`` is None), the omnibus P (``omnibus_p``) and, with the
    normality check, whether the model would move to the log scale (``log_scale``)."""
    treatments = frame["treatment"].astype(str).to_numpy()

    def evaluate(values: np.ndarray) -> dict[str, float]:
        data = frame.assign(y=values)
        if normality_check:
            fit = crossover.fit_with_normality_check(data, "paper", REPORT_METHOD)
        else:
            fit = crossover.fit_crossover(data, "paper", REPORT_METHOD)
        out = {"omnibus_p": float(fit.omnibus()["p"]), "log_scale": float(fit.transform != "none")}
        if prefix:
            for treatment in TREATMENTS:
                part = values[treatments == treatment]
                out[f"{prefix}_mean_{treatment}"] = float(part.mean())
                out[f"{prefix}_sd_{treatment}"] = float(part.std(ddof=1))
        return out

    return evaluate
