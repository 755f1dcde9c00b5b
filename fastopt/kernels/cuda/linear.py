"""CUDA linear-model kernels, generic in the loss (same names and signatures as the CPU ones).

Every kernel takes the loss's integer code first (:mod:`fastopt.kernels.losses`);
objective and derivatives as in :mod:`fastopt.kernels.reference.linear`:

.. math::

    f(w) = \\sum_i sw_i \\, l(z_i, y_i) + \\frac{\\lambda}{2} \\|w_{:n}\\|^2,
    \\qquad z_i = \\langle a_i, w_{:n} \\rangle + w_n

    \\nabla f(w) = \\sum_i sw_i \\, l'(z_i, y_i) \\tilde a_i + \\lambda w_{:n},
    \\qquad d_i = sw_i \\, l''(z_i, y_i)

The per-row math of each loss is in :mod:`._rowwise` (``_loss_value``, ``_loss_slope``,
``_loss_curvature``). Every array argument may be a numba device array, any object with
``__cuda_array_interface__`` (CuPy, PyTorch: used without a copy), or a host NumPy array
(copied in, and copied back for outputs: the slow path of the tests). ``work`` is the
device buffer of :func:`fastopt.kernels.cuda.cuda_work` (shape ``(n_blocks + 1, p + 1)``,
float64); anything else makes the call allocate one. Each kernel is one pass over X,
accumulated in float64 (see :mod:`._rowwise` for the kernels, :mod:`._device` for the
deterministic two-stage reduction). Scalars come back with one 8-byte copy. A loss of
constant curvature (squared) has Hessian weights ``sw``: its ``hess_weights`` is a copy
and its ``hvp`` reads no ``w``.
"""

from __future__ import annotations

import numpy as np

from ..losses import CONSTANT_CURVATURE_MASK
from . import _rowwise as rw
from ._device import HostBridge

__all__ = [
    "linear_loss",
    "linear_loss_grad",
    "linear_grad_hess_weights",
    "linear_hess_weights",
    "linear_hvp",
    "linear_loss_grad_rows",
    "linear_loss_csr",
    "linear_loss_grad_csr",
    "linear_grad_hess_weights_csr",
    "linear_hess_weights_csr",
    "linear_hvp_csr",
    "linear_loss_grad_rows_csr",
]


def _constant_curvature(loss) -> bool:
    return bool((CONSTANT_CURVATURE_MASK >> int(loss)) & 1)


def _copy_weights(sw, d_out):
    with HostBridge() as hb:
        hb.output(d_out).copy_to_device(hb.input(sw, np.float64))


def _hvp_mode(loss) -> int:
    # constant curvature: c_i = sw_i <a~_i, v>, no predictor z
    return rw.mode(rw.WHVP) if _constant_curvature(loss) else rw.mode(rw.HVP, int(loss))


# --- dense -------------------------------------------------------------------------------


def linear_loss(loss, X, y, sw, w, lam, work):
    """Loss ``f(w)`` of the loss of code ``loss``.

    Parameters
    ----------
    loss : int, a code of :mod:`fastopt.kernels.losses`
    X : device or host array of shape (m, n), float32 or float64, C-contiguous
    y : array of shape (m,), float64 targets (as the loss requires)
    sw : array of shape (m,), float64, normalized sample weights
    w : array of shape (p,), float64, p = n or n + 1 (``w[n]`` is the intercept)
    lam : float
    work : device array of shape (n_blocks + 1, p + 1), float64

    Returns
    -------
    float
    """
    return rw.call(rw.mode(rw.LOSS, loss), (X,), y, sw, w, None, lam, None, None, None, 1.0,
                   work, "loss")


def linear_loss_grad(loss, X, y, sw, w, lam, grad_out, work):
    """Loss and gradient (into ``grad_out`` (p,)) in one pass over X."""
    return rw.call(rw.mode(rw.GRAD, loss), (X,), y, sw, w, None, lam, grad_out, None, None,
                   1.0, work, "loss")


