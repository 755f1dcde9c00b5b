/*
 * Dense multinomial chunks in tiles of four rows: the blocked kernel of multinomial.pyx.
 *
 * The row-at-a-time kernel (_multinomial.h) reads row j of W once per row of X and
 * loads, updates and stores row j of the partial gradient G once per row: two loads and a
 * store per pair of multiply-adds, and one libm exp per class. Here four rows of X are
 * taken together, so every vector of W or G loaded serves four rows:
 *
 * - logits, Z = A W (+ 1 b^T), A the tile (R <= 4 rows, n columns): the classes in strips
 *   of up to 12 (three 4-lane vectors); the tile's R x 3 sums stay in registers for the
 *   whole sweep over j, and row j of W is loaded once for the R rows (a 4 x 12 register
 *   block: 12 accumulators, 3 loads of W and one broadcast of X per step);
 * - softmax: the row maxima subtracted, then ONE vectorized exp (_vecmath.h) over the
 *   tile's R K logits, then one log per row for the loss;
 * - gradient, G += A^T R: the tile's residuals stay in registers, row j of G is loaded and
 *   stored once for the R rows.
 *
 * When 4 does not divide K, the logits' last vector starts at K - 4 and overlaps the one
 * before it (harmless: both compute the same sums). G is a read-modify-write, where an
 * overlapping load right after a store stalls on store forwarding: there the chunk keeps
 * its partial gradient in rows padded to whole vectors when it fits FO_MN_PAD_MAX
 * (fo_mn_dense_chunk), else the classes past the last multiple of 4 are updated one at a
 * time.
 *
 * Summation order, for every entry: the logits are b_k + a_0 W[0, k] + a_1 W[1, k] + ...
 * and G[j, k] receives the rows in order, as in the row-at-a-time kernel; only the exp
 * (a polynomial, about 1e-15 relative to libm's) and the Hessian product's <p_i, u_i>
 * (four partial sums, fo_mn_dot) differ, by rounding. The tiles start at the chunk's
 * first row, so a chunk's result does not depend on anything but its rows.
 *
 * Needs GCC/Clang vector extensions and 4 <= K (FO_MN_TILES is 0 otherwise, and the pyx
 * takes the row-at-a-time kernel). Compiled twice (target_clones, FO_ROW) as _simd.h.
 */
#ifndef FASTOPT_MN_TILE_H
#define FASTOPT_MN_TILE_H

#include <math.h>
#include <string.h>

#include "_simd.h"
#include "_vecmath.h"

/* What a pass computes per row (multinomial.pyx takes these names from here). */
#define FO_MN_LOSS 0
#define FO_MN_LOSS_GRAD 1
#define FO_MN_LOSS_GRAD_PROBA 2 /* also writes the probabilities */
#define FO_MN_HVP 3             /* Hessian at w times v */
#define FO_MN_HVP_PROBA 4       /* Hessian at the point of the given probabilities: no exp */

#if defined(__GNUC__)

#define FO_MN_TILES 1
#define FO_TINLINE static inline __attribute__((always_inline))

/* Doubles of scratch a chunk needs: two tiles of K-vectors, each padded to whole vectors. */
#define FO_MN_TILE_SCRATCH(K) (2 * (4 * (K) + 4))

/* First class of vector q of the strip starting at k0: never past K - 4. */
FO_TINLINE Py_ssize_t fo_mn_off(Py_ssize_t k0, int q, Py_ssize_t K)
{
    Py_ssize_t o = k0 + 4 * q;
    return o < K - 4 ? o : K - 4;
}

