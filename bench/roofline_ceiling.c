/*
 * How close can one pass of a logistic loss+gradient get to a pure read of X on this
 * machine?  A stand-alone AVX2 experiment (not part of the package), quoted in
 * bench/README.md (the roofline study). Dense X: m = 10^6 rows of n = 100 doubles, two threads.
 *
 * Build and run (gcc, x86-64 with AVX2 and FMA):
 *
 *     gcc -O3 -march=x86-64-v3 -fopenmp bench/roofline_ceiling.c -o /tmp/ceiling -lm
 *     OMP_NUM_THREADS=2 /tmp/ceiling
 *
 * Prints the median time of a pure threaded read of X and, for each variant, its median
 * time and "frac" = read time / kernel time (the roofline fraction of
 * bench/report_kernels.py, but against this file's read, which can be slower than the
 * report's numba probe: on the Intel machine of 2026-12-06 it once ran at about 29 GB/s
 * where the probe read 34-36 GB/s, so a time here was a lower fraction there). X sits on
 * huge pages, as NumPy's large arrays do. Variants:
 *
 *   0 row by row: dot of row i, its coefficient, axpy of row i;
 *   1 blocks of 16: the 16 dots, the 16 coefficients, then the 16 axpys;
 *   2 fused: one j loop does the axpy of row i and the dot of row i + 1;
 *
 * each with software prefetch of the row `pf` rows ahead (0: none), and coefficients
 * either trivial (mode 0: least squares) or logistic with libm exp and log1p (mode 1).
 *
 * Then the same fused logistic pass (variant 2) on float32 X, against a pure read of the
 * float32 bytes, with its speedup over the float64 pass with the same prefetch distance
 * in bytes ("f64/f32", target 1.7):
 *
 *   f32 a  float64 accumulation (the kernels' rule), each element widened twice: once for
 *          the dot of row i + 1 and once for the axpy of row i (what the kernels do);
 *   f32 b  float64 accumulation, each row widened once: the dot keeps the widened row in
 *          L1 for its axpy;
 *   f32 c  float32 products and float32 partial sums, the gradient flushed into float64
 *          every 16 rows: what giving up float64 accumulation would allow.
 */
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define N 100
#define BLOCK 16

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double hsum(__m256d v)
{
    double b[4];
    _mm256_storeu_pd(b, v);
    return (b[0] + b[2]) + (b[1] + b[3]);
}

/* the pure read: sum of the int64 words of `nbytes` bytes at X, each thread one
 * contiguous half (integer adds, like the numba probe: any bits, no float assists) */
