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
the per-sample function: typed memoryviews in (``const``, so read-only arrays are
accepted), the GIL released for the whole pass, float32 or float64 ``X``/``data`` (always
accumulated in float64), int32 or int64 CSR ``indices``/``indptr``. Reductions split the
rows into ``T = work.shape[0]`` contiguous chunks, one OpenMP thread per chunk, and add
the chunk partials in order: the result depends on ``T`` only. ``lsq_hvp`` does not read
``w`` or ``y`` (the Hessian of a quadratic is constant); they are in the signature so that
every objective calls its kernels the same way.
"""

from cython cimport floating

from ._common cimport (
    SQUARED,
    csr_hvp_pass,
    csr_loss_pass,
    dense_hvp_pass,
    dense_loss_pass,
    index_t,
)

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


def lsq_loss(const floating[:, ::1] X, const double[::1] y, const double[::1] sw,
             const double[::1] w, double lam, double[:, ::1] work):
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
    cdef double f
    with nogil:
        f = dense_loss_pass(SQUARED, &X[0, 0], X.shape[0], X.shape[1], &y[0], &sw[0],
                            &w[0], w.shape[0], lam, NULL, False, 1.0, NULL, NULL,
                            NULL, 0, work.shape[0])
    return f


def lsq_loss_grad(const floating[:, ::1] X, const double[::1] y, const double[::1] sw,
                  const double[::1] w, double lam, double[::1] grad_out,
                  double[:, ::1] work):
    """Loss and gradient in one pass over ``X``; the gradient goes into ``grad_out`` (p,)."""
    cdef double f
    with nogil:
        f = dense_loss_pass(SQUARED, &X[0, 0], X.shape[0], X.shape[1], &y[0], &sw[0],
                            &w[0], w.shape[0], lam, NULL, False, 1.0, &grad_out[0], NULL,
                            &work[0, 0], work.shape[1], work.shape[0])
    return f


def lsq_grad_hess_weights(const floating[:, ::1] X, const double[::1] y,
                          const double[::1] sw, const double[::1] w, double lam,
                          double[::1] grad_out, double[::1] d_out, double[:, ::1] work):
    """Loss, gradient (into ``grad_out`` (p,)) and Hessian weights (into ``d_out`` (m,)),
    one pass."""
    cdef double f
    with nogil:
        f = dense_loss_pass(SQUARED, &X[0, 0], X.shape[0], X.shape[1], &y[0], &sw[0],
                            &w[0], w.shape[0], lam, NULL, False, 1.0, &grad_out[0],
                            &d_out[0], &work[0, 0], work.shape[1], work.shape[0])
    return f


def lsq_hess_weights(const floating[:, ::1] X, const double[::1] y, const double[::1] sw,
                     const double[::1] w, double[::1] d_out):
    """Hessian weights ``d_i = sw_i`` into ``d_out`` (m,); ``X`` is not read."""
    d_out[:] = sw


def lsq_hvp(const floating[:, ::1] X, const double[::1] y, const double[::1] sw,
            const double[::1] w, const double[::1] v, double lam, double[::1] out,
            double[:, ::1] work):
    """Hessian times ``v`` (p,) into ``out`` (p,): ``X~^T (sw * (X~ v)) + lam v[:n]``, one
    pass."""
    with nogil:
        dense_hvp_pass(SQUARED, &X[0, 0], X.shape[0], X.shape[1], &y[0], &sw[0], &w[0],
                       &v[0], w.shape[0], lam, &out[0], &work[0, 0], work.shape[1],
                       work.shape[0])


def lsq_loss_grad_rows(const floating[:, ::1] X, const double[::1] y,
                       const double[::1] sw, const double[::1] w, double lam,
                       const long long[::1] rows, double scale, double[::1] grad_out,
                       double[:, ::1] work):
    """Loss and gradient over the rows ``rows`` (k,) of ``X`` (no copy), each weight
    multiplied by ``scale``; the L2 term is added once."""
    cdef double f
    with nogil:
        f = dense_loss_pass(SQUARED, &X[0, 0], rows.shape[0], X.shape[1], &y[0], &sw[0],
                            &w[0], w.shape[0], lam, &rows[0], True, scale, &grad_out[0],
                            NULL, &work[0, 0], work.shape[1], work.shape[0])
    return f


# --- CSR ---------------------------------------------------------------------------------


def lsq_loss_csr(const floating[::1] data, const index_t[::1] indices,
                 const index_t[::1] indptr, Py_ssize_t n_features, const double[::1] y,
                 const double[::1] sw, const double[::1] w, double lam,
                 double[:, ::1] work):
    """CSR twin of :func:`lsq_loss`."""
    cdef double f
    with nogil:
        f = csr_loss_pass(SQUARED, &data[0], &indices[0], &indptr[0], indptr.shape[0] - 1,
                          n_features, &y[0], &sw[0], &w[0], w.shape[0], lam, NULL, 0, False,
                          1.0, NULL, NULL, NULL, 0, work.shape[0])
    return f


def lsq_loss_grad_csr(const floating[::1] data, const index_t[::1] indices,
                      const index_t[::1] indptr, Py_ssize_t n_features,
                      const double[::1] y, const double[::1] sw, const double[::1] w,
                      double lam, double[::1] grad_out, double[:, ::1] work):
    """CSR twin of :func:`lsq_loss_grad`."""
    cdef double f
    with nogil:
        f = csr_loss_pass(SQUARED, &data[0], &indices[0], &indptr[0], indptr.shape[0] - 1,
                          n_features, &y[0], &sw[0], &w[0], w.shape[0], lam, NULL, 0, False,
                          1.0, &grad_out[0], NULL, &work[0, 0], work.shape[1],
                          work.shape[0])
    return f


def lsq_grad_hess_weights_csr(const floating[::1] data, const index_t[::1] indices,
                              const index_t[::1] indptr, Py_ssize_t n_features,
                              const double[::1] y, const double[::1] sw,
                              const double[::1] w, double lam, double[::1] grad_out,
                              double[::1] d_out, double[:, ::1] work):
    """CSR twin of :func:`lsq_grad_hess_weights`."""
    cdef double f
    with nogil:
        f = csr_loss_pass(SQUARED, &data[0], &indices[0], &indptr[0], indptr.shape[0] - 1,
                          n_features, &y[0], &sw[0], &w[0], w.shape[0], lam, NULL, 0, False,
                          1.0, &grad_out[0], &d_out[0], &work[0, 0], work.shape[1],
                          work.shape[0])
    return f


def lsq_hess_weights_csr(const floating[::1] data, const index_t[::1] indices,
                         const index_t[::1] indptr, Py_ssize_t n_features,
                         const double[::1] y, const double[::1] sw, const double[::1] w,
                         double[::1] d_out):
    """CSR twin of :func:`lsq_hess_weights` (``d_out = sw``; the matrix is not read)."""
    d_out[:] = sw


def lsq_hvp_csr(const floating[::1] data, const index_t[::1] indices,
                const index_t[::1] indptr, Py_ssize_t n_features, const double[::1] y,
                const double[::1] sw, const double[::1] w, const double[::1] v,
                double lam, double[::1] out, double[:, ::1] work):
    """CSR twin of :func:`lsq_hvp`."""
    with nogil:
        csr_hvp_pass(SQUARED, &data[0], &indices[0], &indptr[0], indptr.shape[0] - 1,
                     n_features, &y[0], &sw[0], &w[0], &v[0], w.shape[0], lam, &out[0],
                     &work[0, 0], work.shape[1], work.shape[0])


def lsq_loss_grad_rows_csr(const floating[::1] data, const index_t[::1] indices,
                           const index_t[::1] indptr, Py_ssize_t n_features,
                           const double[::1] y, const double[::1] sw,
                           const double[::1] w, double lam, const long long[::1] rows,
                           double scale, double[::1] grad_out, double[:, ::1] work):
    """CSR twin of :func:`lsq_loss_grad_rows`."""
    cdef double f
    with nogil:
        f = csr_loss_pass(SQUARED, &data[0], &indices[0], &indptr[0], indptr.shape[0] - 1,
                          n_features, &y[0], &sw[0], &w[0], w.shape[0], lam, &rows[0],
                          rows.shape[0], True, scale, &grad_out[0], NULL, &work[0, 0],
                          work.shape[1], work.shape[0])
    return f
