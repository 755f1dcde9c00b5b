"""Largest eigenvalues of the problems layer: one power iteration for every objective.

The Lipschitz constants of the linear models are ``lambda_max(X~^T diag(d) X~)`` times a
loss-curvature bound (d = sw). :func:`gram_max_eig` computes that eigenvalue from a
backend's kernels: the ``max_eig_gram`` kernel when there is no intercept, otherwise
:func:`power_iteration` over the ``weighted_hvp`` kernel (the column of ones of X~ is
never appended to a copy of X). Each product is one pass over X, in X's own dtype by the
kernel, with no m x n temporary.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["gram_max_eig", "power_iteration", "start_vector"]


def start_vector(p: int) -> np.ndarray:
    """The fixed (seeded) positive start vector of shape (p,), so results are reproducible.

    Positive entries make it non-orthogonal to the Perron vector of a Gram matrix with
    non-negative weights for almost every X.
    """
    return np.abs(np.random.default_rng(0).standard_normal(p)) + 1.0


def power_iteration(matvec: Callable[[np.ndarray, np.ndarray], None], v0: np.ndarray,
                    max_iter: int = 1000, tol: float = 1e-10) -> float:
    """Largest eigenvalue of a symmetric positive semidefinite operator H.

    ``v = v0 / ||v0||``; repeat ``u = H v``, ``rho = <v, u>``, ``v = u / ||u||`` until
    ``|rho - rho_prev| <= tol |rho|`` or ``max_iter`` products (the iteration of the
    ``max_eig_gram`` kernels). The Rayleigh quotient approaches lambda_max from below.

    Parameters
    ----------
    matvec : callable ``matvec(v, out)``
        Writes ``H v`` into ``out``; ``v`` and ``out`` are float64 arrays of shape (p,)
        (two buffers reused for every product: nothing is allocated per iteration).
    v0 : ndarray of shape (p,)
        Start vector (not modified); must not be zero.
    max_iter : int
        Most products.
    tol : float
        Relative change of the Rayleigh quotient at which to stop.

    Returns
    -------
    float
        The last Rayleigh quotient ``rho`` (0.0 when ``H v = 0``).
    """
    v = np.array(v0, dtype=np.float64)
    v /= np.linalg.norm(v)
    u = np.empty_like(v)
    rho = 0.0
    for _ in range(int(max_iter)):
        matvec(v, u)
        rho_prev, rho = rho, float(v @ u)
        norm = float(np.linalg.norm(u))
        if norm == 0.0:
            return 0.0
        # v <- u / ||u|| in place, then the two buffers swap roles.
        np.divide(u, norm, out=u)
        v, u = u, v
        if abs(rho - rho_prev) <= tol * abs(rho):
            break
    return rho


def gram_max_eig(max_eig_gram: Callable, weighted_hvp: Callable, data: tuple,
                 d: np.ndarray, n_features: int, fit_intercept: bool, work: np.ndarray,
                 max_iter: int = 1000, tol: float = 1e-10) -> float:
    """``lambda_max(X~^T diag(d) X~)`` with a backend's Gram kernels.

    Parameters
    ----------
    max_eig_gram, weighted_hvp : callable
        The backend's kernels of those names, dense or ``_csr`` to match ``data`` (the
        objective's bound kernels, so that a CUDA objective's device routing applies).
    data : tuple
        ``(X,)`` for dense X or ``(data, indices, indptr, n_features)`` for CSR.
    d : ndarray of shape (m,), float64
        Non-negative row weights.
    n_features : int
        n; X~ has p = n + fit_intercept columns.
    fit_intercept : bool
        Whether X~ has the column of ones.
    work : ndarray
        Kernel scratch (``(T, p)`` float64 on the CPU backends).
    max_iter, tol
        As in :func:`power_iteration`.

    Returns
    -------
    float
    """
    v0 = start_vector(n_features + int(fit_intercept))
    if not fit_intercept:
        return float(max_eig_gram(*data, d, v0, max_iter, tol, work))

    def matvec(v, out):
        weighted_hvp(*data, d, v, 0.0, out, work)

    return power_iteration(matvec, v0, max_iter, tol)
