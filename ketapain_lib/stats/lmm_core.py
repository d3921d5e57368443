"""Linear random-intercept mixed model by profiled (RE)ML, with exact GLS SEs and small-sample df.

Model, for observation ``j`` of patient ``i`` (what R's ``lmer(y ~ ... + (1 | patient))`` fits)::

    y_ij = x_ij' beta + b_i + e_ij,    b_i ~ N(0, s2_patient),  e_ij ~ N(0, s2_residual)

* **Profile.** ``beta`` and ``s2_residual`` are profiled out, leaving ``t = s2_patient / s2_residual``
  (lme4's ``theta ** 2``). With ``V_i = s2_e (I + t 11')`` the GLS cross-products are a within-patient
  part plus ``sum_i n_i / (1 + n_i t) m_i m_i'`` (``m_i``: patient means), summed once per distinct
  patient size: set-up O(n p^2), then O(p^3) per evaluation, on an orthonormalised ``X`` (Gram-Schmidt,
  two passes) and the OLS residual of ``y``. The analytic derivative of the profiled deviance is solved
  by Brent's method to machine precision in brackets from a grid of ``t`` (0, 1e-8 ... 1e8): the root
  of an exact gradient, not a flat minimum. ``t = 0`` wins if the derivative there is >= 0 (singular).
* **Determinism.** Rows are put in a canonical order (patients by their own rows, then rows by value),
  sums are numpy reductions in that order and no estimate passes through BLAS/LAPACK: fits are bitwise
  independent of the row order, of the patients' labels and of the BLAS kernel (``OPENBLAS_CORETYPE``).
* **Aliasing.** A column whose norm after projection on the kept columns before it is below 1e-7 of its
  own is dropped, as lme4 does (``dqrdc2``, tol 1e-7).

Tests of ``L beta = 0`` on a fit (Wald, Satterthwaite, Kenward-Roger) are in
:mod:`ketapain_lib.stats.small_sample`.
"""
from __future__ import annotations

import math
from operator import mul
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from scipy import optimize

RANK_TOL = 1e-7
_GRID = np.concatenate([[0.0], 10.0 ** (np.arange(-16, 17) / 2)])
wsum = partial(np.einsum, "...k,kij->...ij")          # sum_k coef[..., k] mats[k], without BLAS


@dataclass(frozen=True)
class Design:
    """Sufficient statistics, on the scale of an orthonormal basis Q of the kept columns of X."""
    n: int
    r: int
    n_groups: int
    within: np.ndarray     # (r+1, r+1) within-patient cross-products of [Q, OLS residual]
    between: np.ndarray    # (K, r+1, r+1) sum of n_i m_i m_i' over the patients of each size
    sizes: np.ndarray      # (K,) distinct patient sizes, and (K,) patients of each size
    counts: np.ndarray
    R: np.ndarray          # (r, r) upper triangular, X_kept = Q R; and Q'y
    ols: np.ndarray


@dataclass(frozen=True)
class RandomInterceptFit:
    """A fitted random-intercept model (see :func:`fit_random_intercept`).

    ``beta`` (outcome units per unit of each kept column of ``X``) and
    ``cov_beta = s2_residual (X'WX)^-1`` (GLS at the optimum) refer to the
    columns ``kept``. ``s2_patient``, ``s2_residual``: squared outcome units,
    NaN when not identifiable (see ``notes``). ``loglik``: R's ``logLik``.
    """
    beta: np.ndarray
    cov_beta: np.ndarray
    s2_patient: float
    s2_residual: float
    loglik: float
    reml: bool
    n_obs: int
    n_groups: int
    rank: int
    kept: tuple[int, ...]
    dropped: tuple[int, ...]
    converged: bool
    notes: tuple[str, ...]
    design: Design = field(repr=False, compare=False)  #: the reduced design the fit was computed from
    ratio: float = field(repr=False, compare=False)  #: the fitted s2_patient / s2_residual
    #: True when the patient effect is confounded with the fixed effects (e.g. one patient per sequence): then
    #: ``beta`` and ``s2_residual`` are the within-patient (fixed patient effects) analysis and ``cov_beta`` is
    #: valid for within-patient contrasts only (:func:`within_patient`).
    within_only: bool = False

    @property
    def se(self) -> np.ndarray:
        """Standard errors of ``beta``."""
        return np.sqrt(np.diag(self.cov_beta))


