# cython: language_level=3
# Over 500 lines: one loss per module, as logistic.pyx: the per-row math, the chunk
# loops, the passes and the C-level argument reader share the Pass struct and the
# fused types, which a split would have to move into a .pxd of inline code.
"""Cython (OpenMP) twins of the multinomial (softmax) logistic regression kernels.

Same names, signatures and mathematics as the NumPy twin
``fastopt/kernels/reference/multinomial.py`` (its docstring gives the model, the
feature-major layout of ``w`` and the shape of ``work``) and the same algorithm as the
numba twin ``fastopt/kernels/numba/multinomial.py``. With K classes, W of shape (p, K)
flattened in C order (p = n, or n + 1 with the intercepts in row n), logits
z_i = W[:n]^T a_i + W[n] and softmax probabilities p_i:

.. math::

    f(W) = \\sum_i sw_i (\\operatorname{logsumexp}(z_i) - z_{i c_i})
           + \\frac{\\lambda}{2} \\|W_{:n}\\|_F^2

    \\nabla f(W) = \\sum_i \\tilde a_i (sw_i (p_i - e_{c_i}))^T + \\lambda W

    \\nabla^2 f(W) V = \\sum_i \\tilde a_i (sw_i (p_i \\circ u_i - p_i \\langle p_i, u_i
    \\rangle))^T + \\lambda V, \\qquad u_i = V^T \\tilde a_i

(lam never on the intercepts). Every kernel makes ONE pass over the rows: per row the K
logits (``_multinomial.h``: the classes held in vector registers for the whole row), the
stable softmax in place (max-shifted, as the numba twin), the weighted residual, and its
scatter into the chunk's partial gradient. Dense chunks with K >= 4 go four rows at a
time (``_mn_tile.h``): the tile's logits as a small matrix product held in registers,
one vectorized exp over the tile, and the tile's update of the partial gradient, so each
row of W and of the gradient is loaded once per four rows of X. Nothing of size m x K is formed except the
probabilities the ``_proba`` kernels are asked to keep.

Threads: the m rows are split into ``T = work.shape[0]`` contiguous chunks of sizes
differing by at most one (CSR too: the numba twin's split), T fixed by the data's size
(``fastopt._config.n_chunks``), shared by ``min(T, fo.get_num_threads())`` OpenMP threads
(``prange``, static schedule), each chunk reducing into its own partial; the partials are
then added in chunk order, so results depend on T only, never on the thread count.
Small passes (m n K, or (nnz + m) K, below ``fastopt._config.PARALLEL_MIN_WORK``) and
one-thread runs execute the same chunks on the calling thread.
The GIL is released for the whole pass. Nothing is allocated: a chunk's partial
gradient (when P <= 2048) and its two K-vectors of per-row scratch (when K <= 256) live
on its thread's stack, so that no two threads write to one cache line while they run;
larger ones use the chunk's row of ``work``, as the numba twin does. ``X``/``data`` may
be float32 or float64 (accumulated in float64); CSR ``indices``/``indptr`` int32 or
int64, any order of the entries within a row.
"""

cimport numpy as cnp
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp, log
from libc.string cimport memcpy, memset

from ._common cimport chunk_start, index_t, sum_rows, zero

from fastopt import _config
from fastopt._config import PARALLEL_MIN_WORK as _PARALLEL_MIN_WORK

cnp.import_array()

__all__ = [
    "multinomial_loss",
    "multinomial_loss_csr",
    "multinomial_loss_grad",
    "multinomial_loss_grad_csr",
    "multinomial_loss_grad_proba",
    "multinomial_loss_grad_proba_csr",
    "multinomial_hvp",
    "multinomial_hvp_csr",
    "multinomial_hvp_proba",
    "multinomial_hvp_proba_csr",
]


