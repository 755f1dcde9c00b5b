"""Memory read bandwidth of this machine, measured in the same run as the benchmarks.

The kernels of fastopt stream the data matrix once per call, so their speed limit is the
rate at which the cores can read memory (the "roofline"). :func:`read_bandwidth` times a
threaded Numba sum over an array much larger than the last-level cache;
:func:`roofline_fraction` says what fraction of that rate a kernel achieved.
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
    """Sum of ``a`` over ``n_chunks`` contiguous chunks (one per thread), read once."""
    m = a.shape[0]
    partial = np.zeros(n_chunks)
    for c in prange(n_chunks):
        acc = 0.0
        for i in range((m * c) // n_chunks, (m * (c + 1)) // n_chunks):
            acc += a[i]
        partial[c] = acc
    return partial.sum()


def measure_read_bandwidth(n_bytes: int = DEFAULT_BYTES, repeats: int = 7) -> float:
    """Read bandwidth in bytes/second: median over ``repeats`` timed sums of a float64 array.

    The first (untimed) call compiles the kernel and faults the pages in.
    """
    from fastopt._config import n_chunks

    a = np.ones(max(n_bytes // 8, 1))
    T = n_chunks()
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
