"""Numba CPU kernels for L2-regularized least squares (docs/contract.md).

.. math::

    f(w) = \\sum_i \\frac{sw_i}{2} (z_i - y_i)^2 + \\frac{\\lambda}{2} \\|w_{:n}\\|^2,
    \\qquad z_i = \\langle a_i, w_{:n} \\rangle + w_n

    \\nabla f = \\sum_i sw_i (z_i - y_i) \\tilde a_i + \\lambda w_{:n},
    \\qquad d_i = sw_i, \\qquad \\nabla^2 f\\, v = \\tilde A^T \\operatorname{diag}(sw)
    \\tilde A v + \\lambda v_{:n}

Same layout as :mod:`fastopt.kernels.numba.logistic` (shared cores in :mod:`._linear`):
``T = work.shape[0]`` contiguous row chunks, serial for small problems and in ``prange``
otherwise (bitwise the same result), one read of each row (block of dots, then the
axpys while the rows are in L1) into the chunk's partial ``work[c]``, partials added in
chunk order (``T`` is fixed by the data's size, so the bits do not depend on the thread
count), float64 accumulation for float32 ``X``,
nothing of size m allocated. Plain ``@jit`` kernels, callable from jitted solver loops.
"""

from __future__ import annotations

import numpy as np

from fastopt._config import jit

from ._linear import (
    GATHER,
    GRAD,
    HESSW,
    HVP_WEIGHTED,
    LSQ,
    hvp_run,
    hvp_run_csr,
    loss_pass,
    loss_pass_csr,
    no_rows,
)
from ._rowops import add_l2, reduce_chunks

__all__ = [
    "lsq_loss",
    "lsq_loss_grad",
    "lsq_grad_hess_weights",
    "lsq_hess_weights",
    "lsq_hvp",
    "lsq_loss_grad_rows",
    "lsq_loss_csr",
    "lsq_loss_grad_csr",
    "lsq_grad_hess_weights_csr",
    "lsq_hess_weights_csr",
    "lsq_hvp_csr",
    "lsq_loss_grad_rows_csr",
]


@jit
def _copy_weights(sw, d_out):
    # a copy of m doubles: serial is fast enough and opens no threaded region
    for i in range(sw.shape[0]):
        d_out[i] = sw[i]


# --- dense -------------------------------------------------------------------------------


@jit
def lsq_loss(X, y, sw, w, lam, work):
    """Least-squares loss ``f(w)`` (float); one pass over ``X``."""
    # sw stands in for the outputs these flags never write
    return loss_pass(np.int64(LSQ), X, y, sw, w, no_rows(), 1.0, lam, sw, sw, work)


@jit
def lsq_loss_grad(X, y, sw, w, lam, grad_out, work):
    """Loss (returned) and gradient (into ``grad_out``), fused in one pass over ``X``."""
    # sw stands in for the outputs these flags never write
    return loss_pass(np.int64(LSQ | GRAD), X, y, sw, w, no_rows(), 1.0, lam, grad_out, sw, work)


@jit
def lsq_grad_hess_weights(X, y, sw, w, lam, grad_out, d_out, work):
    """Loss, gradient and Hessian weights ``d_out = sw`` (the weights do not depend on w)."""
    return loss_pass(np.int64(LSQ | GRAD | HESSW), X, y, sw, w, no_rows(), 1.0, lam, grad_out,
                     d_out, work)


@jit
def lsq_hess_weights(X, y, sw, w, d_out):
    """Hessian weights of least squares: ``d_out = sw``; ``X`` is not read."""
    _copy_weights(sw, d_out)


@jit
def lsq_hvp(X, y, sw, w, v, lam, out, work):
    """``out = X~^T diag(sw) X~ v + lam v[:n]`` (independent of ``w``), one pass."""
    hvp_run(np.int64(HVP_WEIGHTED), X, sw, v, v, work)
    reduce_chunks(work, out)
    add_l2(out, v, X.shape[1], lam)


@jit
def lsq_loss_grad_rows(X, y, sw, w, lam, rows, scale, grad_out, work):
    """Loss and gradient over the rows ``rows`` only, weights ``scale * sw``; L2 once."""
    # sw stands in for the outputs these flags never write
    return loss_pass(np.int64(LSQ | GRAD | GATHER), X, y, sw, w, rows, float(scale), lam, grad_out,
                     sw, work)


# --- CSR ---------------------------------------------------------------------------------


@jit
def lsq_loss_csr(data, indices, indptr, n_features, y, sw, w, lam, work):
    """CSR twin of :func:`lsq_loss`."""
    return loss_pass_csr(np.int64(LSQ), data, indices, indptr, n_features, y, sw, w, no_rows(), 1.0,
                         lam, sw, sw, work)


@jit
def lsq_loss_grad_csr(data, indices, indptr, n_features, y, sw, w, lam, grad_out, work):
    """CSR twin of :func:`lsq_loss_grad`."""
    return loss_pass_csr(np.int64(LSQ | GRAD), data, indices, indptr, n_features, y, sw, w,
                         no_rows(), 1.0, lam, grad_out, sw, work)


@jit
def lsq_grad_hess_weights_csr(
    data, indices, indptr, n_features, y, sw, w, lam, grad_out, d_out, work
):
    """CSR twin of :func:`lsq_grad_hess_weights`."""
    return loss_pass_csr(np.int64(LSQ | GRAD | HESSW), data, indices, indptr, n_features, y, sw, w,
                         no_rows(), 1.0, lam, grad_out, d_out, work)


@jit
def lsq_hess_weights_csr(data, indices, indptr, n_features, y, sw, w, d_out):
    """CSR twin of :func:`lsq_hess_weights` (``d_out = sw``)."""
    _copy_weights(sw, d_out)


@jit
def lsq_hvp_csr(data, indices, indptr, n_features, y, sw, w, v, lam, out, work):
    """CSR twin of :func:`lsq_hvp`."""
    hvp_run_csr(np.int64(HVP_WEIGHTED), data, indices, indptr, n_features, sw, v, v, work)
    reduce_chunks(work, out)
    add_l2(out, v, n_features, lam)


@jit
def lsq_loss_grad_rows_csr(
    data, indices, indptr, n_features, y, sw, w, lam, rows, scale, grad_out, work
):
    """CSR twin of :func:`lsq_loss_grad_rows`."""
    return loss_pass_csr(np.int64(LSQ | GRAD | GATHER), data, indices, indptr, n_features, y, sw, w,
                         rows, float(scale), lam, grad_out, sw, work)
