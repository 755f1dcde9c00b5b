# cython: language_level=3
"""Cython (OpenMP) linear-model kernels, generic in the loss (docs/contract.md).

Every kernel takes the loss's integer code first (``fastopt.kernels.losses``: 0 logistic,
1 squared, 2 Poisson; the C constants come from ``_loss_codes.pxd``, which ``setup.py``
generates from that table). With ``z_i = <a_i, w[:n]> + w[n]`` (the intercept only when
``p = n + 1``) and the loss ``l(z, y)`` of the code:

.. math::

    f(w) = \\sum_i sw_i \\, l(z_i, y_i) + \\frac{\\lambda}{2} \\|w_{:n}\\|^2,
    \\qquad
    \\nabla f(w) = \\sum_i sw_i \\, l'(z_i, y_i) \\tilde a_i + \\lambda w_{:n}

    d_i = sw_i \\, l''(z_i, y_i), \\qquad
    \\nabla^2 f(w) v = \\tilde A^T \\operatorname{diag}(d) \\tilde A v + \\lambda v_{:n}

The per-row math of each loss is ``block_coefs``/``block_hvp_coefs`` in ``_common.pxd``,
its only place in this backend. Every function here is a thin wrapper: its arrays' data
pointers, dtypes and shapes are read through the NumPy C API and checked (``_args.pxd``:
exact dtypes, C order, long enough for the pass; read-only inputs are accepted), the
loss code is checked against the table, and the shared loops run with the GIL released for
the whole pass. ``X``/``data`` may be float32 or float64 (always accumulated in float64);
CSR ``indices``/``indptr`` may be int32 or int64. Reductions split the rows into
``T = work.shape[0]`` contiguous chunks (fixed by the data's size,
``fastopt._config.n_chunks``), shared by ``min(T, fo.get_num_threads())`` OpenMP threads,
and add the chunk partials in order: the result depends on ``T`` only, so it is bitwise
the same for any thread count. The Hessian-weight kernels (no reduction, no ``work``)
use one chunk per thread: any split gives the same values.
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
from ._loss_codes cimport CONSTANT_CURVATURE_MASK, N_LOSSES

from fastopt import _config

cnp.import_array()

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


cdef inline int check_loss(int loss) except -1:
    # O(1): a code outside the table would silently run the squared loss's branch
    if loss < 0 or loss >= N_LOSSES:
        raise ValueError(f"loss must be a loss code in [0, {N_LOSSES}); got {loss}")
    return loss


cdef inline bint constant_curvature(int loss) noexcept nogil:
    """l'' == 1 for every row (squared loss): the Hessian weights are sw, no pass."""
    return (CONSTANT_CURVATURE_MASK >> loss) & 1


# --- dense -------------------------------------------------------------------------------


def linear_loss(int loss, X, y, sw, w, double lam, work):
    """Loss ``f(w)`` of the loss of code ``loss``.

    Parameters
    ----------
    loss : int, a code of ``fastopt.kernels.losses``
    X : ndarray of shape (m, n), float32 or float64, C-contiguous
    y : ndarray of shape (m,), float64 targets (as the loss requires)
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
    check_loss(loss)
    unpack_dense_pass(&a, X, y, sw, w, work, _config._NUM_THREADS)
    a.work = NULL  # no gradient: the chunks reduce only their losses
    with nogil:
        f = dense_loss(loss, &a, lam, NULL, 0, 1.0, NULL, NULL, a.T)
    return f


def linear_loss_grad(int loss, X, y, sw, w, double lam, grad_out, work):
    """Loss and gradient in one pass over ``X``; the gradient goes into ``grad_out`` (p,)."""
    cdef Dense a
    cdef double f
    cdef double* g
    check_loss(loss)
    unpack_dense_pass(&a, X, y, sw, w, work, _config._NUM_THREADS)
    g = f64_out(grad_out, a.p, "grad_out")
    with nogil:
        f = dense_loss(loss, &a, lam, NULL, 0, 1.0, g, NULL, a.T)
    return f


def linear_grad_hess_weights(int loss, X, y, sw, w, double lam, grad_out, d_out, work):
    """Loss, gradient (into ``grad_out`` (p,)) and Hessian weights (into ``d_out`` (m,)),
    one pass."""
    cdef Dense a
    cdef double f
    cdef double* g
    cdef double* d
    check_loss(loss)
    unpack_dense_pass(&a, X, y, sw, w, work, _config._NUM_THREADS)
    g = f64_out(grad_out, a.p, "grad_out")
    d = f64_out(d_out, a.m, "d_out")
    with nogil:
        f = dense_loss(loss, &a, lam, NULL, 0, 1.0, g, d, a.T)
    return f


def linear_hess_weights(int loss, X, y, sw, w, d_out):
    """Hessian weights ``d_i = sw_i l''(z_i, y_i)`` into ``d_out`` (m,) (a copy of ``sw``
    for a loss of constant curvature, without reading ``X``)."""
    cdef Dense a
    cdef double* d
    cdef int nt = _config._NUM_THREADS  # a map: one chunk per thread, any split is exact
    check_loss(loss)
    unpack_dense_pass(&a, X, y, sw, w, None, nt)
    d = f64_out(d_out, a.m, "d_out")
    if constant_curvature(loss):
        memcpy(d, a.sw, a.m * sizeof(double))
        return
    with nogil:
        dense_loss(loss, &a, 0.0, NULL, 0, 1.0, NULL, d, nt)


