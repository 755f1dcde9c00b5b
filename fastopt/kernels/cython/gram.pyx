# cython: language_level=3
# Over 500 lines: ten kernels (five products, dense and CSR) share one set of chunk
# loops and argument readers here; split, each half would re-declare them.
"""Cython (OpenMP) twins of the objective-independent linear-algebra kernels.

With ``A`` the (m, n) data matrix and ``A~ = [A, 1]`` when the coefficient vector has
``p = n + 1`` entries (the last one an intercept; ``X`` is never copied to append it):

.. math::

    \\text{matvec: } z = A w_{:n} + w_n, \\qquad
    \\text{rmatvec: } (A^T u, \\textstyle\\sum_i u_i), \\qquad
    \\text{weighted\\_hvp: } \\tilde A^T \\operatorname{diag}(d) \\tilde A v + \\lambda v_{:n}

    \\text{weighted\\_gram: } H = \\tilde A^T \\operatorname{diag}(d) \\tilde A
    + \\lambda I_n, \\qquad
    \\text{max\\_eig\\_gram: } \\lambda_{\\max}(A^T \\operatorname{diag}(d) A)

Same layering as ``linear.pyx`` (loops in ``_common.pxd``, thin ``def`` wrappers that
read and check their arrays through the NumPy C API in ``_args.pxd``, float32/float64
data, int32/int64 CSR indices, float64 accumulation). Reductions with a
``work`` argument use ``T = work.shape[0]`` chunks; ``weighted_gram`` (no ``work``) uses
``T = fastopt._config.gram_chunks(...)``, from the data's size; either way the chunks are
shared by ``min(T, fo.get_num_threads())`` threads and added in chunk order, so the
result does not depend on the thread count. ``matvec`` (no reduction) splits its rows
over the threads: any split gives the same values.

``weighted_gram`` (dense) accumulates each chunk's rows in blocks of ``GRAM_BLOCK``: the
block's rows scaled by ``sqrt(|d_i|)`` are copied into a small per-chunk buffer and
added to the chunk's p x p partial by BLAS ``dsyrk`` (scipy.linalg.cython_blas), with
sign +1 for the rows with ``d_i > 0`` and -1 for those with ``d_i < 0`` (rows with
``d_i = 0`` are skipped), so any real ``d`` is handled exactly; the partials are added in
chunk order, then the triangle is mirrored. Memory: ``T - 1`` extra p x p partials
(``T = 1`` when they would exceed ``fastopt._config.GRAM_PARTIALS_BYTES``; BLAS then
threads the big
``dsyrk`` calls itself) and ``T`` buffers of ``GRAM_BLOCK x p`` (heap, freed before the
call returns); never an m x n copy.
"""

from contextlib import nullcontext

import numpy as np

cimport numpy as cnp
from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.math cimport sqrt
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport dsyrk

from ._args cimport (
    F32,
    F64,
    I32,
    Csr,
    Dense,
    check_p,
    f64_in,
    f64_matrix_out,
    f64_out,
    unpack_csr_matrix,
    unpack_dense,
    unpack_matrix,
    work_buffer,
)
from ._common cimport (
    chunk_start,
    csr_chunk_start,
    csr_dot,
    csr_transpose_pass,
    dense_transpose_pass,
    index_t,
    row_dot,
    row_scale_copy,
    serial,
    team,
)

from fastopt import _config
from fastopt import _blas_threads

cnp.import_array()

__all__ = [
    "matvec",
    "rmatvec",
    "weighted_hvp",
    "weighted_gram",
    "max_eig_gram",
    "matvec_csr",
    "rmatvec_csr",
    "weighted_hvp_csr",
    "weighted_gram_csr",
    "max_eig_gram_csr",
]

cdef enum:
    # Rows per dsyrk call: k = 256 keeps BLAS efficient while the scaled copy of the
    # block (256 x p doubles) stays in L2 for moderate p.
    GRAM_BLOCK = 256



# --- Gram chunk loops ----------------------------------------------------------------------

