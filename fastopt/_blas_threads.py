"""BLAS on one thread for a block of code: the switch the solvers and the kernels share.

Why: a multithreaded OpenBLAS spins worker threads that compete with the compiled
kernels' own threads; called from inside those threads (a Cython kernel's per-chunk
``dsyrk``) it oversubscribes the cores outright.

The switch itself talks to the BLAS libraries directly: threadpoolctl finds them once
(:func:`blas_libraries`), and each switch reads and sets each library's thread count
(two foreign calls per library, about a microsecond) and restores it at the end. A
threadpoolctl ``limit`` would query every loaded library's full description on entry
(tens of microseconds), a cost a small Newton fit of a few hundred microseconds felt.
"""

from __future__ import annotations

import functools
import threading
from contextlib import nullcontext

__all__ = ["OneThread", "ThreadsBack", "blas_libraries", "one_thread_blas",
           "single_thread_depth"]


@functools.cache
def _controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # threadpoolctl ships with scikit-learn; without it, do nothing
        return None
    return ThreadpoolController()


@functools.cache
def blas_libraries() -> tuple:
    """threadpoolctl's controllers of the BLAS libraries loaded when first asked (the
    same snapshot that :func:`_controller` holds); empty without threadpoolctl."""
    controller = _controller()
    if controller is None:
        return ()
    return tuple(controller.select(user_api="blas").lib_controllers)


#: Per thread: how many whole-solve single-thread limits (``solver_blas``) are active (the limit is
#: process-wide, but only the thread that set it knows when it ends).
_state = threading.local()


def single_thread_depth() -> int:
    return getattr(_state, "depth", 0)


class OneThread:
    """Context manager: every BLAS library on one thread inside the block, each set back
    to its own count at the end (nested uses restore in order). With ``solve=True`` the
    block is a whole solve: :func:`one_thread_blas` (and the solvers' ``small_blas``)
    inside it, in this thread, is a no-op."""

    __slots__ = ("solve", "saved")

    def __init__(self, solve: bool = False) -> None:
        self.solve = solve
        self.saved = ()

    def __enter__(self):
        saved = []
        for lib in blas_libraries():
            n = lib.num_threads
            if n != 1:
                lib.set_num_threads(1)
                saved.append((lib, n))
        self.saved = saved
        if self.solve:
            _state.depth = single_thread_depth() + 1
            if _state.depth == 1:
                # the counts a large factorization inside the solve gets back (ThreadsBack)
                _state.solve_counts = tuple(saved)
        return self

    def __exit__(self, *exc) -> None:
        if self.solve:
            _state.depth -= 1
            if _state.depth == 0:
                _state.solve_counts = ()
        for lib, n in reversed(self.saved):
            lib.set_num_threads(n)
        self.saved = ()


def one_thread_blas():
    """Context manager: BLAS on one thread inside the block; a no-op where a whole solve
    already runs it on one thread (in this thread) or no BLAS library is found."""
    if single_thread_depth() or not blas_libraries():
        return nullcontext()
    return OneThread()


class ThreadsBack:
    """Context manager: inside a whole solve on one thread, each BLAS library back on the
    thread count it had before the solve for the block (a factorization large enough to
    use them), and on one thread again at the end; a no-op outside such a solve."""

    __slots__ = ("saved",)

    def __init__(self) -> None:
        self.saved = ()

    def __enter__(self):
        counts = getattr(_state, "solve_counts", ()) if single_thread_depth() else ()
        for lib, n in counts:
            lib.set_num_threads(n)
        self.saved = counts
        return self

    def __exit__(self, *exc) -> None:
        for lib, _ in self.saved:
            lib.set_num_threads(1)
        self.saved = ()