cdef extern from "_multinomial.h" nogil:
    void fo_mn_logits_dense_f64(const double* a, const int* idx, Py_ssize_t lo, Py_ssize_t hi,
                                const double* W, const double* V, Py_ssize_t K,
                                const double* bw, const double* bv, double* z, double* u)
    void fo_mn_logits_dense_f32(const float* a, const int* idx, Py_ssize_t lo, Py_ssize_t hi,
                                const double* W, const double* V, Py_ssize_t K,
                                const double* bw, const double* bv, double* z, double* u)
    void fo_mn_logits_csr_f64_i32(const double* a, const int* idx, Py_ssize_t lo,
                                  Py_ssize_t hi, const double* W, const double* V,
                                  Py_ssize_t K, const double* bw, const double* bv,
                                  double* z, double* u)
    void fo_mn_logits_csr_f64_i64(const double* a, const long long* idx, Py_ssize_t lo,
                                  Py_ssize_t hi, const double* W, const double* V,
                                  Py_ssize_t K, const double* bw, const double* bv,
                                  double* z, double* u)
    void fo_mn_logits_csr_f32_i32(const float* a, const int* idx, Py_ssize_t lo,
                                  Py_ssize_t hi, const double* W, const double* V,
                                  Py_ssize_t K, const double* bw, const double* bv,
                                  double* z, double* u)
    void fo_mn_logits_csr_f32_i64(const float* a, const long long* idx, Py_ssize_t lo,
                                  Py_ssize_t hi, const double* W, const double* V,
                                  Py_ssize_t K, const double* bw, const double* bv,
                                  double* z, double* u)
    void fo_mn_scatter_dense_f64(const double* a, const int* idx, Py_ssize_t lo,
                                 Py_ssize_t hi, Py_ssize_t K, const double* r, double* G)
    void fo_mn_scatter_dense_f32(const float* a, const int* idx, Py_ssize_t lo,
                                 Py_ssize_t hi, Py_ssize_t K, const double* r, double* G)
    void fo_mn_scatter_csr_f64_i32(const double* a, const int* idx, Py_ssize_t lo,
                                   Py_ssize_t hi, Py_ssize_t K, const double* r, double* G)
    void fo_mn_scatter_csr_f64_i64(const double* a, const long long* idx, Py_ssize_t lo,
                                   Py_ssize_t hi, Py_ssize_t K, const double* r, double* G)
    void fo_mn_scatter_csr_f32_i32(const float* a, const int* idx, Py_ssize_t lo,
                                   Py_ssize_t hi, Py_ssize_t K, const double* r, double* G)
    void fo_mn_scatter_csr_f32_i64(const float* a, const long long* idx, Py_ssize_t lo,
                                   Py_ssize_t hi, Py_ssize_t K, const double* r, double* G)


cdef extern from "_mn_tile.h" nogil:
    # Dense chunks in tiles of four rows (K >= 4, GCC/Clang; FO_MN_TILES says if built).
    int FO_MN_TILES
    double fo_mn_dense_chunk_f64(int mode, const double* X, Py_ssize_t n, const long long* y,
                                 const double* sw, const double* w, const double* v,
                                 double* proba, Py_ssize_t K, int has_b, Py_ssize_t lo,
                                 Py_ssize_t hi, double* G, double* buf)
    double fo_mn_dense_chunk_f32(int mode, const float* X, Py_ssize_t n, const long long* y,
                                 const double* sw, const double* w, const double* v,
                                 double* proba, Py_ssize_t K, int has_b, Py_ssize_t lo,
                                 Py_ssize_t hi, double* G, double* buf)
    double fo_mn_softmax_rows(double* Z, Py_ssize_t K, int R, const long long* c,
                              const double* sw)


cdef extern from "_mn_tile.h":
    # What a pass computes per row (one loop serves every kernel, as in the numba twin);
    # the numbers are the C tiles' own.
    enum:
        LOSS "FO_MN_LOSS"
        LOSS_GRAD "FO_MN_LOSS_GRAD"
        LOSS_GRAD_PROBA "FO_MN_LOSS_GRAD_PROBA"
        HVP "FO_MN_HVP"
        HVP_PROBA "FO_MN_HVP_PROBA"


cdef enum:
    # Partial gradients up to this length are accumulated on the chunk's stack (16 kB).
    PRIVATE_ROW_MAX = 2048
    # Entries of the partial gradients reduced together: the T partial rows are read this
    # many entries at a time (T sequential streams, not T strided loads per entry).
    REDUCE_BLOCK = 512
    # Per-row K-vectors up to this length live on the chunk's stack.
    PRIVATE_K_MAX = 256
    # The tiled dense chunk's scratch for K <= PRIVATE_K_MAX: FO_MN_TILE_SCRATCH(256).
    TILE_SCRATCH_MAX = 2 * (4 * 256 + 4)


# Below this much work a pass runs its chunks on the calling thread (same chunks, same
# result; only the OpenMP fork/join is saved): the numba twin's threshold.
cdef Py_ssize_t MIN_WORK = _PARALLEL_MIN_WORK


# --- per-row pieces ----------------------------------------------------------------------

cdef inline void logits_dense(const floating* a, Py_ssize_t n, const double* W,
                              const double* V, Py_ssize_t K, const double* bw,
                              const double* bv, double* z, double* u) noexcept nogil:
    """z = W[:n]^T a + bw (bw NULL: no intercept); with V, also u = V[:n]^T a + bv."""
    if floating is float:
        fo_mn_logits_dense_f32(a, NULL, 0, n, W, V, K, bw, bv, z, u)
    else:
        fo_mn_logits_dense_f64(a, NULL, 0, n, W, V, K, bw, bv, z, u)


cdef inline void scatter_dense(const floating* a, Py_ssize_t n, Py_ssize_t K, const double* r,
                               double* G) noexcept nogil:
    """G[:n] += a r^T (G flattened feature-major)."""
    if floating is float:
        fo_mn_scatter_dense_f32(a, NULL, 0, n, K, r, G)
    else:
        fo_mn_scatter_dense_f64(a, NULL, 0, n, K, r, G)


