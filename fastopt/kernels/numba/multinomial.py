"""Multinomial (softmax) logistic regression kernels, compiled with Numba.

Same names, signatures and mathematics as the NumPy twin
``fastopt/kernels/reference/multinomial.py`` (read its docstring for the model, the
feature-major layout of ``w`` and the shape of ``work``). Every kernel makes ONE pass
over the rows of X: per row it forms the K logits (a contiguous K-vector update per
nonzero), turns them into the weighted residual in place, and scatters the residual into
the chunk's own partial gradient. Nothing of size m x K is materialized, except the
probabilities the ``_proba`` kernels are asked to keep.

Threads: rows are split into T = ``work.shape[0]`` contiguous chunks, one ``prange``
iteration each, each reducing into its own row of ``work``; the rows are then summed in
chunk order, so results depend on T only. T is fixed by the data's size
(:func:`fastopt._config.n_chunks`), so they are the same for any thread count. Float32 X is
read as is and every product is accumulated in float64.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ..._config import PARALLEL_MIN_WORK, jit, jit_parallel

__all__ = [
    "multinomial_loss",
    "multinomial_loss_csr",
    "multinomial_loss_grad",
    "multinomial_loss_grad_csr",
    "multinomial_loss_grad_proba",
    "multinomial_loss_grad_proba_csr",
    "multinomial_hvp",
    "multinomial_hvp_csr",
    "multinomial_hvp_proba",
    "multinomial_hvp_proba_csr",
]


# ---------------------------------------------------------------- per-row pieces


@jit
def _logits_dense(X, i, w, n, K, has_b, z):
    """z = W[:n]^T a_i (+ W[n]) for dense row i."""
    if has_b:
        for k in range(K):
            z[k] = w[n * K + k]
    else:
        for k in range(K):
            z[k] = 0.0
    for j in range(n):
        a = float(X[i, j])
        base = j * K
        for k in range(K):
            z[k] += a * w[base + k]


@jit
def _logits_csr(data, indices, indptr, i, w, n, K, has_b, z):
    """z = W[:n]^T a_i (+ W[n]) for CSR row i."""
    if has_b:
        for k in range(K):
            z[k] = w[n * K + k]
    else:
        for k in range(K):
            z[k] = 0.0
    for jj in range(indptr[i], indptr[i + 1]):
        a = float(data[jj])
        base = indices[jj] * K
        for k in range(K):
            z[k] += a * w[base + k]


@jit
def _softmax_(z, K, c):
    """Overwrite the logits z with softmax(z); return logsumexp(z) - z_c, stably.

    Written as (z_max - z_c) + log(sum exp(z - z_max)): every exponent is <= 0 and no
    large numbers are subtracted from each other, for any finite logits.
    """
    zmax = z[0]
    for k in range(1, K):
        if z[k] > zmax:
            zmax = z[k]
    zc = z[c]
    s = 0.0
    for k in range(K):
        e = math.exp(z[k] - zmax)
        z[k] = e
        s += e
    inv = 1.0 / s
    for k in range(K):
        z[k] *= inv
    return (zmax - zc) + math.log(s)


@jit
def _scatter_dense(X, i, n, K, has_b, r, G):
    """G += a~_i r^T (flattened feature-major)."""
    for j in range(n):
        a = float(X[i, j])
        base = j * K
        for k in range(K):
            G[base + k] += a * r[k]
    if has_b:
        for k in range(K):
            G[n * K + k] += r[k]


@jit
def _scatter_csr(data, indices, indptr, i, n, K, has_b, r, G):
    """G += a~_i r^T for CSR row i."""
    for jj in range(indptr[i], indptr[i + 1]):
        a = float(data[jj])
        base = indices[jj] * K
        for k in range(K):
            G[base + k] += a * r[k]
    if has_b:
        for k in range(K):
            G[n * K + k] += r[k]


@jit
def _hess_residual_(p, u, swi, K):
    """Overwrite u with sw_i (p o u - p <p, u>): row i's part of the Hessian product."""
    pu = 0.0
    for k in range(K):
        pu += p[k] * u[k]
    for k in range(K):
        u[k] = swi * p[k] * (u[k] - pu)


@jit
def _reduce_grad(w, lam, n, K, out, work):
    """out = sum of the chunks' partial gradients, in chunk order, + lam W[:n]."""
    T = work.shape[0]
    P = out.shape[0]
    for q in range(P):
        acc = 0.0
        for t in range(T):
            acc += work[t, q]
        out[q] = acc
    for q in range(n * K):
        out[q] += lam * w[q]


@jit
def _total_loss(w, lam, n, K, work, loss_col):
    """Sum of the chunks' partial losses, in chunk order, + lam/2 ||W[:n]||^2."""
    f = 0.0
    for t in range(work.shape[0]):
        f += work[t, loss_col]
    reg = 0.0
    for q in range(n * K):
        reg += w[q] * w[q]
    return f + 0.5 * lam * reg


