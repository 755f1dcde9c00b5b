"""Numba CPU kernels for the objective-independent products with the data matrix.

With ``A~ = [A, 1]`` when the vector argument has ``p = n + 1`` entries (intercept):

.. math::

    \\text{matvec: } z = A w_{:n} + w_n, \\qquad
    \\text{rmatvec: } (A^T u, \\textstyle\\sum_i u_i), \\qquad
    \\text{weighted\\_hvp: } \\tilde A^T \\operatorname{diag}(d) \\tilde A v + \\lambda v_{:n}

    \\text{weighted\\_gram: } \\tilde A^T \\operatorname{diag}(d) \\tilde A + \\lambda I_n,
    \\qquad \\text{max\\_eig\\_gram: } \\lambda_{\\max}(A^T \\operatorname{diag}(d) A)

Reductions over rows use ``T = work.shape[0]`` contiguous chunks with per-chunk partials
added in order, T fixed by the data's size (``fastopt._config.n_chunks``), so the result
is the same for any thread count: the threads only share the chunks.
:func:`weighted_gram` works on blocks of ``_GRAM_BLOCK`` rows: each block is transposed
into a float64 scratch ``Xt`` (p, B) with the intercept as a row of ones, scaled into
``Yt = Xt diag(d)``, and the upper triangle of ``Xt Yt^T`` is added to the chunk's own
p x p partial with a 4-row register tile, so each loaded ``Yt`` element feeds four
multiply-adds. ``T = fastopt._config.gram_chunks(...)`` (from m, p and the multiply-adds,
never the thread count) partials of p x p doubles are allocated, never m x n.
:func:`weighted_gram_csr` picks, from the work of each, between scattered sparse outer
products (4-row tiles) and the same dense blocks filled from the CSR rows.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from fastopt import _config
from fastopt._config import jit, jit_parallel

from ._linear import (
    HESSW,
    HVP_WEIGHTED,
    PREDICT,
    RMATVEC,
    hvp_run,
    hvp_run_csr,
    no_rows,
    no_work,
    rows_run,
    rows_run_csr,
)
from ._rowops import add_l2, chunk_start, csr_chunk_start, reduce_chunks, use_serial
from ._stack import chunk_partials

__all__ = [
    "matvec",
    "rmatvec",
    "weighted_hvp",
    "weighted_gram",
    "max_eig_gram",
    "matvec_csr",
    "rmatvec_csr",
    "weighted_hvp_csr",
    "weighted_gram_csr",
    "max_eig_gram_csr",
]

#: Rows per block in :func:`weighted_gram`: Xt and Yt (2 p B doubles) stay in L2 for
#: p up to about a thousand.
_GRAM_BLOCK = 64


# --- dense -------------------------------------------------------------------------------


#: Rows per chunk of :func:`matvec` (no reduction: any chunking gives the same result).
_MAP_CHUNK_ROWS = 8192


@jit
def _map_chunks(m):
    return max(1, min(m // _MAP_CHUNK_ROWS, 1024))


@jit
def matvec(X, w, z_out):
    """``z_out = X w[:n] (+ w[n])``, shape (m,); rows are independent (no reduction)."""
    T = _map_chunks(X.shape[0])
    # z_out stands in for y and sw, which the PREDICT kind never reads
    rows_run(np.int64(PREDICT | HESSW), X, z_out, z_out, w, no_rows(), 1.0, z_out,
             no_work(w.shape[0]), T, chunk_partials(T))


@jit
def rmatvec(X, u, out, work):
    """``out[:n] = X^T u`` and ``out[n] = sum(u)`` when ``out`` has n + 1 entries."""
    # out stands in for w and v, which RMATVEC never reads
    hvp_run(np.int64(RMATVEC), X, u, out, out, work)
    reduce_chunks(work, out)


@jit
def weighted_hvp(X, d, v, lam, out, work):
    """``out = X~^T diag(d) X~ v + lam v[:n]`` in one pass (dots, then axpys per block)."""
    hvp_run(np.int64(HVP_WEIGHTED), X, d, v, v, work)
    reduce_chunks(work, out)
    add_l2(out, v, X.shape[1], lam)


@jit
def _gram_block_update(Xt, Yt, c, nb, p, P):
    """``P[c, a, b] += sum_k Xt[c, a, k] Yt[c, b, k]`` for b >= a (4 rows of a at a time).

    Entries below the diagonal inside a 4 x 4 diagonal tile are also written; only the
    upper triangle is read later.
    """
    a0 = 0
    while a0 + 4 <= p:
        for b in range(a0, p):
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            for k in range(nb):
                yk = Yt[c, b, k]
                s0 += Xt[c, a0, k] * yk
                s1 += Xt[c, a0 + 1, k] * yk
                s2 += Xt[c, a0 + 2, k] * yk
                s3 += Xt[c, a0 + 3, k] * yk
            P[c, a0, b] += s0
            P[c, a0 + 1, b] += s1
            P[c, a0 + 2, b] += s2
            P[c, a0 + 3, b] += s3
        a0 += 4
    for a in range(a0, p):
        for b in range(a, p):
            s = 0.0
            for k in range(nb):
                s += Xt[c, a, k] * Yt[c, b, k]
            P[c, a, b] += s


@jit
def _symmetrize_partials(P, n, lam, H_out):
    """``H_out = sum_c upper(P[c])`` mirrored to the lower triangle, plus ``lam`` on diag[:n]."""
    p = H_out.shape[0]
    for a in range(p):
        for b in range(a, p):
            s = 0.0
            for c in range(P.shape[0]):
                s += P[c, a, b]
            H_out[a, b] = s
            H_out[b, a] = s
    for a in range(n):
        H_out[a, a] += lam


def weighted_gram(X, d, lam, H_out):
    """``H_out = X~^T diag(d) X~ + lam I_n`` (p, p), blocked and threaded.

    Parameters
    ----------
    X : ndarray of shape (m, n)
    d : ndarray of shape (m,), float64
    lam : float, added to the first n diagonal entries (never the intercept's)
    H_out : ndarray of shape (p, p), float64, overwritten; p = n or n + 1
    """
    # the chunk count is decided here, from the data's size only (same bits for any thread
    # count); a Python-level call keeps the jitted kernel free of it
    m = X.shape[0]
    p = H_out.shape[0]
    T = _config.gram_chunks(m, p, m * (p * (p + 1) // 2), _GRAM_BLOCK)
    _weighted_gram_dense(X, d, lam, H_out, T)


@jit
def _gram_chunk(X, d, P, Xt, Yt, c, n_chunks):
    m, n = X.shape
    p = P.shape[1]
    B = _GRAM_BLOCK
    stop = chunk_start(m, n_chunks, c + 1)
    i0 = chunk_start(m, n_chunks, c)
    while i0 < stop:
        nb = min(B, stop - i0)
        for k in range(nb):
            dk = d[i0 + k]
            for a in range(n):
                x = np.float64(X[i0 + k, a])
                Xt[c, a, k] = x
                Yt[c, a, k] = dk * x
            if p > n:
                Xt[c, n, k] = 1.0
                Yt[c, n, k] = dk
        _gram_block_update(Xt, Yt, c, nb, p, P)
        i0 += nb


@jit_parallel
def _gram_parallel(X, d, P, Xt, Yt, n_chunks):
    for c in prange(n_chunks):
        _gram_chunk(X, d, P, Xt, Yt, c, n_chunks)


@jit
def _gram_serial(X, d, P, Xt, Yt, n_chunks):
    for c in range(n_chunks):
        _gram_chunk(X, d, P, Xt, Yt, c, n_chunks)


@jit
def _weighted_gram_dense(X, d, lam, H_out, n_chunks):
    m, n = X.shape
    p = H_out.shape[0]
    P = np.zeros((n_chunks, p, p))
    Xt = np.empty((n_chunks, p, _GRAM_BLOCK))
    Yt = np.empty((n_chunks, p, _GRAM_BLOCK))
    # the block update costs p^2 / 2 per row, not n: that is the work that pays a thread
    if use_serial(m * p * p // 2, n_chunks):
        _gram_serial(X, d, P, Xt, Yt, n_chunks)
    else:
        _gram_parallel(X, d, P, Xt, Yt, n_chunks)
    _symmetrize_partials(P, n, lam, H_out)


@jit
def _norm(v, n):
    s = 0.0
    for j in range(n):
        s += v[j] * v[j]
    return math.sqrt(s)


@jit
def max_eig_gram(X, d, v0, max_iter, tol, work):
    """``lambda_max(X^T diag(d) X)`` (p = n) by power iteration on :func:`weighted_hvp`.

    ``v = v0 / ||v0||`` (``v0`` (n,) is copied; the all-ones direction if it is zero);
    repeat ``u = H v``, ``rho = <v, u>``, ``v = u / ||u||`` until
    ``|rho - rho_prev| <= tol |rho|`` or ``max_iter`` products. ``work`` is (T, n).
    Returns the last Rayleigh quotient (0 when ``H v = 0``).
    """
    n = X.shape[1]
    v = np.empty(n)
    u = np.empty(n)
    norm = _norm(v0, n)
    for j in range(n):
        v[j] = v0[j] / norm if norm > 0.0 else 1.0 / math.sqrt(n)
    rho = 0.0
    for _ in range(max_iter):
        weighted_hvp(X, d, v, 0.0, u, work)
        rho_prev = rho
        rho = 0.0
        for j in range(n):
            rho += v[j] * u[j]
        norm = _norm(u, n)
        if norm == 0.0:
            return 0.0
        for j in range(n):
            v[j] = u[j] / norm
        if abs(rho - rho_prev) <= tol * abs(rho):
            break
    return rho


# --- CSR ---------------------------------------------------------------------------------


@jit
def matvec_csr(data, indices, indptr, n_features, w, z_out):
    """CSR twin of :func:`matvec`."""
    T = _map_chunks(indptr.shape[0] - 1)
    rows_run_csr(np.int64(PREDICT | HESSW), data, indices, indptr, n_features, z_out, z_out, w,
                 no_rows(), 1.0, z_out, no_work(w.shape[0]), T, chunk_partials(T))


@jit
def rmatvec_csr(data, indices, indptr, n_features, u, out, work):
    """CSR twin of :func:`rmatvec`."""
    hvp_run_csr(np.int64(RMATVEC), data, indices, indptr, n_features, u, out, out, work)
    reduce_chunks(work, out)


@jit
def weighted_hvp_csr(data, indices, indptr, n_features, d, v, lam, out, work):
    """CSR twin of :func:`weighted_hvp`."""
    hvp_run_csr(np.int64(HVP_WEIGHTED), data, indices, indptr, n_features, d, v, v, work)
    reduce_chunks(work, out)
    add_l2(out, v, n_features, lam)


def weighted_gram_csr(data, indices, indptr, n_features, d, lam, H_out):
    """CSR twin of :func:`weighted_gram`.

    Two algorithms, picked per call by :func:`_csr_gram_plan` from the work each
    would do (both give the same bits for any thread count: the chunks are fixed by the
    data's size):

    * sparse: per row, the upper triangle of the sparse outer product ``d_i a~_i a~_i^T``
      (``nnz_i (nnz_i + 1) / 2`` scattered multiply-adds), four outer-product rows at a
      time so that each loaded nonzero feeds four updates;
    * dense blocks: when rows are dense enough (ijcnn1: 13 of 22 columns), blocks of
      ``_GRAM_BLOCK`` rows are scattered into the transposed float64 scratch of
      :func:`weighted_gram` and go through its vectorized register-tiled update, whose
      ``p (p + 1) / 2`` multiply-adds per row are several times cheaper each than a
      scattered one.
    """
    m = indptr.shape[0] - 1
    p = H_out.shape[0]
    pairs = _csr_gram_pairs(indptr, np.int64(p > n_features))
    T = _config.gram_chunks(m, p, pairs, _GRAM_BLOCK)
    _weighted_gram_csr(data, indices, indptr, n_features, d, lam, H_out, T)


#: A dense-block multiply-add costs about this many times less than a scattered sparse one
#: (one core, ijcnn1, block filling included), so dense
#: blocks win when ``m p (p + 1) / 2 <= _DENSE_BLOCK_GAIN * sum_i nnz_i (nnz_i + 1) / 2``.
_DENSE_BLOCK_GAIN = 3


@jit
def _csr_gram_pairs(indptr, has_b):
    """``sum_i k_i (k_i + 1) / 2`` with ``k_i = nnz_i (+ 1 for the intercept)``: the
    multiply-adds of the sparse algorithm (exact, not ``nnz^2 / m``: row lengths can be
    heavy-tailed, as in w8a)."""
    s = 0
    for i in range(indptr.shape[0] - 1):
        k = indptr[i + 1] - indptr[i] + has_b
        s += k * (k + 1) // 2
    return s


@jit
def _csr_gram_plan(indptr, n_features, p):
    """``(dense, work)``: whether :func:`weighted_gram_csr` uses dense blocks (see its
    docstring) and the sparse-multiply-add equivalent of the work it will do."""
    m = indptr.shape[0] - 1
    pairs = _csr_gram_pairs(indptr, np.int64(p > n_features))
    dense_work = m * (p * (p + 1) // 2)
    if dense_work <= _DENSE_BLOCK_GAIN * pairs:
        return True, dense_work // _DENSE_BLOCK_GAIN
    return False, pairs


@jit
def _gram_chunk_csr(data, indices, indptr, n, d, P, xs, cs, c, n_chunks):
    """Sparse algorithm over chunk ``c``'s rows into the upper triangle of ``P[c]``.

    Each row is first copied into the chunk's scratch ``xs`` (float64 values) and ``cs``
    (uint64 columns: an unsigned index skips numba's negative-index select on every
    scattered update), with the intercept appended as column n and value 1
    (canonical CSR has sorted columns, so every pair ``s <= t`` lands on or above the
    diagonal). Then rows ``s .. s+3`` of the outer product are updated together: each
    column ``t > s+3`` is loaded once for four multiply-adds (clearly faster than one
    row at a time on a9a and w8a).
    """
    p = P.shape[1]
    Pc = P[c]
    x = xs[c]
    col = cs[c]
    for i in range(csr_chunk_start(indptr, n_chunks, c), csr_chunk_start(indptr, n_chunks, c + 1)):
        lo = indptr[i]
        k = indptr[i + 1] - lo
        di = d[i]
        for t in range(k):
            x[t] = data[lo + t]
            col[t] = indices[lo + t]
        if p > n:
            x[k] = 1.0
            col[k] = n
            k += 1
        s = 0
        while s + 4 <= k:
            r0 = Pc[col[s]]
            r1 = Pc[col[s + 1]]
            r2 = Pc[col[s + 2]]
            r3 = Pc[col[s + 3]]
            x0 = di * x[s]
            x1 = di * x[s + 1]
            x2 = di * x[s + 2]
            x3 = di * x[s + 3]
            # the 4 x 4 upper triangle of the tile
            for t in range(s, s + 4):
                r0[col[t]] += x0 * x[t]
            for t in range(s + 1, s + 4):
                r1[col[t]] += x1 * x[t]
            for t in range(s + 2, s + 4):
                r2[col[t]] += x2 * x[t]
            r3[col[s + 3]] += x3 * x[s + 3]
            for t in range(s + 4, k):
                ct = col[t]
                xt = x[t]
                r0[ct] += x0 * xt
                r1[ct] += x1 * xt
                r2[ct] += x2 * xt
                r3[ct] += x3 * xt
            s += 4
        while s < k:
            r0 = Pc[col[s]]
            x0 = di * x[s]
            for t in range(s, k):
                r0[col[t]] += x0 * x[t]
            s += 1


@jit
def _gram_chunk_csr_dense(data, indices, indptr, n, d, P, Xt, Yt, c, n_chunks):
    """Dense-block algorithm over chunk ``c``'s rows into the upper triangle of ``P[c]``.

    Per block of rows: ``Xt[c]`` (p, B) is zeroed and the block's nonzeros scattered in
    (the intercept as a row of ones), ``Yt[c] = Xt[c] diag(d)`` row by row (contiguous,
    vectorized), then :func:`_gram_block_update`.
    """
    p = P.shape[1]
    B = _GRAM_BLOCK
    X = Xt[c]
    Y = Yt[c]
    stop = csr_chunk_start(indptr, n_chunks, c + 1)
    i0 = csr_chunk_start(indptr, n_chunks, c)
    while i0 < stop:
        nb = min(B, stop - i0)
        X[:, :] = 0.0
        for k in range(nb):
            for jj in range(indptr[i0 + k], indptr[i0 + k + 1]):
                X[indices[jj], k] = data[jj]
            if p > n:
                X[n, k] = 1.0
        for a in range(p):
            for k in range(nb):
                Y[a, k] = d[i0 + k] * X[a, k]
        _gram_block_update(Xt, Yt, c, nb, p, P)
        i0 += nb


@jit_parallel
def _gram_parallel_csr(data, indices, indptr, n, d, P, xs, cs, Xt, Yt, dense, n_chunks):
    for c in prange(n_chunks):
        if dense:
            _gram_chunk_csr_dense(data, indices, indptr, n, d, P, Xt, Yt, c, n_chunks)
        else:
            _gram_chunk_csr(data, indices, indptr, n, d, P, xs, cs, c, n_chunks)


@jit
def _gram_serial_csr(data, indices, indptr, n, d, P, xs, cs, Xt, Yt, dense, n_chunks):
    for c in range(n_chunks):
        if dense:
            _gram_chunk_csr_dense(data, indices, indptr, n, d, P, Xt, Yt, c, n_chunks)
        else:
            _gram_chunk_csr(data, indices, indptr, n, d, P, xs, cs, c, n_chunks)


@jit
def _weighted_gram_csr(data, indices, indptr, n_features, d, lam, H_out, n_chunks):
    m = indptr.shape[0] - 1
    p = H_out.shape[0]
    P = np.zeros((n_chunks, p, p))
    dense, amount = _csr_gram_plan(indptr, n_features, p)
    if dense:
        Xt = np.empty((n_chunks, p, _GRAM_BLOCK))
        Yt = np.empty((n_chunks, p, _GRAM_BLOCK))
        xs = np.empty((0, 0))
        cs = np.empty((0, 0), dtype=np.uint64)
    else:
        Xt = np.empty((0, 0, 0))
        Yt = np.empty((0, 0, 0))
        xs = np.empty((n_chunks, p))
        cs = np.empty((n_chunks, p), dtype=np.uint64)
    # the work that pays a thread is the multiply-adds, not the nonzeros
    if use_serial(m + amount, n_chunks):
        _gram_serial_csr(data, indices, indptr, n_features, d, P, xs, cs, Xt, Yt, dense,
                         n_chunks)
    else:
        _gram_parallel_csr(data, indices, indptr, n_features, d, P, xs, cs, Xt, Yt, dense,
                           n_chunks)
    _symmetrize_partials(P, n_features, lam, H_out)


@jit
def max_eig_gram_csr(data, indices, indptr, n_features, d, v0, max_iter, tol, work):
    """CSR twin of :func:`max_eig_gram`."""
    n = n_features
    v = np.empty(n)
    u = np.empty(n)
    norm = _norm(v0, n)
    for j in range(n):
        v[j] = v0[j] / norm if norm > 0.0 else 1.0 / math.sqrt(n)
    rho = 0.0
    for _ in range(max_iter):
        weighted_hvp_csr(data, indices, indptr, n_features, d, v, 0.0, u, work)
        rho_prev = rho
        rho = 0.0
        for j in range(n):
            rho += v[j] * u[j]
        norm = _norm(u, n)
        if norm == 0.0:
            return 0.0
        for j in range(n):
            v[j] = u[j] / norm
        if abs(rho - rho_prev) <= tol * abs(rho):
            break
    return rho