cdef inline void logits_csr(const floating* data, const index_t* indices, Py_ssize_t lo,
                            Py_ssize_t hi, const double* W, const double* V, Py_ssize_t K,
                            const double* bw, const double* bv, double* z,
                            double* u) noexcept nogil:
    """CSR twin of logits_dense over the entries lo .. hi of a row."""
    if floating is float:
        if index_t is int:
            fo_mn_logits_csr_f32_i32(data, indices, lo, hi, W, V, K, bw, bv, z, u)
        else:
            fo_mn_logits_csr_f32_i64(data, indices, lo, hi, W, V, K, bw, bv, z, u)
    else:
        if index_t is int:
            fo_mn_logits_csr_f64_i32(data, indices, lo, hi, W, V, K, bw, bv, z, u)
        else:
            fo_mn_logits_csr_f64_i64(data, indices, lo, hi, W, V, K, bw, bv, z, u)


cdef inline void scatter_csr(const floating* data, const index_t* indices, Py_ssize_t lo,
                             Py_ssize_t hi, Py_ssize_t K, const double* r,
                             double* G) noexcept nogil:
    """CSR twin of scatter_dense."""
    if floating is float:
        if index_t is int:
            fo_mn_scatter_csr_f32_i32(data, indices, lo, hi, K, r, G)
        else:
            fo_mn_scatter_csr_f32_i64(data, indices, lo, hi, K, r, G)
    else:
        if index_t is int:
            fo_mn_scatter_csr_f64_i32(data, indices, lo, hi, K, r, G)
        else:
            fo_mn_scatter_csr_f64_i64(data, indices, lo, hi, K, r, G)


cdef inline double softmax_(double* z, Py_ssize_t K, Py_ssize_t c) noexcept nogil:
    """Overwrite the logits z with softmax(z); return logsumexp(z) - z_c, stably.

    Written as (z_max - z_c) + log(sum exp(z - z_max)): every exponent is <= 0 and no
    large numbers are subtracted from each other, for any finite logits.
    """
    cdef Py_ssize_t k
    cdef double zmax = z[0], zc, s = 0.0, e, inv
    for k in range(1, K):
        if z[k] > zmax:
            zmax = z[k]
    zc = z[c]
    for k in range(K):
        e = exp(z[k] - zmax)
        z[k] = e
        s += e
    inv = 1.0 / s
    for k in range(K):
        z[k] *= inv
    return (zmax - zc) + log(s)


cdef inline void residual_(double* z, Py_ssize_t K, Py_ssize_t c, double swi) noexcept nogil:
    """Probabilities z -> sw_i (p_i - e_c): the row's gradient coefficients in the logits."""
    cdef Py_ssize_t k
    for k in range(K):
        z[k] *= swi
    z[c] -= swi


cdef inline void hess_residual_(const double* p, double* u, double swi,
                                Py_ssize_t K) noexcept nogil:
    """Overwrite u with sw_i (p o u - p <p, u>): row i's part of the Hessian product."""
    cdef Py_ssize_t k
    cdef double pu = 0.0
    for k in range(K):
        pu += p[k] * u[k]
    for k in range(K):
        u[k] = swi * p[k] * (u[k] - pu)


cdef inline void add_intercept(double* G, Py_ssize_t nK, Py_ssize_t K,
                               const double* r) noexcept nogil:
    cdef Py_ssize_t k
    for k in range(K):
        G[nK + k] += r[k]


# --- chunk loops -------------------------------------------------------------------------
#
# Rows [lo, hi) reduced into the partial gradient `G` (not touched in LOSS mode); the loss
# is returned. `z` and `u` are K-vectors of scratch. `w` is the point of the logits and
# softmax (unused in HVP_PROBA), `v` the direction of the Hessian product, `proba` the
# probabilities written (LOSS_GRAD_PROBA) or read (HVP_PROBA).

cdef inline double dense_chunk(
        int mode, const floating* X, Py_ssize_t n, const long long* y, const double* sw,
        const double* w, const double* v, double* proba, Py_ssize_t K, bint has_b,
        Py_ssize_t lo, Py_ssize_t hi, double* G, double* z, double* u) noexcept nogil:
    cdef Py_ssize_t i, c
    cdef Py_ssize_t nK = n * K
    cdef double loss = 0.0, swi
    cdef const double* bw = (w + nK) if has_b else NULL
    cdef const double* bv = (v + nK) if has_b else NULL
    cdef const floating* a
    cdef double* p
    for i in range(lo, hi):
        a = X + i * n
        swi = sw[i]
        if mode <= LOSS_GRAD_PROBA:
            logits_dense(a, n, w, NULL, K, bw, NULL, z, NULL)
            c = y[i]
            loss += swi * softmax_(z, K, c)
            if mode == LOSS:
                continue
            if mode == LOSS_GRAD_PROBA:
                memcpy(proba + i * K, z, K * sizeof(double))
            residual_(z, K, c, swi)
            scatter_dense(a, n, K, z, G)
            if has_b:
                add_intercept(G, nK, K, z)
        else:
            if mode == HVP:
                logits_dense(a, n, w, v, K, bw, bv, z, u)
                softmax_(z, K, 0)
                p = z
            else:
                logits_dense(a, n, v, NULL, K, bv, NULL, u, NULL)
                p = proba + i * K
            hess_residual_(p, u, swi, K)
            scatter_dense(a, n, K, u, G)
            if has_b:
                add_intercept(G, nK, K, u)
    return loss


