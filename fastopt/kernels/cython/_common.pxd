# cython: language_level=3
# Over 500 lines: the inline building blocks that every kernel module cimports (the
# layers below); one .pxd keeps the loss math, row primitives, chunk loops and passes
# of the logistic and squared losses in one place.
#
# Shared building blocks of the Cython kernels (cimported, never imported: there is no
# _common extension module, every function below is `inline` and compiled into each
# kernel module that uses it).
#
# Layers, after scikit-learn's sklearn/_loss/_loss.pyx.tp:
#
#   1. per-row math of a block of rows (`block_coefs`, `block_hvp_coefs`): the rows'
#      losses and their first and second derivatives in z, with exp and log1p vectorized
#      over the block in _vecmath.h;
#   2. per-row primitives (`row_dot`, `row_axpy`, `csr_dot`, ...): one row of X against a
#      float64 vector, float64 accumulation, vectorized in _simd.h;
#   3. chunk loops (`*_chunk`): a contiguous range of rows reduced into one row of `work`;
#   4. passes (`*_pass`): split the rows into T chunks, run the chunks under
#      `prange(T, schedule='static')` on min(T, nt) threads, then add the partial rows in
#      chunk order, so the result depends on T only, never on thread timing or count. T
#      is the first dimension of `work`, fixed by the data's size
#      (fastopt._config.n_chunks); nt is fastopt's thread count, read once per call by the
#      def wrapper. A small pass (or nt = 1) runs the same chunks in order on the calling
#      thread, outside any OpenMP region (`serial`);
#   5. the `def` wrappers in linear.pyx and gram.pyx: typed
#      memoryviews in, raw pointers down, nothing allocated on the hot path.
#
# Loss codes: every loss (the integer `kind`, from _loss_codes.pxd, which setup.py
# generates from fastopt/kernels/losses.py) shares every loop and differs only in the
# per-row math of layer 1 (`block_coefs`, `block_hvp_coefs`), whose branch on `kind` is
# perfectly predicted and costs nothing next to the O(n) row work.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport NAN, exp
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

from ._loss_codes cimport CONSTANT_CURVATURE_MASK, LOGISTIC, POISSON


# CSR index arrays: int32 or int64 (numpy's int64 buffer format 'l' is accepted for
# `long long` because Cython checks the size and signedness of the item, not its name).
ctypedef fused index_t:
    int
    long long


cdef extern from "_simd.h" nogil:
    double fo_dot_f64(const double* a, const double* w, Py_ssize_t n)
    double fo_dot_f32(const float* a, const double* w, Py_ssize_t n)
    void fo_dot2_f64(const double* a, const double* w, const double* v, Py_ssize_t n,
                     double* out_w, double* out_v)
    void fo_dot2_f32(const float* a, const double* w, const double* v, Py_ssize_t n,
                     double* out_w, double* out_v)
    void fo_axpy_f64(double alpha, const double* a, double* g, Py_ssize_t n)
    void fo_axpy_f32(double alpha, const float* a, double* g, Py_ssize_t n)
    void fo_scale_copy_f64(double scale, const double* a, double* dst, Py_ssize_t n)
    void fo_scale_copy_f32(double scale, const float* a, double* dst, Py_ssize_t n)


cdef extern from "_fused.h" nogil:
    double fo_axpy_dot_f64(double alpha, const double* a, double* g, const double* x,
                           const double* w, Py_ssize_t n)
    double fo_axpy_dot_f32(double alpha, const float* a, double* g, const float* x,
                           const double* w, Py_ssize_t n)
    void fo_axpy_dot2_f64(double alpha, const double* a, double* g, const double* x,
                          const double* w, const double* v, Py_ssize_t n, double* out_w,
                          double* out_v)
    void fo_axpy_dot2_f32(double alpha, const float* a, double* g, const float* x,
                          const double* w, const double* v, Py_ssize_t n, double* out_w,
                          double* out_v)
    void fo_prefetch_row(const void* p, Py_ssize_t nbytes)


cdef enum:
    # Below this many multiply-adds a pass runs its chunks on the calling thread: the
    # chunks (and so the result) are the same, only the OpenMP fork/join is saved, which
    # matters to callers making thousands of small calls. The serial path is a plain
    # loop, not `prange(..., use_threads_if=False)`: libgomp still sets up a team of
    # one for such a region, microseconds per pass (more than a whole pass over
    # 200 x 10 doubles).
    PARALLEL_MIN_WORK = 50000
    # Loss partials of up to this many chunks live on the stack.
    STACK_CHUNKS = 64
    # Rows per block in the chunk loops: a block's per-row math is one vectorized call
    # (_vecmath.h); its axpys are fused into the next block's dot sweeps (layer 3).
    BLOCK = 16
    # Partial gradients up to this length are accumulated on the chunk's stack (16 kB).
    PRIVATE_ROW_MAX = 2048


