"""Multiple imputation by chained equations with predictive mean matching, as a function of the data only.

:func:`impute_pmm` replaces statsmodels ``MICEData(k_pmm=...)`` for the diary
imputation. Its completed values depend on the data, the predictor sets and
the seed, and on nothing else: not on the order of the rows, not on the
patient labels, not on the order of the columns, not on the BLAS kernel.

Algorithm (van Buuren, *Flexible Imputation of Missing Data*, 2nd ed., 3.4,
algorithm 3.3, as in R ``mice.impute.pmm``):

* initial fill: each missing cell gets an observed value of its column drawn
  at random (``mice.impute.sample``; statsmodels fills the observed value
  closest to the column mean);
* one cycle updates every incomplete column in canonical order (columns sorted
  by name). Update of column ``y``: OLS of ``y`` on an intercept and its
  predictors (current values, imputed ones included) over the rows where ``y``
  is observed, with mice's ridge ``1e-5 * diag(X'X)``, computed by a QR
  factorisation; posterior draw ``sigma*^2 = RSS / chi2(n - p)`` and
  ``beta* = beta_hat + sigma* R^-1 z`` (``z`` standard normal, so that
  ``cov(beta*) = sigma*^2 (X'X)^-1``); *type-1 matching*: the observed rows are
  predicted with ``beta_hat``, the missing rows with ``beta*`` (mice's default;
  statsmodels predicts both with its draw, i.e. type 2, and draws ``beta``
  without drawing ``sigma``); each missing row takes the observed value of one
  of its ``donors`` nearest observed rows chosen uniformly at random.
* ``burn_in`` cycles, then ``n_imputations`` snapshots, one every ``thinning``
  cycles of the same chain (as ``sensitivity.imputations`` does).

Determinism (see :func:`_canonical_order` and :func:`_grid`): the rows are
processed in an order defined by their content, and the random draws
(``numpy.random.default_rng(seed)``) are consumed in a fixed sequence; the
predicted values are rounded on a grid before the donors are chosen, and ties
in distance are broken by canonical row position, never at random.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: mice's ridge penalty, relative to the diagonal of X'X (keeps collinear or constant predictors solvable)
RIDGE = 1e-5
#: grid of the predicted values, relative to the scale of the column's observed values (see :func:`_grid`)
GRID_RELATIVE = 1e-9


def _check_arguments(wide: pd.DataFrame, predictors: dict, n_imputations: int, burn_in: int,
                     thinning: int, donors: int) -> tuple[list, dict]:
    """Validate the arguments; return the columns to impute (sorted) and their predictors (sorted)."""
    if n_imputations < 1 or burn_in < 0 or thinning < 1 or donors < 1:
        raise ValueError("need n_imputations >= 1, burn_in >= 0, thinning >= 1 and donors >= 1")
    if wide.columns.has_duplicates:
        raise ValueError("the columns of wide must have distinct names")
    canonical = {}
    for column, names in predictors.items():
        names = sorted(set(names), key=str)
        unknown = [c for c in [column, *names] if c not in wide.columns]
        if unknown:
            raise ValueError(f"unknown column(s) {unknown} in the predictors of {column!r}")
        if column in names:
            raise ValueError(f"column {column!r} cannot predict itself")
        canonical[column] = names
    targets = sorted((c for c in canonical if wide[c].isna().any()), key=str)
    for column in targets:
        if wide[column].notna().sum() == 0:
            raise ValueError(f"column {column!r} has no observed value: nothing to match its missing cells to")
    for column in targets:
        gaps = [c for c in canonical[column] if c not in targets and wide[c].isna().any()]
        if gaps:
            raise ValueError(f"predictor(s) {gaps} of {column!r} have missing values and are not imputed")
    return targets, canonical


def _label_rank(index: pd.Index) -> np.ndarray:
    """Rank of each row's label in sorted label order; caller's order if labels cannot be sorted."""
    try:
        indexer = np.asarray(index.argsort(kind="stable"))
    except (TypeError, ValueError):
        indexer = np.arange(len(index))
    rank = np.empty(len(index), dtype=np.int64)
    rank[indexer] = np.arange(len(index))
    return rank


def _canonical_order(values: np.ndarray, index: pd.Index) -> np.ndarray:
    """Order of the rows sorted lexicographically by their content, labels only to break exact ties.

    The key of a row is, column after column (columns sorted by name), the
    pair (is missing, value), so that a missing cell sorts after every value
    and never collides with one. Only rows identical in every column the
    algorithm reads are left tied; they are ordered by their labels. Such rows
    are interchangeable for the algorithm (it computes the same thing whichever
    goes first), so the residual dependence is this one: relabelling may swap
    the completed values between two rows of identical content that both have
    a missing cell (the set of completed rows stays the same). Rows with
    duplicate or unsortable labels fall back to the caller's order among such
    ties.
    """
    keys = [_label_rank(index)]
    for j in reversed(range(values.shape[1])):  # np.lexsort: the last key is the primary one
        missing = np.isnan(values[:, j])
        keys += [np.where(missing, 0.0, values[:, j]), missing]
    return np.lexsort(keys)


def _predict(x: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """``beta[0] + x @ beta[1:]``, accumulated column by column with elementwise operations.

    Elementwise float operations are correctly rounded on every CPU (no BLAS
    kernel, no fused multiply-add), so rows with identical predictors get
    bit-identical predictions whatever the machine.
    """
    out = np.full(x.shape[0], beta[0])
    for j in range(x.shape[1]):
        out += beta[j + 1] * x[:, j]
    return out


def _r_factor(a: np.ndarray, block: int = 256) -> np.ndarray:
    """The triangular factor R of ``a = QR`` (Q never formed), blockwise for tall matrices (TSQR).

    R of each block of rows, then R of the stacked R's: backward stable like
    one Householder QR, and each LAPACK call is small enough to stay on one thread
    (one QR of a 6,000-row matrix goes multi-threaded in OpenBLAS and is ~40
    times slower on a busy machine). Zero rows pad the last block; they leave R unchanged.
    """
    block = max(block, 4 * a.shape[1])
    if a.shape[0] > block:
        padded = np.vstack([a, np.zeros((-a.shape[0] % block, a.shape[1]))])
        a = np.linalg.qr(padded.reshape(-1, block, a.shape[1]), mode="r").reshape(-1, a.shape[1])
    return np.linalg.qr(a, mode="r")


def _draw_coefficients(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Ridge-stabilised OLS ``beta_hat`` of ``y`` on ``[1, x]`` and a draw ``beta*`` from its posterior."""
    n, p = len(y), x.shape[1] + 1
    chi2, z = rng.chisquare(max(n - p, 1)), rng.standard_normal(p)
    augmented = np.zeros((n + p, p + 1))  # [1 x y] over the ridge rows [sqrt(ridge * diag(X'X)) 0]
    augmented[:n, 0], augmented[:n, 1:p], augmented[:n, p] = 1.0, x, y
    scale = np.sum(augmented[:n, :p] * augmented[:n, :p], axis=0)
    augmented[np.arange(n, n + p), np.arange(p)] = np.sqrt(RIDGE * np.where(scale > 0, scale, 1.0))
    # R of the augmented matrix: R[:p, :p]'R[:p, :p] = X'X + ridge, R[:p, p] = Q'y; no normal equations formed
    r = _r_factor(augmented)
    # R is upper triangular, so LU with partial pivoting is plain back substitution (R^-1 Q'y and R^-1 z)
    beta_hat, direction = np.linalg.solve(r[:p, :p], np.column_stack([r[:p, p], z])).T
    residuals = y - _predict(x, beta_hat)
    return beta_hat, beta_hat + np.sqrt(np.sum(residuals * residuals) / chi2) * direction


