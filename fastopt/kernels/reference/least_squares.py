"""NumPy reference twins of the least-squares kernels (the oracle of the tests).

Objective (docs/contract.md), with ``z_i = <a_i, w[:n]> + w[n]`` (intercept when
``p = n + 1``) and real targets ``y_i``:

.. math::

    f(w) = \\sum_i \\frac{sw_i}{2} (z_i - y_i)^2 + \\frac{\\lambda}{2} \\|w_{:n}\\|^2,
    \\qquad \\nabla f(w) = \\tilde A^T (sw \\circ (z - y)) + \\lambda w_{:n}

    d_i = sw_i, \\qquad \\nabla^2 f(w) v = \\tilde A^T \\operatorname{diag}(sw) \\tilde A v
    + \\lambda v_{:n}

Vectorized NumPy/SciPy with float64 accumulation; ``work`` is accepted and ignored. CSR
twins (suffix ``_csr``) take ``data, indices, indptr, n_features`` in place of ``X``.
"""

from __future__ import annotations

from .gram import add_l2, as_csr, linear_predictor, transpose_product

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


def _loss(A, y, sw, w, lam):
    r = linear_predictor(A, w) - y
    return 0.5 * float(sw @ (r * r)) + add_l2(None, w, A.shape[1], lam)


def _loss_grad(A, y, sw, w, lam, grad_out):
    r = linear_predictor(A, w) - y
    transpose_product(A, sw * r, grad_out)
    return 0.5 * float(sw @ (r * r)) + add_l2(grad_out, w, A.shape[1], lam)


def _grad_hess_weights(A, y, sw, w, lam, grad_out, d_out):
    d_out[:] = sw
    return _loss_grad(A, y, sw, w, lam, grad_out)


def _hvp(A, sw, v, lam, out):
    transpose_product(A, sw * linear_predictor(A, v), out)
    add_l2(out, v, A.shape[1], lam)


def _loss_grad_rows(A, y, sw, w, lam, rows, scale, grad_out):
    return _loss_grad(A[rows], y[rows], sw[rows] * scale, w, lam, grad_out)


# --- dense -------------------------------------------------------------------------------


def lsq_loss(X, y, sw, w, lam, work):
    """Least-squares loss ``f(w)``.

    Parameters
    ----------
    X : ndarray of shape (m, n), float32 or float64
    y : ndarray of shape (m,), real targets
    sw : ndarray of shape (m,), normalized sample weights
    w : ndarray of shape (p,), p = n or n + 1 (``w[n]`` is the intercept)
    lam : float, L2 strength on ``w[:n]``
    work : ndarray of shape (T, p), ignored here

    Returns
    -------
    float
    """
    return _loss(X, y, sw, w, lam)


def lsq_loss_grad(X, y, sw, w, lam, grad_out, work):
    """Loss and gradient; the gradient is written into ``grad_out`` of shape (p,)."""
    return _loss_grad(X, y, sw, w, lam, grad_out)


def lsq_grad_hess_weights(X, y, sw, w, lam, grad_out, d_out, work):
    """Loss, gradient (into ``grad_out``) and Hessian weights ``d = sw`` (into ``d_out``)."""
    return _grad_hess_weights(X, y, sw, w, lam, grad_out, d_out)


def lsq_hess_weights(X, y, sw, w, d_out):
    """Hessian weights of least squares: ``d_out = sw`` (independent of ``w``)."""
    d_out[:] = sw


def lsq_hvp(X, y, sw, w, v, lam, out, work):
    """Hessian times ``v`` (p,): ``X~^T diag(sw) X~ v + lam v[:n]``, into ``out`` (p,)."""
    _hvp(X, sw, v, lam, out)


def lsq_loss_grad_rows(X, y, sw, w, lam, rows, scale, grad_out, work):
    """Loss and gradient over rows ``rows`` (k,), weights multiplied by ``scale``; L2 once."""
    return _loss_grad_rows(X, y, sw, w, lam, rows, scale, grad_out)


# --- CSR ---------------------------------------------------------------------------------


def lsq_loss_csr(data, indices, indptr, n_features, y, sw, w, lam, work):
    """CSR twin of :func:`lsq_loss`."""
    return _loss(as_csr(data, indices, indptr, n_features), y, sw, w, lam)


def lsq_loss_grad_csr(data, indices, indptr, n_features, y, sw, w, lam, grad_out, work):
    """CSR twin of :func:`lsq_loss_grad`."""
    return _loss_grad(as_csr(data, indices, indptr, n_features), y, sw, w, lam, grad_out)


def lsq_grad_hess_weights_csr(
    data, indices, indptr, n_features, y, sw, w, lam, grad_out, d_out, work
):
    """CSR twin of :func:`lsq_grad_hess_weights`."""
    A = as_csr(data, indices, indptr, n_features)
    return _grad_hess_weights(A, y, sw, w, lam, grad_out, d_out)


def lsq_hess_weights_csr(data, indices, indptr, n_features, y, sw, w, d_out):
    """CSR twin of :func:`lsq_hess_weights`."""
    d_out[:] = sw


def lsq_hvp_csr(data, indices, indptr, n_features, y, sw, w, v, lam, out, work):
    """CSR twin of :func:`lsq_hvp`."""
    _hvp(as_csr(data, indices, indptr, n_features), sw, v, lam, out)


def lsq_loss_grad_rows_csr(
    data, indices, indptr, n_features, y, sw, w, lam, rows, scale, grad_out, work
):
    """CSR twin of :func:`lsq_loss_grad_rows`."""
    A = as_csr(data, indices, indptr, n_features)
    return _loss_grad_rows(A, y, sw, w, lam, rows, scale, grad_out)
