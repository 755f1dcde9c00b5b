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
far below what a thread team pays for itself. The solver calls this once per iteration,
so on small problems the call itself is the cost: the ``def`` takes ndarrays and reads
their data pointers (no typed-memoryview acquisition, no fused-type dispatch); the O(1)
dtype, contiguity and shape checks are C-level tests that keep a wrong array from being
read through a raw pointer.
"""

cimport numpy as cnp

cnp.import_array()

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


cdef void _two_loop(const double* g, const double* S, const double* Y, const double* rho,
                    Py_ssize_t k, Py_ssize_t p, Py_ssize_t start, Py_ssize_t count,
                    double gamma, double* alpha, double* d) noexcept nogil:
    cdef Py_ssize_t i, j, t
    cdef const double* row
    cdef double acc, a, c
    for t in range(p):
        d[t] = g[t]
    for i in range(count - 1, -1, -1):
        j = (start + i) % k
        row = S + j * p
        acc = 0.0
        for t in range(p):
            acc += row[t] * d[t]
        a = rho[j] * acc
        alpha[j] = a
        row = Y + j * p
        for t in range(p):
            d[t] -= a * row[t]
    for t in range(p):
        d[t] *= gamma
    for i in range(count):
        j = (start + i) % k
        row = Y + j * p
        acc = 0.0
        for t in range(p):
            acc += row[t] * d[t]
        c = alpha[j] - rho[j] * acc
        row = S + j * p
        for t in range(p):
            d[t] += c * row[t]
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