/* Z[r, off..] = b + sum_j a[r, j] W[j, off..] for the R rows and the NV vectors of a strip. */
#define FO_MN_DEFINE_FWD(SUF, T)                                                           \
    FO_TINLINE void fo_mn_fwd_##SUF(const T *FO_RESTRICT a, Py_ssize_t n,                 \
                                    const double *FO_RESTRICT W, const double *b,         \
                                    Py_ssize_t K, Py_ssize_t k0, const int NV,            \
                                    const int R, double *FO_RESTRICT Z)                   \
    {                                                                                     \
        fo_v4d s[4][3], wq[3];                                                            \
        Py_ssize_t off[3];                                                                \
        for (int q = 0; q < NV; ++q) {                                                    \
            off[q] = fo_mn_off(k0, q, K);                                                 \
            for (int r = 0; r < R; ++r) {                                                 \
                s[r][q] = b ? FO_LOAD_F64(b + off[q]) : FO_SPLAT(0.0);                    \
            }                                                                             \
        }                                                                                 \
        for (Py_ssize_t j = 0; j < n; ++j) {                                              \
            for (int q = 0; q < NV; ++q) {                                                \
                wq[q] = FO_LOAD_F64(W + j * K + off[q]);                                  \
            }                                                                             \
            for (int r = 0; r < R; ++r) {                                                 \
                const fo_v4d av = FO_SPLAT((double)a[r * n + j]);                         \
                for (int q = 0; q < NV; ++q) {                                            \
                    s[r][q] += av * wq[q];                                                \
                }                                                                         \
            }                                                                             \
        }                                                                                 \
        for (int r = 0; r < R; ++r) {                                                     \
            for (int q = 0; q < NV; ++q) {                                                \
                __builtin_memcpy(Z + r * K + off[q], &s[r][q], sizeof(fo_v4d));           \
            }                                                                             \
        }                                                                                 \
    }

/*
 * G[j, k0 + 4q ..] += sum_r a[r, j] Rz[r, k0 + 4q ..] for the NV whole vectors of a strip,
 * rows in order. No two vectors overlap: a store followed by an overlapping load would
 * stall on store forwarding (the classes past the last multiple of 4 go to _bwd_tail).
 */
#define FO_MN_DEFINE_BWD(SUF, T)                                                           \
    FO_TINLINE void fo_mn_bwd_##SUF(const T *FO_RESTRICT a, Py_ssize_t n,                 \
                                    const double *FO_RESTRICT Rz, Py_ssize_t K,           \
                                    Py_ssize_t Kg, Py_ssize_t k0, const int NV,           \
                                    const int R, double *FO_RESTRICT G)                   \
    {                                                                                     \
        fo_v4d rv[4][3], av[4];                                                           \
        for (int q = 0; q < NV; ++q) {                                                    \
            for (int r = 0; r < R; ++r) {                                                 \
                rv[r][q] = FO_LOAD_F64(Rz + r * K + k0 + 4 * q);                          \
            }                                                                             \
        }                                                                                 \
        for (Py_ssize_t j = 0; j < n; ++j) {                                              \
            for (int r = 0; r < R; ++r) {                                                 \
                av[r] = FO_SPLAT((double)a[r * n + j]);                                   \
            }                                                                             \
            for (int q = 0; q < NV; ++q) {                                                \
                double *Gj = G + j * Kg + k0 + 4 * q;                                     \
                fo_v4d g = FO_LOAD_F64(Gj);                                               \
                for (int r = 0; r < R; ++r) {                                             \
                    g += av[r] * rv[r][q];                                                \
                }                                                                         \
                __builtin_memcpy(Gj, &g, sizeof g);                                       \
            }                                                                             \
        }                                                                                 \
    }                                                                                     \
    /* the same for the NT < 4 classes k4 .. K - 1, one at a time (residuals in registers) */ \
    FO_TINLINE void fo_mn_bwd_tail_##SUF(const T *FO_RESTRICT a, Py_ssize_t n,            \
                                         const double *FO_RESTRICT Rz, Py_ssize_t K,      \
                                         Py_ssize_t k4, const int NT, const int R,        \
                                         double *FO_RESTRICT G)                           \
    {                                                                                     \
        double rt[4][3];                                                                  \
        for (int r = 0; r < R; ++r) {                                                     \
            for (int k = 0; k < NT; ++k) {                                                \
                rt[r][k] = Rz[r * K + k4 + k];                                            \
            }                                                                             \
        }                                                                                 \
        for (Py_ssize_t j = 0; j < n; ++j) {                                              \
            double *Gj = G + j * K + k4;                                                  \
            for (int k = 0; k < NT; ++k) {                                                \
                double g = Gj[k];                                                         \
                for (int r = 0; r < R; ++r) {                                             \
                    g += (double)a[r * n + j] * rt[r][k];                                 \
                }                                                                         \
                Gj[k] = g;                                                                \
            }                                                                             \
        }                                                                                 \
    }

