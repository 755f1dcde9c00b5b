"""pytest-benchmark cases of the CUDA backend (skipped, with the reason, where no GPU is usable).

A benchmark, not a test: on a machine without a GPU there is nothing to time. The full
GPU study (roofline, CuPy/PyTorch peers, torch fused Adam, end-to-end fit) is
``bench/gpu_bench.py``. ``FASTOPT_BENCH_QUICK=1`` (CI) shrinks the sizes.
"""

import os

import numpy as np
import pytest

from fastopt.kernels.losses import LOGISTIC

try:
    from fastopt.kernels.cuda import is_usable
    _REASON = is_usable()
except Exception as exc:  # numba-cuda missing
    _REASON = f"fastopt.kernels.cuda does not import: {exc}"

pytestmark = pytest.mark.skipif(_REASON is not None, reason=f"no usable GPU: {_REASON}")

QUICK = bool(os.environ.get("FASTOPT_BENCH_QUICK"))
M, N = (100_000, 100) if QUICK else (10_000_000, 100)
P_ADAM = 1_000_000 if QUICK else 100_000_000


@pytest.fixture(scope="module")
def logistic_data():
    from numba import cuda

    import fastopt.kernels.cuda as ck

    rng = np.random.default_rng(0)
    X = cuda.device_array((M, N), dtype=np.float32)
    rows = 100_000
    for start in range(0, M, rows):  # filled in slices: no m x n host array
        stop = min(M, start + rows)
        X[start:stop].copy_to_device(rng.uniform(-1, 1, (stop - start, N)).astype(np.float32))
    y = cuda.to_device(np.where(rng.random(M) < 0.5, -1.0, 1.0))
    sw = cuda.to_device(np.full(M, 1.0 / M))
    w = cuda.to_device(rng.standard_normal(N) * 0.1)
    return X, y, sw, w, cuda.device_array(N), ck.cuda_work(M, N)


def test_logistic_loss_grad_cuda(benchmark, logistic_data):
    import fastopt.kernels.cuda as ck

    X, y, sw, w, g, work = logistic_data
    f = benchmark(ck.linear_loss_grad, LOGISTIC, X, y, sw, w, 1e-4, g, work)  # syncs (scalar back)
    assert np.isfinite(f)


def test_adam_cuda(benchmark):
    from numba import cuda

    import fastopt.kernels.cuda as ck

    rng = np.random.default_rng(1)
    x, g = (cuda.to_device(rng.standard_normal(P_ADAM).astype(np.float32)) for _ in range(2))
    m, v = (cuda.to_device(np.zeros(P_ADAM, np.float32)) for _ in range(2))
    empty = np.empty(0, np.float32)

    def step():
        ck.adam_(x, m, v, g, 1, 1e-3, 0.9, 0.999, 1e-8, empty)
        cuda.synchronize()

    benchmark(step)
    assert np.isfinite(x[:8].copy_to_host()).all()