# --- 1. per-row math of a block of rows -------------------------------------------------

cdef extern from "_vecmath.h" nogil:
    void fo_logistic_terms(const double* t, Py_ssize_t nb, double* loss, double* slope,
                           double* curvature)
    void fo_logistic_curvature(const double* z, Py_ssize_t nb, double* curvature)


cdef inline void pad_lanes(double* a, Py_ssize_t nb) noexcept nogil:
    """Zero a[nb:] up to the next multiple of 4: the vector loops of _vecmath.h read
    whole groups of four, and the unused lanes should hold a harmless value."""
    cdef Py_ssize_t k
    for k in range(nb, (nb + 3) & ~3):
        a[k] = 0.0


cdef inline double block_coefs(int kind, const double* y, const double* sw, double scale,
                               const Py_ssize_t* idx, Py_ssize_t nb, double* z,
                               bint weights_only, double* d_out,
                               double* scratch) noexcept nogil:
    """Loss of a block of rows; z[k] (= z_i, i = idx[k]) is replaced by the gradient
    coefficient dloss/dz_i, and d_out[i] (when not NULL) gets d2loss/dz_i^2.

    With wt_i = scale sw_i and the margin t_i = y_i z_i:
    logistic: loss = wt_i log(1 + exp(-t_i)), coefficient -wt_i y_i sigma(-t_i), weight
    wt_i sigma(t_i) sigma(-t_i), all from fo_logistic_terms (one vectorized loop over the
    block, stable for every finite t_i; a row of X is never touched here);
    squared: loss = wt_i (z_i - y_i)^2 / 2, coefficient wt_i (z_i - y_i), weight wt_i;
    poisson: loss = wt_i (exp(z_i) - y_i z_i), coefficient wt_i (exp(z_i) - y_i), weight
    wt_i exp(z_i) (exp overflows to inf for z_i > ~709: the loss is then inf, as it is).
    With weights_only (and d_out given), only the weights are written (no loss, no
    log1p) and 0 is returned. scratch holds 4 * BLOCK doubles.
    """
    cdef Py_ssize_t k, i
    cdef double loss = 0.0, wt, r, e
    cdef double* t = scratch
    cdef double* lv = scratch + BLOCK
    cdef double* slope = scratch + 2 * BLOCK
    cdef double* cv = scratch + 3 * BLOCK
    if weights_only and d_out != NULL:
        if kind == LOGISTIC:
            pad_lanes(z, nb)
            fo_logistic_curvature(z, nb, cv)
        elif kind == POISSON:
            for k in range(nb):
                cv[k] = exp(z[k])
        else:
            for k in range(nb):
                cv[k] = 1.0
        for k in range(nb):
            i = idx[k]
            d_out[i] = scale * sw[i] * cv[k]
        return 0.0
    if kind == LOGISTIC:
        for k in range(nb):
            t[k] = y[idx[k]] * z[k]
        pad_lanes(t, nb)
        fo_logistic_terms(t, nb, lv, slope, cv)
        for k in range(nb):
            i = idx[k]
            wt = scale * sw[i]
            loss += wt * lv[k]
            z[k] = -y[i] * (wt * slope[k])
            if d_out != NULL:
                d_out[i] = wt * cv[k]
        return loss
    if kind == POISSON:
        for k in range(nb):
            i = idx[k]
            wt = scale * sw[i]
            e = exp(z[k])
            loss += wt * (e - y[i] * z[k])
            z[k] = wt * (e - y[i])
            if d_out != NULL:
                d_out[i] = wt * e
        return loss
    for k in range(nb):
        i = idx[k]
        wt = scale * sw[i]
        r = z[k] - y[i]
        loss += 0.5 * wt * (r * r)
        z[k] = wt * r
        if d_out != NULL:
            d_out[i] = wt
    return loss


cdef inline void block_hvp_coefs(int kind, const double* sw, Py_ssize_t r0, Py_ssize_t nb,
                                 double* z, double* u, double* scratch) noexcept nogil:
    """u[k] *= sw_i d2loss/dz_i^2 for rows i = r0 + k (z[k] = z_i, read unless the loss
    has a constant curvature)."""
    cdef Py_ssize_t k
    if kind == LOGISTIC:
        pad_lanes(z, nb)
        fo_logistic_curvature(z, nb, scratch)
        for k in range(nb):
            u[k] *= sw[r0 + k] * scratch[k]
    elif kind == POISSON:
        for k in range(nb):
            u[k] *= sw[r0 + k] * exp(z[k])
    else:
        for k in range(nb):
            u[k] *= sw[r0 + k]


