/*
 * Row primitives of the Cython multinomial kernels (multinomial.pyx): the K logits of one
 * row of X (dense or CSR, float32 or float64) against the feature-major coefficient
 * matrix W (p, K), and the rank-one update of a partial gradient by that row.
 *
 * Why C: as in _simd.h, gcc needs the vector lanes spelled out, and a portable build
 * targets baseline x86-64; every public function here is compiled twice (target_clones:
 * AVX2 + FMA and the baseline) where the toolchain allows it, one non-inlined call per
 * row. The numba twin is compiled for the host CPU, so without the clones the Cython
 * kernels would run half as wide.
 *
 * Logits, z = W[:n]^T a (+ b): the numba twin keeps z in memory and adds a_j W[j, :] to
 * it for every entry j of the row, so each class's sum is a chain of loads, multiply-adds
 * and stores. Here the classes are taken in strips of up to 16, held in up to four
 * 4-lane registers for the whole row; when 4 does not divide K, the strip's last vector
 * starts at K - 4 and overlaps the one before it (its shared lanes compute the very same
 * sums, so storing both is harmless), which keeps every load inside row j of W. Each
 * class's sum is still b_k + a_0 W[0, k] + a_1 W[1, k] + ... in entry order, as in the
 * numba twin. K < 4 uses one scalar accumulator per class. With V given, the logits of
 * a second matrix are formed in the same sweep (the HVP reads the row once).
 *
 * Dense rows are the CSR case with the identity as index map; the macros below generate
 * both from one body (IDX(e) is the feature of entry e).
 */
#ifndef FASTOPT_MULTINOMIAL_H
#define FASTOPT_MULTINOMIAL_H

#include "_simd.h"

#define FO_MN_DENSE_IDX(e) (e)
#define FO_MN_CSR_IDX(e) ((Py_ssize_t)idx[e])

#if defined(__GNUC__)

#pragma GCC diagnostic ignored "-Wpsabi"
#define FO_MN_INLINE static inline __attribute__((always_inline))
#define FO_MN_SPLAT(x) ((fo_v4d){(x), (x), (x), (x)})
#define FO_MN_STORE(p, v) __builtin_memcpy((p), &(v), sizeof(v))

/* One strip of NV <= 4 vectors (NV a constant after inlining): classes off[q] .. off[q]+3. */
#define FO_MN_DEFINE_STRIP(SUF, T, I, IDX)                                                 \
    FO_MN_INLINE void fo_mn_strip_##SUF(                                                  \
        const T *FO_RESTRICT a, const I *FO_RESTRICT idx, Py_ssize_t lo, Py_ssize_t hi,   \
        const double *FO_RESTRICT W, const double *FO_RESTRICT V, Py_ssize_t K,           \
        Py_ssize_t k0, const int NV, const double *bw, const double *bv,                  \
        double *FO_RESTRICT z, double *FO_RESTRICT u)                                     \
    {                                                                                     \
        fo_v4d s[4], t[4];                                                                \
        Py_ssize_t off[4];                                                                \
        (void)idx;                                                                        \
        for (int q = 0; q < NV; ++q) {                                                    \
            off[q] = (k0 + 4 * q < K - 4) ? k0 + 4 * q : K - 4;                           \
            s[q] = bw ? FO_LOAD_F64(bw + off[q]) : FO_MN_SPLAT(0.0);                      \
            t[q] = bv ? FO_LOAD_F64(bv + off[q]) : FO_MN_SPLAT(0.0);                      \
        }                                                                                 \
        if (V) {                                                                          \
            for (Py_ssize_t e = lo; e < hi; ++e) {                                        \
                const fo_v4d av = FO_MN_SPLAT((double)a[e]);                              \
                const Py_ssize_t row = IDX(e) * K;                                        \
                for (int q = 0; q < NV; ++q) {                                            \
                    s[q] += av * FO_LOAD_F64(W + row + off[q]);                           \
                    t[q] += av * FO_LOAD_F64(V + row + off[q]);                           \
                }                                                                         \
            }                                                                             \
            for (int q = 0; q < NV; ++q) {                                                \
                FO_MN_STORE(u + off[q], t[q]);                                            \
            }                                                                             \
        } else {                                                                          \
            for (Py_ssize_t e = lo; e < hi; ++e) {                                        \
                const fo_v4d av = FO_MN_SPLAT((double)a[e]);                              \
                const Py_ssize_t row = IDX(e) * K;                                        \
                for (int q = 0; q < NV; ++q) {                                            \
                    s[q] += av * FO_LOAD_F64(W + row + off[q]);                           \
                }                                                                         \
            }                                                                             \
        }                                                                                 \
        for (int q = 0; q < NV; ++q) {                                                    \
            FO_MN_STORE(z + off[q], s[q]);                                                \
        }                                                                                 \
    }