cdef void dense_gram_chunk(const floating* X, Py_ssize_t n, Py_ssize_t p, const double* d,
                           Py_ssize_t start, Py_ssize_t stop, double* H,
                           double* buf) noexcept nogil:
    """H (p x p, row-major upper triangle) = sum_{i in [start, stop)} d_i a~_i a~_i^T.

    buf holds GRAM_BLOCK rows of p: rows with d_i > 0 fill it from the top, rows with
    d_i < 0 from the bottom, each scaled by sqrt(|d_i|); then one dsyrk per sign.
    """
    cdef Py_ssize_t i, j, block, n_pos, n_neg
    cdef double s
    cdef int ip = <int> p, k, ld = <int> p
    cdef double one = 1.0, minus_one = -1.0
    # buf is row-major (rows x p) = column-major (p x rows): dsyrk('L', 'N') adds
    # buf^T buf to the column-major lower triangle, which is H's row-major upper one.
    cdef char uplo = b"L", trans = b"N"
    for j in range(p * p):
        H[j] = 0.0
    block = start
    while block < stop:
        n_pos = 0
        n_neg = 0
        for i in range(block, min(block + GRAM_BLOCK, stop)):
            if d[i] > 0.0:
                s = sqrt(d[i])
                row_scale_copy(s, X + i * n, buf + n_pos * p, n)
                if p > n:
                    buf[n_pos * p + n] = s
                n_pos += 1
            elif d[i] < 0.0:
                n_neg += 1
                s = sqrt(-d[i])
                row_scale_copy(s, X + i * n, buf + (GRAM_BLOCK - n_neg) * p, n)
                if p > n:
                    buf[(GRAM_BLOCK - n_neg) * p + n] = s
        if n_pos > 0:
            k = <int> n_pos
            dsyrk(&uplo, &trans, &ip, &k, &one, buf, &ld, &one, H, &ld)
        if n_neg > 0:
            k = <int> n_neg
            dsyrk(&uplo, &trans, &ip, &k, &minus_one, buf + (GRAM_BLOCK - n_neg) * p, &ld,
                  &one, H, &ld)
        block += GRAM_BLOCK


cdef void csr_gram_chunk(const floating* data, const index_t* indices, const index_t* indptr,
                         Py_ssize_t n, Py_ssize_t p, const double* d, Py_ssize_t start,
                         Py_ssize_t stop, double* H, double* x,
                         Py_ssize_t* col) noexcept nogil:
    """H (p x p, row-major upper triangle) = sum_i d_i a~_i a~_i^T over the sparse rows
    [start, stop): O(nnz_i^2) per row; sorted column indices put every pair j <= k in the
    upper triangle.

    Each row is copied into x (float64 values) and col (p each), the intercept appended
    as column n with value 1; then rows s .. s+3 of the outer product are updated
    together, so each loaded column feeds four multiply-adds (clearly faster than one
    row at a time on a9a and w8a)."""
    cdef Py_ssize_t i, s, t, k, lo, j, ct
    cdef double di, x0, x1, x2, x3, xt
    cdef double *r0
    cdef double *r1
    cdef double *r2
    cdef double *r3
    for j in range(p * p):
        H[j] = 0.0
    for i in range(start, stop):
        di = d[i]
        if di == 0.0:
            continue
        lo = indptr[i]
        k = indptr[i + 1] - lo
        for t in range(k):
            x[t] = data[lo + t]
            col[t] = indices[lo + t]
        if p > n:
            x[k] = 1.0
            col[k] = n
            k += 1
        s = 0
        while s + 4 <= k:
            r0 = H + col[s] * p
            r1 = H + col[s + 1] * p
            r2 = H + col[s + 2] * p
            r3 = H + col[s + 3] * p
            x0 = di * x[s]
            x1 = di * x[s + 1]
            x2 = di * x[s + 2]
            x3 = di * x[s + 3]
            # the 4 x 4 upper triangle of the tile
            for t in range(s, s + 4):
                r0[col[t]] += x0 * x[t]
            for t in range(s + 1, s + 4):
                r1[col[t]] += x1 * x[t]
            for t in range(s + 2, s + 4):
                r2[col[t]] += x2 * x[t]
            r3[col[s + 3]] += x3 * x[s + 3]
            for t in range(s + 4, k):
                ct = col[t]
                xt = x[t]
                r0[ct] += x0 * xt
                r1[ct] += x1 * xt
                r2[ct] += x2 * xt
                r3[ct] += x3 * xt
            s += 4
        while s < k:
            r0 = H + col[s] * p
            x0 = di * x[s]
            for t in range(s, k):
                r0[col[t]] += x0 * x[t]
            s += 1


