"""Shared fixtures: the backends and dtypes every kernel test is parametrized over."""

import os

# CUDA kernels are tested on numba's CUDA simulator where there is no GPU; the variable
# must be set before numba is first imported.
if not os.path.exists("/dev/nvidiactl"):
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

# The parsed-data cache of fo.datasets.load goes to a folder of this session (also seen by
# the subprocesses the tests start), not to the user's cache directory.
if "FASTOPT_CACHE_DIR" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["FASTOPT_CACHE_DIR"] = tempfile.mkdtemp(prefix="fastopt-test-cache-")
    atexit.register(shutil.rmtree, os.environ["FASTOPT_CACHE_DIR"], ignore_errors=True)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fastopt.kernels import available_backends  # noqa: E402

CPU_BACKENDS = [b for b in ("numpy", "numba", "cython") if b in available_backends()]
COMPILED_BACKENDS = [b for b in CPU_BACKENDS if b != "numpy"]
DTYPES = [np.float32, np.float64]


@pytest.fixture(params=CPU_BACKENDS)
def backend(request):
    """Every CPU backend that works here (numpy, numba, cython)."""
    return request.param


@pytest.fixture(params=COMPILED_BACKENDS)
def compiled_backend(request):
    """Every compiled CPU backend that works here (numba, cython)."""
    return request.param


@pytest.fixture(params=DTYPES, ids=["float32", "float64"])
def dtype(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)