# ---------------------------------------------------------------- dense kernels


def _dense_pass_py(X, y, sw, w, v, proba, lam, K, out, work, mode):
    """One pass over dense X. mode 0: loss; 1: loss+grad; 2: loss+grad+proba;
    3: hvp at w (v given); 4: hvp from proba (v given)."""
    m, n = X.shape
    P = out.shape[0]
    has_b = P == (n + 1) * K
    T = work.shape[0]
    for t in prange(T):
        lo = t * m // T
        hi = (t + 1) * m // T
        G = work[t, :P]
        z = work[t, P:P + K]
        u = work[t, P + K:P + 2 * K]
        if mode != 0:
            G[:] = 0.0
        loss = 0.0
        for i in range(lo, hi):
            swi = sw[i]
            if mode <= 2:
                _logits_dense(X, i, w, n, K, has_b, z)
                c = y[i]
                loss += swi * _softmax_(z, K, c)
                if mode == 0:
                    continue
                if mode == 2:
                    for k in range(K):
                        proba[i, k] = z[k]
                for k in range(K):
                    z[k] *= swi
                z[c] -= swi
                _scatter_dense(X, i, n, K, has_b, z, G)
            else:
                _logits_dense(X, i, v, n, K, has_b, u)
                if mode == 3:
                    _logits_dense(X, i, w, n, K, has_b, z)
                    _softmax_(z, K, 0)
                else:
                    for k in range(K):
                        z[k] = proba[i, k]
                _hess_residual_(z, u, swi, K)
                _scatter_dense(X, i, n, K, has_b, u, G)
        work[t, P + 2 * K] = loss


def _csr_pass_py(data, indices, indptr, n, y, sw, w, v, proba, lam, K, out, work, mode):
    """CSR twin of :func:`_dense_pass_py`."""
    m = indptr.shape[0] - 1
    P = out.shape[0]
    has_b = P == (n + 1) * K
    T = work.shape[0]
    for t in prange(T):
        lo = t * m // T
        hi = (t + 1) * m // T
        G = work[t, :P]
        z = work[t, P:P + K]
        u = work[t, P + K:P + 2 * K]
        if mode != 0:
            G[:] = 0.0
        loss = 0.0
        for i in range(lo, hi):
            swi = sw[i]
            if mode <= 2:
                _logits_csr(data, indices, indptr, i, w, n, K, has_b, z)
                c = y[i]
                loss += swi * _softmax_(z, K, c)
                if mode == 0:
                    continue
                if mode == 2:
                    for k in range(K):
                        proba[i, k] = z[k]
                for k in range(K):
                    z[k] *= swi
                z[c] -= swi
                _scatter_csr(data, indices, indptr, i, n, K, has_b, z, G)
            else:
                _logits_csr(data, indices, indptr, i, v, n, K, has_b, u)
                if mode == 3:
                    _logits_csr(data, indices, indptr, i, w, n, K, has_b, z)
                    _softmax_(z, K, 0)
                else:
                    for k in range(K):
                        z[k] = proba[i, k]
                _hess_residual_(z, u, swi, K)
                _scatter_csr(data, indices, indptr, i, n, K, has_b, u, G)
        work[t, P + 2 * K] = loss


# Each pass is compiled twice from the same source: threaded, and serial (prange runs as
# range) for small problems, where opening a parallel region costs more than the pass
# (``_config.PARALLEL_MIN_WORK``). Both visit the same chunks in the same order, so the
# result is bitwise the same either way.
_dense_pass_parallel = jit_parallel(_dense_pass_py)
_dense_pass_serial = jit(_dense_pass_py)
_csr_pass_parallel = jit_parallel(_csr_pass_py)
_csr_pass_serial = jit(_csr_pass_py)


@jit
def _dense_pass(X, y, sw, w, v, proba, lam, K, out, work, mode):
    if X.shape[0] * X.shape[1] * K < PARALLEL_MIN_WORK:
        _dense_pass_serial(X, y, sw, w, v, proba, lam, K, out, work, mode)
    else:
        _dense_pass_parallel(X, y, sw, w, v, proba, lam, K, out, work, mode)


@jit
def _csr_pass(data, indices, indptr, n, y, sw, w, v, proba, lam, K, out, work, mode):
    if (data.shape[0] + indptr.shape[0]) * K < PARALLEL_MIN_WORK:
        _csr_pass_serial(data, indices, indptr, n, y, sw, w, v, proba, lam, K, out, work, mode)
    else:
        _csr_pass_parallel(data, indices, indptr, n, y, sw, w, v, proba, lam, K, out, work,
                           mode)


