"""Chained-equation imputation with predictive mean matching: a function of the data and the seed only."""
from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_lib.stats import mice
from ketapain_lib.stats.mice import impute_pmm

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"n_imputations": 10, "burn_in": 5, "thinning": 2, "seed": 20150610}


def diary_like(n_rows: int = 150, seed: int = 3, missing: float = 0.05) -> pd.DataFrame:
    """Integer 0-10 diaries (many exact ties), gaps in all but the first two days, treatment indicators."""
    rng = np.random.default_rng(seed)
    treatment = np.arange(n_rows) % 3
    trend = -0.8 * (treatment > 0)[:, None] * np.linspace(0, 1, 12)[None, :]
    values = np.clip(np.rint(rng.normal(5, 1.5, (n_rows, 1)) + trend + rng.normal(0, 0.8, (n_rows, 12))), 0, 10)
    values[rng.random(values.shape) < missing] = np.nan
    values[:, :2] = np.clip(np.rint(rng.normal(5, 2, (n_rows, 2))), 0, 10)
    frame = pd.DataFrame(values, columns=[f"d{d:02d}" for d in range(12)],
                         index=pd.MultiIndex.from_arrays([[f"P{i // 3:03d}" for i in range(n_rows)],
                                                          np.tile([1, 2, 3], n_rows // 3 + 1)[:n_rows]],
                                                         names=["patient_id", "period"]))
    frame["is_ketamine"] = (treatment == 1).astype(float)
    frame["is_ketamine_magnesium"] = (treatment == 2).astype(float)
    return frame


def chained_predictors(wide: pd.DataFrame, radius: int = 2) -> dict[str, list[str]]:
    """Each day with gaps from the days within ``radius`` (imputed ones included) and the treatment."""
    days = [c for c in wide.columns if c.startswith("d")]
    return {c: [o for o in days if o != c and abs(int(o[1:]) - int(c[1:])) <= radius]
            + ["is_ketamine", "is_ketamine_magnesium"] for c in days if wide[c].isna().any()}


def shipped_predictors(wide: pd.DataFrame) -> dict[str, list[str]]:
    """The predictor sets of ``sensitivity.imputations``: complete days within three days, and the treatment."""
    predictors = {}
    for column in [c for c in wide.columns if c.startswith("d")]:
        if wide[column].isna().any():
            others = [c for c in wide.columns if c != column and wide[c].notna().all()]
            near = [c for c in others if c.startswith("d") and abs(int(c[1:]) - int(column[1:])) <= 3]
            predictors[column] = near + [c for c in others if c.startswith("is_")]
    return predictors


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    from ketapain_lib import load_trial
    from ketapain_lib.stats import sensitivity
    return sensitivity._wide_diary(load_trial())


def stacked(completed: list[pd.DataFrame]) -> np.ndarray:
    return np.stack([frame.to_numpy(dtype=float) for frame in completed])


def relabelled(wide: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, dict]:
    """Rows shuffled, patients renamed (P01 -> ID140, ...), columns shuffled; and the renaming."""
    rng = np.random.default_rng(seed)
    patients = wide.index.get_level_values(0).unique()
    renaming = dict(zip(patients, [f"ID{140 + k}" for k in rng.permutation(len(patients))]))
    shuffled = wide.iloc[rng.permutation(len(wide)), rng.permutation(wide.shape[1])]
    return shuffled.rename(index=renaming, level=0), renaming


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
@pytest.mark.parametrize("case", ["shipped", "chained"])
def test_row_order_labels_and_column_order_do_not_matter(case, shipped):
    wide = shipped if case == "shipped" else diary_like()
    predictors = shipped_predictors(wide) if case == "shipped" else chained_predictors(wide)
    reference = impute_pmm(wide, predictors, **SETTINGS)
    other, renaming = relabelled(wide, seed=7)
    moved = impute_pmm(other, {k: list(reversed(v)) for k, v in predictors.items()}, **SETTINGS)
    for frame, frame_moved in zip(reference, moved):
        assert frame_moved.index.equals(other.index) and list(frame_moved.columns) == list(other.columns)
        back = frame_moved.rename(index={v: k for k, v in renaming.items()}, level=0).loc[wide.index, wide.columns]
        np.testing.assert_array_equal(back.to_numpy(), frame.to_numpy())


def test_rows_of_identical_content_only_permutation_is_exact():
    wide = diary_like(60)
    wide.iloc[10] = wide.iloc[40].to_numpy()  # two identical rows, gap pattern included
    wide.iloc[[10, 40], 5] = np.nan
    reference = stacked(impute_pmm(wide, chained_predictors(wide), **SETTINGS))
    order = np.random.default_rng(1).permutation(len(wide))
    moved = impute_pmm(wide.iloc[order], chained_predictors(wide), **SETTINGS)
    np.testing.assert_array_equal(stacked([f.loc[wide.index] for f in moved]), reference)


DIGEST = """
import ctypes, glob, hashlib, os, pickle, sys
import numpy as np
from ketapain_lib.stats.mice import impute_pmm
core = "unknown"
for path in glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*")):
    f = getattr(ctypes.CDLL(path), "scipy_openblas_get_corename64_", None)
    if f is not None:
        f.restype = ctypes.c_char_p
        core = f().decode()
with open(sys.argv[1], "rb") as file:
    cases, settings = pickle.load(file)
digest = hashlib.sha256()
for wide, predictors in cases:
    for frame in impute_pmm(wide, predictors, **settings):
        digest.update(frame.to_numpy(dtype=float).tobytes())
print(core, digest.hexdigest())
"""


@pytest.mark.slow  # subprocesses under other BLAS kernels: part of the portability tier
def test_identical_under_other_openblas_kernels(shipped, tmp_path):
    """Same bytes whatever OpenBLAS kernel runs the QR (each kernel in its own process)."""
    big = diary_like(900)
    cases = [(shipped, shipped_predictors(shipped)), (big, chained_predictors(big))]
    with open(tmp_path / "cases.pickle", "wb") as file:
        pickle.dump((cases, SETTINGS), file)
    runs = {core: subprocess.Popen([sys.executable, "-c", DIGEST, str(tmp_path / "cases.pickle")], cwd=ROOT,
                                   env={**os.environ, "OPENBLAS_CORETYPE": core, "PYTHONPATH": str(ROOT)},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for core in ["Haswell", "Sandybridge", "Nehalem"]}
    here = hashlib.sha256(b"".join(frame.to_numpy(dtype=float).tobytes()
                                   for wide, predictors in cases for frame in impute_pmm(wide, predictors, **SETTINGS)))
    for core, run in runs.items():
        stdout, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
        reported, digest = stdout.split()
        assert reported in (core, "unknown"), f"asked for {core}, OpenBLAS runs {reported}"
        assert digest == here.hexdigest(), f"{core} differs from this process"


def test_last_bit_noise_does_not_move_a_donor(monkeypatch):
    """The mechanism behind kernel independence: fits and predictions a few ulps off, row by row (as a
    kernel computing some rows by another code path would), give the same imputations (~1,000 cells
    change without the grid of ``mice._grid``)."""
    wide = diary_like(300)
    reference = stacked(impute_pmm(wide, chained_predictors(wide), **SETTINGS))
    fit, predict, eps = mice._draw_coefficients, mice._predict, np.finfo(float).eps
    for ulps in (1, 4):
        def noisy_fit(x, y, rng):
            return tuple(beta * (1 + ulps * eps * (np.arange(len(beta)) % 3 - 1)) for beta in fit(x, y, rng))

        def noisy_predict(x, beta):
            out = predict(x, beta)
            return out * (1 + ulps * eps * (np.arange(len(out)) % 5 - 2))
        monkeypatch.setattr(mice, "_draw_coefficients", noisy_fit)
        monkeypatch.setattr(mice, "_predict", noisy_predict)
        np.testing.assert_array_equal(stacked(impute_pmm(wide, chained_predictors(wide), **SETTINGS)), reference)


def test_donor_ties_are_broken_by_position_not_by_noise():
    values = np.array([1.0, 1.0, 1.0, 3.0, 3.0, -1.0])
    noisy = values + np.array([1, -1, 0, 1, -1, 0]) * 2e-16 * 4
    quantum = mice.GRID_RELATIVE * 4
    picks = [mice._match(mice._grid(v, quantum), mice._grid(np.array([2.0, 0.0]), quantum), 3,
                         np.random.default_rng(5)) for v in (values, noisy)]
    np.testing.assert_array_equal(picks[0], picks[1])
    nearest = [mice._match(mice._grid(values, quantum), mice._grid(np.array([2.0]), quantum), 3,
                           np.random.default_rng(s))[0] for s in range(40)]
    assert set(nearest) == {0, 1, 2}  # distance 1 both sides: the three first in canonical position win


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
@pytest.mark.parametrize("case", ["shipped", "chained"])
def test_imputes_observed_values_and_keeps_observed_cells(case, shipped):
    wide = shipped if case == "shipped" else diary_like()
    predictors = shipped_predictors(wide) if case == "shipped" else chained_predictors(wide)
    completed = impute_pmm(wide, predictors, **SETTINGS)
    assert len(completed) == SETTINGS["n_imputations"]
    missing = wide.isna()
    for frame in completed:
        assert frame.index.equals(wide.index) and list(frame.columns) == list(wide.columns)
        assert not frame[list(predictors)].isna().any().any()
        pd.testing.assert_frame_equal(frame.where(~missing), wide)
        for column in predictors:
            assert set(frame.loc[missing[column], column]) <= set(wide[column].dropna())
    assert len({stacked([frame]).tobytes() for frame in completed}) > 1  # the chain moves between snapshots


def test_close_to_a_linear_truth():
    rng = np.random.default_rng(11)
    x = rng.normal(0, 1, 500)
    truth = 3 + 2 * x + rng.normal(0, 0.05, 500)
    wide = pd.DataFrame({"x": x, "y": truth, "noise": rng.normal(0, 1, 500)})
    gaps = rng.random(500) < 0.2
    wide.loc[gaps, "y"] = np.nan
    for frame in impute_pmm(wide, {"y": ["x", "noise"]}, 5, 3, 1, seed=2):
        error = frame.loc[gaps, "y"].to_numpy() - truth[gaps]
        # residual sd 0.05 plus the spread of the donors (wider in the tails, where PMM has few neighbours);
        # imputing the mean would give an error of ~2
        assert np.median(np.abs(error)) < 0.1 and np.sqrt(np.mean(error**2)) < 0.25 and abs(error.mean()) < 0.05


def test_same_seed_same_draws_other_seed_other_draws():
    wide = diary_like()
    predictors = chained_predictors(wide)
    first = stacked(impute_pmm(wide, predictors, **SETTINGS))
    np.testing.assert_array_equal(stacked(impute_pmm(wide, predictors, **SETTINGS)), first)
    other = stacked(impute_pmm(wide, predictors, **{**SETTINGS, "seed": SETTINGS["seed"] + 1}))
    assert np.mean(other != first) > 0.001


def test_complete_column_untouched_empty_column_refused():
    wide = diary_like(60)
    predictors = chained_predictors(wide)
    completed = impute_pmm(wide, {**predictors, "d00": ["d01"]}, 2, 1, 1, seed=0)
    assert all(frame["d00"].equals(wide["d00"]) for frame in completed)
    empty = wide.assign(d05=np.nan)
    with pytest.raises(ValueError, match="'d05' has no observed value"):
        impute_pmm(empty, chained_predictors(empty), 2, 1, 1, seed=0)
    wide.iloc[[0, 1], [3, 4]] = np.nan
    with pytest.raises(ValueError, match="have missing values and are not imputed"):
        impute_pmm(wide, {"d03": ["d04", "d01"]}, 2, 1, 1, seed=0)
    with pytest.raises(ValueError, match="cannot predict itself"):
        impute_pmm(wide, {"d03": ["d03", "d01"]}, 2, 1, 1, seed=0)
