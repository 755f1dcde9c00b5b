"""Newton's method: exact Hessian, Cholesky solve, backtracking line search.

    d_k = -(H(x_k) + tau_k I)^{-1} grad f(x_k),    x_{k+1} = x_k + t_k d_k

with tau_k = 0 whenever H(x_k) is positive definite (then the step is the pure Newton
step) and otherwise the smallest shift of the sequence in
:func:`~fastopt.solvers._cholesky.damped_cholesky_solve` that makes the Cholesky
factorization succeed; ``res.damping`` (the largest tau used) and ``res.n_damped``
(iterations that needed a shift) report it. t_k is the first of 1, 1/2, 1/4, ... that
satisfies the Armijo condition.

For a linear-model objective each iteration costs:

* one pass for f, grad f and the Hessian weights d (``grad_hess_weights``);
* one blocked pass for H = X~^T diag(d) X~ + lam I (the ``weighted_gram`` kernel);
* one pass for X d, after which every trial step of the line search costs O(m)
  (``loss_from_predictor``); the predictor z = X x is carried from one iteration to
  the next as z + t X d, so it is computed from X only once.

Near the solution the unit step is accepted and the convergence is quadratic:
||g_{k+1}|| <= C ||g_k||^2.
"""

from __future__ import annotations

import numpy as np

from ._cholesky import damped_cholesky_solve
from ._linear import gram, line_for
from ._template import SecondOrderSolver
from .line_search import backtracking
from .registry import register

__all__ = ["newton"]

OPTIONS = {
    "c1": 1e-4,  # Armijo constant
    "shrink": 0.5,  # backtracking factor
    "max_line_search": 60,  # trials per line search
    "damping0": 1e-8,  # first Cholesky shift, relative to max |diag H|
}


class NewtonSolver(SecondOrderSolver):
    """Newton's method on the template of :class:`SecondOrderSolver`."""

    method = "newton"

    def setup(self):
        self.d_weights = None
        self.z = None
        self.extra.update(damping=0.0, n_damped=0, n_line_search=0)

    def update_gradient_hessian(self):
        """Sets ``f``, ``g`` and, for a linear model, the Hessian weights ``d_weights``."""
        if self.linear:
            self.f, self.g, self.d_weights = self.objective.grad_hess_weights(self.x)
        else:
            self.f, self.g = self.objective.loss_grad(self.x)

    def inner_solve(self):
        """Sets ``d`` = -(H + tau I)^{-1} g by (damped) Cholesky."""
        with self.phase("hessian"):
            if self.linear:
                H = gram(self.objective, self.d_weights)
            else:
                H = np.asarray(self.objective.hessian(self.x), dtype=np.float64)
        with self.phase("solve"):
            sol = damped_cholesky_solve(H, -self.g, tau0=self.options["damping0"])
        self.d = sol.x
        if sol.damping > 0.0:
            self.extra["n_damped"] += 1
            self.extra["damping"] = max(self.extra["damping"], sol.damping)

    def line_search(self):
        """Backtracking from t = 1; for a linear model X d is computed once and each trial
        costs O(m). Sets ``x``, ``step``, ``step_norm``."""
        slope = float(self.g @ self.d)
        if not slope < 0.0:
            # Roundoff at the optimum: the direction is no longer a descent one.
            return False
        if self.linear and self.z is None:
            self.z = self.objective.linear_predictor(self.x)
        line = line_for(self.objective, self.x, self.d, self.z)
        ls = backtracking(line, self.f, slope, t0=1.0, c1=self.options["c1"],
                          shrink=self.options["shrink"],
                          max_iter=self.options["max_line_search"])
        self.extra["n_line_search"] += ls.n_trials
        if not ls.success:
            return False
        self.step = ls.step
        self.step_norm = ls.step * float(np.linalg.norm(self.d))
        self.x = self.x + ls.step * self.d
        if self.linear:
            # z_{k+1} = z_k + t X d: the next line search needs no pass to rebuild it.
            self.z = line.point_predictor(ls.step)
        return True


@register("newton", options=OPTIONS, order=2)
def newton(objective, x0, options, run):
    """Newton's method with a Cholesky solve, damping and a backtracking line search.

    Parameters
    ----------
    objective : Objective
        Needs ``loss_grad`` and ``hessian`` (or, for a linear model, the
        ``grad_hess_weights`` fast path).
    x0 : ndarray of shape (p,)
    options : dict
        ``c1``, ``shrink``, ``max_line_search``, ``damping0`` (see ``OPTIONS``).
    run : fastopt.solvers.run.Run

    Returns
    -------
    OptimizeResult
        With ``damping`` (largest diagonal shift added to make H positive definite, 0
        when none was needed), ``n_damped``, ``n_line_search`` (trial steps in all) and
        ``timings``.
    """
    opts = dict(OPTIONS)
    opts.update(options or {})
    return NewtonSolver(objective, x0, opts, run).solve()