cdef void finish_gram(double* H, const double* partials, Py_ssize_t T, Py_ssize_t p,
                      Py_ssize_t n, double lam) noexcept nogil:
    """H += partials[0] + ... + partials[T-2] (in order), mirror the upper triangle, add
    lam to the first n diagonal entries."""
    cdef Py_ssize_t c, j, k
    for c in range(T - 1):
        for j in range(p):
            for k in range(j, p):
                H[j * p + k] += partials[c * p * p + j * p + k]
    for j in range(p):
        for k in range(j):
            H[j * p + k] = H[k * p + j]
    for j in range(n):
        H[j * p + j] += lam


cdef Py_ssize_t gram_chunks(Py_ssize_t m, Py_ssize_t p, Py_ssize_t amount,
                            Py_ssize_t rows_per_chunk) except -1:
    """Chunks for weighted_gram, from the data's size only (``fastopt._config.gram_chunks``:
    ``amount`` multiply-adds, at most m / rows_per_chunk chunks so that each fills a few
    blocks, one when the partials would not fit GRAM_PARTIALS_BYTES), never from the
    thread count: the result is the same for any number of threads."""
    return _config.gram_chunks(m, p, amount, rows_per_chunk)


cdef Py_ssize_t csr_gram_amount(const index_t* indptr, Py_ssize_t m,
                                Py_ssize_t extra) noexcept nogil:
    """Multiply-adds of the sparse outer products: sum over rows of k (k + 1) / 2, k the
    row's nonzeros plus ``extra`` (1 for the intercept column)."""
    cdef Py_ssize_t i, k, total = 0
    for i in range(m):
        k = <Py_ssize_t> (indptr[i + 1] - indptr[i]) + extra
        total += k * (k + 1) // 2
    return total


# --- power iteration ---------------------------------------------------------------------

cdef double normalize_start(double* v, Py_ssize_t n) noexcept nogil:
    """v /= ||v|| (v = 1/sqrt(n) when v = 0)."""
    cdef Py_ssize_t j
    cdef double norm = 0.0
    for j in range(n):
        norm += v[j] * v[j]
    norm = sqrt(norm)
    for j in range(n):
        v[j] = v[j] / norm if norm > 0.0 else 1.0 / sqrt(<double> max(n, 1))
    return norm


cdef int power_step(double* v, const double* u, Py_ssize_t n, double* rho,
                    double* rho_prev) noexcept nogil:
    """rho = <v, u>, v = u / ||u||; returns 1 when u = 0 (then rho = 0), else 0."""
    cdef Py_ssize_t j
    cdef double dot = 0.0, norm = 0.0
    for j in range(n):
        dot += v[j] * u[j]
        norm += u[j] * u[j]
    rho_prev[0] = rho[0]
    rho[0] = dot
    norm = sqrt(norm)
    if norm == 0.0:
        rho[0] = 0.0
        return 1
    for j in range(n):
        v[j] = u[j] / norm
    return 0


cdef double* alloc_doubles(Py_ssize_t count) except NULL:
    """malloc of count (>= 1 allocated) doubles; MemoryError when it fails."""
    cdef double* buf = <double*> malloc(max(count, 1) * sizeof(double))
    if buf == NULL:
        raise MemoryError()
    return buf


