"""ketapain_lib.stats.glmm: the random-intercept logistic model against R's glmer, and its numerical hygiene.

Reference: tests/reference/reference.json ("glmm"), written by make_reference.R with
``glmer(y ~ treatment + (1 | patient_id), family = binomial, nAGQ = 25)`` (bobyqa). glmer's SEs come
from a finite-difference Hessian (step 1e-4 on the deviance), good to about 1e-6 relative; ours are
more accurate (at the singular fit they equal the closed-form logistic SEs to rounding), so agreement is
asked to 1e-5 relative.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_lib.stats import glmm

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "tests" / "reference"
REFERENCE = json.loads((HERE / "reference.json").read_text(encoding="utf-8"))["glmm"]
DATASETS = ["ketapain_ae_related", "ketapain_ae_any"]


def load(name: str) -> pd.DataFrame:
    frame = pd.read_csv(HERE / f"{name}.csv", dtype={"patient_id": str})
    others = sorted(set(frame["treatment"]) - {"placebo"})
    frame["treatment"] = pd.Categorical(frame["treatment"], categories=["placebo", *others])
    return frame


@pytest.fixture(scope="module")
def fits() -> dict[str, glmm.LogitMixedFit]:
    return {name: glmm.fit_logit_mixed(load(name)) for name in DATASETS}


def _problem(fit: glmm.LogitMixedFit) -> glmm.Problem:
    from patsy import dmatrix

    design = dmatrix(fit.formula.split("~")[1].split("+ (1")[0], fit.data, return_type="dataframe")
    return glmm.Problem(design.to_numpy(), fit.data["y"].to_numpy(float), fit.data["patient_id"].to_numpy(),
                         fit.nodes)


def _relative(actual, expected) -> float:
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    return float(np.max(np.abs(actual - expected) / np.abs(expected)))


# --------------------------------------------------------------------------- agreement with R

@pytest.mark.parametrize("name", DATASETS)
def test_matches_glmer(fits, name):
    fit, ref = fits[name], REFERENCE[name]
    table = fit.fixed_effects()
    assert [n.split("[T.")[-1].rstrip("]") for n in fit.names[1:]] == [
        n.removeprefix("treatment") for n in ref["fixed_effect_names"][1:]]
    assert _relative(table["estimate"], ref["fixed_effects"]) < 1e-5
    assert _relative(table["se"], ref["se"]) < 1e-5
    assert _relative(fit.loglik, ref["loglik"]) < 1e-10
    if ref["patient_variance"] == 0:
        assert fit.patient_variance == 0.0
    else:
        assert _relative(fit.patient_variance, ref["patient_variance"]) < 1e-5
    # at least as good an optimum as R's (bobyqa stops near 1e-6): our likelihood at R's estimates is
    # R's log-likelihood (same function), and our maximum is not below it
    at_r = _problem(fit).evaluate(np.r_[ref["fixed_effects"], math.sqrt(ref["patient_variance"])], 0)
    assert at_r == pytest.approx(ref["loglik"], abs=1e-10)
    assert fit.loglik >= at_r - 1e-12
    assert fit.gradient_norm < 1e-10


def test_interior_fit_is_a_tight_maximum(fits):
    fit = fits["ketapain_ae_any"]
    problem = _problem(fit)
    theta = np.r_[fit.params, fit.patient_sd]
    loglik, gradient, louis = problem.evaluate(theta)
    assert loglik == fit.loglik
    assert np.max(np.abs(gradient)) < 1e-10
    # the analytic gradient is the derivative of the quadrature likelihood (Richardson central differences)
    away = theta + np.array([0.05, -0.03, 0.02, 0.1])
    def central(h):
        return np.array([(problem.evaluate(away + h * e, 0) - problem.evaluate(away - h * e, 0)) / (2 * h)
                         for e in np.eye(4)])
    assert np.max(np.abs(problem.evaluate(away, 1)[1] - (4 * central(5e-4) - central(1e-3)) / 3)) < 1e-8
    # the finite-difference Hessian of that gradient agrees with Louis' (the quadrature is exact here)
    assert np.max(np.abs(problem.hessian(theta, [0, 1, 2, 3]) - louis)) < 1e-7
    # and the covariance is the beta block of the inverse of minus that Hessian
    full = np.linalg.inv(-problem.hessian(theta, [0, 1, 2, 3]))[:3, :3]
    assert np.allclose(fit.cov, full, rtol=1e-10, atol=0)


# --------------------------------------------------------------------------- singular fit

def test_singular_fit_is_logistic_regression_with_its_standard_errors(fits):
    import statsmodels.api as sm
    from patsy import dmatrix

    fit = fits["ketapain_ae_related"]
    assert fit.patient_variance == 0.0
    assert "singular fit: the patient variance is estimated at zero" in fit.notes
    data = load("ketapain_ae_related")
    X = dmatrix("C(treatment, Treatment('placebo'))", data, return_type="dataframe")
    logit = sm.Logit(data["y"].to_numpy(float), X).fit(method="newton", tol=1e-14, maxiter=100, disp=0)
    se = fit.fixed_effects()["se"].to_numpy()
    assert np.all(np.isfinite(se)) and np.all(se > 0.5)
    assert np.allclose(fit.params, logit.params, rtol=1e-10, atol=0)
    assert np.allclose(se, logit.bse, rtol=1e-10, atol=0)
    assert fit.loglik == pytest.approx(logit.llf, rel=1e-13)
    # closed form for the intercept: 2 events in 20 placebo periods
    assert se[0] == pytest.approx(math.sqrt(1 / (20 * 0.1 * 0.9)), rel=1e-13)
    omnibus = fit.omnibus()
    assert omnibus["df"] == 2 and 0 < omnibus["p"] < 1


def test_interior_fit_has_no_singular_note(fits):
    assert not any("singular" in note for note in fits["ketapain_ae_any"].notes)
    assert fits["ketapain_ae_any"].patient_variance > 0.1


# --------------------------------------------------------------------------- reproducibility

def _values(fit: glmm.LogitMixedFit) -> np.ndarray:
    return np.r_[fit.params, fit.cov.ravel(), fit.patient_variance, fit.loglik]


@pytest.mark.parametrize("name", DATASETS)
def test_invariant_to_row_order_and_patient_labels(fits, name):
    base = _values(fits[name])
    data = load(name)
    rng = np.random.default_rng(2024)
    for seed in range(3):
        shuffled = data.sample(frac=1, random_state=seed).reset_index(drop=True)
        labels = sorted(set(shuffled["patient_id"]))
        new = {old: f"Z{k:03d}" for old, k in zip(labels, rng.permutation(len(labels) * 5)[:len(labels)])}
        shuffled["patient_id"] = shuffled["patient_id"].map(new)
        assert np.array_equal(_values(glmm.fit_logit_mixed(shuffled)), base)


_PRINT_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_glmm import DATASETS, load
from ketapain_lib.stats import glmm
for name in DATASETS:
    fit = glmm.fit_logit_mixed(load(name))
    table = fit.fixed_effects()
    values = [*table["estimate"], *table["se"], fit.patient_variance, fit.loglik, fit.omnibus()["p"]]
    print(name, " ".join(f"{{v:.10g}}" for v in values), "|", " ".join(f"{{v:.6g}}" for v in values))
"""


