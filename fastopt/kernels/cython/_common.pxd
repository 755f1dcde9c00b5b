# cython: language_level=3
#
# Shared building blocks of the Cython kernels (cimported, never imported: there is no
# _common extension module, every function below is `inline` and compiled into each
# kernel module that uses it).
#
# Layers, after scikit-learn's sklearn/_loss/_loss.pyx.tp:
#
#   1. per-sample scalar functions (`pointwise`, `curvature`, `log1p_unit`): one row's
#      loss and its first and second derivatives in z, `noexcept nogil`, no arrays;
#   2. per-row primitives (`row_dot`, `row_axpy`, `csr_dot`, ...): one row of X against a
#      float64 vector, float64 accumulation, vectorized in _simd.h;
#   3. chunk loops (`*_chunk`): a contiguous range of rows reduced into one row of `work`;
#   4. passes (`*_pass`): split the rows into T chunks, run the chunks under
#      `prange(T, schedule='static')`, then add the partial rows in chunk order, so the
#      result depends on T only, never on thread timing (DESIGN.md, rule 3);
#   5. the `def` wrappers in logistic.pyx, least_squares.pyx and gram.pyx: typed
#      memoryviews in, raw pointers down, nothing allocated on the hot path.
#
# Objective codes: the logistic and squared losses share every loop and differ only in
# `pointwise`, whose branch on `kind` is perfectly predicted and costs nothing next to
# the O(n) row work.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport NAN, exp, fabs, log
from libc.stdlib cimport malloc, free


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


cdef enum:
    LOGISTIC = 0
    SQUARED = 1
    # Below this many multiply-adds a pass runs its chunks on the calling thread: the
    # chunks (and so the result) are the same, only the OpenMP fork/join is saved, which
    # matters to callers making thousands of small calls.
    PARALLEL_MIN_WORK = 50000
    # Loss partials of up to this many chunks live on the stack.
    STACK_CHUNKS = 64


# --- 1. per-sample functions -------------------------------------------------------------

cdef inline double log1p_unit(double x) noexcept nogil:
    """log(1 + x) for x in [0, 1], as log(u) x / (u - 1) with u = 1 + x (Goldberg, "What
    every computer scientist should know about floating-point arithmetic", Thm. 4).

    Within 2 ulp of log1p (checked on [1e-300, 1]) and about twice as fast as glibc's
    log1p: `log` has a fast FMA path, and this is the one transcendental per sample of
    every logistic loss pass besides `exp`.
    """
    cdef double u = 1.0 + x
    if u == 1.0:
        return x
    return log(u) * (x / (u - 1.0))


cdef inline double pointwise(int kind, double y, double z, double sw,
                             double* dz, double* d2z) noexcept nogil:
    """sw * loss(y, z); sets dz = sw dloss/dz and d2z = sw d2loss/dz2 unless NULL.

    Logistic: loss = log(1 + exp(t)) with t = -y z, computed stably for every finite z
    as max(t, 0) + log1p(exp(-|t|)) (never exp of a positive number), dloss/dz = -y sigma(t),
    d2loss/dz2 = sigma(t) (1 - sigma(t)) = e / (1 + e)^2 with e = exp(-|t|): one exp
    per sample, exact in both tails (no 1 - sigma cancellation). The NULL checks are
    loop-invariant (perfectly predicted) and spare the divisions a pass does not need.
    Squared: loss = (z - y)^2 / 2, dloss/dz = z - y, d2loss/dz2 = 1.
    """
    cdef double t, e, r
    if kind == LOGISTIC:
        t = -y * z
        e = exp(-fabs(t))
        if dz != NULL:
            dz[0] = -sw * y * ((1.0 if t > 0.0 else e) / (1.0 + e))
        if d2z != NULL:
            d2z[0] = sw * (e / ((1.0 + e) * (1.0 + e)))
        return sw * ((t if t > 0.0 else 0.0) + log1p_unit(e))
    r = z - y
    if dz != NULL:
        dz[0] = sw * r
    if d2z != NULL:
        d2z[0] = sw
    return 0.5 * sw * (r * r)


cdef inline double curvature(int kind, double y, double z, double sw) noexcept nogil:
    """sw * d2loss/dz2 alone (HVPs and Hessian weights need no log1p)."""
    cdef double e
    if kind == LOGISTIC:
        e = exp(-fabs(y * z))
        return sw * (e / ((1.0 + e) * (1.0 + e)))
    return sw


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