def _grid(predicted: np.ndarray, quantum: float) -> np.ndarray:
    """Predicted values in whole units of ``quantum`` (exact integers held as floats).

    Not cosmetic: the donor choice is a discontinuous function of the
    predictions, and with integer diaries exact ties are common (observed rows
    with identical predictors have identical predictions in exact
    arithmetic). A BLAS kernel may give such rows different last bits (another
    code path for some rows, FMA or not) and then the noise, not the data,
    orders the tied donors: with predictions perturbed by 1 ulp row by row,
    973 of 1,690 imputed cells change without the grid, none with it. On a
    grid ~1e5 times coarser than that noise the ties stay exact, distances
    are exact integers and ties go by canonical position. A last-bit change can
    still flip a decision only if two candidates are within one grid unit of
    each other *and* a prediction sits within the noise of a half-grid point.
    (:func:`_predict` avoids BLAS as well; either defence alone keeps the
    results identical under the Haswell, Sandybridge and Nehalem kernels, but
    the grid also covers noise that comes from the fit.)
    """
    return np.rint(predicted / quantum)


def _match(u_observed: np.ndarray, u_missing: np.ndarray, donors: int, rng: np.random.Generator) -> np.ndarray:
    """For each missing row, a donor (index into the observed rows) among its ``donors`` nearest ones.

    Nearness is (|distance| on the grid, canonical position): exact and
    deterministic. The donor is then drawn uniformly among the ``k`` nearest.
    """
    n, k = len(u_observed), min(donors, len(u_observed))
    ascending = np.argsort(u_observed, kind="stable")  # candidates >= prediction: value up, then position
    descending = np.argsort(-u_observed, kind="stable")  # candidates < prediction: value down, then position
    below = np.searchsorted(u_observed[ascending], u_missing, side="left")
    steps = np.arange(k)
    right, left = below[:, None] + steps, (n - below)[:, None] + steps
    candidates = np.concatenate([ascending[np.minimum(right, n - 1)], descending[np.minimum(left, n - 1)]], axis=1)
    distance = np.abs(u_observed[candidates] - u_missing[:, None])
    distance[np.concatenate([right >= n, left >= n], axis=1)] = np.inf
    nearest = np.lexsort((candidates, distance), axis=1)[:, :k]
    rows = np.arange(len(u_missing))
    return candidates[rows, nearest[rows, rng.integers(0, k, size=len(u_missing))]]


