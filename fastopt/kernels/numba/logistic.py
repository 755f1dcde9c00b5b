"""Numba CPU kernels for L2-regularized logistic regression (docs/contract.md).

.. math::

    f(w) = \\sum_i sw_i \\log(1 + e^{-y_i z_i}) + \\frac{\\lambda}{2} \\|w_{:n}\\|^2,
    \\qquad z_i = \\langle a_i, w_{:n} \\rangle + w_n

    \\nabla f = -\\sum_i sw_i y_i \\sigma(-y_i z_i) \\tilde a_i + \\lambda w_{:n},
    \\qquad d_i = sw_i \\sigma(y_i z_i)(1 - \\sigma(y_i z_i))

Every kernel is a thin ``@jit`` wrapper around the shared cores of :mod:`._linear`: the
m rows (or the k mini-batch indices) are split into ``T = work.shape[0]`` contiguous
chunks; each chunk streams its rows once, in blocks of 16 (dots, then the exp/log1p of
the block, then the axpys into the chunk's own partial row ``work[c]`` while the rows are
in L1), so X is read exactly once per call. Small problems (m n below
``fastopt._config.PARALLEL_MIN_WORK``) run the chunks serially, large ones in ``prange``:
the same code on the same chunks either way. The partial rows and the per-chunk loss
partials are then added in chunk order: bitwise reproducible for a fixed ``T``, which
the objectives choose from the data's size (:func:`fastopt._config.n_chunks`), never from
the thread count. The kernels are plain ``@jit`` functions, callable from other jitted
code (the compiled solver loops); nothing of size m is allocated.

Shapes: ``X`` (m, n) float32/float64 C-contiguous; ``y``, ``sw`` (m,) float64; ``w``,
``v``, ``grad_out``, ``out`` (p,) float64 with p = n or n + 1 (intercept ``w[n]``, never
penalized); ``d_out`` (m,); ``work`` (T, p); ``rows`` (k,) int64. CSR twins take ``data,
indices, indptr, n_features`` in place of ``X`` (canonical CSR).
"""

from __future__ import annotations

import numpy as np

from fastopt._config import jit

from ._linear import (
    GATHER,
    GRAD,
    HESSW,
    HVP_LOGISTIC,
    LOGISTIC,
    hvp_run,
    hvp_run_csr,
    loss_pass,
    loss_pass_csr,
    no_rows,
    no_work,
    rows_run,
    rows_run_csr,
)
from ._rowops import add_l2, reduce_chunks
from ._stack import chunk_partials

__all__ = [
    "logistic_loss",
    "logistic_loss_grad",
    "logistic_grad_hess_weights",
    "logistic_hess_weights",
    "logistic_hvp",
    "logistic_loss_grad_rows",
    "logistic_loss_csr",
    "logistic_loss_grad_csr",
    "logistic_grad_hess_weights_csr",
    "logistic_hess_weights_csr",
    "logistic_hvp_csr",
    "logistic_loss_grad_rows_csr",
]

#: Rows per chunk of the Hessian-weight kernels (no reduction, no ``work`` argument, so
#: any chunking gives the same result).
_MAP_CHUNK_ROWS = 8192


