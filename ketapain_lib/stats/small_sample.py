"""Tests of ``L beta = 0`` on a random-intercept fit (:mod:`ketapain_lib.stats.lmm_core`).

:func:`wald_chi2` as Stata's ``test``; :func:`satterthwaite_df` as lmerTest;
:func:`kenward_roger` as pbkrtest (``V`` is linear in ``(s2_patient,
s2_residual)``, so ``R_ij = 0``). All in closed form from the per-patient-size
sums of the fit; the test P values pass through LAPACK and agree across BLAS
kernels to about 1e-15.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .lmm_core import RandomInterceptFit, profile, tri_inv, wsum, within_patient


@dataclass(frozen=True)
class ContrastTest:
    """Test of ``L beta = 0``: ``L beta``, its SE (Kenward-Roger: adjusted), F on (ndf, ddf) df, t (1 row), P."""
    estimate: np.ndarray
    se: np.ndarray
    F: float
    t: float
    ndf: int
    ddf: float
    p: float
    method: str


def _contrast(fit: RandomInterceptFit, L, variances: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``L`` (q x p or p, over all columns of X) as rows over the kept columns, and over the basis Q."""
    L, p = np.atleast_2d(np.asarray(L, dtype=float)), len(fit.kept) + len(fit.dropped)
    if L.ndim != 2 or L.shape[1] != p or not np.isfinite(L).all():
        raise ValueError(f"L must be a finite vector or matrix with {p} columns (one per column of X)")
    if np.any(L[:, list(fit.dropped)] != 0):
        raise ValueError(f"L involves dropped aliased column(s) {list(fit.dropped)}: not estimable")
    kept = L[:, list(fit.kept)]
    if np.linalg.matrix_rank(kept) < len(kept):
        raise ValueError("the rows of L are linearly dependent")
    if fit.within_only:
        if not within_patient(fit, kept).all():
            raise ValueError("L involves between-patient terms, which cannot be tested: the patient effect is "
                             "confounded with the fixed effects (see fit.notes)")
    elif not np.isfinite(fit.s2_patient if variances else fit.cov_beta).all():
        raise ValueError("the variance components are not identifiable (see fit.notes): no test")
    return kept, kept @ tri_inv(fit.design.R.T[None])[0].T


def wald_chi2(fit: RandomInterceptFit, L) -> dict[str, float]:
    """Wald chi-square test of ``L beta = 0`` on ``rank(L)`` df (Stata's ``test``): chi2, df, p."""
    kept = _contrast(fit, L, variances=False)[0]
    est = kept @ fit.beta
    chi2 = float(est @ np.linalg.solve(kept @ fit.cov_beta @ kept.T, est))
    return {"chi2": chi2, "df": len(kept), "p": float(stats.chi2.sf(chi2, len(kept)))}


def _within_test(fit: RandomInterceptFit, kept: np.ndarray, method: str) -> ContrastTest:
    """The exact t or F test of within-patient contrasts when the patient effect is confounded with the fixed
    effects: the analysis with fixed patient effects, on ``n - rank(X)`` residual df (what both Kenward-Roger
    and Satterthwaite reduce to when the between-patient variance plays no part)."""
    est, cov = kept @ fit.beta, kept @ fit.cov_beta @ kept.T
    F = float(est @ np.linalg.solve(cov, est)) / len(kept)
    return _result(est, np.sqrt(np.diag(cov)), F, len(kept), float(fit.n_obs - fit.rank), method)


