"""Memory read bandwidth of this machine, measured in the same run as the benchmarks.

The kernels of fastopt stream the data matrix once per call, so their speed limit is the
rate at which the cores can read memory (the "roofline"). :func:`read_bandwidth` times a
threaded, vectorized Numba sum over an array much larger than the last-level cache;
:func:`roofline_fraction` says what fraction of that rate a kernel achieved, and
:func:`read_call` gives a pure read of a kernel's own bytes, to be timed alternately with
the kernel (the bandwidth of a shared machine drifts by 2x from minute to minute here).

The sum must be vectorized to measure memory and not the adder: an earlier version
looped over int64 bounds, for which numba emits a negative-index check that keeps LLVM
from vectorizing; that loop ran at one add per cycle latency, 13-17 GB/s on the two
cores here where the memory delivers 20-30 GB/s, and made every roofline fraction look
about 1.8x better than it was. The loop now runs over uint64 bounds, summing int64
words (integer adds: any bytes can be read, no float assists).
"""

from __future__ import annotations

import functools
import os
import time

import numpy as np
from numba import prange

from fastopt._config import jit_parallel

#: Bytes of the array summed; 512 MiB by default (far beyond any cache), tiny in quick mode.
DEFAULT_BYTES = 512 * 2**20


@jit_parallel
def _parallel_sum(a, n_chunks):
    """Wrapping sum of the int64 words ``a`` over ``n_chunks`` contiguous chunks (one per
    thread), each word read once; vectorized (uint64 loop bounds, see the module doc)."""
    m = a.shape[0]
    partial = np.zeros(n_chunks, dtype=np.int64)
    for c in prange(n_chunks):
        acc = np.int64(0)
        for i in range(np.uint64((m * c) // n_chunks), np.uint64((m * (c + 1)) // n_chunks)):
            acc += a[i]
        partial[c] = acc
    return partial.sum()


def read_call(arrays):
    """A zero-argument callable that reads every byte of ``arrays`` once (threaded sum).

    C-contiguous arrays whose size is a multiple of 8 bytes are read in place (viewed as
    int64 words); others are replaced by a fresh buffer of the same size, which streams
    the same number of bytes.
    """
    from fastopt._config import get_num_threads

    # an integer sum, exact in any order: one chunk per thread
    T = get_num_threads()
    words = []
    for a in arrays:
        if a.flags.c_contiguous and a.nbytes % 8 == 0:
            words.append(a.reshape(-1).view(np.int64))
        else:
            words.append(np.ones(-(-a.nbytes // 8), dtype=np.int64))

    def read():
        for wd in words:
            _parallel_sum(wd, T)

    read()  # compile, fault the pages in
    return read


def measure_read_bandwidth(n_bytes: int = DEFAULT_BYTES, repeats: int = 7) -> float:
    """Read bandwidth in bytes/second: median over ``repeats`` timed sums of an array.

    The first (untimed) call compiles the kernel and faults the pages in.
    """
    from fastopt._config import get_num_threads

    a = np.ones(max(n_bytes // 8, 1), dtype=np.int64)
    T = get_num_threads()
    _parallel_sum(a, T)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _parallel_sum(a, T)
        times.append(time.perf_counter() - t0)
    return a.nbytes / float(np.median(times))


@functools.lru_cache(maxsize=1)
def read_bandwidth() -> float:
    """Bandwidth measured once per process (bytes/second); small array in quick mode."""
    quick = os.environ.get("FASTOPT_BENCH_QUICK") == "1"
    return measure_read_bandwidth(2**20 if quick else DEFAULT_BYTES, 3 if quick else 7)


def roofline_fraction(n_bytes: float, seconds: float, bandwidth: float | None = None) -> float:
    """Fraction of the read bandwidth achieved when ``n_bytes`` were streamed in ``seconds``.

    1.0 means the kernel ran as fast as a pure read of its data could.
    """
    bandwidth = read_bandwidth() if bandwidth is None else bandwidth
    return (n_bytes / seconds) / bandwidth
