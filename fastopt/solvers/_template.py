"""The template every second-order solver follows (after scikit-learn's ``NewtonSolver``).

::

    setup -> update_gradient_hessian -> [check_convergence -> inner_solve -> line_search
          -> update_gradient_hessian]* -> finalize

Each hook says what it sets. Every phase is timed into ``timings`` (seconds per phase,
as glum's diagnostics do) and the result reports it, so a caller can see where the time
went: ``gradient`` (the passes that compute f, grad f and the Hessian weights),
``hessian`` (forming or sketching the Hessian), ``solve`` (the inner solve),
``line_search``.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager

import numpy as np

from .._result import Status

__all__ = ["SecondOrderSolver", "count_passes", "is_linear"]

_LINEAR_METHODS = ("linear_predictor", "grad_hess_weights", "weighted_hvp",
                   "loss_from_predictor", "grad_from_predictor")


def is_linear(objective) -> bool:
    """Whether ``objective`` is a linear-model objective (docs/contract.md), i.e. whether
    the O(m) line search on the predictor z = X w applies."""
    return all(callable(getattr(objective, name, None)) for name in _LINEAR_METHODS)


def count_passes(objective, n: int = 1, hessian: bool = False) -> None:
    """Add ``n`` passes over the data (and, if ``hessian``, one Hessian evaluation) to the
    objective's counters, for work a solver does on the objective's data directly."""
    if hasattr(objective, "n_passes"):
        objective.n_passes += n
    if hessian and hasattr(objective, "nhev"):
        objective.nhev += 1


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
        self.run = run
        self.x = np.array(x0, dtype=np.float64, copy=True).reshape(-1)
        self.linear = is_linear(objective)
        self.f = math.nan
        self.g = None
        self.d = None
        self.step = math.nan
        self.step_norm = math.nan
        self.timings = {"gradient": 0.0, "hessian": 0.0, "solve": 0.0, "line_search": 0.0}
        self.extra = {}

    @contextmanager
    def phase(self, name: str):
        """Time a block into ``timings[name]``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0

    # --- hooks ------------------------------------------------------------------------

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
        """Whether :meth:`line_search` already set ``f`` and ``g`` at the new ``x`` (then
        :meth:`update_gradient_hessian` only refreshes the curvature)."""
        return False

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
            with self.phase("gradient"):
                self.update_gradient_hessian()
            status = self.check_convergence(k)
        return self.finalize(status, k)