@pytest.mark.slow  # subprocesses under other BLAS kernels: part of the portability tier
def test_identical_under_every_openblas_kernel():
    outputs = {}
    for kernel in ("", "Haswell", "Sandybridge", "Nehalem"):
        env = {**os.environ, "OPENBLAS_CORETYPE": kernel, "PYTHONPATH": str(ROOT)}
        if not kernel:
            env.pop("OPENBLAS_CORETYPE")
        run = subprocess.run([sys.executable, "-c", _PRINT_SCRIPT.format(tests=str(ROOT / "tests"))],
                             env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if run.returncode < 0 and kernel:            # the CPU cannot run that kernel (illegal instruction)
            continue
        assert run.returncode == 0, run.stderr
        outputs[kernel or "default"] = run.stdout
    assert len(outputs) >= 2
    assert len(set(outputs.values())) == 1, outputs
    assert outputs["default"].count("\n") == len(DATASETS)


def test_the_shipped_size_fits_quickly():
    data = load("ketapain_ae_related")              # the report's adverse-event data: 60 periods, 3 coefficients
    glmm.fit_logit_mixed(data)
    best = min(_timed(glmm.fit_logit_mixed, data) for _ in range(3))
    assert best < 0.3


def _timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


# --------------------------------------------------------------------------- problems in the data

def test_separation_is_noted():
    data = load("ketapain_ae_any")
    data.loc[data["treatment"] == "ketamine", "y"] = 0.0
    fit = glmm.fit_logit_mixed(data)
    assert any(note.startswith("ketamine: every period lacks the event (separation") for note in fit.notes)
    assert np.all(np.isfinite(fit.params)) and np.isfinite(fit.loglik)
    assert fit.params[fit.names.index("C(treatment, Treatment('placebo'))[T.ketamine]")] < -10


def test_a_non_binary_outcome_is_refused():
    data = load("ketapain_ae_any")
    data.loc[0, "y"] = 2.0
    with pytest.raises(ValueError, match="must be 0 or 1"):
        glmm.fit_logit_mixed(data)


def test_to_frame_and_fixed_effects_keep_the_report_columns(fits):
    fit = fits["ketapain_ae_any"]
    assert list(fit.fixed_effects().columns) == ["term", "estimate", "se", "z", "p", "odds_ratio",
                                                 "or_ci_low", "or_ci_high"]
    row = fit.to_frame().iloc[0]
    assert list(row.index) == ["model", "n_obs", "events", "omnibus_chi2", "omnibus_df", "omnibus_p",
                               "patient_variance", "loglik", "quadrature_nodes", "notes"]
    assert row["n_obs"] == 60 and row["quadrature_nodes"] == 25 and row["omnibus_df"] == 2


def test_local_constants_match_the_models_module():
    from ketapain_lib.stats import crossover as models

    assert glmm.FORMULAS == models.FORMULAS
    assert glmm.CI_LEVEL == models.CI_LEVEL