cdef inline double csr_chunk(
        int mode, const floating* data, const index_t* indices, const index_t* indptr,
        Py_ssize_t n, const long long* y, const double* sw, const double* w, const double* v,
        double* proba, Py_ssize_t K, bint has_b, Py_ssize_t lo, Py_ssize_t hi, double* G,
        double* z, double* u) noexcept nogil:
    cdef Py_ssize_t i, c, start, stop
    cdef Py_ssize_t nK = n * K
    cdef double loss = 0.0, swi
    cdef const double* bw = (w + nK) if has_b else NULL
    cdef const double* bv = (v + nK) if has_b else NULL
    cdef double* p
    for i in range(lo, hi):
        start = indptr[i]
        stop = indptr[i + 1]
        swi = sw[i]
        if mode <= LOSS_GRAD_PROBA:
            logits_csr(data, indices, start, stop, w, NULL, K, bw, NULL, z, NULL)
            c = y[i]
            loss += swi * softmax_(z, K, c)
            if mode == LOSS:
                continue
            if mode == LOSS_GRAD_PROBA:
                memcpy(proba + i * K, z, K * sizeof(double))
            residual_(z, K, c, swi)
            scatter_csr(data, indices, start, stop, K, z, G)
            if has_b:
                add_intercept(G, nK, K, z)
        else:
            if mode == HVP:
                logits_csr(data, indices, start, stop, w, v, K, bw, bv, z, u)
                softmax_(z, K, 0)
                p = z
            else:
                logits_csr(data, indices, start, stop, v, NULL, K, bv, NULL, u, NULL)
                p = proba + i * K
            hess_residual_(p, u, swi, K)
            scatter_csr(data, indices, start, stop, K, u, G)
            if has_b:
                add_intercept(G, nK, K, u)
    return loss


cdef inline double csr_chunk_tiled(
        int mode, const floating* data, const index_t* indices, const index_t* indptr,
        Py_ssize_t n, const long long* y, const double* sw, const double* w, const double* v,
        double* proba, Py_ssize_t K, bint has_b, Py_ssize_t lo, Py_ssize_t hi, double* G,
        double* Z, double* U) noexcept nogil:
    """csr_chunk four rows at a time: the logits row by row, then one vectorized softmax
    for the four (``_mn_tile.h``), then the residuals and scatters row by row. ``Z`` and
    ``U`` hold 4 K + 4 doubles each."""
    cdef Py_ssize_t i0, i, r, R, c
    cdef Py_ssize_t nK = n * K
    cdef double loss = 0.0, swi
    cdef const double* bw = (w + nK) if has_b else NULL
    cdef const double* bv = (v + nK) if has_b else NULL
    cdef double* z
    cdef const double* p
    i0 = lo
    while i0 < hi:
        R = hi - i0 if hi - i0 < 4 else 4
        for r in range(R):
            i = i0 + r
            if mode == HVP_PROBA:
                logits_csr(data, indices, indptr[i], indptr[i + 1], v, NULL, K, bv, NULL,
                           U + r * K, NULL)
            elif mode == HVP:
                logits_csr(data, indices, indptr[i], indptr[i + 1], w, v, K, bw, bv,
                           Z + r * K, U + r * K)
            else:
                logits_csr(data, indices, indptr[i], indptr[i + 1], w, NULL, K, bw, NULL,
                           Z + r * K, NULL)
        if mode == HVP:
            fo_mn_softmax_rows(Z, K, <int> R, NULL, sw + i0)
        elif mode != HVP_PROBA:
            loss += fo_mn_softmax_rows(Z, K, <int> R, y + i0, sw + i0)
        if mode != LOSS:
            for r in range(R):
                i = i0 + r
                swi = sw[i]
                if mode <= LOSS_GRAD_PROBA:
                    z = Z + r * K
                    c = y[i]
                    if mode == LOSS_GRAD_PROBA:
                        memcpy(proba + i * K, z, K * sizeof(double))
                    residual_(z, K, c, swi)
                else:
                    p = (Z + r * K) if mode == HVP else (proba + i * K)
                    z = U + r * K
                    hess_residual_(p, z, swi, K)
                scatter_csr(data, indices, indptr[i], indptr[i + 1], K, z, G)
                if has_b:
                    add_intercept(G, nK, K, z)
        i0 += R
    return loss


# --- one chunk with its private buffers, then the passes ---------------------------------

