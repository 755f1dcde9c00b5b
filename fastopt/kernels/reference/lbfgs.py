"""L-BFGS two-loop recursion, NumPy reference (the oracle of the compiled twin).

The memory holds the last ``count`` pairs (s_j, y_j) = (x_{j+1} - x_j, g_{j+1} - g_j) in
ring buffers ``S`` and ``Y`` of shape (k, p): the oldest pair is row ``start``, the
newest row ``(start + count - 1) % k``; ``rho[j] = 1 / <s_j, y_j>``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["lbfgs_direction"]


def lbfgs_direction(g, S, Y, rho, start, count, gamma, alpha_work, d_out):
    """Quasi-Newton direction d = -H_k g by the two-loop recursion.

    Parameters
    ----------
    g : ndarray of shape (p,)
        Current gradient.
    S, Y : ndarray of shape (k, p)
        Ring buffers of steps and gradient differences.
    rho : ndarray of shape (k,)
        1 / <s_j, y_j> per stored pair.
    start, count : int
        Row of the oldest pair and number of stored pairs (0 <= count <= k).
    gamma : float
        Initial inverse-Hessian scale H_0 = gamma I (usually <s, y> / <y, y> of the
        newest pair).
    alpha_work : ndarray of shape (k,)
        Scratch for the first-loop coefficients.
    d_out : ndarray of shape (p,)
        Result, overwritten with -H_k g.

    Notes
    -----
    First loop, newest to oldest: alpha_j = rho_j <s_j, q>, q -= alpha_j y_j (q = g).
    Then r = gamma q. Second loop, oldest to newest: beta = rho_j <y_j, r>,
    r += (alpha_j - beta) s_j. The direction is -r. Cost O(k p), no allocation.
    """
    k = S.shape[0]
    q = d_out
    q[:] = g
    for i in range(count - 1, -1, -1):
        j = (start + i) % k
        a = rho[j] * float(S[j] @ q)
        alpha_work[j] = a
        q -= a * Y[j]
    q *= gamma
    for i in range(count):
        j = (start + i) % k
        beta = rho[j] * float(Y[j] @ q)
        q += (alpha_work[j] - beta) * S[j]
    np.negative(q, out=q)
