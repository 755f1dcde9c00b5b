# cython: language_level=3
"""Cython (OpenMP) twins of the logistic-regression kernels (docs/contract.md).

With ``z_i = <a_i, w[:n]> + w[n]`` (the intercept only when ``p = n + 1``) and labels
``y_i`` in {-1, +1}:

.. math::

    f(w) = \\sum_i sw_i \\log(1 + e^{-y_i z_i}) + \\frac{\\lambda}{2} \\|w_{:n}\\|^2,
    \\qquad
    \\nabla f(w) = -\\sum_i sw_i y_i \\sigma(-y_i z_i) \\tilde a_i + \\lambda w_{:n}

    d_i = sw_i \\sigma(y_i z_i) \\sigma(-y_i z_i), \\qquad
    \\nabla^2 f(w) v = \\tilde A^T \\operatorname{diag}(d) \\tilde A v + \\lambda v_{:n}

Every function is a thin wrapper: its arrays' data pointers, dtypes and shapes are read
through the NumPy C API and checked (``_args.pxd``: exact dtypes, C order, long enough
for the pass; read-only inputs are accepted), then handed to the shared loops of
``_common.pxd`` with the GIL released for the whole pass. ``X``/``data`` may be float32
or float64 (always accumulated in float64); CSR ``indices``/``indptr`` may be int32 or
int64. Reductions split the rows into ``T = work.shape[0]`` contiguous chunks (fixed by the
data's size, ``fastopt._config.n_chunks``), shared by ``min(T, fo.get_num_threads())``
OpenMP threads, and add the chunk partials in order: the result depends on ``T`` only,
so it is bitwise the same for any thread count. The Hessian-weight kernels (no
reduction, no ``work``) use one chunk per thread: any split gives the same values.
"""

cimport numpy as cnp

from ._args cimport (
    Csr,
    Dense,
    csr_hvp,
    csr_loss,
    dense_hvp,
    dense_loss,
    f64_in,
    f64_out,
    rows_in,
    unpack_csr_pass,
    unpack_dense_pass,
)
from ._common cimport LOGISTIC

from fastopt import _config

cnp.import_array()

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


def logistic_loss(X, y, sw, w, double lam, work):
    """Logistic loss ``f(w)``.

    Parameters
    ----------
    X : ndarray of shape (m, n), float32 or float64, C-contiguous
    y : ndarray of shape (m,), labels in {-1, +1}
    sw : ndarray of shape (m,), normalized sample weights
    w : ndarray of shape (p,), p = n or n + 1 (``w[n]`` is the intercept)
    lam : float, L2 strength on ``w[:n]``
    work : ndarray of shape (T, p), float64; its first dimension sets the chunks

    Returns
    -------
    float
    """
    cdef Dense a
    cdef double f
    unpack_dense_pass(&a, X, y, sw, w, work, _config._NUM_THREADS)
    a.work = NULL  # no gradient: the chunks reduce only their losses
    with nogil:
        f = dense_loss(LOGISTIC, &a, lam, NULL, 0, 1.0, NULL, NULL, a.T)
    return f


def logistic_loss_grad(X, y, sw, w, double lam, grad_out, work):
    """Loss and gradient in one pass over ``X``; the gradient goes into ``grad_out`` (p,)."""
    cdef Dense a
    cdef double f
    cdef double* g
    unpack_dense_pass(&a, X, y, sw, w, work, _config._NUM_THREADS)
    g = f64_out(grad_out, a.p, "grad_out")
    with nogil:
        f = dense_loss(LOGISTIC, &a, lam, NULL, 0, 1.0, g, NULL, a.T)
    return f


def logistic_grad_hess_weights(X, y, sw, w, double lam, grad_out, d_out, work):
    """Loss, gradient (into ``grad_out`` (p,)) and Hessian weights (into ``d_out`` (m,)),
    one pass."""
    cdef Dense a
    cdef double f
    cdef double* g
    cdef double* d
    unpack_dense_pass(&a, X, y, sw, w, work, _config._NUM_THREADS)
    g = f64_out(grad_out, a.p, "grad_out")
    d = f64_out(d_out, a.m, "d_out")
    with nogil:
        f = dense_loss(LOGISTIC, &a, lam, NULL, 0, 1.0, g, d, a.T)
    return f


