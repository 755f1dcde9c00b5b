# cython: language_level=3
"""Cython (OpenMP) twin of ``batch_newton``: K independent Newton solves in one call.

Problem k has ``m_k = n_rows[k]`` rows. Its i-th row is ``X[rows[x_start[k] + i]]`` when
``rows`` is not empty (rows picked from a shared X by index: groups, or the rows of
positive weight), else ``X[x_start[k] + i]`` (its rows are contiguous: a slab of a
(K, m, n) array, or the whole of a shared X). Its targets and normalized weights are
``y[y_start[k] + i]`` and ``sw[y_start[k] + i]``. It minimizes

.. math::

    f_k(w) = \\sum_i sw_i \\, \\ell(\\langle a_i, w_{:n} \\rangle + w_n, y_i)
    + \\frac{\\lambda_k}{2} \\|w_{:n}\\|^2

(``w_n``, the intercept, only with ``fit_intercept``) by Newton's method from ``W[k]``:
the Hessian ``H = A~^T diag(sw l'') A~ + lam_k I_n`` is accumulated by BLAS ``dsyrk``
over blocks of rows scaled by ``sqrt(sw_i l''_i)``, factored by LAPACK ``dpotrf`` (with a
growing ridge when it is not numerically positive definite), the direction
``-H^{-1} g`` is taken with an Armijo backtracking search (one product ``X d`` per
iteration: every trial point's predictor is ``z + t X d``). A solve stops when
``||grad f_k||_2 <= tol``.

The loss is one code of the loss table (``_loss_codes.pxd``); the per-row math is the
shared ``block_coefs`` of ``_common.pxd``, so the losses are exactly those of the single
fits. Problems are distributed over ``fo.get_num_threads()`` OpenMP threads
(``schedule(dynamic)``), each with its own workspace (heap, freed before return); every
solve is sequential inside its thread, so the result does not depend on the thread
count. BLAS must run on one thread during the call (the caller's job, as for
``weighted_gram``).

Codes written to ``status`` (``_batch_codes.pxd``, generated from
``fastopt/kernels/batch_codes.py``): 0 converged,
1 iteration budget spent, 2 no step decreased f, 3 Hessian not positive definite even
with a ridge, 4 a non-finite objective at the start. Only problems whose status is -1 on
entry and that have rows are solved; the others are left untouched.
"""

import numpy as np

cimport numpy as cnp
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport fabs, isfinite, sqrt
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from scipy.linalg.cython_blas cimport dsyrk
from scipy.linalg.cython_lapack cimport dpotrf, dpotrs

from fastopt import _config


cdef extern from "_csr_outer.h" nogil:
    void fo_csr_row_outer(double* H, Py_ssize_t p, const long long* idx, const double* val,
                          Py_ssize_t nnz, double d)

from ._batch_codes cimport CONVERGED, MAX_ITER, NO_DECREASE, NONFINITE, PENDING, SINGULAR
from ._common cimport BLOCK, block_coefs, row_axpy, row_dot, row_scale_copy

__all__ = ["batch_newton", "batch_newton_csr"]

cnp.import_array()

cdef enum:
    # rows per dsyrk call
    GRAM_ROWS = 256
    HALVINGS = 60
    RIDGE_TRIES = 8

cdef double ARMIJO = 1e-4
cdef double EPS = 2.220446049250313e-16
cdef double NO_VALUES = 0.0


cdef struct Csr:
    # X in CSR (float64 values, int64 indices); data is NULL when X is dense
    const double* data
    const long long* indices
    const long long* indptr


cdef inline Py_ssize_t row_index(const long long* rows, Py_ssize_t first,
                                 Py_ssize_t i) noexcept nogil:
    return rows[first + i] if rows != NULL else first + i


cdef inline const floating* row_of(const floating* X, Py_ssize_t n, const long long* rows,
                                   Py_ssize_t first, Py_ssize_t i) noexcept nogil:
    if rows != NULL:
        return X + rows[first + i] * n
    return X + (first + i) * n


