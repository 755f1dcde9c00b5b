/*
 * The softmax numerators of the softmax-ReLU kernels (softmax_relu.pyx), vectorized:
 *
 *     f_i = exp(max(z_i, 0) - umax),  i < n,      returns sum_i f_i
 *
 * with umax = max(0, max_i z_i), so every exponent is <= 0 and the exp of _vecmath.h
 * (fo_exp_nonpositive: four float64 lanes, AVX2 + FMA in the x86-64-v3 clone, agrees
 * with libm to about 1e-15 relative) applies. glibc's scalar exp made this loop the
 * largest cost of a Cython evaluation at n = 20000 (twice numba's time for the whole
 * loss); the last n mod 4 entries go through the same vector code on a padded block,
 * so every f_i comes from one algorithm. Other compilers: libm, one entry at a time.
 */
#ifndef FASTOPT_SOFTMAX_RELU_H
#define FASTOPT_SOFTMAX_RELU_H

#include <math.h>

#include "_vecmath.h"

#if defined(__GNUC__)

FO_VINLINE fo_v4d fo_softmax_relu_exp4(fo_v4d z, double umax)
{
    fo_v4d u = FO_SELECT(z > FO_SPLAT(0.0), z, FO_SPLAT(0.0));
    return fo_exp_nonpositive(u - FO_SPLAT(umax));
}

FO_ROW double fo_softmax_relu_exp(const double *FO_RESTRICT z, Py_ssize_t n, double umax,
                                  double *FO_RESTRICT f)
{
    fo_v4d acc = FO_SPLAT(0.0);
    Py_ssize_t i = 0;
    double total;
    for (; i + 4 <= n; i += 4) {
        fo_v4d e = fo_softmax_relu_exp4(FO_LOAD_F64(z + i), umax);
        __builtin_memcpy(f + i, &e, sizeof e);
        acc += e;
    }
    total = FO_HSUM(acc);
    if (i < n) {
        double zb[4] = {0.0, 0.0, 0.0, 0.0}, eb[4];
        Py_ssize_t r = n - i;
        __builtin_memcpy(zb, z + i, (size_t)r * sizeof(double));
        fo_v4d e = fo_softmax_relu_exp4(FO_LOAD_F64(zb), umax);
        __builtin_memcpy(eb, &e, sizeof e);
        for (Py_ssize_t k = 0; k < r; ++k) {
            f[i + k] = eb[k];
            total += eb[k];
        }
    }
    return total;
}

#else

FO_ROW double fo_softmax_relu_exp(const double *FO_RESTRICT z, Py_ssize_t n, double umax,
                                  double *FO_RESTRICT f)
{
    double total = 0.0;
    for (Py_ssize_t i = 0; i < n; ++i) {
        f[i] = exp((z[i] > 0.0 ? z[i] : 0.0) - umax);
        total += f[i];
    }
    return total;
}

#endif

#endif /* FASTOPT_SOFTMAX_RELU_H */