/* The strips of up to 12 classes, for R rows: Z = A W + b (fwd) or G += A^T Rz (bwd). */
#define FO_MN_DEFINE_SWEEPS(SUF, T)                                                        \
    FO_TINLINE void fo_mn_logits_tile_##SUF(const T *a, Py_ssize_t n, const double *W,    \
                                            const double *b, Py_ssize_t K, const int R,   \
                                            double *Z)                                    \
    {                                                                                     \
        for (Py_ssize_t k0 = 0; k0 < K; k0 += 12) {                                       \
            switch ((K - k0) > 8 ? 3 : (K - k0) > 4 ? 2 : 1) {                            \
            case 1: fo_mn_fwd_##SUF(a, n, W, b, K, k0, 1, R, Z); break;                   \
            case 2: fo_mn_fwd_##SUF(a, n, W, b, K, k0, 2, R, Z); break;                   \
            default: fo_mn_fwd_##SUF(a, n, W, b, K, k0, 3, R, Z); break;                  \
            }                                                                             \
        }                                                                                 \
    }                                                                                     \
    FO_TINLINE void fo_mn_scatter_tile_##SUF(const T *a, Py_ssize_t n, const double *Rz,  \
                                             Py_ssize_t K, Py_ssize_t Kg, const int R,    \
                                             int has_b, double *G)                        \
    {                                                                                     \
        /* rows of G padded (Kg > K): whole vectors only, their last lanes discarded */    \
        const Py_ssize_t k4 = Kg > K ? Kg : K - K % 4;                                    \
        for (Py_ssize_t k0 = 0; k0 < k4; k0 += 12) {                                      \
            switch ((k4 - k0) >= 12 ? 3 : (k4 - k0) / 4) {                                \
            case 1: fo_mn_bwd_##SUF(a, n, Rz, K, Kg, k0, 1, R, G); break;                 \
            case 2: fo_mn_bwd_##SUF(a, n, Rz, K, Kg, k0, 2, R, G); break;                 \
            default: fo_mn_bwd_##SUF(a, n, Rz, K, Kg, k0, 3, R, G); break;                \
            }                                                                             \
        }                                                                                 \
        switch (K - k4) { /* negative when padded: no tail */                             \
        case 1: fo_mn_bwd_tail_##SUF(a, n, Rz, K, k4, 1, R, G); break;                    \
        case 2: fo_mn_bwd_tail_##SUF(a, n, Rz, K, k4, 2, R, G); break;                    \
        case 3: fo_mn_bwd_tail_##SUF(a, n, Rz, K, k4, 3, R, G); break;                    \
        default: break;                                                                   \
        }                                                                                 \
        if (has_b) {                                                                      \
            for (int r = 0; r < R; ++r) {                                                 \
                for (Py_ssize_t k = 0; k < K; ++k) {                                      \
                    G[n * Kg + k] += Rz[r * K + k];                                       \
                }                                                                         \
            }                                                                             \
        }                                                                                 \
    }

/*
 * Softmax of the R rows of Z (R x K, padded to whole vectors) in place; returns
 * sum_r sw[r] (logsumexp(z_r) - z_r[c_r]) (c NULL: no loss). Max-shifted, as the
 * row-at-a-time kernel: every exponent is <= 0.
 */
