/*
 * The fused sweep of the L-BFGS two-loop recursion (lbfgs.pyx):
 *
 *     d[t] += alpha a[t] for every t, then return sum_t b[t] d[t]   (the updated d)
 *
 * Each step of either loop of the recursion is a dot product with d followed by an axpy
 * into d, and the next step's dot product reads the d that axpy wrote. Done one after
 * the other that is three sweeps over d per memory pair; here the axpy of pair j and
 * the dot product of the next pair share one sweep (d loaded and stored once), so the
 * recursion streams each row of S and Y once and d about 2k times instead of 3k.
 *
 * The dot keeps the lane structure of fo_dot_f64 in _simd.h (two four-lane
 * accumulators over blocks of 8, one block of 4, the horizontal sum, then the scalar
 * tail), compiled for AVX2 + FMA and the baseline (FO_ROW). `a` and `b` may be the same
 * row; neither aliases d.
 */
#ifndef FASTOPT_LBFGS_H
#define FASTOPT_LBFGS_H

#include "_simd.h"

#if defined(__GNUC__)

FO_ROW double fo_axpy_then_dot(double alpha, const double *a, double *FO_RESTRICT d,
                               const double *b, Py_ssize_t n)
{
    fo_v4d s0 = {0.0, 0.0, 0.0, 0.0}, s1 = s0, d0, d1;
    Py_ssize_t j = 0;
    double s;
    for (; j + 8 <= n; j += 8) {
        d0 = FO_LOAD_F64(d + j) + alpha * FO_LOAD_F64(a + j);
        d1 = FO_LOAD_F64(d + j + 4) + alpha * FO_LOAD_F64(a + j + 4);
        __builtin_memcpy(d + j, &d0, sizeof d0);
        __builtin_memcpy(d + j + 4, &d1, sizeof d1);
        s0 += FO_LOAD_F64(b + j) * d0;
        s1 += FO_LOAD_F64(b + j + 4) * d1;
    }
    if (j + 4 <= n) {
        d0 = FO_LOAD_F64(d + j) + alpha * FO_LOAD_F64(a + j);
        __builtin_memcpy(d + j, &d0, sizeof d0);
        s0 += FO_LOAD_F64(b + j) * d0;
        j += 4;
    }
    s0 += s1;
    s = FO_HSUM(s0);
    for (; j < n; ++j) {
        d[j] += alpha * a[j];
        s += b[j] * d[j];
    }
    return s;
}

#else

FO_ROW double fo_axpy_then_dot(double alpha, const double *a, double *FO_RESTRICT d,
                               const double *b, Py_ssize_t n)
{
    double s = 0.0;
    for (Py_ssize_t j = 0; j < n; ++j) {
        d[j] += alpha * a[j];
        s += b[j] * d[j];
    }
    return s;
}

#endif

#endif /* FASTOPT_LBFGS_H */
