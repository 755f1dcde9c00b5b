"""BLAS threading for the small dense factorizations of the second-order solvers.

A p x p Cholesky or a (5p) x p QR with p in the hundreds takes milliseconds on one
thread. Multithreaded OpenBLAS gains nothing there, and its spinning worker threads
compete with the numba threads of the data passes: on a loaded 2-core machine we
measured a 300 x 300 Cholesky at 0.2 s and a 1500 x 300 QR at 2.8 s with two BLAS
threads, against about 2 ms and 20 ms on one. So these calls run single-threaded;
larger factorizations keep the library's setting.

:func:`solver_blas` goes further for a whole solve on a linear-model objective whose
passes are compiled kernels: nothing BLAS does there (p-length dots, m-length vector
operations, a p x p factorization with p in the hundreds) is worth a thread team that
spins against the kernels' own threads, so BLAS runs on one thread from the start of
the solve to its end (one threadpoolctl switch per solve, not per call). Inside it,
:func:`small_blas` does nothing: entering a threadpoolctl limit queries every loaded
library (about 0.05 ms), which the Newton loop would otherwise pay each iteration.
"""

from __future__ import annotations

import functools
import threading
from contextlib import contextmanager, nullcontext

__all__ = ["small_blas", "solver_blas"]

#: Above this order a factorization is worth the BLAS thread team.
SINGLE_THREAD_MAX_ORDER = 1024


@functools.cache
def _controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # threadpoolctl ships with scikit-learn; without it, do nothing
        return None
    return ThreadpoolController()


#: Per thread: how many :func:`solver_blas` single-thread limits are active (the limit is
#: process-wide, but only the thread that set it knows when it ends).
_state = threading.local()


def _single_thread_depth() -> int:
    return getattr(_state, "depth", 0)


def small_blas(order: int):
    """Context manager: BLAS on one thread for a factorization of order ``order``.

    A no-op where BLAS already runs on one thread by :func:`solver_blas` (in this thread).
    """
    controller = _controller()
    if controller is None or order > SINGLE_THREAD_MAX_ORDER or _single_thread_depth():
        return nullcontext()
    return controller.limit(limits=1, user_api="blas")


@contextmanager
def _single_thread_solve(order: int):
    with small_blas(order):
        _state.depth = _single_thread_depth() + 1
        try:
            yield
        finally:
            _state.depth -= 1


#: Backends whose data passes are compiled CPU kernels with their own threads.
_COMPILED_BACKENDS = ("numba", "cython")


def solver_blas(objective):
    """Context manager for a whole solve: BLAS on one thread when ``objective`` is a
    linear model on a compiled CPU backend with p <= ``SINGLE_THREAD_MAX_ORDER``
    (its only BLAS work is then small), the library's setting otherwise (the NumPy
    backend's passes are BLAS calls; a user's function may rely on BLAS threads)."""
    order = int(getattr(objective, "n_params", 0))
    if (getattr(objective, "backend", None) not in _COMPILED_BACKENDS
            or not hasattr(objective, "grad_hess_weights")
            or _controller() is None or order > SINGLE_THREAD_MAX_ORDER):
        return nullcontext()
    return _single_thread_solve(order)