cdef inline void run_chunk(
        int mode, bint sparse, const floating* X, const index_t* indices,
        const index_t* indptr, Py_ssize_t m, Py_ssize_t n, const long long* y,
        const double* sw, const double* w, const double* v, double* proba, Py_ssize_t K,
        Py_ssize_t P, double* work_row, Py_ssize_t T, Py_ssize_t t) noexcept nogil:
    """Chunk t of T: rows split as the numba twin does; the partial gradient is published
    to work_row[:P] and the partial loss to work_row[P + 2 K]."""
    cdef double gbuf[PRIVATE_ROW_MAX]
    cdef double zbuf[PRIVATE_K_MAX]
    cdef double ubuf[PRIVATE_K_MAX]
    cdef double tbuf[TILE_SCRATCH_MAX]
    cdef double* G = work_row
    cdef double* z = work_row + P
    cdef double* u = work_row + P + K
    cdef Py_ssize_t lo = chunk_start(m, T, t), hi = chunk_start(m, T, t + 1)
    cdef bint has_b = P == (n + 1) * K
    cdef double loss
    if P <= PRIVATE_ROW_MAX:
        G = gbuf
    if K <= PRIVATE_K_MAX:
        z = zbuf
        u = ubuf
    if mode != LOSS:
        zero(G, P)
    if sparse and FO_MN_TILES and K <= PRIVATE_K_MAX:
        memset(tbuf, 0, 2 * (4 * K + 4) * sizeof(double))  # the two tiles' padding
        loss = csr_chunk_tiled(mode, X, indices, indptr, n, y, sw, w, v, proba, K, has_b,
                               lo, hi, G, tbuf, tbuf + 4 * K + 4)
    elif sparse:
        loss = csr_chunk(mode, X, indices, indptr, n, y, sw, w, v, proba, K, has_b, lo, hi,
                         G, z, u)
    elif FO_MN_TILES and 4 <= K <= PRIVATE_K_MAX:
        if floating is float:
            loss = fo_mn_dense_chunk_f32(mode, X, n, y, sw, w, v, proba, K, has_b, lo, hi,
                                         G, tbuf)
        else:
            loss = fo_mn_dense_chunk_f64(mode, X, n, y, sw, w, v, proba, K, has_b, lo, hi,
                                         G, tbuf)
    else:
        loss = dense_chunk(mode, X, n, y, sw, w, v, proba, K, has_b, lo, hi, G, z, u)
    if mode != LOSS and G != work_row:
        memcpy(work_row, G, P * sizeof(double))
    work_row[P + 2 * K] = loss


cdef inline void reduce_block(const double* work, Py_ssize_t ldw, Py_ssize_t T,
                              Py_ssize_t q0, Py_ssize_t P, double* out) noexcept nogil:
    """``sum_rows`` on the REDUCE_BLOCK entries from q0: each entry's sum in chunk order,
    whichever thread takes the block."""
    sum_rows(work + q0, ldw, T, REDUCE_BLOCK if q0 + REDUCE_BLOCK < P else P - q0, out + q0)


cdef double run_pass(
        int mode, bint sparse, const floating* X, const index_t* indices,
        const index_t* indptr, Py_ssize_t m, Py_ssize_t n, const long long* y,
        const double* sw, const double* w, const double* v, double* proba, Py_ssize_t K,
        Py_ssize_t P, double lam, double* out, double* work, Py_ssize_t ldw, Py_ssize_t T,
        int nt, Py_ssize_t amount) noexcept nogil:
    """Run the T chunks (on min(T, nt) threads when `amount` of work is large enough and
    nt > 1; the chunks and their order of summation are the same either way), then reduce:
    out = sum of the partial gradients in chunk order + lam r[:nK] (r = v for the Hessian
    products, w otherwise; out NULL in LOSS mode). Returns the summed loss +
    lam/2 ||w[:nK]||^2 (meaningless for the Hessian products)."""
    cdef Py_ssize_t t, q, b, nb
    cdef Py_ssize_t nK = n * K
    cdef double f = 0.0, reg = 0.0
    cdef const double* r = v if mode >= HVP else w
    if T > 1 and nt > 1 and amount >= MIN_WORK:
        for t in prange(T, schedule="static", num_threads=T if T < nt else nt):
            run_chunk(mode, sparse, X, indices, indptr, m, n, y, sw, w, v, proba, K, P,
                      work + t * ldw, T, t)
    else:
        # Not an OpenMP region with an if(false) clause: libgomp still sets up a team of
        # one for that, a measurable cost next to a pass over a few rows.
        for t in range(T):
            run_chunk(mode, sparse, X, indices, indptr, m, n, y, sw, w, v, proba, K, P,
                      work + t * ldw, T, t)
    if out != NULL:
        nb = (P + REDUCE_BLOCK - 1) // REDUCE_BLOCK
        if nt > 1 and nb > 1 and P * T >= MIN_WORK:
            for b in prange(nb, schedule="static", num_threads=nt):
                reduce_block(work, ldw, T, b * REDUCE_BLOCK, P, out)
        else:
            for b in range(nb):
                reduce_block(work, ldw, T, b * REDUCE_BLOCK, P, out)
        for q in range(nK):
            out[q] += lam * r[q]
    for t in range(T):
        f = f + work[t * ldw + P + 2 * K]
    for q in range(nK):
        reg += w[q] * w[q]
    return f + 0.5 * lam * reg