cdef inline double dense_loss_chunk(
        int kind, const floating* X, Py_ssize_t n, const double* y, const double* sw,
        const double* w, bint intercept, const long long* rows, bint use_rows, double scale,
        Py_ssize_t start, Py_ssize_t stop, double* g, double* d_out) noexcept nogil:
    """Loss of rows [start, stop) (of `rows` when use_rows), gradient into g (when not
    NULL, zeroed first) and Hessian weights into d_out (when not NULL). With g NULL and
    d_out given, only the Hessian weights are computed (the loss returned is 0)."""
    cdef Py_ssize_t t, i
    cdef double loss = 0.0, z, dz = 0.0, d2z = 0.0
    cdef double b = w[n] if intercept else 0.0
    cdef const floating* a
    if g != NULL:
        zero(g, n + intercept)
    for t in range(start, stop):
        i = rows[t] if use_rows else t
        a = X + i * n
        z = row_dot(a, w, n) + b
        if g == NULL and d_out != NULL:  # Hessian weights only: no loss, no log1p
            d_out[i] = curvature(kind, y[i], z, sw[i] * scale)
            continue
        loss += pointwise(kind, y[i], z, sw[i] * scale, &dz if g != NULL else NULL,
                          &d2z if d_out != NULL else NULL)
        if g != NULL:
            row_axpy(dz, a, g, n)
            if intercept:
                g[n] += dz
        if d_out != NULL:
            d_out[i] = d2z
    return loss


cdef inline void dense_hvp_chunk(
        int kind, const floating* X, Py_ssize_t n, const double* y, const double* sw,
        const double* w, const double* v, bint intercept, Py_ssize_t start, Py_ssize_t stop,
        double* g) noexcept nogil:
    """g = sum_i d_i(w) <a~_i, v> a~_i over rows [start, stop): z_i and <a_i, v> in one read."""
    cdef Py_ssize_t i
    cdef double z, u, d2z, coef
    cdef double bw = w[n] if intercept else 0.0
    cdef double bv = v[n] if intercept else 0.0
    cdef const floating* a
    zero(g, n + intercept)
    for i in range(start, stop):
        a = X + i * n
        if kind == SQUARED:  # d_i = sw_i does not depend on w
            u = row_dot(a, v, n)
            d2z = sw[i]
        else:
            row_dot2(a, w, v, n, &z, &u)
            d2z = curvature(kind, y[i], z + bw, sw[i])
        coef = d2z * (u + bv)
        row_axpy(coef, a, g, n)
        if intercept:
            g[n] += coef


cdef inline void dense_transpose_chunk(
        const floating* X, Py_ssize_t n, const double* c, const double* v, bint intercept,
        Py_ssize_t start, Py_ssize_t stop, double* g) noexcept nogil:
    """g = sum_i c_i a~_i (v NULL) or sum_i c_i <a~_i, v> a~_i (v given), rows [start, stop)."""
    cdef Py_ssize_t i
    cdef double coef
    cdef double bv = v[n] if (intercept and v != NULL) else 0.0
    cdef const floating* a
    zero(g, n + intercept)
    for i in range(start, stop):
        a = X + i * n
        coef = c[i]
        if v != NULL:
            coef = coef * (row_dot(a, v, n) + bv)
        row_axpy(coef, a, g, n)
        if intercept:
            g[n] += coef


# --- 3. chunk loops (CSR) ----------------------------------------------------------------

cdef inline double csr_loss_chunk(
        int kind, const floating* data, const index_t* indices, const index_t* indptr,
        Py_ssize_t n, const double* y, const double* sw, const double* w, bint intercept,
        const long long* rows, bint use_rows, double scale, Py_ssize_t start, Py_ssize_t stop,
        double* g, double* d_out) noexcept nogil:
    cdef Py_ssize_t t, i, lo, hi
    cdef double loss = 0.0, z, dz = 0.0, d2z = 0.0
    cdef double b = w[n] if intercept else 0.0
    if g != NULL:
        zero(g, n + intercept)
    for t in range(start, stop):
        i = rows[t] if use_rows else t
        lo = indptr[i]
        hi = indptr[i + 1]
        z = csr_dot(data, indices, lo, hi, w) + b
        if g == NULL and d_out != NULL:  # Hessian weights only: no loss, no log1p
            d_out[i] = curvature(kind, y[i], z, sw[i] * scale)
            continue
        loss += pointwise(kind, y[i], z, sw[i] * scale, &dz if g != NULL else NULL,
                          &d2z if d_out != NULL else NULL)
        if g != NULL:
            csr_axpy(dz, data, indices, lo, hi, g)
            if intercept:
                g[n] += dz
        if d_out != NULL:
            d_out[i] = d2z
    return loss


