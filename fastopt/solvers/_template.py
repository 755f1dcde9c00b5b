"""The template every second-order solver follows (after scikit-learn's ``NewtonSolver``).

::

    setup -> update_gradient_hessian -> [check_convergence -> inner_solve -> line_search
          -> update_gradient_hessian]* -> finalize

Each hook says what it sets. Every phase is timed into ``timings`` (seconds per phase,
as glum's diagnostics do) and the result reports it, so a caller can see where the time
went: ``gradient`` (the passes that compute f, grad f and the Hessian weights),
``hessian`` (forming or sketching the Hessian), ``solve`` (the inner solve),
``line_search`` (which includes the evaluation at x + d when
:meth:`SecondOrderSolver.armijo_step` tests the unit step with it).

Two things every solver on this template gets for free:

* BLAS on one thread for the whole solve when the objective is a linear model on a
  compiled backend (:func:`~fastopt.solvers._blas.solver_blas`): the data passes run on
  numba/OpenMP threads, and a threaded BLAS call in between (an m-length dot, a small
  factorization) leaves OpenBLAS threads spinning against them; on a loaded machine
  with few cores that can make a small Newton fit take twice as long or more.
* :meth:`SecondOrderSolver.armijo_step`, the backtracking step of the Newton-type
  methods, which first tries the unit step with the full evaluation the next iteration
  needs anyway (``update_gradient_hessian`` at x + d: one pass for f, grad f and the
  Hessian weights) and falls back to the O(m) predictor search only when t = 1 fails.
"""

from __future__ import annotations

import math
from time import perf_counter

import numpy as np

from .._result import Status
from ._blas import solver_blas
from .line_search import backtracking, make_line, sufficient_decrease

__all__ = ["SecondOrderSolver", "count_passes", "is_linear", "norm"]

_LINEAR_METHODS = ("linear_predictor", "grad_hess_weights", "weighted_hvp",
                   "weighted_gram", "hessian_diagonal", "loss_from_predictor",
                   "dloss_from_predictor", "grad_from_predictor")


def is_linear(objective) -> bool:
    """Whether ``objective`` is a linear-model objective (docs/contract.md), i.e. whether
    the O(m) line search on the predictor z = X w applies. An objective whose rows are
    not in memory (``rows_in_memory`` False: X read in row blocks) is not: its solvers
    take the generic paths (f, grad f, H v and H, each a pass)."""
    return getattr(objective, "rows_in_memory", True) and all(
        callable(getattr(objective, name, None)) for name in _LINEAR_METHODS)


def count_passes(objective, n: int = 1, hessian: bool = False) -> None:
    """Add ``n`` passes over the data (and, if ``hessian``, one Hessian evaluation) to the
    objective's counters, for work a solver does on the objective's data directly."""
    if hasattr(objective, "n_passes"):
        objective.n_passes += n
    if hessian and hasattr(objective, "nhev"):
        objective.nhev += 1


def norm(v: np.ndarray) -> float:
    """||v||_2 of a float64 vector: ``sqrt(v . v)``, which is what ``np.linalg.norm``
    computes for one, without its dispatch (a few microseconds per call)."""
    return math.sqrt(float(np.dot(v, v)))


class _Phase:
    """``with``-block timer adding its seconds to ``timings[name]`` (a plain class: a
    generator-based context manager costs a few microseconds per use, and a small fit
    enters four or five phases per iteration)."""

    __slots__ = ("timings", "name", "t0")

    def __init__(self, timings: dict, name: str) -> None:
        self.timings = timings
        self.name = name

    def __enter__(self):
        self.t0 = perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        elapsed = perf_counter() - self.t0
        self.timings[self.name] = self.timings.get(self.name, 0.0) + elapsed