#: u = A^T diag(d) A v for the data ``a`` points to (a Dense or a Csr): the product that
#: the power iteration repeats, one pass over the data each.
ctypedef void (*gram_product)(const void* a, const double* d, const double* v, Py_ssize_t n,
                              double* u) noexcept nogil


cdef double power_iteration(gram_product product, const void* a, const double* d,
                            const double* v0, Py_ssize_t n, Py_ssize_t max_iter,
                            double tol) except? -1.0:
    """Largest eigenvalue of A^T diag(d) A by power iteration: ``v = v0 / ||v0||``, then
    ``u = product(v)``, ``rho = <v, u>``, ``v = u / ||u||`` until
    ``|rho - rho_prev| <= tol |rho|`` or ``max_iter`` products; returns the last rho (0
    when ``u = 0``). One loop for dense and CSR data: only ``product`` differs."""
    cdef double* v = alloc_doubles(2 * n)
    cdef double* u = v + n
    cdef double rho = 0.0, rho_prev = 0.0
    cdef Py_ssize_t it
    try:
        with nogil:
            for it in range(n):
                v[it] = v0[it]
            normalize_start(v, n)
            for it in range(max_iter):
                product(a, d, v, n, u)
                if power_step(v, u, n, &rho, &rho_prev):
                    break
                if abs(rho - rho_prev) <= tol * abs(rho):
                    break
    finally:
        free(v)
    return rho


# --- the passes of this module, dispatched on the data's element types ---------------------

cdef void dense_matvec(const floating* X, Py_ssize_t m, Py_ssize_t n, const double* w,
                       double b, double* z, int T) noexcept nogil:
    # T: the thread count; a map (no reduction), so any split of the rows is exact
    cdef Py_ssize_t i
    if serial(T, T, m * (n + 1)):
        for i in range(m):
            z[i] = row_dot(X + i * n, w, n) + b
    else:
        for i in prange(m, schedule="static", num_threads=T):
            z[i] = row_dot(X + i * n, w, n) + b


cdef void csr_matvec(const floating* data, const index_t* indices, const index_t* indptr,
                     Py_ssize_t m, Py_ssize_t nnz, const double* w, double b, double* z,
                     int T) noexcept nogil:
    cdef Py_ssize_t i
    if serial(T, T, m + nnz):
        for i in range(m):
            z[i] = csr_dot(data, indices, indptr[i], indptr[i + 1], w) + b
    else:
        for i in prange(m, schedule="static", num_threads=T):
            z[i] = csr_dot(data, indices, indptr[i], indptr[i + 1], w) + b


cdef inline void dense_transpose(const Dense* a, const double* c, const double* v,
                                 Py_ssize_t p, double lam, double* out) noexcept nogil:
    """dense_transpose_pass on a's X (float32 or float64)."""
    if a.dtype == F32:
        dense_transpose_pass(<const float*> a.X, a.m, a.n, c, v, p, lam, out, a.work, a.ldw,
                             a.T, a.nt)
    else:
        dense_transpose_pass(<const double*> a.X, a.m, a.n, c, v, p, lam, out, a.work,
                             a.ldw, a.T, a.nt)


cdef inline void csr_transpose(const Csr* a, const double* c, const double* v, Py_ssize_t p,
                               double lam, double* out) noexcept nogil:
    """csr_transpose_pass on a's CSR matrix (float32/float64 data, int32/int64 indices)."""
    if a.dtype == F64:
        if a.itype == I32:
            csr_transpose_pass(<const double*> a.data, <const int*> a.indices,
                               <const int*> a.indptr, a.m, a.n, c, v, p, lam, out, a.work,
                               a.ldw, a.T, a.nt)
        else:
            csr_transpose_pass(<const double*> a.data, <const long long*> a.indices,
                               <const long long*> a.indptr, a.m, a.n, c, v, p, lam, out,
                               a.work, a.ldw, a.T, a.nt)
    elif a.itype == I32:
        csr_transpose_pass(<const float*> a.data, <const int*> a.indices,
                           <const int*> a.indptr, a.m, a.n, c, v, p, lam, out, a.work, a.ldw,
                           a.T, a.nt)
    else:
        csr_transpose_pass(<const float*> a.data, <const long long*> a.indices,
                           <const long long*> a.indptr, a.m, a.n, c, v, p, lam, out, a.work,
                           a.ldw, a.T, a.nt)