cdef inline void csr_hvp_chunk(
        int kind, const floating* data, const index_t* indices, const index_t* indptr,
        Py_ssize_t n, const double* y, const double* sw, const double* w, const double* v,
        bint intercept, Py_ssize_t start, Py_ssize_t stop, double* g) noexcept nogil:
    cdef Py_ssize_t i, lo, hi
    cdef double z, u, d2z, coef
    cdef double bw = w[n] if intercept else 0.0
    cdef double bv = v[n] if intercept else 0.0
    zero(g, n + intercept)
    for i in range(start, stop):
        lo = indptr[i]
        hi = indptr[i + 1]
        if kind == SQUARED:
            u = csr_dot(data, indices, lo, hi, v)
            d2z = sw[i]
        else:
            csr_dot2(data, indices, lo, hi, w, v, &z, &u)
            d2z = curvature(kind, y[i], z + bw, sw[i])
        coef = d2z * (u + bv)
        csr_axpy(coef, data, indices, lo, hi, g)
        if intercept:
            g[n] += coef


cdef inline void csr_transpose_chunk(
        const floating* data, const index_t* indices, const index_t* indptr, Py_ssize_t n,
        const double* c, const double* v, bint intercept, Py_ssize_t start, Py_ssize_t stop,
        double* g) noexcept nogil:
    cdef Py_ssize_t i, lo, hi
    cdef double coef
    cdef double bv = v[n] if (intercept and v != NULL) else 0.0
    zero(g, n + intercept)
    for i in range(start, stop):
        lo = indptr[i]
        hi = indptr[i + 1]
        coef = c[i]
        if v != NULL:
            coef = coef * (csr_dot(data, indices, lo, hi, v) + bv)
        csr_axpy(coef, data, indices, lo, hi, g)
        if intercept:
            g[n] += coef


# --- 4. passes: T chunks in parallel, then an ordered reduction ---------------------------

cdef inline double dense_loss_pass(
        int kind, const floating* X, Py_ssize_t n_rows, Py_ssize_t n, const double* y,
        const double* sw, const double* w, Py_ssize_t p, double lam,
        const long long* rows, bint use_rows, double scale,
        double* grad_out, double* d_out, double* work, Py_ssize_t ldw,
        Py_ssize_t T) noexcept nogil:
    """Loss (+ gradient into grad_out when not NULL, + Hessian weights into d_out when not
    NULL) over n_rows rows (the first n_rows, or rows[:n_rows] when use_rows)."""
    cdef double stack_buf[STACK_CHUNKS]
    cdef double* part = loss_partials(stack_buf, T)
    cdef bint intercept = p > n
    cdef Py_ssize_t c
    if part == NULL:
        return NAN
    for c in prange(T, schedule="static", num_threads=T,
                    use_threads_if=T > 1 and n_rows * (n + 1) >= PARALLEL_MIN_WORK):
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
        double* out, double* work, Py_ssize_t ldw, Py_ssize_t T) noexcept nogil:
    cdef Py_ssize_t c
    for c in prange(T, schedule="static", num_threads=T,
                    use_threads_if=T > 1 and m * (n + 1) >= PARALLEL_MIN_WORK):
        dense_hvp_chunk(kind, X, n, y, sw, w, v, p > n,
                        chunk_start(m, T, c), chunk_start(m, T, c + 1), work + c * ldw)
    sum_rows(work, ldw, T, p, out)
    add_l2(out, v, n, lam)