def tri_inv(L: np.ndarray) -> np.ndarray:
    """Inverses of a stack of lower-triangular matrices, by forward substitution (no LAPACK)."""
    inv = np.zeros_like(L)
    for i in range(L.shape[-1]):
        rhs = -(L[..., i, :i, None] * inv[..., :i, :]).sum(-2)
        rhs[..., i] += 1.0
        inv[..., i, :] = rhs / L[..., i, i][..., None]
    return inv


def _factor(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower Cholesky factors of a stack of SPD matrices (no LAPACK), and inverses of their leading blocks.

    One small matrix: Python floats, several times faster than numpy calls at p ~ 10, as deterministic."""
    if C.shape[0] > 1 or C.shape[-1] > 24:
        L = np.zeros_like(C)
        for j in range(C.shape[-1]):
            row = L[:, j, :j]
            L[:, j, j] = np.sqrt(C[:, j, j] - (row * row).sum(-1))
            L[:, j + 1:, j] = (C[:, j + 1:, j] - (L[:, j + 1:, :j] * row[:, None]).sum(-1)) / L[:, j, j, None]
        return L, tri_inv(L[:, :-1, :-1])
    C, m = C[0].tolist(), C.shape[-1]
    L, inv = [[0.0] * m for _ in range(m)], [[0.0] * (m - 1) for _ in range(m - 1)]   # inv: by columns
    for j in range(m):
        Lj = L[j][:j]
        L[j][j] = d = math.sqrt(C[j][j] - sum(map(mul, Lj, Lj)))
        for i in range(j + 1, m):
            L[i][j] = (C[i][j] - sum(map(mul, L[i][:j], Lj))) / d
    for j, x in enumerate(inv):
        for i in range(j, m - 1):
            x[i] = ((i == j) - sum(map(mul, L[i][j:i], x[j:i]))) / L[i][i]
    return np.array(L)[None], np.array(inv).T[None]


def _orthogonalise(X: np.ndarray, y: np.ndarray):
    """Gram-Schmidt (two passes) of the columns of X in order, dropping aliased ones, then of y.

    Returns (Q' as rows, R of the kept columns, Q'y, OLS residual of y, kept column indices)."""
    n, p = X.shape
    Qt, R, kept = np.zeros((p + 1, n)), np.zeros((p + 1, p + 1)), []
    for j in range(p + 1):
        v = (X[:, j] if j < p else y).copy()
        k = len(kept)
        for _ in range(2):
            coef = (Qt[:k] * v).sum(1)
            v -= (Qt[:k] * coef[:, None]).sum(0)
            R[:k, j] += coef
        norm = math.sqrt((v * v).sum())
        if j < p and norm > RANK_TOL * math.sqrt((X[:, j] ** 2).sum()):
            Qt[k], R[k, j] = v / norm, norm
            kept.append(j)
    return Qt[:len(kept)], R[:len(kept)][:, kept], R[:len(kept), p], v, kept


def _validate(y, X, groups):
    y, X, groups = np.asarray(y, dtype=float), np.asarray(X, dtype=float), np.asarray(groups)
    X = X[:, None] if X.ndim == 1 else X
    if y.ndim != 1 or X.ndim != 2 or groups.ndim != 1 or not len(y) == len(X) == len(groups) or not X.size:
        raise ValueError(f"y, X and groups must be 1-D, 2-D (at least one column) and 1-D with one row per "
                         f"observation; got shapes {y.shape}, {X.shape}, {groups.shape}")
    if not np.isfinite(y).all():
        raise ValueError(f"y has {int((~np.isfinite(y)).sum())} non-finite value(s) (NaN or inf)")
    bad = ~np.isfinite(X).all(axis=0)
    if bad.any():
        raise ValueError(f"X has non-finite values (NaN or inf) in column(s) {np.flatnonzero(bad).tolist()}")
    try:
        labels, codes = np.unique(groups, return_inverse=True)
    except TypeError:
        raise ValueError("groups has missing values or labels of mixed types") from None
    if labels.dtype.kind in "fO" and any(g is None or g != g for g in labels):
        raise ValueError("groups has missing values")
    if len(labels) < 2:
        raise ValueError("a single patient (group): the between-patient variance is not identifiable; "
                         "at least two patients are needed")
    return y, X, codes.reshape(-1)


def _content_codes(y: np.ndarray, X: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Patient codes renumbered by the patients' own rows, so that neither labels nor file order set the order."""
    order = np.lexsort([y, *X.T[::-1], codes])
    rows = np.column_stack([y, X])[order]
    starts = np.flatnonzero(np.r_[True, codes[order][1:] != codes[order][:-1]])
    keys = [rows[a:b].tobytes() for a, b in zip(starts, np.r_[starts[1:], len(y)])]
    # any total order of the content will do; patients with identical rows are interchangeable
    rank = np.empty(len(keys), dtype=np.int64)
    rank[sorted(range(len(keys)), key=keys.__getitem__)] = np.arange(len(keys))
    return rank[codes]


def _design(y: np.ndarray, X: np.ndarray, codes: np.ndarray) -> tuple[Design, list[int], np.ndarray]:
    codes = _content_codes(y, X, codes)
    order = np.lexsort([y, *X.T[::-1], codes])
    y, X, codes = y[order], X[order], codes[order]
    Qt, R, ols, resid, kept = _orthogonalise(X, y)
    if not kept or len(y) <= len(kept):
        raise ValueError("X has rank 0 (every column is zero)" if not kept else f"{len(y)} observation(s) for "
                         f"{len(kept)} estimable fixed effect(s): need more observations than the rank of X")
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    n_i = np.diff(np.r_[starts, len(y)])
    aug = np.vstack([Qt, resid])
    means = np.add.reduceat(aug, starts, axis=1) / n_i
    centred = aug - means[:, codes]
    within = np.einsum("in,jn->ij", centred, centred)
    sizes, size_of = np.unique(n_i, return_inverse=True)
    between = np.stack([np.einsum("ig,jg->ij", means[:, size_of == k] * n_i[size_of == k],
                                  means[:, size_of == k]) for k in range(len(sizes))])
    counts = np.bincount(size_of.reshape(-1)).astype(float)
    return Design(len(y), len(kept), len(n_i), within, between, sizes.astype(float), counts, R, ols), kept, resid


def profile(d: Design, t: np.ndarray, reml: bool) -> dict:
    """Profiled deviance (-2 log-lik up to constants), its derivative in ``t``, and GLS pieces."""
    r, a = d.r, 1.0 / (1.0 + np.multiply.outer(t, d.sizes))              # a: (T, K)
    L, Linv = _factor(d.within + wsum(a, d.between))
    beta = (Linv * L[:, r, :r, None]).sum(-2)                             # GLS of the OLS residual on Q
    rss = L[:, r, r] ** 2
    v = np.concatenate([-beta, np.ones((len(t), 1))], axis=1)
    q = np.einsum("ti,kij,tj->tk", v, d.between, v)                      # sum of n_i * mean residual^2
    dof = d.n - r if reml else d.n
    dev = dof * np.log(rss) + (d.counts * np.log1p(np.multiply.outer(t, d.sizes))).sum(-1)
    grad = -dof * (d.sizes * a ** 2 * q).sum(-1) / rss + (d.counts * d.sizes * a).sum(-1)
    Ainv = np.einsum("tki,tkj->tij", Linv, Linv)
    if reml:
        dev += 2 * np.log(np.diagonal(L[:, :r, :r], axis1=-2, axis2=-1)).sum(-1)
        grad -= (Ainv * wsum(d.sizes * a ** 2, d.between[:, :r, :r])).sum((-2, -1))
    return {"dev": dev, "grad": grad, "rss": rss, "beta": beta, "Ainv": Ainv, "v": v, "q": q}


def _identifiability(d: Design) -> tuple[str, bool, bool] | None:
    """Why ``s2_patient`` cannot be estimated, and whether s2_residual and cov_beta still can; or None."""
    if d.sizes.max() == 1:
        return "every patient has exactly one observation (only the total variance is estimable)", False, True
    within_rank = np.linalg.matrix_rank(d.within[:d.r, :d.r], tol=1e-10)   # of the patient-centred Q
    if d.n_groups + within_rank - d.r == 0:
        return ("the patient effect is confounded with the fixed effects (no between-patient residual "
                "degrees of freedom, e.g. one patient per sequence); the within-patient contrasts are estimated "
                "from the differences within patients, as with fixed patient effects, and the between-patient "
                "terms have no standard error", True, False)
    return None      # other cases (e.g. no within-patient residual df, balanced) show as a flat profile


def _optimum(d: Design, reml: bool) -> tuple[float, bool, str | None]:
    """The ratio t = s2_patient / s2_residual maximising the (restricted) likelihood: (t, converged, note)."""
    grid = profile(d, _GRID, reml)
    dev, grad = grid["dev"], grid["grad"]
    if np.ptp(dev) <= 1e-10 * max(1.0, np.abs(dev).max()):
        return 0.0, True, "the profile likelihood is flat"
    candidates = [(dev[0], 0.0, True)] if grad[0] >= 0 else []
    for k in np.flatnonzero((grad[:-1] < 0) & (grad[1:] > 0)):
        root, info = optimize.brentq(lambda t: profile(d, np.array([t]), reml)["grad"][0], _GRID[k],
                                     _GRID[k + 1], xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500,
                                     full_output=True, disp=False)
        candidates.append((profile(d, np.array([root]), reml)["dev"][0], root, info.converged))
    if not candidates:       # deviance still decreasing at t = 1e8: residual variance ~ 0
        return float(_GRID[-1]), False, None
    _, t, ok = min(candidates)
    return float(t), bool(ok), None


def fit_random_intercept(y, X, groups, reml: bool) -> RandomInterceptFit:
    """Fit ``y = X beta + b_patient + e`` by REML (``reml=True``) or ML.

    ``y``: (n,) outcome; ``X``: (n, p) fixed-effects design, intercept
    included; ``groups``: (n,) patient labels. Aliased columns of ``X`` are
    dropped (listed in ``dropped`` and ``notes``). ``ValueError`` for
    non-finite data, a single patient, ``n <= rank(X)`` or an exact fit.

    >>> y = [10., 12., 20., 25., 14., 15., 30., 31.]
    >>> X = np.column_stack([np.ones(8), [0., 1.] * 4])
    >>> fit = fit_random_intercept(y, X, [1, 1, 2, 2, 3, 3, 4, 4], reml=True)
    >>> fit.beta.round(6).tolist(), round(fit.s2_patient, 6), round(fit.s2_residual, 6)
    ([18.5, 2.25], 74.833333, 1.791667)
    """
    y, X, codes = _validate(y, X, groups)
    d, kept, resid = _design(y, X, codes)
    if not (resid ** 2).sum() > 1e-24 * (y ** 2).sum():
        raise ValueError("y is fitted exactly by X: the residual variance is zero")
    return _fit(d, tuple(kept), X.shape[1], reml)


def refit(fit: RandomInterceptFit, reml: bool) -> RandomInterceptFit:
    """The same model on the same data by REML (``reml=True``) or ML, from the fit's sufficient statistics.

    Bitwise what :func:`fit_random_intercept` gives on the data (the statistics are the ones it computes),
    without the data's canonical ordering and orthogonalisation again.

    >>> X = np.column_stack([np.ones(8), [0., 1.] * 4])
    >>> ml = fit_random_intercept([10., 12., 20., 25., 14., 15., 30., 31.], X, [1, 1, 2, 2, 3, 3, 4, 4], reml=False)
    >>> round(refit(ml, reml=True).s2_patient, 6)
    74.833333
    """
    return _fit(fit.design, fit.kept, len(fit.kept) + len(fit.dropped), reml)


def dropped_note(dropped: tuple[int, ...]) -> str:
    """The fit's note on the columns it dropped as aliased (by index; :func:`formulas.named_notes` names them)."""
    return f"dropped aliased column(s): {list(dropped)}"


def _fit(d: Design, kept: tuple[int, ...], columns: int, reml: bool) -> RandomInterceptFit:
    dropped = tuple(j for j in range(columns) if j not in kept)
    notes = [dropped_note(dropped)] if dropped else []
    problem = _identifiability(d)
    t, converged, flat = (0.0, True, None) if problem else _optimum(d, reml)
    problem = problem or ((flat, False, False) if flat else None)
    if not converged:
        notes.append("no interior optimum: the residual variance is estimated at (near) zero")
    at = profile(d, np.array([t]), reml)
    dof = d.n - d.r if reml else d.n
    s2_e = float(at["rss"][0]) / dof
    Rinv = tri_inv(d.R.T[None])[0].T
    beta = np.einsum("ij,j->i", Rinv, d.ols + at["beta"][0])
    cov = s2_e * np.einsum("ik,kl,jl->ij", Rinv, at["Ainv"][0], Rinv)
    loglik = -0.5 * (float(at["dev"][0]) + dof * (1.0 + math.log(2 * math.pi / dof)))
    loglik -= float(np.log(np.abs(np.diag(d.R))).sum()) if reml else 0.0
    s2_b = t * s2_e
    within_only = bool(problem) and problem[1] and not problem[2]
    if problem:
        notes.append(f"between-patient variance not identifiable: {problem[0]}")
        # confounded: GLS is OLS whatever the ratio (the patient means are in the span of X), and at t = 0 the
        # covariance of every within-patient contrast is exact (it does not depend on t)
        cov = cov if problem[2] or within_only else np.full_like(cov, np.nan)
        s2_b, s2_e = math.nan, (s2_e if problem[1] else math.nan)
    elif t == 0.0:
        notes.append("singular fit: the between-patient variance is estimated at zero")
    return RandomInterceptFit(beta=beta, cov_beta=cov, s2_patient=s2_b, s2_residual=s2_e, loglik=loglik,
                              reml=reml, n_obs=d.n, n_groups=d.n_groups, rank=d.r, kept=kept,
                              dropped=dropped, converged=converged, notes=tuple(notes), design=d, ratio=t,
                              within_only=within_only)


def within_patient(fit: RandomInterceptFit, L) -> np.ndarray:
    """Whether each row of ``L`` (over the kept columns of X) is a within-patient contrast: estimable from the
    differences within patients alone (its estimate and variance do not involve the between-patient variance).

    >>> X = np.column_stack([np.ones(8), [0., 1.] * 4])
    >>> fit = fit_random_intercept([10., 12., 20., 25., 14., 15., 30., 31.], X, [1, 1, 2, 2, 3, 3, 4, 4], reml=True)
    >>> within_patient(fit, [[0., 1.], [1., 0.]]).tolist()
    [True, False]
    """
    L = np.atleast_2d(np.asarray(L, dtype=float))
    d = fit.design
    LQ = L @ tri_inv(d.R.T[None])[0].T                          # the rows over the orthonormal basis Q
    values, vectors = np.linalg.eigh(d.within[:d.r, :d.r])         # within-patient cross-products of Q
    span = vectors[:, values > 1e-10 * max(1.0, values.max())]
    outside = LQ - (LQ @ span) @ span.T
    return np.sqrt((outside ** 2).sum(1)) <= 1e-8 * np.maximum(np.sqrt((LQ ** 2).sum(1)), 1e-300)
