"""Shared stopping rules, history and best-iterate bookkeeping for every solver.

``fastopt.minimize`` builds one :class:`Run` per call and hands it to the solver; the
solver calls :meth:`Run.observe` once per iteration and :meth:`Run.result` at the end,
so every method applies the same tests in the same order and returns the same
:class:`~fastopt._result.OptimizeResult`.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .._result import MESSAGES, History, OptimizeResult, Status
from .._stopping import CONTINUE, DIVERGED, stop_status


def vector_norm(v) -> float:
    """||v||_2 as a float, silently inf when it overflows (|v_i| ~ 1e155 and above).

    The loops then report divergence from the non-finite norm, as the compiled loop
    (which computes sqrt(v . v) in the same way) does; no RuntimeWarning escapes.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.linalg.norm(v))


class Run:
    """Stopping rules and records of one optimization run.

    Parameters
    ----------
    tol : float
        Stop when ||grad f(x_k)|| <= tol.
    xtol : float
        Stop when ||x_{k+1} - x_k|| <= xtol (0 disables).
    ftol : float
        Stop when |f_k - f_{k+1}| <= ftol * max(1, |f_k|) (0 disables).
    max_iter : int
        Iteration budget.
    max_time : float
        Wall-clock budget in seconds (inf disables).
    callback : callable or None
        ``callback(intermediate_result)`` with an :class:`OptimizeResult` holding ``x``,
        ``fun``, ``nit``; raising ``StopIteration`` or returning True stops the run.
    history_every : int
        Record the history every this many iterations (0 disables recording).
    divergence_factor : float
        The run is declared diverged when f_k - f_0 > divergence_factor * max(1, |f_0|),
        or when f or the gradient is not finite.
    seed : int or None
        Seed of the run's random choices (mini-batch shuffling, sketches).
    batch_size : int or None
        Mini-batch size for finite-sum objectives (None: full gradients).
    backend : str
        Kernel backend for the solver's own kernels ("auto": the objective's).
    """

    def __init__(self, tol=1e-6, xtol=0.0, ftol=0.0, max_iter=1000, max_time=math.inf,
                 callback=None, history_every=1, divergence_factor=1e10, seed=None,
                 batch_size=None, backend="auto"):
        self.seed = seed
        self.batch_size = batch_size
        self.backend = backend
        self.tol = float(tol)
        self.xtol = float(xtol)
        self.ftol = float(ftol)
        self.max_iter = int(max_iter)
        self.max_time = float(max_time)
        self.callback = callback
        self.history = History(max(int(history_every), 1))
        self.record_history = int(history_every) > 0
        self.divergence_factor = float(divergence_factor)
        self.t0 = time.perf_counter()
        self.f0 = None
        self.f_prev = None
        self.best_x = None
        self.best_f = math.inf
        self.best_g = None

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.perf_counter() - self.t0

    def observe(self, k, x, f, g=None, g_norm=None, step_norm=math.nan, step_size=math.nan):
        """Record iterate ``k`` and apply the stopping tests.

        Parameters
        ----------
        k : int
            Iteration number (0 for the starting point).
        x : ndarray of shape (p,)
            The iterate (copied only when it is the best so far).
        f : float
            f(x_k).
        g : ndarray of shape (p,), optional
            grad f(x_k) (used for its norm and kept with the best iterate).
        g_norm : float, optional
            ||grad f(x_k)|| when ``g`` is not passed. With neither ``g`` nor ``g_norm``
            the gradient tests are skipped; a given NaN or infinite gradient norm is
            divergence.
        step_norm, step_size : float
            ||x_k - x_{k-1}|| and the step size used to reach x_k.

        Returns
        -------
        Status or None
            The reason to stop, or None to continue.
        """
        f = float(f)
        no_gradient = g is None and g_norm is None
        if g_norm is None:
            g_norm = vector_norm(g) if g is not None else math.nan
        if self.f0 is None:
            self.f0 = f
        if self.record_history and self.history.wants(k):
            self.history.record(k, f, g_norm, step_norm, step_size, self.elapsed())
        f_prev = math.nan if self.f_prev is None else self.f_prev
        code = stop_status(k, f, self.f0, f_prev, g_norm, not no_gradient, step_norm, self.tol,
                           self.xtol, self.ftol, self.max_iter, self.divergence_factor)
        if code == DIVERGED:
            return Status.DIVERGED
        if f <= self.best_f:
            self.best_f = f
            # Reuse the buffers: no allocation per improving iteration.
            if self.best_x is None or self.best_x.shape != np.shape(x):
                self.best_x = np.array(x, copy=True)
            else:
                np.copyto(self.best_x, x)
            if g is None:
                self.best_g = None
            elif self.best_g is None or self.best_g.shape != np.shape(g):
                self.best_g = np.array(g, copy=True)
            else:
                np.copyto(self.best_g, g)
        status = None if code == CONTINUE else Status(code)
        if status is None and self.elapsed() >= self.max_time:
            status = Status.MAX_TIME
        elif status is None and self.callback is not None and \
                self._callback_stops(k, x, f, g, g_norm):
            status = Status.CALLBACK
        self.f_prev = f
        return status

    def _callback_stops(self, k, x, f, g=None, g_norm=math.nan) -> bool:
        intermediate = OptimizeResult(x=np.array(x, copy=True), fun=f, nit=k,
                                      jac=None if g is None else np.array(g, copy=True),
                                      grad_norm=g_norm)
        try:
            return bool(self.callback(intermediate))
        except StopIteration:
            return True

    def result(self, x, f, g, status, nit, objective=None, method="", **extra) -> OptimizeResult:
        """Build the :class:`OptimizeResult`.

        For a diverged run the best finite iterate seen replaces ``x`` (and its value
        replaces ``f``), as promised by the ``DIVERGED`` status. A run that diverged at
        its starting point has no finite iterate: it returns x0 with its non-finite value
        as evaluated.
        """
        status = Status(status)
        if status == Status.DIVERGED and self.best_x is not None:
            x, f, g = self.best_x, self.best_f, self.best_g
        counters = {}
        if objective is not None:
            for name in ("nfev", "njev", "nhev", "n_passes"):
                value = getattr(objective, name, 0)
                # n_passes is fractional after mini-batches (k/m of a pass each).
                counters[name] = int(value) if float(value).is_integer() else float(value)
        res = OptimizeResult(
            x=np.asarray(x), fun=float(f), jac=None if g is None else np.asarray(g),
            nit=int(nit), status=int(status), success=status.success,
            message=MESSAGES[status], history=self.history, method=method,
            time=self.elapsed(), **counters,
        )
        res.update(extra)
        return res
