"""Softmax-ReLU regression kernels, NumPy reference (arXiv 2308.08358).

With A of shape (n, d) (rows a_i), b, w of shape (n,), x of shape (d,):

    z = A x,  u = ReLU(z),  alpha = <exp(u), 1_n>,  f = exp(u) / alpha,  c = f - b
    L(x)      = 1/2 ||c||^2 + 1/2 ||W A x||^2                       (W = diag(w))
    grad L(x) = A^T [ s o (f o c - <f, c> f) + w^2 o z ]            (s_i = 1[z_i > 0])
    hess L(x) = A^T M A,    M = D_s B D_s + W^2
    B = <3f - 2b, f> f f^T + v f^T + f v^T + diag((2f - b) o f) - <f - b, f> diag(f),
    v = (b - 2f) o f.

The middle matrix splits into a diagonal and a rank-2 part,

    M = diag(h) + P C P^T,   h = w^2 + s o ((2f - b) o f - <f - b, f> f),
    P = [s o f, s o v] (n, 2),   C = [[gamma, 1], [1, 0]],   gamma = <3f - 2b, f>,

which is what the approximate Newton method samples (the diagonal) and keeps exactly
(the rank-2 part). exp(u) is computed as exp(u - max u) (the softmax is shift invariant).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "softmax_relu_hess_factors",
    "softmax_relu_hessian",
    "softmax_relu_hvp",
    "softmax_relu_loss",
    "softmax_relu_loss_grad",
]


def _forward(A, x):
    z = A @ x
    u = np.maximum(z, 0.0)
    e = np.exp(u - u.max()) if u.size else u
    f = e / e.sum() if u.size else e
    return z, f


def softmax_relu_loss(A, b, w, x) -> float:
    """L(x).

    Parameters
    ----------
    A : ndarray of shape (n, d), float64
    b, w : ndarray of shape (n,), float64
    x : ndarray of shape (d,), float64
    """
    z, f = _forward(A, x)
    c = f - b
    wz = w * z
    return 0.5 * float(c @ c) + 0.5 * float(wz @ wz)


def softmax_relu_loss_grad(A, b, w, x, grad_out) -> float:
    """L(x), and grad L(x) written into ``grad_out`` (d,). Two passes over A (A x, then
    A^T r): the softmax needs the global sum alpha before any row's residual is known."""
    z, f = _forward(A, x)
    c = f - b
    s = z > 0.0
    r = np.where(s, f * c - float(f @ c) * f, 0.0) + w * w * z
    grad_out[:] = A.T @ r
    wz = w * z
    return 0.5 * float(c @ c) + 0.5 * float(wz @ wz)


def softmax_relu_hess_factors(A, b, w, x, h_out, P_out) -> float:
    """The factors of the middle matrix M = diag(h) + P C P^T at x.

    Parameters
    ----------
    h_out : ndarray of shape (n,), overwritten with h
    P_out : ndarray of shape (n, 2), overwritten with [s o f, s o v]

    Returns
    -------
    gamma : float
        <3f - 2b, f>, the (0, 0) entry of C = [[gamma, 1], [1, 0]].
    """
    z, f = _forward(A, x)
    s = (z > 0.0).astype(np.float64)
    v = (b - 2.0 * f) * f
    h_out[:] = w * w + s * ((2.0 * f - b) * f - float((f - b) @ f) * f)
    P_out[:, 0] = s * f
    P_out[:, 1] = s * v
    return float((3.0 * f - 2.0 * b) @ f)


def softmax_relu_hessian(A, b, w, x, H_out) -> None:
    """``H_out = A^T M A`` (d, d), the Hessian of L at x."""
    n = A.shape[0]
    h = np.empty(n)
    P = np.empty((n, 2))
    gamma = softmax_relu_hess_factors(A, b, w, x, h, P)
    U = A.T @ P
    C = np.array([[gamma, 1.0], [1.0, 0.0]])
    H_out[:, :] = A.T @ (h[:, None] * A) + U @ C @ U.T


def softmax_relu_hvp(A, b, w, x, v, out) -> None:
    """``out = hess L(x) v`` (d,) without forming the Hessian: A^T (M (A v))."""
    n = A.shape[0]
    h = np.empty(n)
    P = np.empty((n, 2))
    gamma = softmax_relu_hess_factors(A, b, w, x, h, P)
    t = A @ v
    q = P.T @ t
    out[:] = A.T @ (h * t + P @ np.array([gamma * q[0] + q[1], q[0]]))
