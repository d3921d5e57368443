"""ketapain_lib.stats.crossover against R (lme4 + lmerTest + emmeans) on fixed datasets, one of them real.

The reference numbers are in tests/reference/reference.json, written by tests/reference/make_reference.R
from the CSVs beside it, so this test needs no R. Agreement required: fixed effects, standard errors and
variance components to 1e-4 relative; P values to 1e-3 absolute.

Degrees of freedom: statsmodels and Stata's ``mixed`` report Wald z tests; lmerTest reports
Satterthwaite t tests. The z-based P values are compared (R computes them from the same estimates and
SEs, and emmeans' Sidak adjustment with ``lmer.df = "asymptotic"``); the Satterthwaite P values are kept
in the JSON and only checked to be larger, as a t test on finite df must be.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketapain_lib import load_trial
from ketapain_lib.stats import crossover as models
from ketapain_lib.stats import glmm

HERE = Path(__file__).resolve().parent / "reference"
REFERENCE = json.loads((HERE / "reference.json").read_text(encoding="utf-8"))


def load(name: str) -> pd.DataFrame:
    frame = pd.read_csv(HERE / f"{name}.csv", dtype={"patient_id": str})
    others = sorted(set(frame["treatment"]) - {"placebo"})
    frame["treatment"] = pd.Categorical(frame["treatment"], categories=["placebo", *others])
    return frame


def close(actual, expected, rtol=1e-4, atol=0.0) -> bool:
    return bool(np.allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=atol))


@pytest.fixture(scope="module", params=sorted(REFERENCE["fits"]))
def case(request):
    name, model, method = request.param.split("/")
    return models.fit_crossover(load(name), model, method), REFERENCE["fits"][request.param]


def test_fixed_effects_and_standard_errors(case):
    fit, ref = case
    table = fit.fixed_effects()
    assert len(table) == len(ref["fixed_effects"])
    se = np.asarray(ref["se"])
    # relative 1e-4, or 1e-4 of a standard error for coefficients near zero
    assert close(table["estimate"], ref["fixed_effects"], atol=1e-4 * se.min())
    assert close(table["se"], se)


def test_variance_components_icc_and_likelihood(case):
    fit, ref = case
    assert close(fit.patient_variance, ref["patient_variance"])
    assert close(fit.residual_variance, ref["residual_variance"])
    ref_icc = ref["patient_variance"] / (ref["patient_variance"] + ref["residual_variance"])
    assert close(fit.icc, ref_icc)
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-4)


def test_omnibus_wald_test(case):
    fit, ref = case
    omnibus = fit.omnibus()
    assert omnibus["df"] == ref["omnibus_df"]
    assert close(omnibus["chi2"], ref["omnibus_chi2"])
    assert omnibus["p"] == pytest.approx(ref["omnibus_p"], abs=1e-3)


def test_pairwise_contrasts_with_sidak(case):
    fit, ref = case
    table = fit.pairwise()
    pairwise = ref["pairwise"]
    # R's reference spells the second contrast placebo - ketamine/magnesium; the report follows the paper's
    # sign (ketamine/magnesium - placebo): the same contrast, opposite sign
    sign = []
    for ours, theirs in zip(table["comparison"], pairwise["comparison"]):
        first, second = theirs.split(" vs ")
        assert ours in (theirs, f"{second} vs {first}")
        sign.append(1.0 if ours == theirs else -1.0)
    assert close(table["estimate"] * np.array(sign), pairwise["estimate"], atol=1e-4 * min(pairwise["se"]))
    assert close(table["se"], pairwise["se"])
    assert np.allclose(table["p"], pairwise["p"], atol=1e-3)
    assert np.allclose(table["p_sidak"], pairwise["p_sidak"], atol=1e-3)
    assert all(np.asarray(pairwise["p_satterthwaite"]) >= np.asarray(pairwise["p"]) - 1e-12)


@pytest.mark.parametrize("name", sorted(REFERENCE["sequence_by_treatment"]))
def test_sequence_by_treatment_interaction(name):
    ours = models.sequence_by_treatment_test(load(name))
    ref = REFERENCE["sequence_by_treatment"][name]
    assert ours["df"] == ref["df"]
    assert ours["lr_chi2"] == pytest.approx(ref["lr_chi2"], rel=1e-3, abs=1e-4)
    assert ours["p"] == pytest.approx(ref["p"], abs=1e-3)


@pytest.mark.parametrize("name", sorted(REFERENCE["glmm"]))
def test_logit_mixed_model_matches_glmer(name):
    fit = glmm.fit_logit_mixed(load(name), "treatment_only")
    ref = REFERENCE["glmm"][name]
    table = fit.fixed_effects()
    assert close(table["estimate"], ref["fixed_effects"])
    assert close(table["se"], ref["se"])
    # a singular fit has its variance at 0 on both sides, where only an absolute tolerance applies
    assert close(fit.patient_variance, ref["patient_variance"], atol=1e-6)
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-4)
    assert (ref["patient_variance"] < 1e-6) == any("singular fit" in note for note in fit.notes)


def test_the_real_dataset_is_in_the_reference_set():
    assert any(key.startswith("frantic_fingers/") for key in REFERENCE["fits"])
    assert len({key.split("/")[0] for key in REFERENCE["fits"]}) >= 3


def test_the_reports_primary_analysis_is_the_r_reference_with_statas_conventions():
    """The primary endpoint as the report computes it (ML, Wald, pkshape carry-over; REML + Kenward-Roger beside),
    against lme4/pbkrtest/lmerTest on the same data (tests/reference/reference_extra.json)."""
    import json
    from pathlib import Path

    from ketapain_lib.report.results import Results

    reference = json.loads((Path(__file__).parent / "reference" / "reference_extra.json").read_text())
    ml, reml = (reference["fits"][f"ketapain_auc35_locf/paper_stata/{m}"] for m in ("ML", "REML"))
    primary = Results(load_trial())["primary"]
    summary, pairwise, small = primary["summary"].iloc[0], primary["pairwise"], primary["small_sample"]
    assert summary["method"] == "ML"
    assert summary["omnibus_chi2"] == pytest.approx(ml["omnibus_chi2"], rel=1e-6)
    assert summary["omnibus_p"] == pytest.approx(ml["omnibus_p"], abs=1e-6)
    assert summary["patient_variance"] == pytest.approx(ml["patient_variance"], rel=1e-6)
    assert summary["residual_variance"] == pytest.approx(ml["residual_variance"], rel=1e-6)
    by_name = pairwise.set_index("comparison")
    for i, comparison in enumerate(ml["pairwise"]["comparison"]):   # R: first - second; the report may flip it
        first, second = comparison.split(" vs ")
        flipped = comparison not in by_name.index
        row = by_name.loc[f"{second} vs {first}" if flipped else comparison]
        assert (-1 if flipped else 1) * row["estimate"] == pytest.approx(ml["pairwise"]["estimate"][i], rel=1e-6)
        assert row["se"] == pytest.approx(ml["pairwise"]["se"][i], rel=1e-6)
        assert row["p"] == pytest.approx(ml["pairwise"]["p"][i], abs=1e-6)
        assert row["p_sidak"] == pytest.approx(ml["pairwise"]["p_sidak"][i], abs=1e-6)
    omnibus = small.iloc[0]
    kr = reml["kenward_roger"]["omnibus_pbkrtest"]
    assert omnibus["F_kr"] == pytest.approx(kr["F"], rel=1e-6) and omnibus["ddf_kr"] == pytest.approx(kr["den_df"], rel=1e-5)
    assert omnibus["p_kr"] == pytest.approx(kr["p"], abs=1e-6)
    kr_pairs = dict(zip(reml["kenward_roger"]["pairwise"]["comparison"], reml["kenward_roger"]["pairwise"]["p"]))
    for _, row in small.iloc[1:].iterrows():
        first, second = row["test"].split(" vs ")
        expected = kr_pairs.get(row["test"], kr_pairs.get(f"{second} vs {first}"))   # P does not see the sign
        assert row["p_kr"] == pytest.approx(expected, abs=1e-6), row["test"]
