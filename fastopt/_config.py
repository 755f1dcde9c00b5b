"""The one place for threads, fastmath flags, the jit decorator and the default backend.

Every compiled CPU kernel in fastopt is decorated with :func:`jit` (or
:func:`jit_parallel`) from this module, so cache, fastmath and threading policy are set
once. The on-disk cache is off (see :data:`CACHE`). fastmath keeps
IEEE semantics for NaN and inf: the flags below omit ``nnan`` and ``ninf`` so that a
non-finite value is never optimized away and a diverging solver can still see it.
"""

from __future__ import annotations

import os
import sys

#: LLVM fast-math flags: reassociation and contraction let reductions vectorize;
#: no ``nnan``/``ninf`` so that NaN and inf propagate and can be detected.
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

#: Backend used when ``backend="auto"``: Cython, compiled when the package is installed, so
#: no call made with default arguments compiles anything (numba is chosen by name).
DEFAULT_BACKEND = os.environ.get("FASTOPT_BACKEND", "cython")

#: Work (dense: m * n elements; CSR: nnz + m) below which a CPU kernel runs its serial
#: driver instead of opening a threaded region: a parallel region costs microseconds
#: (far more on a loaded machine), more than the whole pass over a small problem. The
#: serial driver runs the very same per-chunk code over the same :func:`n_chunks` chunks
#: in order, so the result is bitwise identical either way. Read when a kernel is compiled
#: (numba freezes globals): after changing it, clear the ``__pycache__`` of the kernels.
PARALLEL_MIN_WORK = 200_000

#: CUDA threads per block for the numba.cuda kernels (tests may patch it).
THREADS_PER_BLOCK = 256


#: Numba's on-disk cache is off. Parallel (``prange``) code is lowered into a gufunc named
#: after ``hash(parfor)``, an address, so two libraries cached by different processes can
#: hold different gufuncs of the same name; loaded into one process, calls resolve to the
#: wrong one and crash. We reproduced such segfaults after a sequence of programs sharing
#: one cache (bench scripts, then an estimator fit); every kernel family here reaches a
#: parallel driver, so each process compiles what it uses once (tens of seconds in all).
#: Upstream this is numba issue #10128 (gufunc and wrapper cache entries written by
#: different processes disagree on symbol names: segfaults), open in November 2026
#: with two candidate fixes under review (PRs #10545, #10814); caching only the serial
#: functions, as pynndescent did, would not help here: numba links a callee's code into
#: its caller's library, so a cached public kernel would carry its parallel driver along.
#: Turn the cache on once a numba release fixes #10128.
CACHE = False


def jit(*args, **kwargs):
    """Numba ``njit`` with fastopt's cache and fastmath policy (serial kernels).

    numba is imported here, on first use, not with fastopt: only the numba backend (and
    the CUDA twins) define jitted functions, so ``import fastopt`` and every default path
    run without loading numba at all.
    """
    import numba

    _sync_numba_threads()
    kwargs.setdefault("cache", CACHE)
    kwargs.setdefault("fastmath", set(FASTMATH))
    kwargs.setdefault("nogil", True)
    kwargs.setdefault("error_model", "numpy")
    return numba.njit(*args, **kwargs)


def jit_parallel(*args, **kwargs):
    """Numba ``njit(parallel=True)`` with fastopt's policy (threaded kernels)."""
    kwargs["parallel"] = True
    return jit(*args, **kwargs)


