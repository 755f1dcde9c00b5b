/*
 * The C twin of the table of optimizer steps (fastopt/kernels/steps.py): for each step,
 * its per-call scalars and its element loop, float32 and float64.
 *
 * A step is three functions, gathered in FO_STEPS under its code (the codes, state counts
 * and momentum slots are generated from the table into _step_table.h by setup.py):
 *
 *   fo_<step>_coefs(t, lr, p, &carry, c): the scalars c of step t (from 1), in float64,
 *       from the step size, the hyper-parameters p (the table's order) and the carry
 *       (NAdam's product of momentum coefficients), which it advances;
 *   fo_<step>_f32 / _f64(x, s1, s2, s3, g, c, n): the element loop over n entries, in
 *       place, in the array dtype's arithmetic (c is cast once); s1..s3 are the state
 *       arrays the step has (the others are ignored, NULL).
 *
 * Each mirrors the step's `coefs` and `element` in steps.py, operation for operation.
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

#include "_step_table.h"

#if !defined(FASTOPT_NO_TARGET_CLONES) && defined(__GNUC__) && !defined(__clang__)         \
    && __GNUC__ >= 11 && defined(__x86_64__) && defined(__GLIBC__)
#define FO_UPD static __attribute__((target_clones("arch=x86-64-v3", "default")))
#elif defined(_MSC_VER)
#define FO_UPD static __inline
#else
#define FO_UPD static inline
#endif


typedef void (*fo_coefs_fn)(double t, double lr, const double *p, double *carry, double *c);
typedef void (*fo_span_f32_fn)(float *x, float *s1, float *s2, float *s3, const float *g,
                               const double *c, Py_ssize_t n);
typedef void (*fo_span_f64_fn)(double *x, double *s1, double *s2, double *s3,
                               const double *g, const double *c, Py_ssize_t n);
typedef struct {
    fo_coefs_fn coefs;
    fo_span_f32_fn f32;
    fo_span_f64_fn f64;
} fo_step;

/* The element loops of a step, float32 and float64: BODY(T, SQRT) casts c to T and
 * updates the n entries. */
#define FO_SPAN(NAME, SUF, T, SQRT, BODY)                                                  \
    FO_UPD void fo_##NAME##_##SUF(T *x, T *s1, T *s2, T *s3, const T *g, const double *c,  \
                                  Py_ssize_t n)                                            \
    {                                                                                      \
        (void)s1;                                                                          \
        (void)s2;                                                                          \
        (void)s3;                                                                          \
        BODY(T, SQRT)                                                                      \
    }
#define FO_SPANS(NAME, BODY)                                                               \
    FO_SPAN(NAME, f32, float, sqrtf, BODY)                                                 \
    FO_SPAN(NAME, f64, double, sqrt, BODY)

/* --- gd: x -= lr g --------------------------------------------------------------------- */
static void fo_gd_coefs(double t, double lr, const double *p, double *carry, double *c)
{
    (void)t, (void)p, (void)carry;
    c[0] = lr;
}
#define FO_GD_BODY(T, SQRT)                                                                \
    const T lr = (T)c[0];                                                                  \
    for (Py_ssize_t i = 0; i < n; ++i) {                                                   \
        x[i] -= lr * g[i];                                                                 \
    }
FO_SPANS(gd, FO_GD_BODY)

/* --- heavy ball: s = rho s - lr g;  x += s ----------------------------------------------- */
static void fo_heavy_ball_coefs(double t, double lr, const double *p, double *carry,
                                double *c)
{
    (void)t, (void)carry;
    c[0] = lr;
    c[1] = p[0];
}
#define FO_HEAVY_BALL_BODY(T, SQRT)                                                        \
    const T lr = (T)c[0], rho = (T)c[1];                                                   \
    for (Py_ssize_t i = 0; i < n; ++i) {                                                   \
        T si = rho * s1[i] - lr * g[i];                                                    \
        s1[i] = si;                                                                        \
        x[i] += si;                                                                        \
    }
FO_SPANS(heavy_ball, FO_HEAVY_BALL_BODY)

