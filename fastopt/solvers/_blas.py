"""BLAS threading for the small dense factorizations of the second-order solvers.

A p x p Cholesky or a (5p) x p QR with p in the hundreds takes milliseconds on one
thread. Multithreaded OpenBLAS gains nothing there, and its spinning worker threads
compete with the numba threads of the data passes: on a loaded 2-core machine we
measured a 300 x 300 Cholesky at 0.2 s and a 1500 x 300 QR at 2.8 s with two BLAS
threads, against about 2 ms and 20 ms on one. So these calls run single-threaded;
larger factorizations keep the library's setting.
"""

from __future__ import annotations

import functools
from contextlib import nullcontext

__all__ = ["small_blas"]

#: Above this order a factorization is worth the BLAS thread team.
SINGLE_THREAD_MAX_ORDER = 1024


@functools.cache
def _controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # threadpoolctl ships with scikit-learn; without it, do nothing
        return None
    return ThreadpoolController()


def small_blas(order: int):
    """Context manager: BLAS on one thread for a factorization of order ``order``."""
    controller = _controller()
    if controller is None or order > SINGLE_THREAD_MAX_ORDER:
        return nullcontext()
    return controller.limit(limits=1, user_api="blas")
