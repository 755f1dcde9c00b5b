/*
 * The Hessian term of one sparse row, for the batched Newton solves (batch.pyx):
 * H += d a a^T over the row's pairs of nonzeros, into the lower triangle of the
 * column-major p x p matrix H (entry (l, j), l >= j, at H[j p + l]).
 *
 * Why C: `restrict` tells the compiler that H does not alias the row's values and
 * indices, so they stay in registers while the scattered adds to H go out; written in
 * Cython, every add to H forced a reload of the row.
 */
#ifndef FASTOPT_CSR_OUTER_H
#define FASTOPT_CSR_OUTER_H

#include <Python.h>

/* Add d a a^T for the row a with `nnz` nonzeros `val` at sorted, distinct columns `idx`. */
static inline void fo_csr_row_outer(double *restrict H, Py_ssize_t p,
                                    const long long *restrict idx,
                                    const double *restrict val, Py_ssize_t nnz, double d)
{
    for (Py_ssize_t q1 = 0; q1 < nnz; ++q1) {
        const double v = d * val[q1];
        double *restrict column = H + idx[q1] * p;
        for (Py_ssize_t q2 = q1; q2 < nnz; ++q2)
            column[idx[q2]] += v * val[q2];
    }
}

#endif
