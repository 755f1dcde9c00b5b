/*
 * Row primitives of the Cython kernels: dot products and axpy updates between one row of
 * X (float32 or float64) and a float64 vector, accumulated in float64.
 *
 * Why C and not Cython:
 *
 * - gcc vectorizes a floating-point reduction only when it may reassociate it.
 *   `-ffast-math` would allow that everywhere (and break the stable log1pexp/sigmoid and
 *   NaN propagation). Here the dot products spell out their lanes with vector
 *   extensions (GCC/Clang) or use `#pragma omp simd reduction(+:s)` (other compilers),
 *   and the axpy loops carry `omp simd`; the pragma is honoured under -fopenmp and
 *   ignored without it.
 * - A portable build targets baseline x86-64 (SSE2: two doubles per instruction, no
 *   FMA), which makes these loops several times slower than on AVX2 hardware: the row of X is
 *   in L1 after the dot, so the axpy is compute-bound, not memory-bound. With gcc on
 *   glibc/x86-64, every primitive is compiled twice (`target_clones`: x86-64-v3, i.e.
 *   AVX2 + FMA, and the baseline) and the loader picks the clone the CPU supports, once,
 *   through an ifunc. The price is one (non-inlined) call per row, negligible next to
 *   the O(n) work. Define FASTOPT_NO_TARGET_CLONES to build the plain inline versions.
 */
#ifndef FASTOPT_SIMD_H
#define FASTOPT_SIMD_H

#include <stddef.h>
#include <stdlib.h> /* defines __GLIBC__ where it applies */

#if defined(_MSC_VER)
#define FO_RESTRICT __restrict
#else
#define FO_RESTRICT __restrict__
#endif

#if !defined(FASTOPT_NO_TARGET_CLONES) && defined(__GNUC__) && !defined(__clang__) \
    && __GNUC__ >= 11 && defined(__x86_64__) && defined(__GLIBC__)
#define FO_ROW static __attribute__((target_clones("arch=x86-64-v3", "default")))
#elif defined(_MSC_VER)
#define FO_ROW static __inline
#else
#define FO_ROW static inline
#endif

#if defined(_OPENMP) && defined(_MSC_VER)
#define FO_PRAGMA(x) __pragma(x)
#elif defined(_OPENMP)
#define FO_PRAGMA(x) _Pragma(#x)
#else
#define FO_PRAGMA(x)
#endif

#if defined(__GNUC__)
/*
 * Dot products with GCC/Clang vector extensions: four lanes of float64 and two
 * independent accumulators per sum, i.e. an explicit, fixed summation order. This is
 * twice as fast as `omp simd reduction` at n = 100 (whose lowering keeps one dependency
 * chain per sum and a costly lane epilogue per row) and exact IEEE arithmetic per lane.
 */
typedef double fo_v4d __attribute__((vector_size(32)));
#define FO_LOAD_F64(p) __extension__({ fo_v4d x_; __builtin_memcpy(&x_, (p), sizeof x_); x_; })
#define FO_LOAD_F32(p) ((fo_v4d){(double)(p)[0], (double)(p)[1], (double)(p)[2], (double)(p)[3]})
#define FO_HSUM(v) (((v)[0] + (v)[2]) + ((v)[1] + (v)[3]))

#define FO_DEFINE_DOT(NAME, T, LOAD)                                                      \
    FO_ROW double NAME(const T *FO_RESTRICT a, const double *FO_RESTRICT w, Py_ssize_t n) \
    {                                                                                     \
        fo_v4d s0 = {0.0, 0.0, 0.0, 0.0}, s1 = s0;                                        \
        Py_ssize_t j = 0;                                                                 \
        double s;                                                                         \
        for (; j + 8 <= n; j += 8) {                                                      \
            s0 += LOAD(a + j) * FO_LOAD_F64(w + j);                                       \
            s1 += LOAD(a + j + 4) * FO_LOAD_F64(w + j + 4);                               \
        }                                                                                 \
        if (j + 4 <= n) {                                                                 \
            s0 += LOAD(a + j) * FO_LOAD_F64(w + j);                                       \
            j += 4;                                                                       \
        }                                                                                 \
        s0 += s1;                                                                         \
        s = FO_HSUM(s0);                                                                  \
        for (; j < n; ++j) {                                                              \
            s += (double)a[j] * w[j];                                                     \
        }                                                                                 \
        return s;                                                                         \
    }

#define FO_DEFINE_DOT2(NAME, T, LOAD)                                                     \
    FO_ROW void NAME(const T *FO_RESTRICT a, const double *FO_RESTRICT w,                 \
                     const double *FO_RESTRICT v, Py_ssize_t n,                           \
                     double *FO_RESTRICT out_w, double *FO_RESTRICT out_v)                \
    {                                                                                     \
        fo_v4d s0 = {0.0, 0.0, 0.0, 0.0}, s1 = s0, t0 = s0, t1 = s0, x0, x1;              \
        Py_ssize_t j = 0;                                                                 \
        double s, t;                                                                      \
        for (; j + 8 <= n; j += 8) {                                                      \
            x0 = LOAD(a + j);                                                             \
            x1 = LOAD(a + j + 4);                                                         \
            s0 += x0 * FO_LOAD_F64(w + j);                                                \
            s1 += x1 * FO_LOAD_F64(w + j + 4);                                            \
            t0 += x0 * FO_LOAD_F64(v + j);                                                \
            t1 += x1 * FO_LOAD_F64(v + j + 4);                                            \
        }                                                                                 \
        if (j + 4 <= n) {                                                                 \
            x0 = LOAD(a + j);                                                             \
            s0 += x0 * FO_LOAD_F64(w + j);                                                \
            t0 += x0 * FO_LOAD_F64(v + j);                                                \
            j += 4;                                                                       \
        }                                                                                 \
        s0 += s1;                                                                         \
        t0 += t1;                                                                         \
        s = FO_HSUM(s0);                                                                  \
        t = FO_HSUM(t0);                                                                  \
        for (; j < n; ++j) {                                                              \
            s += (double)a[j] * w[j];                                                     \
            t += (double)a[j] * v[j];                                                     \
        }                                                                                 \
        *out_w = s;                                                                       \
        *out_v = t;                                                                       \
    }

