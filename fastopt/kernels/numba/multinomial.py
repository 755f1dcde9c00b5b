# Over 500 lines: one loss per module, as the Cython twin: the tile pieces, the dense and
# CSR chunk loops and the ten public kernels share the mode constants and the chunking.
"""Multinomial (softmax) logistic regression kernels, compiled with Numba.

Same names, signatures and mathematics as the NumPy twin
``fastopt/kernels/reference/multinomial.py`` (read its docstring for the model, the
feature-major layout of ``w`` and the shape of ``work``). Every kernel makes ONE pass
over the rows of X: it forms the rows' K logits, turns them into weighted residuals
r_i (sw_i (p_i - e_{c_i}) for the gradient, sw_i (p_i o u_i - p_i <p_i, u_i>) for the
Hessian product) and adds a~_i r_i^T into the chunk's own partial gradient. Nothing of
size m x K is materialized, except the probabilities the ``_proba`` kernels are asked
to keep.

Dense X is taken in tiles of four rows, because a row at a time is bound by loads and
stores: each multiply-add of z_i = W^T a_i or of G += a_i r_i^T also loads (and for G
stores) an entry of W or G, and the K-long inner loops are too short for LLVM to
vectorize well. Numba gives us LLVM's loop vectorizer only (no SLP vectorizer, no vector
types), so the tile's loops are arranged for it, with the long dimension n innermost:

* logits: W[:n]^T is copied once per pass to a (K, n) array, so that each logit is a dot
  product of two contiguous rows. A loop over j computes the eight dot products of four
  rows and two classes at once; LLVM vectorizes it along j with the eight sums in
  registers (six vector loads per eight multiply-adds), then adds the intercepts;
* softmax: each row's maximum is subtracted, so that every exponent is <= 0, then ONE
  loop applies :func:`~fastopt.kernels.numba._vecmath.exp_nonpositive` (a polynomial
  LLVM vectorizes; libm's ``exp`` is a scalar call per class) to the tile's 4 K shifted
  logits; one ``log`` per row gives the loss, log(sum exp(z - z_max)) - (z_c - z_max);
* gradient: the chunk's partial gradient is kept transposed, G^T of shape (K, n + 1)
  with the intercepts in column n, so that G^T[k, :] += sum_r r_{rk} a~_r runs along
  contiguous rows of X and G^T: each entry of G^T is loaded and stored once per four rows
  and receives the rows in order. It is copied, untransposed, into the chunk's row of
  ``work`` at the end of the chunk.

The last tile of a chunk may have fewer than four rows; those rows (and every row when
K < 2) take the same steps one row at a time. Tiles start at the chunk's first row, so a
chunk's result depends on its rows only. The logits are summed in another order than
the row-at-a-time sum b_k + a_0 W[0, k] + a_1 W[1, k] + ..., and the exp is a
polynomial (about 1e-15 relative to libm's), so results agree with the reference to
rounding, not bitwise. The tile's scratch (two 4 K tiles and G^T) is allocated once per
chunk inside the ``prange`` body, thread-local, so the shape of ``work`` stays the one
shared with the other backends; its per-row columns are unused by the dense pass.

CSR rows keep the row-at-a-time loop (the nonzeros of four rows do not line up), with
the same vectorized exp per row.

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
from ._vecmath import FASTMATH_ORDERED, exp_nonpositive

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


@jit(fastmath=set(FASTMATH_ORDERED))
def _exp_(Z, nz):
    """Z[:nz] = exp(Z[:nz]) for nonpositive entries: one loop LLVM vectorizes.

    Compiled without ``reassoc``, as the functions of ``_vecmath``, so that nothing of
    the polynomial can be refolded once LLVM inlines it here.
    """
    for e in range(nz):
        Z[e] = exp_nonpositive(Z[e])


@jit
def _softmax_rows_(Z, R, K, y, i, sw, with_loss):
    """Overwrite the R rows of logits Z[r K: (r+1) K] with their softmax probabilities.

    Return sum_r sw_{i+r} (logsumexp(z_r) - z_{r, c}), c = y[i + r], when ``with_loss``
    (else 0). Each row's maximum is subtracted first, so every exponent is <= 0 and the
    loss is log(sum exp(z - z_max)) - (z_c - z_max): stable for any finite logits. The R K
    exponentials are one vectorized loop.
    """
    loss = 0.0
    for r in range(R):
        o = r * K
        zmax = Z[o]
        for k in range(1, K):
            if Z[o + k] > zmax:
                zmax = Z[o + k]
        for k in range(K):
            Z[o + k] -= zmax
        if with_loss:
            loss -= sw[i + r] * Z[o + y[i + r]]
    _exp_(Z, R * K)
    for r in range(R):
        o = r * K
        s = 0.0
        for k in range(K):
            s += Z[o + k]
        if with_loss:
            loss += sw[i + r] * math.log(s)
        inv = 1.0 / s
        for k in range(K):
            Z[o + k] *= inv
    return loss


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


# ---------------------------------------------------------------- dense tiles


@jit
def _coef_by_class(c, n, K):
    """W[:n]^T as a C-contiguous (K, n) array: class k's weights are row k."""
    CT = np.empty((K, n))
    for j in range(n):
        for k in range(K):
            CT[k, j] = c[j * K + k]
    return CT


