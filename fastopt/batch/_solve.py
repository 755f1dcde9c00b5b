"""One compiled call for K fits: validate the options, lay the problems out, run the
backend's ``batch_newton`` kernel, and return a :class:`BatchResult`."""

from __future__ import annotations

import numpy as np

from .. import _config
from .._blas_threads import OneThread
from .._checks import check_flag, check_int, check_nonnegative
from .._memory import check_fits
from ..kernels import get_backend, losses, resolve_backend
from ..kernels.batch_codes import PENDING
from ..problems._validation import check_lam
from . import _shared_squares as shared_squares
from ._layout import CsrArrays, layout
from ._result import BatchResult

__all__ = ["fit_batch"]


def _lams(lam, weight_sum: np.ndarray) -> np.ndarray:
    """(K,) L2 strengths: None gives scikit-learn's C = 1 (lam_k = 1 / sum of problem k's
    weights); a scalar or a (K,) array is taken as is."""
    K = weight_sum.size
    if lam is None:
        return 1.0 / np.where(weight_sum > 0, weight_sum, 1.0)
    if np.ndim(lam) == 0:
        return np.full(K, check_lam(lam))
    values = np.asarray(lam, dtype=np.float64)
    if values.shape != (K,):
        raise ValueError(f"lam must be a scalar or have shape (K,) = ({K},); got shape "
                         f"{values.shape}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("lam must hold finite values >= 0")
    return values


def _start(x0, K: int, p: int) -> np.ndarray:
    if x0 is None:
        return np.zeros((K, p))
    W = np.array(x0, dtype=np.float64, copy=True)  # written by the kernel: never the user's
    if W.shape != (K, p):
        raise ValueError(f"x0 must have shape (K, p) = ({K}, {p}) (coefficients, then the "
                         f"intercept when fitted); got {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError("x0 contains NaN or infinity")
    return W


def fit_batch(loss: str, X, y, *, groups=None, n_groups=None, lam=None,
              sample_weight=None, fit_intercept=True, tol=1e-4, max_iter=100, x0=None,
              backend="auto", n_threads=None) -> BatchResult:
    """K Newton solves of the loss ``loss`` ("logistic", "squared" or "poisson"); see
    :func:`fastopt.batch.logistic` for the arguments."""
    fit_intercept = check_flag("fit_intercept", fit_intercept)
    tol = check_nonnegative("tol", tol)
    max_iter = check_int("max_iter", max_iter, 0, 2**31 - 1)
    if n_threads is not None:
        n_threads = check_int("n_threads", n_threads, 1)
    backend = resolve_backend(backend)
    kernels = get_backend(backend)
    if not hasattr(kernels, "batch_newton"):
        raise ValueError(f"backend {backend!r} has no batched solver; use 'auto', 'cython', "
                         "'numba' or 'numpy'")
    code = losses.by_name(loss).code
    lay, classes = layout(X, y, groups=groups, n_groups=n_groups,
                          sample_weight=sample_weight, binary=code == losses.LOGISTIC,
                          counts=code == losses.POISSON)
    K, n = lay.status.size, lay.n_features
    p = n + fit_intercept
    lams = _lams(lam, lay.weight_sum)
    W = _start(x0, K, p)
    threads = n_threads or _config.get_num_threads()
    m_max = int(lay.n_rows.max()) if K else 0
    check_fits(8.0 * threads * (4 * m_max + 2 * p * p + 260 * p + 80),
               f"{K} problems of up to {m_max} rows and {p} parameters (the Newton "
               f"workspace of each of {threads} threads)")
    fun = np.full(K, np.nan)
    grad_norm = np.full(K, np.nan)
    n_iter = np.zeros(K, dtype=np.int32)
    status = lay.status.copy()
    args = (lay.rows, lay.x_start, lay.n_rows, lay.y, lay.sw, lay.y_start, lams,
            fit_intercept, tol, max_iter, W, fun, grad_norm, n_iter, status)
    previous = _config.get_num_threads()
    try:
        if n_threads is not None:
            _config.set_num_threads(n_threads)
        if code == losses.SQUARED and shared_squares.applies(lay, lams):
            shared_squares.solve_shared_squares(lay, lams, fit_intercept, tol, max_iter, W,
                                                fun, grad_norm, n_iter, status, kernels)
            return _result(lay, W, n, fit_intercept, fun, grad_norm, n_iter, status, lams,
                           classes)
        with OneThread():  # the kernel calls BLAS from its own threads
            if isinstance(lay.X, CsrArrays):
                kernels.batch_newton_csr(code, lay.X.data, lay.X.indices, lay.X.indptr, n,
                                         *args)
            else:
                kernels.batch_newton(code, lay.X, *args)
    finally:
        _config.set_num_threads(previous)
    return _result(lay, W, n, fit_intercept, fun, grad_norm, n_iter, status, lams, classes)


def _result(lay, W, n, fit_intercept, fun, grad_norm, n_iter, status, lams, classes):
    unsolved = lay.status != PENDING
    W[unsolved] = np.nan
    return BatchResult(
        coef=W[:, :n].copy(),
        intercept=W[:, n].copy() if fit_intercept else np.where(unsolved, np.nan, 0.0),
        fun=fun, grad_norm=grad_norm, n_iter=n_iter, status=status, success=status == 0,
        lam=lams, groups=lay.groups, classes=classes)
