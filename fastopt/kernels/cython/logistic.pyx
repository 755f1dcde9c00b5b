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

Every function is a thin wrapper: typed memoryviews in (``const``, so read-only arrays
are accepted), raw pointers handed to the shared loops of ``_common.pxd``, the GIL
released for the whole pass. ``X``/``data`` may be float32 or float64 (fused type, always
accumulated in float64); CSR ``indices``/``indptr`` may be int32 or int64. Reductions
split the rows into ``T = work.shape[0]`` contiguous chunks, one OpenMP thread per chunk,
and add the chunk partials in order: the result depends on ``T`` only.
"""

from cython cimport floating

from ._common cimport (
    LOGISTIC,
    csr_hvp_pass,
    csr_loss_pass,
    dense_hvp_pass,
    dense_loss_pass,
    index_t,
)

from fastopt._config import n_chunks as _n_threads

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


def logistic_loss(const floating[:, ::1] X, const double[::1] y, const double[::1] sw,
                  const double[::1] w, double lam, double[:, ::1] work):
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
    cdef double f
    with nogil:
        f = dense_loss_pass(LOGISTIC, &X[0, 0], X.shape[0], X.shape[1], &y[0], &sw[0],
                            &w[0], w.shape[0], lam, NULL, False, 1.0, NULL, NULL,
                            NULL, 0, work.shape[0])
    return f


def logistic_loss_grad(const floating[:, ::1] X, const double[::1] y, const double[::1] sw,
                       const double[::1] w, double lam, double[::1] grad_out,
                       double[:, ::1] work):
    """Loss and gradient in one pass over ``X``; the gradient goes into ``grad_out`` (p,)."""
    cdef double f
    with nogil:
        f = dense_loss_pass(LOGISTIC, &X[0, 0], X.shape[0], X.shape[1], &y[0], &sw[0],
                            &w[0], w.shape[0], lam, NULL, False, 1.0, &grad_out[0], NULL,
                            &work[0, 0], work.shape[1], work.shape[0])
    return f


def logistic_grad_hess_weights(const floating[:, ::1] X, const double[::1] y,
                               const double[::1] sw, const double[::1] w, double lam,
                               double[::1] grad_out, double[::1] d_out, double[:, ::1] work):
    """Loss, gradient (into ``grad_out`` (p,)) and Hessian weights (into ``d_out`` (m,)),
    one pass."""
    cdef double f
    with nogil:
        f = dense_loss_pass(LOGISTIC, &X[0, 0], X.shape[0], X.shape[1], &y[0], &sw[0],
                            &w[0], w.shape[0], lam, NULL, False, 1.0, &grad_out[0],
                            &d_out[0], &work[0, 0], work.shape[1], work.shape[0])
    return f


def logistic_hess_weights(const floating[:, ::1] X, const double[::1] y, const double[::1] sw,
                          const double[::1] w, double[::1] d_out):
    """Hessian weights ``d_i = sw_i s_i (1 - s_i)``, ``s_i = sigma(y_i z_i)``, into ``d_out``."""
    cdef Py_ssize_t T = _n_threads()
    with nogil:
        dense_loss_pass(LOGISTIC, &X[0, 0], X.shape[0], X.shape[1], &y[0], &sw[0], &w[0],
                        w.shape[0], 0.0, NULL, False, 1.0, NULL, &d_out[0], NULL, 0, T)


def logistic_hvp(const floating[:, ::1] X, const double[::1] y, const double[::1] sw,
                 const double[::1] w, const double[::1] v, double lam, double[::1] out,
                 double[:, ::1] work):
    """Hessian at ``w`` times ``v`` (both (p,)) into ``out`` (p,); one pass (z_i and
    <a_i, v> from one read of each row)."""
    with nogil:
        dense_hvp_pass(LOGISTIC, &X[0, 0], X.shape[0], X.shape[1], &y[0], &sw[0], &w[0],
                       &v[0], w.shape[0], lam, &out[0], &work[0, 0], work.shape[1],
                       work.shape[0])


def logistic_loss_grad_rows(const floating[:, ::1] X, const double[::1] y,
                            const double[::1] sw, const double[::1] w, double lam,
                            const long long[::1] rows, double scale, double[::1] grad_out,
                            double[:, ::1] work):
    """Loss and gradient over the rows ``rows`` (k,) of ``X`` (no copy), each weight
    multiplied by ``scale``; the L2 term is added once."""
    cdef double f
    with nogil:
        f = dense_loss_pass(LOGISTIC, &X[0, 0], rows.shape[0], X.shape[1], &y[0], &sw[0],
                            &w[0], w.shape[0], lam, &rows[0], True, scale, &grad_out[0],
                            NULL, &work[0, 0], work.shape[1], work.shape[0])
    return f


# --- CSR ---------------------------------------------------------------------------------


def logistic_loss_csr(const floating[::1] data, const index_t[::1] indices,
                      const index_t[::1] indptr, Py_ssize_t n_features, const double[::1] y,
                      const double[::1] sw, const double[::1] w, double lam,
                      double[:, ::1] work):
    """CSR twin of :func:`logistic_loss`."""
    cdef double f
    with nogil:
        f = csr_loss_pass(LOGISTIC, &data[0], &indices[0], &indptr[0], indptr.shape[0] - 1,
                          n_features, &y[0], &sw[0], &w[0], w.shape[0], lam, NULL, 0, False,
                          1.0, NULL, NULL, NULL, 0, work.shape[0])
    return f


def logistic_loss_grad_csr(const floating[::1] data, const index_t[::1] indices,
                           const index_t[::1] indptr, Py_ssize_t n_features,
                           const double[::1] y, const double[::1] sw, const double[::1] w,
                           double lam, double[::1] grad_out, double[:, ::1] work):
    """CSR twin of :func:`logistic_loss_grad`."""
    cdef double f
    with nogil:
        f = csr_loss_pass(LOGISTIC, &data[0], &indices[0], &indptr[0], indptr.shape[0] - 1,
                          n_features, &y[0], &sw[0], &w[0], w.shape[0], lam, NULL, 0, False,
                          1.0, &grad_out[0], NULL, &work[0, 0], work.shape[1],
                          work.shape[0])
    return f


def logistic_grad_hess_weights_csr(const floating[::1] data, const index_t[::1] indices,
                                   const index_t[::1] indptr, Py_ssize_t n_features,
                                   const double[::1] y, const double[::1] sw,
                                   const double[::1] w, double lam, double[::1] grad_out,
                                   double[::1] d_out, double[:, ::1] work):
    """CSR twin of :func:`logistic_grad_hess_weights`."""
    cdef double f
    with nogil:
        f = csr_loss_pass(LOGISTIC, &data[0], &indices[0], &indptr[0], indptr.shape[0] - 1,
                          n_features, &y[0], &sw[0], &w[0], w.shape[0], lam, NULL, 0, False,
                          1.0, &grad_out[0], &d_out[0], &work[0, 0], work.shape[1],
                          work.shape[0])
    return f


def logistic_hess_weights_csr(const floating[::1] data, const index_t[::1] indices,
                              const index_t[::1] indptr, Py_ssize_t n_features,
                              const double[::1] y, const double[::1] sw, const double[::1] w,
                              double[::1] d_out):
    """CSR twin of :func:`logistic_hess_weights`."""
    cdef Py_ssize_t T = _n_threads()
    with nogil:
        csr_loss_pass(LOGISTIC, &data[0], &indices[0], &indptr[0], indptr.shape[0] - 1,
                      n_features, &y[0], &sw[0], &w[0], w.shape[0], 0.0, NULL, 0, False, 1.0,
                      NULL, &d_out[0], NULL, 0, T)


def logistic_hvp_csr(const floating[::1] data, const index_t[::1] indices,
                     const index_t[::1] indptr, Py_ssize_t n_features, const double[::1] y,
                     const double[::1] sw, const double[::1] w, const double[::1] v,
                     double lam, double[::1] out, double[:, ::1] work):
    """CSR twin of :func:`logistic_hvp`."""
    with nogil:
        csr_hvp_pass(LOGISTIC, &data[0], &indices[0], &indptr[0], indptr.shape[0] - 1,
                     n_features, &y[0], &sw[0], &w[0], &v[0], w.shape[0], lam, &out[0],
                     &work[0, 0], work.shape[1], work.shape[0])


def logistic_loss_grad_rows_csr(const floating[::1] data, const index_t[::1] indices,
                                const index_t[::1] indptr, Py_ssize_t n_features,
                                const double[::1] y, const double[::1] sw,
                                const double[::1] w, double lam, const long long[::1] rows,
                                double scale, double[::1] grad_out, double[:, ::1] work):
    """CSR twin of :func:`logistic_loss_grad_rows`."""
    cdef double f
    with nogil:
        f = csr_loss_pass(LOGISTIC, &data[0], &indices[0], &indptr[0], indptr.shape[0] - 1,
                          n_features, &y[0], &sw[0], &w[0], w.shape[0], lam, &rows[0],
                          rows.shape[0], True, scale, &grad_out[0], NULL, &work[0, 0],
                          work.shape[1], work.shape[0])
    return f
