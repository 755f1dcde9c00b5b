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
* one blocked pass for H = X~^T diag(d) X~ + lam I (``weighted_gram``);
* the line search: while unit steps are accepted (near the solution, and on logistic
  regression from x0 = 0 usually from the start), t = 1 is tested with the first pass
  of the next iteration, so it costs nothing more; after a rejected unit step, one pass
  for X d, after which every trial costs O(m) (``loss_from_predictor``), the predictor
  z = X x being carried to the next iteration as z + t X d.

Near the solution the unit step is accepted and the convergence is quadratic:
||g_{k+1}|| <= C ||g_k||^2.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._checks import check_positive
from .._warnings import user_stacklevel
from ._cholesky import checked_damped_cholesky_solve
from ._deterministic import refuse_seed
from ._template import SecondOrderSolver
from .line_search import check_line_search_options
from .registry import register

__all__ = ["newton"]

#: Newton warns when one Hessian costs more than this many loss-and-gradient passes and
#: more than COSTLY_HESSIAN multiply-adds: then a method that never forms it (lbfgs,
#: newton-cg) reaches the optimum in a fraction of the time (Newton takes ~10 iterations,
#: lbfgs a few hundred passes).
HESSIAN_PASSES = 25
COSTLY_HESSIAN = 1e8

OPTIONS = {
    "c1": 1e-4,  # Armijo constant
    "shrink": 0.5,  # backtracking factor
    "max_line_search": 60,  # trials per line search
    "damping0": 1e-8,  # first Cholesky shift, relative to max |diag H|
}


class NewtonSolver(SecondOrderSolver):
    """Newton's method on the template of :class:`SecondOrderSolver`."""

    method = "newton"

    def check_options(self):
        """0 < c1 < 1, 0 < shrink < 1, max_line_search >= 1, damping0 > 0 (a zero shift
        would retry the same failed factorization until the attempts run out)."""
        check_line_search_options(self.options)
        self.options["damping0"] = check_positive("damping0", self.options["damping0"])

    def setup(self):
        self.d_weights = None
        self.extra.update(damping=0.0, n_damped=0, n_line_search=0)
        self._warn_if_costly()

    def _warn_if_costly(self):
        """A warning with the estimated cost when the objective says its Hessian is far
        dearer than its gradient (``hessian_cost`` and ``pass_cost``, multiply-adds)."""
        obj = self.objective
        if not (callable(getattr(obj, "hessian_cost", None))
                and callable(getattr(obj, "pass_cost", None))):
            return
        cost = obj.hessian_cost()
        passes = cost / max(obj.pass_cost(), 1.0)
        if cost > COSTLY_HESSIAN and passes > HESSIAN_PASSES:
            p = obj.n_params
            warnings.warn(f"newton forms the {p} x {p} Hessian at every iteration, about "
                          f"{cost:.1e} multiply-adds, the cost of {passes:.0f} gradient "
                          "passes: 'lbfgs' or 'newton-cg' (Hessian-vector products only) "
                          "reach the same optimum in far less time here",
                          stacklevel=user_stacklevel())

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
                H = self.objective.weighted_gram(self.d_weights)
            else:
                H = np.asarray(self.objective.hessian(self.x), dtype=np.float64)
        with self.phase("solve"):
            sol = checked_damped_cholesky_solve(H, -self.g, self.options["damping0"])
        self.d = sol.x
        if sol.damping > 0.0:
            self.extra["n_damped"] += 1
            self.extra["damping"] = max(self.extra["damping"], sol.damping)

    def line_search(self):
        """Backtracking from t = 1 (:meth:`SecondOrderSolver.armijo_step`). Sets ``x``,
        ``step``, ``step_norm``."""
        return self.armijo_step()


@register("newton", options=OPTIONS, order=2, own_kernels=False)
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
        ``run.seed`` must be None: the method draws no random numbers (a seed is a
        ``ValueError``).

    Returns
    -------
    OptimizeResult
        With ``damping`` (largest diagonal shift added to make H positive definite, 0
        when none was needed), ``n_damped``, ``n_line_search`` (trial steps in all) and
        ``timings``.
    """
    refuse_seed(run, "newton")
    opts = dict(OPTIONS)
    opts.update(options or {})
    return NewtonSolver(objective, x0, opts, run).solve()
