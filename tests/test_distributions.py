"""The Shapiro-Wilk test of the report (``scipy.stats.shapiro`` through
:func:`ketapain_lib.stats.descriptives.shapiro_wilk`) against R's ``shapiro.test``
(tests/reference/make_shapiro_reference.R).

R computes Royston's algorithm AS R94 in double precision; SciPy's port keeps single-precision constants.
On the 82 reference samples (3 to 2,000 values, the trial's own AUCs among them) SciPy's W is within 1e-9 of
R's (relative) and its P within 2e-7 (relative; 1.2e-7 absolute): the tolerances below, 1e-8 for W and
1e-6 for P, are what the report prints well inside (W and P to three decimals).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ketapain_lib.stats.descriptives import shapiro_wilk

REFERENCE = json.loads((Path(__file__).parent / "reference" / "shapiro_reference.json").read_text())
W_TOLERANCE, P_TOLERANCE = 1e-8, 1e-6  # relative


def test_shapiro_wilk_agrees_with_r_on_every_reference_sample():
    worst_w = worst_p = 0.0
    for entry in REFERENCE:
        w, p = shapiro_wilk(entry["x"])
        worst_w = max(worst_w, abs(w - entry["w"]) / entry["w"])
        worst_p = max(worst_p, abs(p - entry["p"]) / entry["p"])
    assert len(REFERENCE) >= 80
    assert worst_w < W_TOLERANCE and worst_p < P_TOLERANCE, (worst_w, worst_p)


def test_shapiro_wilk_ignores_order_and_location():
    rng = np.random.default_rng(11)
    for n in [3, 4, 5, 6, 11, 12, 25, 200]:
        x = rng.gamma(2.0, 3.0, n)
        ours = shapiro_wilk(x)
        assert shapiro_wilk(rng.permutation(x)) == ours
        np.testing.assert_allclose(shapiro_wilk(x + 1e4), ours, rtol=1e-6)


def test_shapiro_wilk_edges_are_the_libraries_own():
    assert shapiro_wilk([2.0, 2.0, 2.0, 2.0]) == (1.0, 1.0)  # no spread: no evidence against normality
    w, p = shapiro_wilk(np.random.default_rng(3).normal(size=6000))  # beyond R's 5,000: no warning, a P
    assert 0 < w <= 1 and 0 <= p <= 1
    with pytest.raises(ValueError, match="at least 3 values"):
        shapiro_wilk([1.0, 2.0])