cdef inline void dense_transpose_pass(
        const floating* X, Py_ssize_t m, Py_ssize_t n, const double* coefs, const double* v,
        Py_ssize_t p, double lam, double* out, double* work, Py_ssize_t ldw,
        Py_ssize_t T) noexcept nogil:
    """out = X~^T diag(coefs) (X~ v) + lam v[:n] (v given) or X~^T coefs (v NULL)."""
    cdef Py_ssize_t c
    for c in prange(T, schedule="static", num_threads=T,
                    use_threads_if=T > 1 and m * (n + 1) >= PARALLEL_MIN_WORK):
        dense_transpose_chunk(X, n, coefs, v, p > n,
                              chunk_start(m, T, c), chunk_start(m, T, c + 1), work + c * ldw)
    sum_rows(work, ldw, T, p, out)
    if v != NULL:
        add_l2(out, v, n, lam)


cdef inline double csr_loss_pass(
        int kind, const floating* data, const index_t* indices, const index_t* indptr,
        Py_ssize_t m, Py_ssize_t n, const double* y, const double* sw, const double* w,
        Py_ssize_t p, double lam, const long long* rows, Py_ssize_t k, bint use_rows,
        double scale, double* grad_out, double* d_out, double* work, Py_ssize_t ldw,
        Py_ssize_t T) noexcept nogil:
    """CSR twin of dense_loss_pass. Full passes balance the chunks by nnz; mini-batch
    passes (use_rows) split the k batch positions evenly."""
    cdef double stack_buf[STACK_CHUNKS]
    cdef double* part = loss_partials(stack_buf, T)
    cdef bint intercept = p > n
    cdef Py_ssize_t c, start, stop
    cdef Py_ssize_t nnz = <Py_ssize_t> indptr[m] - <Py_ssize_t> indptr[0]
    if part == NULL:
        return NAN
    for c in prange(T, schedule="static", num_threads=T,
                    use_threads_if=T > 1 and (k if use_rows else m + nnz) >= PARALLEL_MIN_WORK):
        if use_rows:
            start = chunk_start(k, T, c)
            stop = chunk_start(k, T, c + 1)
        else:
            start = csr_chunk_start(indptr, m, T, c)
            stop = csr_chunk_start(indptr, m, T, c + 1)
        part[c] = csr_loss_chunk(
            kind, data, indices, indptr, n, y, sw, w, intercept, rows, use_rows, scale,
            start, stop, (work + c * ldw) if grad_out != NULL else NULL, d_out)
    if grad_out != NULL:
        sum_rows(work, ldw, T, p, grad_out)
    return sum_partials(part, stack_buf, T) + add_l2(grad_out, w, n, lam)


cdef inline void csr_hvp_pass(
        int kind, const floating* data, const index_t* indices, const index_t* indptr,
        Py_ssize_t m, Py_ssize_t n, const double* y, const double* sw, const double* w,
        const double* v, Py_ssize_t p, double lam, double* out, double* work, Py_ssize_t ldw,
        Py_ssize_t T) noexcept nogil:
    cdef Py_ssize_t c
    for c in prange(T, schedule="static", num_threads=T,
                    use_threads_if=T > 1 and m + <Py_ssize_t> (indptr[m] - indptr[0]) >= PARALLEL_MIN_WORK):
        csr_hvp_chunk(kind, data, indices, indptr, n, y, sw, w, v, p > n,
                      csr_chunk_start(indptr, m, T, c), csr_chunk_start(indptr, m, T, c + 1),
                      work + c * ldw)
    sum_rows(work, ldw, T, p, out)
    add_l2(out, v, n, lam)


cdef inline void csr_transpose_pass(
        const floating* data, const index_t* indices, const index_t* indptr, Py_ssize_t m,
        Py_ssize_t n, const double* coefs, const double* v, Py_ssize_t p, double lam,
        double* out, double* work, Py_ssize_t ldw, Py_ssize_t T) noexcept nogil:
    cdef Py_ssize_t c
    for c in prange(T, schedule="static", num_threads=T,
                    use_threads_if=T > 1 and m + <Py_ssize_t> (indptr[m] - indptr[0]) >= PARALLEL_MIN_WORK):
        csr_transpose_chunk(data, indices, indptr, n, coefs, v, p > n,
                            csr_chunk_start(indptr, m, T, c),
                            csr_chunk_start(indptr, m, T, c + 1), work + c * ldw)
    sum_rows(work, ldw, T, p, out)
    if v != NULL:
        add_l2(out, v, n, lam)
