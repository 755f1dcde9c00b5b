"""NumPy reference twins of the objective-independent linear-algebra kernels.

With ``A`` the (m, n) data matrix and ``A~ = [A, 1]`` when the coefficient vector has
``p = n + 1`` entries (the last one an intercept; ``X`` is never copied to append it):

.. math::

    \\text{matvec: } z = A w_{:n} + w_n, \\qquad
    \\text{rmatvec: } (A^T u, \\textstyle\\sum_i u_i), \\qquad
    \\text{weighted\\_hvp: } \\tilde A^T \\operatorname{diag}(d) \\tilde A v + \\lambda v_{:n}

    \\text{weighted\\_gram: } H = \\tilde A^T \\operatorname{diag}(d) \\tilde A
    + \\lambda I_n, \\qquad
    \\text{max\\_eig\\_gram: } \\lambda_{\\max}(A^T \\operatorname{diag}(d) A)

The public helpers :func:`linear_predictor`, :func:`transpose_product`, :func:`add_l2`
and :func:`as_csr` are shared with the other reference modules (they are not kernels and
are not in ``__all__``). Everything is accumulated in float64: a dense float32 ``X`` is
converted to float64 a block of rows at a time (never as a whole m x n copy), a CSR one
is promoted by SciPy.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

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


def as_csr(data, indices, indptr, n_features):
    """Wrap CSR arrays (no copy) as a ``scipy.sparse.csr_matrix`` of shape (m, n_features)."""
    m = len(indptr) - 1
    return sp.csr_matrix((data, indices, indptr), shape=(m, int(n_features)), copy=False)


#: Rows of a float32 ``X`` converted to float64 at a time (about 4 MB per block), so that
#: the reference never makes an m x n float64 copy of X yet accumulates in float64.
_BLOCK_ELEMENTS = 1 << 19


def _float64_row_blocks(A):
    """``(start, stop, block)`` over the rows of a dense ``A``, each block float64.

    float64 ``A`` is yielded whole (a view, no copy); any other dtype is converted one
    block of rows at a time into one reused buffer.
    """
    m, n = A.shape
    if A.dtype == np.float64:
        yield 0, m, A
        return
    rows = max(1, _BLOCK_ELEMENTS // max(n, 1))
    buf = np.empty((min(rows, m), n))
    for start in range(0, m, rows):
        stop = min(start + rows, m)
        block = buf[: stop - start]
        block[...] = A[start:stop]
        yield start, stop, block


def linear_predictor(A, w):
    """``z = A w[:n] (+ w[n])`` in float64, shape (m,), for an ndarray or CSR ``A``.

    Dense float32 ``A`` is multiplied block by block in float64 (no m x n copy).
    """
    n = A.shape[1]
    wn = np.asarray(w[:n], dtype=np.float64)
    if sp.issparse(A):
        z = np.asarray(A @ wn, dtype=np.float64)
    else:
        z = np.empty(A.shape[0])
        for start, stop, block in _float64_row_blocks(A):
            np.matmul(block, wn, out=z[start:stop])
    if w.shape[0] > n:
        z += w[n]
    return z


def transpose_product(A, u, out):
    """``out[:n] = A^T u`` and, when ``len(out) = n + 1``, ``out[n] = sum(u)``.

    Dense float32 ``A`` is multiplied block by block in float64 (no m x n copy).
    """
    n = A.shape[1]
    u = np.asarray(u, dtype=np.float64)
    if sp.issparse(A):
        out[:n] = A.T @ u
    else:
        acc = np.zeros(n)
        for start, stop, block in _float64_row_blocks(A):
            acc += u[start:stop] @ block
        out[:n] = acc
    if out.shape[0] > n:
        out[n] = np.sum(u)


def add_l2(out, w, n, lam):
    """Add ``lam w[:n]`` to ``out[:n]`` (when ``out`` is given) and return ``lam/2 ||w[:n]||^2``.

    The intercept ``w[n]`` is never penalized.
    """
    if out is not None:
        out[:n] += lam * w[:n]
    return 0.5 * lam * float(w[:n] @ w[:n])


def _weighted_hvp(A, d, v, lam, out):
    transpose_product(A, d * linear_predictor(A, v), out)
    add_l2(out, v, A.shape[1], lam)


def _weighted_gram(A, d, lam, H_out):
    n = A.shape[1]
    p = H_out.shape[0]
    if sp.issparse(A):
        A = A.toarray()
    A = np.asarray(A, dtype=np.float64)
    if p > n:
        A = np.hstack([A, np.ones((A.shape[0], 1))])
    H = A.T @ (d[:, None] * A)
    H_out[:, :] = 0.5 * (H + H.T)  # exactly symmetric, as the compiled twins' output
    H_out[np.arange(n), np.arange(n)] += lam


def _max_eig_gram(A, d, v0, max_iter, tol):
    """Power iteration on ``A^T diag(d) A`` (the same iteration as the compiled backends).

    ``v = v0 / ||v0||``; repeat ``u = H v``, ``rho = <v, u>``, ``v = u / ||u||`` until
    ``|rho - rho_prev| <= tol |rho|`` or ``max_iter`` products. Returns the last Rayleigh
    quotient ``rho`` (0 when ``H v = 0``).
    """
    n = A.shape[1]
    v = np.array(v0, dtype=np.float64)
    norm = np.linalg.norm(v)
    v = v / norm if norm > 0 else np.full(n, 1.0 / np.sqrt(max(n, 1)))
    u = np.empty(n)
    rho = 0.0
    for _ in range(int(max_iter)):
        _weighted_hvp(A, d, v, 0.0, u)
        rho_prev, rho = rho, float(v @ u)
        norm = np.linalg.norm(u)
        if norm == 0.0:
            return 0.0
        v = u / norm
        if abs(rho - rho_prev) <= tol * abs(rho):
            break
    return rho


# --- dense -------------------------------------------------------------------------------


def matvec(X, w, z_out):
    """``z_out = X w[:n] (+ w[n])``.

    Parameters
    ----------
    X : ndarray of shape (m, n), float32 or float64
    w : ndarray of shape (p,), p = n or n + 1
    z_out : ndarray of shape (m,), float64, overwritten
    """
    z_out[:] = linear_predictor(X, w)


def rmatvec(X, u, out, work):
    """``out[:n] = X^T u``, and ``out[n] = sum(u)`` when ``out`` has n + 1 entries.

    Parameters
    ----------
    X : ndarray of shape (m, n)
    u : ndarray of shape (m,), float64
    out : ndarray of shape (p,), float64, overwritten
    work : ndarray of shape (T, p), ignored here
    """
    transpose_product(X, u, out)


def weighted_hvp(X, d, v, lam, out, work):
    """``out = X~^T diag(d) X~ v + lam v[:n]`` (p,), lam not applied to the intercept."""
    _weighted_hvp(X, d, v, lam, out)


def weighted_gram(X, d, lam, H_out):
    """``H_out = X~^T diag(d) X~ + lam I_n``, shape (p, p); no lam on the intercept."""
    _weighted_gram(X, d, lam, H_out)


def max_eig_gram(X, d, v0, max_iter, tol, work):
    """Largest eigenvalue of ``X^T diag(d) X`` (p = n, no intercept) by power iteration.

    Parameters
    ----------
    X : ndarray of shape (m, n)
    d : ndarray of shape (m,), non-negative weights
    v0 : ndarray of shape (n,), starting vector (not modified)
    max_iter : int, most Hessian-vector products
    tol : float, stop when the Rayleigh quotient changes by at most ``tol`` relatively
    work : ndarray of shape (T, n), ignored here

    Returns
    -------
    float
    """
    return _max_eig_gram(X, d, v0, max_iter, tol)


# --- CSR ---------------------------------------------------------------------------------


def matvec_csr(data, indices, indptr, n_features, w, z_out):
    """CSR twin of :func:`matvec`."""
    z_out[:] = linear_predictor(as_csr(data, indices, indptr, n_features), w)


def rmatvec_csr(data, indices, indptr, n_features, u, out, work):
    """CSR twin of :func:`rmatvec`."""
    transpose_product(as_csr(data, indices, indptr, n_features), u, out)


def weighted_hvp_csr(data, indices, indptr, n_features, d, v, lam, out, work):
    """CSR twin of :func:`weighted_hvp`."""
    _weighted_hvp(as_csr(data, indices, indptr, n_features), d, v, lam, out)


def weighted_gram_csr(data, indices, indptr, n_features, d, lam, H_out):
    """CSR twin of :func:`weighted_gram`."""
    _weighted_gram(as_csr(data, indices, indptr, n_features), d, lam, H_out)


def max_eig_gram_csr(data, indices, indptr, n_features, d, v0, max_iter, tol, work):
    """CSR twin of :func:`max_eig_gram`."""
    return _max_eig_gram(as_csr(data, indices, indptr, n_features), d, v0, max_iter, tol)