FO_DEFINE_DOT(fo_dot_f64, double, FO_LOAD_F64)
FO_DEFINE_DOT(fo_dot_f32, float, FO_LOAD_F32)
FO_DEFINE_DOT2(fo_dot2_f64, double, FO_LOAD_F64)
FO_DEFINE_DOT2(fo_dot2_f32, float, FO_LOAD_F32)

#else /* other compilers: let `omp simd` vectorize the reductions */

/* sum_j a[j] * w[j] */
FO_ROW double fo_dot_f64(const double *FO_RESTRICT a, const double *FO_RESTRICT w,
                            Py_ssize_t n)
{
    double s = 0.0;
    FO_PRAGMA(omp simd reduction(+:s))
    for (Py_ssize_t j = 0; j < n; ++j) {
        s += a[j] * w[j];
    }
    return s;
}

FO_ROW double fo_dot_f32(const float *FO_RESTRICT a, const double *FO_RESTRICT w,
                            Py_ssize_t n)
{
    double s = 0.0;
    FO_PRAGMA(omp simd reduction(+:s))
    for (Py_ssize_t j = 0; j < n; ++j) {
        s += (double)a[j] * w[j];
    }
    return s;
}

/* (sum_j a[j] w[j], sum_j a[j] v[j]) in one sweep over the row: the HVP reads a once. */
FO_ROW void fo_dot2_f64(const double *FO_RESTRICT a, const double *FO_RESTRICT w,
                           const double *FO_RESTRICT v, Py_ssize_t n,
                           double *FO_RESTRICT out_w, double *FO_RESTRICT out_v)
{
    double s = 0.0, t = 0.0;
    FO_PRAGMA(omp simd reduction(+:s, t))
    for (Py_ssize_t j = 0; j < n; ++j) {
        s += a[j] * w[j];
        t += a[j] * v[j];
    }
    *out_w = s;
    *out_v = t;
}

FO_ROW void fo_dot2_f32(const float *FO_RESTRICT a, const double *FO_RESTRICT w,
                           const double *FO_RESTRICT v, Py_ssize_t n,
                           double *FO_RESTRICT out_w, double *FO_RESTRICT out_v)
{
    double s = 0.0, t = 0.0;
    FO_PRAGMA(omp simd reduction(+:s, t))
    for (Py_ssize_t j = 0; j < n; ++j) {
        double aj = (double)a[j];
        s += aj * w[j];
        t += aj * v[j];
    }
    *out_w = s;
    *out_v = t;
}

#endif /* __GNUC__ */

/* g[j] += alpha * a[j] */
#if defined(__GNUC__)
#define FO_DEFINE_AXPY(NAME, T, LOAD)                                                     \
    FO_ROW void NAME(double alpha, const T *FO_RESTRICT a, double *FO_RESTRICT g,         \
                     Py_ssize_t n)                                                        \
    {                                                                                     \
        fo_v4d g0, g1;                                                                    \
        Py_ssize_t j = 0;                                                                 \
        for (; j + 8 <= n; j += 8) {                                                      \
            g0 = FO_LOAD_F64(g + j) + alpha * LOAD(a + j);                                \
            g1 = FO_LOAD_F64(g + j + 4) + alpha * LOAD(a + j + 4);                        \
            __builtin_memcpy(g + j, &g0, sizeof g0);                                      \
            __builtin_memcpy(g + j + 4, &g1, sizeof g1);                                  \
        }                                                                                 \
        for (; j < n; ++j) {                                                              \
            g[j] += alpha * (double)a[j];                                                 \
        }                                                                                 \
    }

FO_DEFINE_AXPY(fo_axpy_f64, double, FO_LOAD_F64)
FO_DEFINE_AXPY(fo_axpy_f32, float, FO_LOAD_F32)

#else
FO_ROW void fo_axpy_f64(double alpha, const double *FO_RESTRICT a, double *FO_RESTRICT g,
                           Py_ssize_t n)
{
    FO_PRAGMA(omp simd)
    for (Py_ssize_t j = 0; j < n; ++j) {
        g[j] += alpha * a[j];
    }
}

FO_ROW void fo_axpy_f32(double alpha, const float *FO_RESTRICT a, double *FO_RESTRICT g,
                           Py_ssize_t n)
{
    FO_PRAGMA(omp simd)
    for (Py_ssize_t j = 0; j < n; ++j) {
        g[j] += alpha * (double)a[j];
    }
}

#endif /* __GNUC__ */

/* dst[j] = scale * a[j] (the row copy that feeds dsyrk) */
FO_ROW void fo_scale_copy_f64(double scale, const double *FO_RESTRICT a,
                                 double *FO_RESTRICT dst, Py_ssize_t n)
{
    FO_PRAGMA(omp simd)
    for (Py_ssize_t j = 0; j < n; ++j) {
        dst[j] = scale * a[j];
    }
}

FO_ROW void fo_scale_copy_f32(double scale, const float *FO_RESTRICT a,
                                 double *FO_RESTRICT dst, Py_ssize_t n)
{
    FO_PRAGMA(omp simd)
    for (Py_ssize_t j = 0; j < n; ++j) {
        dst[j] = scale * (double)a[j];
    }
}

#endif /* FASTOPT_SIMD_H */
