"""CUDA twins of the logistic-regression kernels (same names and signatures as the CPU ones).

Objective and derivatives as in :mod:`fastopt.kernels.reference.logistic`:

.. math::

    f(w) = \\sum_i sw_i \\log(1 + e^{-y_i z_i}) + \\frac{\\lambda}{2} \\|w_{:n}\\|^2,
    \\qquad z_i = \\langle a_i, w_{:n} \\rangle + w_n

    \\nabla f(w) = -\\sum_i sw_i y_i \\sigma(-y_i z_i) \\tilde a_i + \\lambda w_{:n},
    \\qquad d_i = sw_i \\sigma(y_i z_i) \\sigma(-y_i z_i)

Every array argument may be a numba device array, any object with
``__cuda_array_interface__`` (CuPy, PyTorch: used without a copy), or a host NumPy array
(copied in, and copied back for outputs: the slow path of the tests). ``work`` is the
device buffer of :func:`fastopt.kernels.cuda.cuda_work` (shape ``(n_blocks + 1, p + 1)``,
float64); anything else makes the call allocate one. Each kernel is one pass over X,
accumulated in float64 (see :mod:`._rowwise` for the kernels, :mod:`._device` for the
deterministic two-stage reduction). Scalars come back with one 8-byte copy.
"""

from __future__ import annotations

from . import _rowwise as rw

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


# --- dense -------------------------------------------------------------------------------


def logistic_loss(X, y, sw, w, lam, work):
    """Logistic loss ``f(w)``.

    Parameters
    ----------
    X : device or host array of shape (m, n), float32 or float64, C-contiguous
    y : array of shape (m,), float64, labels in {-1, +1}
    sw : array of shape (m,), float64, normalized sample weights
    w : array of shape (p,), float64, p = n or n + 1 (``w[n]`` is the intercept)
    lam : float
    work : device array of shape (n_blocks + 1, p + 1), float64

    Returns
    -------
    float
    """
    return rw.call(rw.LOG_LOSS, (X,), y, sw, w, None, lam, None, None, None, 1.0, work, "loss")


def logistic_loss_grad(X, y, sw, w, lam, grad_out, work):
    """Loss and gradient (into ``grad_out`` (p,)) in one pass over X."""
    return rw.call(rw.LOG_GRAD, (X,), y, sw, w, None, lam, grad_out, None, None, 1.0, work,
                   "loss")


def logistic_grad_hess_weights(X, y, sw, w, lam, grad_out, d_out, work):
    """Loss, gradient (into ``grad_out`` (p,)) and Hessian weights (into ``d_out`` (m,))."""
    return rw.call(rw.LOG_GHW, (X,), y, sw, w, None, lam, grad_out, d_out, None, 1.0, work,
                   "loss")


def logistic_hess_weights(X, y, sw, w, d_out):
    """Hessian weights ``d_i = sw_i s_i (1 - s_i)`` into ``d_out`` (m,)."""
    rw.call(rw.LOG_HW, (X,), y, sw, w, None, 0.0, None, d_out, None, 1.0, None, None)


def logistic_hvp(X, y, sw, w, v, lam, out, work):
    """Hessian at ``w`` times ``v`` into ``out`` (p,): one pass (z_i and <a_i, v> per row)."""
    rw.call(rw.LOG_HVP, (X,), y, sw, w, v, lam, out, None, None, 1.0, work, "hvp")


def logistic_loss_grad_rows(X, y, sw, w, lam, rows, scale, grad_out, work):
    """Loss and gradient over rows ``rows`` (k,), weights times ``scale``; L2 term once."""
    return rw.call(rw.LOG_GRAD, (X,), y, sw, w, None, lam, grad_out, None, rows, scale, work,
                   "loss")


# --- CSR ---------------------------------------------------------------------------------


def logistic_loss_csr(data, indices, indptr, n_features, y, sw, w, lam, work):
    """CSR twin of :func:`logistic_loss`."""
    return rw.call(rw.LOG_LOSS, (data, indices, indptr, n_features), y, sw, w, None, lam, None,
                   None, None, 1.0, work, "loss")


def logistic_loss_grad_csr(data, indices, indptr, n_features, y, sw, w, lam, grad_out, work):
    """CSR twin of :func:`logistic_loss_grad`."""
    return rw.call(rw.LOG_GRAD, (data, indices, indptr, n_features), y, sw, w, None, lam,
                   grad_out, None, None, 1.0, work, "loss")


def logistic_grad_hess_weights_csr(
    data, indices, indptr, n_features, y, sw, w, lam, grad_out, d_out, work
):
    """CSR twin of :func:`logistic_grad_hess_weights`."""
    return rw.call(rw.LOG_GHW, (data, indices, indptr, n_features), y, sw, w, None, lam,
                   grad_out, d_out, None, 1.0, work, "loss")


def logistic_hess_weights_csr(data, indices, indptr, n_features, y, sw, w, d_out):
    """CSR twin of :func:`logistic_hess_weights`."""
    rw.call(rw.LOG_HW, (data, indices, indptr, n_features), y, sw, w, None, 0.0, None, d_out,
            None, 1.0, None, None)


def logistic_hvp_csr(data, indices, indptr, n_features, y, sw, w, v, lam, out, work):
    """CSR twin of :func:`logistic_hvp`."""
    rw.call(rw.LOG_HVP, (data, indices, indptr, n_features), y, sw, w, v, lam, out, None, None,
            1.0, work, "hvp")


def logistic_loss_grad_rows_csr(
    data, indices, indptr, n_features, y, sw, w, lam, rows, scale, grad_out, work
):
    """CSR twin of :func:`logistic_loss_grad_rows`."""
    return rw.call(rw.LOG_GRAD, (data, indices, indptr, n_features), y, sw, w, None, lam,
                   grad_out, None, rows, scale, work, "loss")
