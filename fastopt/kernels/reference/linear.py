"""NumPy reference linear-model kernels, generic in the loss (the oracle of the tests).

Every kernel takes the loss's integer code first (:mod:`fastopt.kernels.losses`). With
``z_i = <a_i, w[:n]> + w[n]`` (the intercept term only when ``p = n + 1``):

.. math::

    f(w) = \\sum_i sw_i \\, l(z_i, y_i) + \\frac{\\lambda}{2} \\|w_{:n}\\|^2

    \\nabla f(w) = \\sum_i sw_i \\, l'(z_i, y_i) \\tilde a_i + \\lambda w_{:n}

    d_i = sw_i \\, l''(z_i, y_i),
    \\qquad \\nabla^2 f(w) v = \\tilde A^T \\operatorname{diag}(d) \\tilde A v + \\lambda v_{:n}

where ``a~_i = [a_i, 1]`` with an intercept and, per loss (derivatives in z):

* logistic (y in {-1, +1}): ``l = log(1 + e^{-y z})``, ``l' = -y sigma(-y z)``,
  ``l'' = sigma(z) sigma(-z)``;
* squared: ``l = (z - y)^2 / 2``, ``l' = z - y``, ``l'' = 1``;
* Poisson (y >= 0, log link): ``l = e^z - y z``, ``l' = e^z - y``, ``l'' = e^z``.

:func:`row_loss`, :func:`row_dloss` and :func:`row_curvature` are those per-row
formulas, the only place they are written in NumPy: the kernels below and the objectives'
O(m) line-search helpers (``loss_from_predictor``) both use them. These functions favour
clarity over speed: vectorized NumPy/SciPy, float64 accumulation, the stable
``np.logaddexp`` and ``scipy.special.expit`` (no warning for any finite z; Poisson's
``exp`` overflows to inf, silently, above z ~ 709). The ``work`` argument of the
contract is accepted and ignored.

Every dense kernel has a CSR twin (suffix ``_csr``) taking ``data, indices, indptr,
n_features`` in place of ``X``; both call the same private function on a linear operator
(an ndarray or a ``scipy.sparse.csr_matrix``) so the two cannot drift apart.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ..losses import LOGISTIC, POISSON, SQUARED
from .gram import add_l2, as_csr, linear_predictor, transpose_product

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


# --- per-row math of every loss ------------------------------------------------------------


def _exp(z):
    with np.errstate(over="ignore"):  # inf is the right value of e^z for z > ~709
        return np.exp(z)


def row_loss(loss: int, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Per-row loss ``l(z_i, y_i)``, shape (m,), stable for every finite z."""
    if loss == LOGISTIC:
        return np.logaddexp(0.0, -y * z)
    if loss == SQUARED:
        r = z - y
        return 0.5 * (r * r)
    if loss == POISSON:
        return _exp(z) - y * z
    raise ValueError(f"unknown loss code {loss!r}")


