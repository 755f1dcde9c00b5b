"""Shared fixtures of the benchmark suite.

``FASTOPT_BENCH_QUICK=1`` (as CI sets it, with ``--benchmark-disable``) shrinks every size
so the whole directory runs in seconds; without it the sizes are those of the report.
"""

import os

import numpy as np
import pytest

from fastopt.kernels import available_backends

QUICK = os.environ.get("FASTOPT_BENCH_QUICK") == "1"
CPU_BACKENDS = [b for b in ("numpy", "numba", "cython") if b in available_backends()]


@pytest.fixture(params=CPU_BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="session")
def bandwidth():
    """Read bandwidth of this machine in bytes/second, measured once per session."""
    from bandwidth import read_bandwidth

    return read_bandwidth()


@pytest.fixture
def rng():
    return np.random.default_rng(0)
