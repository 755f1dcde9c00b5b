"""Benchmark problems: dense and CSR logistic data, generated once per size and cached.

Shared by ``test_bench_kernels.py`` and ``report_kernels.py`` so both time the same data.
"""

from __future__ import annotations

import contextlib
import functools
import platform

import numpy as np
import scipy.sparse as sp

from fastopt._config import data_work, get_num_threads, n_chunks
from fastopt.kernels.losses import LOGISTIC, SQUARED


@functools.lru_cache(maxsize=2)
def dense_problem(m: int, n: int, dtype_name: str = "float64"):
    """``(X, y, sw, w, v)`` with X (m, n) standard normal, y in {-1, +1}, sw = 1/m."""
    rng = np.random.default_rng(m * 7919 + n)
    X = rng.standard_normal((m, n), dtype=np.float32 if dtype_name == "float32" else None)
    X = np.ascontiguousarray(X, dtype=dtype_name)
    y = np.where(rng.random(m) < 0.5, -1.0, 1.0)
    sw = np.full(m, 1.0 / m)
    w = rng.standard_normal(n) / np.sqrt(n)
    v = rng.standard_normal(n)
    return X, y, sw, w, v


@functools.lru_cache(maxsize=1)
def csr_problem(m: int, n: int, nnz_per_row: int, dtype_name: str = "float64"):
    """A canonical CSR matrix with exactly ``nnz_per_row`` entries per row, and y, sw, w, v.

    Row i has one column in each of ``nnz_per_row`` equal-width buckets of [0, n): the
    indices are distinct and sorted without a sort, so millions of rows build in seconds.
    """
    rng = np.random.default_rng(m + n + nnz_per_row)
    width = n // nnz_per_row
    cols = np.arange(nnz_per_row) * width + rng.integers(0, width, (m, nnz_per_row))
    indices = cols.ravel().astype(np.int32)
    indptr = np.arange(0, m * nnz_per_row + 1, nnz_per_row, dtype=np.int32)
    data = rng.standard_normal(m * nnz_per_row).astype(dtype_name)
    X = sp.csr_matrix((data, indices, indptr), shape=(m, n))
    y = np.where(rng.random(m) < 0.5, -1.0, 1.0)
    return X, y, np.full(m, 1.0 / m), rng.standard_normal(n) / np.sqrt(nnz_per_row), \
        rng.standard_normal(n)


def nbytes(X) -> int:
    """Bytes a kernel must stream to read ``X`` once (CSR: data, indices and indptr)."""
    if sp.issparse(X):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


def work_for(X, p: int) -> np.ndarray:
    """The (T, p) scratch the objectives allocate for ``X``: T fixed by its size."""
    return np.empty((n_chunks(data_work(X), p), p))


def kernel_call(K, kernel: str, X, y, sw, w, v, lam=1e-3):
    """A zero-argument callable running ``kernel`` of backend module ``K`` on the data.

    ``kernel`` is one of "loss_grad", "hvp" (logistic), "lsq_loss_grad" (squared loss),
    "weighted_gram"; output
    buffers are allocated here, once, not inside the timed call.
    """
    p = w.shape[0]
    work, out = work_for(X, p), np.empty(p)
    if sp.issparse(X):
        head, sfx = (X.data, X.indices, X.indptr, X.shape[1]), "_csr"
    else:
        head, sfx = (X,), ""
    if kernel == "loss_grad":
        fn = getattr(K, "linear_loss_grad" + sfx)
        return lambda: fn(LOGISTIC, *head, y, sw, w, lam, out, work)
    if kernel == "hvp":
        fn = getattr(K, "linear_hvp" + sfx)
        return lambda: fn(LOGISTIC, *head, y, sw, w, v, lam, out, work)
    if kernel == "lsq_loss_grad":
        fn = getattr(K, "linear_loss_grad" + sfx)
        return lambda: fn(SQUARED, *head, y, sw, w, lam, out, work)
    if kernel == "weighted_gram":
        fn = getattr(K, "weighted_gram" + sfx)
        H = np.empty((p, p))
        return lambda: fn(*head, sw, lam, H)
    raise ValueError(f"unknown kernel {kernel!r}")


def sklearn_call(X, y, sw, w, lam=1e-3):
    """scikit-learn's ``LinearModelLoss.loss_gradient`` on the same problem (y in {0, 1}).

    scikit-learn wants ``coef`` and ``y`` in the dtype of ``X``: with float32 data this
    times its own float32 path.
    """
    from sklearn._loss.loss import HalfBinomialLoss
    from sklearn.linear_model._linear_loss import LinearModelLoss

    loss = LinearModelLoss(base_loss=HalfBinomialLoss(), fit_intercept=False)
    dtype = X.dtype
    y01 = (y > 0).astype(dtype)
    coef = w.astype(dtype)
    threads = get_num_threads()
    return lambda: loss.loss_gradient(coef, X, y01, l2_reg_strength=lam, n_threads=threads)


def multinomial_args(X, y, K: int, rng):
    """Arguments of the multinomial kernels on (X, y), K classes with intercepts, at a
    random point: ``(head, suffix, y, sw, w, v, work)``; ``head`` stands for X (dense X, or
    the CSR arrays and n), ``suffix`` is ``"_csr"`` or ``""``, sw = 1/m, and ``work`` is
    the objective's scratch (T fixed by the data's size, not by the thread count)."""
    m, n = X.shape
    P = (n + 1) * K
    w = 0.1 * rng.standard_normal(P)
    v = rng.standard_normal(P)
    work = np.empty((n_chunks(data_work(X) * K, P + 2 * K + 1), P + 2 * K + 1))
    if sp.issparse(X):
        head, suffix = (X.data, X.indices, X.indptr, n), "_csr"
    else:
        head, suffix = (X,), ""
    return (head, suffix, np.asarray(y, dtype=np.int64), np.full(m, 1.0 / m), w, v, work)


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return cpu