cdef double loss_terms(int kind, const double* y, const double* sw, Py_ssize_t m,
                       const double* z, const double* xd, double t, double* coef,
                       double* d, Py_ssize_t* idx, double* tmp,
                       double* scratch) noexcept nogil:
    """sum_i sw_i l(z_i + t xd_i, y_i) (xd may be NULL: t ignored); with coef given,
    coef[i] = sw_i l'(.) and d[i] = sw_i l''(.)."""
    cdef Py_ssize_t r0 = 0, nb, k
    cdef double loss = 0.0
    while r0 < m:
        nb = min(<Py_ssize_t> BLOCK, m - r0)
        for k in range(nb):
            idx[k] = r0 + k
            tmp[k] = z[r0 + k] + t * xd[r0 + k] if xd != NULL else z[r0 + k]
        loss += block_coefs(kind, y, sw, 1.0, idx, nb, tmp, 0, d, scratch)
        if coef != NULL:
            for k in range(nb):
                coef[r0 + k] = tmp[k]
        r0 += nb
    return loss


cdef void predict(const floating* X, Csr csr, Py_ssize_t n, const long long* rows,
                  Py_ssize_t first, Py_ssize_t m, const double* w, bint icpt,
                  double* out) noexcept nogil:
    """out_i = <a_i, w_:n> (+ w_n)."""
    cdef Py_ssize_t i, q, r
    cdef double b = w[n] if icpt else 0.0, acc
    for i in range(m):
        if csr.data == NULL:
            out[i] = row_dot(row_of(X, n, rows, first, i), w, n) + b
        else:
            r = row_index(rows, first, i)
            acc = b
            for q in range(csr.indptr[r], csr.indptr[r + 1]):
                acc += csr.data[q] * w[csr.indices[q]]
            out[i] = acc


cdef double gradient(const floating* X, Csr csr, Py_ssize_t n, const long long* rows,
                     Py_ssize_t first, Py_ssize_t m, const double* coef, const double* w,
                     double lam, bint icpt, double* g) noexcept nogil:
    """g = A~^T coef + lam w_:n; returns ||g||_2."""
    cdef Py_ssize_t i, j, q, r, p = n + icpt
    cdef double acc = 0.0
    for j in range(p):
        g[j] = 0.0
    for i in range(m):
        if csr.data == NULL:
            row_axpy(coef[i], row_of(X, n, rows, first, i), g, n)
        else:
            r = row_index(rows, first, i)
            for q in range(csr.indptr[r], csr.indptr[r + 1]):
                g[csr.indices[q]] += coef[i] * csr.data[q]
        if icpt:
            acc += coef[i]
    if icpt:
        g[n] = acc
    acc = 0.0
    for j in range(p):
        if j < n:
            g[j] += lam * w[j]
        acc += g[j] * g[j]
    return sqrt(acc)


cdef void csr_hessian(Csr csr, Py_ssize_t n, const long long* rows, Py_ssize_t first,
                      Py_ssize_t m, const double* d, bint icpt, double* H) noexcept nogil:
    """Add A~^T diag(d) A~ to the lower triangle (column-major) of H, row by row: the
    products of each row's pairs of nonzeros (canonical CSR: sorted, no duplicates)."""
    cdef Py_ssize_t i, q1, r, lo, p = n + icpt
    for i in range(m):
        if not d[i] > 0.0:
            continue
        r = row_index(rows, first, i)
        lo = csr.indptr[r]
        fo_csr_row_outer(H, p, csr.indices + lo, csr.data + lo, csr.indptr[r + 1] - lo, d[i])
        if icpt:
            for q1 in range(lo, csr.indptr[r + 1]):
                H[csr.indices[q1] * p + n] += d[i] * csr.data[q1]
            H[n * p + n] += d[i]


