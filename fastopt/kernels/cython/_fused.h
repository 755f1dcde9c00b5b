/*
 * Fused row primitives of the Cython kernels' software pipeline (see _common.pxd):
 * one sweep over j does the axpy of an old row `a` (in L1: its coefficient alpha is now
 * known) and the dot products of a new row `x` (streamed from memory) with float64
 * vectors, and `fo_prefetch_row` asks for a row of a later block.
 *
 * Why: done one after the other, the dots of a block stall on memory and the axpys
 * compute without issuing a load, so the two barely overlap; on the two cores here a
 * 10^6 x 100 loss+gradient took about a pure read of X plus the in-cache pass. Loads of
 * the new row interleaved with arithmetic on the old one, plus prefetching a block
 * ahead, cut that pass by 10-20% (numba twin: kernels/numba/_rowops.py).
 *
 * The dots keep the lane structure of fo_dot_* / fo_dot2_* in _simd.h (two four-lane
 * accumulators over blocks of 8, one block of 4, the horizontal sum, then the scalar
 * tail).
 */
#ifndef FASTOPT_FUSED_H
#define FASTOPT_FUSED_H

#include "_simd.h"

/* Rows longer than this are not prefetched: the hardware stream prefetcher keeps ahead
 * of a long contiguous row, and a block of such rows would not fit L1. */
#define FO_PREFETCH_MAX_ROW_BYTES 4096

/* Hint the CPU to load the `nbytes` bytes at `p` (a row of X) into cache; never faults. */
static inline void fo_prefetch_row(const void *p, Py_ssize_t nbytes)
{
#if defined(__GNUC__)
    if (nbytes <= FO_PREFETCH_MAX_ROW_BYTES) {
        for (Py_ssize_t off = 0; off < nbytes; off += 64) {
            __builtin_prefetch((const char *)p + off, 0, 3);
        }
    }
#else
    (void)p;
    (void)nbytes;
#endif
}

#if defined(__GNUC__)

#define FO_AXPY8(LOAD)                                                                    \
    g0 = FO_LOAD_F64(g + j) + alpha * LOAD(a + j);                                        \
    g1 = FO_LOAD_F64(g + j + 4) + alpha * LOAD(a + j + 4);                                \
    __builtin_memcpy(g + j, &g0, sizeof g0);                                              \
    __builtin_memcpy(g + j + 4, &g1, sizeof g1);

#define FO_AXPY4(LOAD)                                                                    \
    g0 = FO_LOAD_F64(g + j) + alpha * LOAD(a + j);                                        \
    __builtin_memcpy(g + j, &g0, sizeof g0);

/* g[j] += alpha a[j]; returns sum_j x[j] w[j] */
#define FO_DEFINE_AXPY_DOT(NAME, T, LOAD)                                                 \
    FO_ROW double NAME(double alpha, const T *FO_RESTRICT a, double *FO_RESTRICT g,       \
                       const T *FO_RESTRICT x, const double *FO_RESTRICT w, Py_ssize_t n) \
    {                                                                                     \
        fo_v4d s0 = {0.0, 0.0, 0.0, 0.0}, s1 = s0, g0, g1;                                \
        Py_ssize_t j = 0;                                                                 \
        double s;                                                                         \
        for (; j + 8 <= n; j += 8) {                                                      \
            FO_AXPY8(LOAD)                                                                \
            s0 += LOAD(x + j) * FO_LOAD_F64(w + j);                                       \
            s1 += LOAD(x + j + 4) * FO_LOAD_F64(w + j + 4);                               \
        }                                                                                 \
        if (j + 4 <= n) {                                                                 \
            FO_AXPY4(LOAD)                                                                \
            s0 += LOAD(x + j) * FO_LOAD_F64(w + j);                                       \
            j += 4;                                                                       \
        }                                                                                 \
        s0 += s1;                                                                         \
        s = FO_HSUM(s0);                                                                  \
        for (; j < n; ++j) {                                                              \
            g[j] += alpha * (double)a[j];                                                 \
            s += (double)x[j] * w[j];                                                     \
        }                                                                                 \
        return s;                                                                         \
    }

