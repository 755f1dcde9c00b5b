"""Sketch-Newton: the approximate Newton method of Deng, Song and Xie (arXiv 2308.08358).

    H~(x) = R_S^T diag(h_S / (s p_S)) R_S + ridge (+ U C U^T),
    x_{k+1} = x_k - H~(x_k)^{-1} grad f(x_k)           (greedy unit step)

where the Hessian is R^T diag(h) R + ridge (+ a low-rank part kept exactly) and S are s
rows sampled uniformly or by approximate leverage scores of diag(h)^{1/2} R (a
CountSketch and a QR, :func:`~fastopt.solvers._sketch.approximate_leverage_scores`),
each reweighted by 1 / (s p_i). s is given (``sketch_size``) or set from a spectral
accuracy eps as s = ceil(c p log p / eps^2). The system is solved by Cholesky (with the
damping of :mod:`fastopt.solvers._cholesky` if H~ is not positive definite), through the
Woodbury identity when there is a low-rank part.

Where (1 - eps) H <= H~ <= (1 + eps) H holds, the error contracts linearly,
r_{t+1} <= 2 (eps + M r_t / (l - M r_t)) r_t, so the rate improves as s grows (eps
shrinks). ``line_search=True`` adds a backtracking Armijo search on the unit step (with
the O(m) predictor line for linear models) for starts outside the local region.

Two kinds of objective are supported:

* linear models (``Logistic``, ``LeastSquares``): R = X, h = the Hessian weights of
  ``grad_hess_weights`` (one pass gives f, grad f and h), ridge = lam;
* objectives with ``hessian_factors(x) -> (h, U, C)`` (``SoftmaxReLU``): R = the data
  matrix ``objective.A``, the diagonal part diag(h) sampled, U C U^T kept exactly.

The result reports ``timings`` with ``gradient`` (the gradient pass), ``sketch``
(leverage scores, sampling and the sampled Gram), ``solve`` (Cholesky/Woodbury) and
``line_search``, and ``sketch_size``.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from .._checks import check_flag, check_int, check_interval, check_positive
from .._memory import check_fits
from .._result import Status
from ._cholesky import checked_damped_cholesky_solve
from ._sketch import (
    approximate_leverage_scores,
    csr_row_of,
    sample_rows,
    sampled_gram,
    sketch_size,
)
from ._template import SecondOrderSolver, count_passes, norm
from .line_search import check_line_search_options
from .registry import register

__all__ = ["sketch_newton"]

OPTIONS = {
    "sketch_size": None,  # s; None: from eps
    "eps": 0.5,  # spectral accuracy that sets s
    "sketch_constant": 1.0,  # c in s = c p log p / eps^2
    "sampling": "leverage",  # "leverage" or "uniform" (uniform misses rare features)
    "line_search": False,  # greedy unit step (the paper) or backtracking Armijo
    "c1": 1e-4,
    "shrink": 0.5,
    "max_line_search": 60,
    "damping0": 1e-8,
}


class SketchNewtonSolver(SecondOrderSolver):
    """Approximate (sampled-Hessian) Newton on the template of :class:`SecondOrderSolver`."""

    method = "sketch-newton"

    def check_options(self):
        """sketch_size None or >= 1, 0 < eps < 1, sketch_constant > 0, ``sampling`` one
        of "uniform"/"leverage", a boolean ``line_search``, damping0 > 0 and the
        line-search options (checked even for the greedy unit step, so that a bad value
        is never silently ignored)."""
        opts = self.options
        if opts["sketch_size"] is not None:
            opts["sketch_size"] = check_int("sketch_size", opts["sketch_size"], 1)
        opts["eps"] = check_interval("eps", opts["eps"], 0.0, 1.0, closed_low=False)
        opts["sketch_constant"] = check_positive("sketch_constant", opts["sketch_constant"])
        if opts["sampling"] not in ("uniform", "leverage"):
            raise ValueError(f"sampling must be 'uniform' or 'leverage', got "
                             f"{opts['sampling']!r}")
        opts["line_search"] = check_flag("line_search", opts["line_search"])
        opts["damping0"] = check_positive("damping0", opts["damping0"])
        check_line_search_options(opts)

    def setup(self):
        obj = self.objective
        opts = self.options
        self.factored = not self.linear and callable(getattr(obj, "hessian_factors", None))
        if self.by_passes:
            raise ValueError("sketch-newton samples rows of X, which needs X in memory as one "
                             "array; X is read in row blocks here: use 'newton', "
                             "'newton-cg' or 'lbfgs'")
        if not (self.linear or self.factored):
            raise TypeError("sketch-newton needs a linear-model objective (Logistic, "
                            "LeastSquares) or one with hessian_factors (SoftmaxReLU); got "
                            f"{type(obj).__name__}")
        if self.linear:
            self.R = obj.X
            self.intercept = bool(getattr(obj, "fit_intercept", False))
            n = obj.n_features
            self.ridge = np.zeros(obj.n_params)
            self.ridge[:n] = obj.lam
        else:
            self.R = obj.A
            self.intercept = False
            self.ridge = np.zeros(obj.n_params)
        m = self.R.shape[0]
        s = opts["sketch_size"]
        if s is None:
            s = sketch_size(obj.n_params, opts["eps"], opts["sketch_constant"])
        if s > m:
            # Uniform sampling is without replacement; leverage sampling draws with
            # replacement, but a sketch of more than m rows costs more than the exact
            # Hessian (m rows) that it approximates, and its memory would follow the option
            # instead of the data.
            if opts["sketch_size"] is not None:
                warnings.warn(f"sketch_size={s} exceeds the {m} rows of the data; the sketch "
                              f"uses {m}", stacklevel=5)
            s = m
        check_fits(float(s) * (8.0 * obj.n_params + 16.0),
                   f"sketch_size={s} (sampled rows of {obj.n_params} entries)")
        self.s = s
        self.rng = np.random.default_rng(getattr(self.run, "seed", None))
        self.h = None
        self.low_rank = None
        self.row_of = None
        self.timings["sketch"] = 0.0
        self.extra.update(sketch_size=self.s, damping=0.0, n_damped=0, n_line_search=0)

    def update_gradient_hessian(self):
        """Sets ``f``, ``g`` and the row weights h (one pass for a linear model)."""
        if self.linear:
            self.f, self.g, self.h = self.objective.grad_hess_weights(self.x)
        else:
            self.f, self.g = self.objective.loss_grad(self.x)
            self.h = None

    def _sketch(self):
        """H~ without the low-rank part: sampled R^T diag(h) R + ridge."""
        if self.factored:
            self.h, U, C = self.objective.hessian_factors(self.x)
            self.low_rank = (U, C)
        m = self.R.shape[0]
        scores = None
        if self.options["sampling"] == "leverage":
            if self.row_of is None and sp.issparse(self.R):
                self.row_of = csr_row_of(self.R)  # kept: the same for every sketch
            scores = approximate_leverage_scores(self.R, self.h, self.ridge, self.intercept,
                                                 self.rng, row_of=self.row_of)
            count_passes(self.objective, 2)
        rows, scale = sample_rows(m, self.s, self.rng, scores)
        H = sampled_gram(self.R, rows, self.h[rows] * scale, self.intercept)
        H[np.diag_indices_from(H)] += self.ridge
        # Reading s of the m rows is s/m of a pass (as the objectives count mini-batches).
        count_passes(self.objective, rows.shape[0] / m, hessian=True)
        return H

    def _solve(self, H):
        """-H~^{-1} g, by Woodbury when a rank-2 part U C U^T is kept exactly:
        (K + U C U^T)^{-1} = K^{-1} - K^{-1} U (C^{-1} + U^T K^{-1} U)^{-1} U^T K^{-1}."""
        damping0 = self.options["damping0"]
        if self.low_rank is None:
            sol = checked_damped_cholesky_solve(H, -self.g, damping0)
            d = sol.x
        else:
            U, C = self.low_rank
            rhs = np.column_stack([-self.g, U])
            sol = checked_damped_cholesky_solve(H, rhs, damping0)
            Kg, KU = sol.x[:, 0], sol.x[:, 1:]
            cap = np.linalg.inv(C) + U.T @ KU
            d = Kg - KU @ scipy.linalg.solve(cap, U.T @ Kg, check_finite=False)
        if sol.damping > 0.0:
            self.extra["n_damped"] += 1
            self.extra["damping"] = max(self.extra["damping"], sol.damping)
        return d

    def inner_solve(self):
        """Sets ``d`` = -H~^{-1} g from a fresh sample of rows."""
        with self.phase("sketch"):
            H = self._sketch()
        with self.phase("solve"):
            self.d = self._solve(H)

    def finalize(self, status, nit: int):
        """The result; a run that stops without converging returns its best iterate.

        The greedy unit step is not monotone: with an unlucky sketch f can rise far above
        its best value, and the last iterate of a run that hits ``max_iter`` would then be
        a bad answer given silently. Such a run returns the best iterate it observed,
        with ``last_fun`` (the last iterate's value) in the result and a warning.
        """
        run = self.run
        if (not Status(status).success and run.best_x is not None
                and run.best_f < self.f):
            warnings.warn(f"sketch-newton stopped without converging at f = {self.f:.6g}, "
                          f"above its best iterate's f = {run.best_f:.6g}, which is "
                          "returned; line_search=True makes the steps monotone",
                          stacklevel=4)
            self.extra["last_fun"] = float(self.f)
            self.x, self.f, self.g = run.best_x, run.best_f, run.best_g
        return super().finalize(status, nit)

    def line_search(self):
        """The unit step, or backtracking from it (``line_search=True``)."""
        if not self.options["line_search"]:
            self.step = 1.0
            self.step_norm = norm(self.d)
            self.x = self.x + self.d
            return True
        return self.armijo_step()


@register("sketch-newton", options=OPTIONS, order=2, own_kernels=False)
def sketch_newton(objective, x0, options, run):
    """Approximate Newton with a row-sampled Hessian (uniform or leverage scores).

    Parameters
    ----------
    objective : LinearObjective or an objective with ``hessian_factors`` (SoftmaxReLU)
    x0 : ndarray of shape (p,)
    options : dict
        ``sketch_size``, ``eps``, ``sketch_constant``, ``sampling``, ``line_search``,
        ``c1``, ``shrink``, ``max_line_search``, ``damping0`` (see ``OPTIONS``); the
        sampling seed is the common option ``seed``.
    run : fastopt.solvers.run.Run

    Returns
    -------
    OptimizeResult
        With ``sketch_size``, ``damping``/``n_damped`` (shifts that made H~ positive
        definite), ``n_line_search`` and ``timings`` (``gradient``, ``sketch``,
        ``solve``, ``line_search``).
    """
    opts = dict(OPTIONS)
    opts.update(options or {})
    return SketchNewtonSolver(objective, x0, opts, run).solve()