/* --- nesterov (look-ahead): s' = rho s - lr g;  x += (1 + rho_next) s' - rho s ----------- */
static void fo_nesterov_coefs(double t, double lr, const double *p, double *carry, double *c)
{
    (void)t, (void)carry;
    c[0] = lr;
    c[1] = p[0];
    c[2] = 1.0 + p[1];
}
#define FO_NESTEROV_BODY(T, SQRT)                                                          \
    const T lr = (T)c[0], rho = (T)c[1], grow = (T)c[2];                                   \
    for (Py_ssize_t i = 0; i < n; ++i) {                                                   \
        T s_old = s1[i];                                                                   \
        T si = rho * s_old - lr * g[i];                                                    \
        s1[i] = si;                                                                        \
        x[i] += grow * si - rho * s_old;                                                   \
    }
FO_SPANS(nesterov, FO_NESTEROV_BODY)

/* --- AdaGrad / RMSProp: r = c_r r + c_g g^2;  x -= lr g / (sqrt(r) + eps) ---------------- */
static void fo_adagrad_coefs(double t, double lr, const double *p, double *carry, double *c)
{
    (void)t, (void)carry;
    c[0] = lr;
    c[1] = 1.0;
    c[2] = 1.0;
    c[3] = p[0];
}
static void fo_rmsprop_coefs(double t, double lr, const double *p, double *carry, double *c)
{
    (void)t, (void)carry;
    c[0] = lr;
    c[1] = p[0];
    c[2] = 1.0 - p[0];
    c[3] = p[1];
}
#define FO_SCALED_BODY(T, SQRT)                                                            \
    const T lr = (T)c[0], c_r = (T)c[1], c_g = (T)c[2], eps = (T)c[3];                     \
    for (Py_ssize_t i = 0; i < n; ++i) {                                                   \
        T gi = g[i];                                                                       \
        T ri = c_r * s1[i] + c_g * gi * gi;                                                \
        s1[i] = ri;                                                                        \
        x[i] -= lr * gi / (SQRT(ri) + eps);                                                \
    }
FO_SPANS(scaled, FO_SCALED_BODY)

/* --- Adam(W), AMSGrad: m = b1 m + c1 g;  v = b2 v + c2 g^2;  [v_max = max(v_max, v)]
 *     x = keep x - step m / (sqrt(v) isb + eps)
 *     (step = lr / (1 - b1^t), isb = 1 / sqrt(1 - b2^t), keep = 1 - lr wd) ----------------- */
static void fo_adam_coefs(double t, double lr, const double *p, double *carry, double *c)
{
    (void)carry;
    double bc1 = 1.0 - pow(p[0], t);
    double bc2 = 1.0 - pow(p[1], t);
    c[0] = lr / bc1;
    c[1] = p[0];
    c[2] = p[1];
    c[3] = 1.0 - p[0];
    c[4] = 1.0 - p[1];
    c[5] = 1.0 / sqrt(bc2);
    c[6] = p[2];
    c[7] = 1.0 - lr * p[3];
}
/* Adam's moments of entry i, written back (Adam, AMSGrad, NAdam): gi, mi and vi are the
 * gradient and the new first and second moments. */
#define FO_MOMENTS(T)                                                                     \
    T gi = g[i];                                                                          \
    T mi = b1 * s1[i] + c1 * gi;                                                          \
    T vi = b2 * s2[i] + c2 * gi * gi;                                                     \
    s1[i] = mi;                                                                           \
    s2[i] = vi;
#define FO_ADAM_HEAD(T)                                                                    \
    const T step = (T)c[0], b1 = (T)c[1], b2 = (T)c[2], c1 = (T)c[3], c2 = (T)c[4];        \
    const T isb = (T)c[5], eps = (T)c[6], keep = (T)c[7];
/* SECOND: nothing (Adam), or AMSGrad's running max taking v's place in the step. */
#define FO_ADAM_LOOP(T, SQRT, SECOND)                                                     \
    FO_ADAM_HEAD(T)                                                                       \
    for (Py_ssize_t i = 0; i < n; ++i) {                                                  \
        FO_MOMENTS(T)                                                                     \
        SECOND                                                                            \
        x[i] = keep * x[i] - step * mi / (SQRT(vi) * isb + eps);                          \
    }
#define FO_ADAM_BODY(T, SQRT) FO_ADAM_LOOP(T, SQRT, )
#define FO_AMSGRAD_BODY(T, SQRT) FO_ADAM_LOOP(T, SQRT, vi = s3[i] > vi ? s3[i] : vi; s3[i] = vi;)
FO_SPANS(adam, FO_ADAM_BODY)
FO_SPANS(amsgrad, FO_AMSGRAD_BODY)

