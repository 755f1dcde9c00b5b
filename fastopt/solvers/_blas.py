"""BLAS threading for the small dense factorizations of the second-order solvers.

A p x p Cholesky or a (5p) x p QR with p in the hundreds takes milliseconds on one
thread. Multithreaded OpenBLAS gains nothing there, and its spinning worker threads
compete with the numba threads of the data passes: on a loaded machine with few cores
a 300 x 300 Cholesky or a 1500 x 300 QR with two BLAS threads can take a hundred times
as long as on one. So these calls run single-threaded;
larger factorizations keep the library's setting.

:func:`solver_blas` goes further for a whole solve on a linear-model objective whose
passes are compiled kernels: nothing BLAS does there (p-length dots, m-length vector
operations, a p x p factorization with p in the hundreds) is worth a thread team that
spins against the kernels' own threads, so BLAS runs on one thread from the start of
the solve to its end (one switch per solve, not per call). Inside it, :func:`small_blas`
does nothing.

The switch itself is :mod:`fastopt._blas_threads`.
"""

from __future__ import annotations

from contextlib import nullcontext

from .._blas_threads import OneThread, blas_libraries, single_thread_depth
from ..kernels import threaded_host

__all__ = ["small_blas", "solver_blas"]

#: Above this order a factorization is worth the BLAS thread team.
SINGLE_THREAD_MAX_ORDER = 1024


def small_blas(order: int):
    """Context manager: BLAS on one thread for a factorization of order ``order``.

    A no-op where BLAS already runs on one thread by :func:`solver_blas` (in this thread).
    """
    if order > SINGLE_THREAD_MAX_ORDER or single_thread_depth() or not blas_libraries():
        return nullcontext()
    return OneThread()


def solver_blas(objective):
    """Context manager for a whole solve: BLAS on one thread when ``objective`` is a
    linear model on a compiled CPU backend with p <= ``SINGLE_THREAD_MAX_ORDER``
    (its only BLAS work is then small), the library's setting otherwise (the NumPy
    backend's passes are BLAS calls; a user's function may rely on BLAS threads)."""
    order = int(getattr(objective, "n_params", 0))
    if (not threaded_host(getattr(objective, "backend", None))
            or not hasattr(objective, "grad_hess_weights")
            or order > SINGLE_THREAD_MAX_ORDER or not blas_libraries()):
        return nullcontext()
    return OneThread(solve=True)
