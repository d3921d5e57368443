"""The logistic random-intercept model's log-likelihood by adaptive Gauss-Hermite quadrature, exactly differentiated.

The data are held in a canonical order (patients and rows by content), sums
are exact (``math.fsum``) and the small dense algebra is written out, so the
likelihood, its gradient and its Hessian do not depend on row order or on
the BLAS kernel. :mod:`ketapain_lib.stats.glmm` maximises it.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import expit

#: A patient SD beyond this (on the log-odds scale) is taken as diverging: patients with all or no events.
SIGMA_MAX = 100.0


# --------------------------------------------------------------------------- small dense linear algebra (no LAPACK)

def cholesky(a: list[list[float]]) -> list[list[float]] | None:
    """Lower Cholesky factor of a symmetric matrix, or None if it is not positive definite."""
    n = len(a)
    low = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            s = a[i][j] - math.fsum(low[i][k] * low[j][k] for k in range(j))
            if i == j:
                if not s > 0 or not math.isfinite(s):
                    return None
                low[i][i] = math.sqrt(s)
            else:
                low[i][j] = s / low[j][j]
    return low


def chol_solve(low: list[list[float]], b: list[float]) -> list[float]:
    n = len(b)
    z = [0.0] * n
    for i in range(n):
        z[i] = (b[i] - math.fsum(low[i][k] * z[k] for k in range(i))) / low[i][i]
    x = [0.0] * n
    for i in reversed(range(n)):
        x[i] = (z[i] - math.fsum(low[k][i] * x[k] for k in range(i + 1, n))) / low[i][i]
    return x


def solve(a: list[list[float]], b: list[float]) -> list[float] | None:
    """Solve ``a x = b`` by Gaussian elimination with partial pivoting; None if ``a`` is singular."""
    n = len(b)
    m = [list(map(float, row)) + [float(v)] for row, v in zip(a, b)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if m[pivot][col] == 0 or not math.isfinite(m[pivot][col]):
            return None
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            for c in range(col, n + 1):
                m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for i in reversed(range(n)):
        x[i] = (m[i][n] - math.fsum(m[i][k] * x[k] for k in range(i + 1, n))) / m[i][i]
    return x


def inverse_pd(a: list[list[float]]) -> list[list[float]] | None:
    """Inverse of a symmetric positive definite matrix (None if it is not)."""
    low = cholesky(a)
    if low is None:
        return None
    n = len(a)
    columns = [chol_solve(low, [1.0 if i == j else 0.0 for i in range(n)]) for j in range(n)]
    return [[0.5 * (columns[j][i] + columns[i][j]) for j in range(n)] for i in range(n)]


# --------------------------------------------------------------------------- the likelihood

class Problem:
    """The data in canonical order, and the AGQ log-likelihood with its analytic gradient and Hessian."""

    def __init__(self, X: np.ndarray, y: np.ndarray, patients: np.ndarray, nodes: int):
        codes, _ = pd.factorize(pd.Series(patients), sort=False)
        row_keys = [(tuple(map(float, X[r])), float(y[r])) for r in range(len(y))]
        members: dict[int, list[int]] = {}
        for r, c in enumerate(codes):
            members.setdefault(int(c), []).append(r)
        groups = [sorted(rows, key=lambda r: row_keys[r]) for rows in members.values()]
        # patients in the order of their content (rows sorted), then rows within each patient by content
        groups.sort(key=lambda rows: (len(rows), [row_keys[r] for r in rows]))
        order = np.array([r for rows in groups for r in rows], dtype=np.intp)
        self.X = np.ascontiguousarray(X[order], dtype=float)
        self.y = np.ascontiguousarray(y[order], dtype=float)
        sizes = np.array([len(rows) for rows in groups], dtype=np.intp)
        self.n_groups = len(groups)
        self.sizes = sizes.astype(float)
        self.starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        self.group = np.repeat(np.arange(self.n_groups), sizes)
        self.p = X.shape[1]
        z, w = np.polynomial.hermite.hermgauss(nodes)
        # symmetrise the rule exactly so that the even-ness in sigma holds to the last bit
        z = 0.5 * (z - z[::-1])
        w = 0.5 * (w + w[::-1])
        self.z = z
        self.log_w = np.log(w) + z**2 + 0.5 * math.log(2.0)   # weights of exp(-z^2) rule, then for u = sqrt2 z
        self.evaluations = 0

    # -- pieces
    def linear_predictor(self, beta) -> np.ndarray:
        """``X @ beta`` column by column (no BLAS: the same bits under every kernel)."""
        eta = np.zeros(len(self.y))
        for k in range(self.p):
            eta = eta + self.X[:, k] * float(beta[k])
        return eta

    def _sum_groups(self, values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, self.starts, axis=0)

    def _modes(self, eta: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
        """Each patient's conditional mode of u and the conditional curvature there."""
        mode = np.zeros(self.n_groups)
        if sigma == 0.0:
            return mode, np.ones(self.n_groups)
        # The score sigma * sum(y - p) - u is decreasing in u and its root lies between
        # sigma * (sum y - n_i) and sigma * sum y: Newton, safeguarded by bisection on that bracket.
        events = self._sum_groups(self.y)
        low = np.minimum(sigma * (events - self.sizes), sigma * events)
        high = np.maximum(sigma * (events - self.sizes), sigma * events)
        previous = high - low
        for _ in range(300):
            p = expit(eta + sigma * mode[self.group])
            gradient = sigma * self._sum_groups(self.y - p) - mode
            curvature = sigma**2 * self._sum_groups(p * (1 - p)) + 1.0
            low = np.where(gradient > 0, mode, low)
            high = np.where(gradient < 0, mode, high)
            newton = gradient / curvature
            # bisect when Newton leaves the open bracket or does not halve the previous step (rtsafe's rule)
            bisect = ~((mode + newton > low) & (mode + newton < high)) | (2 * np.abs(newton) > np.abs(previous))
            step = np.where(bisect, 0.5 * (low + high) - mode, newton)
            step = np.where(gradient == 0, 0.0, step)
            previous = np.where(bisect, high - low, step)
            mode = mode + step
            if np.max(np.abs(step)) <= 1e-14 * (1.0 + np.max(np.abs(mode))):
                break
        p = expit(eta + sigma * mode[self.group])
        return mode, sigma**2 * self._sum_groups(p * (1 - p)) + 1.0

    def evaluate(self, theta, order: int = 2):
        """Log-likelihood at ``theta = (beta, sigma)``; ``order`` 1 adds the gradient, 2 an approximate Hessian.

        ``sigma`` enters only through ``sigma * u`` with ``u ~ N(0, 1)``: the
        function is even in ``sigma`` (negative values are accepted).

        The gradient is the exact derivative of the quadrature approximation,
        including the movement of the nodes with the parameters (the modes and
        curvatures depend on them; implicit differentiation). Those extra terms
        are expectations of the posterior score that vanish for an exact
        integral, so they are of the size of the quadrature error.

        The Hessian returned with ``order=2`` is the second derivative of the
        exact integral evaluated with the same nodes (Louis' identity,
        ``E[H] + Var[s]``): it differs from the Hessian of the quadrature
        approximation by the quadrature error, which is fine for Newton
        directions; :meth:`hessian` gives the accurate one.
        """
        self.evaluations += 1
        beta = [float(v) for v in theta[:-1]]
        sigma = float(theta[-1])
        eta = self.linear_predictor(beta)
        mode, curvature = self._modes(eta, sigma)
        scale = 1.0 / np.sqrt(curvature)
        zs = math.sqrt(2.0) * self.z
        u = mode[:, None] + scale[:, None] * zs[None, :]                                  # groups x nodes
        linear = eta[:, None] + sigma * u[self.group]                                    # rows x nodes
        loglik_rows = self.y[:, None] * linear - np.logaddexp(0.0, linear)
        terms = (self._sum_groups(loglik_rows) - 0.5 * u**2 - 0.5 * math.log(2 * math.pi)
                 + self.log_w[None, :] + np.log(scale)[:, None])
        top = terms.max(axis=1, keepdims=True)
        weights = np.exp(terms - top)
        total = weights.sum(axis=1, keepdims=True)
        per_group = top[:, 0] + np.log(total[:, 0])
        loglik = math.fsum(per_group.tolist())
        if order == 0:
            return loglik
        post = weights / total                                                            # posterior weights
        d = self.p + 1
        prob = expit(linear)
        residual = self.y[:, None] - prob
        residual_sum = self._sum_groups(residual)
        # complete-data score per group and node: (sum_j r x_j, sum_j r u)
        score = np.empty((self.n_groups, len(self.z), d))
        for k in range(self.p):
            score[:, :, k] = self._sum_groups(residual * self.X[:, k:k + 1])
        score[:, :, self.p] = residual_sum * u
        mean_score = np.einsum("gk,gkd->gd", post, score)
        # movement of the nodes: v_k = mode + z_k sqrt(2) / sqrt(curvature)
        p0 = expit(eta + sigma * mode[self.group])
        w0 = p0 * (1 - p0)
        w1 = w0 * (1 - 2 * p0)
        sum_w0, sum_w1 = self._sum_groups(w0), self._sum_groups(w1)
        l_u_theta = np.empty((self.n_groups, d))                  # d/dtheta of the u-score at the mode
        dc_partial = np.empty((self.n_groups, d))                 # partial d curvature / d theta
        for k in range(self.p):
            l_u_theta[:, k] = -sigma * self._sum_groups(w0 * self.X[:, k])
            dc_partial[:, k] = sigma**2 * self._sum_groups(w1 * self.X[:, k])
        l_u_theta[:, self.p] = self._sum_groups(self.y - p0) - sigma * mode * sum_w0
        dc_partial[:, self.p] = 2 * sigma * sum_w0 + sigma**2 * mode * sum_w1
        d_mode = l_u_theta / curvature[:, None]
        d_curvature = dc_partial + (sigma**3 * sum_w1)[:, None] * d_mode
        d_log_scale = -0.5 * d_curvature / curvature[:, None]
        l_u = sigma * residual_sum - u                                                   # u-score at the nodes
        e_lu = np.sum(post * l_u, axis=1)
        e_zlu = np.sum(post * l_u * zs[None, :], axis=1)
        node_terms = (d_mode * e_lu[:, None] + d_log_scale * (1.0 + (scale * e_zlu)[:, None]))
        per_group_gradient = mean_score + node_terms
        gradient = np.array([math.fsum(per_group_gradient[:, a].tolist()) for a in range(d)])
        if order == 1:
            return loglik, gradient
        weight = prob * (1 - prob)
        info = np.empty((self.n_groups, len(self.z), d, d))
        for a in range(self.p):
            wa = weight * self.X[:, a:a + 1]
            for b in range(a, self.p):
                info[:, :, a, b] = info[:, :, b, a] = self._sum_groups(wa * self.X[:, b:b + 1])
            info[:, :, a, self.p] = info[:, :, self.p, a] = self._sum_groups(wa) * u
        info[:, :, self.p, self.p] = self._sum_groups(weight) * u**2
        centred = score - mean_score[:, None, :]
        per_group_hessian = (np.einsum("gk,gkab->gab", post, -info)
                             + np.einsum("gk,gka,gkb->gab", post, centred, centred))
        hessian = np.empty((d, d))
        for a in range(d):
            for b in range(a, d):
                hessian[a, b] = hessian[b, a] = math.fsum(per_group_hessian[:, a, b].tolist())
        return loglik, gradient, hessian

    def hessian(self, theta, free: list[int]) -> np.ndarray:
        """Hessian of the quadrature log-likelihood over ``free``: central differences of the exact gradient.

        Steps ``h = 1e-3 * max(1, |theta_j|)`` and ``h / 2``, combined by
        Richardson extrapolation (truncation error O(h^4), rounding error about
        1e-13 relative), then symmetrised.
        """
        theta = np.asarray(theta, dtype=float)
        n = len(free)
        columns = []
        for j in free:
            h = 1e-3 * max(1.0, abs(float(theta[j])))
            estimates = []
            for step in (h, h / 2):
                plus, minus = theta.copy(), theta.copy()
                plus[j] += step
                minus[j] -= step
                g_plus, g_minus = self.evaluate(plus, 1)[1], self.evaluate(minus, 1)[1]
                estimates.append((g_plus[free] - g_minus[free]) / (2 * step))
            columns.append((4 * estimates[1] - estimates[0]) / 3)
        hessian = np.empty((n, n))
        for a in range(n):
            for b in range(n):
                hessian[a, b] = 0.5 * (columns[a][b] + columns[b][a])
        return hessian