static long long read_all(const void *X, size_t nbytes)
{
    long long total = 0;
#pragma omp parallel reduction(+ : total)
    {
        int T = omp_get_num_threads(), c = omp_get_thread_num();
        size_t words = nbytes / 8;
        const long long *p = (const long long *)X + words * c / T;
        const long long *q = (const long long *)X + words * (c + 1) / T;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        for (; p + 16 <= q; p += 16) {
            a0 = _mm256_add_epi64(a0, _mm256_loadu_si256((const __m256i *)p));
            a1 = _mm256_add_epi64(a1, _mm256_loadu_si256((const __m256i *)(p + 4)));
            a2 = _mm256_add_epi64(a2, _mm256_loadu_si256((const __m256i *)(p + 8)));
            a3 = _mm256_add_epi64(a3, _mm256_loadu_si256((const __m256i *)(p + 12)));
        }
        long long b[4];
        _mm256_storeu_si256((__m256i *)b,
                            _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
        total += b[0] + b[1] + b[2] + b[3];
    }
    return total;
}

static inline double dot(const double *x, const double *w)
{
    __m256d a0 = _mm256_setzero_pd(), a1 = a0;
    int j = 0;
    for (; j + 8 <= N; j += 8) {
        a0 = _mm256_fmadd_pd(_mm256_loadu_pd(x + j), _mm256_loadu_pd(w + j), a0);
        a1 = _mm256_fmadd_pd(_mm256_loadu_pd(x + j + 4), _mm256_loadu_pd(w + j + 4), a1);
    }
    double s = hsum(_mm256_add_pd(a0, a1));
    for (; j < N; j++) s += x[j] * w[j];
    return s;
}

static inline void axpy(double d, const double *x, double *g)
{
    __m256d dv = _mm256_set1_pd(d);
    int j = 0;
    for (; j + 4 <= N; j += 4)
        _mm256_storeu_pd(g + j, _mm256_fmadd_pd(dv, _mm256_loadu_pd(x + j),
                                                _mm256_loadu_pd(g + j)));
    for (; j < N; j++) g[j] += d * x[j];
}

/* g[j] += d x[j]; returns <xn, w> */
static inline double axpy_dot(double d, const double *x, double *g, const double *xn,
                              const double *w)
{
    __m256d dv = _mm256_set1_pd(d), a0 = _mm256_setzero_pd(), a1 = a0;
    int j = 0;
    for (; j + 8 <= N; j += 8) {
        _mm256_storeu_pd(g + j, _mm256_fmadd_pd(dv, _mm256_loadu_pd(x + j),
                                                _mm256_loadu_pd(g + j)));
        _mm256_storeu_pd(g + j + 4, _mm256_fmadd_pd(dv, _mm256_loadu_pd(x + j + 4),
                                                    _mm256_loadu_pd(g + j + 4)));
        a0 = _mm256_fmadd_pd(_mm256_loadu_pd(xn + j), _mm256_loadu_pd(w + j), a0);
        a1 = _mm256_fmadd_pd(_mm256_loadu_pd(xn + j + 4), _mm256_loadu_pd(w + j + 4), a1);
    }
    double s = hsum(_mm256_add_pd(a0, a1));
    for (; j < N; j++) {
        g[j] += d * x[j];
        s += xn[j] * w[j];
    }
    return s;
}

/* prefetch the `nbytes` bytes of a row at x, one hint per 64-byte line */
static inline void prefetch_row(const void *x, int nbytes)
{
    for (int k = 0; k < nbytes; k += 64) _mm_prefetch((const char *)x + k, _MM_HINT_T0);
}

static inline __m256d widen_lo(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
static inline __m256d widen_hi(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }

/* f32 a: g[j] += d x[j] and returns <xn, w>, float64 arithmetic, x and xn widened here */
static inline double axpy_dot32(double d, const float *x, double *g, const float *xn,
                                const double *w)
{
    __m256d dv = _mm256_set1_pd(d), a0 = _mm256_setzero_pd(), a1 = a0;
    int j = 0;
    for (; j + 8 <= N; j += 8) {
        __m256 xv = _mm256_loadu_ps(x + j), nv = _mm256_loadu_ps(xn + j);
        _mm256_storeu_pd(g + j, _mm256_fmadd_pd(dv, widen_lo(xv), _mm256_loadu_pd(g + j)));
        _mm256_storeu_pd(g + j + 4,
                         _mm256_fmadd_pd(dv, widen_hi(xv), _mm256_loadu_pd(g + j + 4)));
        a0 = _mm256_fmadd_pd(widen_lo(nv), _mm256_loadu_pd(w + j), a0);
        a1 = _mm256_fmadd_pd(widen_hi(nv), _mm256_loadu_pd(w + j + 4), a1);
    }
    double s = hsum(_mm256_add_pd(a0, a1));
    for (; j < N; j++) {
        g[j] += d * x[j];
        s += (double)xn[j] * w[j];
    }
    return s;
}

/* f32 b: as axpy_dot32, but row x comes already widened (xb) and row xn is widened into nb */
static inline double axpy_dot32_once(double d, const double *xb, double *g, const float *xn,
                                     double *nb, const double *w)
{
    __m256d dv = _mm256_set1_pd(d), a0 = _mm256_setzero_pd(), a1 = a0;
    int j = 0;
    for (; j + 8 <= N; j += 8) {
        __m256 nv = _mm256_loadu_ps(xn + j);
        __m256d lo = widen_lo(nv), hi = widen_hi(nv);
        _mm256_storeu_pd(g + j, _mm256_fmadd_pd(dv, _mm256_loadu_pd(xb + j),
                                                _mm256_loadu_pd(g + j)));
        _mm256_storeu_pd(g + j + 4, _mm256_fmadd_pd(dv, _mm256_loadu_pd(xb + j + 4),
                                                    _mm256_loadu_pd(g + j + 4)));
        _mm256_storeu_pd(nb + j, lo);
        _mm256_storeu_pd(nb + j + 4, hi);
        a0 = _mm256_fmadd_pd(lo, _mm256_loadu_pd(w + j), a0);
        a1 = _mm256_fmadd_pd(hi, _mm256_loadu_pd(w + j + 4), a1);
    }
    double s = hsum(_mm256_add_pd(a0, a1));
    for (; j < N; j++) {
        g[j] += d * xb[j];
        nb[j] = xn[j];
        s += nb[j] * w[j];
    }
    return s;
}

/* f32 c: float32 products and partial sums; the dot's 8 lanes are added in float64 */
static inline double axpy_dot32_single(float d, const float *x, float *g, const float *xn,
                                       const float *w)
{
    __m256 dv = _mm256_set1_ps(d), a0 = _mm256_setzero_ps();
    int j = 0;
    for (; j + 8 <= N; j += 8) {
        _mm256_storeu_ps(g + j, _mm256_fmadd_ps(dv, _mm256_loadu_ps(x + j),
                                                _mm256_loadu_ps(g + j)));
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(xn + j), _mm256_loadu_ps(w + j), a0);
    }
    double s = hsum(_mm256_add_pd(widen_lo(a0), widen_hi(a0)));
    for (; j < N; j++) {
        g[j] += d * x[j];
        s += (double)xn[j] * w[j];
    }
    return s;
}

/* the axpy coefficient of a row with margin z, label y; adds the row's loss to *loss */
static inline double coef(double z, double y, int mode, double *loss)
{
    if (mode == 0) {
        *loss += 0.5 * (z - y) * (z - y);
        return z - y;
    }
    double t = -y * z, e = exp(-fabs(t));
    *loss += (t > 0 ? t : 0) + log1p(e);
    return -y * (t > 0 ? 1 / (1 + e) : e / (1 + e));
}

/* grad = sum of the T per-thread partial gradients G[c] in thread order; frees G */
static void reduce_partials(double *G, int T, double *grad)
{
    for (int j = 0; j < N; j++) {
        grad[j] = 0.0;
        for (int c = 0; c < T; c++) grad[j] += G[(size_t)c * N + j];
    }
    free(G);
}

static double pass(const double *X, const double *y, const double *w, long m, int variant,
                   int mode, int pf, double *grad)
{
    int T = omp_get_max_threads();
    double total = 0.0, *G = calloc((size_t)T * N, sizeof(double));
#pragma omp parallel reduction(+ : total)
    {
        int c = omp_get_thread_num();
        long s = m * c / T, e = m * (c + 1) / T;
        double g[N] = {0}, loss = 0.0, zb[BLOCK];
        if (variant == 0) {
            for (long i = s; i < e; i++) {
                if (pf) prefetch_row(X + (i + pf) * N, N * 8);
                axpy(coef(dot(X + i * N, w), y[i], mode, &loss), X + i * N, g);
            }
        } else if (variant == 1) {
            for (long i = s; i < e; i += BLOCK) {
                long nb = e - i < BLOCK ? e - i : BLOCK;
                for (long r = 0; r < nb; r++) {
                    if (pf) prefetch_row(X + (i + r + pf) * N, N * 8);
                    zb[r] = dot(X + (i + r) * N, w);
                }
                for (long r = 0; r < nb; r++) zb[r] = coef(zb[r], y[i + r], mode, &loss);
                for (long r = 0; r < nb; r++) axpy(zb[r], X + (i + r) * N, g);
            }
        } else if (e > s) {
            double d = coef(dot(X + s * N, w), y[s], mode, &loss);
            for (long i = s; i + 1 < e; i++) {
                if (pf) prefetch_row(X + (i + pf) * N, N * 8);
                double z = axpy_dot(d, X + i * N, g, X + (i + 1) * N, w);
                d = coef(z, y[i + 1], mode, &loss);
            }
            axpy(d, X + (e - 1) * N, g);
        }
        memcpy(G + (size_t)c * N, g, sizeof g);
        total += loss;
    }
    reduce_partials(G, T, grad);
    return total;
}

/* the fused logistic pass (variant 2) on float32 X; kind 0, 1, 2: f32 a, b, c above */
static double pass32(const float *X, const double *y, const double *w, long m, int kind,
                     int pf, double *grad)
{
    int T = omp_get_max_threads();
    double total = 0.0, *G = calloc((size_t)T * N, sizeof(double));
#pragma omp parallel reduction(+ : total)
    {
        int c = omp_get_thread_num();
        long s = m * c / T, e = m * (c + 1) / T;
        double g[N] = {0}, loss = 0.0, wide[2][N], d = 0.0;
        float g32[N] = {0}, w32[N];
        for (int j = 0; j < N; j++) {
            w32[j] = (float)w[j];
            wide[s & 1][j] = X[s * N + j];
        }
        if (e > s) d = coef(dot(wide[s & 1], w), y[s], 1, &loss);
        for (long i = s; i + 1 < e; i++) {
            const float *x = X + i * N, *xn = x + N;
            double z;
            prefetch_row(X + (i + pf) * N, N * 4);
            if (kind == 0) {
                z = axpy_dot32(d, x, g, xn, w);
            } else if (kind == 1) {
                z = axpy_dot32_once(d, wide[i & 1], g, xn, wide[(i + 1) & 1], w);
            } else {
                z = axpy_dot32_single((float)d, x, g32, xn, w32);
                if ((i & 15) == 15) {
                    for (int j = 0; j < N; j++) {
                        g[j] += g32[j];
                        g32[j] = 0.0f;
                    }
                }
            }
            d = coef(z, y[i + 1], 1, &loss);
        }
        if (e > s) {
            for (int j = 0; j < N; j++) g[j] += g32[j] + d * X[(e - 1) * N + j];
        }
        memcpy(G + (size_t)c * N, g, sizeof g);
        total += loss;
    }
    reduce_partials(G, T, grad);
    return total;
}

/* `bytes` of memory on 2 MB transparent huge pages, as NumPy asks for its large arrays
 * (with 4 kB pages the TLB misses cut the read bandwidth here by about a quarter) */
static void *huge_alloc(size_t bytes)
{
    const size_t huge = (size_t)2 << 20;
    void *p = aligned_alloc(huge, (bytes + huge - 1) / huge * huge);
    madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    enum { REPEATS = 15, NV = 8, NV32 = 6 };
    const long m = 1000000;
    /* room for prefetches up to 64 rows past the end */
    double *X = huge_alloc((size_t)(m + 64) * N * sizeof(double));
    float *X32 = huge_alloc((size_t)(m + 64) * N * sizeof(float));
    double *y = malloc(m * sizeof(double)), w[N], grad[N];
#pragma omp parallel for
    for (long i = 0; i < (m + 64) * N; i++) {
        X[i] = ((i * 2654435761u) % 1000) / 1000.0 - 0.5;
        X32[i] = (float)X[i];
    }
    for (long i = 0; i < m; i++) y[i] = (i % 3) ? 1.0 : -1.0;
    for (int j = 0; j < N; j++) w[j] = 0.01 * (j % 7);
    /* {variant, mode, pf} */
    const int runs[NV][3] = {{0, 0, 0}, {0, 0, 8}, {0, 1, 0}, {0, 1, 8},
                             {1, 1, 0}, {1, 1, 8}, {2, 1, 0}, {2, 1, 8}};
    const char *names32[3] = {"f32 a (float64 accumulation, widened twice)",
                              "f32 b (float64 accumulation, widened once)",
                              "f32 c (float32 partial sums)"};
    /* {kind, pf}: rows of float32 are half as long, so pf 16 prefetches as many bytes
     * ahead as pf 8 does for float64 */
    const int runs32[NV32][2] = {{0, 0}, {1, 0}, {2, 0}, {0, 16}, {1, 16}, {2, 16}};
    double tread[REPEATS], tread32[REPEATS], tkern[NV][REPEATS], tk32[NV32][REPEATS];
    for (int r = 0; r < REPEATS; r++) {  /* alternate: the bandwidth here drifts */
        double t = now();
        volatile long long sink = read_all(X, (size_t)m * N * sizeof(double));
        tread[r] = now() - t;
        for (int v = 0; v < NV; v++) {
            t = now();
            pass(X, y, w, m, runs[v][0], runs[v][1], runs[v][2], grad);
            tkern[v][r] = now() - t;
        }
        t = now();
        sink = read_all(X32, (size_t)m * N * sizeof(float));
        (void)sink;
        tread32[r] = now() - t;
        for (int v = 0; v < NV32; v++) {
            t = now();
            pass32(X32, y, w, m, runs32[v][0], runs32[v][1], grad);
            tk32[v][r] = now() - t;
        }
    }
    qsort(tread, REPEATS, sizeof(double), by_value);
    double read = tread[REPEATS / 2];
    printf("pure read: %.2f ms (%.1f GB/s)\n", read * 1e3, m * N * 8.0 / read / 1e9);
    for (int v = 0; v < NV; v++) {
        qsort(tkern[v], REPEATS, sizeof(double), by_value);
        double k = tkern[v][REPEATS / 2];
        printf("variant %d mode %d pf %2d: %6.2f ms  frac %.2f\n", runs[v][0], runs[v][1],
               runs[v][2], k * 1e3, read / k);
    }
    qsort(tread32, REPEATS, sizeof(double), by_value);
    double read32 = tread32[REPEATS / 2];
    printf("pure read of float32 X: %.2f ms (%.1f GB/s)\n", read32 * 1e3,
           m * N * 4.0 / read32 / 1e9);
    for (int v = 0; v < NV32; v++) {
        qsort(tk32[v], REPEATS, sizeof(double), by_value);
        double k = tk32[v][REPEATS / 2];
        /* against the float64 fused pass with the same prefetch distance in bytes */
        double fused64 = tkern[runs32[v][1] ? NV - 1 : NV - 2][REPEATS / 2];
        printf("%-45s pf %2d: %6.2f ms  frac %.2f  f64/f32 %.2f\n", names32[runs32[v][0]],
               runs32[v][1], k * 1e3, read32 / k, fused64 / k);
    }
    free(X);
    free(X32);
    free(y);
    return 0;
}