/* --- NAdam (torch.optim.NAdam): mu_t = b1 (1 - 0.5 0.96^(t psi)), P = carry mu_t;
 *     m, v as Adam;  d = sqrt(v / (1 - b2^t)) + eps;  x = (x - c_g g / d) - c_m m / d
 *     with c_g = lr (1 - mu_t) / (1 - P), c_m = lr mu_{t+1} / (1 - P mu_{t+1}) ------------- */
static void fo_nadam_coefs(double t, double lr, const double *p, double *carry, double *c)
{
    double b1 = p[0], b2 = p[1], psi = p[3];
    double mu = b1 * (1.0 - 0.5 * pow(0.96, t * psi));
    double mu_next = b1 * (1.0 - 0.5 * pow(0.96, (t + 1.0) * psi));
    double prod = *carry * mu;
    *carry = prod;
    c[0] = lr * (1.0 - mu) / (1.0 - prod);
    c[1] = lr * mu_next / (1.0 - prod * mu_next);
    c[2] = b1;
    c[3] = b2;
    c[4] = 1.0 - b1;
    c[5] = 1.0 - b2;
    c[6] = 1.0 - pow(b2, t);
    c[7] = p[2];
}
#define FO_NADAM_BODY(T, SQRT)                                                             \
    const T c_g = (T)c[0], c_m = (T)c[1], b1 = (T)c[2], b2 = (T)c[3], c1 = (T)c[4];        \
    const T c2 = (T)c[5], bc2 = (T)c[6], eps = (T)c[7];                                    \
    for (Py_ssize_t i = 0; i < n; ++i) {                                                   \
        FO_MOMENTS(T)                                                                      \
        T d = SQRT(vi / bc2) + eps;                                                        \
        x[i] = (x[i] - c_g * gi / d) - c_m * mi / d;                                       \
    }
FO_SPANS(nadam, FO_NADAM_BODY)

/* --- Adamax (torch.optim.Adamax): m = b1 m + c1 g;  u = max(b2 u, |g| + eps);
 *     x -= step m / u with step = lr / (1 - b1^t) ---------------------------------------- */
static void fo_adamax_coefs(double t, double lr, const double *p, double *carry, double *c)
{
    (void)carry;
    c[0] = lr / (1.0 - pow(p[0], t));
    c[1] = p[0];
    c[2] = 1.0 - p[0];
    c[3] = p[1];
    c[4] = p[2];
}
#define FO_ADAMAX_BODY(T, SQRT)                                                           \
    const T step = (T)c[0], b1 = (T)c[1], c1 = (T)c[2], b2 = (T)c[3], eps = (T)c[4];      \
    for (Py_ssize_t i = 0; i < n; ++i) {                                                  \
        T gi = g[i];                                                                      \
        T mi = b1 * s1[i] + c1 * gi;                                                      \
        T decayed = b2 * s2[i];                                                           \
        T fresh = (gi < 0 ? -gi : gi) + eps;                                              \
        T ui = fresh > decayed ? fresh : decayed;                                         \
        s1[i] = mi;                                                                       \
        s2[i] = ui;                                                                       \
        x[i] -= step * mi / ui;                                                           \
    }
FO_SPANS(adamax, FO_ADAMAX_BODY)

/* --- the table, by step code (a step missing here is NULL: the callers refuse it) ------- */
#define FO_STEP_ROW(CODE, COEFS, SPAN) [CODE] = {COEFS, fo_##SPAN##_f32, fo_##SPAN##_f64}
static const fo_step FO_STEPS[FO_N_STEPS] = {
    FO_STEP_ROW(FO_STEP_GD, fo_gd_coefs, gd),
    FO_STEP_ROW(FO_STEP_HEAVY_BALL, fo_heavy_ball_coefs, heavy_ball),
    FO_STEP_ROW(FO_STEP_NESTEROV, fo_nesterov_coefs, nesterov),
    FO_STEP_ROW(FO_STEP_ADAGRAD, fo_adagrad_coefs, scaled),
    FO_STEP_ROW(FO_STEP_RMSPROP, fo_rmsprop_coefs, scaled),
    FO_STEP_ROW(FO_STEP_ADAM_MOMENTS, fo_adam_coefs, adam),
    FO_STEP_ROW(FO_STEP_AMSGRAD_MOMENTS, fo_adam_coefs, amsgrad),
    FO_STEP_ROW(FO_STEP_NADAM, fo_nadam_coefs, nadam),
    FO_STEP_ROW(FO_STEP_ADAMAX, fo_adamax_coefs, adamax),
};

#endif /* FASTOPT_UPDATES_H */
