# cython: language_level=3
"""Cython (OpenMP) twins of the least-squares kernels (docs/contract.md).

With ``z_i = <a_i, w[:n]> + w[n]`` (the intercept only when ``p = n + 1``) and real
targets ``y_i``:

.. math::

    f(w) = \\sum_i \\frac{sw_i}{2} (z_i - y_i)^2 + \\frac{\\lambda}{2} \\|w_{:n}\\|^2,
    \\qquad
    \\nabla f(w) = \\tilde A^T (sw \\circ (z - y)) + \\lambda w_{:n}

    d_i = sw_i, \\qquad
    \\nabla^2 f(w) v = \\tilde A^T \\operatorname{diag}(sw) \\tilde A v + \\lambda v_{:n}

The loops are those of the logistic kernels (``_common.pxd``) with the squared loss as
the per-sample function, behind the same thin wrappers (arrays read and checked through
the NumPy C API, ``_args.pxd``; read-only inputs accepted), the GIL released for the
whole pass, float32 or float64 ``X``/``data`` (always accumulated in float64), int32 or
int64 CSR ``indices``/``indptr``. Reductions split the
rows into ``T = work.shape[0]`` contiguous chunks (fixed by the data's size), shared by
``min(T, fo.get_num_threads())`` OpenMP threads, and add the chunk partials in order: the
result depends on ``T`` only, never on the thread count. ``lsq_hvp`` does not read
``w`` or ``y`` (the Hessian of a quadratic is constant); they are in the signature so that
every objective calls its kernels the same way.
"""

cimport numpy as cnp
from libc.string cimport memcpy

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
from ._common cimport SQUARED

from fastopt import _config

cnp.import_array()

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


# --- dense -------------------------------------------------------------------------------


def lsq_loss(X, y, sw, w, double lam, work):
    """Least-squares loss ``f(w)``.

    Parameters
    ----------
    X : ndarray of shape (m, n), float32 or float64, C-contiguous
    y : ndarray of shape (m,), real targets
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
        f = dense_loss(SQUARED, &a, lam, NULL, 0, 1.0, NULL, NULL, a.T)
    return f


def lsq_loss_grad(X, y, sw, w, double lam, grad_out, work):
    """Loss and gradient in one pass over ``X``; the gradient goes into ``grad_out`` (p,)."""
    cdef Dense a
    cdef double f
    cdef double* g
    unpack_dense_pass(&a, X, y, sw, w, work, _config._NUM_THREADS)
    g = f64_out(grad_out, a.p, "grad_out")
    with nogil:
        f = dense_loss(SQUARED, &a, lam, NULL, 0, 1.0, g, NULL, a.T)
    return f


def lsq_grad_hess_weights(X, y, sw, w, double lam, grad_out, d_out, work):
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
        f = dense_loss(SQUARED, &a, lam, NULL, 0, 1.0, g, d, a.T)
    return f


def lsq_hess_weights(X, y, sw, w, d_out):
    """Hessian weights ``d_i = sw_i`` into ``d_out`` (m,); ``X`` is not read."""
    cdef Dense a
    unpack_dense_pass(&a, X, y, sw, w, None, 1)
    memcpy(f64_out(d_out, a.m, "d_out"), a.sw, a.m * sizeof(double))


def lsq_hvp(X, y, sw, w, v, double lam, out, work):
    """Hessian times ``v`` (p,) into ``out`` (p,): ``X~^T (sw * (X~ v)) + lam v[:n]``, one
    pass."""
    cdef Dense a
    cdef const double* pv
    cdef double* o
    unpack_dense_pass(&a, X, y, sw, w, work, _config._NUM_THREADS)
    pv = f64_in(v, a.p, "v")
    o = f64_out(out, a.p, "out")
    with nogil:
        dense_hvp(SQUARED, &a, pv, lam, o)


def lsq_loss_grad_rows(X, y, sw, w, double lam, rows, double scale, grad_out, work):
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
        f = dense_loss(SQUARED, &a, lam, r, k, scale, g, NULL, a.T)
    return f


# --- CSR ---------------------------------------------------------------------------------


def lsq_loss_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w, double lam,
                      work):
    """CSR twin of :func:`lsq_loss`."""
    cdef Csr a
    cdef double f
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, work,
                    _config._NUM_THREADS)
    a.work = NULL
    with nogil:
        f = csr_loss(SQUARED, &a, lam, NULL, 0, 1.0, NULL, NULL, a.T)
    return f


def lsq_loss_grad_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w,
                           double lam, grad_out, work):
    """CSR twin of :func:`lsq_loss_grad`."""
    cdef Csr a
    cdef double f
    cdef double* g
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, work,
                    _config._NUM_THREADS)
    g = f64_out(grad_out, a.p, "grad_out")
    with nogil:
        f = csr_loss(SQUARED, &a, lam, NULL, 0, 1.0, g, NULL, a.T)
    return f


def lsq_grad_hess_weights_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w,
                                   double lam, grad_out, d_out, work):
    """CSR twin of :func:`lsq_grad_hess_weights`."""
    cdef Csr a
    cdef double f
    cdef double* g
    cdef double* d
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, work,
                    _config._NUM_THREADS)
    g = f64_out(grad_out, a.p, "grad_out")
    d = f64_out(d_out, a.m, "d_out")
    with nogil:
        f = csr_loss(SQUARED, &a, lam, NULL, 0, 1.0, g, d, a.T)
    return f


def lsq_hess_weights_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w, d_out):
    """CSR twin of :func:`lsq_hess_weights` (``d_out = sw``; the matrix is not read)."""
    cdef Csr a
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, None, 1)
    memcpy(f64_out(d_out, a.m, "d_out"), a.sw, a.m * sizeof(double))


def lsq_hvp_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w, v, double lam,
                     out, work):
    """CSR twin of :func:`lsq_hvp`."""
    cdef Csr a
    cdef const double* pv
    cdef double* o
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, work,
                    _config._NUM_THREADS)
    pv = f64_in(v, a.p, "v")
    o = f64_out(out, a.p, "out")
    with nogil:
        csr_hvp(SQUARED, &a, pv, lam, o)


def lsq_loss_grad_rows_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w,
                                double lam, rows, double scale, grad_out, work):
    """CSR twin of :func:`lsq_loss_grad_rows`."""
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
        f = csr_loss(SQUARED, &a, lam, r, k, scale, g, NULL, a.T)
    return f
