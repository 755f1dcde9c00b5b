"""Random linear-model problems and a uniform way to call dense or CSR kernels.

Shared by the kernel tests of logistic regression, least squares and the Gram products.
"""

from dataclasses import dataclass

import numpy as np
import pytest
import scipy.sparse as sp

from fastopt._config import data_work, n_chunks
from fastopt.kernels import get_backend

FORMATS = ["dense", "csr"]


@dataclass
class Problem:
    X: object  # ndarray (m, n) or scipy CSR
    y: np.ndarray
    sw: np.ndarray
    w: np.ndarray
    v: np.ndarray

    @property
    def m(self):
        return self.X.shape[0]

    @property
    def n(self):
        return self.X.shape[1]

    @property
    def p(self):
        return self.w.shape[0]

    @property
    def is_csr(self):
        return sp.issparse(self.X)

    def work(self, n_chunks_=None):
        """Scratch of ``n_chunks_`` rows; by default the objectives' own chunk count for
        this data (``n_chunks(data_work(X), p)``: from its size, never the threads)."""
        return np.empty((n_chunks_ or n_chunks(data_work(self.X), self.p), self.p))


def make_problem(rng, m, n, dtype=np.float64, fmt="dense", intercept=False, weighted=False,
                 density=0.3):
    if fmt == "csr":
        X = sp.random(m, n, density=density, format="csr", dtype=np.float64, random_state=rng)
        X.data = rng.standard_normal(X.nnz)
        X = X.astype(dtype)
        X.sum_duplicates()
        X.sort_indices()
    else:
        X = rng.standard_normal((m, n)).astype(dtype)
    y = np.where(rng.random(m) < 0.5, -1.0, 1.0)
    s = rng.random(m) + 0.1 if weighted else np.ones(m)
    sw = s / s.sum() if m else s
    p = n + int(intercept)
    return Problem(X, y, sw, 0.5 * rng.standard_normal(p), rng.standard_normal(p))


def kernel(backend, name):
    """The kernel ``name`` of ``backend``; a test fails when an available backend lacks it.

    The tests are parametrized over the backends that work here only
    (``available_backends()``), and every one of them must export every dense and CSR
    logistic, least-squares and Gram kernel (docs/contract.md), so a missing kernel is a
    failure, never a skip. There are no exceptions for the kernels these tests call.
    """
    fn = getattr(get_backend(backend), name, None)
    if fn is None:
        pytest.fail(f"backend {backend!r} has no kernel {name!r} (docs/contract.md requires it)")
    return fn


def call(backend, name, prob, *args):
    """Call the dense kernel ``name`` or its ``_csr`` twin on ``prob.X``."""
    if prob.is_csr:
        A = prob.X
        return kernel(backend, name + "_csr")(A.data, A.indices, A.indptr, A.shape[1], *args)
    return kernel(backend, name)(prob.X, *args)


def central_difference(fun, w, eps=1e-6):
    """Central finite differences of ``fun`` (scalar or vector valued) at ``w``."""
    cols = []
    for j in range(w.shape[0]):
        e = np.zeros_like(w)
        e[j] = eps
        cols.append((np.asarray(fun(w + e)) - np.asarray(fun(w - e))) / (2 * eps))
    return np.array(cols)