# --- the def wrappers: C-level argument checks, then one typed pass ----------------------
#
# A fused-type def with typed memoryviews costs a fraction of a microsecond per array (one
# buffer acquisition each): microseconds for the eight arrays of a kernel, more than the numba
# twin's whole call on a small problem. Here the def reads each ndarray's dtype number,
# shape, flags and data pointer through the NumPy C-API (O(1) tests: ndarray, dtype,
# dimensions, C-contiguity, native byte order, writeability of what the kernel writes),
# and calls the pass specialized for the dtype of X and of the CSR indices. The kernel
# reads raw pointers, so a wrong array is a TypeError or ValueError, never a crash.


cdef struct Pass:
    int mode
    bint sparse
    int x_type        # NPY_FLOAT or NPY_DOUBLE: X or the CSR data
    bint idx64        # CSR indices and indptr are int64 (else int32)
    const void* X     # dense X, or the CSR data
    const void* indices
    const void* indptr
    Py_ssize_t m, n, K, P
    const long long* y
    const double* sw
    const double* w
    const double* v
    double* proba
    double lam
    double* out
    double* work
    Py_ssize_t ldw, T
    int nt            # fastopt's thread count: at most this many threads share the T chunks


cdef inline cnp.ndarray _array(object a, str name, int ndim):
    """a as an ndarray with ndim dimensions, C-contiguous, native byte order."""
    cdef cnp.ndarray arr
    if cnp.PyArray_Check(a):
        arr = <cnp.ndarray> a
        if (cnp.PyArray_NDIM(arr) == ndim and cnp.PyArray_IS_C_CONTIGUOUS(arr)
                and cnp.PyArray_ISNOTSWAPPED(arr)):
            return arr
    raise ValueError(f"{name} must be a C-contiguous {ndim}-D ndarray in native byte order, "
                     f"got {type(a).__name__} {getattr(a, 'shape', '')}")


cdef inline int _bad_shape(str name, object a, str expected) except -1:
    raise ValueError(f"{name} has shape {a.shape}; expected {expected}")


cdef inline void* _f64(object a, str name, Py_ssize_t d0, Py_ssize_t d1,
                       bint write) except? NULL:
    """Data of a float64 array of shape (d0,) (d1 < 0) or (d0, d1) (d1 >= 0; d0 < 0: any
    number of rows)."""
    cdef cnp.ndarray arr = _array(a, name, 1 if d1 < 0 else 2)
    if cnp.PyArray_TYPE(arr) != cnp.NPY_DOUBLE:
        raise TypeError(f"{name} must be float64, got {arr.dtype}")
    if ((d0 >= 0 and cnp.PyArray_DIM(arr, 0) != d0)
            or (d1 >= 0 and cnp.PyArray_DIM(arr, 1) != d1)):
        _bad_shape(name, a, f"({d0},)" if d1 < 0 else f"({d0 if d0 >= 0 else 'T'}, {d1})")
    if write and not cnp.PyArray_ISWRITEABLE(arr):
        raise ValueError(f"{name} must be writeable")
    return cnp.PyArray_DATA(arr)


cdef inline int _int_type(cnp.ndarray arr, str name) except -1:
    """8 for a signed 64-bit integer array, 4 for a signed 32-bit one; TypeError else."""
    cdef int size = cnp.PyArray_ITEMSIZE(arr)
    if (cnp.PyArray_ISINTEGER(arr) and cnp.PyArray_ISSIGNED(arr)
            and (size == 4 or size == 8)):
        return size
    raise TypeError(f"{name} must be int32 or int64, got {arr.dtype}")


cdef inline int _x_type(cnp.ndarray arr, str name) except -1:
    cdef int t = cnp.PyArray_TYPE(arr)
    if t == cnp.NPY_DOUBLE or t == cnp.NPY_FLOAT:
        return t
    raise TypeError(f"{name} must be float32 or float64, got {arr.dtype}")


cdef int _dense(Pass* s, object X) except -1:
    cdef cnp.ndarray arr = _array(X, "X", 2)
    s.x_type = _x_type(arr, "X")
    s.sparse = False
    s.idx64 = False
    s.X = cnp.PyArray_DATA(arr)
    s.indices = NULL
    s.indptr = NULL
    s.m = cnp.PyArray_DIM(arr, 0)
    s.n = cnp.PyArray_DIM(arr, 1)
    return 0


cdef int _csr(Pass* s, object data, object indices, object indptr,
              Py_ssize_t n_features) except -1:
    cdef cnp.ndarray d = _array(data, "data", 1)
    cdef cnp.ndarray ind = _array(indices, "indices", 1)
    cdef cnp.ndarray ptr = _array(indptr, "indptr", 1)
    cdef int size = _int_type(ind, "indices")
    if _int_type(ptr, "indptr") != size:
        raise TypeError(f"indices ({ind.dtype}) and indptr ({ptr.dtype}) must have one dtype")
    if cnp.PyArray_DIM(ptr, 0) < 1 or cnp.PyArray_DIM(ind, 0) != cnp.PyArray_DIM(d, 0):
        raise ValueError("CSR arrays: indptr needs m + 1 >= 1 entries and indices as many "
                         "as data")
    if n_features < 0:
        raise ValueError(f"n_features must be >= 0, got {n_features}")
    s.x_type = _x_type(d, "data")
    s.sparse = True
    s.idx64 = size == 8
    s.X = cnp.PyArray_DATA(d)
    s.indices = cnp.PyArray_DATA(ind)
    s.indptr = cnp.PyArray_DATA(ptr)
    s.m = cnp.PyArray_DIM(ptr, 0) - 1
    s.n = n_features
    return 0