@jit
def _map_chunks(m):
    return max(1, min(m // _MAP_CHUNK_ROWS, 1024))


# --- dense -------------------------------------------------------------------------------


@jit
def logistic_loss(X, y, sw, w, lam, work):
    """Logistic loss ``f(w)`` (float); one pass over ``X``, no gradient."""
    # sw stands in for the outputs these flags never write
    return loss_pass(np.int64(LOGISTIC), X, y, sw, w, no_rows(), 1.0, lam, sw, sw, work)


@jit
def logistic_loss_grad(X, y, sw, w, lam, grad_out, work):
    """Loss (returned) and gradient (into ``grad_out``), fused in one pass over ``X``."""
    # sw stands in for the outputs these flags never write
    return loss_pass(np.int64(LOGISTIC | GRAD), X, y, sw, w, no_rows(), 1.0, lam, grad_out, sw,
                     work)


@jit
def logistic_grad_hess_weights(X, y, sw, w, lam, grad_out, d_out, work):
    """Loss (returned), gradient (``grad_out``) and Hessian weights (``d_out``), one pass."""
    return loss_pass(np.int64(LOGISTIC | GRAD | HESSW), X, y, sw, w, no_rows(), 1.0, lam, grad_out,
                     d_out, work)


@jit
def logistic_hess_weights(X, y, sw, w, d_out):
    """Hessian weights ``d_out[i] = sw_i s_i (1 - s_i)``; one pass, no reduction."""
    T = _map_chunks(X.shape[0])
    rows_run(np.int64(LOGISTIC | HESSW), X, y, sw, w, no_rows(), 1.0, d_out,
             no_work(w.shape[0]), T, chunk_partials(T))


@jit
def logistic_hvp(X, y, sw, w, v, lam, out, work):
    """``out = X~^T diag(d(w)) X~ v + lam v[:n]``: z_i and <a~_i, v> from one read per row."""
    hvp_run(np.int64(HVP_LOGISTIC), X, sw, w, v, work)
    reduce_chunks(work, out)
    add_l2(out, v, X.shape[1], lam)


@jit
def logistic_loss_grad_rows(X, y, sw, w, lam, rows, scale, grad_out, work):
    """Loss and gradient over the rows ``rows`` only, weights ``scale * sw``; L2 once."""
    # sw stands in for the outputs these flags never write
    return loss_pass(np.int64(LOGISTIC | GRAD | GATHER), X, y, sw, w, rows, float(scale), lam,
                     grad_out, sw, work)


# --- CSR ---------------------------------------------------------------------------------


@jit
def logistic_loss_csr(data, indices, indptr, n_features, y, sw, w, lam, work):
    """CSR twin of :func:`logistic_loss`."""
    return loss_pass_csr(np.int64(LOGISTIC), data, indices, indptr, n_features, y, sw, w, no_rows(),
                         1.0, lam, sw, sw, work)


@jit
def logistic_loss_grad_csr(data, indices, indptr, n_features, y, sw, w, lam, grad_out, work):
    """CSR twin of :func:`logistic_loss_grad`."""
    return loss_pass_csr(np.int64(LOGISTIC | GRAD), data, indices, indptr, n_features, y, sw, w,
                         no_rows(), 1.0, lam, grad_out, sw, work)


@jit
def logistic_grad_hess_weights_csr(
    data, indices, indptr, n_features, y, sw, w, lam, grad_out, d_out, work
):
    """CSR twin of :func:`logistic_grad_hess_weights`."""
    return loss_pass_csr(np.int64(LOGISTIC | GRAD | HESSW), data, indices, indptr, n_features, y,
                         sw, w, no_rows(), 1.0, lam, grad_out, d_out, work)


@jit
def logistic_hess_weights_csr(data, indices, indptr, n_features, y, sw, w, d_out):
    """CSR twin of :func:`logistic_hess_weights`."""
    T = _map_chunks(indptr.shape[0] - 1)
    rows_run_csr(np.int64(LOGISTIC | HESSW), data, indices, indptr, n_features, y, sw, w,
                 no_rows(), 1.0, d_out, no_work(w.shape[0]), T, chunk_partials(T))


@jit
def logistic_hvp_csr(data, indices, indptr, n_features, y, sw, w, v, lam, out, work):
    """CSR twin of :func:`logistic_hvp`."""
    hvp_run_csr(np.int64(HVP_LOGISTIC), data, indices, indptr, n_features, sw, w, v, work)
    reduce_chunks(work, out)
    add_l2(out, v, n_features, lam)


@jit
def logistic_loss_grad_rows_csr(
    data, indices, indptr, n_features, y, sw, w, lam, rows, scale, grad_out, work
):
    """CSR twin of :func:`logistic_loss_grad_rows`."""
    return loss_pass_csr(np.int64(LOGISTIC | GRAD | GATHER), data, indices, indptr, n_features, y,
                         sw, w, rows, float(scale), lam, grad_out, sw, work)