@jit
def _logits_rows4(X, i, CT, c, n, K, has_b, Z):
    """Z[r K + k] = z_{i+r, k} for the four rows i .. i+3; needs K >= 2.

    Classes in pairs, the last pair overlapping the one before it when K is odd (both
    compute the same sums). Each pair is eight dot products over j in one loop, which LLVM
    vectorizes along j with the sums in registers: six loads per eight multiply-adds.
    """
    for k0 in range(0, K, 2):
        k = min(k0, K - 2)
        s00 = 0.0
        s01 = 0.0
        s10 = 0.0
        s11 = 0.0
        s20 = 0.0
        s21 = 0.0
        s30 = 0.0
        s31 = 0.0
        for j in range(n):
            w0 = CT[k, j]
            w1 = CT[k + 1, j]
            a0 = float(X[i, j])
            a1 = float(X[i + 1, j])
            a2 = float(X[i + 2, j])
            a3 = float(X[i + 3, j])
            s00 += a0 * w0
            s01 += a0 * w1
            s10 += a1 * w0
            s11 += a1 * w1
            s20 += a2 * w0
            s21 += a2 * w1
            s30 += a3 * w0
            s31 += a3 * w1
        b0 = c[n * K + k] if has_b else 0.0
        b1 = c[n * K + k + 1] if has_b else 0.0
        Z[k] = b0 + s00
        Z[k + 1] = b1 + s01
        Z[K + k] = b0 + s10
        Z[K + k + 1] = b1 + s11
        Z[2 * K + k] = b0 + s20
        Z[2 * K + k + 1] = b1 + s21
        Z[3 * K + k] = b0 + s30
        Z[3 * K + k + 1] = b1 + s31


@jit
def _logits_row(X, i, CT, c, n, K, has_b, Z, o):
    """Z[o + k] = z_{i, k} for the single row i (tiles of fewer than four rows)."""
    for k in range(K):
        s = 0.0
        for j in range(n):
            s += float(X[i, j]) * CT[k, j]
        Z[o + k] = (c[n * K + k] if has_b else 0.0) + s


@jit
def _scatter_rows4(X, i, Rz, n, K, has_b, GT):
    """GT[k, j] += sum_r a~_{i+r, j} Rz[r K + k] for the four rows i .. i+3, in row order.

    The loop over j runs along rows of X and of GT, both contiguous: four loads of X, one
    load and one store of GT per four multiply-adds, vectorized along j.
    """
    for k in range(K):
        r0 = Rz[k]
        r1 = Rz[K + k]
        r2 = Rz[2 * K + k]
        r3 = Rz[3 * K + k]
        for j in range(n):
            g = GT[k, j]
            g += float(X[i, j]) * r0
            g += float(X[i + 1, j]) * r1
            g += float(X[i + 2, j]) * r2
            g += float(X[i + 3, j]) * r3
            GT[k, j] = g
        if has_b:
            GT[k, n] += r0
            GT[k, n] += r1
            GT[k, n] += r2
            GT[k, n] += r3


