/*
 * Per-row logistic terms of a block of rows, vectorized: the C twin of
 * fastopt/kernels/numba/_vecmath.py (same algorithms, same constants).
 *
 * glibc's scalar exp and log cost tens of nanoseconds per row of a logistic pass; after the
 * memory pass itself that was the largest cost of the Cython loss+gradient. Here `exp`
 * and `log1p` are branch-free polynomials written with GCC/Clang vector extensions (four
 * float64 lanes), so every lane runs the same instructions and the x86-64-v3 clone is
 * AVX2 + FMA code:
 *
 * - exp(x), x <= 0: Cody-Waite reduction x = k ln2 + r, |r| <= ln2 / 2, degree-13 Taylor
 *   polynomial for exp(r), 2^k built from exponent bits in two factors (results down to
 *   the smallest subnormal are right); 0 below -745.2; NaN propagates.
 * - log1p(e), 0 <= e <= 1: 2 atanh(s) with s = e / (2 + e) <= 1/3, odd series to s^31.
 *
 * Both agree with libm to about 1e-15 relative (tests/kernels/test_vecmath.py checks the
 * numba twin on the same algorithm; the Cython kernels are checked against the NumPy
 * reference). This file is compiled without -ffast-math: the rounding trick
 * (x log2e + 1.5 2^52) - 1.5 2^52 relies on IEEE evaluation order.
 */
#ifndef FASTOPT_VECMATH_H
#define FASTOPT_VECMATH_H

#include <math.h>

#include "_simd.h"

#if defined(__GNUC__)

typedef long long fo_v4l __attribute__((vector_size(32)));

/* The helpers below pass 32-byte vectors by value; they are always inlined into the
 * target_clones functions, so the ABI note GCC prints for the baseline build is moot
 * (GCC emits it at the end of the translation unit, so it stays off to the end). */
#pragma GCC diagnostic ignored "-Wpsabi"
#define FO_VINLINE static inline __attribute__((always_inline))

#define FO_SPLAT(x) ((fo_v4d){(x), (x), (x), (x)})
#define FO_SPLATL(x) ((fo_v4l){(x), (x), (x), (x)})
/* lanes of a where mask is all ones, of b elsewhere (masks come from comparisons) */
#define FO_SELECT(mask, a, b) ((fo_v4d)((((fo_v4l)(a)) & (mask)) | (((fo_v4l)(b)) & ~(mask))))

FO_VINLINE fo_v4d fo_exp_nonpositive(fo_v4d x)
{
    const fo_v4d shift = FO_SPLAT(6755399441055744.0); /* 1.5 * 2^52 */
    fo_v4d xc = FO_SELECT(x < FO_SPLAT(-746.0), FO_SPLAT(-746.0), x); /* NaN stays NaN */
    fo_v4d kd = xc * FO_SPLAT(1.4426950408889634) + shift;
    fo_v4l k = (fo_v4l)kd - FO_SPLATL(0x4338000000000000LL); /* round(x / ln2) */
    fo_v4d kf = kd - shift;
    fo_v4d r = (xc - kf * FO_SPLAT(6.93147180369123816490e-01))
               - kf * FO_SPLAT(1.90821492927058770002e-10);
    fo_v4d p = FO_SPLAT(1.0 / 6227020800.0);
    p = p * r + FO_SPLAT(1.0 / 479001600.0);
    p = p * r + FO_SPLAT(1.0 / 39916800.0);
    p = p * r + FO_SPLAT(1.0 / 3628800.0);
    p = p * r + FO_SPLAT(1.0 / 362880.0);
    p = p * r + FO_SPLAT(1.0 / 40320.0);
    p = p * r + FO_SPLAT(1.0 / 5040.0);
    p = p * r + FO_SPLAT(1.0 / 720.0);
    p = p * r + FO_SPLAT(1.0 / 120.0);
    p = p * r + FO_SPLAT(1.0 / 24.0);
    p = p * r + FO_SPLAT(1.0 / 6.0);
    p = p * r + FO_SPLAT(0.5);
    p = p * r + FO_SPLAT(1.0);
    p = p * r + FO_SPLAT(1.0);
    /* 2^k as 2^k1 2^k2, both normal: k alone may be below -1022 */
    fo_v4l k1 = k >> 1;
    fo_v4l k2 = k - k1;
    fo_v4d e = p * (fo_v4d)((k1 + FO_SPLATL(1023)) << 52) * (fo_v4d)((k2 + FO_SPLATL(1023)) << 52);
    return FO_SELECT(x < FO_SPLAT(-745.2), FO_SPLAT(0.0), e);
}

