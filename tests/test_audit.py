"""The audit of the paper: each consistency test against brute force or an independent computation, and the
audit table's verdicts on the published numbers."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from ketapain_lib.paper import consistency as test
from ketapain_lib.paper.audit import VERDICTS, audit_table


@pytest.fixture(scope="module")
def printable() -> set[tuple[float, float]]:
    """Every (mean, SD) at 2 decimals that 5 integers from 0 to 14 can print: the brute-force reference."""
    found = set()
    for values in itertools.combinations_with_replacement(range(15), 5):
        data = np.array(values, dtype=float)
        found.add((round(float(data.mean()), 2), round(float(data.std(ddof=1)), 2)))
    return found


def test_grim_and_grimmer_agree_with_brute_force_on_every_printed_pair(printable):
    means = {mean for mean, _ in printable}
    for mean in np.round(np.arange(5.0, 9.0, 0.01), 2):
        assert test.grim(float(mean), 0.005, 5) == (float(mean) in means), mean
    for mean in np.round(np.arange(5.0, 9.0, 0.2), 2):
        for sd in np.round(np.arange(0.0, 3.0, 0.01), 2):
            expected = (float(mean), float(sd)) in printable
            assert test.grimmer(float(mean), 0.005, float(sd), 0.005, 5) == expected, (mean, sd)


def test_grim_on_half_units_is_grim_on_doubled_integers():
    for mean in np.round(np.arange(10.0, 12.0, 0.01), 2):
        assert test.grim(float(mean), 0.005, 7, unit=0.5) == test.grim(float(2 * mean), 0.01, 7)


def test_percentages_of_twenty_are_multiples_of_five():
    assert [p for p in range(101) if test.percent_of(p, 0.5, 20)] == list(range(0, 101, 5))


def test_the_p_a_ci_implies_brackets_the_wald_p_of_its_unrounded_numbers():
    from scipy import stats  # the reference, imported where a test needs it (a second per worker)
    rng = np.random.default_rng(3)
    for _ in range(200):
        estimate, se = rng.normal(0, 1), rng.uniform(0.1, 1)
        low, high = estimate - 1.959964 * se, estimate + 1.959964 * se
        exact = 2 * stats.norm.sf(abs(estimate) / se)
        p_low, p_high = test.p_from_ci(round(estimate, 1), round(low, 1), round(high, 1), 0.05)
        assert p_low - 1e-12 <= exact <= p_high + 1e-12


def test_the_omnibus_formula_matches_a_fitted_balanced_crossover():
    """Patients as fixed effects, period and treatment, in a balanced Williams design: the 2-df Wald statistic
    equals the formula from the two z tests against placebo (same residual variance in both)."""
    from scipy import stats  # the reference, imported where a test needs it (a second per worker)
    rng = np.random.default_rng(11)
    sequences = [(0, 1, 2), (0, 2, 1), (1, 2, 0), (2, 1, 0), (1, 0, 2), (2, 0, 1)]
    for _ in range(5):
        rows = [(patient, period, treatment) for patient, sequence in enumerate(sequences * 3)
                for period, treatment in enumerate(sequence)]
        patients, periods, treatments = (np.array(column) for column in zip(*rows))
        y = rng.normal(0, 1, len(rows)) + 0.4 * (treatments == 1) + rng.normal(0, 1, 18)[patients]
        design = np.column_stack([np.eye(18)[patients], np.eye(3)[periods][:, 1:], np.eye(3)[treatments][:, 1:]])
        beta, *_ = np.linalg.lstsq(design, y, rcond=None)
        residual = y - design @ beta
        sigma2 = residual @ residual / (len(y) - np.linalg.matrix_rank(design))
        cov = sigma2 * np.linalg.pinv(design.T @ design)[-2:, -2:]
        effects = beta[-2:]
        chi2 = float(effects @ np.linalg.solve(cov, effects))
        z = effects / np.sqrt(np.diag(cov))
        assert test.omnibus_from_pairwise(float(z[0]), float(z[1])) == pytest.approx(stats.chi2.sf(chi2, 2), rel=1e-9)
        roots = test.second_contrast_for_omnibus(float(z[0]), float(stats.chi2.sf(chi2, 2)))
        assert min(abs(root - z[1]) for root in roots) < 1e-6


def test_t_test_ranges_bracket_scipy_on_the_printed_numbers():
    from scipy import stats  # the reference, imported where a test needs it (a second per worker)
    ranges = test.t_test_p(378, 212, 12, 343, 151, 8, 0.5, 0.5)
    exact = stats.ttest_ind_from_stats(378, 212, 12, 343, 151, 8).pvalue
    assert ranges["student"][0] <= exact <= ranges["student"][1]


def test_the_audit_runs_at_least_sixty_checks_and_finds_the_papers_inconsistencies():
    table = audit_table()
    assert len(table) >= 60 and set(table["verdict"]) <= set(VERDICTS)
    assert table["tolerance"].str.len().gt(0).all() and table["detail"].str.len().gt(0).all()
    flagged = set(table.loc[table["verdict"] == "inconsistent", "check"])
    assert flagged == {"Sample size from its stated inputs", "Subgroups against the whole: mean of the ketamine sums",
                       "P against the groups' summaries (t tests)", "Any adverse event against each term",
                       "Model structure: the primary P values, effect sizes and CIs together, under the paper's model "
                       "(treatment, sequence and carry-over)"}
    # and what holds: every percentage of the 20 patients, every mean and SD
    assert (table.loc[table["check"].str.startswith(("GRIM", "Percentage")), "verdict"] == "consistent").all()


def test_the_allocation_algebra_matches_a_fitted_design_matrix():
    """The contrasts' covariance from per-sequence blocks equals (X'V^-1X)^-1 of the whole design."""
    import pandas as pd

    from ketapain_lib.design import SEQUENCES, TREATMENT_CODES, TREATMENTS
    from ketapain_lib.stats.crossover import FORMULAS
    from ketapain_lib.stats.formulas import design_matrix

    counts = np.array([[1, 2, 1, 8, 7, 1], [3, 3, 3, 3, 4, 4]])
    for model in ("paper", "period"):
        blocks, names = test.sequence_information(model, 0.89)
        covariances = test.contrast_covariances(blocks, names, counts, ("ketamine", "ketamine_magnesium"))
        for allocation, covariance in zip(counts, covariances):
            rows = []
            for s, sequence in enumerate(SEQUENCES):
                for k in range(allocation[s]):
                    codes = sequence.split("-")
                    rows += [{"patient_id": f"{s}-{k}", "period": q + 1, "treatment": TREATMENT_CODES[c],
                              "carryover": "none" if q == 0 else TREATMENT_CODES[codes[q - 1]],
                              "sequence": sequence, "y": 0.0} for q, c in enumerate(codes)]
            frame = pd.DataFrame(rows)
            frame["treatment"] = pd.Categorical(frame["treatment"], categories=list(TREATMENTS))
            _, X, columns = design_matrix("y ~ " + FORMULAS[model].format(treatment="C(treatment, Treatment('placebo'))"),
                                          frame)
            keep = [j for j in range(X.shape[1]) if np.linalg.matrix_rank(X[:, : j + 1]) > np.linalg.matrix_rank(X[:, :j])]
            X = X[:, keep]
            columns = [columns[j] for j in keep]
            t = 0.89 / 0.11
            v_inverse = np.kron(np.eye(len(frame) // 3), np.eye(3) - t / (1 + 3 * t) * np.ones((3, 3)))
            full = np.linalg.inv(X.T @ v_inverse @ X)
            index = [columns.index(f"C(treatment, Treatment('placebo'))[T.{name}]") for name in ("ketamine", "ketamine_magnesium")]
            assert covariance == pytest.approx(full[np.ix_(index, index)], rel=1e-9)