cdef int _shared_args(Pass* s, int mode, object y, object sw, object w, object v,
                      double lam, Py_ssize_t n_classes, object out, object proba,
                      object work) except -1:
    """The arguments shared by every kernel: y (None for HVP_PROBA), sw, w (the point;
    v for HVP_PROBA), v (HVP only), out (None for LOSS), proba (LOSS_GRAD_PROBA and
    HVP_PROBA), work."""
    cdef cnp.ndarray arr
    cdef Py_ssize_t m = s.m, K = n_classes
    cdef str point = "w" if mode != HVP_PROBA else "v"
    s.mode = mode
    if K < 1:
        raise ValueError(f"n_classes must be >= 1, got {K}")
    s.K = K
    arr = _array(w, point, 1)
    s.P = cnp.PyArray_DIM(arr, 0)
    if s.P != s.n * K and s.P != (s.n + 1) * K:
        raise ValueError(f"{point} has {s.P} entries; expected n K = {s.n * K} or "
                         f"(n + 1) K = {(s.n + 1) * K} (n = {s.n}, K = {K})")
    s.w = <const double*> _f64(w, point, s.P, -1, False)
    s.v = <const double*> _f64(v, "v", s.P, -1, False) if v is not None else s.w
    s.y = NULL
    if y is not None:
        arr = _array(y, "y", 1)
        if _int_type(arr, "y") != 8 or cnp.PyArray_DIM(arr, 0) != m:
            raise ValueError(f"y must be int64 of shape ({m},), got {arr.dtype} {y.shape}")
        s.y = <const long long*> cnp.PyArray_DATA(arr)
    s.sw = <const double*> _f64(sw, "sw", m, -1, False)
    s.proba = NULL
    if proba is not None:
        s.proba = <double*> _f64(proba, "proba", m, K, mode == LOSS_GRAD_PROBA)
    s.out = <double*> _f64(out, "out", s.P, -1, True) if out is not None else NULL
    arr = _array(work, "work", 2)
    s.ldw = cnp.PyArray_DIM(arr, 1)
    s.T = cnp.PyArray_DIM(arr, 0)
    if s.T < 1 or s.ldw < s.P + 2 * K + 1:
        _bad_shape("work", work, f"(T >= 1, {s.P + 2 * K + 1})")
    s.work = <double*> _f64(work, "work", -1, s.ldw, True)
    s.nt = _config._NUM_THREADS
    s.lam = lam
    return 0


cdef double _run(Pass* s) noexcept nogil:
    """The pass of s, specialized for the dtypes of X and of the CSR indices."""
    cdef Py_ssize_t amount
    if s.sparse:  # the numba twin's measures of work
        if s.idx64:
            amount = (<const long long*> s.indptr)[s.m] - (<const long long*> s.indptr)[0]
        else:
            amount = (<const int*> s.indptr)[s.m] - (<const int*> s.indptr)[0]
        amount = (amount + s.m + 1) * s.K
    else:
        amount = s.m * s.n * s.K
    if s.x_type == cnp.NPY_FLOAT:
        if s.idx64:
            return run_pass(s.mode, s.sparse, <const float*> s.X, <const long long*> s.indices,
                            <const long long*> s.indptr, s.m, s.n, s.y, s.sw, s.w, s.v,
                            s.proba, s.K, s.P, s.lam, s.out, s.work, s.ldw, s.T, s.nt,
                            amount)
        return run_pass(s.mode, s.sparse, <const float*> s.X, <const int*> s.indices,
                        <const int*> s.indptr, s.m, s.n, s.y, s.sw, s.w, s.v, s.proba, s.K,
                        s.P, s.lam, s.out, s.work, s.ldw, s.T, s.nt, amount)
    if s.idx64:
        return run_pass(s.mode, s.sparse, <const double*> s.X, <const long long*> s.indices,
                        <const long long*> s.indptr, s.m, s.n, s.y, s.sw, s.w, s.v, s.proba,
                        s.K, s.P, s.lam, s.out, s.work, s.ldw, s.T, s.nt, amount)
    return run_pass(s.mode, s.sparse, <const double*> s.X, <const int*> s.indices,
                    <const int*> s.indptr, s.m, s.n, s.y, s.sw, s.w, s.v, s.proba, s.K, s.P,
                    s.lam, s.out, s.work, s.ldw, s.T, s.nt, amount)


cdef inline Py_ssize_t _n_classes(object proba) except -1:
    return cnp.PyArray_DIM(_array(proba, "proba", 2), 1)


cdef inline double _go(Pass* s):
    cdef double f
    with nogil:
        f = _run(s)
    return f


