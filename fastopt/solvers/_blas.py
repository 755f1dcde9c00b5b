"""BLAS threading for the small dense factorizations of the second-order solvers.

A p x p Cholesky or a (5p) x p QR with p in the hundreds takes milliseconds on one
thread. Multithreaded OpenBLAS gains nothing there, and its spinning worker threads
compete with the numba threads of the data passes: on a loaded machine with few cores
a 300 x 300 Cholesky or a 1500 x 300 QR with two BLAS threads can take a hundred times
as long as on one. So these calls run single-threaded;
larger factorizations keep the library's setting.

:func:`solver_blas` goes further for a whole solve on a linear-model objective whose
passes are compiled kernels: nothing BLAS does there between the passes (p-length dots
and axpys, m-length vector operations) is worth a thread team that spins against the
kernels' own threads, so BLAS runs on one thread from the start of the solve to its end
(one switch per solve, not per call). That holds for any p: with p = 10^5 (a sparse
multinomial fit), the spinning BLAS workers of the CG's dot products doubled the time of
every Hessian-vector pass on two cores. Inside it, :func:`small_blas` does nothing for a
small factorization and gives a large one (order above ``SINGLE_THREAD_MAX_ORDER``) the
library's threads back for its duration.

The switch itself is :mod:`fastopt._blas_threads`.
"""

from __future__ import annotations

from contextlib import nullcontext

from .._blas_threads import OneThread, ThreadsBack, blas_libraries, single_thread_depth
from ..kernels import threaded_host
from ..problems.linear_data import HoldsLinearData

__all__ = ["small_blas", "solver_blas"]

#: Above this order a factorization is worth the BLAS thread team.
SINGLE_THREAD_MAX_ORDER = 1024


def small_blas(order: int):
    """Context manager for a factorization of order ``order``: BLAS on one thread when
    the order is small; the library's own setting when it is large, given back for the
    block inside a :func:`solver_blas` solve (in this thread). A no-op otherwise."""
    if not blas_libraries():
        return nullcontext()
    if order > SINGLE_THREAD_MAX_ORDER:
        return ThreadsBack() if single_thread_depth() else nullcontext()
    return nullcontext() if single_thread_depth() else OneThread()


def solver_blas(objective):
    """Context manager for a whole solve: BLAS on one thread when ``objective`` is a
    linear model (binary, least squares or multinomial) on a compiled CPU backend (its
    passes run on its own threads; what BLAS does between them is vector work), the
    library's setting otherwise (the NumPy backend's passes are BLAS calls; a user's
    function may rely on BLAS threads)."""
    if (not threaded_host(getattr(objective, "backend", None))
            or not isinstance(objective, HoldsLinearData)
            or not blas_libraries()):
        return nullcontext()
    return OneThread(solve=True)