cdef inline double* private_row(double* g, double* buf, Py_ssize_t p) noexcept nogil:
    """Where a chunk accumulates its partial gradient: buf (on the chunk's stack) when it
    fits, else g itself.

    The T partial rows are one C-ordered (T, p) array, so with p = 100 the end of row c
    and the start of row c + 1 share a cache line, and two threads adding into their
    rows every few data rows bounce it between their cores (a visible share of a dense
    10^6 x 100 pass on two threads). A private row has no shared line; it is copied to
    g once at the end (publish_row). The row returned is zeroed (NULL stays NULL)."""
    cdef double* acc = buf if (g != NULL and p <= PRIVATE_ROW_MAX) else g
    if acc != NULL:
        zero(acc, p)
    return acc


cdef inline void publish_row(const double* acc, double* g, Py_ssize_t p) noexcept nogil:
    if acc != g:
        memcpy(g, acc, p * sizeof(double))


# --- 2. per-row primitives ---------------------------------------------------------------

cdef inline double row_dot(const floating* a, const double* w, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return fo_dot_f32(a, w, n)
    else:
        return fo_dot_f64(a, w, n)


cdef inline void row_dot2(const floating* a, const double* w, const double* v, Py_ssize_t n,
                          double* out_w, double* out_v) noexcept nogil:
    if floating is float:
        fo_dot2_f32(a, w, v, n, out_w, out_v)
    else:
        fo_dot2_f64(a, w, v, n, out_w, out_v)


cdef inline void row_axpy(double alpha, const floating* a, double* g,
                          Py_ssize_t n) noexcept nogil:
    if floating is float:
        fo_axpy_f32(alpha, a, g, n)
    else:
        fo_axpy_f64(alpha, a, g, n)


cdef inline double row_axpy_dot(double alpha, const floating* a, double* g,
                                const floating* x, const double* w,
                                Py_ssize_t n) noexcept nogil:
    """g += alpha a; returns <x, w> (one sweep: see _fused.h)."""
    if floating is float:
        return fo_axpy_dot_f32(alpha, a, g, x, w, n)
    else:
        return fo_axpy_dot_f64(alpha, a, g, x, w, n)


cdef inline void row_axpy_dot2(double alpha, const floating* a, double* g,
                               const floating* x, const double* w, const double* v,
                               Py_ssize_t n, double* out_w, double* out_v) noexcept nogil:
    """g += alpha a; out_w = <x, w>, out_v = <x, v> (one sweep: see _fused.h)."""
    if floating is float:
        fo_axpy_dot2_f32(alpha, a, g, x, w, v, n, out_w, out_v)
    else:
        fo_axpy_dot2_f64(alpha, a, g, x, w, v, n, out_w, out_v)


cdef inline void prefetch_row(const floating* a, Py_ssize_t n) noexcept nogil:
    fo_prefetch_row(a, n * sizeof(floating))


cdef inline void row_scale_copy(double scale, const floating* a, double* dst,
                                Py_ssize_t n) noexcept nogil:
    if floating is float:
        fo_scale_copy_f32(scale, a, dst, n)
    else:
        fo_scale_copy_f64(scale, a, dst, n)


cdef inline double csr_dot(const floating* data, const index_t* indices, Py_ssize_t lo,
                           Py_ssize_t hi, const double* w) noexcept nogil:
    cdef double s = 0.0
    cdef Py_ssize_t q
    for q in range(lo, hi):
        s += <double> data[q] * w[indices[q]]
    return s


cdef inline void csr_dot2(const floating* data, const index_t* indices, Py_ssize_t lo,
                          Py_ssize_t hi, const double* w, const double* v,
                          double* out_w, double* out_v) noexcept nogil:
    cdef double s = 0.0, t = 0.0, x
    cdef Py_ssize_t q, j
    for q in range(lo, hi):
        x = data[q]
        j = indices[q]
        s += x * w[j]
        t += x * v[j]
    out_w[0] = s
    out_v[0] = t


cdef inline void csr_axpy(double alpha, const floating* data, const index_t* indices,
                          Py_ssize_t lo, Py_ssize_t hi, double* g) noexcept nogil:
    cdef Py_ssize_t q
    for q in range(lo, hi):
        g[indices[q]] += alpha * data[q]


# --- chunking and reductions -------------------------------------------------------------

cdef inline Py_ssize_t chunk_start(Py_ssize_t m, Py_ssize_t T, Py_ssize_t c) noexcept nogil:
    """First row of chunk c of T contiguous chunks of m rows (sizes differ by at most one).

    The same split as the Numba kernels, so both backends add the same partial sums.
    """
    return (m * c) // T


cdef inline Py_ssize_t csr_chunk_start(const index_t* indptr, Py_ssize_t m, Py_ssize_t T,
                                       Py_ssize_t c) noexcept nogil:
    """First row of chunk c when the m CSR rows are split into T chunks of about equal nnz.

    Balancing by nonzeros keeps the threads equally busy when row lengths vary; the split
    depends on indptr and T only (deterministic), and matches the Numba kernels.
    """
    cdef Py_ssize_t lo = 0, hi = m, mid, target
    cdef Py_ssize_t first = indptr[0], nnz = indptr[m] - first  # Py_ssize_t: no int32 overflow
    if c <= 0:
        return 0
    if c >= T:
        return m
    target = first + (nnz * c) // T
    while lo < hi:  # first row r with indptr[r] >= target
        mid = (lo + hi) // 2
        if indptr[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline void zero(double* g, Py_ssize_t p) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(p):
        g[j] = 0.0


cdef inline void sum_rows(const double* work, Py_ssize_t ldw, Py_ssize_t T, Py_ssize_t p,
                          double* out) noexcept nogil:
    """out[:p] = sum_c work[c, :p], adding the chunks in order c = 0, 1, ... (deterministic)."""
    cdef Py_ssize_t c, j
    zero(out, p)
    for c in range(T):
        for j in range(p):
            out[j] += work[c * ldw + j]


cdef inline double add_l2(double* g, const double* w, Py_ssize_t n, double lam) noexcept nogil:
    """g[:n] += lam w[:n] (when g is not NULL); returns lam/2 ||w[:n]||^2 (never the intercept)."""
    cdef double sq = 0.0
    cdef Py_ssize_t j
    for j in range(n):
        sq += w[j] * w[j]
        if g != NULL:
            g[j] += lam * w[j]
    return 0.5 * lam * sq


cdef inline double* loss_partials(double* stack_buf, Py_ssize_t T) noexcept nogil:
    if T <= STACK_CHUNKS:
        return stack_buf
    return <double*> malloc(T * sizeof(double))


cdef inline double sum_partials(double* part, double* stack_buf, Py_ssize_t T) noexcept nogil:
    """Sum the chunk losses in order and release the buffer if it was on the heap."""
    cdef double s = 0.0
    cdef Py_ssize_t c
    for c in range(T):
        s += part[c]
    if part != stack_buf:
        free(part)
    return s


# --- 3. chunk loops (dense) --------------------------------------------------------------
#
# Rows go in blocks of BLOCK, the block's per-row math in one call (layer 1), in a
# two-stage software pipeline: one sweep does the dots of block b and, fused in the same
# j loops, the axpys of block b - 1 (its coefficients are known by then and its rows are
# still in L1), while it prefetches block b + 1 (see _fused.h for why). The partial
# gradient is accumulated in a private row (private_row) and copied out at the end.

cdef inline Py_ssize_t block_rows(const long long* rows, bint use_rows, Py_ssize_t stop,
                                  Py_ssize_t r0, Py_ssize_t* idx) noexcept nogil:
    """idx[k] = the data row of position r0 + k (rows[r0 + k] when use_rows); returns the
    block's length, 0 at or past stop."""
    cdef Py_ssize_t k, nb = min(<Py_ssize_t> BLOCK, stop - r0)
    if nb < 0:
        nb = 0
    for k in range(nb):
        idx[k] = rows[r0 + k] if use_rows else r0 + k
    return nb


cdef inline void rotate_blocks(Py_ssize_t** prev, Py_ssize_t** cur,
                               Py_ssize_t** ahead) noexcept nogil:
    """Advance the pipeline by one block: prev <- cur <- ahead <- (the old prev buffer)."""
    cdef Py_ssize_t* old = prev[0]
    prev[0] = cur[0]
    cur[0] = ahead[0]
    ahead[0] = old


cdef inline void swap_buffers(double** a, double** b) noexcept nogil:
    cdef double* t = a[0]
    a[0] = b[0]
    b[0] = t


cdef inline void dense_sweep(
        const floating* X, Py_ssize_t n, double* acc, bint intercept,
        const Py_ssize_t* prev, const double* coef, Py_ssize_t n_prev,
        const Py_ssize_t* cur, Py_ssize_t nb, const double* w, double b, double* z,
        const double* v, double bv, double* u,
        const Py_ssize_t* ahead, Py_ssize_t n_ahead) noexcept nogil:
    """acc += sum_{k < n_prev} coef[k] a~_prev[k]; z[k] = <a_cur[k], w> + b for k < nb
    and, when v is not NULL, u[k] = <a_cur[k], v> + bv from the same read; prefetch the
    rows ahead[:n_ahead]."""
    cdef Py_ssize_t k, both = min(n_prev, nb)
    cdef const floating* x
    for k in range(nb):
        if k < n_ahead:
            prefetch_row(X + ahead[k] * n, n)
        x = X + cur[k] * n
        if k < both:
            if v == NULL:
                z[k] = row_axpy_dot(coef[k], X + prev[k] * n, acc, x, w, n)
            else:
                row_axpy_dot2(coef[k], X + prev[k] * n, acc, x, w, v, n, &z[k], &u[k])
        elif v == NULL:
            z[k] = row_dot(x, w, n)
        else:
            row_dot2(x, w, v, n, &z[k], &u[k])
        z[k] += b
        if v != NULL:
            u[k] += bv
    for k in range(both, n_prev):
        row_axpy(coef[k], X + prev[k] * n, acc, n)
    if intercept:
        for k in range(n_prev):
            acc[n] += coef[k]


cdef inline double dense_loss_chunk(
        int kind, const floating* X, Py_ssize_t n, const double* y, const double* sw,
        const double* w, bint intercept, const long long* rows, bint use_rows, double scale,
        Py_ssize_t start, Py_ssize_t stop, double* g, double* d_out) noexcept nogil:
    """Loss of rows [start, stop) (of `rows` when use_rows), gradient into g (when not
    NULL, zeroed first) and Hessian weights into d_out (when not NULL). With g NULL and
    d_out given, only the Hessian weights are computed (the loss returned is 0)."""
    cdef Py_ssize_t r0, nb, n_ahead, n_prev = 0
    cdef Py_ssize_t idx[3 * BLOCK]
    cdef Py_ssize_t* prev = idx
    cdef Py_ssize_t* cur = idx + BLOCK
    cdef Py_ssize_t* ahead = idx + 2 * BLOCK
    cdef double z0[BLOCK]
    cdef double z1[BLOCK]
    cdef double* z = z0
    cdef double* coef = z1
    cdef double scratch[4 * BLOCK]
    cdef double buf[PRIVATE_ROW_MAX]
    cdef double loss = 0.0
    cdef double b = w[n] if intercept else 0.0
    cdef Py_ssize_t p = n + intercept
    cdef double* acc = private_row(g, buf, p)
    nb = block_rows(rows, use_rows, stop, start, cur)
    # one more sweep after the last block does its axpys
    for r0 in range(start, stop + 16, 16):  # 16 = BLOCK (Cython needs a literal step)
        n_ahead = block_rows(rows, use_rows, stop, r0 + BLOCK, ahead)
        dense_sweep(X, n, acc, intercept, prev, coef, n_prev, cur, nb, w, b, z, NULL, 0.0,
                    NULL, ahead, n_ahead)
        if nb > 0:
            loss += block_coefs(kind, y, sw, scale, cur, nb, z, acc == NULL, d_out, scratch)
        n_prev = nb if acc != NULL else 0
        rotate_blocks(&prev, &cur, &ahead)
        swap_buffers(&coef, &z)
        nb = n_ahead
    if acc != NULL:
        publish_row(acc, g, p)
    return loss


cdef inline void dense_hvp_chunk(
        int kind, const floating* X, Py_ssize_t n, const double* y, const double* sw,
        const double* w, const double* v, bint intercept, Py_ssize_t start, Py_ssize_t stop,
        double* g) noexcept nogil:
    """g = sum_i d_i(w) <a~_i, v> a~_i over rows [start, stop): z_i and <a_i, v> in one
    read, pipelined as dense_loss_chunk (block b - 1's axpys in block b's dot sweeps)."""
    cdef Py_ssize_t r0, nb, n_ahead, n_prev = 0
    cdef Py_ssize_t idx[3 * BLOCK]
    cdef Py_ssize_t* prev = idx
    cdef Py_ssize_t* cur = idx + BLOCK
    cdef Py_ssize_t* ahead = idx + 2 * BLOCK
    cdef double z[BLOCK]
    cdef double u0[BLOCK]
    cdef double u1[BLOCK]
    cdef double* u = u0
    cdef double* coef = u1
    cdef double scratch[BLOCK]
    cdef double buf[PRIVATE_ROW_MAX]
    cdef double bw = w[n] if intercept else 0.0
    cdef double bv = v[n] if intercept else 0.0
    cdef Py_ssize_t p = n + intercept
    cdef double* acc = private_row(g, buf, p)
    nb = block_rows(NULL, False, stop, start, cur)
    for r0 in range(start, stop + 16, 16):  # 16 = BLOCK (Cython needs a literal step)
        n_ahead = block_rows(NULL, False, stop, r0 + BLOCK, ahead)
        if (CONSTANT_CURVATURE_MASK >> kind) & 1:  # d_i = sw_i, no w: only <a_i, v>
            dense_sweep(X, n, acc, intercept, prev, coef, n_prev, cur, nb, v, bv, u, NULL,
                        0.0, NULL, ahead, n_ahead)
        else:
            dense_sweep(X, n, acc, intercept, prev, coef, n_prev, cur, nb, w, bw, z, v, bv,
                        u, ahead, n_ahead)
        block_hvp_coefs(kind, sw, r0, nb, z, u, scratch)
        n_prev = nb
        rotate_blocks(&prev, &cur, &ahead)
        swap_buffers(&coef, &u)
        nb = n_ahead
    publish_row(acc, g, p)


cdef inline void dense_transpose_chunk(
        const floating* X, Py_ssize_t n, const double* c, const double* v, bint intercept,
        Py_ssize_t start, Py_ssize_t stop, double* g) noexcept nogil:
    """g = sum_i c_i a~_i (v NULL) or sum_i c_i <a~_i, v> a~_i (v given), rows [start, stop)."""
    cdef Py_ssize_t i
    cdef double coef
    cdef double buf[PRIVATE_ROW_MAX]
    cdef double bv = v[n] if (intercept and v != NULL) else 0.0
    cdef Py_ssize_t p = n + intercept
    cdef double* acc = private_row(g, buf, p)
    cdef const floating* a
    for i in range(start, stop):
        a = X + i * n
        coef = c[i]
        if v != NULL:
            coef = coef * (row_dot(a, v, n) + bv)
        row_axpy(coef, a, acc, n)
        if intercept:
            acc[n] += coef
    publish_row(acc, g, p)


# --- 3. chunk loops (CSR) ----------------------------------------------------------------

cdef inline double csr_loss_chunk(
        int kind, const floating* data, const index_t* indices, const index_t* indptr,
        Py_ssize_t n, const double* y, const double* sw, const double* w, bint intercept,
        const long long* rows, bint use_rows, double scale, Py_ssize_t start, Py_ssize_t stop,
        double* g, double* d_out) noexcept nogil:
    cdef Py_ssize_t r0, k, nb, i
    cdef Py_ssize_t idx[BLOCK]
    cdef double z[BLOCK]
    cdef double scratch[4 * BLOCK]
    cdef double buf[PRIVATE_ROW_MAX]
    cdef double loss = 0.0
    cdef double b = w[n] if intercept else 0.0
    cdef Py_ssize_t p = n + intercept
    cdef double* acc = private_row(g, buf, p)
    for r0 in range(start, stop, 16):  # 16 = BLOCK (Cython needs a literal step)
        nb = block_rows(rows, use_rows, stop, r0, idx)
        for k in range(nb):
            i = idx[k]
            z[k] = csr_dot(data, indices, indptr[i], indptr[i + 1], w) + b
        loss += block_coefs(kind, y, sw, scale, idx, nb, z, acc == NULL, d_out, scratch)
        if acc != NULL:
            for k in range(nb):
                i = idx[k]
                csr_axpy(z[k], data, indices, indptr[i], indptr[i + 1], acc)
                if intercept:
                    acc[n] += z[k]
    if acc != NULL:
        publish_row(acc, g, p)
    return loss


cdef inline void csr_hvp_chunk(
        int kind, const floating* data, const index_t* indices, const index_t* indptr,
        Py_ssize_t n, const double* y, const double* sw, const double* w, const double* v,
        bint intercept, Py_ssize_t start, Py_ssize_t stop, double* g) noexcept nogil:
    cdef Py_ssize_t r0, k, nb, i
    cdef double z[BLOCK]
    cdef double u[BLOCK]
    cdef double scratch[BLOCK]
    cdef double buf[PRIVATE_ROW_MAX]
    cdef double bw = w[n] if intercept else 0.0
    cdef double bv = v[n] if intercept else 0.0
    cdef Py_ssize_t p = n + intercept
    cdef double* acc = private_row(g, buf, p)
    for r0 in range(start, stop, 16):  # 16 = BLOCK (Cython needs a literal step)
        nb = min(<Py_ssize_t> BLOCK, stop - r0)
        for k in range(nb):
            i = r0 + k
            if (CONSTANT_CURVATURE_MASK >> kind) & 1:  # d_i = sw_i: only <a_i, v>
                u[k] = csr_dot(data, indices, indptr[i], indptr[i + 1], v) + bv
            else:
                csr_dot2(data, indices, indptr[i], indptr[i + 1], w, v, &z[k], &u[k])
                z[k] += bw
                u[k] += bv
        block_hvp_coefs(kind, sw, r0, nb, z, u, scratch)
        for k in range(nb):
            i = r0 + k
            csr_axpy(u[k], data, indices, indptr[i], indptr[i + 1], acc)
            if intercept:
                acc[n] += u[k]
    publish_row(acc, g, p)


cdef inline void csr_transpose_chunk(
        const floating* data, const index_t* indices, const index_t* indptr, Py_ssize_t n,
        const double* c, const double* v, bint intercept, Py_ssize_t start, Py_ssize_t stop,
        double* g) noexcept nogil:
    cdef Py_ssize_t i, lo, hi
    cdef double coef
    cdef double buf[PRIVATE_ROW_MAX]
    cdef double bv = v[n] if (intercept and v != NULL) else 0.0
    cdef Py_ssize_t p = n + intercept
    cdef double* acc = private_row(g, buf, p)
    for i in range(start, stop):
        lo = indptr[i]
        hi = indptr[i + 1]
        coef = c[i]
        if v != NULL:
            coef = coef * (csr_dot(data, indices, lo, hi, v) + bv)
        csr_axpy(coef, data, indices, lo, hi, acc)
        if intercept:
            acc[n] += coef
    publish_row(acc, g, p)


# --- 4. passes: T chunks on min(T, nt) threads, then an ordered reduction ---------------------------

cdef inline bint serial(Py_ssize_t T, int nt, Py_ssize_t work) noexcept nogil:
    """Whether a pass of this much work runs its T chunks on the calling thread: one chunk,
    one thread (``nt``, fastopt's thread count) or too little work to pay for a team."""
    return T <= 1 or nt <= 1 or work < PARALLEL_MIN_WORK


cdef inline int team(Py_ssize_t T, int nt) noexcept nogil:
    """Threads of the team that runs T chunks: fastopt's thread count nt, never more than
    the chunks. The chunks (fixed by the data's size) and the order of their sum do not
    depend on it, so neither does the result."""
    return <int> T if T < nt else nt


cdef inline Py_ssize_t csr_split(const index_t* indptr, Py_ssize_t m, Py_ssize_t k,
                                 bint use_rows, Py_ssize_t T, Py_ssize_t c) noexcept nogil:
    """First position of chunk c of a CSR loss pass: of the k batch positions split evenly
    (use_rows), else of the m rows balanced by nonzeros."""
    if use_rows:
        return chunk_start(k, T, c)
    return csr_chunk_start(indptr, m, T, c)


cdef inline double dense_loss_pass(
        int kind, const floating* X, Py_ssize_t n_rows, Py_ssize_t n, const double* y,
        const double* sw, const double* w, Py_ssize_t p, double lam,
        const long long* rows, bint use_rows, double scale,
        double* grad_out, double* d_out, double* work, Py_ssize_t ldw,
        Py_ssize_t T, int nt) noexcept nogil:
    """Loss (+ gradient into grad_out when not NULL, + Hessian weights into d_out when not
    NULL) over n_rows rows (the first n_rows, or rows[:n_rows] when use_rows)."""
    cdef double stack_buf[STACK_CHUNKS]
    cdef double* part = loss_partials(stack_buf, T)
    cdef bint intercept = p > n
    cdef Py_ssize_t c
    if part == NULL:
        return NAN
    if serial(T, nt, n_rows * (n + 1)):
        for c in range(T):
            part[c] = dense_loss_chunk(
                kind, X, n, y, sw, w, intercept, rows, use_rows, scale,
                chunk_start(n_rows, T, c), chunk_start(n_rows, T, c + 1),
                (work + c * ldw) if grad_out != NULL else NULL, d_out)
    else:
        for c in prange(T, schedule="static", num_threads=team(T, nt)):
            part[c] = dense_loss_chunk(
                kind, X, n, y, sw, w, intercept, rows, use_rows, scale,
                chunk_start(n_rows, T, c), chunk_start(n_rows, T, c + 1),
                (work + c * ldw) if grad_out != NULL else NULL, d_out)
    if grad_out != NULL:
        sum_rows(work, ldw, T, p, grad_out)
    return sum_partials(part, stack_buf, T) + add_l2(grad_out, w, n, lam)


cdef inline void dense_hvp_pass(
        int kind, const floating* X, Py_ssize_t m, Py_ssize_t n, const double* y,
        const double* sw, const double* w, const double* v, Py_ssize_t p, double lam,
        double* out, double* work, Py_ssize_t ldw, Py_ssize_t T, int nt) noexcept nogil:
    cdef Py_ssize_t c
    if serial(T, nt, m * (n + 1)):
        for c in range(T):
            dense_hvp_chunk(kind, X, n, y, sw, w, v, p > n,
                            chunk_start(m, T, c), chunk_start(m, T, c + 1), work + c * ldw)
    else:
        for c in prange(T, schedule="static", num_threads=team(T, nt)):
            dense_hvp_chunk(kind, X, n, y, sw, w, v, p > n,
                            chunk_start(m, T, c), chunk_start(m, T, c + 1), work + c * ldw)
    sum_rows(work, ldw, T, p, out)
    add_l2(out, v, n, lam)


cdef inline void dense_transpose_pass(
        const floating* X, Py_ssize_t m, Py_ssize_t n, const double* coefs, const double* v,
        Py_ssize_t p, double lam, double* out, double* work, Py_ssize_t ldw,
        Py_ssize_t T, int nt) noexcept nogil:
    """out = X~^T diag(coefs) (X~ v) + lam v[:n] (v given) or X~^T coefs (v NULL)."""
    cdef Py_ssize_t c
    if serial(T, nt, m * (n + 1)):
        for c in range(T):
            dense_transpose_chunk(X, n, coefs, v, p > n, chunk_start(m, T, c),
                                  chunk_start(m, T, c + 1), work + c * ldw)
    else:
        for c in prange(T, schedule="static", num_threads=team(T, nt)):
            dense_transpose_chunk(X, n, coefs, v, p > n, chunk_start(m, T, c),
                                  chunk_start(m, T, c + 1), work + c * ldw)
    sum_rows(work, ldw, T, p, out)
    if v != NULL:
        add_l2(out, v, n, lam)


cdef inline double csr_loss_pass(
        int kind, const floating* data, const index_t* indices, const index_t* indptr,
        Py_ssize_t m, Py_ssize_t n, const double* y, const double* sw, const double* w,
        Py_ssize_t p, double lam, const long long* rows, Py_ssize_t k, bint use_rows,
        double scale, double* grad_out, double* d_out, double* work, Py_ssize_t ldw,
        Py_ssize_t T, int nt) noexcept nogil:
    """CSR twin of dense_loss_pass. Full passes balance the chunks by nnz; mini-batch
    passes (use_rows) split the k batch positions evenly."""
    cdef double stack_buf[STACK_CHUNKS]
    cdef double* part = loss_partials(stack_buf, T)
    cdef bint intercept = p > n
    cdef Py_ssize_t c
    cdef Py_ssize_t nnz = <Py_ssize_t> indptr[m] - <Py_ssize_t> indptr[0]
    if part == NULL:
        return NAN
    if serial(T, nt, k if use_rows else m + nnz):
        for c in range(T):
            part[c] = csr_loss_chunk(
                kind, data, indices, indptr, n, y, sw, w, intercept, rows, use_rows, scale,
                csr_split(indptr, m, k, use_rows, T, c),
                csr_split(indptr, m, k, use_rows, T, c + 1),
                (work + c * ldw) if grad_out != NULL else NULL, d_out)
    else:
        for c in prange(T, schedule="static", num_threads=team(T, nt)):
            part[c] = csr_loss_chunk(
                kind, data, indices, indptr, n, y, sw, w, intercept, rows, use_rows, scale,
                csr_split(indptr, m, k, use_rows, T, c),
                csr_split(indptr, m, k, use_rows, T, c + 1),
                (work + c * ldw) if grad_out != NULL else NULL, d_out)
    if grad_out != NULL:
        sum_rows(work, ldw, T, p, grad_out)
    return sum_partials(part, stack_buf, T) + add_l2(grad_out, w, n, lam)


cdef inline void csr_hvp_pass(
        int kind, const floating* data, const index_t* indices, const index_t* indptr,
        Py_ssize_t m, Py_ssize_t n, const double* y, const double* sw, const double* w,
        const double* v, Py_ssize_t p, double lam, double* out, double* work, Py_ssize_t ldw,
        Py_ssize_t T, int nt) noexcept nogil:
    cdef Py_ssize_t c
    if serial(T, nt, m + <Py_ssize_t> (indptr[m] - indptr[0])):
        for c in range(T):
            csr_hvp_chunk(kind, data, indices, indptr, n, y, sw, w, v, p > n,
                          csr_chunk_start(indptr, m, T, c),
                          csr_chunk_start(indptr, m, T, c + 1), work + c * ldw)
    else:
        for c in prange(T, schedule="static", num_threads=team(T, nt)):
            csr_hvp_chunk(kind, data, indices, indptr, n, y, sw, w, v, p > n,
                          csr_chunk_start(indptr, m, T, c),
                          csr_chunk_start(indptr, m, T, c + 1), work + c * ldw)
    sum_rows(work, ldw, T, p, out)
    add_l2(out, v, n, lam)


cdef inline void csr_transpose_pass(
        const floating* data, const index_t* indices, const index_t* indptr, Py_ssize_t m,
        Py_ssize_t n, const double* coefs, const double* v, Py_ssize_t p, double lam,
        double* out, double* work, Py_ssize_t ldw, Py_ssize_t T, int nt) noexcept nogil:
    cdef Py_ssize_t c
    if serial(T, nt, m + <Py_ssize_t> (indptr[m] - indptr[0])):
        for c in range(T):
            csr_transpose_chunk(data, indices, indptr, n, coefs, v, p > n,
                                csr_chunk_start(indptr, m, T, c),
                                csr_chunk_start(indptr, m, T, c + 1), work + c * ldw)
    else:
        for c in prange(T, schedule="static", num_threads=team(T, nt)):
            csr_transpose_chunk(data, indices, indptr, n, coefs, v, p > n,
                                csr_chunk_start(indptr, m, T, c),
                                csr_chunk_start(indptr, m, T, c + 1), work + c * ldw)
    sum_rows(work, ldw, T, p, out)
    if v != NULL:
        add_l2(out, v, n, lam)