def _pieces(fit: RandomInterceptFit) -> dict:
    """Kenward-Roger and Satterthwaite matrices over the basis Q, for psi = (s2_patient, s2_residual).

    ``V_i^-1 = (I - t a_i 11') / s`` with ``a_i = 1 / (1 + n_i t)``: every sum over
    patients is ``sum_k n_k^i a_k^j B_k`` over the patient sizes ``k``."""
    d, t, s, reml = fit.design, fit.ratio, fit.s2_residual, fit.reml
    at, r, n, c = profile(d, np.array([t]), reml), d.r, d.sizes, d.counts
    a, W, v, q = 1.0 / (1.0 + t * n), d.within[:r, :r], at["v"][0], at["q"][0]
    B = lambda i, j: wsum(n ** i * a ** j, d.between[:, :r, :r])   # noqa: E731
    phi = s * at["Ainv"][0]
    P = [-B(1, 2) / s ** 2, -(W + B(0, 2)) / s ** 2]                    # -X'V^-1 G_r V^-1 X
    Q = {(0, 0): B(2, 3), (0, 1): B(1, 3), (1, 0): B(1, 3), (1, 1): W + B(0, 3)}
    Q = {key: value / s ** 3 for key, value in Q.items()}               # X'V^-1 G_r V^-1 G_s V^-1 X
    K = np.array([[c @ (n * a) ** 2, c @ (n * a ** 2)], [c @ (n * a ** 2), c @ (n - 1 + a ** 2)]]) / s ** 2
    info = np.array([[K[i, j] - 2 * np.sum(phi * Q[i, j]) + np.sum((phi @ P[i]) * (P[j] @ phi))
                      for j in range(2)] for i in range(2)])              # tr(P G_r P G_s)
    # Hessian of the deviance: -tr(..) + 2 y'P G_r P G_s P y, where P y = V^-1 (GLS residual)
    wss = v @ d.within @ v
    xb = np.einsum("k,ki->i", n * a ** 2, d.between[:, :r] @ v) / s ** 2
    hph = np.array([[n ** 2 * a ** 3 @ q, n * a ** 3 @ q], [n * a ** 3 @ q, wss + a ** 3 @ q]]) / s ** 3 \
        - np.outer([1, -t], [1, -t]) * (xb @ phi @ xb)
    grad = np.array([c @ (n * a) / s - n * a ** 2 @ q / s ** 2, c @ (n - 1 + a) / s - (wss + a ** 2 @ q) / s ** 2])
    grad += [np.sum(phi * P[0]), np.sum(phi * P[1])] if reml else 0.0
    return {"phi": phi, "P": P, "Q": Q, "info": info, "grad": grad, "t": t, "s": s,
            "hess": -(info if reml else K) + 2 * hph}


def satterthwaite_df(fit: RandomInterceptFit, L) -> ContrastTest:
    """t (one row) or F test of ``L beta = 0`` with Satterthwaite df, as lmerTest's ``contest``.

    REML or ML fits (lmerTest uses the fit's own deviance: its Hessian in lme4's
    ``(theta, sigma)``, pseudo-inverted on eigenvalues > 1e-8). Several rows:
    lmerTest's eigen-decomposition of ``L cov L'`` and combined df."""
    kept, LQ = _contrast(fit, L)
    if fit.within_only:
        return _within_test(fit, kept, "Satterthwaite")
    pc = _pieces(fit)
    t, s, phi = pc["t"], pc["s"], pc["phi"]
    th, sg = math.sqrt(t), math.sqrt(s)
    J = np.array([[2 * s * th, 2 * sg * t], [0.0, 2 * sg]])              # d psi / d(theta, sigma)
    hess = J.T @ pc["hess"] @ J + pc["grad"][0] * np.array([[2 * s, 4 * sg * th], [4 * sg * th, 2 * t]]) \
        + pc["grad"][1] * np.array([[0.0, 0.0], [0.0, 2.0]])
    values, vectors = np.linalg.eigh(hess)
    # lmerTest drops eigenvalues <= 1e-8 of this Hessian; its sigma entries scale as 1 / y^2, so the rule is
    # applied in units of sigma (theta and sigma / sigma_hat), where it does not depend on the outcome's scale
    scaled = np.diag([1.0, sg]) @ hess @ np.diag([1.0, sg])
    scaled_values, scaled_vectors = np.linalg.eigh(scaled)
    if (scaled_values > 1e-8).all() and (values > 0).all():
        cov_varpar = 2 * (vectors / values) @ vectors.T
    else:
        keep = scaled_values > 1e-8
        D = np.diag([1.0, sg])
        cov_varpar = D @ (2 * (scaled_vectors[:, keep] / scaled_values[keep]) @ scaled_vectors[:, keep].T) @ D
    dcov = [-phi @ P @ phi for P in pc["P"]]
    jac = [J[0, j] * dcov[0] + J[1, j] * dcov[1] for j in range(2)]
    lam, vectors = np.linalg.eigh(LQ @ phi @ LQ.T)
    lam, vectors = lam[::-1], vectors[:, ::-1]                           # as R's eigen()
    grads = np.array([[row @ dC @ row for dC in jac] for row in vectors.T @ LQ])
    nu = 2 * lam ** 2 / np.einsum("mi,ij,mj->m", grads, cov_varpar, grads)
    est = kept @ fit.beta
    F = float(np.mean((vectors.T @ est) ** 2 / lam))
    E = np.sum(nu / (nu - 2))
    ddf = nu.mean() if len(nu) == 1 or np.ptp(nu) < 1e-8 else 2.0 if np.any(nu <= 2) else 2 * E / (E - len(nu))
    return _result(est, np.sqrt(np.diag(kept @ fit.cov_beta @ kept.T)), F, len(nu), float(ddf), "Satterthwaite")