FO_VINLINE fo_v4d fo_log1p_unit(fo_v4d e)
{
    fo_v4d s = e / (FO_SPLAT(2.0) + e);
    fo_v4d s2 = s * s;
    fo_v4d p = FO_SPLAT(1.0 / 31.0);
    p = p * s2 + FO_SPLAT(1.0 / 29.0);
    p = p * s2 + FO_SPLAT(1.0 / 27.0);
    p = p * s2 + FO_SPLAT(1.0 / 25.0);
    p = p * s2 + FO_SPLAT(1.0 / 23.0);
    p = p * s2 + FO_SPLAT(1.0 / 21.0);
    p = p * s2 + FO_SPLAT(1.0 / 19.0);
    p = p * s2 + FO_SPLAT(1.0 / 17.0);
    p = p * s2 + FO_SPLAT(1.0 / 15.0);
    p = p * s2 + FO_SPLAT(1.0 / 13.0);
    p = p * s2 + FO_SPLAT(1.0 / 11.0);
    p = p * s2 + FO_SPLAT(1.0 / 9.0);
    p = p * s2 + FO_SPLAT(1.0 / 7.0);
    p = p * s2 + FO_SPLAT(1.0 / 5.0);
    p = p * s2 + FO_SPLAT(1.0 / 3.0);
    p = p * s2 + FO_SPLAT(1.0);
    return FO_SPLAT(2.0) * s * p;
}

FO_VINLINE fo_v4d fo_abs(fo_v4d x)
{
    return (fo_v4d)((fo_v4l)x & FO_SPLATL(0x7fffffffffffffffLL));
}

/*
 * For margins t[k] = y_k z_k, k < nb (arrays of at least nb rounded up to 4 entries):
 * loss[k] = log(1 + exp(-t)), slope[k] = sigma(-t), curvature[k] = sigma(t) sigma(-t),
 * with e = exp(-|t|) (never overflows) and q = 1 / (1 + e).
 */
FO_ROW void fo_logistic_terms(const double *FO_RESTRICT t, Py_ssize_t nb,
                              double *FO_RESTRICT loss, double *FO_RESTRICT slope,
                              double *FO_RESTRICT curvature)
{
    for (Py_ssize_t k = 0; k < nb; k += 4) {
        fo_v4d tk = FO_LOAD_F64(t + k);
        fo_v4d e = fo_exp_nonpositive(-fo_abs(tk));
        fo_v4d q = FO_SPLAT(1.0) / (FO_SPLAT(1.0) + e);
        fo_v4d negpart = FO_SELECT(tk < FO_SPLAT(0.0), -tk, FO_SPLAT(0.0));
        fo_v4d l = fo_log1p_unit(e) + negpart;
        fo_v4d s = FO_SELECT(tk > FO_SPLAT(0.0), e * q, q);
        fo_v4d c = e * q * q;
        __builtin_memcpy(loss + k, &l, sizeof l);
        __builtin_memcpy(slope + k, &s, sizeof s);
        __builtin_memcpy(curvature + k, &c, sizeof c);
    }
}

/* curvature[k] = sigma(z_k) (1 - sigma(z_k)) = e / (1 + e)^2, e = exp(-|z_k|) */
FO_ROW void fo_logistic_curvature(const double *FO_RESTRICT z, Py_ssize_t nb,
                                  double *FO_RESTRICT curvature)
{
    for (Py_ssize_t k = 0; k < nb; k += 4) {
        fo_v4d e = fo_exp_nonpositive(-fo_abs(FO_LOAD_F64(z + k)));
        fo_v4d q = FO_SPLAT(1.0) / (FO_SPLAT(1.0) + e);
        fo_v4d c = e * q * q;
        __builtin_memcpy(curvature + k, &c, sizeof c);
    }
}

#else /* other compilers: the same formulas with libm, one row at a time */

FO_ROW void fo_logistic_terms(const double *FO_RESTRICT t, Py_ssize_t nb,
                              double *FO_RESTRICT loss, double *FO_RESTRICT slope,
                              double *FO_RESTRICT curvature)
{
    for (Py_ssize_t k = 0; k < nb; ++k) {
        double e = exp(-fabs(t[k]));
        double q = 1.0 / (1.0 + e);
        loss[k] = log1p(e) + (t[k] < 0.0 ? -t[k] : 0.0);
        slope[k] = t[k] > 0.0 ? e * q : q;
        curvature[k] = e * q * q;
    }
}

FO_ROW void fo_logistic_curvature(const double *FO_RESTRICT z, Py_ssize_t nb,
                                  double *FO_RESTRICT curvature)
{
    for (Py_ssize_t k = 0; k < nb; ++k) {
        double e = exp(-fabs(z[k]));
        double q = 1.0 / (1.0 + e);
        curvature[k] = e * q * q;
    }
}

#endif /* __GNUC__ */

#endif /* FASTOPT_VECMATH_H */
