"""Random-intercept logistic mixed model by maximum likelihood (adaptive Gauss-Hermite quadrature).

The model for a binary ``y`` of patient ``i`` in period ``j`` is::

    logit P(y_ij = 1 | b_i) = x_ij' beta + b_i,    b_i = sigma * u_i,  u_i ~ N(0, 1)

which is what R's ``glmer(y ~ treatment + (1 | patient_id), family = binomial,
nAGQ = 25)`` fits. The parameters are ``(beta, sigma)`` with ``sigma >= 0`` the
patient SD -- lme4's ``theta`` for a single random intercept.

Numerics (why this is not a call to a generic optimizer):

* **Likelihood.** Each patient's integral over ``u`` is computed by adaptive
  Gauss-Hermite quadrature centred on the conditional mode of ``u`` and scaled
  by the conditional curvature there (lme4's rule). In the spherical
  parameterisation the integrand is smooth and even in ``sigma``; at
  ``sigma = 0`` it is exactly the ordinary logistic likelihood.
* **Derivatives.** The gradient is the exact derivative of the quadrature
  approximation: the complete-data score averaged over each patient's
  quadrature posterior, plus the terms from the nodes moving with the
  parameters (the mode and curvature depend on them; implicit
  differentiation). Those extra terms vanish for an exact integral, so they
  are of the size of the quadrature error -- tiny for the report's data, but
  ~1e-4 when the patient SD is large, where they decide whether the fit
  agrees with glmer's. Newton directions use Louis' identity
  (``E[H] + Var[s]``, exact at ``sigma = 0``); the reported covariance of an
  interior fit uses the Hessian of the quadrature likelihood from central
  differences of the exact gradient (steps 1e-3 and 5e-4, Richardson
  extrapolation; error ~1e-10).
* **Optimisation.** Safeguarded Newton (Levenberg ridge, Armijo backtracking,
  bracketed Newton for the modes), from the ordinary logistic fit, run until
  the score is below 1e-12 relative or the step is at rounding level. The
  fit records ``gradient_norm`` (score / max(1, |loglik|)); above 1e-8 a
  note is added.
* **Boundary (singular fit).** The boundary ``sigma = 0`` (ordinary logistic
  regression) is fitted separately; if the interior search ends at
  ``sigma ~ 0`` or at a log-likelihood not better than the boundary's, the
  variance is fixed at exactly 0 and a note says so.
* **Covariance of the fixed effects.** Interior fit: the beta block of the
  inverse of the negative Hessian in ``(beta, sigma)`` -- what lme4's
  ``vcov(use.hessian = TRUE)`` gives (at a stationary point that block does
  not depend on whether ``sigma``, ``log sigma`` or ``sigma^2`` is used).
  Singular fit: the inverse of the beta block of the Hessian at
  ``sigma = 0`` (the full Hessian is block diagonal there, as the
  likelihood is even in ``sigma``), i.e. the ordinary logistic covariance --
  what ``glmer`` reports at a singular fit.
* **Reproducibility.** Rows are put in a canonical order (patients ordered
  by their content, rows within a patient by content), no BLAS/LAPACK
  routine is used on the path from data to reported numbers (the linear
  predictor is built column by column, the small linear systems are solved in
  plain Python), and totals over patients are ``math.fsum``-ed. The results
  are therefore the same, bit for bit, under any row order, any relabelling of
  the patients and any OpenBLAS kernel (``OPENBLAS_CORETYPE``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

#: Right-hand sides of the models. Kept identical to ``ketapain_lib.stats.crossover.FORMULAS`` (a test checks it); not
#: imported from there so that ``models`` can import this module without a cycle.
FORMULAS: dict[str, str] = {
    "paper": "{treatment} + C(sequence) + C(carryover, Treatment('none'))",
    "period": "{treatment} + C(period) + C(sequence)",
    "no_carryover": "{treatment} + C(sequence)",
    "treatment_only": "{treatment}",
}
from ..design import CI_LEVEL  # noqa: E402  (the report's one confidence level)

_Z = float(stats.norm.ppf(0.5 + CI_LEVEL / 2))

SINGULAR_NOTE = "singular fit: the patient variance is estimated at zero"
#: An interior optimum with sigma below this is treated as the boundary (lme4's isSingular uses 1e-4 on theta).
_SIGMA_BOUNDARY = 1e-6
_MAX_NEWTON = 200
#: A patient SD beyond this (on the log-odds scale) is taken as diverging: patients with all or no events.
_SIGMA_MAX = 100.0


# --------------------------------------------------------------------------- the fit object

@dataclass
class LogitMixedFit:
    """A random-intercept logistic model fitted by maximum likelihood (adaptive Gauss-Hermite quadrature).

    ``cov`` is the covariance of the fixed effects (see the module docstring
    for how it is obtained at interior and singular fits); ``gradient_norm``
    is the largest absolute score component at the reported optimum, scaled by
    ``max(1, |loglik|)``.
    """

    model: str
    formula: str
    data: pd.DataFrame
    names: list[str]
    params: np.ndarray
    cov: np.ndarray
    patient_variance: float
    loglik: float
    nodes: int
    notes: list[str] = field(default_factory=list)
    gradient_norm: float = float("nan")
    iterations: int = 0

    @property
    def patient_sd(self) -> float:
        return math.sqrt(self.patient_variance)

    @property
    def singular(self) -> bool:
        return self.patient_variance == 0.0

    def fixed_effects(self) -> pd.DataFrame:
        """Log-odds coefficients with SE, Wald z, P, odds ratios and 95% CI."""
        se = np.sqrt(np.diag(self.cov))
        z = self.params / se
        return pd.DataFrame({"term": self.names, "estimate": self.params, "se": se, "z": z,
                             "p": 2 * stats.norm.sf(np.abs(z)), "odds_ratio": np.exp(self.params),
                             "or_ci_low": np.exp(self.params - _Z * se),
                             "or_ci_high": np.exp(self.params + _Z * se)})

    def omnibus(self) -> dict[str, float]:
        """Wald chi-square test of no treatment effect on the log-odds scale."""
        index = [i for i, n in enumerate(self.names) if n.startswith("C(treatment")]
        beta = [float(self.params[i]) for i in index]
        cov = [[float(self.cov[i, j]) for j in index] for i in index]
        solved = _solve(cov, beta)
        chi2 = math.fsum(b * s for b, s in zip(beta, solved)) if solved is not None else float("nan")
        return {"chi2": chi2, "df": len(index), "p": float(stats.chi2.sf(chi2, len(index)))}

    def to_frame(self) -> pd.DataFrame:
        """One-row summary: omnibus test, patient variance, log-likelihood, notes."""
        omnibus = self.omnibus()
        return pd.DataFrame([{"model": self.model, "n_obs": len(self.data), "events": int(self.data["y"].sum()),
                              "omnibus_chi2": omnibus["chi2"], "omnibus_df": omnibus["df"],
                              "omnibus_p": omnibus["p"], "patient_variance": self.patient_variance,
                              "loglik": self.loglik, "quadrature_nodes": self.nodes, "notes": "; ".join(self.notes)}])


# --------------------------------------------------------------------------- small dense linear algebra (no LAPACK)

def _cholesky(a: list[list[float]]) -> list[list[float]] | None:
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


def _chol_solve(low: list[list[float]], b: list[float]) -> list[float]:
    n = len(b)
    z = [0.0] * n
    for i in range(n):
        z[i] = (b[i] - math.fsum(low[i][k] * z[k] for k in range(i))) / low[i][i]
    x = [0.0] * n
    for i in reversed(range(n)):
        x[i] = (z[i] - math.fsum(low[k][i] * x[k] for k in range(i + 1, n))) / low[i][i]
    return x


def _solve(a: list[list[float]], b: list[float]) -> list[float] | None:
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


def _inverse_pd(a: list[list[float]]) -> list[list[float]] | None:
    """Inverse of a symmetric positive definite matrix (None if it is not)."""
    low = _cholesky(a)
    if low is None:
        return None
    n = len(a)
    columns = [_chol_solve(low, [1.0 if i == j else 0.0 for i in range(n)]) for j in range(n)]
    return [[0.5 * (columns[j][i] + columns[i][j]) for j in range(n)] for i in range(n)]


# --------------------------------------------------------------------------- the likelihood

class _Problem:
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


# --------------------------------------------------------------------------- maximisation

def _newton(problem: _Problem, theta: np.ndarray, free: list[int]) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, int]:
    """Maximise over the coordinates ``free`` of ``theta`` (the others held): safeguarded Newton.

    The gradient is exact; the Hessian is Louis' (cheap, exact at sigma = 0)
    until, near the optimum, a full Newton step fails to cut the gradient tenfold -- a sign that
    the quadrature error makes it inaccurate (large sigma) -- or 8 iterations have passed, and then the
    finite-difference Hessian of the exact gradient. Levenberg ridge when
    ``-H`` is not positive definite; backtracking (Armijo) line search; sigma
    reflected to ``|sigma|`` (the likelihood is even in it). Stops when the
    scaled gradient is below 1e-12, the step is at rounding level, the line
    search fails, or sigma exceeds ``_SIGMA_MAX`` (a diverging variance).

    Returns ``theta, loglik, gradient, hessian, iterations`` (``hessian``:
    the last Louis Hessian, full size).
    """
    theta = np.array(theta, dtype=float)
    loglik, gradient, hessian = problem.evaluate(theta)
    n = len(free)
    accurate = False
    iterations = 0
    for iterations in range(1, _MAX_NEWTON + 1):
        g = [float(gradient[i]) for i in free]
        scale = max(1.0, abs(loglik))
        g_norm = max(abs(v) for v in g)
        if g_norm <= 1e-12 * scale or abs(theta[-1]) > _SIGMA_MAX:
            break
        if accurate:
            neg_h = [[-float(v) for v in row] for row in problem.hessian(theta, free)]
        else:
            neg_h = [[-float(hessian[i, j]) for j in free] for i in free]
        # Levenberg safeguard: make -H positive definite
        ridge, step = 0.0, None
        diag = max(max(abs(neg_h[i][i]) for i in range(n)), 1e-12)
        while step is None:
            low = _cholesky([[neg_h[i][j] + (ridge if i == j else 0.0) for j in range(n)] for i in range(n)])
            if low is not None:
                step = _chol_solve(low, g)
            else:
                ridge = max(2 * ridge, 1e-8 * diag)
                if ridge > 1e12 * diag:
                    step = [v / diag for v in g]
        step = np.array(step)
        if np.max(np.abs(step)) > 5.0:              # keep far-off steps in a sane range
            step *= 5.0 / np.max(np.abs(step))
        decrement = math.fsum(float(s) * v for s, v in zip(step, g))
        t, accepted = 1.0, False
        for _ in range(40):
            candidate = theta.copy()
            candidate[free] = theta[free] + t * step
            candidate[-1] = abs(candidate[-1])
            value = problem.evaluate(candidate, 0)
            if value >= loglik + 1e-4 * t * decrement or (
                    decrement <= 1e-10 * scale and value >= loglik - 1e-13 * scale):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        small = np.max(np.abs(t * step) / (1.0 + np.abs(theta[free])))
        theta = candidate
        loglik, gradient, hessian = problem.evaluate(theta)
        if not accurate and (iterations >= 8 or (t == 1.0 and g_norm < 1e-4 * scale
                                                 and max(abs(gradient[i]) for i in free) > 0.1 * g_norm)):
            accurate = True
        if small <= 1e-14:
            break
    return theta, loglik, gradient, hessian, iterations


def _scaled_gradient(gradient: np.ndarray, free: list[int], loglik: float) -> float:
    return float(max(abs(gradient[i]) for i in free) / max(1.0, abs(loglik)))


def fit_logit_mixed(data: pd.DataFrame, model: str = "treatment_only", nodes: int = 25) -> LogitMixedFit:
    """Generalized linear mixed model with logit link and a random patient intercept (binary ``y``).

    Maximises the marginal likelihood computed by adaptive Gauss-Hermite
    quadrature with ``nodes`` points (R's ``glmer(..., nAGQ = 25)``), see the
    module docstring for the algorithm, the singular-fit rule and the
    covariance. ``data`` needs ``y`` (0/1), ``treatment``, ``patient_id`` and
    the columns of the chosen model's formula. Fitting problems (no event,
    separation, a variance at its boundary) are recorded in ``notes``.
    """
    from patsy import dmatrix

    frame = data.copy()
    if not isinstance(frame["treatment"].dtype, pd.CategoricalDtype):
        frame["treatment"] = pd.Categorical(frame["treatment"])
    levels = list(frame["treatment"].cat.categories)
    formula = FORMULAS[model].format(treatment=f"C(treatment, Treatment({levels[0]!r}))")
    design = dmatrix(formula, frame, return_type="dataframe")
    used = frame.loc[design.index]                     # patsy drops rows with a missing covariate
    X, y = design.to_numpy(dtype=float), used["y"].to_numpy(dtype=float)
    if not set(np.unique(y)) <= {0.0, 1.0}:
        raise ValueError("the outcome of a logit model must be 0 or 1")
    notes = []
    for treatment in levels:
        events = y[used["treatment"].to_numpy() == treatment]
        if len(events) and events.sum() in (0, len(events)):
            notes.append(f"{treatment}: every period {'has' if events.sum() else 'lacks'} the event "
                         "(separation; estimates are unstable)")

    problem = _Problem(X, y, used["patient_id"].to_numpy(), nodes)
    p = X.shape[1]
    beta_free = list(range(p))
    all_free = list(range(p + 1))

    # boundary: sigma = 0, i.e. ordinary logistic regression
    start = np.zeros(p + 1)
    mean = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
    start[0] = math.log(mean / (1 - mean)) if design.columns[0] == "Intercept" else 0.0
    boundary = _newton(problem, start, beta_free)

    # interior: from the boundary's beta and sigma = 1
    start = boundary[0].copy()
    start[-1] = 1.0
    interior = _newton(problem, start, all_free)

    singular = interior[0][-1] < _SIGMA_BOUNDARY or interior[1] <= boundary[1]
    theta, loglik, gradient, hessian, iterations = boundary if singular else interior
    free = beta_free if singular else all_free
    iterations = boundary[4] + interior[4]
    gradient_norm = _scaled_gradient(gradient, free, loglik)
    if singular:
        notes.append(SINGULAR_NOTE)
    if not singular and theta[-1] > 10:
        notes.append(f"very large patient SD ({theta[-1]:.3g} on the log-odds scale; patients with all or "
                     "none of the events): estimates are unstable")
    if not gradient_norm < 1e-8:
        notes.append(f"optimizer: the score at the reported optimum is {gradient_norm:.1e} (relative), "
                     "not below 1e-8")
    if not singular:
        # the accurate Hessian of the quadrature log-likelihood (the Newton one is exact only at sigma = 0)
        hessian = np.zeros((p + 1, p + 1))
        hessian[np.ix_(free, free)] = problem.hessian(theta, free)
    inverse = _inverse_pd([[-float(hessian[i, j]) for j in free] for i in free])
    if inverse is None:
        notes.append("the Hessian is not negative definite: standard errors are not available")
        cov = np.full((p, p), np.nan)
    else:
        cov = np.array([row[:p] for row in inverse[:p]])
    sigma = 0.0 if singular else float(theta[-1])
    return LogitMixedFit(model=model, formula=f"y ~ {formula} + (1 | patient)", data=frame,
                         names=list(design.columns), params=np.array(theta[:p]), cov=cov,
                         patient_variance=sigma * sigma, loglik=float(loglik), nodes=nodes, notes=notes,
                         gradient_norm=gradient_norm, iterations=iterations)