cdef void dense_gram_product(const void* a, const double* d, const double* v,
                             Py_ssize_t n, double* u) noexcept nogil:
    """The gram_product of dense data (p = n, no intercept)."""
    dense_transpose(<const Dense*> a, d, v, n, 0.0, u)


cdef void csr_gram_product(const void* a, const double* d, const double* v, Py_ssize_t n,
                           double* u) noexcept nogil:
    """The gram_product of CSR data (p = n, no intercept)."""
    csr_transpose(<const Csr*> a, d, v, n, 0.0, u)


cdef void dense_gram(const floating* X, Py_ssize_t m, Py_ssize_t n, Py_ssize_t p,
                     const double* d, double* H, double* partials, double* bufs,
                     Py_ssize_t T, int nt) noexcept nogil:
    cdef Py_ssize_t c
    if T <= 1 or nt <= 1:  # the same chunks, outside any OpenMP region (serial, _common.pxd)
        for c in range(T):
            dense_gram_chunk(X, n, p, d, chunk_start(m, T, c), chunk_start(m, T, c + 1),
                             H if c == 0 else partials + (c - 1) * p * p,
                             bufs + c * GRAM_BLOCK * p)
        return
    for c in prange(T, schedule="static", num_threads=team(T, nt)):
        dense_gram_chunk(X, n, p, d, chunk_start(m, T, c), chunk_start(m, T, c + 1),
                         H if c == 0 else partials + (c - 1) * p * p,
                         bufs + c * GRAM_BLOCK * p)


cdef void csr_gram(const floating* data, const index_t* indices, const index_t* indptr,
                   Py_ssize_t m, Py_ssize_t n, Py_ssize_t p, const double* d, double* H,
                   double* partials, double* xs, Py_ssize_t* cols,
                   Py_ssize_t T, int nt) noexcept nogil:
    cdef Py_ssize_t c
    if T <= 1 or nt <= 1:  # the same chunks, outside any OpenMP region (serial, _common.pxd)
        for c in range(T):
            csr_gram_chunk(data, indices, indptr, n, p, d, csr_chunk_start(indptr, m, T, c),
                           csr_chunk_start(indptr, m, T, c + 1),
                           H if c == 0 else partials + (c - 1) * p * p, xs + c * p,
                           cols + c * p)
        return
    for c in prange(T, schedule="static", num_threads=team(T, nt)):
        csr_gram_chunk(data, indices, indptr, n, p, d, csr_chunk_start(indptr, m, T, c),
                       csr_chunk_start(indptr, m, T, c + 1),
                       H if c == 0 else partials + (c - 1) * p * p, xs + c * p,
                       cols + c * p)


cdef inline Py_ssize_t csr_nnz(const Csr* a) noexcept nogil:
    if a.itype == I32:
        return (<const int*> a.indptr)[a.m] - (<const int*> a.indptr)[0]
    return <Py_ssize_t> ((<const long long*> a.indptr)[a.m]
                         - (<const long long*> a.indptr)[0])


# --- dense -------------------------------------------------------------------------------


def matvec(X, w, z_out):
    """``z_out = X w[:n] (+ w[n])``.

    Parameters
    ----------
    X : ndarray of shape (m, n), float32 or float64, C-contiguous
    w : ndarray of shape (p,), p = n or n + 1
    z_out : ndarray of shape (m,), float64, overwritten
    """
    cdef Dense a
    cdef double* z
    cdef int T = _config._NUM_THREADS
    unpack_dense(&a, X, w)
    z = f64_out(z_out, a.m, "z_out")
    cdef double b = a.w[a.n] if a.p > a.n else 0.0
    with nogil:
        if a.dtype == F32:
            dense_matvec(<const float*> a.X, a.m, a.n, a.w, b, z, T)
        else:
            dense_matvec(<const double*> a.X, a.m, a.n, a.w, b, z, T)