def _result(est, se, F, ndf, ddf, method) -> ContrastTest:
    t = float(est[0] / se[0]) if ndf == 1 else math.nan
    p = float(2 * stats.t.sf(abs(t), ddf)) if ndf == 1 else float(stats.f.sf(F, ndf, ddf))
    return ContrastTest(estimate=est, se=se, F=F, t=t, ndf=ndf, ddf=ddf, p=p, method=method)


def kenward_roger(fit: RandomInterceptFit, L) -> ContrastTest:
    """F (one row: also t) test of ``L beta = 0`` by Kenward-Roger, as pbkrtest's ``KRmodcomp``.

    REML fits only (pbkrtest refits ML models by REML). ``se`` comes from the
    adjusted covariance ``Phi_A``; ``F`` includes the scaling factor."""
    if not fit.reml:
        raise ValueError("Kenward-Roger needs a REML fit (pbkrtest refits ML models by REML)")
    kept, LQ = _contrast(fit, L)
    if fit.within_only:
        return _within_test(fit, kept, "Kenward-Roger")
    pc = _pieces(fit)
    phi, P, Q, info, pairs = pc["phi"], pc["P"], pc["Q"], pc["info"], [(0, 0), (0, 1), (1, 0), (1, 1)]
    eigen = np.abs(np.linalg.eigvalsh(info))                              # relative: info scales as 1 / y^4
    W = 2 * (np.linalg.inv(info) if eigen.min() > 1e-10 * eigen.max() else np.linalg.pinv(info))
    phi_a = phi + 2 * phi @ sum(W[i, j] * (Q[i, j] - P[i] @ phi @ P[j]) for i, j in pairs) @ phi
    theta_phi = LQ.T @ np.linalg.solve(LQ @ phi @ LQ.T, LQ) @ phi
    u = [theta_phi @ P[i] @ phi for i in range(2)]
    A1 = sum(W[i, j] * np.trace(u[i]) * np.trace(u[j]) for i, j in pairs)
    A2 = sum(W[i, j] * np.sum(u[i] * u[j].T) for i, j in pairs)
    q = len(kept)
    B, g = (A1 + 6 * A2) / (2 * q), ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
    c1, c2, c3 = np.array([g, q - g, q + 2 - g]) / (3 * q + 2 * (1 - g))
    V0, V1, V2 = 1 + c1 * B, 1 - c2 * B, 1 - c3 * B
    ratio = 1.0 if abs(1 - A2 / q) < 1e-14 and abs(V1) < 1e-14 else (1 - A2 / q) / V1
    rho = ratio ** 2 * (0.0 if abs(V0) < 1e-10 else V0) / V2 / q
    ddf = 4 + (q + 2) / (q * rho - 1)
    scaling = 1.0 if abs(ddf - 2) < 1e-2 else ddf * (1 - A2 / q) / (ddf - 2)
    est, cov = kept @ fit.beta, LQ @ phi_a @ LQ.T
    F = scaling * float(est @ np.linalg.solve(cov, est)) / q
    return _result(est, np.sqrt(np.diag(cov)), F, q, float(ddf), "Kenward-Roger")