/* K < 4 (KK = K, a constant after inlining): one scalar accumulator per class. */
#define FO_MN_DEFINE_SMALL(SUF, T, I, IDX)                                                 \
    FO_MN_INLINE void fo_mn_small_##SUF(                                                  \
        const T *FO_RESTRICT a, const I *FO_RESTRICT idx, Py_ssize_t lo, Py_ssize_t hi,   \
        const double *FO_RESTRICT W, const double *FO_RESTRICT V, const int KK,           \
        const double *bw, const double *bv, double *FO_RESTRICT z,                        \
        double *FO_RESTRICT u)                                                            \
    {                                                                                     \
        double s[3], t[3];                                                                \
        (void)idx;                                                                        \
        for (int k = 0; k < KK; ++k) {                                                    \
            s[k] = bw ? bw[k] : 0.0;                                                      \
            t[k] = bv ? bv[k] : 0.0;                                                      \
        }                                                                                 \
        for (Py_ssize_t e = lo; e < hi; ++e) {                                            \
            const double av = (double)a[e];                                               \
            const Py_ssize_t row = IDX(e) * KK;                                           \
            for (int k = 0; k < KK; ++k) {                                                \
                s[k] += av * W[row + k];                                                  \
                if (V) {                                                                  \
                    t[k] += av * V[row + k];                                              \
                }                                                                         \
            }                                                                             \
        }                                                                                 \
        for (int k = 0; k < KK; ++k) {                                                    \
            z[k] = s[k];                                                                  \
            if (V) {                                                                      \
                u[k] = t[k];                                                              \
            }                                                                             \
        }                                                                                 \
    }

#define FO_MN_DEFINE_LOGITS(SUF, T, I)                                                     \
    FO_ROW void fo_mn_logits_##SUF(                                                       \
        const T *FO_RESTRICT a, const I *FO_RESTRICT idx, Py_ssize_t lo, Py_ssize_t hi,   \
        const double *FO_RESTRICT W, const double *FO_RESTRICT V, Py_ssize_t K,           \
        const double *bw, const double *bv, double *FO_RESTRICT z, double *FO_RESTRICT u) \
    {                                                                                     \
        switch (K) {                                                                      \
        case 1: fo_mn_small_##SUF(a, idx, lo, hi, W, V, 1, bw, bv, z, u); return;         \
        case 2: fo_mn_small_##SUF(a, idx, lo, hi, W, V, 2, bw, bv, z, u); return;         \
        case 3: fo_mn_small_##SUF(a, idx, lo, hi, W, V, 3, bw, bv, z, u); return;         \
        default: break;                                                                   \
        }                                                                                 \
        for (Py_ssize_t k0 = 0; k0 < K; k0 += 16) {                                       \
            switch ((((K - k0) < 16 ? (K - k0) : 16) + 3) / 4) {                          \
            case 1: fo_mn_strip_##SUF(a, idx, lo, hi, W, V, K, k0, 1, bw, bv, z, u); break; \
            case 2: fo_mn_strip_##SUF(a, idx, lo, hi, W, V, K, k0, 2, bw, bv, z, u); break; \
            case 3: fo_mn_strip_##SUF(a, idx, lo, hi, W, V, K, k0, 3, bw, bv, z, u); break; \
            default: fo_mn_strip_##SUF(a, idx, lo, hi, W, V, K, k0, 4, bw, bv, z, u); break; \
            }                                                                             \
        }                                                                                 \
    }

#else /* other compilers: plain loops over the classes */