def rmatvec(X, u, out, work):
    """``out[:n] = X^T u``, and ``out[n] = sum(u)`` when ``out`` has n + 1 entries.

    Parameters
    ----------
    X : ndarray of shape (m, n)
    u : ndarray of shape (m,), float64
    out : ndarray of shape (p,), float64, overwritten
    work : ndarray of shape (T, p), float64 scratch
    """
    cdef Dense a
    cdef const double* pu
    cdef double* o
    unpack_matrix(&a, X)
    pu = f64_in(u, a.m, "u")
    o = f64_out(out, 0, "out")
    a.p = cnp.PyArray_DIM(<cnp.ndarray> out, 0)
    check_p(a.p, a.n)
    a.work = work_buffer(work, a.p, &a.T, &a.ldw)
    a.nt = _config._NUM_THREADS
    with nogil:
        dense_transpose(&a, pu, NULL, a.p, 0.0, o)


def weighted_hvp(X, d, v, double lam, out, work):
    """``out = X~^T diag(d) X~ v + lam v[:n]`` (p,), lam not applied to the intercept; one
    pass over ``X``."""
    cdef Dense a
    cdef const double* pd
    cdef double* o
    unpack_dense(&a, X, v)  # v plays the part of w: (p,), p = n or n + 1
    pd = f64_in(d, a.m, "d")
    o = f64_out(out, a.p, "out")
    a.work = work_buffer(work, a.p, &a.T, &a.ldw)
    a.nt = _config._NUM_THREADS
    with nogil:
        dense_transpose(&a, pd, a.w, a.p, lam, o)


