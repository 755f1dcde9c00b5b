"""Softmax-ReLU regression kernels, compiled (twins of
``fastopt.kernels.reference.softmax_relu``; the math and shapes are documented there).

Serial loops over the n rows of A: every kernel needs the global softmax sum alpha
before a row's residual is known, so each makes two sweeps (A x, then A^T r) with O(n)
work in between; the sizes of this problem (the paper's setting) do not pay for a
thread team.
"""

from __future__ import annotations

import math

import numpy as np

from ..._config import jit

__all__ = [
    "softmax_relu_hess_factors",
    "softmax_relu_hessian",
    "softmax_relu_hvp",
    "softmax_relu_loss",
    "softmax_relu_loss_grad",
]


@jit
def _forward(A, x, z, f):
    """z = A x and f = softmax(ReLU(z)) into the caller's buffers."""
    n, d = A.shape
    umax = 0.0
    for i in range(n):
        acc = 0.0
        for j in range(d):
            acc += A[i, j] * x[j]
        z[i] = acc
        if acc > umax:
            umax = acc
    total = 0.0
    for i in range(n):
        e = math.exp(max(z[i], 0.0) - umax)
        f[i] = e
        total += e
    for i in range(n):
        f[i] /= total


@jit
def _rmatvec(A, r, out):
    n, d = A.shape
    for j in range(d):
        out[j] = 0.0
    for i in range(n):
        ri = r[i]
        if ri != 0.0:
            for j in range(d):
                out[j] += A[i, j] * ri


@jit
def _loss_from(z, f, b, w):
    cc = 0.0
    wz = 0.0
    for i in range(z.shape[0]):
        c = f[i] - b[i]
        cc += c * c
        t = w[i] * z[i]
        wz += t * t
    return 0.5 * cc + 0.5 * wz


@jit
def softmax_relu_loss(A, b, w, x):
    """L(x); see the reference twin."""
    n = A.shape[0]
    z = np.empty(n)
    f = np.empty(n)
    _forward(A, x, z, f)
    return _loss_from(z, f, b, w)


@jit
def softmax_relu_loss_grad(A, b, w, x, grad_out):
    """L(x) and grad L(x) into ``grad_out`` (d,); see the reference twin."""
    n = A.shape[0]
    z = np.empty(n)
    f = np.empty(n)
    _forward(A, x, z, f)
    fc = 0.0
    for i in range(n):
        fc += f[i] * (f[i] - b[i])
    r = np.empty(n)
    for i in range(n):
        r[i] = w[i] * w[i] * z[i]
        if z[i] > 0.0:
            r[i] += f[i] * (f[i] - b[i]) - fc * f[i]
    _rmatvec(A, r, grad_out)
    return _loss_from(z, f, b, w)


@jit
def _factors(z, f, b, w, h_out, P_out):
    n = z.shape[0]
    fb = 0.0
    gamma = 0.0
    for i in range(n):
        fb += (f[i] - b[i]) * f[i]
        gamma += (3.0 * f[i] - 2.0 * b[i]) * f[i]
    for i in range(n):
        h_out[i] = w[i] * w[i]
        if z[i] > 0.0:
            h_out[i] += (2.0 * f[i] - b[i]) * f[i] - fb * f[i]
            P_out[i, 0] = f[i]
            P_out[i, 1] = (b[i] - 2.0 * f[i]) * f[i]
        else:
            P_out[i, 0] = 0.0
            P_out[i, 1] = 0.0
    return gamma


@jit
def softmax_relu_hess_factors(A, b, w, x, h_out, P_out):
    """h (n,), P (n, 2) and gamma of M = diag(h) + P C P^T; see the reference twin."""
    n = A.shape[0]
    z = np.empty(n)
    f = np.empty(n)
    _forward(A, x, z, f)
    return _factors(z, f, b, w, h_out, P_out)


@jit
def softmax_relu_hessian(A, b, w, x, H_out):
    """H_out = A^T M A (d, d); see the reference twin."""
    n, d = A.shape
    h = np.empty(n)
    P = np.empty((n, 2))
    gamma = softmax_relu_hess_factors(A, b, w, x, h, P)
    U = np.zeros((d, 2))
    for j in range(d):
        for k in range(d):
            H_out[j, k] = 0.0
    for i in range(n):
        hi = h[i]
        for j in range(d):
            aij = A[i, j]
            U[j, 0] += aij * P[i, 0]
            U[j, 1] += aij * P[i, 1]
            t = hi * aij
            for k in range(j + 1):
                H_out[j, k] += t * A[i, k]
    for j in range(d):
        for k in range(j + 1):
            # U C U^T with C = [[gamma, 1], [1, 0]].
            lr = (gamma * U[j, 0] * U[k, 0] + U[j, 0] * U[k, 1] + U[j, 1] * U[k, 0])
            H_out[j, k] += lr
            H_out[k, j] = H_out[j, k]


@jit
def softmax_relu_hvp(A, b, w, x, v, out):
    """out = hess L(x) v (d,) in two sweeps over A; see the reference twin."""
    n, d = A.shape
    h = np.empty(n)
    P = np.empty((n, 2))
    gamma = softmax_relu_hess_factors(A, b, w, x, h, P)
    t = np.empty(n)
    q0 = 0.0
    q1 = 0.0
    for i in range(n):
        acc = 0.0
        for j in range(d):
            acc += A[i, j] * v[j]
        t[i] = acc
        q0 += P[i, 0] * acc
        q1 += P[i, 1] * acc
    c0 = gamma * q0 + q1
    c1 = q0
    for i in range(n):
        t[i] = h[i] * t[i] + P[i, 0] * c0 + P[i, 1] * c1
    _rmatvec(A, t, out)