class SecondOrderSolver:
    """Skeleton of an iterative solver x_{k+1} = x_k + t_k d_k.

    Parameters
    ----------
    objective : Objective
    x0 : array_like of shape (p,)
    options : dict
        Method options (defaults filled in by the registry).
    run : fastopt.solvers.run.Run
        Stopping rules, history and result builder.

    Attributes set by the hooks
    ---------------------------
    x : ndarray of shape (p,)
        Current iterate (always the last accepted one).
    f, g : float, ndarray of shape (p,)
        f(x) and grad f(x), set by :meth:`update_gradient_hessian` (or by the line search
        when it already computed them).
    d : ndarray of shape (p,)
        Search direction, set by :meth:`inner_solve`.
    step, step_norm : float
        Accepted step size t_k and ||x_{k+1} - x_k||, set by :meth:`line_search`.
    timings : dict
        Seconds spent per phase.
    extra : dict
        Method-specific diagnostics added to the result.
    """

    method = ""

    def __init__(self, objective, x0, options, run):
        self.objective = objective
        self.options = options
        # Every option is checked once, before any work: a bad value is a ValueError
        # naming it, never a run that ends in a misleading status.
        self.check_options()
        self.run = run
        self.x = np.array(x0, dtype=np.float64, copy=True).reshape(-1)
        self.linear = is_linear(objective)
        # X read in row blocks: every evaluation is a pass, f alone as dear as f and grad f
        # together, so the unit step is tried with the evaluation the next iterate needs.
        self.by_passes = not getattr(objective, "rows_in_memory", True)
        self.f = math.nan
        self.g = None
        self.d = None
        self.step = math.nan
        self.step_norm = math.nan
        self.timings = {"gradient": 0.0, "hessian": 0.0, "solve": 0.0, "line_search": 0.0}
        self.extra = {}
        # Predictor z = X x (linear models), carried between iterations by the predictor
        # line search; None when unknown (then computed by a pass when needed).
        self.z = None
        # Whether the next armijo_step tries t = 1 with a full evaluation first (it does
        # while unit steps keep being accepted).
        self.unit_first = True
        self._gradient_current = False

    def phase(self, name: str) -> _Phase:
        """Context manager timing a block into ``timings[name]``."""
        return _Phase(self.timings, name)

    # --- hooks ------------------------------------------------------------------------

    def check_options(self) -> None:
        """Validate ``self.options`` (``ValueError``/``TypeError`` naming the option);
        subclasses check theirs, the line-search ones through
        :func:`~fastopt.solvers.line_search.check_line_search_options`."""

    def setup(self) -> None:
        """Allocate buffers and read options (nothing is evaluated yet)."""

    def update_gradient_hessian(self) -> None:
        """Set ``f``, ``g`` and whatever curvature information ``inner_solve`` needs at
        ``x`` (Hessian weights, not the assembled Hessian: the last iterate never needs
        it)."""
        raise NotImplementedError

    def inner_solve(self) -> None:
        """Set the direction ``d``."""
        raise NotImplementedError

    def line_search(self) -> bool:
        """Move ``x`` along ``d``; set ``step`` and ``step_norm``. False when no
        acceptable step was found (``x`` then stays where it was)."""
        raise NotImplementedError

    def gradient_is_current(self) -> bool:
        """Whether :meth:`line_search` already evaluated ``update_gradient_hessian`` at the
        new ``x`` (then the driver does not evaluate it again)."""
        return self._gradient_current

    # --- the shared backtracking step -------------------------------------------------

    def predictor(self) -> np.ndarray:
        """z = X x (+ intercept) for a linear model: carried when known, zero at x = 0
        (no pass), else one pass."""
        if self.z is None:
            if not self.x.any():
                self.z = np.zeros(self.objective.n_samples)
            else:
                self.z = self.objective.linear_predictor(self.x)
        return self.z

    def armijo_step(self) -> bool:
        """Backtracking Armijo step along ``d`` from t = 1 (options ``c1``, ``shrink``,
        ``max_line_search``); sets ``x``, ``step``, ``step_norm``.

        Linear models, while unit steps are being accepted: x + d is evaluated with
        :meth:`update_gradient_hessian` (one pass, which the next iteration needs
        anyway); if Armijo holds, the step is taken with no other pass. Otherwise (and
        for the other objectives) the predictor line: X d once, O(m) per trial, and z
        carried to the next iteration as z + t X d. Returns False when no step
        satisfies Armijo (``x``, ``f``, ``g`` then stay those of the current iterate).
        """
        slope = float(np.dot(self.g, self.d))
        if not slope < 0.0:
            # Roundoff at the optimum: the direction is no longer a descent one.
            return False
        c1 = self.options["c1"]
        n_trials = 0
        if self.unit_first and (self.linear or self.by_passes):
            x, f, g = self.x, self.f, self.g
            self.x = x + self.d
            self.update_gradient_hessian()
            n_trials = 1
            if sufficient_decrease(self.f, f, 1.0, slope, c1):
                self.extra["n_line_search"] = self.extra.get("n_line_search", 0) + 1
                self.step = 1.0
                self.step_norm = norm(self.d)
                self.z = None  # X x is not known at the new point; no pass spent on it
                self._gradient_current = True
                return True
            # Rejected: back to x (its curvature is no longer needed: d is fixed).
            self.x, self.f, self.g = x, f, g
            self.unit_first = False
        line = make_line(self.objective, self.x, self.d,
                         self.predictor() if self.linear else None)
        ls = backtracking(line, self.f, slope, t0=1.0, c1=c1, shrink=self.options["shrink"],
                          max_iter=self.options["max_line_search"])
        self.extra["n_line_search"] = self.extra.get("n_line_search", 0) + ls.n_trials + n_trials
        if not ls.success:
            return False
        self.step = ls.step
        self.step_norm = ls.step * norm(self.d)
        self.x = self.x + ls.step * self.d
        if self.linear:
            # z_{k+1} = z_k + t X d: the next line search needs no pass to rebuild it.
            self.z = line.point_predictor(ls.step)
            self.unit_first = ls.step == 1.0
        return True

    def check_convergence(self, k: int):
        """The run's stopping tests at iterate ``k``; a Status or None."""
        return self.run.observe(k, self.x, self.f, self.g, step_norm=self.step_norm,
                                step_size=self.step)

    def finalize(self, status, nit: int):
        """The :class:`~fastopt.OptimizeResult`, with ``timings`` and ``extra``."""
        return self.run.result(self.x, self.f, self.g, status, nit, objective=self.objective,
                               method=self.method, timings=dict(self.timings), **self.extra)

    # --- driver -------------------------------------------------------------------------

    def solve(self):
        """Run the template loop and return the result."""
        with solver_blas(self.objective):
            return self._run_loop()

    def _run_loop(self):
        self.setup()
        with self.phase("gradient"):
            self.update_gradient_hessian()
        k = 0
        status = self.check_convergence(k)
        while status is None:
            try:
                self.inner_solve()
            except np.linalg.LinAlgError as exc:
                self.extra["error"] = str(exc)
                status = Status.NUMERICAL
                break
            with self.phase("line_search"):
                ok = self.line_search()
            if not ok:
                status = Status.LINE_SEARCH
                break
            k += 1
            if self._gradient_current:
                self._gradient_current = False
            else:
                with self.phase("gradient"):
                    self.update_gradient_hessian()
            status = self.check_convergence(k)
        return self.finalize(status, k)