FO_TINLINE double fo_mn_softmax_tile(double *FO_RESTRICT Z, Py_ssize_t K, const int R,
                                     const long long *c, const double *sw)
{
    double zc[4] = {0.0, 0.0, 0.0, 0.0}, loss = 0.0;
    for (int r = 0; r < R; ++r) {
        double *z = Z + r * K, zmax = z[0];
        for (Py_ssize_t k = 1; k < K; ++k) {
            zmax = z[k] > zmax ? z[k] : zmax;
        }
        for (Py_ssize_t k = 0; k < K; ++k) {
            z[k] -= zmax;
        }
        if (c) {
            zc[r] = z[c[r]];
        }
    }
    for (Py_ssize_t e = 0; e < R * K; e += 4) {
        fo_v4d x = fo_exp_nonpositive(FO_LOAD_F64(Z + e));
        __builtin_memcpy(Z + e, &x, sizeof x);
    }
    for (int r = 0; r < R; ++r) {
        double *z = Z + r * K, s = 0.0, inv;
        for (Py_ssize_t k = 0; k < K; ++k) {
            s += z[k];
        }
        if (c) {
            loss += sw[r] * (log(s) - zc[r]);
        }
        inv = 1.0 / s;
        for (Py_ssize_t k = 0; k < K; ++k) {
            z[k] *= inv;
        }
    }
    return loss;
}

/* <p, u> over K >= 4 entries: four partial sums (one vector), then the classes past the
 * last multiple of 4; a short dependency chain, where one running sum would add K times
 * in sequence. */
FO_TINLINE double fo_mn_dot(const double *FO_RESTRICT p, const double *FO_RESTRICT u,
                            Py_ssize_t K)
{
    fo_v4d acc = FO_LOAD_F64(p) * FO_LOAD_F64(u);
    Py_ssize_t k = 4;
    double s;
    for (; k + 4 <= K; k += 4) {
        acc += FO_LOAD_F64(p + k) * FO_LOAD_F64(u + k);
    }
    s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (; k < K; ++k) {
        s += p[k] * u[k];
    }
    return s;
}

/*
 * One tile of R rows starting at row i of the chunk: mode as in multinomial.pyx. Z and U
 * are tiles of scratch; the loss of the tile is returned (LOSS* modes).
 */
#define FO_MN_DEFINE_TILE(SUF, T)                                                          \
    FO_TINLINE double fo_mn_tile_##SUF(                                                   \
        int mode, const T *a, Py_ssize_t n, const long long *y, const double *sw,         \
        const double *w, const double *v, const double *bw, const double *bv,             \
        double *proba, Py_ssize_t K, Py_ssize_t Kg, int has_b, const int R, double *G,    \
        double *Z, double *U)                                                             \
    {                                                                                     \
        double loss = 0.0;                                                                \
        const double *p = Z;                                                              \
        if (mode != FO_MN_HVP_PROBA) {                                                    \
            fo_mn_logits_tile_##SUF(a, n, w, bw, K, R, Z);                                \
            loss = fo_mn_softmax_tile(Z, K, R, mode == FO_MN_HVP ? NULL : y, sw);         \
        }                                                                                 \
        if (mode == FO_MN_LOSS) {                                                         \
            return loss;                                                                  \
        }                                                                                 \
        if (mode < FO_MN_HVP) {                                                           \
            if (mode == FO_MN_LOSS_GRAD_PROBA) {                                          \
                memcpy(proba, Z, (size_t)(R * K) * sizeof(double));                       \
            }                                                                             \
            for (int r = 0; r < R; ++r) { /* sw_r (p_r - e_c) */                          \
                for (Py_ssize_t k = 0; k < K; ++k) {                                      \
                    Z[r * K + k] *= sw[r];                                                \
                }                                                                         \
                Z[r * K + y[r]] -= sw[r];                                                 \
            }                                                                             \
            fo_mn_scatter_tile_##SUF(a, n, Z, K, Kg, R, has_b, G);                        \
            return loss;                                                                  \
        }                                                                                 \
        if (mode == FO_MN_HVP_PROBA) {                                                    \
            p = proba;                                                                    \
        }                                                                                 \
        fo_mn_logits_tile_##SUF(a, n, v, bv, K, R, U);                                    \
        for (int r = 0; r < R; ++r) { /* sw_r (p o u - p <p, u>) */                       \
            const double *pr = p + r * K;                                                 \
            double *u = U + r * K, pu = fo_mn_dot(pr, u, K);                              \
            for (Py_ssize_t k = 0; k < K; ++k) {                                          \
                u[k] = sw[r] * pr[k] * (u[k] - pu);                                       \
            }                                                                             \
        }                                                                                 \
        fo_mn_scatter_tile_##SUF(a, n, U, K, Kg, R, has_b, G);                            \
        return loss;                                                                      \
    }

