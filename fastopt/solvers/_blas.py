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

The switch itself talks to the BLAS libraries directly: threadpoolctl finds them once
(:func:`_blas_libraries`), and each switch reads and sets each library's thread count
(two foreign calls per library, about a microsecond) and restores it at the end. A
threadpoolctl ``limit`` would query every loaded library's full description on entry
(tens of microseconds), a cost a small Newton fit of a few hundred microseconds felt.
"""

from __future__ import annotations

import functools
import threading
from contextlib import nullcontext

from ..kernels import threaded_host

__all__ = ["compiled_pass_blas", "small_blas", "solver_blas"]

#: Above this order a factorization is worth the BLAS thread team.
SINGLE_THREAD_MAX_ORDER = 1024


@functools.cache
def _controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # threadpoolctl ships with scikit-learn; without it, do nothing
        return None
    return ThreadpoolController()


@functools.cache
def _blas_libraries() -> tuple:
    """threadpoolctl's controllers of the BLAS libraries loaded when first asked (the
    same snapshot that :func:`_controller` holds); empty without threadpoolctl."""
    controller = _controller()
    if controller is None:
        return ()
    return tuple(controller.select(user_api="blas").lib_controllers)


#: Per thread: how many :func:`solver_blas` single-thread limits are active (the limit is
#: process-wide, but only the thread that set it knows when it ends).
_state = threading.local()


def _single_thread_depth() -> int:
    return getattr(_state, "depth", 0)


class _OneThread:
    """Context manager: every BLAS library on one thread inside the block, each set back
    to its own count at the end (nested uses restore in order). With ``solve=True`` the
    block is a whole solve: :func:`small_blas` inside it (in this thread) is a no-op."""

    __slots__ = ("solve", "saved")

    def __init__(self, solve: bool = False) -> None:
        self.solve = solve
        self.saved = ()

    def __enter__(self):
        saved = []
        for lib in _blas_libraries():
            n = lib.num_threads
            if n != 1:
                lib.set_num_threads(1)
                saved.append((lib, n))
        self.saved = saved
        if self.solve:
            _state.depth = _single_thread_depth() + 1
        return self

    def __exit__(self, *exc) -> None:
        if self.solve:
            _state.depth -= 1
        for lib, n in reversed(self.saved):
            lib.set_num_threads(n)
        self.saved = ()


def small_blas(order: int):
    """Context manager: BLAS on one thread for a factorization of order ``order``.

    A no-op where BLAS already runs on one thread by :func:`solver_blas` (in this thread).
    """
    if order > SINGLE_THREAD_MAX_ORDER or _single_thread_depth() or not _blas_libraries():
        return nullcontext()
    return _OneThread()


def compiled_pass_blas(backend):
    """Context manager for an objective's Hessian on a threaded CPU backend (``backend``),
    whose compiled kernels may call BLAS from their own threads (the Cython
    ``weighted_gram``'s per-chunk ``dsyrk``): BLAS on one thread inside the block. A
    multithreaded OpenBLAS called from each of the kernel's threads oversubscribes the
    cores: a multinomial Hessian of 55 Gram blocks took five times as long. A no-op
    where BLAS already runs on one thread (:func:`solver_blas`) or the backend's passes
    are BLAS calls themselves (NumPy)."""
    if not threaded_host(backend) or _single_thread_depth() or not _blas_libraries():
        return nullcontext()
    return _OneThread()


def solver_blas(objective):
    """Context manager for a whole solve: BLAS on one thread when ``objective`` is a
    linear model on a compiled CPU backend with p <= ``SINGLE_THREAD_MAX_ORDER``
    (its only BLAS work is then small), the library's setting otherwise (the NumPy
    backend's passes are BLAS calls; a user's function may rely on BLAS threads)."""
    order = int(getattr(objective, "n_params", 0))
    if (not threaded_host(getattr(objective, "backend", None))
            or not hasattr(objective, "grad_hess_weights")
            or order > SINGLE_THREAD_MAX_ORDER or not _blas_libraries()):
        return nullcontext()
    return _OneThread(solve=True)