def logistic_hess_weights(X, y, sw, w, d_out):
    """Hessian weights ``d_i = sw_i s_i (1 - s_i)``, ``s_i = sigma(y_i z_i)``, into ``d_out``."""
    cdef Dense a
    cdef double* d
    cdef int nt = _config._NUM_THREADS  # a map: one chunk per thread, any split is exact
    unpack_dense_pass(&a, X, y, sw, w, None, nt)
    d = f64_out(d_out, a.m, "d_out")
    with nogil:
        dense_loss(LOGISTIC, &a, 0.0, NULL, 0, 1.0, NULL, d, nt)


def logistic_hvp(X, y, sw, w, v, double lam, out, work):
    """Hessian at ``w`` times ``v`` (both (p,)) into ``out`` (p,); one pass (z_i and
    <a_i, v> from one read of each row)."""
    cdef Dense a
    cdef const double* pv
    cdef double* o
    unpack_dense_pass(&a, X, y, sw, w, work, _config._NUM_THREADS)
    pv = f64_in(v, a.p, "v")
    o = f64_out(out, a.p, "out")
    with nogil:
        dense_hvp(LOGISTIC, &a, pv, lam, o)


def logistic_loss_grad_rows(X, y, sw, w, double lam, rows, double scale, grad_out, work):
    """Loss and gradient over the rows ``rows`` (k,) of ``X`` (no copy), each weight
    multiplied by ``scale``; the L2 term is added once."""
    cdef Dense a
    cdef double f
    cdef double* g
    cdef const long long* r
    cdef Py_ssize_t k
    unpack_dense_pass(&a, X, y, sw, w, work, _config._NUM_THREADS)
    g = f64_out(grad_out, a.p, "grad_out")
    r = rows_in(rows, &k)
    with nogil:
        f = dense_loss(LOGISTIC, &a, lam, r, k, scale, g, NULL, a.T)
    return f


# --- CSR ---------------------------------------------------------------------------------


def logistic_loss_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w, double lam,
                      work):
    """CSR twin of :func:`logistic_loss`."""
    cdef Csr a
    cdef double f
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, work,
                    _config._NUM_THREADS)
    a.work = NULL
    with nogil:
        f = csr_loss(LOGISTIC, &a, lam, NULL, 0, 1.0, NULL, NULL, a.T)
    return f


def logistic_loss_grad_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w,
                           double lam, grad_out, work):
    """CSR twin of :func:`logistic_loss_grad`."""
    cdef Csr a
    cdef double f
    cdef double* g
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, work,
                    _config._NUM_THREADS)
    g = f64_out(grad_out, a.p, "grad_out")
    with nogil:
        f = csr_loss(LOGISTIC, &a, lam, NULL, 0, 1.0, g, NULL, a.T)
    return f


def logistic_grad_hess_weights_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w,
                                   double lam, grad_out, d_out, work):
    """CSR twin of :func:`logistic_grad_hess_weights`."""
    cdef Csr a
    cdef double f
    cdef double* g
    cdef double* d
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, work,
                    _config._NUM_THREADS)
    g = f64_out(grad_out, a.p, "grad_out")
    d = f64_out(d_out, a.m, "d_out")
    with nogil:
        f = csr_loss(LOGISTIC, &a, lam, NULL, 0, 1.0, g, d, a.T)
    return f


def logistic_hess_weights_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w,
                              d_out):
    """CSR twin of :func:`logistic_hess_weights`."""
    cdef Csr a
    cdef double* d
    cdef int nt = _config._NUM_THREADS  # a map: one chunk per thread, any split is exact
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, None, nt)
    d = f64_out(d_out, a.m, "d_out")
    with nogil:
        csr_loss(LOGISTIC, &a, 0.0, NULL, 0, 1.0, NULL, d, nt)


def logistic_hvp_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w, v, double lam,
                     out, work):
    """CSR twin of :func:`logistic_hvp`."""
    cdef Csr a
    cdef const double* pv
    cdef double* o
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, work,
                    _config._NUM_THREADS)
    pv = f64_in(v, a.p, "v")
    o = f64_out(out, a.p, "out")
    with nogil:
        csr_hvp(LOGISTIC, &a, pv, lam, o)


def logistic_loss_grad_rows_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w,
                                double lam, rows, double scale, grad_out, work):
    """CSR twin of :func:`logistic_loss_grad_rows`."""
    cdef Csr a
    cdef double f
    cdef double* g
    cdef const long long* r
    cdef Py_ssize_t k
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, work,
                    _config._NUM_THREADS)
    g = f64_out(grad_out, a.p, "grad_out")
    r = rows_in(rows, &k)
    with nogil:
        f = csr_loss(LOGISTIC, &a, lam, r, k, scale, g, NULL, a.T)
    return f
