"""CUDA twins of the least-squares kernels (same names and signatures as the CPU ones).

Objective as in :mod:`fastopt.kernels.reference.least_squares`:

.. math::

    f(w) = \\sum_i \\frac{sw_i}{2} (z_i - y_i)^2 + \\frac{\\lambda}{2} \\|w_{:n}\\|^2,
    \\qquad \\nabla f(w) = \\tilde A^T (sw \\circ (z - y)) + \\lambda w_{:n},
    \\qquad d_i = sw_i

Arrays may be numba device arrays, ``__cuda_array_interface__`` objects (no copy) or host
arrays (copied); ``work`` is the device buffer of :func:`fastopt.kernels.cuda.cuda_work`.
Same kernels and reduction as :mod:`.logistic` (see :mod:`._rowwise`).
"""

from __future__ import annotations

import numpy as np

from . import _rowwise as rw
from ._device import HostBridge

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


def _copy_weights(sw, d_out):
    with HostBridge() as hb:
        hb.output(d_out).copy_to_device(hb.input(sw, np.float64))


# --- dense -------------------------------------------------------------------------------


def lsq_loss(X, y, sw, w, lam, work):
    """Least-squares loss ``f(w)``.

    Parameters
    ----------
    X : device or host array of shape (m, n), float32 or float64, C-contiguous
    y : array of shape (m,), float64, real targets
    sw : array of shape (m,), float64, normalized sample weights
    w : array of shape (p,), float64, p = n or n + 1 (``w[n]`` is the intercept)
    lam : float
    work : device array of shape (n_blocks + 1, p + 1), float64

    Returns
    -------
    float
    """
    return rw.call(rw.LSQ_LOSS, (X,), y, sw, w, None, lam, None, None, None, 1.0, work, "loss")


def lsq_loss_grad(X, y, sw, w, lam, grad_out, work):
    """Loss and gradient (into ``grad_out`` (p,)) in one pass over X."""
    return rw.call(rw.LSQ_GRAD, (X,), y, sw, w, None, lam, grad_out, None, None, 1.0, work,
                   "loss")


def lsq_grad_hess_weights(X, y, sw, w, lam, grad_out, d_out, work):
    """Loss, gradient (into ``grad_out`` (p,)) and Hessian weights (into ``d_out`` (m,))."""
    return rw.call(rw.LSQ_GHW, (X,), y, sw, w, None, lam, grad_out, d_out, None, 1.0, work,
                   "loss")


def lsq_hess_weights(X, y, sw, w, d_out):
    """Hessian weights of least squares: ``d_out = sw`` (no pass over X)."""
    _copy_weights(sw, d_out)


def lsq_hvp(X, y, sw, w, v, lam, out, work):
    """Hessian times ``v`` into ``out`` (p,): ``X~^T diag(sw) X~ v + lam v[:n]``, one pass."""
    rw.call(rw.LSQ_HVP, (X,), y, sw, w, v, lam, out, None, None, 1.0, work, "hvp")


def lsq_loss_grad_rows(X, y, sw, w, lam, rows, scale, grad_out, work):
    """Loss and gradient over rows ``rows`` (k,), weights times ``scale``; L2 term once."""
    return rw.call(rw.LSQ_GRAD, (X,), y, sw, w, None, lam, grad_out, None, rows, scale, work,
                   "loss")


# --- CSR ---------------------------------------------------------------------------------


def lsq_loss_csr(data, indices, indptr, n_features, y, sw, w, lam, work):
    """CSR twin of :func:`lsq_loss`."""
    return rw.call(rw.LSQ_LOSS, (data, indices, indptr, n_features), y, sw, w, None, lam, None,
                   None, None, 1.0, work, "loss")


def lsq_loss_grad_csr(data, indices, indptr, n_features, y, sw, w, lam, grad_out, work):
    """CSR twin of :func:`lsq_loss_grad`."""
    return rw.call(rw.LSQ_GRAD, (data, indices, indptr, n_features), y, sw, w, None, lam,
                   grad_out, None, None, 1.0, work, "loss")


def lsq_grad_hess_weights_csr(
    data, indices, indptr, n_features, y, sw, w, lam, grad_out, d_out, work
):
    """CSR twin of :func:`lsq_grad_hess_weights`."""
    return rw.call(rw.LSQ_GHW, (data, indices, indptr, n_features), y, sw, w, None, lam,
                   grad_out, d_out, None, 1.0, work, "loss")


def lsq_hess_weights_csr(data, indices, indptr, n_features, y, sw, w, d_out):
    """CSR twin of :func:`lsq_hess_weights`."""
    _copy_weights(sw, d_out)


def lsq_hvp_csr(data, indices, indptr, n_features, y, sw, w, v, lam, out, work):
    """CSR twin of :func:`lsq_hvp`."""
    rw.call(rw.LSQ_HVP, (data, indices, indptr, n_features), y, sw, w, v, lam, out, None, None,
            1.0, work, "hvp")


def lsq_loss_grad_rows_csr(
    data, indices, indptr, n_features, y, sw, w, lam, rows, scale, grad_out, work
):
    """CSR twin of :func:`lsq_loss_grad_rows`."""
    return rw.call(rw.LSQ_GRAD, (data, indices, indptr, n_features), y, sw, w, None, lam,
                   grad_out, None, rows, scale, work, "loss")
