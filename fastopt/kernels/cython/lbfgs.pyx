# cython: language_level=3
"""L-BFGS two-loop recursion, Cython twin of ``fastopt.kernels.numba.lbfgs``.

The memory holds the last ``count`` pairs (s_j, y_j) in ring buffers ``S`` and ``Y`` of
shape (k, p): the oldest pair is row ``start``, the newest row
``(start + count - 1) % k``; ``rho[j] = 1 / <s_j, y_j>``. With q = g:

.. math::

    \\alpha_j = \\rho_j \\langle s_j, q \\rangle, \\quad q \\leftarrow q - \\alpha_j y_j
    \\quad (\\text{newest to oldest}), \\qquad r = \\gamma q,

    \\beta_j = \\rho_j \\langle y_j, r \\rangle, \\quad r \\leftarrow r + (\\alpha_j -
    \\beta_j) s_j \\quad (\\text{oldest to newest}), \\qquad d = -r.

Serial on purpose, as the numba twin: the work is O(k p) with p at most a few thousand,
far below what a thread team pays for itself. The dot products and axpys over the rows
of S and Y are vectorized (``_simd.h``, AVX2 + FMA clone where the CPU has it; numba
compiles its twin for the host CPU too; inline loops for p < 8), and each axpy shares its
sweep over d with the next dot product (``_lbfgs.h``). The solver calls this once per iteration,
so on small problems the call itself is the cost: the ``def`` takes ndarrays and reads
their data pointers (no typed-memoryview acquisition, no fused-type dispatch); the O(1)
dtype, contiguity and shape checks are C-level tests that keep a wrong array from being
read through a raw pointer.
"""

cimport numpy as cnp

cnp.import_array()

from ._short_row cimport SHORT_ROW
from ._short_row cimport row_axpy as _axpy
from ._short_row cimport row_dot as _dot

cdef extern from "_lbfgs.h" nogil:
    double fo_axpy_then_dot(double alpha, const double* a, double* d, const double* b,
                            Py_ssize_t n)


__all__ = ["lbfgs_direction"]


cdef inline bint _is_f64_vector(cnp.ndarray a, Py_ssize_t n) noexcept:
    # A C-contiguous native float64 vector of length n ((k, p) buffers: _is_f64_matrix).
    return (cnp.PyArray_TYPE(a) == cnp.NPY_DOUBLE and cnp.PyArray_NDIM(a) == 1
            and cnp.PyArray_DIM(a, 0) == n and cnp.PyArray_IS_C_CONTIGUOUS(a)
            and cnp.PyArray_ISNOTSWAPPED(a))


cdef inline bint _is_f64_matrix(cnp.ndarray a, Py_ssize_t k, Py_ssize_t p) noexcept:
    return (cnp.PyArray_TYPE(a) == cnp.NPY_DOUBLE and cnp.PyArray_NDIM(a) == 2
            and cnp.PyArray_DIM(a, 0) == k and cnp.PyArray_DIM(a, 1) == p
            and cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_ISNOTSWAPPED(a))


cdef inline double _axpy_dot(double alpha, const double* a, double* d, const double* b,
                            Py_ssize_t p) noexcept nogil:
    """d += alpha a, then <b, d> of the updated d, in one sweep (_lbfgs.h)."""
    cdef Py_ssize_t t
    cdef double acc = 0.0
    if p >= SHORT_ROW:
        return fo_axpy_then_dot(alpha, a, d, b, p)
    for t in range(p):
        d[t] += alpha * a[t]
        acc += b[t] * d[t]
    return acc