/* g[j] += alpha a[j]; *out_w = sum_j x[j] w[j], *out_v = sum_j x[j] v[j] */
#define FO_DEFINE_AXPY_DOT2(NAME, T, LOAD)                                                \
    FO_ROW void NAME(double alpha, const T *FO_RESTRICT a, double *FO_RESTRICT g,         \
                     const T *FO_RESTRICT x, const double *FO_RESTRICT w,                 \
                     const double *FO_RESTRICT v, Py_ssize_t n,                           \
                     double *FO_RESTRICT out_w, double *FO_RESTRICT out_v)                \
    {                                                                                     \
        fo_v4d s0 = {0.0, 0.0, 0.0, 0.0}, s1 = s0, t0 = s0, t1 = s0, x0, x1, g0, g1;      \
        Py_ssize_t j = 0;                                                                 \
        double s, t;                                                                      \
        for (; j + 8 <= n; j += 8) {                                                      \
            FO_AXPY8(LOAD)                                                                \
            x0 = LOAD(x + j);                                                             \
            x1 = LOAD(x + j + 4);                                                         \
            s0 += x0 * FO_LOAD_F64(w + j);                                                \
            s1 += x1 * FO_LOAD_F64(w + j + 4);                                            \
            t0 += x0 * FO_LOAD_F64(v + j);                                                \
            t1 += x1 * FO_LOAD_F64(v + j + 4);                                            \
        }                                                                                 \
        if (j + 4 <= n) {                                                                 \
            FO_AXPY4(LOAD)                                                                \
            x0 = LOAD(x + j);                                                             \
            s0 += x0 * FO_LOAD_F64(w + j);                                                \
            t0 += x0 * FO_LOAD_F64(v + j);                                                \
            j += 4;                                                                       \
        }                                                                                 \
        s0 += s1;                                                                         \
        t0 += t1;                                                                         \
        s = FO_HSUM(s0);                                                                  \
        t = FO_HSUM(t0);                                                                  \
        for (; j < n; ++j) {                                                              \
            g[j] += alpha * (double)a[j];                                                 \
            s += (double)x[j] * w[j];                                                     \
            t += (double)x[j] * v[j];                                                     \
        }                                                                                 \
        *out_w = s;                                                                       \
        *out_v = t;                                                                       \
    }

#else /* other compilers: `omp simd` over the fused loop */

#define FO_DEFINE_AXPY_DOT(NAME, T, LOAD)                                                 \
    FO_ROW double NAME(double alpha, const T *FO_RESTRICT a, double *FO_RESTRICT g,       \
                       const T *FO_RESTRICT x, const double *FO_RESTRICT w, Py_ssize_t n) \
    {                                                                                     \
        double s = 0.0;                                                                   \
        FO_PRAGMA(omp simd reduction(+:s))                                                \
        for (Py_ssize_t j = 0; j < n; ++j) {                                              \
            g[j] += alpha * (double)a[j];                                                 \
            s += (double)x[j] * w[j];                                                     \
        }                                                                                 \
        return s;                                                                         \
    }

#define FO_DEFINE_AXPY_DOT2(NAME, T, LOAD)                                                \
    FO_ROW void NAME(double alpha, const T *FO_RESTRICT a, double *FO_RESTRICT g,         \
                     const T *FO_RESTRICT x, const double *FO_RESTRICT w,                 \
                     const double *FO_RESTRICT v, Py_ssize_t n,                           \
                     double *FO_RESTRICT out_w, double *FO_RESTRICT out_v)                \
    {                                                                                     \
        double s = 0.0, t = 0.0;                                                          \
        FO_PRAGMA(omp simd reduction(+:s, t))                                             \
        for (Py_ssize_t j = 0; j < n; ++j) {                                              \
            g[j] += alpha * (double)a[j];                                                 \
            s += (double)x[j] * w[j];                                                     \
            t += (double)x[j] * v[j];                                                     \
        }                                                                                 \
        *out_w = s;                                                                       \
        *out_v = t;                                                                       \
    }

#endif /* __GNUC__ */

FO_DEFINE_AXPY_DOT(fo_axpy_dot_f64, double, FO_LOAD_F64)
FO_DEFINE_AXPY_DOT(fo_axpy_dot_f32, float, FO_LOAD_F32)
FO_DEFINE_AXPY_DOT2(fo_axpy_dot2_f64, double, FO_LOAD_F64)
FO_DEFINE_AXPY_DOT2(fo_axpy_dot2_f32, float, FO_LOAD_F32)

#endif /* FASTOPT_FUSED_H */
