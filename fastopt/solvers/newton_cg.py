"""Newton-CG: matrix-free inexact Newton with preconditioned conjugate gradients.

    solve H(x_k) d = -grad f(x_k) by PCG until ||H d + g|| <= eta_k ||g||,
    x_{k+1} = x_k + t_k d_k   (backtracking Armijo from t = 1)

* Hessian-vector products: for a linear model, ``weighted_hvp`` with the Hessian weights
  d of the current iterate (one pass each; the predictor is not recomputed); otherwise
  ``objective.hvp``.
* Preconditioner (linear models): Jacobi, M = diag(X~^T D X~) + lam (one pass per
  outer iteration).
* Forcing term (Eisenstat and Walker 1996, choice 2): eta_k = 0.9 (||g_k|| /
  ||g_{k-1}||)^2, safeguarded by max(eta_k, 0.9 eta_{k-1}^2) when the latter exceeds
  0.1, capped at ``eta_max`` and never below 0.5 tol / ||g_k|| (solving further than the
  stopping rule needs buys nothing). Superlinear local convergence.
* Line search (:meth:`~fastopt.solvers._template.SecondOrderSolver.armijo_step`): the
  unit step is tested by the next iteration's gradient pass while unit steps are
  accepted; otherwise X d once (one pass), then each trial step costs O(m), and the
  predictor z = X x is carried between iterations as z + t X d.

If CG meets a direction of non-positive curvature (H not positive definite, e.g. on a
nonconvex objective) it stops with the last iterate, or at the first iteration with the
preconditioned steepest-descent direction, which is always a descent direction.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_flag, check_int, check_interval
from ._cg import conjugate_gradient
from ._deterministic import refuse_seed
from ._template import SecondOrderSolver, norm
from .line_search import check_line_search_options
from .registry import register

__all__ = ["newton_cg"]

OPTIONS = {
    "max_cg": 250,  # CG iterations (Hessian-vector products) per outer iteration
    "eta_max": 0.5,  # largest forcing term
    "precondition": True,  # Jacobi preconditioner (linear models)
    "c1": 1e-4,
    "shrink": 0.5,
    "max_line_search": 60,
}


class NewtonCGSolver(SecondOrderSolver):
    """Inexact Newton with PCG on the template of :class:`SecondOrderSolver`."""

    method = "newton-cg"

    def check_options(self):
        """max_cg >= 1, 0 < eta_max < 1 (a forcing term >= 1 accepts d = 0 and the
        search then has no descent direction), a boolean ``precondition`` and the
        line-search options."""
        opts = self.options
        opts["max_cg"] = check_int("max_cg", opts["max_cg"], 1)
        opts["eta_max"] = check_interval("eta_max", opts["eta_max"], 0.0, 1.0,
                                         closed_low=False)
        opts["precondition"] = check_flag("precondition", opts["precondition"])
        check_line_search_options(opts)

    def setup(self):
        self.weights = None
        self.eta = self.options["eta_max"]
        self.g_norm_prev = math.nan
        self.hv = np.empty(self.x.shape[0])
        self.extra.update(n_cg=0, n_line_search=0, negative_curvature=0)

    def update_gradient_hessian(self):
        """Sets ``f``, ``g`` and, for a linear model, the Hessian weights."""
        if self.linear:
            self.f, self.g, self.weights = self.objective.grad_hess_weights(self.x)
        else:
            self.f, self.g = self.objective.loss_grad(self.x)

    def _forcing(self, g_norm):
        eta_max = self.options["eta_max"]
        if math.isnan(self.g_norm_prev):
            eta = eta_max
        else:
            eta = 0.9 * (g_norm / self.g_norm_prev) ** 2
            safeguard = 0.9 * self.eta ** 2
            if safeguard > 0.1:
                eta = max(eta, safeguard)
        eta = min(eta, eta_max)
        eta = max(eta, min(eta_max, 0.5 * self.run.tol / max(g_norm, 1e-300)))
        self.eta = eta
        self.g_norm_prev = g_norm
        return eta

    def _hvp(self, v):
        if self.linear:
            return self.objective.weighted_hvp_into(self.weights, v, self.hv)
        return self.objective.hvp_into(self.x, v, self.hv)

    def inner_solve(self):
        """Sets ``d`` by PCG on H d = -g to the forcing tolerance."""
        g_norm = norm(self.g)
        eta = self._forcing(g_norm)
        precond = None
        obj = self.objective
        if self.options["precondition"] and (
                self.linear or callable(getattr(obj, "hessian_diagonal_at", None))):
            with self.phase("hessian"):
                precond = (obj.hessian_diagonal(self.weights) if self.linear
                           else obj.hessian_diagonal_at(self.x))
                # A zero column with lam = 0 has a zero diagonal entry: leave it unscaled.
                precond[precond <= 0.0] = 1.0
        with self.phase("solve"):
            cg = conjugate_gradient(self._hvp, -self.g, eta, self.options["max_cg"], precond)
        self.extra["n_cg"] += cg.n_iter
        self.extra["negative_curvature"] += int(cg.negative_curvature)
        self.d = cg.x

    def line_search(self):
        """Backtracking from t = 1 (:meth:`SecondOrderSolver.armijo_step`)."""
        return self.armijo_step()


@register("newton-cg", options=OPTIONS, order=2, own_kernels=False)
def newton_cg(objective, x0, options, run):
    """Newton-CG (inexact Newton, Jacobi-preconditioned CG, Eisenstat-Walker forcing).

    Parameters
    ----------
    objective : Objective
        Needs ``loss_grad`` and ``hvp`` (or the linear-model fast path).
    x0 : ndarray of shape (p,)
    options : dict
        ``max_cg``, ``eta_max``, ``precondition``, ``c1``, ``shrink``,
        ``max_line_search`` (see ``OPTIONS``).
    run : fastopt.solvers.run.Run
        ``run.seed`` must be None: the method draws no random numbers (a seed is a
        ``ValueError``).

    Returns
    -------
    OptimizeResult
        With ``n_cg`` (Hessian-vector products in all), ``n_line_search``,
        ``negative_curvature`` (inner solves stopped by it) and ``timings``.
    """
    refuse_seed(run, "newton-cg")
    opts = dict(OPTIONS)
    opts.update(options or {})
    return NewtonCGSolver(objective, x0, opts, run).solve()