#define FO_MN_DEFINE_STRIP(SUF, T, I, IDX)
#define FO_MN_DEFINE_SMALL(SUF, T, I, IDX)
#define FO_MN_DEFINE_LOGITS_IDX(SUF, T, I, IDX)                                            \
    FO_ROW void fo_mn_logits_##SUF(                                                       \
        const T *FO_RESTRICT a, const I *FO_RESTRICT idx, Py_ssize_t lo, Py_ssize_t hi,   \
        const double *FO_RESTRICT W, const double *FO_RESTRICT V, Py_ssize_t K,           \
        const double *bw, const double *bv, double *FO_RESTRICT z, double *FO_RESTRICT u) \
    {                                                                                     \
        (void)idx;                                                                        \
        for (Py_ssize_t k = 0; k < K; ++k) {                                              \
            z[k] = bw ? bw[k] : 0.0;                                                      \
            if (V) {                                                                      \
                u[k] = bv ? bv[k] : 0.0;                                                  \
            }                                                                             \
        }                                                                                 \
        for (Py_ssize_t e = lo; e < hi; ++e) {                                            \
            const double av = (double)a[e];                                               \
            const Py_ssize_t row = IDX(e) * K;                                            \
            FO_PRAGMA(omp simd)                                                           \
            for (Py_ssize_t k = 0; k < K; ++k) {                                          \
                z[k] += av * W[row + k];                                                  \
            }                                                                             \
            if (V) {                                                                      \
                FO_PRAGMA(omp simd)                                                       \
                for (Py_ssize_t k = 0; k < K; ++k) {                                      \
                    u[k] += av * V[row + k];                                              \
                }                                                                         \
            }                                                                             \
        }                                                                                 \
    }

#endif /* __GNUC__ */

/* G[IDX(e), :] += a[e] r for every entry e of the row: the row's share of X~^T R. */
#define FO_MN_DEFINE_SCATTER(SUF, T, I, IDX)                                               \
    FO_ROW void fo_mn_scatter_##SUF(                                                      \
        const T *FO_RESTRICT a, const I *FO_RESTRICT idx, Py_ssize_t lo, Py_ssize_t hi,   \
        Py_ssize_t K, const double *FO_RESTRICT r, double *FO_RESTRICT G)                 \
    {                                                                                     \
        (void)idx;                                                                        \
        for (Py_ssize_t e = lo; e < hi; ++e) {                                            \
            const double av = (double)a[e];                                               \
            double *FO_RESTRICT Gr = G + IDX(e) * K;                                      \
            FO_PRAGMA(omp simd)                                                           \
            for (Py_ssize_t k = 0; k < K; ++k) {                                          \
                Gr[k] += av * r[k];                                                       \
            }                                                                             \
        }                                                                                 \
    }

#if defined(__GNUC__)
#define FO_MN_DEFINE_ALL(SUF, T, I, IDX)                                                   \
    FO_MN_DEFINE_STRIP(SUF, T, I, IDX)                                                    \
    FO_MN_DEFINE_SMALL(SUF, T, I, IDX)                                                    \
    FO_MN_DEFINE_LOGITS(SUF, T, I)                                                        \
    FO_MN_DEFINE_SCATTER(SUF, T, I, IDX)
#else
#define FO_MN_DEFINE_ALL(SUF, T, I, IDX)                                                   \
    FO_MN_DEFINE_LOGITS_IDX(SUF, T, I, IDX)                                               \
    FO_MN_DEFINE_SCATTER(SUF, T, I, IDX)
#endif

/* Dense rows: a is the row, idx is unused (pass NULL), entries lo .. hi are columns. */
FO_MN_DEFINE_ALL(dense_f64, double, int, FO_MN_DENSE_IDX)
FO_MN_DEFINE_ALL(dense_f32, float, int, FO_MN_DENSE_IDX)
/* CSR rows: a = data, idx = indices, entries lo .. hi = indptr[i] .. indptr[i + 1]. */
FO_MN_DEFINE_ALL(csr_f64_i32, double, int, FO_MN_CSR_IDX)
FO_MN_DEFINE_ALL(csr_f64_i64, double, long long, FO_MN_CSR_IDX)
FO_MN_DEFINE_ALL(csr_f32_i32, float, int, FO_MN_CSR_IDX)
FO_MN_DEFINE_ALL(csr_f32_i64, float, long long, FO_MN_CSR_IDX)

#endif /* FASTOPT_MULTINOMIAL_H */