def _scale(observed: np.ndarray) -> float:
    """Scale of a column for the prediction grid: range of observed values, else magnitude, else 1."""
    spread = float(np.ptp(observed))
    return spread if spread > 0 else (float(np.max(np.abs(observed))) or 1.0)


def impute_pmm(wide: pd.DataFrame, predictors: dict[str, list[str]], n_imputations: int, burn_in: int,
               thinning: int, seed: int, donors: int = 5) -> list[pd.DataFrame]:
    """``n_imputations`` completed copies of ``wide`` by chained equations and predictive mean matching.

    ``predictors`` maps each column to impute to the columns predicting it (an
    intercept is added). Columns without missing values are left untouched, as
    are columns that are not keys of ``predictors``. The copies keep the
    caller's index, columns and row order; their values do not depend on them.

    Raises ``ValueError`` for a column to impute without any observed value, or
    a predictor with missing values that is not itself imputed.
    """
    targets, canonical = _check_arguments(wide, predictors, n_imputations, burn_in, thinning, donors)
    used = sorted({c for t in targets for c in [t, *canonical[t]]}, key=str)
    try:
        values = wide[used].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the imputed and predictor columns must be numeric: {error}") from None
    order = _canonical_order(values, wide.index)
    data = values[order]
    rng = np.random.default_rng(seed)
    column = {c: j for j, c in enumerate(used)}
    plan = []
    for target in targets:
        j = column[target]
        rows = np.isnan(data[:, j])
        missing, observed = np.flatnonzero(rows), np.flatnonzero(~rows)
        data[missing, j] = data[observed[rng.integers(0, len(observed), size=len(missing))], j]
        plan.append((j, [column[c] for c in canonical[target]], missing, observed, data[observed, j].copy()))
    completed = []
    for cycle in range(1, burn_in + n_imputations * thinning + 1):
        for j, sources, missing, observed, y in plan:
            x_observed, x_missing = data[np.ix_(observed, sources)], data[np.ix_(missing, sources)]
            data[missing, j] = y[_pmm_draw(x_observed, y, x_missing, donors, rng)]
        if cycle > burn_in and (cycle - burn_in) % thinning == 0:
            completed.append(_restore(wide, data, order, [(t, column[t]) for t in targets]))
    return completed


def _pmm_draw(x_observed: np.ndarray, y: np.ndarray, x_missing: np.ndarray, donors: int,
              rng: np.random.Generator) -> np.ndarray:
    """One PMM step for one column: the donor (index into ``y``) of each missing row (type-1 matching)."""
    beta_hat, beta_star = _draw_coefficients(x_observed, y, rng)
    quantum = GRID_RELATIVE * _scale(y)
    u_observed = _grid(_predict(x_observed, beta_hat), quantum)
    u_missing = _grid(_predict(x_missing, beta_star), quantum)
    return _match(u_observed, u_missing, donors, rng)


def _restore(wide: pd.DataFrame, data: np.ndarray, order: np.ndarray, targets: list) -> pd.DataFrame:
    """A copy of ``wide`` with the imputed columns taken from ``data`` (canonical rows) in the caller's order."""
    frame = wide.copy()
    caller = np.empty_like(data)
    caller[order] = data
    for name, j in targets:
        frame[name] = caller[:, j]
    return frame
