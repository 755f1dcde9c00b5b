"""pytest-benchmark suite: every CPU backend's linear-model kernels against the reference.

Dense: m in {1e4, 1e5, 1e6} x n in {10, 100, 1000} with m n <= 1e8, float32 and float64,
for the fused logistic loss+gradient, the logistic HVP and the least-squares
loss+gradient; the weighted Gram matrix on smaller sizes; CSR with m = 1e6 rows of 50
nonzeros (n = 1000); scikit-learn's ``LinearModelLoss.loss_gradient`` as a peer.
``benchmark.extra_info`` records the bytes of X, the machine's read bandwidth and the
roofline fraction (bytes / median time / bandwidth). ``FASTOPT_BENCH_QUICK=1`` uses tiny
sizes only.
"""

import os

import pytest
from _data import csr_problem, dense_problem, kernel_call, nbytes, sklearn_call

from fastopt.kernels import get_backend

QUICK = os.environ.get("FASTOPT_BENCH_QUICK") == "1"

if QUICK:
    DENSE_SIZES = [(1000, 10), (500, 50)]
    GRAM_SIZES = [(500, 20)]
    CSR_SIZE = (2000, 100, 5)
else:
    DENSE_SIZES = [(m, n) for m in (10**4, 10**5, 10**6) for n in (10, 100, 1000)
                   if m * n <= 10**8]
    GRAM_SIZES = [(10**4, 100), (10**5, 100), (10**4, 500)]
    CSR_SIZE = (10**6, 1000, 50)

DTYPES = ["float32", "float64"]
KERNELS = ["loss_grad", "hvp", "lsq_loss_grad"]


def _record(benchmark, X, bandwidth):
    """Bytes of X, bandwidth and (after a timed run) the roofline fraction."""
    benchmark.extra_info["bytes_X"] = nbytes(X)
    benchmark.extra_info["bandwidth_GBps"] = bandwidth / 1e9
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        seconds = stats.stats.median
        benchmark.extra_info["roofline_fraction"] = nbytes(X) / seconds / bandwidth


def _ids(size):
    return f"m{size[0]}-n{size[1]}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", DENSE_SIZES, ids=_ids)
@pytest.mark.parametrize("kernel", KERNELS)
def test_dense(benchmark, backend, kernel, size, dtype, bandwidth):
    X, y, sw, w, v = dense_problem(*size, dtype)
    fn = kernel_call(get_backend(backend), kernel, X, y, sw, w, v)
    fn()  # compile / warm up outside the timing
    benchmark.group = f"{kernel}-dense-{_ids(size)}-{dtype}"
    benchmark(fn)
    _record(benchmark, X, bandwidth)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", DENSE_SIZES, ids=_ids)
def test_sklearn_loss_gradient(benchmark, size, dtype, bandwidth):
    X, y, sw, w, v = dense_problem(*size, dtype)
    fn = sklearn_call(X, y, sw, w)
    benchmark.group = f"loss_grad-dense-{_ids(size)}-{dtype}"
    benchmark(fn)
    _record(benchmark, X, bandwidth)


@pytest.mark.parametrize("size", GRAM_SIZES, ids=_ids)
def test_weighted_gram(benchmark, backend, size, bandwidth):
    X, y, sw, w, v = dense_problem(*size, "float64")
    fn = kernel_call(get_backend(backend), "weighted_gram", X, y, sw, w, v)
    fn()
    benchmark.group = f"weighted_gram-{_ids(size)}"
    benchmark(fn)
    _record(benchmark, X, bandwidth)


@pytest.mark.parametrize("kernel", KERNELS)
def test_csr(benchmark, backend, kernel, bandwidth):
    X, y, sw, w, v = csr_problem(*CSR_SIZE)
    fn = kernel_call(get_backend(backend), kernel, X, y, sw, w, v)
    fn()
    benchmark.group = f"{kernel}-csr-m{CSR_SIZE[0]}-nnz{CSR_SIZE[2]}"
    benchmark(fn)
    _record(benchmark, X, bandwidth)


def test_sklearn_loss_gradient_csr(benchmark, bandwidth):
    X, y, sw, w, v = csr_problem(*CSR_SIZE)
    benchmark.group = f"loss_grad-csr-m{CSR_SIZE[0]}-nnz{CSR_SIZE[2]}"
    benchmark(sklearn_call(X, y, sw, w))
    _record(benchmark, X, bandwidth)