# --- dense kernels -----------------------------------------------------------------------
#
# Arguments as in the reference twin: X (m, n) C-contiguous float32/float64, y (m,) int64
# class indices, sw (m,) normalized weights, w and v (P,) with P = p K, lam, n_classes K,
# work (T, P + 2 K + 1) float64 (contents on entry ignored, T sets the chunks).


def multinomial_loss(X, y, sw, w, double lam, Py_ssize_t n_classes, work):
    """Softmax cross-entropy f(W) (see the module docstring); one pass over X.

    Parameters
    ----------
    X : ndarray of shape (m, n), float32 or float64, C-contiguous
    y : ndarray of shape (m,), int64, class indices in [0, K)
    sw : ndarray of shape (m,), float64, normalized sample weights
    w : ndarray of shape (P,), float64, P = p K, p = n or n + 1: W (p, K) flattened in
        C order (row n: the intercepts)
    lam : float, L2 strength on W[:n]
    n_classes : int, K
    work : ndarray of shape (T, P + 2 K + 1), float64; its first dimension sets the chunks

    Returns
    -------
    float
    """
    cdef Pass s
    _dense(&s, X)
    _shared_args(&s, LOSS, y, sw, w, None, lam, n_classes, None, None, work)
    return _go(&s)


def multinomial_loss_grad(X, y, sw, w, double lam, Py_ssize_t n_classes, grad_out, work):
    """f(W) returned, grad f(W) (P,) written to ``grad_out``; one pass over X."""
    cdef Pass s
    _dense(&s, X)
    _shared_args(&s, LOSS_GRAD, y, sw, w, None, lam, n_classes, grad_out, None, work)
    return _go(&s)


def multinomial_loss_grad_proba(X, y, sw, w, double lam, Py_ssize_t n_classes, grad_out,
                                proba_out, work):
    """As :func:`multinomial_loss_grad`, also writing the softmax probabilities to
    ``proba_out`` (m, K), float64."""
    cdef Pass s
    _dense(&s, X)
    _shared_args(&s, LOSS_GRAD_PROBA, y, sw, w, None, lam, n_classes, grad_out, proba_out, work)
    return _go(&s)


def multinomial_hvp(X, y, sw, w, v, double lam, Py_ssize_t n_classes, out, work):
    """H(W) V (P,) written to ``out``; one pass over X (logits of W and V per row, one
    read of the row)."""
    cdef Pass s
    _dense(&s, X)
    _shared_args(&s, HVP, y, sw, w, v, lam, n_classes, out, None, work)
    _go(&s)


def multinomial_hvp_proba(X, sw, proba, v, double lam, out, work):
    """H V (P,) written to ``out``, H at the point whose probabilities are ``proba``
    (m, K), float64; one pass over X, no exponential."""
    cdef Pass s
    _dense(&s, X)
    _shared_args(&s, HVP_PROBA, None, sw, v, None, lam, _n_classes(proba), out, proba, work)
    _go(&s)


# --- CSR kernels -------------------------------------------------------------------------
#
# X as the CSR arrays data (nnz,) float32/float64, indices (nnz,) and indptr (m + 1,), both
# int32 or both int64, and n_features; the entries of a row in any order.


def multinomial_loss_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w, double lam,
                         Py_ssize_t n_classes, work):
    """CSR twin of :func:`multinomial_loss`."""
    cdef Pass s
    _csr(&s, data, indices, indptr, n_features)
    _shared_args(&s, LOSS, y, sw, w, None, lam, n_classes, None, None, work)
    return _go(&s)


def multinomial_loss_grad_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w,
                              double lam, Py_ssize_t n_classes, grad_out, work):
    """CSR twin of :func:`multinomial_loss_grad`."""
    cdef Pass s
    _csr(&s, data, indices, indptr, n_features)
    _shared_args(&s, LOSS_GRAD, y, sw, w, None, lam, n_classes, grad_out, None, work)
    return _go(&s)


def multinomial_loss_grad_proba_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w,
                                    double lam, Py_ssize_t n_classes, grad_out, proba_out,
                                    work):
    """CSR twin of :func:`multinomial_loss_grad_proba`."""
    cdef Pass s
    _csr(&s, data, indices, indptr, n_features)
    _shared_args(&s, LOSS_GRAD_PROBA, y, sw, w, None, lam, n_classes, grad_out, proba_out, work)
    return _go(&s)


def multinomial_hvp_csr(data, indices, indptr, Py_ssize_t n_features, y, sw, w, v,
                        double lam, Py_ssize_t n_classes, out, work):
    """CSR twin of :func:`multinomial_hvp`."""
    cdef Pass s
    _csr(&s, data, indices, indptr, n_features)
    _shared_args(&s, HVP, y, sw, w, v, lam, n_classes, out, None, work)
    _go(&s)


def multinomial_hvp_proba_csr(data, indices, indptr, Py_ssize_t n_features, sw, proba, v,
                              double lam, out, work):
    """CSR twin of :func:`multinomial_hvp_proba`."""
    cdef Pass s
    _csr(&s, data, indices, indptr, n_features)
    _shared_args(&s, HVP_PROBA, None, sw, v, None, lam, _n_classes(proba), out, proba, work)
    _go(&s)
