/*
 * Element-wise loops of the fused optimizer updates (updates.pyx), float32 and float64.
 *
 * Each function updates one span of n elements in place, in the array dtype's
 * arithmetic, with the recurrences of fastopt/kernels/reference/updates.py:
 *
 *   gd:       x -= lr g
 *   hb:       s = rho s - lr g;  x += s
 *   nag:      s' = rho s - lr g;  x += (1 + rho_next) s' - rho s;  s = s'
 *   scaled:   r = c_r r + c_g g^2;  x -= lr g / (sqrt(r) + eps)      (AdaGrad, RMSProp)
 *   adam:     m = b1 m + c1 g;  v = b2 v + c2 g^2;  [amsgrad: v_max = max(v_max, v)]
 *             x = keep x - step m / (sqrt(v) isb + eps)
 *             (step = lr / (1 - b1^t), isb = 1 / sqrt(1 - b2^t), keep = 1 - lr wd)
 *   nadam:    m = b1 m + c1 g;  v = b2 v + c2 g^2;  d = sqrt(v / bc2) + eps
 *             x = (x - c_g g / d) - c_m m / d   (torch.optim.NAdam's order; the scalars
 *             c_g, c_m, bc2 of step t are computed once per call, in float64)
 *
 * Why C: the loops are compute-bound while the arrays sit in cache (n up to about 10^5)
 * and a portable build targets baseline x86-64 (SSE2: two doubles per instruction, no
 * FMA), where the divisions and square roots run at half the rate of AVX2. As in
 * _simd.h, gcc on glibc/x86-64 compiles every loop twice (`target_clones`: x86-64-v3,
 * i.e. AVX2 + FMA, and the baseline) and the loader picks the clone the CPU supports
 * once, through an ifunc; numba compiles its twin for the host CPU, so this is what
 * keeps the two backends level. Define FASTOPT_NO_TARGET_CLONES for plain functions.
 *
 * No `restrict` and no `omp simd`: the public API accepts an x that is also g (the same
 * array), and gcc's runtime alias check costs nothing at these lengths, so an
 * overlapping call stays exact, as it does in the numba and NumPy twins.
 */
#ifndef FASTOPT_UPDATES_H
#define FASTOPT_UPDATES_H

#include <math.h>
#include <stddef.h>
#include <stdlib.h> /* defines __GLIBC__ where it applies */

#if !defined(FASTOPT_NO_TARGET_CLONES) && defined(__GNUC__) && !defined(__clang__) \
    && __GNUC__ >= 11 && defined(__x86_64__) && defined(__GLIBC__)
#define FO_UPD static __attribute__((target_clones("arch=x86-64-v3", "default")))
#elif defined(_MSC_VER)
#define FO_UPD static __inline
#else
#define FO_UPD static inline
#endif

#define FO_DEFINE_UPDATES(SUF, T, SQRT)                                                   \
    FO_UPD void fo_gd_##SUF(T *x, const T *g, T lr, Py_ssize_t n)                         \
    {                                                                                     \
        for (Py_ssize_t i = 0; i < n; ++i) {                                              \
            x[i] -= lr * g[i];                                                            \
        }                                                                                 \
    }                                                                                     \
                                                                                          \
    FO_UPD void fo_hb_##SUF(T *x, T *s, const T *g, T lr, T rho, Py_ssize_t n)            \
    {                                                                                     \
        for (Py_ssize_t i = 0; i < n; ++i) {                                              \
            T si = rho * s[i] - lr * g[i];                                                \
            s[i] = si;                                                                    \
            x[i] += si;                                                                   \
        }                                                                                 \
    }                                                                                     \
                                                                                          \
    FO_UPD void fo_nag_##SUF(T *x, T *s, const T *g, T lr, T rho, T rho_next,            \
                             Py_ssize_t n)                                                \
    {                                                                                     \
        const T grow = (T)1 + rho_next;                                                   \
        for (Py_ssize_t i = 0; i < n; ++i) {                                              \
            T s_old = s[i];                                                               \
            T si = rho * s_old - lr * g[i];                                               \
            s[i] = si;                                                                    \
            x[i] += grow * si - rho * s_old;                                              \
        }                                                                                 \
    }                                                                                     \
                                                                                          \
    FO_UPD void fo_scaled_##SUF(T *x, T *r, const T *g, T lr, T c_r, T c_g, T eps,        \
                                Py_ssize_t n)                                             \
    {                                                                                     \
        for (Py_ssize_t i = 0; i < n; ++i) {                                              \
            T gi = g[i];                                                                  \
            T ri = c_r * r[i] + c_g * gi * gi;                                            \
            r[i] = ri;                                                                    \
            x[i] -= lr * gi / (SQRT(ri) + eps);                                           \
        }                                                                                 \
    }                                                                                     \
                                                                                          \
    FO_UPD void fo_adam_##SUF(T *x, T *m, T *v, const T *g, T step, T b1, T b2, T c1,     \
                              T c2, T isb, T eps, T keep, Py_ssize_t n)                   \
    {                                                                                     \
        for (Py_ssize_t i = 0; i < n; ++i) {                                              \
            T gi = g[i];                                                                  \
            T mi = b1 * m[i] + c1 * gi;                                                   \
            T vi = b2 * v[i] + c2 * gi * gi;                                              \
            m[i] = mi;                                                                    \
            v[i] = vi;                                                                    \
            x[i] = keep * x[i] - step * mi / (SQRT(vi) * isb + eps);                      \
        }                                                                                 \
    }                                                                                     \
                                                                                          \
    FO_UPD void fo_amsgrad_##SUF(T *x, T *m, T *v, T *v_max, const T *g, T step, T b1,   \
                                 T b2, T c1, T c2, T isb, T eps, T keep, Py_ssize_t n)   \
    {                                                                                     \
        for (Py_ssize_t i = 0; i < n; ++i) {                                              \
            T gi = g[i];                                                                  \
            T mi = b1 * m[i] + c1 * gi;                                                   \
            T vi = b2 * v[i] + c2 * gi * gi;                                              \
            m[i] = mi;                                                                    \
            v[i] = vi;                                                                    \
            T vm = v_max[i];                                                              \
            vm = vm > vi ? vm : vi;                                                       \
            v_max[i] = vm;                                                                \
            x[i] = keep * x[i] - step * mi / (SQRT(vm) * isb + eps);                      \
        }                                                                                 \
    }                                                                                     \
                                                                                          \
    FO_UPD void fo_nadam_##SUF(T *x, T *m, T *v, const T *g, T c_g, T c_m, T b1, T b2,    \
                               T c1, T c2, T bc2, T eps, Py_ssize_t n)                    \
    {                                                                                     \
        for (Py_ssize_t i = 0; i < n; ++i) {                                              \
            T gi = g[i];                                                                  \
            T mi = b1 * m[i] + c1 * gi;                                                   \
            T vi = b2 * v[i] + c2 * gi * gi;                                              \
            m[i] = mi;                                                                    \
            v[i] = vi;                                                                    \
            T d = SQRT(vi / bc2) + eps;                                                   \
            x[i] = (x[i] - c_g * gi / d) - c_m * mi / d;                                  \
        }                                                                                 \
    }

FO_DEFINE_UPDATES(f32, float, sqrtf)
FO_DEFINE_UPDATES(f64, double, sqrt)

#endif /* FASTOPT_UPDATES_H */
