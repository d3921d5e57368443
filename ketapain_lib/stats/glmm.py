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

from ..design import CI_LEVEL  # noqa: F401  (the level of the odds ratios' intervals, Z_CI)
from .crossover import FORMULAS, MODEL_TERMS, Z_CI, model_frame, no_carryover_label
from .formulas import treatment_design
from .glmm_likelihood import SIGMA_MAX, chol_solve, cholesky, inverse_pd, Problem, solve


SINGULAR_NOTE = "singular fit: the patient variance is estimated at zero"
#: An interior optimum with sigma below this is treated as the boundary (lme4's isSingular uses 1e-4 on theta).
_SIGMA_BOUNDARY = 1e-6
_MAX_NEWTON = 200


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
                             "or_ci_low": np.exp(self.params - Z_CI * se),
                             "or_ci_high": np.exp(self.params + Z_CI * se)})

    def omnibus(self) -> dict[str, float]:
        """Wald chi-square test of no treatment effect on the log-odds scale."""
        index = [i for i, n in enumerate(self.names) if n.startswith("C(treatment")]
        beta = [float(self.params[i]) for i in index]
        cov = [[float(self.cov[i, j]) for j in index] for i in index]
        solved = solve(cov, beta)
        chi2 = math.fsum(b * s for b, s in zip(beta, solved)) if solved is not None else float("nan")
        return {"chi2": chi2, "df": len(index), "p": float(stats.chi2.sf(chi2, len(index)))}

    def to_frame(self) -> pd.DataFrame:
        """One-row summary: omnibus test, patient variance, log-likelihood, notes."""
        omnibus = self.omnibus()
        return pd.DataFrame([{"model": self.model, "n_obs": len(self.data), "events": int(self.data["y"].sum()),
                              "omnibus_chi2": omnibus["chi2"], "omnibus_df": omnibus["df"],
                              "omnibus_p": omnibus["p"], "patient_variance": self.patient_variance,
                              "loglik": self.loglik, "quadrature_nodes": self.nodes, "notes": "; ".join(self.notes)}])


# --------------------------------------------------------------------------- maximisation

def _newton(problem: Problem, theta: np.ndarray, free: list[int]) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, int]:
    """Maximise over the coordinates ``free`` of ``theta`` (the others held): safeguarded Newton.

    The gradient is exact; the Hessian is Louis' (cheap, exact at sigma = 0)
    until, near the optimum, a full Newton step fails to cut the gradient tenfold -- a sign that
    the quadrature error makes it inaccurate (large sigma) -- or 8 iterations have passed, and then the
    finite-difference Hessian of the exact gradient. Levenberg ridge when
    ``-H`` is not positive definite; backtracking (Armijo) line search; sigma
    reflected to ``|sigma|`` (the likelihood is even in it). Stops when the
    scaled gradient is below 1e-12, the step is at rounding level, the line
    search fails, or sigma exceeds ``SIGMA_MAX`` (a diverging variance).

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
        if g_norm <= 1e-12 * scale or abs(theta[-1]) > SIGMA_MAX:
            break
        if accurate:
            neg_h = [[-float(v) for v in row] for row in problem.hessian(theta, free)]
        else:
            neg_h = [[-float(hessian[i, j]) for j in free] for i in free]
        # Levenberg safeguard: make -H positive definite
        ridge, step = 0.0, None
        diag = max(max(abs(neg_h[i][i]) for i in range(n)), 1e-12)
        while step is None:
            low = cholesky([[neg_h[i][j] + (ridge if i == j else 0.0) for j in range(n)] for i in range(n)])
            if low is not None:
                step = chol_solve(low, g)
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
    if model not in MODEL_TERMS:
        raise ValueError(f"model must be one of {', '.join(MODEL_TERMS)}, not {model!r}")
    frame = model_frame(data, [factor for term in MODEL_TERMS[model] for factor in term])
    levels = list(frame["treatment"].cat.categories)
    formula = FORMULAS[model].format(treatment=f"C(treatment, Treatment({levels[0]!r}))")
    # the design from the data (any label), as patsy's dmatrix would build it from the formula
    y, X, columns = treatment_design(frame, "y", MODEL_TERMS[model],
                                     {"treatment": levels[0], "carryover": no_carryover_label(levels)})
    used = frame
    if not set(np.unique(y)) <= {0.0, 1.0}:
        raise ValueError("the outcome of a logit model must be 0 or 1")
    patients = pd.unique(frame["patient_id"].astype(str))
    if len(patients) < 2:
        raise ValueError(f"a single patient ({patients[0]}): the patient variance of a logit mixed model is not "
                         "identifiable; at least two patients are needed")
    if y.min() == y.max():
        raise ValueError(f"y is {int(y[0])} in every period ({'every period has' if y[0] else 'no period has'} the "
                         "event): no log-odds and no patient variance can be estimated")
    notes = []
    for treatment in levels:
        events = y[used["treatment"].to_numpy() == treatment]
        if len(events) and events.sum() in (0, len(events)):
            notes.append(f"{treatment}: every period {'has' if events.sum() else 'lacks'} the event "
                         "(separation; estimates are unstable)")

    problem = Problem(X, y, used["patient_id"].to_numpy(), nodes)
    p = X.shape[1]
    beta_free = list(range(p))
    all_free = list(range(p + 1))

    # boundary: sigma = 0, i.e. ordinary logistic regression
    start = np.zeros(p + 1)
    mean = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
    start[0] = math.log(mean / (1 - mean))          # the first column is the intercept
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
    inverse = inverse_pd([[-float(hessian[i, j]) for j in free] for i in free])
    if inverse is None:
        notes.append("the Hessian is not negative definite: standard errors are not available")
        cov = np.full((p, p), np.nan)
    else:
        cov = np.array([row[:p] for row in inverse[:p]])
    sigma = 0.0 if singular else float(theta[-1])
    return LogitMixedFit(model=model, formula=f"y ~ {formula} + (1 | patient)", data=frame,
                         names=[column.name for column in columns], params=np.array(theta[:p]), cov=cov,
                         patient_variance=sigma * sigma, loglik=float(loglik), nodes=nodes, notes=notes,
                         gradient_norm=gradient_norm, iterations=iterations)