def row_dloss(loss: int, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Per-row derivative ``dl/dz (z_i, y_i)``, shape (m,)."""
    if loss == LOGISTIC:
        return -y * expit(-y * z)
    if loss == SQUARED:
        return z - y
    if loss == POISSON:
        return _exp(z) - y
    raise ValueError(f"unknown loss code {loss!r}")


def row_curvature(loss: int, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Per-row second derivative ``d2l/dz2 (z_i, y_i)``, shape (m,)."""
    if loss == LOGISTIC:
        t = y * z  # sigma(t) sigma(-t), symmetric in t: the same for y = +-1
        return expit(t) * expit(-t)
    if loss == SQUARED:
        return np.ones_like(z)
    if loss == POISSON:
        return _exp(z)
    raise ValueError(f"unknown loss code {loss!r}")


# --- passes over a linear operator A (ndarray or CSR) ----------------------------------------


def _loss(loss, A, y, sw, w, lam):
    z = linear_predictor(A, w)
    return float(sw @ row_loss(loss, y, z)) + add_l2(None, w, A.shape[1], lam)


def _loss_grad(loss, A, y, sw, w, lam, grad_out):
    z = linear_predictor(A, w)
    transpose_product(A, sw * row_dloss(loss, y, z), grad_out)
    return float(sw @ row_loss(loss, y, z)) + add_l2(grad_out, w, A.shape[1], lam)


def _grad_hess_weights(loss, A, y, sw, w, lam, grad_out, d_out):
    z = linear_predictor(A, w)
    d_out[:] = sw * row_curvature(loss, y, z)
    transpose_product(A, sw * row_dloss(loss, y, z), grad_out)
    return float(sw @ row_loss(loss, y, z)) + add_l2(grad_out, w, A.shape[1], lam)


def _hess_weights(loss, A, y, sw, w, d_out):
    d_out[:] = sw * row_curvature(loss, y, linear_predictor(A, w))


def _hvp(loss, A, y, sw, w, v, lam, out):
    d = sw * row_curvature(loss, y, linear_predictor(A, w))
    transpose_product(A, d * linear_predictor(A, v), out)
    add_l2(out, v, A.shape[1], lam)


def _loss_grad_rows(loss, A, y, sw, w, lam, rows, scale, grad_out):
    return _loss_grad(loss, A[rows], y[rows], sw[rows] * scale, w, lam, grad_out)


# --- dense -------------------------------------------------------------------------------


def linear_loss(loss, X, y, sw, w, lam, work):
    """Loss ``f(w)`` of the loss of code ``loss``.

    Parameters
    ----------
    loss : int, a code of :mod:`fastopt.kernels.losses`
    X : ndarray of shape (m, n), float32 or float64
    y : ndarray of shape (m,), targets (as the loss requires)
    sw : ndarray of shape (m,), normalized sample weights
    w : ndarray of shape (p,), p = n or n + 1 (``w[n]`` is the intercept)
    lam : float, L2 strength on ``w[:n]``
    work : ndarray of shape (T, p), ignored here

    Returns
    -------
    float
    """
    return _loss(loss, X, y, sw, w, lam)


def linear_loss_grad(loss, X, y, sw, w, lam, grad_out, work):
    """Loss and gradient; the gradient is written into ``grad_out`` of shape (p,)."""
    return _loss_grad(loss, X, y, sw, w, lam, grad_out)


def linear_grad_hess_weights(loss, X, y, sw, w, lam, grad_out, d_out, work):
    """Loss, gradient (into ``grad_out`` (p,)) and Hessian weights (into ``d_out`` (m,))."""
    return _grad_hess_weights(loss, X, y, sw, w, lam, grad_out, d_out)


def linear_hess_weights(loss, X, y, sw, w, d_out):
    """Hessian weights ``d_i = sw_i l''(z_i, y_i)`` into ``d_out`` (m,)."""
    _hess_weights(loss, X, y, sw, w, d_out)


def linear_hvp(loss, X, y, sw, w, v, lam, out, work):
    """Hessian at ``w`` times ``v`` (both (p,)), into ``out`` (p,)."""
    _hvp(loss, X, y, sw, w, v, lam, out)


def linear_loss_grad_rows(loss, X, y, sw, w, lam, rows, scale, grad_out, work):
    """Loss and gradient over the rows ``rows`` (k,), each weight multiplied by ``scale``.

    The L2 term is added once.
    """
    return _loss_grad_rows(loss, X, y, sw, w, lam, rows, scale, grad_out)


# --- CSR ---------------------------------------------------------------------------------


def linear_loss_csr(loss, data, indices, indptr, n_features, y, sw, w, lam, work):
    """CSR twin of :func:`linear_loss`."""
    return _loss(loss, as_csr(data, indices, indptr, n_features), y, sw, w, lam)


def linear_loss_grad_csr(loss, data, indices, indptr, n_features, y, sw, w, lam, grad_out,
                         work):
    """CSR twin of :func:`linear_loss_grad`."""
    A = as_csr(data, indices, indptr, n_features)
    return _loss_grad(loss, A, y, sw, w, lam, grad_out)


def linear_grad_hess_weights_csr(
    loss, data, indices, indptr, n_features, y, sw, w, lam, grad_out, d_out, work
):
    """CSR twin of :func:`linear_grad_hess_weights`."""
    A = as_csr(data, indices, indptr, n_features)
    return _grad_hess_weights(loss, A, y, sw, w, lam, grad_out, d_out)


def linear_hess_weights_csr(loss, data, indices, indptr, n_features, y, sw, w, d_out):
    """CSR twin of :func:`linear_hess_weights`."""
    _hess_weights(loss, as_csr(data, indices, indptr, n_features), y, sw, w, d_out)


def linear_hvp_csr(loss, data, indices, indptr, n_features, y, sw, w, v, lam, out, work):
    """CSR twin of :func:`linear_hvp`."""
    _hvp(loss, as_csr(data, indices, indptr, n_features), y, sw, w, v, lam, out)


def linear_loss_grad_rows_csr(
    loss, data, indices, indptr, n_features, y, sw, w, lam, rows, scale, grad_out, work
):
    """CSR twin of :func:`linear_loss_grad_rows`."""
    A = as_csr(data, indices, indptr, n_features)
    return _loss_grad_rows(loss, A, y, sw, w, lam, rows, scale, grad_out)
