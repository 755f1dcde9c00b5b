"""Theory constants, optimal parameters, convergence bounds and certificates.

Notation: L and mu are the largest and smallest eigenvalues of
the Hessian (over the region of interest; at a point for the estimates below), and
kappa = L / mu.

    gradient descent is stable for alpha < 2 / L
    heavy ball, optimal on quadratics:  alpha* = 4 / (sqrt L + sqrt mu)^2,
                                        rho*   = ((sqrt L - sqrt mu) / (sqrt L + sqrt mu))^2
    Nesterov, strongly convex:          alpha = 1 / L, rho = (sqrt kappa - 1) / (sqrt kappa + 1)
    GD with alpha <= 1/L, no convexity:
        min_{i<=k} ||grad f(x_i)|| <= sqrt(2 (f(x_0) - f*) / (alpha (k+1)))

A run is checked against its bound with :func:`certify_gd`, which returns a
:class:`Certificate` saying ``held`` or ``violated`` with the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# The formulas the solvers use for their defaults live at the solvers level (a layer
# below); they are public here under their theory names.
from .solvers._parameters import check_L_mu, heavy_ball_parameters, nesterov_parameters

__all__ = [
    "hessian_extremes", "lipschitz_estimate", "strong_convexity_estimate",
    "condition_number", "heavy_ball_parameters", "nesterov_parameters", "step_bound",
    "gd_nonconvex_bound", "gd_iterations_needed", "Certificate", "certify_gd",
]


def _hvp_operator(objective, x):
    x = np.asarray(x, dtype=np.float64)
    return lambda v: np.asarray(objective.hvp(x, v), dtype=np.float64)


def _power_iteration(matvec, p, max_iter, tol, rng, shift=0.0):
    """Largest eigenvalue of (A - shift I) by power iteration (A symmetric PSD-ish)."""
    v = rng.standard_normal(p)
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(max_iter):
        w = matvec(v) - shift * v
        lam_new = float(v @ w)
        norm = np.linalg.norm(w)
        if norm == 0.0:
            return 0.0
        v = w / norm
        if abs(lam_new - lam) <= tol * max(1.0, abs(lam_new)):
            return lam_new
        lam = lam_new
    return lam


def hessian_extremes(objective, x, method: str = "lanczos", max_iter: int = 200,
                     tol: float = 1e-8, seed: int = 0) -> tuple[float, float]:
    """(mu, L): smallest and largest Hessian eigenvalues at ``x`` from Hessian-vector products.

    Parameters
    ----------
    objective : object with ``hvp(x, v)`` and ``n_params``
    x : ndarray of shape (p,)
    method : {"lanczos", "power"}
        ``"lanczos"``: scipy's ARPACK (implicitly restarted Lanczos) on the HVP operator.
        ``"power"``: power iteration for L, then on L I - H for L - mu.
    max_iter, tol, seed
        Iteration budget, relative tolerance, seed of the start vector.
    """
    p = int(getattr(objective, "n_params", np.asarray(x).shape[0]))
    matvec = _hvp_operator(objective, x)
    rng = np.random.default_rng(seed)
    if p == 1:
        h = float(matvec(np.ones(1))[0])
        return h, h
    if method == "power":
        L = _power_iteration(matvec, p, max_iter, tol, rng)
        gap = _power_iteration(matvec, p, max_iter, tol, rng, shift=L)  # = mu - L <= 0
        return L + gap, L
    if method == "lanczos":
        if p <= 2:
            H = np.column_stack([matvec(e) for e in np.eye(p)])
            ev = np.linalg.eigvalsh(0.5 * (H + H.T))
            return float(ev[0]), float(ev[-1])
        from scipy.sparse.linalg import LinearOperator, eigsh

        op = LinearOperator((p, p), matvec=matvec, dtype=np.float64)
        v0 = rng.standard_normal(p)
        L = float(eigsh(op, k=1, which="LA", v0=v0, maxiter=max_iter * p, tol=tol,
                        return_eigenvectors=False)[0])
        # mu from the largest eigenvalue of L I - H: ARPACK converges far faster on
        # the top of a spectrum than with which="SA".
        shifted = LinearOperator((p, p), matvec=lambda v: L * v - matvec(v), dtype=np.float64)
        top = float(eigsh(shifted, k=1, which="LA", v0=v0, maxiter=max_iter * p, tol=tol,
                          return_eigenvectors=False)[0])
        return L - top, L
    raise ValueError(f"method must be 'lanczos' or 'power', got {method!r}")


def lipschitz_estimate(objective, x, method: str = "lanczos", **kwargs) -> float:
    """L estimated as lambda_max(hess f(x)) from Hessian-vector products."""
    return hessian_extremes(objective, x, method, **kwargs)[1]


def strong_convexity_estimate(objective, x, method: str = "lanczos", **kwargs) -> float:
    """mu estimated as lambda_min(hess f(x)) from Hessian-vector products."""
    return hessian_extremes(objective, x, method, **kwargs)[0]


def condition_number(L: float, mu: float) -> float:
    """kappa = L / mu."""
    check_L_mu(L, mu)
    return L / mu


def step_bound(L: float) -> float:
    """2 / L: gradient descent with a constant step is stable below it (on quadratics, iff)."""
    check_L_mu(L, 0.0, need_mu=False)
    return 2.0 / L


def gd_nonconvex_bound(f0: float, f_star: float, alpha: float, k) -> np.ndarray | float:
    """sqrt(2 (f(x_0) - f*) / (alpha (k + 1))): bound on min_{i<=k} ||grad f(x_i)||.

    Valid for gradient descent with a constant step alpha <= 1/L, without convexity.
    ``k`` may be an array.
    """
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    gap = max(float(f0) - float(f_star), 0.0)
    out = np.sqrt(2.0 * gap / (alpha * (np.asarray(k, dtype=np.float64) + 1.0)))
    return float(out) if out.ndim == 0 else out


def gd_iterations_needed(f0: float, f_star: float, alpha: float, eps: float) -> int:
    """Smallest k with the bound above <= eps: k + 1 >= 2 (f0 - f*) / (alpha eps^2)."""
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    gap = max(float(f0) - float(f_star), 0.0)
    return max(0, math.ceil(2.0 * gap / (alpha * eps * eps) - 1.0))


@dataclass
class Certificate:
    """Outcome of checking a run against a bound.

    Attributes
    ----------
    name : str
        The bound checked.
    held : bool
        True if every checked iterate satisfied the bound.
    observed, bound : ndarray
        What the run did and what the bound allows, at ``iterations``.
    iterations : ndarray of int
    worst_ratio : float
        max(observed / bound): <= 1 when the bound held.
    details : dict
        The constants used (alpha, L, f0, f*), and any precondition that failed.
    """

    name: str
    held: bool
    observed: np.ndarray
    bound: np.ndarray
    iterations: np.ndarray
    worst_ratio: float
    details: dict = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "held" if self.held else "violated"

    def __str__(self) -> str:
        d = ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in self.details.items())
        return (f"{self.name}: {self.verdict} at {len(self.iterations)} checked iterations "
                f"(worst observed/bound = {self.worst_ratio:.4g}; {d})")


def certify_gd(result, f_star: float, alpha: float | None = None, L: float | None = None,
               tol_rel: float = 1e-12) -> Certificate:
    """Check a gradient-descent run against the nonconvex bound.

    At every recorded iteration k, min_{i<=k, recorded} ||grad f(x_i)|| is compared
    with sqrt(2 (f(x_0) - f*) / (alpha (k + 1))). With ``history_every > 1`` only the
    recorded iterates enter the minimum, which can only make the check stricter.

    Parameters
    ----------
    result : OptimizeResult
        A run of ``method="gd"`` with a constant step, with its history.
    f_star : float
        A lower bound on f (the optimal value, or any lower bound: a smaller f* only
        loosens the bound).
    alpha : float, optional
        The constant step (default: the history's ``step_size`` column).
    L : float, optional
        If given, the precondition alpha <= 1/L is checked and reported.
    """
    h = result.history
    k = h.iteration
    gnorm = h.grad_norm
    if len(k) == 0:
        raise ValueError("the result has no history to check (history_every=0?)")
    if alpha is None:
        steps = h.step_size[np.isfinite(h.step_size)]
        if steps.size == 0:
            raise ValueError("alpha not given and the history has no step size")
        alpha = float(steps[0])
        if not np.allclose(steps, alpha, rtol=1e-12):
            raise ValueError("the bound is for a constant step; the run's step size varied")
    f0 = float(h.fun[0])
    observed = np.minimum.accumulate(np.where(np.isfinite(gnorm), gnorm, np.inf))
    bound = np.asarray(gd_nonconvex_bound(f0, f_star, alpha, k), dtype=np.float64)
    ratio = observed / np.maximum(bound, np.finfo(float).tiny)
    held = bool(np.all(observed <= bound * (1.0 + tol_rel)))
    details = {"alpha": float(alpha), "f0": f0, "f_star": float(f_star),
               "every": int(getattr(h, "every", 1))}
    if L is not None:
        details["L"] = float(L)
        details["precondition alpha <= 1/L"] = bool(alpha <= 1.0 / L * (1 + 1e-12))
    return Certificate("GD nonconvex bound min ||grad f|| <= sqrt(2 (f0 - f*) / (alpha (k+1)))",
                       held, observed, bound, k, float(np.max(ratio)), details)