/* One tile of R (1 to 4, known at run time) rows: the tile above with R a constant. */
#define FO_MN_DEFINE_TILE_R(SUF, T)                                                        \
    FO_MN_DEFINE_FWD(SUF, T)                                                              \
    FO_MN_DEFINE_BWD(SUF, T)                                                              \
    FO_MN_DEFINE_SWEEPS(SUF, T)                                                           \
    FO_MN_DEFINE_TILE(SUF, T)                                                             \
    FO_TINLINE double fo_mn_tile_r_##SUF(                                                 \
        int mode, const T *a, Py_ssize_t n, const long long *y, const double *sw,         \
        const double *w, const double *v, const double *bw, const double *bv,             \
        double *proba, Py_ssize_t K, Py_ssize_t Kg, int has_b, Py_ssize_t R, double *G,   \
        double *Z, double *U)                                                             \
    {                                                                                     \
        switch (R) {                                                                      \
        case 1: return fo_mn_tile_##SUF(mode, a, n, y, sw, w, v, bw, bv, proba, K, Kg,     \
                                        has_b, 1, G, Z, U);                             \
        case 2: return fo_mn_tile_##SUF(mode, a, n, y, sw, w, v, bw, bv, proba, K, Kg,     \
                                        has_b, 2, G, Z, U);                             \
        case 3: return fo_mn_tile_##SUF(mode, a, n, y, sw, w, v, bw, bv, proba, K, Kg,     \
                                        has_b, 3, G, Z, U);                             \
        default: return fo_mn_tile_##SUF(mode, a, n, y, sw, w, v, bw, bv, proba, K, Kg,   \
                                         has_b, 4, G, Z, U);                              \
        }                                                                                 \
    }

FO_MN_DEFINE_TILE_R(f64, double)
FO_MN_DEFINE_TILE_R(f32, float)

/* float32 rows up to this length are converted to float64 once per tile (a 32 kB stack
 * buffer) and run through the float64 tile: the tile reads each entry of X twice and
 * a converted vector broadcast is cheaper than a convert per read. */
#define FO_MN_STAGE_MAX_N 1024

/* Largest partial gradient, in doubles, a chunk keeps in rows padded to whole vectors. */
#define FO_MN_PAD_MAX 2048

/*
 * Rows lo .. hi of dense X (m x n, row-major) in tiles of four from lo; the partial
 * gradient G (p x K) is updated (not in LOSS mode), the partial loss returned. `buf`
 * holds FO_MN_TILE_SCRATCH(K) doubles. STAGE: convert each tile to float64 first.
 *
 * When 4 does not divide K, the gradient is small enough and the padding adds no strip of
 * 12 classes (a strip is one more sweep over the tile's features: with K = 14 that cost
 * more than the two classes one at a time), the chunk accumulates it in rows padded to
 * Kp = 4 ceil(K / 4) (on the stack): the tiles then update whole vectors of G only, no
 * class at a time, and the padding lanes, which receive the next row's
 * residuals (or the tile's zero padding), are dropped when the chunk adds its rows to G.
 * Every kept entry sums the same terms in the same order as without padding.
 */
