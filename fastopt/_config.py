"""The one place for threads, fastmath flags, the jit decorator and the default backend.

Every compiled CPU kernel in fastopt is decorated with :func:`jit` (or
:func:`jit_parallel`) from this module, so cache, fastmath and threading policy are set
once (DESIGN.md, rule 5). fastmath keeps IEEE semantics for NaN and inf: the flags
below omit ``nnan`` and ``ninf`` so that a non-finite value is never optimized away and
a diverging solver can still see it.
"""

from __future__ import annotations

import os

import numba

#: LLVM fast-math flags: reassociation and contraction let reductions vectorize;
#: no ``nnan``/``ninf`` so that NaN and inf propagate and can be detected.
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

#: Backend used when ``backend="auto"``.
DEFAULT_BACKEND = os.environ.get("FASTOPT_BACKEND", "numba")

#: CUDA threads per block for the numba.cuda kernels (tests may patch it).
THREADS_PER_BLOCK = 256


def jit(*args, **kwargs):
    """Numba ``njit`` with fastopt's cache and fastmath policy (serial kernels)."""
    kwargs.setdefault("cache", True)
    kwargs.setdefault("fastmath", set(FASTMATH))
    kwargs.setdefault("nogil", True)
    kwargs.setdefault("error_model", "numpy")
    return numba.njit(*args, **kwargs)


def jit_parallel(*args, **kwargs):
    """Numba ``njit(parallel=True)`` with fastopt's policy (threaded kernels)."""
    kwargs["parallel"] = True
    return jit(*args, **kwargs)


def get_num_threads() -> int:
    """Number of threads the compiled CPU kernels use."""
    return numba.get_num_threads()


def set_num_threads(n: int) -> None:
    """Set the number of threads for numba and Cython (OpenMP) kernels."""
    n = int(n)
    if n < 1:
        raise ValueError(f"n_threads must be >= 1, got {n}")
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))


def n_chunks() -> int:
    """Number of row chunks for parallel reductions.

    Reductions split rows into this many chunks, each with its own partial buffer,
    then add the partials in chunk order: the result is deterministic for a fixed
    thread count (DESIGN.md, rule 3).
    """
    return max(1, get_num_threads())
