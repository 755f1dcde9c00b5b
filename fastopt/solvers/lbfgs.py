"""L-BFGS: limited-memory BFGS with a strong-Wolfe line search.

    d_k = -H_k grad f(x_k)      (two-loop recursion over the last k pairs, compiled)
    x_{k+1} = x_k + t_k d_k     (t_k satisfies the strong Wolfe conditions, c1 = 1e-4,
                                 c2 = 0.9; t = 1 is tried first)

with s_j = x_{j+1} - x_j, y_j = g_{j+1} - g_j and H_0 = (<s, y> / <y, y>) I from the
newest pair; a pair with <s, y> <= 1e-10 ||s|| ||y|| is not stored (the Wolfe curvature
condition guarantees <s, y> > 0 in exact arithmetic).

Trial steps. By default each trial is one fused loss-and-gradient pass
(``loss_grad``): the accepted trial's gradient is the next iteration's, so an iteration
costs one pass when t = 1 is accepted, which L-BFGS does about 9 times in 10.
``reuse_predictor=True`` (linear models) carries z = X x between iterations instead:
X d once per iteration (one pass), every trial O(m) (value and slope from z + t X d),
the gradient at the accepted point one more pass (``grad_from_predictor``), so two
passes per iteration however many trials; z is recomputed from X every
``refresh_predictor`` iterations so that roundoff in z + t X d cannot accumulate. That
only pays when the search needs more than two trials per iteration on average; on a9a
(lam = 1/m) we measured 931 passes with it against 552 fused, for the same solution,
hence the default. Newton and Newton-CG, whose gradient pass also yields the Hessian
weights, always use the predictor search.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._checks import check_flag, check_int
from .._memory import check_fits
from ..kernels import get_backend, host_backend
from ._deterministic import refuse_seed
from ._linear import line_for
from ._template import SecondOrderSolver, norm
from .line_search import check_line_search_options, strong_wolfe
from .registry import register

#: Pair storage rows allocated at the start; the storage doubles up to ``memory``.
FIRST_PAIRS = 8

__all__ = ["lbfgs"]

OPTIONS = {
    "memory": 10,  # number of stored pairs (s, y)
    "c1": 1e-4,
    "c2": 0.9,
    "max_line_search": 40,
    "reuse_predictor": False,  # O(m) trial steps from z + t X d (linear models)
    "refresh_predictor": 50,  # recompute z = X x from X every this many iterations
}


def _direction_kernel(objective, backend="auto"):
    """The two-loop recursion of ``backend`` (``fo.minimize(..., backend=...)``), by default
    of the objective's backend.

    A numba, Cython or NumPy objective gets its own backend's kernel. Everything else
    (a user :class:`~fastopt.problems.Function`, a CUDA objective, objectives without a
    ``backend``) gets the ``"auto"`` backend's, which is ahead-of-time compiled: a
    default ``fo.minimize(f, x0)`` never compiles numba (the kernel is O(k p) and
    serial, so every CPU backend suits it).
    """
    if backend == "auto":
        backend = getattr(objective, "backend", None)
    return get_backend(host_backend(backend)).lbfgs_direction


class LBFGSSolver(SecondOrderSolver):
    """L-BFGS on the template of :class:`SecondOrderSolver`."""

    method = "lbfgs"

    def check_options(self):
        """memory >= 1, 0 < c1 < c2 < 1, max_line_search >= 1, a boolean
        ``reuse_predictor`` and refresh_predictor >= 1."""
        opts = self.options
        opts["memory"] = check_int("memory", opts["memory"], 1)
        check_line_search_options(opts, wolfe=True)
        opts["reuse_predictor"] = check_flag("reuse_predictor", opts["reuse_predictor"])
        opts["refresh_predictor"] = check_int("refresh_predictor",
                                              opts["refresh_predictor"], 1)

    def setup(self):
        p = self.x.shape[0]
        # The pair storage starts small and doubles as pairs come (_grow), up to memory:
        # a run that converges in 9 iterations never reserves memory = 10**9 rows.
        k = min(self.options["memory"], FIRST_PAIRS)
        self.S = np.zeros((k, p))
        self.Y = np.zeros((k, p))
        self.rho = np.zeros(k)
        self.alpha = np.zeros(k)
        self.start = 0
        self.count = 0
        self.gamma = 1.0
        self.direction = np.empty(p)
        self.two_loop = _direction_kernel(self.objective, self.run.backend)
        self.use_z = self.linear and bool(self.options["reuse_predictor"])
        self.z = None
        self.since_refresh = 0
        self.g_prev = None
        self.extra.update(n_line_search=0, n_skipped_pairs=0)

    def update_gradient_hessian(self):
        """At the start sets ``f``, ``g`` (and z); afterwards the line search has set them
        and this stores the new pair (s, y) in the memory."""
        if self.g is None:
            self.f, self.g = self.objective.loss_grad(self.x)
            if self.use_z:
                self.z = self.objective.linear_predictor(self.x)
            return
        s = self.step * self.d
        y = self.g - self.g_prev
        sy = float(s @ y)
        if sy <= 1e-10 * norm(s) * norm(y):
            self.extra["n_skipped_pairs"] += 1
            return
        k = self.S.shape[0]
        if self.count == k < self.options["memory"] and not self.extra.get("memory_clipped"):
            k = self._grow()
        j = (self.start + self.count) % k
        if self.count == k:
            self.start = (self.start + 1) % k
        else:
            self.count += 1
        self.S[j] = s
        self.Y[j] = y
        self.rho[j] = 1.0 / sy
        self.gamma = sy / float(y @ y)

    def _grow(self) -> int:
        """Double the pair storage (at most to ``memory`` pairs); returns its new size.

        The stored pairs move to rows 0..count-1 in age order. When the larger storage
        would not fit in memory, it stays as it is: L-BFGS then keeps the last pairs that
        fit, and says so (a warning and ``memory_clipped`` in the result).
        """
        k, p = self.S.shape
        new = min(2 * k, self.options["memory"])
        try:
            check_fits(16.0 * new * p, f"memory={self.options['memory']} (L-BFGS pairs "
                       f"(s, y) of {p} entries)")
        except ValueError as exc:
            warnings.warn(f"{exc}; keeping the last {k} pairs", stacklevel=2)
            self.extra["memory_clipped"] = k
            return k
        order = (self.start + np.arange(self.count)) % k
        for name in ("S", "Y"):
            grown = np.zeros((new, p))
            grown[:self.count] = getattr(self, name)[order]
            setattr(self, name, grown)
        rho = np.zeros(new)
        rho[:self.count] = self.rho[order]
        self.rho, self.alpha, self.start = rho, np.zeros(new), 0
        return new

    def inner_solve(self):
        """Sets ``d`` = -H_k g by the compiled two-loop recursion."""
        with self.phase("solve"):
            self.two_loop(self.g, self.S, self.Y, self.rho, self.start, self.count,
                          self.gamma, self.alpha, self.direction)
            # No copy: d is read (the search, then s = t d in the next
            # update_gradient_hessian) before the next call overwrites the buffer.
            self.d = self.direction

    def line_search(self):
        """Strong-Wolfe search; sets ``x``, ``f``, ``g`` (and z) at the accepted point."""
        slope = float(self.g @ self.d)
        t0 = 1.0
        if self.count == 0 or not slope < 0.0:
            # First iteration, or a memory spoiled by roundoff: restart from steepest
            # descent with a step of unit length.
            self.count = 0
            self.d = -self.g
            slope = -float(self.g @ self.g)
            t0 = min(1.0, 1.0 / max(norm(self.g), 1e-300))
        if self.use_z and self.since_refresh >= self.options["refresh_predictor"]:
            self.z = self.objective.linear_predictor(self.x)
            self.since_refresh = 0
        line = line_for(self.objective, self.x, self.d, self.z if self.use_z else None,
                        fused=True)
        ls = strong_wolfe(line, self.f, slope, t0=t0, c1=self.options["c1"],
                          c2=self.options["c2"], max_iter=self.options["max_line_search"])
        self.extra["n_line_search"] += ls.n_trials
        if not ls.success:
            return False
        self.g_prev = self.g
        self.x, self.f, self.g = line.point(ls.step)
        if self.use_z:
            self.z = line.point_predictor(ls.step)
            self.since_refresh += 1
        self.step = ls.step
        self.step_norm = ls.step * norm(self.d)
        return True


@register("lbfgs", options=OPTIONS, order=2)
def lbfgs(objective, x0, options, run):
    """L-BFGS with a compiled two-loop recursion and a strong-Wolfe line search.

    Parameters
    ----------
    objective : Objective
        Needs ``loss_grad`` (and ``value``); linear models use the O(m) line search.
    x0 : ndarray of shape (p,)
    options : dict
        ``memory``, ``c1``, ``c2``, ``max_line_search``, ``reuse_predictor``,
        ``refresh_predictor`` (see ``OPTIONS``).
    run : fastopt.solvers.run.Run
        ``run.seed`` must be None: the method draws no random numbers (a seed is a
        ``ValueError``).

    Returns
    -------
    OptimizeResult
        With ``n_line_search`` (trial steps in all), ``n_skipped_pairs`` and ``timings``.
    """
    refuse_seed(run, "lbfgs")
    opts = dict(OPTIONS)
    opts.update(options or {})
    return LBFGSSolver(objective, x0, opts, run).solve()