cdef void _two_loop(const double* g, const double* S, const double* Y, const double* rho,
                    Py_ssize_t k, Py_ssize_t p, Py_ssize_t start, Py_ssize_t count,
                    double gamma, double* alpha, double* d) noexcept nogil:
    # Each step's axpy into d shares its sweep with the next step's dot product (the
    # pairs are visited in a fixed order, so the next row is known in advance).
    cdef Py_ssize_t i, j, t
    cdef double a, acc
    for t in range(p):
        d[t] = g[t]
    if count > 0:
        # First loop, newest to oldest: alpha_j = rho_j <s_j, q>, q -= alpha_j y_j.
        acc = _dot(S + ((start + count - 1) % k) * p, d, p)
        for i in range(count - 1, -1, -1):
            j = (start + i) % k
            a = rho[j] * acc
            alpha[j] = a
            if i > 0:
                acc = _axpy_dot(-a, Y + j * p, d, S + ((start + i - 1) % k) * p, p)
            else:
                _axpy(-a, Y + j * p, d, p)
    for t in range(p):
        d[t] *= gamma
    if count > 0:
        # Second loop, oldest to newest: r += (alpha_j - rho_j <y_j, r>) s_j.
        acc = _dot(Y + (start % k) * p, d, p)
        for i in range(count):
            j = (start + i) % k
            a = alpha[j] - rho[j] * acc
            if i < count - 1:
                acc = _axpy_dot(a, S + j * p, d, Y + ((start + i + 1) % k) * p, p)
            else:
                _axpy(a, S + j * p, d, p)
    for t in range(p):
        d[t] = -d[t]


def lbfgs_direction(cnp.ndarray g not None, cnp.ndarray S not None, cnp.ndarray Y not None,
                    cnp.ndarray rho not None, Py_ssize_t start, Py_ssize_t count,
                    double gamma, cnp.ndarray alpha_work not None,
                    cnp.ndarray d_out not None):
    """Quasi-Newton direction d = -H_k g by the two-loop recursion.

    Same arguments and result as :func:`fastopt.kernels.reference.lbfgs.lbfgs_direction`.

    Parameters
    ----------
    g : ndarray of shape (p,), float64
        Current gradient.
    S, Y : ndarray of shape (k, p), float64, C-contiguous
        Ring buffers of steps and gradient differences.
    rho : ndarray of shape (k,), float64
        1 / <s_j, y_j> per stored pair.
    start, count : int
        Row of the oldest pair (taken modulo k, >= 0) and number of stored pairs
        (0 <= count <= k).
    gamma : float
        Initial inverse-Hessian scale H_0 = gamma I.
    alpha_work : ndarray of shape (k,), float64
        Scratch for the first-loop coefficients (overwritten).
    d_out : ndarray of shape (p,), float64
        Result, overwritten with -H_k g.

    Raises
    ------
    ValueError
        If an array is not C-contiguous float64 of the shape above, or ``count``/
        ``start`` lie outside the ring buffer (the loop reads through raw pointers).
    """
    cdef Py_ssize_t p = cnp.PyArray_DIM(g, 0) if cnp.PyArray_NDIM(g) == 1 else -1
    cdef Py_ssize_t k = cnp.PyArray_DIM(S, 0) if cnp.PyArray_NDIM(S) == 2 else -1
    if not (p >= 0 and k >= 0 and _is_f64_vector(g, p) and _is_f64_matrix(S, k, p)
            and _is_f64_matrix(Y, k, p) and _is_f64_vector(rho, k)
            and _is_f64_vector(alpha_work, k) and _is_f64_vector(d_out, p)):
        raise ValueError("lbfgs_direction: g, d_out (p,), S, Y (k, p), rho, alpha_work "
                         "(k,) must be C-contiguous float64 arrays")
    if not (0 <= count <= k and start >= 0):
        raise ValueError(f"lbfgs_direction: need 0 <= count <= k and start >= 0; got "
                         f"start={start}, count={count}, k={k}")
    with nogil:
        _two_loop(<const double*>cnp.PyArray_DATA(g), <const double*>cnp.PyArray_DATA(S),
                  <const double*>cnp.PyArray_DATA(Y), <const double*>cnp.PyArray_DATA(rho),
                  k, p, start, count, gamma, <double*>cnp.PyArray_DATA(alpha_work),
                  <double*>cnp.PyArray_DATA(d_out))
