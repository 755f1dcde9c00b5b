"""Honest timings: what a timed run must not include, and how to keep it out (private).

The numba backend compiles each kernel the first time it is called with new argument
types (a few seconds per solver, once per process); the Cython and NumPy backends compile
nothing at call time. A time that includes compilation measures the compiler, not the
method, so the command line (:mod:`fastopt.cli`) times a method only after a *warm-up*:
the same method with the same options (callback or not, history or not: they select the
code path) on a few rows of the same data (:func:`warm_up_rows`: same dtypes, same
sparse format, every class present), which compiles every specialization the timed run
will call. :class:`CompileClock` measures how long numba compiled inside a block, so the
warm-up's compilation is printed on its own line, and a compilation that still happens
inside a timed run (a code path that the warm-up did not reach) is detected, reported
and subtracted rather than silently included.
"""

from __future__ import annotations

import math
import sys

import numpy as np

__all__ = ["CompileClock", "touch_objective", "warm_up_rows"]

#: Rows of a warm-up slice (besides one row of each class).
WARM_UP_ROWS = 64


class CompileClock:
    """Context manager: seconds numba spent compiling inside the block.

    Attributes
    ----------
    seconds : float
        Wall seconds of numba compilation inside the block (nested compilations counted
        once); 0.0 when numba compiled nothing or is not loaded; NaN when numba was first
        imported inside the block, so its compilations could not be observed.

    Notes
    -----
    Uses numba's event API (``numba.core.event``, event ``"numba:compile"``), whose
    listeners see every compilation in the process. numba is never imported here: a
    process that has not loaded it has compiled nothing.

    Examples
    --------
    >>> with CompileClock() as clock:
    ...     pass
    >>> clock.seconds
    0.0
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self._listener = None
        self._had_numba = False

    def __enter__(self) -> CompileClock:
        self._had_numba = "numba" in sys.modules
        if self._had_numba:
            from numba.core import event

            self._listener = event.TimingListener()
            event.register("numba:compile", self._listener)
        return self

    def __exit__(self, *exc) -> None:
        if self._listener is not None:
            from numba.core import event

            event.unregister("numba:compile", self._listener)
            self.seconds = float(self._listener.duration) if self._listener.done else 0.0
            self._listener = None
        elif "numba" in sys.modules:
            self.seconds = math.nan
        else:
            self.seconds = 0.0


def warm_up_rows(y, k: int = WARM_UP_ROWS) -> np.ndarray:
    """Row indices of a warm-up slice: the first ``k`` rows and the first row of each label.

    Parameters
    ----------
    y : array-like of shape (m,)
        Labels (any values ``numpy.unique`` can sort).
    k : int
        Leading rows to take.

    Returns
    -------
    ndarray of int64, sorted, unique
        At most ``k + K`` indices for K distinct labels, so that a model fitted on
        ``X[rows], y[rows]`` has the classes (and so the parameter layout) of the full
        problem.
    """
    y = np.asarray(y).reshape(-1)
    _, first = np.unique(y, return_index=True)
    rows = np.concatenate([np.arange(min(k, y.shape[0]), dtype=np.int64),
                           first.astype(np.int64)])
    return np.unique(rows)


def touch_objective(objective) -> None:
    """Call each one-pass method of ``objective`` once (best effort, results discarded).

    A solver reaches some of them only on some iterations (a line search's backtracking
    evaluates ``linear_predictor`` and ``loss_from_predictor``, a restart ``value``...),
    which a three-iteration warm-up may not meet; calling them here compiles their
    kernels too. Use it on a small objective of the same types as the timed one. The
    O(p^2) and iterative ones (``hessian``, ``lipschitz``) are left to the warm-up run,
    which calls them if its solver does.
    """
    w = np.zeros(objective.n_params)
    v = np.ones(objective.n_params)
    calls = [
        ("value", lambda f: f(w)),
        ("loss_grad", lambda f: f(w)),
        ("hvp", lambda f: f(w, v)),
        ("linear_predictor", lambda f: f(w)),
        ("grad_hess_weights", lambda f: f(w)),
    ]
    for name, call in calls:
        method = getattr(objective, name, None)
        if method is None:
            continue
        try:
            call(method)
        except Exception:  # noqa: BLE001 - a warm-up must not fail a command; the timed run reports
            pass
    try:
        z = objective.linear_predictor(w)
        objective.loss_from_predictor(z, w)
        objective.grad_from_predictor(z, w)
        _, _, d = objective.grad_hess_weights(w)
        objective.weighted_hvp(d, v)
    except Exception:  # noqa: BLE001 - not every objective has the linear-model protocol
        pass
