/*
 * How close can one pass of a logistic loss+gradient get to a pure read of X on this
 * machine?  A stand-alone AVX2 experiment (not part of the package), quoted in the
 * README's kernel section. Dense X: m = 10^6 rows of n = 100 doubles, two threads.
 *
 * Build and run (gcc, x86-64 with AVX2 and FMA):
 *
 *     gcc -O3 -march=x86-64-v3 -fopenmp bench/roofline_ceiling.c -o /tmp/ceiling -lm
 *     OMP_NUM_THREADS=2 /tmp/ceiling
 *
 * Prints the median time of a pure threaded read of X and, for each variant, its median
 * time and "frac" = read time / kernel time (the roofline fraction of
 * bench/report_kernels.py). Variants:
 *
 *   0 row by row: dot of row i, its coefficient, axpy of row i;
 *   1 blocks of 16: the 16 dots, the 16 coefficients, then the 16 axpys;
 *   2 fused: one j loop does the axpy of row i and the dot of row i + 1;
 *
 * each with software prefetch of the row `pf` rows ahead (0: none), and coefficients
 * either trivial (mode 0: least squares) or logistic with libm exp and log1p (mode 1).
 */
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* sum of all of X[0:m], each thread one contiguous half: the pure read */
static double read_all(const double *X, long m)
{
    double total = 0.0;
#pragma omp parallel reduction(+ : total)
    {
        int T = omp_get_num_threads(), c = omp_get_thread_num();
        const double *p = X + m * c / T * N, *q = X + m * (c + 1) / T * N;
        __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
        for (; p + 16 <= q; p += 16) {
            a0 = _mm256_add_pd(a0, _mm256_loadu_pd(p));
            a1 = _mm256_add_pd(a1, _mm256_loadu_pd(p + 4));
            a2 = _mm256_add_pd(a2, _mm256_loadu_pd(p + 8));
            a3 = _mm256_add_pd(a3, _mm256_loadu_pd(p + 12));
        }
        total += hsum(_mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)));
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

static inline void prefetch_row(const double *x)
{
    for (int k = 0; k < N * 8; k += 64) _mm_prefetch((const char *)x + k, _MM_HINT_T0);
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
                if (pf) prefetch_row(X + (i + pf) * N);
                axpy(coef(dot(X + i * N, w), y[i], mode, &loss), X + i * N, g);
            }
        } else if (variant == 1) {
            for (long i = s; i < e; i += BLOCK) {
                long nb = e - i < BLOCK ? e - i : BLOCK;
                for (long r = 0; r < nb; r++) {
                    if (pf) prefetch_row(X + (i + r + pf) * N);
                    zb[r] = dot(X + (i + r) * N, w);
                }
                for (long r = 0; r < nb; r++) zb[r] = coef(zb[r], y[i + r], mode, &loss);
                for (long r = 0; r < nb; r++) axpy(zb[r], X + (i + r) * N, g);
            }
        } else if (e > s) {
            double d = coef(dot(X + s * N, w), y[s], mode, &loss);
            for (long i = s; i + 1 < e; i++) {
                if (pf) prefetch_row(X + (i + pf) * N);
                double z = axpy_dot(d, X + i * N, g, X + (i + 1) * N, w);
                d = coef(z, y[i + 1], mode, &loss);
            }
            axpy(d, X + (e - 1) * N, g);
        }
        memcpy(G + (size_t)c * N, g, sizeof g);
        total += loss;
    }
    for (int j = 0; j < N; j++) {
        grad[j] = 0.0;
        for (int c = 0; c < T; c++) grad[j] += G[(size_t)c * N + j];
    }
    free(G);
    return total;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    enum { REPEATS = 15, NV = 8 };
    const long m = 1000000;
    /* room for prefetches up to 64 rows past the end */
    double *X = aligned_alloc(64, (size_t)(m + 64) * N * sizeof(double));
    double *y = malloc(m * sizeof(double)), w[N], grad[N];
#pragma omp parallel for
    for (long i = 0; i < (m + 64) * N; i++) X[i] = ((i * 2654435761u) % 1000) / 1000.0 - 0.5;
    for (long i = 0; i < m; i++) y[i] = (i % 3) ? 1.0 : -1.0;
    for (int j = 0; j < N; j++) w[j] = 0.01 * (j % 7);
    /* {variant, mode, pf} */
    const int runs[NV][3] = {{0, 0, 0}, {0, 0, 8}, {0, 1, 0}, {0, 1, 8},
                             {1, 1, 0}, {1, 1, 8}, {2, 1, 0}, {2, 1, 8}};
    double tread[REPEATS], tkern[NV][REPEATS];
    for (int r = 0; r < REPEATS; r++) {  /* alternate: the bandwidth here drifts */
        double t = now();
        volatile double sink = read_all(X, m);
        (void)sink;
        tread[r] = now() - t;
        for (int v = 0; v < NV; v++) {
            t = now();
            pass(X, y, w, m, runs[v][0], runs[v][1], runs[v][2], grad);
            tkern[v][r] = now() - t;
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
    free(X);
    free(y);
    return 0;
}