def _default_threads() -> int:
    """numba's own default, computed without importing numba: ``NUMBA_NUM_THREADS`` if
    set, else the CPUs this process may run on."""
    env = os.environ.get("NUMBA_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass  # numba itself reports a malformed value when it is imported
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


#: Most threads the kernels may use (numba's ``NUMBA_NUM_THREADS``, the same default).
MAX_THREADS = _default_threads()

#: Thread count of the compiled kernels (numba and OpenMP alike), kept here so that reading
#: it costs nothing on the hot path and so that numba need not be imported to know it.
#: Change it with :func:`set_num_threads`, not with ``numba.set_num_threads``.
_NUM_THREADS = MAX_THREADS


def _sync_numba_threads() -> None:
    """Give numba the thread count set here, if numba is loaded and it differs."""
    numba = sys.modules.get("numba")
    if numba is None or _NUM_THREADS == MAX_THREADS:
        return
    numba.set_num_threads(min(_NUM_THREADS, numba.config.NUMBA_NUM_THREADS))


def get_num_threads() -> int:
    """Number of threads the compiled CPU kernels use."""
    return _NUM_THREADS


def set_num_threads(n: int) -> None:
    """Set the number of threads for numba and Cython (OpenMP) kernels.

    Raises
    ------
    TypeError
        If ``n`` is not an integer (a bool, a float, a string).
    ValueError
        If ``n`` < 1. Values above :data:`MAX_THREADS` (numba's ``NUMBA_NUM_THREADS``)
        are clipped to it.
    """
    global _NUM_THREADS
    from ._checks import check_int

    n = check_int("n_threads", n, 1)  # 1.5 or "2" is a mistake, not a thread count
    _NUM_THREADS = min(n, MAX_THREADS)
    numba = sys.modules.get("numba")
    if numba is not None:  # else numba gets it when it is first used (_sync_numba_threads)
        numba.set_num_threads(min(_NUM_THREADS, numba.config.NUMBA_NUM_THREADS))


# --- chunks of the parallel reductions ---------------------------------------------------
#
# Every reduction (loss, gradient, Hessian-vector product, Gram matrix) splits its rows
# into T contiguous chunks, reduces each chunk into its own partial (a row of ``work``),
# then adds the T partials in chunk order. Floating-point addition is not associative, so
# the result depends on T, and on nothing else: not on which thread ran which chunk, nor
# on how many threads there were. T is therefore a function of the data's size only
# (:func:`n_chunks`), never of the thread count: on a given machine and backend a fit
# gives the same bits with 1 thread or 64, so a baseline recorded with one thread count
# holds for any other. The threads (``set_num_threads``) then share those T chunks; the
# serial driver of small passes runs the same chunks in the same order.

#: Work (dense: m * (n + 1); CSR: nnz + m; multinomial: times K) per chunk below which a
#: further chunk is not made: each chunk costs a partial row to zero, fill and add (and a
#: thread a wake-up), and a chunk of a few thousand elements would spend a large share of
#: its time on that instead of on its rows.
MIN_WORK_PER_CHUNK = 32_768

#: Most chunks of any reduction: enough for the parallelism of a large machine (the
#: threads share the chunks, so T >= the thread count keeps every core busy, and
#: T = 64 splits evenly over 2, 4, 8, 16, 32 or 64 threads), few enough that the
#: per-chunk partials and their ordered sum stay cheap. It is also the size of the
#: loss partials the Cython kernels keep on the stack.
MAX_CHUNKS = 64

#: The T partial rows of p entries cost about T * p of zeroing and adding (serially, in
#: the ordered reduction); keep that to at most 1/REDUCTION_SHARE of the pass's work.
#: Without this a sparse problem with p ~ 10^6 features and a few nonzeros per row would
#: spend most of each pass adding partial gradients.
REDUCTION_SHARE = 16

#: Above this many bytes of per-chunk p x p partials, the Gram kernels use one chunk
#: (the big BLAS calls of one chunk are then threaded by BLAS itself).
GRAM_PARTIALS_BYTES = 256 * 2**20


def n_chunks(amount: int, n_params: int = 1) -> int:
    """Number of row chunks of a parallel reduction, from the size of the problem only.

    ``T = amount // MIN_WORK_PER_CHUNK``, at most :data:`MAX_CHUNKS`, at most
    ``amount // (REDUCTION_SHARE * n_params)`` (so that the T partials of ``n_params``
    entries and their ordered sum stay a small fraction of the pass), and at least 1.
    It never depends on the thread count (see the notes above this function), so every
    result is bitwise identical for any number of threads.

    Parameters
    ----------
    amount : int
        Work of one pass over the data: ``m * (n + 1)`` for dense X, ``nnz + m`` for CSR
        (times K for the multinomial kernels).
    n_params : int, default 1
        Length of one chunk's partial (the ``work`` row).

    Returns
    -------
    int
        T in ``[1, MAX_CHUNKS]``.
    """
    amount = max(0, int(amount))
    per_row = REDUCTION_SHARE * max(1, int(n_params))
    return max(1, min(amount // MIN_WORK_PER_CHUNK, MAX_CHUNKS, amount // per_row))


def data_work(X) -> int:
    """Work of one pass over ``X`` as :func:`n_chunks` measures it: ``m * (n + 1)``
    for a dense (m, n) array (one multiply-add per entry, and the row's own cost), ``nnz +
    m`` for a sparse matrix. The same measures decide when a pass is threaded."""
    m, n = X.shape
    nnz = getattr(X, "nnz", None)
    if nnz is not None:
        return int(nnz) + int(m)
    return int(m) * (int(n) + 1)


def gram_chunks(m: int, p: int, amount: int, min_rows: int = 1) -> int:
    """Chunks of a weighted Gram matrix ``X~^T diag(d) X~`` of shape (p, p).

    :func:`n_chunks` with one partial of ``p * p`` entries per chunk and ``amount`` the
    multiply-adds of the pass, at most ``m // min_rows`` (each chunk should fill a few
    blocks of rows), and 1 when the ``T - 1`` extra partials would exceed
    :data:`GRAM_PARTIALS_BYTES`. Depends on the data's size only.
    """
    T = min(n_chunks(amount, p * p), max(1, int(m) // max(1, int(min_rows))))
    if (T - 1) * p * p * 8 > GRAM_PARTIALS_BYTES:
        T = 1
    return T