cdef void hessian(const floating* X, Csr csr, Py_ssize_t n, const long long* rows,
                  Py_ssize_t first, Py_ssize_t m, const double* d, double lam, bint icpt,
                  double* H, double* buf) noexcept nogil:
    """Lower triangle (column-major) of H = A~^T diag(d) A~ + lam I_n; dense rows by
    dsyrk over blocks of GRAM_ROWS rows scaled by sqrt(d_i) (d_i >= 0 for every loss;
    rows with d_i = 0 add nothing and are skipped)."""
    cdef Py_ssize_t i, j, nb = 0, p = n + icpt
    cdef double s, one = 1.0
    cdef int ip = <int> p, k
    # buf is row-major (rows x p) = column-major (p x rows): dsyrk('L', 'N') adds
    # buf^T buf to the column-major lower triangle.
    cdef char uplo = b"L"
    cdef char trans = b"N"
    for j in range(p * p):
        H[j] = 0.0
    if csr.data != NULL:
        csr_hessian(csr, n, rows, first, m, d, icpt, H)
        m = 0
    for i in range(m):
        if not d[i] > 0.0:
            continue
        s = sqrt(d[i])
        row_scale_copy(s, row_of(X, n, rows, first, i), buf + nb * p, n)
        if icpt:
            buf[nb * p + n] = s
        nb += 1
        if nb == GRAM_ROWS:
            k = <int> nb
            dsyrk(&uplo, &trans, &ip, &k, &one, buf, &ip, &one, H, &ip)
            nb = 0
    if nb > 0:
        k = <int> nb
        dsyrk(&uplo, &trans, &ip, &k, &one, buf, &ip, &one, H, &ip)
    for j in range(n):
        H[j * p + j] += lam


cdef bint newton_direction(const double* H, const double* g, Py_ssize_t p, double* L,
                           double* direction) noexcept nogil:
    """direction = -(H + r I)^{-1} g with the smallest ridge r in {0, 1e-12 s, 1e-10 s,
    ...} (s: the largest diagonal entry) for which the Cholesky factorization succeeds.
    False when none does."""
    cdef Py_ssize_t j
    cdef int ip = <int> p, info = 0, one = 1, tries
    cdef char uplo = b"L"
    cdef double scale = 0.0, ridge = 0.0
    for j in range(p):
        if H[j * p + j] > scale:
            scale = H[j * p + j]
    if not scale > 0.0:
        scale = 1.0
    for tries in range(RIDGE_TRIES):
        memcpy(L, H, p * p * sizeof(double))
        for j in range(p):
            L[j * p + j] += ridge
        dpotrf(&uplo, &ip, L, &ip, &info)
        if info == 0:
            for j in range(p):
                direction[j] = -g[j]
            dpotrs(&uplo, &ip, &one, L, &ip, direction, &ip, &info)
            return info == 0
        ridge = 1e-12 * scale if ridge == 0.0 else ridge * 100.0
    return False