#define FO_MN_DEFINE_CHUNK(SUF, T, STAGE)                                                  \
    FO_ROW double fo_mn_dense_chunk_##SUF(                                                \
        int mode, const T *X, Py_ssize_t n, const long long *y, const double *sw,         \
        const double *w, const double *v, double *proba, Py_ssize_t K, int has_b,         \
        Py_ssize_t lo, Py_ssize_t hi, double *G, double *buf)                             \
    {                                                                                     \
        double *Z = buf, *U = buf + 4 * K + 4, loss = 0.0;                                \
        const double *bw = has_b ? w + n * K : NULL, *bv = has_b ? v + n * K : NULL;      \
        double staged[STAGE ? 4 * FO_MN_STAGE_MAX_N : 1];                                 \
        const Py_ssize_t Kp = (K + 3) & ~(Py_ssize_t)3, n1 = n + (has_b ? 1 : 0);         \
        double gpad[FO_MN_PAD_MAX];                                                       \
        double *Gc = G;                                                                   \
        Py_ssize_t Kg = K;                                                                \
        if (mode != FO_MN_LOSS && Kp != K && n1 * Kp <= FO_MN_PAD_MAX                     \
            && (Kp + 11) / 12 == (K - K % 4 + 11) / 12) {                                 \
            Gc = gpad;                                                                    \
            Kg = Kp;                                                                      \
            memset(gpad, 0, (size_t)(n1 * Kp) * sizeof(double));                          \
        }                                                                                 \
        memset(buf, 0, (size_t)FO_MN_TILE_SCRATCH(K) * sizeof(double));                   \
        for (Py_ssize_t i = lo; i < hi; i += 4) {                                         \
            const Py_ssize_t R = hi - i < 4 ? hi - i : 4;                                 \
            const T *a = X + i * n;                                                       \
            const long long *yi = y ? y + i : NULL;                                       \
            double *pi = proba ? proba + i * K : NULL;                                    \
            if (STAGE && n <= FO_MN_STAGE_MAX_N) {                                        \
                for (Py_ssize_t e = 0; e < R * n; ++e) {                                  \
                    staged[e] = (double)a[e];                                             \
                }                                                                         \
                loss += fo_mn_tile_r_f64(mode, staged, n, yi, sw + i, w, v, bw, bv, pi,   \
                                         K, Kg, has_b, R, Gc, Z, U);                      \
            } else {                                                                      \
                loss += fo_mn_tile_r_##SUF(mode, a, n, yi, sw + i, w, v, bw, bv, pi, K,   \
                                           Kg, has_b, R, Gc, Z, U);                       \
            }                                                                             \
        }                                                                                 \
        if (Gc != G) {                                                                    \
            for (Py_ssize_t j = 0; j < n1; ++j) {                                         \
                for (Py_ssize_t k = 0; k < K; ++k) {                                      \
                    G[j * K + k] += gpad[j * Kp + k];                                     \
                }                                                                         \
            }                                                                             \
        }                                                                                 \
        return loss;                                                                      \
    }

FO_MN_DEFINE_CHUNK(f64, double, 0)
FO_MN_DEFINE_CHUNK(f32, float, 1)

/* The softmax of R <= 4 rows of logits, as in a dense tile: for the CSR chunks, whose
 * logits come row by row (a sparse row shares no loads of W with the next one). */
FO_ROW double fo_mn_softmax_rows(double *Z, Py_ssize_t K, int R, const long long *c,
                                 const double *sw)
{
    return fo_mn_softmax_tile(Z, K, R, c, sw);
}

#else /* no vector extensions: the pyx takes the row-at-a-time kernel */

#define FO_MN_TILES 0
#define FO_MN_TILE_SCRATCH(K) 0
#define FO_MN_DEFINE_STUB(SUF, T)                                                          \
    static double fo_mn_dense_chunk_##SUF(                                                \
        int mode, const T *X, Py_ssize_t n, const long long *y, const double *sw,         \
        const double *w, const double *v, double *proba, Py_ssize_t K, int has_b,         \
        Py_ssize_t lo, Py_ssize_t hi, double *G, double *buf)                             \
    {                                                                                     \
        return 0.0;                                                                       \
    }
FO_MN_DEFINE_STUB(f64, double)
FO_MN_DEFINE_STUB(f32, float)
static double fo_mn_softmax_rows(double *Z, Py_ssize_t K, int R, const long long *c,
                                 const double *sw)
{
    return 0.0;
}

#endif /* __GNUC__ */

#endif /* FASTOPT_MN_TILE_H */
