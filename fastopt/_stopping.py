"""The stopping rule of every first-order and second-order run, as one function.

:func:`stop_status` is plain Python on floats and ints, so the Python loops
(:class:`fastopt.solvers.run.Run`) call it as it is and the numba loop compiles the very
same function (``jit(stop_status)``); the C loop of the Cython backend has its twin, with
the status values read from :class:`~fastopt._result.Status` when it is imported, and a
test runs both on the same inputs. The tests, in order:

1. divergence: f or ||g|| not finite, or f - f_0 > div_factor max(1, |f_0|);
2. ||g|| <= tol;
3. ||x_k - x_{k-1}|| <= xtol (k > 0 and xtol > 0: a zero step is not convergence when
   xtol = 0);
4. |f_{k-1} - f_k| <= ftol max(1, |f_{k-1}|) (k > 0 and ftol > 0);
5. k >= max_iter.

The time budget and the callback, which only the Python loop has, come after these.
"""

from __future__ import annotations

import math

from ._result import Status

__all__ = ["stop_status", "CONTINUE", "GTOL", "XTOL", "FTOL", "MAX_ITER", "DIVERGED",
           "LINE_SEARCH"]

#: No test fired: go on.
CONTINUE = -1
GTOL = int(Status.GTOL)
XTOL = int(Status.XTOL)
FTOL = int(Status.FTOL)
MAX_ITER = int(Status.MAX_ITER)
DIVERGED = int(Status.DIVERGED)
#: The exact step of gd was not finite (the compiled loops' own stop).
LINE_SEARCH = int(Status.LINE_SEARCH)


def stop_status(k, f, f0, f_prev, gnorm, has_gradient, step_norm, tol, xtol, ftol, max_iter,
                div_factor):
    """The status a run stops with at iterate ``k``, or :data:`CONTINUE`.

    Parameters
    ----------
    k : int
        Iteration number (0: the starting point).
    f, f0, f_prev : float
        f(x_k), f(x_0) and f(x_{k-1}) (``f_prev`` is read only when k > 0).
    gnorm : float
        ||grad f(x_k)||; read only when ``has_gradient``.
    has_gradient : bool
        False for a run that observes f alone (the gradient tests are skipped).
    step_norm : float
        ||x_k - x_{k-1}||.
    tol, xtol, ftol : float
        Tolerances of the tests above (0 disables ``xtol`` and ``ftol``).
    max_iter : int
        Iteration budget.
    div_factor : float
        Divergence bound (see test 1).

    Returns
    -------
    int
        A :class:`~fastopt._result.Status` value, or -1.
    """
    if not math.isfinite(f) or (has_gradient and not math.isfinite(gnorm)) \
            or f - f0 > div_factor * max(1.0, abs(f0)):
        return DIVERGED
    if has_gradient and gnorm <= tol:
        return GTOL
    if k > 0 and xtol > 0 and step_norm <= xtol:
        return XTOL
    if k > 0 and ftol > 0 and abs(f_prev - f) <= ftol * max(1.0, abs(f_prev)):
        return FTOL
    if k >= max_iter:
        return MAX_ITER
    return CONTINUE
