"""K least-squares targets on one X with shared weights: one Hessian for all of them.

With the same rows, weights and lam for every target, the ridge problems

.. math::

    \\min_{w_k} \\; \\frac12 \\sum_i sw_i (\\langle \\tilde a_i, w_k\\rangle - y_{ik})^2
    + \\frac{\\lambda}{2}\\|w_{k, :n}\\|^2, \\qquad k = 1..K,

share their Hessian ``H = A~^T diag(sw) A~ + lam I_n``: W = H^{-1} A~^T diag(sw) Y, one
Gram matrix (the backend's ``weighted_gram`` kernel), one Cholesky factorization and
one matrix product ``X^T [r_1 ... r_K]`` for every target at once, where the batch kernel
would form K equal Hessians. The gradients at W are then checked with one more pair of
products, and a Newton step from the residual gradient (iterative refinement) is taken
while a target's ||grad f_k|| is above tol, at most ``max_iter`` steps in all.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ..kernels.batch_codes import CONVERGED, MAX_ITER, PENDING, SINGULAR

__all__ = ["applies", "solve_shared_squares"]


def applies(lay, lams: np.ndarray) -> bool:
    """Whether the batch is several targets on the same rows, weights and lam."""
    return lay.shared_rows and lay.status.size > 1 and bool(np.all(lams == lams[0]))


def _products(X, sw_r: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """A~^T R for R = sw * residuals of shape (m, K): (p, K)."""
    top = X.T @ sw_r
    if fit_intercept:
        return np.vstack([top, sw_r.sum(axis=0)])
    return np.asarray(top)


def solve_shared_squares(lay, lams, fit_intercept, tol, max_iter, W, fun, grad_norm, n_iter,
                         status, kernels) -> None:
    """Solve every pending target of ``lay`` in place (the arrays of ``fit_batch``)."""
    K, kept, n = lay.status.size, int(lay.n_rows[0]), lay.n_features
    p = n + fit_intercept
    todo = np.flatnonzero(status == PENDING)
    if todo.size == 0 or kept == 0:
        return
    # Over all m rows of X: rows left out (zero weight) get weight 0 and target 0.
    m = lay.X.shape[0]
    rows = lay.rows if lay.rows.size else slice(None)
    sw = np.zeros(m)
    sw[rows] = lay.sw[:kept]
    Y = np.zeros((m, todo.size))
    Y[rows] = lay.y.reshape(K, kept)[todo].T             # (m, K')
    if isinstance(lay.X, np.ndarray):
        X = lay.X
        H = np.empty((p, p))
        kernels.weighted_gram(X, sw, float(lams[0]), H)
    else:
        data, indices, indptr, shape = lay.X
        X = sp.csr_matrix((data, indices, indptr), shape=shape)
        H = np.empty((p, p))
        kernels.weighted_gram_csr(data, indices, indptr, n, sw, float(lams[0]), H)
    try:
        factor = scipy.linalg.cho_factor(H, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        status[todo] = SINGULAR
        return
    Wt = W[todo].T.copy()                                   # (p, K')
    penalty = np.zeros((p, 1))
    penalty[:n] = lams[0]
    steps = np.zeros(todo.size, dtype=np.int32)
    while True:
        Z = np.asarray(X @ Wt[:n]) + (Wt[n] if fit_intercept else 0.0)
        R = Z - Y
        G = _products(X, sw[:, None] * R, fit_intercept) + penalty * Wt
        norms = np.linalg.norm(G, axis=0)
        active = norms > tol
        if not active.any() or steps.max(initial=0) >= max_iter:
            break
        Wt[:, active] -= scipy.linalg.cho_solve(factor, G[:, active], check_finite=False)
        steps[active] += 1
    fun[todo] = 0.5 * (sw[:, None] * R * R).sum(axis=0) \
        + 0.5 * lams[0] * (Wt[:n] ** 2).sum(axis=0)
    grad_norm[todo] = norms
    n_iter[todo] = steps
    status[todo] = np.where(active, MAX_ITER, CONVERGED)
    W[todo] = Wt.T