cdef double half_sq(const double* w, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    cdef double acc = 0.0
    for j in range(n):
        acc += w[j] * w[j]
    return 0.5 * acc


cdef int solve(int kind, const floating* X, Csr csr, Py_ssize_t n, const long long* rows,
               Py_ssize_t first, Py_ssize_t m, const double* y, const double* sw,
               double lam, bint icpt, double tol, int max_iter, double* w, double* fun,
               double* grad_norm, int* n_iter, double* ws,
               Py_ssize_t* idx) noexcept nogil:
    """One Newton solve in the workspace ws (see workspace_size); returns its status."""
    cdef Py_ssize_t p = n + icpt, j, h
    cdef double* z = ws
    cdef double* xd = z + m
    cdef double* coef = xd + m
    cdef double* d = coef + m
    cdef double* g = d + m
    cdef double* direction = g + p
    cdef double* trial = direction + p
    cdef double* H = trial + p
    cdef double* L = H + p * p
    cdef double* buf = L + p * p
    cdef double* tmp = buf + GRAM_ROWS * p
    cdef double* scratch = tmp + BLOCK
    cdef double f, f_trial, gn, slope, t
    cdef int it = 0, status
    cdef bint accepted
    predict(X, csr, n, rows, first, m, w, icpt, z)
    f = loss_terms(kind, y, sw, m, z, NULL, 0.0, coef, d, idx, tmp, scratch) \
        + lam * half_sq(w, n)
    if not isfinite(f):
        fun[0] = f
        grad_norm[0] = f
        n_iter[0] = 0
        return NONFINITE
    gn = gradient(X, csr, n, rows, first, m, coef, w, lam, icpt, g)
    while True:
        if gn <= tol:
            status = CONVERGED
            break
        if it >= max_iter:
            status = MAX_ITER
            break
        hessian(X, csr, n, rows, first, m, d, lam, icpt, H, buf)
        if not newton_direction(H, g, p, L, direction):
            status = SINGULAR
            break
        slope = 0.0
        for j in range(p):
            slope += g[j] * direction[j]
        if not slope < 0.0:
            status = NO_DECREASE
            break
        predict(X, csr, n, rows, first, m, direction, icpt, xd)
        t = 1.0
        accepted = False
        for h in range(HALVINGS):
            for j in range(p):
                trial[j] = w[j] + t * direction[j]
            f_trial = loss_terms(kind, y, sw, m, z, xd, t, NULL, NULL, idx, tmp, scratch) \
                + lam * half_sq(trial, n)
            # Armijo, with room for rounding in f itself (near the optimum a Newton step
            # decreases f by less than the last bits of f).
            if isfinite(f_trial) and f_trial <= f + ARMIJO * t * slope + 8.0 * EPS * fabs(f):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            status = NO_DECREASE
            break
        memcpy(w, trial, p * sizeof(double))
        for j in range(m):
            z[j] += t * xd[j]
        f = loss_terms(kind, y, sw, m, z, NULL, 0.0, coef, d, idx, tmp, scratch) \
            + lam * half_sq(w, n)
        gn = gradient(X, csr, n, rows, first, m, coef, w, lam, icpt, g)
        it += 1
    fun[0] = f
    grad_norm[0] = gn
    n_iter[0] = it
    return status


cdef inline Py_ssize_t workspace_size(Py_ssize_t m_max, Py_ssize_t p) noexcept nogil:
    """Doubles of one thread's workspace for problems of at most m_max rows and p
    parameters."""
    return 4 * m_max + 3 * p + 2 * p * p + GRAM_ROWS * p + 5 * BLOCK


cdef run(int kind, const floating* X, Csr csr, Py_ssize_t n, const long long[::1] rows,
         const long long[::1] x_start, const long long[::1] n_rows, const double[::1] y,
         const double[::1] sw, const long long[::1] y_start, const double[::1] lam,
         bint icpt, double tol, int max_iter, double[:, ::1] W, double[::1] fun,
         double[::1] grad_norm, int[::1] n_iter, int[::1] status):
    """The solves of every pending problem, spread over the threads."""
    cdef Py_ssize_t K = W.shape[0], p = W.shape[1], k, m_max = 0, size
    cdef int nt = _config.get_num_threads()
    cdef double* ws
    cdef Py_ssize_t* idx
    cdef const long long* rows_ptr = &rows[0] if rows.shape[0] > 0 else NULL
    if p != n + icpt:
        raise ValueError(f"W has {p} columns; expected {n + icpt}")
    for k in range(K):
        if status[k] == PENDING and n_rows[k] > m_max:
            m_max = n_rows[k]
    if m_max == 0:
        return
    size = workspace_size(m_max, p)
    with nogil, parallel(num_threads=min(nt, K)):
        ws = <double*> malloc(size * sizeof(double))
        idx = <Py_ssize_t*> malloc(BLOCK * sizeof(Py_ssize_t))
        for k in prange(K, schedule="dynamic"):
            if status[k] != PENDING or n_rows[k] == 0:
                continue
            if ws == NULL or idx == NULL:
                status[k] = -2
                continue
            status[k] = solve(kind, X, csr, n, rows_ptr, x_start[k], n_rows[k],
                              &y[y_start[k]], &sw[y_start[k]], lam[k], icpt, tol,
                              max_iter, &W[k, 0], &fun[k], &grad_norm[k], &n_iter[k], ws,
                              idx)
        free(ws)
        free(idx)
    for k in range(K):
        if status[k] == -2:
            raise MemoryError(f"batch_newton: no memory for a workspace of {size} doubles")


def batch_newton(int kind, const floating[:, ::1] X, const long long[::1] rows,
                 const long long[::1] x_start, const long long[::1] n_rows,
                 const double[::1] y, const double[::1] sw, const long long[::1] y_start,
                 const double[::1] lam, bint fit_intercept, double tol, int max_iter,
                 double[:, ::1] W, double[::1] fun, double[::1] grad_norm,
                 int[::1] n_iter, int[::1] status):
    """K Newton solves of the linear-model loss ``kind`` on dense rows (see the module
    docstring).

    Parameters
    ----------
    kind : int
        Loss code (``fastopt.kernels.losses``).
    X : ndarray of shape (M, n), float32 or float64, C-contiguous
        The rows of every problem.
    rows : int64 ndarray of shape (R,)
        Row indices into X (R = 0: each problem's rows are contiguous in X).
    x_start, n_rows, y_start : int64 ndarrays of shape (K,)
        Problem k's first row (into ``rows``, or into X when rows is empty), its number
        of rows, and the offset of its targets and weights in ``y`` and ``sw``.
    y, sw : float64 ndarrays
        Targets (logistic: -1/+1) and weights, normalized to sum 1 per problem.
    lam : float64 ndarray of shape (K,)
        L2 strength of each problem.
    fit_intercept : bool
        Whether W has a last column of intercepts (unpenalized).
    tol : float
        Stop when ||grad f_k||_2 <= tol.
    max_iter : int
        Newton iterations per problem.
    W : float64 ndarray of shape (K, p), in and out
        Start points, overwritten by the solutions.
    fun, grad_norm : float64 ndarrays of shape (K,), out
    n_iter, status : int32 ndarrays of shape (K,), out (status in and out: only the
        problems with status -1 are solved)
    """
    cdef Csr csr
    csr.data = NULL
    csr.indices = NULL
    csr.indptr = NULL
    run(kind, &X[0, 0] if X.shape[0] > 0 else NULL, csr, X.shape[1], rows, x_start,
        n_rows, y, sw, y_start, lam, fit_intercept, tol, max_iter, W, fun, grad_norm,
        n_iter, status)


def batch_newton_csr(int kind, const double[::1] data, const long long[::1] indices,
                     const long long[::1] indptr, Py_ssize_t n_features,
                     const long long[::1] rows, const long long[::1] x_start,
                     const long long[::1] n_rows, const double[::1] y, const double[::1] sw,
                     const long long[::1] y_start, const double[::1] lam,
                     bint fit_intercept, double tol, int max_iter, double[:, ::1] W,
                     double[::1] fun, double[::1] grad_norm, int[::1] n_iter,
                     int[::1] status):
    """``batch_newton`` on X in CSR (float64 ``data``, int64 ``indices`` and ``indptr``,
    canonical: sorted indices, no duplicates), ``n_features`` columns; row r of X is
    ``data[indptr[r]:indptr[r + 1]]``. The other arguments are those of ``batch_newton``;
    the Hessian is accumulated from each row's pairs of nonzeros."""
    cdef Csr csr
    cdef const double* none = NULL
    # data must not be NULL (NULL marks dense X), even for a matrix without nonzeros
    csr.data = &data[0] if data.shape[0] > 0 else &NO_VALUES
    csr.indices = &indices[0] if indices.shape[0] > 0 else NULL
    csr.indptr = &indptr[0]
    run(kind, none, csr, n_features, rows, x_start, n_rows, y, sw, y_start, lam,
        fit_intercept, tol, max_iter, W, fun, grad_norm, n_iter, status)