@jit
def _scatter_row(X, i, Rz, o, n, K, has_b, GT):
    """GT[k, j] += a~_{i, j} Rz[o + k] for the single row i."""
    for k in range(K):
        rk = Rz[o + k]
        for j in range(n):
            GT[k, j] += float(X[i, j]) * rk
        if has_b:
            GT[k, n] += rk


@jit
def _logits_tile(X, i, R, CT, c, n, K, has_b, Z):
    """Z[r K + k] = z_{i+r, k} for the R <= 4 rows of a tile (C^T = CT, intercepts in c)."""
    if R == 4 and K >= 2:
        _logits_rows4(X, i, CT, c, n, K, has_b, Z)
    else:
        for r in range(R):
            _logits_row(X, i + r, CT, c, n, K, has_b, Z, r * K)


@jit
def _scatter_tile(X, i, R, Rz, n, K, has_b, GT):
    """G^T += sum_r Rz[r K: (r+1) K] a~_{i+r}^T for the R <= 4 rows of a tile."""
    if R == 4:
        _scatter_rows4(X, i, Rz, n, K, has_b, GT)
    else:
        for r in range(R):
            _scatter_row(X, i + r, Rz, r * K, n, K, has_b, GT)


# ---------------------------------------------------------------- dense kernels


@jit
def _dense_tile(X, i, R, y, sw, CW, w, CV, v, proba, n, K, has_b, GT, Z, U, mode):
    """Rows i .. i+R-1 (R <= 4) of one pass: the tile's loss returned, GT updated."""
    loss = 0.0
    if mode != 4:
        _logits_tile(X, i, R, CW, w, n, K, has_b, Z)
        loss = _softmax_rows_(Z, R, K, y, i, sw, mode != 3)
        if mode == 0:
            return loss
        if mode <= 2:
            for r in range(R):
                o = r * K
                swi = sw[i + r]
                if mode == 2:
                    for k in range(K):
                        proba[i + r, k] = Z[o + k]
                for k in range(K):
                    Z[o + k] *= swi
                Z[o + y[i + r]] -= swi
            _scatter_tile(X, i, R, Z, n, K, has_b, GT)
            return loss
    else:
        for r in range(R):
            for k in range(K):
                Z[r * K + k] = proba[i + r, k]
    _logits_tile(X, i, R, CV, v, n, K, has_b, U)
    for r in range(R):
        _hess_residual_(Z[r * K:(r + 1) * K], U[r * K:(r + 1) * K], sw[i + r], K)
    _scatter_tile(X, i, R, U, n, K, has_b, GT)
    return loss


def _dense_pass_py(X, y, sw, w, v, proba, lam, K, out, work, mode):
    """One pass over dense X. mode 0: loss; 1: loss+grad; 2: loss+grad+proba;
    3: hvp at w (v given); 4: hvp from proba (v given)."""
    m, n = X.shape
    P = out.shape[0]
    has_b = P == (n + 1) * K
    T = work.shape[0]
    # W[:n]^T and V[:n]^T, rows of classes (only those the mode reads: mode 4 has no W)
    CW = _coef_by_class(w, n, K if mode != 4 else 0)
    CV = _coef_by_class(v, n, K if mode >= 3 else 0)
    for t in prange(T):
        lo = t * m // T
        hi = (t + 1) * m // T
        # thread-local scratch, once per chunk: the tile's logits (then probabilities and
        # residuals), its V^T a~ and the chunk's partial gradient, transposed
        Z = np.empty(4 * K)
        U = np.empty(4 * K)
        GT = np.zeros((K, n + 1))
        loss = 0.0
        for i in range(lo, hi, 4):
            loss += _dense_tile(X, i, min(4, hi - i), y, sw, CW, w, CV, v, proba, n, K,
                                has_b, GT, Z, U, mode)
        if mode != 0:  # G^T back to the feature-major layout of w (column n: intercepts)
            for j in range(P // K):
                for k in range(K):
                    work[t, j * K + k] = GT[k, j]
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
                loss += _softmax_rows_(z, 1, K, y, i, sw, True)
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
                    _softmax_rows_(z, 1, K, y, i, sw, False)
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