def linear_grad_hess_weights(loss, X, y, sw, w, lam, grad_out, d_out, work):
    """Loss, gradient (into ``grad_out`` (p,)) and Hessian weights (into ``d_out`` (m,))."""
    return rw.call(rw.mode(rw.GHW, loss), (X,), y, sw, w, None, lam, grad_out, d_out, None,
                   1.0, work, "loss")


def linear_hess_weights(loss, X, y, sw, w, d_out):
    """Hessian weights ``d_i = sw_i l''(z_i, y_i)`` into ``d_out`` (m,)."""
    if _constant_curvature(loss):
        _copy_weights(sw, d_out)
        return
    rw.call(rw.mode(rw.HW, loss), (X,), y, sw, w, None, 0.0, None, d_out, None, 1.0, None,
            None)


def linear_hvp(loss, X, y, sw, w, v, lam, out, work):
    """Hessian at ``w`` times ``v`` into ``out`` (p,): one pass (z_i and <a_i, v> per row)."""
    rw.call(_hvp_mode(loss), (X,), y, sw, w, v, lam, out, None, None, 1.0, work, "hvp")


def linear_loss_grad_rows(loss, X, y, sw, w, lam, rows, scale, grad_out, work):
    """Loss and gradient over rows ``rows`` (k,), weights times ``scale``; L2 term once."""
    return rw.call(rw.mode(rw.GRAD, loss), (X,), y, sw, w, None, lam, grad_out, None, rows,
                   scale, work, "loss")


# --- CSR ---------------------------------------------------------------------------------


def linear_loss_csr(loss, data, indices, indptr, n_features, y, sw, w, lam, work):
    """CSR twin of :func:`linear_loss`."""
    return rw.call(rw.mode(rw.LOSS, loss), (data, indices, indptr, n_features), y, sw, w,
                   None, lam, None, None, None, 1.0, work, "loss")


def linear_loss_grad_csr(loss, data, indices, indptr, n_features, y, sw, w, lam, grad_out,
                         work):
    """CSR twin of :func:`linear_loss_grad`."""
    return rw.call(rw.mode(rw.GRAD, loss), (data, indices, indptr, n_features), y, sw, w,
                   None, lam, grad_out, None, None, 1.0, work, "loss")


def linear_grad_hess_weights_csr(
    loss, data, indices, indptr, n_features, y, sw, w, lam, grad_out, d_out, work
):
    """CSR twin of :func:`linear_grad_hess_weights`."""
    return rw.call(rw.mode(rw.GHW, loss), (data, indices, indptr, n_features), y, sw, w,
                   None, lam, grad_out, d_out, None, 1.0, work, "loss")


def linear_hess_weights_csr(loss, data, indices, indptr, n_features, y, sw, w, d_out):
    """CSR twin of :func:`linear_hess_weights`."""
    if _constant_curvature(loss):
        _copy_weights(sw, d_out)
        return
    rw.call(rw.mode(rw.HW, loss), (data, indices, indptr, n_features), y, sw, w, None, 0.0,
            None, d_out, None, 1.0, None, None)


def linear_hvp_csr(loss, data, indices, indptr, n_features, y, sw, w, v, lam, out, work):
    """CSR twin of :func:`linear_hvp`."""
    rw.call(_hvp_mode(loss), (data, indices, indptr, n_features), y, sw, w, v, lam, out,
            None, None, 1.0, work, "hvp")


def linear_loss_grad_rows_csr(
    loss, data, indices, indptr, n_features, y, sw, w, lam, rows, scale, grad_out, work
):
    """CSR twin of :func:`linear_loss_grad_rows`."""
    return rw.call(rw.mode(rw.GRAD, loss), (data, indices, indptr, n_features), y, sw, w,
                   None, lam, grad_out, None, rows, scale, work, "loss")