def weighted_gram(X, d, double lam, H_out):
    """``H_out = X~^T diag(d) X~ + lam I_n`` of shape (p, p); no lam on the intercept.

    Blocked BLAS ``dsyrk`` on rows scaled by ``sqrt(|d_i|)`` (see the module docstring);
    threaded over row chunks fixed by the data's size (the same bits for any thread count),
    no m x n temporary.
    """
    cdef Dense a
    cdef const double* pd
    cdef double* H
    cdef double* partials
    cdef double* bufs
    cdef Py_ssize_t p, T
    cdef int nt = _config._NUM_THREADS
    unpack_matrix(&a, X)
    pd = f64_in(d, a.m, "d")
    p = -1
    if cnp.PyArray_Check(H_out) and cnp.PyArray_NDIM(<cnp.ndarray> H_out) == 2:
        p = cnp.PyArray_DIM(<cnp.ndarray> H_out, 0)
    H = f64_matrix_out(H_out, p, p, "H_out")
    check_p(p, a.n)
    T = gram_chunks(a.m, p, a.m * (p * (p + 1) // 2), 4 * GRAM_BLOCK)
    partials = alloc_doubles((T - 1) * p * p)
    bufs = NULL
    try:
        bufs = alloc_doubles(T * GRAM_BLOCK * p)
        # dsyrk runs inside each chunk's thread: BLAS must not start threads of its own
        # there (a multithreaded OpenBLAS oversubscribed the cores, 5x slower); with one
        # chunk, BLAS threads the big calls itself
        with (_blas_threads.one_thread_blas() if T > 1 and nt > 1 else nullcontext()):
            with nogil:
                if a.dtype == F32:
                    dense_gram(<const float*> a.X, a.m, a.n, p, pd, H, partials, bufs, T,
                               nt)
                else:
                    dense_gram(<const double*> a.X, a.m, a.n, p, pd, H, partials, bufs, T,
                               nt)
                finish_gram(H, partials, T, p, a.n, lam)
    finally:
        free(partials)
        free(bufs)


def max_eig_gram(X, d, v0, Py_ssize_t max_iter, double tol, work):
    """Largest eigenvalue of ``X^T diag(d) X`` (p = n, no intercept) by power iteration.

    ``v = v0 / ||v0||``; repeat ``u = H v`` (one :func:`weighted_hvp` pass),
    ``rho = <v, u>``, ``v = u / ||u||`` until ``|rho - rho_prev| <= tol |rho|`` or
    ``max_iter`` products (the iteration of the NumPy twin).

    Parameters
    ----------
    X : ndarray of shape (m, n)
    d : ndarray of shape (m,), non-negative weights
    v0 : ndarray of shape (n,), starting vector (copied, not modified)
    max_iter : int, most Hessian-vector products
    tol : float, relative tolerance on the Rayleigh quotient
    work : ndarray of shape (T, n), float64 scratch

    Returns
    -------
    float
        The last Rayleigh quotient (0 when ``H v = 0``).
    """
    cdef Dense a
    cdef const double* pd
    cdef const double* pv0
    unpack_matrix(&a, X)
    pd = f64_in(d, a.m, "d")
    pv0 = f64_in(v0, a.n, "v0")
    a.work = work_buffer(work, a.n, &a.T, &a.ldw)
    a.nt = _config._NUM_THREADS
    return power_iteration(dense_gram_product, &a, pd, pv0, a.n, max_iter, tol)


# --- CSR ---------------------------------------------------------------------------------


def matvec_csr(data, indices, indptr, Py_ssize_t n_features, w, z_out):
    """CSR twin of :func:`matvec`."""
    cdef Csr a
    cdef double* z
    cdef int T = _config._NUM_THREADS
    cdef Py_ssize_t nnz
    unpack_csr_matrix(&a, data, indices, indptr, n_features)
    a.w = f64_in(w, 0, "w")
    a.p = cnp.PyArray_DIM(<cnp.ndarray> w, 0)
    check_p(a.p, a.n)
    z = f64_out(z_out, a.m, "z_out")
    cdef double b = a.w[a.n] if a.p > a.n else 0.0
    with nogil:
        nnz = csr_nnz(&a)
        if a.dtype == F64:
            if a.itype == I32:
                csr_matvec(<const double*> a.data, <const int*> a.indices,
                           <const int*> a.indptr, a.m, nnz, a.w, b, z, T)
            else:
                csr_matvec(<const double*> a.data, <const long long*> a.indices,
                           <const long long*> a.indptr, a.m, nnz, a.w, b, z, T)
        elif a.itype == I32:
            csr_matvec(<const float*> a.data, <const int*> a.indices, <const int*> a.indptr,
                       a.m, nnz, a.w, b, z, T)
        else:
            csr_matvec(<const float*> a.data, <const long long*> a.indices,
                       <const long long*> a.indptr, a.m, nnz, a.w, b, z, T)


def rmatvec_csr(data, indices, indptr, Py_ssize_t n_features, u, out, work):
    """CSR twin of :func:`rmatvec`."""
    cdef Csr a
    cdef const double* pu
    cdef double* o
    unpack_csr_matrix(&a, data, indices, indptr, n_features)
    pu = f64_in(u, a.m, "u")
    o = f64_out(out, 0, "out")
    a.p = cnp.PyArray_DIM(<cnp.ndarray> out, 0)
    check_p(a.p, a.n)
    a.work = work_buffer(work, a.p, &a.T, &a.ldw)
    a.nt = _config._NUM_THREADS
    with nogil:
        csr_transpose(&a, pu, NULL, a.p, 0.0, o)


def weighted_hvp_csr(data, indices, indptr, Py_ssize_t n_features, d, v, double lam, out,
                     work):
    """CSR twin of :func:`weighted_hvp`."""
    cdef Csr a
    cdef const double* pd
    cdef const double* pv
    cdef double* o
    unpack_csr_matrix(&a, data, indices, indptr, n_features)
    pd = f64_in(d, a.m, "d")
    pv = f64_in(v, 0, "v")
    a.p = cnp.PyArray_DIM(<cnp.ndarray> v, 0)
    check_p(a.p, a.n)
    o = f64_out(out, a.p, "out")
    a.work = work_buffer(work, a.p, &a.T, &a.ldw)
    a.nt = _config._NUM_THREADS
    with nogil:
        csr_transpose(&a, pd, pv, a.p, lam, o)


def weighted_gram_csr(data, indices, indptr, Py_ssize_t n_features, d, double lam, H_out):
    """CSR twin of :func:`weighted_gram`: per-chunk dense p x p partials of the sparse
    outer products (canonical CSR: sorted indices), added in chunk order."""
    cdef Csr a
    cdef const double* pd
    cdef double* H
    cdef double* partials
    cdef double* xs = NULL
    cdef Py_ssize_t* cols = NULL
    cdef Py_ssize_t p, T, amount
    cdef int nt = _config._NUM_THREADS
    unpack_csr_matrix(&a, data, indices, indptr, n_features)
    pd = f64_in(d, a.m, "d")
    p = -1
    if cnp.PyArray_Check(H_out) and cnp.PyArray_NDIM(<cnp.ndarray> H_out) == 2:
        p = cnp.PyArray_DIM(<cnp.ndarray> H_out, 0)
    H = f64_matrix_out(H_out, p, p, "H_out")
    check_p(p, a.n)
    if a.itype == I32:
        amount = csr_gram_amount(<const int*> a.indptr, a.m, p - a.n)
    else:
        amount = csr_gram_amount(<const long long*> a.indptr, a.m, p - a.n)
    T = gram_chunks(a.m, p, amount, GRAM_BLOCK)
    partials = alloc_doubles((T - 1) * p * p)
    try:
        # per-chunk copies of one row (values and columns, intercept included)
        xs = alloc_doubles(T * p)
        cols = <Py_ssize_t*> malloc(max(T * p, 1) * sizeof(Py_ssize_t))
        if cols == NULL:
            raise MemoryError()
        with nogil:
            if a.dtype == F64:
                if a.itype == I32:
                    csr_gram(<const double*> a.data, <const int*> a.indices,
                             <const int*> a.indptr, a.m, a.n, p, pd, H, partials, xs, cols, T, nt)
                else:
                    csr_gram(<const double*> a.data, <const long long*> a.indices,
                             <const long long*> a.indptr, a.m, a.n, p, pd, H, partials, xs,
                             cols, T, nt)
            elif a.itype == I32:
                csr_gram(<const float*> a.data, <const int*> a.indices, <const int*> a.indptr,
                         a.m, a.n, p, pd, H, partials, xs, cols, T, nt)
            else:
                csr_gram(<const float*> a.data, <const long long*> a.indices,
                         <const long long*> a.indptr, a.m, a.n, p, pd, H, partials, xs, cols,
                         T, nt)
            finish_gram(H, partials, T, p, a.n, lam)
    finally:
        free(partials)
        free(xs)
        free(cols)


def max_eig_gram_csr(data, indices, indptr, Py_ssize_t n_features, d, v0,
                     Py_ssize_t max_iter, double tol, work):
    """CSR twin of :func:`max_eig_gram`."""
    cdef Csr a
    cdef const double* pd
    cdef const double* pv0
    unpack_csr_matrix(&a, data, indices, indptr, n_features)
    pd = f64_in(d, a.m, "d")
    pv0 = f64_in(v0, a.n, "v0")
    a.work = work_buffer(work, a.n, &a.T, &a.ldw)
    a.nt = _config._NUM_THREADS
    return power_iteration(csr_gram_product, &a, pd, pv0, a.n, max_iter, tol)


# --- build check -------------------------------------------------------------------------


def _openmp_team_size(int T):
    """Number of distinct OpenMP threads that run a ``prange(T, num_threads=T)`` (T when
    the module was built with OpenMP, 1 without it). For tests; not a kernel."""
    cdef int c, j, used = 0
    cdef int[::1] seen = np.zeros(max(T, 1), dtype=np.intc)
    for c in prange(T, nogil=True, schedule="static", num_threads=T):
        seen[threadid()] = 1
    for j in range(seen.shape[0]):
        used += seen[j]
    return used
