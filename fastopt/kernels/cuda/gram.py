"""CUDA twins of the objective-independent linear-algebra kernels (see the reference twin).

With ``A~ = [A, 1]`` when the vector has ``p = n + 1`` entries:

.. math::

    \\text{matvec: } z = A w_{:n} + w_n, \\qquad
    \\text{rmatvec: } (A^T u, \\textstyle\\sum_i u_i), \\qquad
    \\text{weighted\\_hvp: } \\tilde A^T \\operatorname{diag}(d) \\tilde A v + \\lambda v_{:n}

    \\text{weighted\\_gram: } \\tilde A^T \\operatorname{diag}(d) \\tilde A + \\lambda I_n,
    \\qquad \\text{max\\_eig\\_gram: } \\lambda_{\\max}(A^T \\operatorname{diag}(d) A)

``matvec``, ``rmatvec`` and ``weighted_hvp`` are one pass over X each (the row kernels
of :mod:`._rowwise`); ``weighted_gram`` is a tiled kernel (16 x 16 blocks of H, each
reading its two column strips of X); its CSR twin assembles H from p HVPs (a fallback:
Newton with a dense Hessian on large sparse data is not a GPU use case).
``max_eig_gram`` runs the reference power iteration with device HVPs (X and d moved
once, only p-vectors cross the bus).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import cuda

from . import _rowwise as rw
from ._device import HostBridge, as_device, cuda_work, is_device_array

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

#: Tile edge of :func:`weighted_gram` (blocks of TILE x TILE threads).
TILE = 16


# --- dense -------------------------------------------------------------------------------


def matvec(X, w, z_out):
    """``z_out = X w[:n] (+ w[n])``; X (m, n), w (p,), z_out (m,) float64."""
    rw.call(rw.MATVEC, (X,), None, None, w, None, 0.0, None, z_out, None, 1.0, None, None)


def rmatvec(X, u, out, work):
    """``out[:n] = X^T u`` and ``out[n] = sum(u)`` when ``out`` has n + 1 entries."""
    rw.call(rw.RMATVEC, (X,), None, u, None, None, 0.0, out, None, None, 1.0, work, None)


def weighted_hvp(X, d, v, lam, out, work):
    """``out = X~^T diag(d) X~ v + lam v[:n]`` (p,); one pass over X."""
    rw.call(rw.WHVP, (X,), None, d, None, v, lam, out, None, None, 1.0, work, "hvp")


@cuda.jit(device=True)
def _column(X, r, c, n):
    """Entry (r, c) of X~ = [X, 1]."""
    if c < n:
        return float(X[r, c])
    return 1.0


@cuda.jit
def _gram_kernel(X, d, lam, H):
    a_s = cuda.shared.array((TILE, TILE + 1), dtype=numba.float64)
    b_s = cuda.shared.array((TILE, TILE + 1), dtype=numba.float64)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    m = X.shape[0]
    n = X.shape[1]
    p = H.shape[0]
    j0 = cuda.blockIdx.y * TILE
    k0 = cuda.blockIdx.x * TILE
    acc = 0.0
    for r0 in range(0, m, TILE):
        r = r0 + ty
        a = 0.0
        bb = 0.0
        if r < m:
            if j0 + tx < p:
                a = d[r] * _column(X, r, j0 + tx, n)
            if k0 + tx < p:
                bb = _column(X, r, k0 + tx, n)
        a_s[ty, tx] = a
        b_s[ty, tx] = bb
        cuda.syncthreads()
        for t in range(TILE):
            acc += a_s[t, ty] * b_s[t, tx]
        cuda.syncthreads()
    j = j0 + ty
    k = k0 + tx
    if j < p and k < p:
        if j == k and j < n:
            acc += lam
        H[j, k] = acc


def weighted_gram(X, d, lam, H_out):
    """``H_out = X~^T diag(d) X~ + lam I_n``, shape (p, p), lam not on the intercept."""
    with HostBridge() as hb:
        X_d = hb.input(X)
        d_d = hb.input(d, np.float64)
        H_d = hb.output(H_out)
        p = H_d.shape[0]
        grid = ((p + TILE - 1) // TILE, (p + TILE - 1) // TILE)
        _gram_kernel[grid, (TILE, TILE)](X_d, d_d, float(lam), H_d)


def _power_iteration(hvp, n, v0, max_iter, tol):
    """The reference power iteration (same steps, same stopping rule) over ``hvp(v, u)``."""
    v = np.array(v0 if not is_device_array(v0) else as_device(v0).copy_to_host(),
                 dtype=np.float64)
    norm = np.linalg.norm(v)
    v = v / norm if norm > 0 else np.full(n, 1.0 / np.sqrt(max(n, 1)))
    u = np.empty(n)
    rho = 0.0
    for _ in range(int(max_iter)):
        hvp(v, u)
        rho_prev, rho = rho, float(v @ u)
        norm = np.linalg.norm(u)
        if norm == 0.0:
            return 0.0
        v = u / norm
        if abs(rho - rho_prev) <= tol * abs(rho):
            break
    return rho


def max_eig_gram(X, d, v0, max_iter, tol, work):
    """Largest eigenvalue of ``X^T diag(d) X`` (p = n) by power iteration; v0 (n,) not modified."""
    X_d = as_device(X)
    d_d = as_device(d, np.float64)
    n = X_d.shape[1]
    work = rw.device_work(work, n, X_d.shape[0])
    return _power_iteration(lambda v, u: weighted_hvp(X_d, d_d, v, 0.0, u, work), n, v0,
                            max_iter, tol)


# --- CSR ---------------------------------------------------------------------------------


def matvec_csr(data, indices, indptr, n_features, w, z_out):
    """CSR twin of :func:`matvec`."""
    rw.call(rw.MATVEC, (data, indices, indptr, n_features), None, None, w, None, 0.0, None,
            z_out, None, 1.0, None, None)


def rmatvec_csr(data, indices, indptr, n_features, u, out, work):
    """CSR twin of :func:`rmatvec`."""
    rw.call(rw.RMATVEC, (data, indices, indptr, n_features), None, u, None, None, 0.0, out,
            None, None, 1.0, work, None)


def weighted_hvp_csr(data, indices, indptr, n_features, d, v, lam, out, work):
    """CSR twin of :func:`weighted_hvp`."""
    rw.call(rw.WHVP, (data, indices, indptr, n_features), None, d, None, v, lam, out, None,
            None, 1.0, work, "hvp")


def _csr_on_device(data, indices, indptr):
    return as_device(data), as_device(indices), as_device(indptr)


def weighted_gram_csr(data, indices, indptr, n_features, d, lam, H_out):
    """CSR twin of :func:`weighted_gram`: column j of H is the HVP with the unit vector e_j."""
    data_d, indices_d, indptr_d = _csr_on_device(data, indices, indptr)
    d_d = as_device(d, np.float64)
    p = H_out.shape[0]
    m = indptr_d.shape[0] - 1
    work = cuda_work(m, p, data_d.shape[0])
    H = np.empty((p, p))
    e = np.zeros(p)
    column = np.empty(p)
    for j in range(p):
        e[j] = 1.0
        weighted_hvp_csr(data_d, indices_d, indptr_d, n_features, d_d, e, lam, column, work)
        H[:, j] = column
        e[j] = 0.0
    H = 0.5 * (H + H.T)
    if is_device_array(H_out):
        as_device(H_out).copy_to_device(H)
    else:
        H_out[...] = H


def max_eig_gram_csr(data, indices, indptr, n_features, d, v0, max_iter, tol, work):
    """CSR twin of :func:`max_eig_gram`."""
    data_d, indices_d, indptr_d = _csr_on_device(data, indices, indptr)
    d_d = as_device(d, np.float64)
    n = int(n_features)
    work = rw.device_work(work, n, indptr_d.shape[0] - 1, data_d.shape[0])
    return _power_iteration(
        lambda v, u: weighted_hvp_csr(data_d, indices_d, indptr_d, n, d_d, v, 0.0, u, work),
        n, v0, max_iter, tol)