def linear_hvp(int loss, X, y, sw, w, v, double lam, out, work):
    """Hessian at ``w`` times ``v`` (both (p,)) into ``out`` (p,); one pass (z_i and
    <a_i, v> from one read of each row; only <a_i, v> for a constant curvature)."""
    cdef Dense a
    cdef const double* pv
    cdef double* o
    check_loss(loss)
    unpack_dense_pass(&a, X, y, sw, w, work, _config._NUM_THREADS)
    pv = f64_in(v, a.p, "v")
    o = f64_out(out, a.p, "out")
    with nogil:
        dense_hvp(loss, &a, pv, lam, o)


def linear_loss_grad_rows(int loss, X, y, sw, w, double lam, rows, double scale, grad_out,
                          work):
    """Loss and gradient over the rows ``rows`` (k,) of ``X`` (no copy), each weight
    multiplied by ``scale``; the L2 term is added once."""
    cdef Dense a
    cdef double f
    cdef double* g
    cdef const long long* r
    cdef Py_ssize_t k
    check_loss(loss)
    unpack_dense_pass(&a, X, y, sw, w, work, _config._NUM_THREADS)
    g = f64_out(grad_out, a.p, "grad_out")
    r = rows_in(rows, &k)
    with nogil:
        f = dense_loss(loss, &a, lam, r, k, scale, g, NULL, a.T)
    return f


# --- CSR ---------------------------------------------------------------------------------


def linear_loss_csr(int loss, data, indices, indptr, Py_ssize_t n_features, y, sw, w,
                    double lam, work):
    """CSR twin of :func:`linear_loss`."""
    cdef Csr a
    cdef double f
    check_loss(loss)
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, work,
                    _config._NUM_THREADS)
    a.work = NULL
    with nogil:
        f = csr_loss(loss, &a, lam, NULL, 0, 1.0, NULL, NULL, a.T)
    return f


def linear_loss_grad_csr(int loss, data, indices, indptr, Py_ssize_t n_features, y, sw, w,
                         double lam, grad_out, work):
    """CSR twin of :func:`linear_loss_grad`."""
    cdef Csr a
    cdef double f
    cdef double* g
    check_loss(loss)
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, work,
                    _config._NUM_THREADS)
    g = f64_out(grad_out, a.p, "grad_out")
    with nogil:
        f = csr_loss(loss, &a, lam, NULL, 0, 1.0, g, NULL, a.T)
    return f


def linear_grad_hess_weights_csr(int loss, data, indices, indptr, Py_ssize_t n_features, y,
                                 sw, w, double lam, grad_out, d_out, work):
    """CSR twin of :func:`linear_grad_hess_weights`."""
    cdef Csr a
    cdef double f
    cdef double* g
    cdef double* d
    check_loss(loss)
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, work,
                    _config._NUM_THREADS)
    g = f64_out(grad_out, a.p, "grad_out")
    d = f64_out(d_out, a.m, "d_out")
    with nogil:
        f = csr_loss(loss, &a, lam, NULL, 0, 1.0, g, d, a.T)
    return f


def linear_hess_weights_csr(int loss, data, indices, indptr, Py_ssize_t n_features, y, sw,
                            w, d_out):
    """CSR twin of :func:`linear_hess_weights`."""
    cdef Csr a
    cdef double* d
    cdef int nt = _config._NUM_THREADS  # a map: one chunk per thread, any split is exact
    check_loss(loss)
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, None, nt)
    d = f64_out(d_out, a.m, "d_out")
    if constant_curvature(loss):
        memcpy(d, a.sw, a.m * sizeof(double))
        return
    with nogil:
        csr_loss(loss, &a, 0.0, NULL, 0, 1.0, NULL, d, nt)


def linear_hvp_csr(int loss, data, indices, indptr, Py_ssize_t n_features, y, sw, w, v,
                   double lam, out, work):
    """CSR twin of :func:`linear_hvp`."""
    cdef Csr a
    cdef const double* pv
    cdef double* o
    check_loss(loss)
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, work,
                    _config._NUM_THREADS)
    pv = f64_in(v, a.p, "v")
    o = f64_out(out, a.p, "out")
    with nogil:
        csr_hvp(loss, &a, pv, lam, o)


def linear_loss_grad_rows_csr(int loss, data, indices, indptr, Py_ssize_t n_features, y, sw,
                              w, double lam, rows, double scale, grad_out, work):
    """CSR twin of :func:`linear_loss_grad_rows`."""
    cdef Csr a
    cdef double f
    cdef double* g
    cdef const long long* r
    cdef Py_ssize_t k
    check_loss(loss)
    unpack_csr_pass(&a, data, indices, indptr, n_features, y, sw, w, work,
                    _config._NUM_THREADS)
    g = f64_out(grad_out, a.p, "grad_out")
    r = rows_in(rows, &k)
    with nogil:
        f = csr_loss(loss, &a, lam, r, k, scale, g, NULL, a.T)
    return f
