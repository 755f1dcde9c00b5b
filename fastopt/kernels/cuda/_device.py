"""Device helpers of the CUDA kernels: arrays in without a copy, launch sizes, the work buffer.

Arrays
    :func:`as_device` returns a numba device array for any input: a numba device array
    is used as it is, anything exposing ``__cuda_array_interface__`` (CuPy, PyTorch,
    JAX) is wrapped without a copy by ``numba.cuda.as_cuda_array``, and a host array is
    copied to the device (the slow path used by the tests and the host-facing wrappers).
    :class:`HostBridge` does this for every argument of a kernel call and copies the
    outputs that were host arrays back when the call ends.

Launch sizes
    Blocks have ``fastopt._config.THREADS_PER_BLOCK`` threads (read at every launch so
    tests can patch it; a multiple of 32). The row-reduction kernels launch one block per
    row of the work buffer, at most :func:`max_blocks` of them: enough to fill the GPU,
    few enough that the second reduction stage is negligible.

The work buffer and the two-stage reduction
    A reduction over rows (a gradient ``X~^T c``, a loss ``sum_i l_i``) is done in two
    deterministic stages. Stage 1: block ``b`` reduces its rows into row ``b`` of ``work``
    (columns ``0..p-1`` the vector, column ``p`` the scalar), with no atomics: inside a
    block every column has one owner thread. Stage 2 (:func:`finalize`): one thread per
    column sums the ``n_blocks`` partial rows in block order (split over ``blockDim.y``
    threads, then added in a fixed order), adds the L2 terms, and writes the result into
    the output vector and into the last row of ``work``; the scalar is read back from
    ``work[n_blocks, p]``. The order of every addition depends only on the sizes, so a
    result is bitwise reproducible on a given GPU and launch configuration.

    ``work`` therefore has shape ``(n_blocks + 1, p + 1)``, float64, on the device;
    :func:`cuda_work` sizes and allocates it (``n_blocks`` from m, or from the number
    of non-zeros for CSR). A linear-model objective allocates it once.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
from numba import cuda

from ... import _config

__all__: list[str] = []

#: True when numba runs CUDA kernels on its CPU simulator (NUMBA_ENABLE_CUDASIM=1).
SIMULATOR = bool(numba.config.ENABLE_CUDASIM)

#: Threads per block of the CSR kernels: one warp per block, whose rows are processed
#: one after the other (a row's non-zeros have distinct columns, so the warp's
#: scatter into the block's partial row never races).
CSR_THREADS = 32

#: Most blocks per SM the dense row kernels are sized for (2048 threads / 256).
BLOCKS_PER_SM = 8


def threads_per_block() -> int:
    """``fastopt._config.THREADS_PER_BLOCK``, checked (a multiple of 32, at most 1024)."""
    tpb = int(_config.THREADS_PER_BLOCK)
    if tpb < 32 or tpb > 1024 or tpb % 32:
        raise ValueError(f"THREADS_PER_BLOCK must be a multiple of 32 in [32, 1024]; got {tpb}")
    return tpb


@functools.cache
def sm_count() -> int:
    """Number of streaming multiprocessors of the current device (1 on the simulator)."""
    if SIMULATOR:
        return 1
    try:
        return int(cuda.get_current_device().MULTIPROCESSOR_COUNT)
    except Exception:  # no context yet or an exotic driver: a safe guess
        return 108


def max_blocks(csr: bool = False) -> int:
    """Most blocks of a row-reduction launch (rows of the work buffer)."""
    if SIMULATOR:
        return 4  # every simulated thread is a Python thread: keep launches small
    per_sm = 32 if csr else max(1, BLOCKS_PER_SM * 256 // threads_per_block())
    return sm_count() * per_sm


def n_blocks_for(m: int, p: int, nnz: int | None = None) -> int:
    """Blocks (partial rows) of a row reduction over m rows and p + 1 columns.

    Dense: one block per 32-row tile up to :func:`max_blocks`. CSR: at most nnz / p
    blocks, so that the second stage (``n_blocks * p`` additions) never costs more than
    the pass over the non-zeros.
    """
    m = int(m)
    if nnz is None:
        return max(1, min(math.ceil(m / 32), max_blocks()))
    cap = max(1, int(nnz) // max(int(p), 1))
    return max(1, min(m, cap, max_blocks(csr=True)))


def cuda_work(m: int, p: int, nnz: int | None = None, n_blocks: int | None = None):
    """Allocate the device work buffer of a row reduction.

    Parameters
    ----------
    m : int
        Rows of X (or of the mini-batch).
    p : int
        Length of the reduced vector (n, or n + 1 with an intercept).
    nnz : int, optional
        Non-zeros of a CSR X (sizes the buffer for the CSR kernels).
    n_blocks : int, optional
        Force the number of partial rows (tests use 1 to make one block do every tile).

    Returns
    -------
    numba device array of shape (n_blocks + 1, p + 1), float64
        Contents are irrelevant on entry (every kernel overwrites what it reads).
    """
    nb = int(n_blocks) if n_blocks is not None else n_blocks_for(m, p, nnz)
    if nb < 1:
        raise ValueError(f"n_blocks must be >= 1; got {nb}")
    return cuda.device_array((nb + 1, int(p) + 1), dtype=np.float64)


# --- arrays ------------------------------------------------------------------------------


def is_device_array(a) -> bool:
    """Whether ``a`` already lives on the device (numba device array or CUDA array interface)."""
    return bool(getattr(a, "__cuda_ndarray__", False)) or (
        not SIMULATOR and hasattr(a, "__cuda_array_interface__")
    )


def as_device(a, dtype=None):
    """A numba device array viewing ``a``, without a copy when ``a`` is on the device.

    Parameters
    ----------
    a : numba device array, object with ``__cuda_array_interface__``, or array_like
    dtype : numpy dtype, optional
        Required dtype. A host array is converted while it is copied; a device array of
        another dtype is refused (a silent device copy would defeat the point of passing
        one).

    Returns
    -------
    numba device array (the same object for a numba device array)
    """
    if getattr(a, "__cuda_ndarray__", False):
        out = a
    elif not SIMULATOR and hasattr(a, "__cuda_array_interface__"):
        out = cuda.as_cuda_array(a)
    else:
        host = np.ascontiguousarray(a, dtype=dtype)
        return cuda.to_device(host)
    if dtype is not None and np.dtype(out.dtype) != np.dtype(dtype):
        raise TypeError(f"device array has dtype {out.dtype}; this kernel needs {np.dtype(dtype)}")
    return out


class HostBridge:
    """Convert a kernel call's arguments to device arrays; copy host outputs back at the end.

    Used as a context manager by the host-facing kernels::

        with HostBridge() as hb:
            dX = hb.input(X)
            dg = hb.output(grad_out)      # device buffer; copied into grad_out on exit
            ...launch...
    """

    def __init__(self):
        self._copies = []

    def __enter__(self):
        return self

    def input(self, a, dtype=None):
        """Device view of an input (copied only when it is a host array)."""
        return as_device(a, dtype)

    def output(self, a):
        """Device array to write into; a host array gets a device twin copied back on exit."""
        if is_device_array(a):
            return as_device(a)
        d = cuda.to_device(np.ascontiguousarray(a))
        self._copies.append((d, a))
        return d

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            for d, host in self._copies:
                host[...] = d.copy_to_host()
        return False


def device_work(work, p: int, m: int, nnz: int | None = None):
    """``work`` itself when it is a device buffer of p + 1 columns, else a new one.

    Callers that pass a host scratch array (the CPU layout ``(T, p)``) still get a
    correct result; the objective layer passes the buffer of :func:`cuda_work` so that
    nothing is allocated per call.
    """
    if getattr(work, "__cuda_ndarray__", False) and work.ndim == 2 and work.shape[1] == p + 1:
        return work
    return cuda_work(m, p, nnz)


def read_scalar(work) -> float:
    """The scalar of the last reduction, ``work[n_blocks, p]`` (one 8-byte device-to-host copy)."""
    nb, p1 = work.shape
    return float(work[nb - 1, p1 - 1:p1].copy_to_host()[0])


@functools.cache
def dummy(dtype=np.float64):
    """A one-element device array standing for an unused kernel argument."""
    return cuda.to_device(np.zeros(1, dtype=dtype))


# --- stage 2 of every reduction ---------------------------------------------------------

#: Most threadIdx.y values of :data:`finalize`'s blocks (1024 threads / 32 columns).
_MAX_RY = 32


@cuda.jit
def _finalize_kernel(work, nb, vec, n_reg, lam_vec, wsq, n_sq, lam_sq, out):
    # Block (32, RY): 32 columns, each summed by RY threads over interleaved partial
    # rows, then by one thread over the RY sums in order (deterministic).
    red = cuda.shared.array((_MAX_RY, 32), dtype=numba.float64)
    cx = cuda.threadIdx.x
    ry = cuda.threadIdx.y
    n_ry = cuda.blockDim.y
    j = cuda.blockIdx.x * 32 + cx
    p1 = work.shape[1]
    acc = 0.0
    if j < p1:
        for b in range(ry, nb, n_ry):
            acc += work[b, j]
        if j == p1 - 1:
            # The scalar column: add lam_sq / 2 ||wsq[:n_sq]||^2 (the L2 part of the loss).
            for i in range(ry, n_sq, n_ry):
                acc += 0.5 * lam_sq * wsq[i] * wsq[i]
    red[ry, cx] = acc
    cuda.syncthreads()
    if ry == 0 and j < p1:
        total = 0.0
        for k in range(n_ry):
            total += red[k, cx]
        if j < p1 - 1:
            if j < n_reg:
                total += lam_vec * vec[j]
            out[j] = total
        work[nb, j] = total


def finalize(work, out, vec=None, n_reg=0, lam_vec=0.0, wsq=None, n_sq=0, lam_sq=0.0):
    """Stage 2: ``out[j] = sum_b work[b, j] + lam_vec vec[j]`` (j < n_reg) for j < p.

    Also ``work[nb, :p] = out`` and ``work[nb, p] = sum_b work[b, p] + lam_sq/2
    ||wsq[:n_sq]||^2`` (the scalar, read by :func:`read_scalar`).

    Parameters
    ----------
    work : device array (n_blocks + 1, p + 1), rows 0..n_blocks-1 filled by stage 1
    out : device array (p,) or None (then only ``work[nb]`` is written)
    """
    nb = work.shape[0] - 1
    p1 = work.shape[1]
    if out is None:
        out = work[nb]
    vec = dummy() if vec is None else vec
    wsq = dummy() if wsq is None else wsq
    ry = max(1, min(_MAX_RY, threads_per_block() // 32))
    grid = (p1 + 31) // 32
    _finalize_kernel[grid, (32, ry)](work, nb, vec, int(n_reg), float(lam_vec), wsq,
                                     int(n_sq), float(lam_sq), out)


# --- per-iteration statistics of the device-resident solver loop -------------------------

#: Threads of :func:`iteration_stats`'s single block (a power of two).
_STATS_THREADS = 32 if SIMULATOR else 256


@cuda.jit
def _stats_kernel(work, g, x, x_prev, use_prev, stats):
    # One block: stats = [scalar of the last reduction, ||g||^2, ||x - x_prev||^2],
    # each squared norm reduced by a fixed tree (deterministic).
    red_g = cuda.shared.array(_STATS_THREADS, dtype=numba.float64)
    red_s = cuda.shared.array(_STATS_THREADS, dtype=numba.float64)
    tid = cuda.threadIdx.x
    acc_g = 0.0
    acc_s = 0.0
    for i in range(tid, g.shape[0], _STATS_THREADS):
        acc_g += g[i] * g[i]
        if use_prev:
            dx = float(x[i]) - float(x_prev[i])
            acc_s += dx * dx
    red_g[tid] = acc_g
    red_s[tid] = acc_s
    cuda.syncthreads()
    step = _STATS_THREADS // 2
    while step > 0:
        if tid < step:
            red_g[tid] += red_g[tid + step]
            red_s[tid] += red_s[tid + step]
        cuda.syncthreads()
        step //= 2
    if tid == 0:
        nb = work.shape[0] - 1
        stats[0] = work[nb, work.shape[1] - 1]
        stats[1] = red_g[0]
        stats[2] = red_s[0]


def iteration_stats(work, g, stats, x=None, x_prev=None) -> np.ndarray:
    """``[f, ||g||^2, ||x - x_prev||^2]`` as one 24-byte device-to-host copy.

    ``f`` is the scalar of the last reduction in ``work``; ``stats`` is a device (3,)
    float64 buffer; the step norm is 0 unless both ``x`` and ``x_prev`` are given.
    """
    use_prev = x is not None and x_prev is not None
    if not use_prev:
        x = x_prev = g
    _stats_kernel[1, _STATS_THREADS](work, g, x, x_prev, use_prev, stats)
    return stats.copy_to_host()
