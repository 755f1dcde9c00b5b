"""NumPy reference twins of the logistic-regression kernels (the oracle of the tests).

Objective (docs/contract.md), with ``z_i = <a_i, w[:n]> + w[n]`` (the intercept term only
when ``p = n + 1``) and labels ``y_i`` in {-1, +1}:

.. math::

    f(w) = \\sum_i sw_i \\log(1 + e^{-y_i z_i}) + \\frac{\\lambda}{2} \\|w_{:n}\\|^2

    \\nabla f(w) = -\\sum_i sw_i y_i (1 - \\sigma(y_i z_i)) \\tilde a_i + \\lambda w_{:n}

    d_i = sw_i \\sigma(y_i z_i) (1 - \\sigma(y_i z_i)),
    \\qquad \\nabla^2 f(w) v = \\tilde A^T \\operatorname{diag}(d) \\tilde A v + \\lambda v_{:n}

where ``a~_i = [a_i, 1]`` with an intercept. These functions favour clarity over speed:
they are vectorized NumPy/SciPy, accumulate in float64 and use the stable
``np.logaddexp`` and ``scipy.special.expit``, so no warning is raised for any finite z.
The ``work`` argument of the contract is accepted and ignored.

Every dense kernel has a CSR twin (suffix ``_csr``) taking ``data, indices, indptr,
n_features`` in place of ``X``; both call the same private function on a linear operator
(an ndarray or a ``scipy.sparse.csr_matrix``) so the two cannot drift apart.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .gram import add_l2, as_csr, linear_predictor, transpose_product

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


def _loss_terms(y, z):
    """Per-row ``log(1 + exp(-y z))``, stable for every finite z."""
    return np.logaddexp(0.0, -y * z)


def _grad_coefs(y, sw, z):
    """Per-row ``d f / d z_i = -sw_i y_i sigma(-y_i z_i)``."""
    return -sw * y * expit(-y * z)


def _curvatures(y, sw, z):
    """Per-row Hessian weights ``sw_i sigma(t)(1 - sigma(t))``, t = y z (symmetric in t)."""
    t = y * z
    return sw * expit(t) * expit(-t)


def _loss(A, y, sw, w, lam):
    z = linear_predictor(A, w)
    return float(sw @ _loss_terms(y, z)) + add_l2(None, w, A.shape[1], lam)


def _loss_grad(A, y, sw, w, lam, grad_out):
    z = linear_predictor(A, w)
    transpose_product(A, _grad_coefs(y, sw, z), grad_out)
    return float(sw @ _loss_terms(y, z)) + add_l2(grad_out, w, A.shape[1], lam)


def _grad_hess_weights(A, y, sw, w, lam, grad_out, d_out):
    z = linear_predictor(A, w)
    d_out[:] = _curvatures(y, sw, z)
    transpose_product(A, _grad_coefs(y, sw, z), grad_out)
    return float(sw @ _loss_terms(y, z)) + add_l2(grad_out, w, A.shape[1], lam)


def _hess_weights(A, y, sw, w, d_out):
    d_out[:] = _curvatures(y, sw, linear_predictor(A, w))


def _hvp(A, y, sw, w, v, lam, out):
    d = _curvatures(y, sw, linear_predictor(A, w))
    transpose_product(A, d * linear_predictor(A, v), out)
    add_l2(out, v, A.shape[1], lam)


def _loss_grad_rows(A, y, sw, w, lam, rows, scale, grad_out):
    return _loss_grad(A[rows], y[rows], sw[rows] * scale, w, lam, grad_out)


# --- dense -------------------------------------------------------------------------------


def logistic_loss(X, y, sw, w, lam, work):
    """Logistic loss ``f(w)``.

    Parameters
    ----------
    X : ndarray of shape (m, n), float32 or float64
    y : ndarray of shape (m,), labels in {-1, +1}
    sw : ndarray of shape (m,), normalized sample weights
    w : ndarray of shape (p,), p = n or n + 1 (``w[n]`` is the intercept)
    lam : float, L2 strength on ``w[:n]``
    work : ndarray of shape (T, p), ignored here

    Returns
    -------
    float
    """
    return _loss(X, y, sw, w, lam)


def logistic_loss_grad(X, y, sw, w, lam, grad_out, work):
    """Loss and gradient; the gradient is written into ``grad_out`` of shape (p,)."""
    return _loss_grad(X, y, sw, w, lam, grad_out)


def logistic_grad_hess_weights(X, y, sw, w, lam, grad_out, d_out, work):
    """Loss, gradient (into ``grad_out`` (p,)) and Hessian weights (into ``d_out`` (m,))."""
    return _grad_hess_weights(X, y, sw, w, lam, grad_out, d_out)


def logistic_hess_weights(X, y, sw, w, d_out):
    """Hessian weights ``d_i = sw_i s_i (1 - s_i)``, ``s_i = sigma(y_i z_i)``, into ``d_out``."""
    _hess_weights(X, y, sw, w, d_out)


def logistic_hvp(X, y, sw, w, v, lam, out, work):
    """Hessian at ``w`` times ``v`` (both (p,)), into ``out`` (p,)."""
    _hvp(X, y, sw, w, v, lam, out)


def logistic_loss_grad_rows(X, y, sw, w, lam, rows, scale, grad_out, work):
    """Loss and gradient over the rows ``rows`` (k,), each weight multiplied by ``scale``.

    The L2 term is added once.
    """
    return _loss_grad_rows(X, y, sw, w, lam, rows, scale, grad_out)


# --- CSR ---------------------------------------------------------------------------------


def logistic_loss_csr(data, indices, indptr, n_features, y, sw, w, lam, work):
    """CSR twin of :func:`logistic_loss`."""
    return _loss(as_csr(data, indices, indptr, n_features), y, sw, w, lam)


def logistic_loss_grad_csr(data, indices, indptr, n_features, y, sw, w, lam, grad_out, work):
    """CSR twin of :func:`logistic_loss_grad`."""
    return _loss_grad(as_csr(data, indices, indptr, n_features), y, sw, w, lam, grad_out)


def logistic_grad_hess_weights_csr(
    data, indices, indptr, n_features, y, sw, w, lam, grad_out, d_out, work
):
    """CSR twin of :func:`logistic_grad_hess_weights`."""
    A = as_csr(data, indices, indptr, n_features)
    return _grad_hess_weights(A, y, sw, w, lam, grad_out, d_out)


def logistic_hess_weights_csr(data, indices, indptr, n_features, y, sw, w, d_out):
    """CSR twin of :func:`logistic_hess_weights`."""
    _hess_weights(as_csr(data, indices, indptr, n_features), y, sw, w, d_out)


def logistic_hvp_csr(data, indices, indptr, n_features, y, sw, w, v, lam, out, work):
    """CSR twin of :func:`logistic_hvp`."""
    _hvp(as_csr(data, indices, indptr, n_features), y, sw, w, v, lam, out)


def logistic_loss_grad_rows_csr(
    data, indices, indptr, n_features, y, sw, w, lam, rows, scale, grad_out, work
):
    """CSR twin of :func:`logistic_loss_grad_rows`."""
    A = as_csr(data, indices, indptr, n_features)
    return _loss_grad_rows(A, y, sw, w, lam, rows, scale, grad_out)