# The public kernels below are thin jitted wrappers around one compiled pass per layout;
# the mode constant selects the work done per row, so the kernels share one loop. Unused
# array arguments get empty placeholders of the same types, so each pass compiles once
# per dtype of X.


@jit
def _no_labels():
    return np.empty(0, dtype=np.int64)


@jit
def _no_proba(K):
    return np.empty((0, K), dtype=np.float64)


@jit
def multinomial_loss(X, y, sw, w, lam, n_classes, work):
    """f(W) for dense X (see the reference twin)."""
    K = n_classes
    P = w.shape[0]
    _dense_pass(X, y, sw, w, w, _no_proba(K), lam, K, w, work, 0)
    return _total_loss(w, lam, X.shape[1], K, work, P + 2 * K)


@jit
def multinomial_loss_grad(X, y, sw, w, lam, n_classes, grad_out, work):
    """f(W) returned, grad f(W) into ``grad_out``; one pass over dense X."""
    K = n_classes
    _dense_pass(X, y, sw, w, w, _no_proba(K), lam, K, grad_out, work, 1)
    _reduce_grad(w, lam, X.shape[1], K, grad_out, work)
    return _total_loss(w, lam, X.shape[1], K, work, w.shape[0] + 2 * K)


@jit
def multinomial_loss_grad_proba(X, y, sw, w, lam, n_classes, grad_out, proba_out, work):
    """As :func:`multinomial_loss_grad`, also writing softmax probabilities (m, K)."""
    K = n_classes
    _dense_pass(X, y, sw, w, w, proba_out, lam, K, grad_out, work, 2)
    _reduce_grad(w, lam, X.shape[1], K, grad_out, work)
    return _total_loss(w, lam, X.shape[1], K, work, w.shape[0] + 2 * K)


@jit
def multinomial_hvp(X, y, sw, w, v, lam, n_classes, out, work):
    """H(W) v into ``out``; one pass over dense X."""
    K = n_classes
    _dense_pass(X, y, sw, w, v, _no_proba(K), lam, K, out, work, 3)
    _reduce_grad(v, lam, X.shape[1], K, out, work)


@jit
def multinomial_hvp_proba(X, sw, proba, v, lam, out, work):
    """H v into ``out``, H at the point whose probabilities are ``proba``; one pass, no exp."""
    K = proba.shape[1]
    _dense_pass(X, _no_labels(), sw, v, v, proba, lam, K, out, work, 4)
    _reduce_grad(v, lam, X.shape[1], K, out, work)


# ---------------------------------------------------------------- CSR kernels


@jit
def multinomial_loss_csr(data, indices, indptr, n_features, y, sw, w, lam, n_classes, work):
    """CSR twin of :func:`multinomial_loss`."""
    K = n_classes
    P = w.shape[0]
    _csr_pass(data, indices, indptr, n_features, y, sw, w, w, _no_proba(K), lam, K, w, work, 0)
    return _total_loss(w, lam, n_features, K, work, P + 2 * K)


@jit
def multinomial_loss_grad_csr(data, indices, indptr, n_features, y, sw, w, lam, n_classes,
                              grad_out, work):
    """CSR twin of :func:`multinomial_loss_grad`."""
    K = n_classes
    _csr_pass(data, indices, indptr, n_features, y, sw, w, w, _no_proba(K), lam, K, grad_out,
              work, 1)
    _reduce_grad(w, lam, n_features, K, grad_out, work)
    return _total_loss(w, lam, n_features, K, work, w.shape[0] + 2 * K)


@jit
def multinomial_loss_grad_proba_csr(data, indices, indptr, n_features, y, sw, w, lam,
                                    n_classes, grad_out, proba_out, work):
    """CSR twin of :func:`multinomial_loss_grad_proba`."""
    K = n_classes
    _csr_pass(data, indices, indptr, n_features, y, sw, w, w, proba_out, lam, K, grad_out,
              work, 2)
    _reduce_grad(w, lam, n_features, K, grad_out, work)
    return _total_loss(w, lam, n_features, K, work, w.shape[0] + 2 * K)


@jit
def multinomial_hvp_csr(data, indices, indptr, n_features, y, sw, w, v, lam, n_classes, out,
                        work):
    """CSR twin of :func:`multinomial_hvp`."""
    K = n_classes
    _csr_pass(data, indices, indptr, n_features, y, sw, w, v, _no_proba(K), lam, K, out,
              work, 3)
    _reduce_grad(v, lam, n_features, K, out, work)


@jit
def multinomial_hvp_proba_csr(data, indices, indptr, n_features, sw, proba, v, lam, out,
                              work):
    """CSR twin of :func:`multinomial_hvp_proba`."""
    K = proba.shape[1]
    _csr_pass(data, indices, indptr, n_features, _no_labels(), sw, v, v, proba, lam, K, out,
              work, 4)
    _reduce_grad(v, lam, n_features, K, out, work)
