"""NumPy twin of ``batch_newton``: K independent Newton solves, one after another.

The layout of the problems, the objective, the Newton step with its ridge, the Armijo
search and the status codes are those of the compiled kernel (see
``fastopt/kernels/cython/batch.pyx``); this twin is the oracle of its tests, written for
clarity: each problem's rows are gathered into an array and every product is a NumPy
call.
"""

from __future__ import annotations

import numpy as np

from ..batch_codes import CONVERGED, MAX_ITER, NO_DECREASE, NONFINITE, PENDING, SINGULAR
from .linear import row_curvature, row_dloss, row_loss

__all__ = ["batch_newton", "batch_newton_csr"]

ARMIJO = 1e-4
HALVINGS = 60
RIDGE_TRIES = 8


def _direction(H: np.ndarray, g: np.ndarray) -> np.ndarray | None:
    """-(H + r I)^{-1} g with the smallest ridge r of the kernel's sequence that makes
    the Cholesky factorization succeed; None when none does."""
    scale = float(np.max(np.diag(H))) if H.size else 0.0
    if not scale > 0.0:
        scale = 1.0
    ridge = 0.0
    for _ in range(RIDGE_TRIES):
        try:
            L = np.linalg.cholesky(H + ridge * np.eye(H.shape[0]))
        except np.linalg.LinAlgError:
            ridge = 1e-12 * scale if ridge == 0.0 else ridge * 100.0
            continue
        return -np.linalg.solve(L.T, np.linalg.solve(L, g))
    return None


def _solve(kind, A, y, sw, lam, icpt, tol, max_iter, w):
    """One Newton solve from w (modified in place); returns (status, f, ||g||, iterations)."""
    n = A.shape[1]
    At = np.hstack([A, np.ones((A.shape[0], 1))]) if icpt else A

    def value(z, x):
        return float(sw @ row_loss(kind, y, z)) + 0.5 * lam * float(x[:n] @ x[:n])

    def gradient(z, x):
        g = At.T @ (sw * row_dloss(kind, y, z))
        g[:n] += lam * x[:n]
        return g

    z = At @ w
    f = value(z, w)
    if not np.isfinite(f):
        return NONFINITE, f, f, 0
    g = gradient(z, w)
    it = 0
    while True:
        gn = float(np.linalg.norm(g))
        if gn <= tol:
            return CONVERGED, f, gn, it
        if it >= max_iter:
            return MAX_ITER, f, gn, it
        d = sw * row_curvature(kind, y, z)
        H = (At * d[:, None]).T @ At
        H[np.arange(n), np.arange(n)] += lam
        direction = _direction(H, g)
        if direction is None:
            return SINGULAR, f, gn, it
        slope = float(g @ direction)
        if not slope < 0.0:
            return NO_DECREASE, f, gn, it
        xd = At @ direction
        t = 1.0
        for _ in range(HALVINGS):
            trial = w + t * direction
            with np.errstate(over="ignore", invalid="ignore"):
                f_trial = value(z + t * xd, trial)
            if np.isfinite(f_trial) and f_trial <= (f + ARMIJO * t * slope
                                                    + 8.0 * np.finfo(float).eps * abs(f)):
                break
            t *= 0.5
        else:
            return NO_DECREASE, f, gn, it
        w[:] = trial
        z = z + t * xd
        f = f_trial
        g = gradient(z, w)
        it += 1


def batch_newton(kind, X, rows, x_start, n_rows, y, sw, y_start, lam, fit_intercept, tol,
                 max_iter, W, fun, grad_norm, n_iter, status):
    """K Newton solves of the linear-model loss ``kind``; the arguments are those of the
    compiled ``batch_newton`` (``W``, ``fun``, ``grad_norm``, ``n_iter`` and ``status``
    are written in place; only problems with status -1 are solved)."""
    n = X.shape[1]
    if W.shape[1] != n + bool(fit_intercept):
        raise ValueError(f"W has {W.shape[1]} columns; expected {n + bool(fit_intercept)}")
    for k in range(W.shape[0]):
        if status[k] != PENDING or n_rows[k] == 0:  # nothing to solve: left as given
            continue
        m = int(n_rows[k])
        first = int(x_start[k])
        index = rows[first:first + m] if rows.size else np.arange(first, first + m)
        A = np.asarray(X[index], dtype=np.float64)
        lo = int(y_start[k])
        status[k], fun[k], grad_norm[k], n_iter[k] = _solve(
            kind, A, np.asarray(y[lo:lo + m]), np.asarray(sw[lo:lo + m]), float(lam[k]),
            bool(fit_intercept), tol, max_iter, W[k])


def batch_newton_csr(kind, data, indices, indptr, n_features, rows, x_start, n_rows, y, sw,
                     y_start, lam, fit_intercept, tol, max_iter, W, fun, grad_norm, n_iter,
                     status):
    """``batch_newton`` on X in CSR (``data``, ``indices``, ``indptr``, ``n_features``
    columns); each problem's rows are made dense here, which gives the same sums."""
    import scipy.sparse as sp

    X = sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, n_features))
    batch_newton(kind, _DenseRows(X), rows, x_start, n_rows, y, sw, y_start, lam,
                 fit_intercept, tol, max_iter, W, fun, grad_norm, n_iter, status)


class _DenseRows:
    """A CSR matrix whose row selections come back dense (what ``batch_newton`` reads)."""

    def __init__(self, X):
        self.X = X
        self.shape = X.shape

    def __getitem__(self, index):
        return self.X[index].toarray()
