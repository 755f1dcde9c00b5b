# cython: language_level=3
"""Softmax-ReLU regression kernels, Cython twin of ``fastopt.kernels.numba.softmax_relu``.

The math and shapes are documented in ``fastopt.kernels.reference.softmax_relu``: with
A (n, d), b, w (n,), x (d,),

.. math::

    z = A x, \\quad f = \\operatorname{softmax}(\\operatorname{ReLU}(z)), \\quad
    L(x) = \\tfrac12 \\|f - b\\|^2 + \\tfrac12 \\|W A x\\|^2,

    \\nabla L = A^T [s \\circ (f \\circ c - \\langle f, c \\rangle f) + w^2 \\circ z],
    \\qquad \\nabla^2 L = A^T (\\operatorname{diag}(h) + P C P^T) A.

Serial, as the numba twin: every kernel needs the global softmax sum before a row's
residual is known, so each makes two sweeps over A (A x, then A^T r) with O(n) work in
between, and the sizes of this problem do not pay for a thread team. The row sweeps use
the vectorized dot and axpy of ``_simd.h`` (AVX2 + FMA clone where the CPU has it);
float64 only (the objective stores A as float64); the softmax numerators use the
vectorized exp of ``_vecmath.h`` (``_softmax_relu.h``). The ``def`` wrappers take ndarrays and
read their data pointers (a per-evaluation cost of well under a microsecond); O(1)
C-level checks refuse an array of the wrong dtype, shape or layout with ``ValueError``.
Scratch (z, f and one more n-vector) is one ``malloc`` per call.
"""

cimport numpy as cnp
from libc.stdlib cimport free, malloc

cnp.import_array()

__all__ = [
    "softmax_relu_hess_factors",
    "softmax_relu_hessian",
    "softmax_relu_hvp",
    "softmax_relu_loss",
    "softmax_relu_loss_grad",
]


from ._short_row cimport fo_axpy_f64
from ._short_row cimport row_axpy as _axpy
from ._short_row cimport row_dot as _dot

cdef extern from "_softmax_relu.h" nogil:
    double fo_softmax_relu_exp(const double* z, Py_ssize_t n, double umax, double* f)


# --- checks ---------------------------------------------------------------------------

cdef inline bint _vec(object a, Py_ssize_t n, bint write) noexcept:
    """a is a C-contiguous float64 ndarray of shape (n,) (writeable if ``write``)."""
    cdef cnp.ndarray arr
    if not cnp.PyArray_Check(a):
        return False
    arr = <cnp.ndarray>a
    return (cnp.PyArray_TYPE(arr) == cnp.NPY_DOUBLE and cnp.PyArray_NDIM(arr) == 1
            and cnp.PyArray_DIM(arr, 0) == n and cnp.PyArray_IS_C_CONTIGUOUS(arr)
            and cnp.PyArray_ISNOTSWAPPED(arr) and (not write or cnp.PyArray_ISWRITEABLE(arr)))


cdef inline bint _mat(object a, Py_ssize_t n, Py_ssize_t d, bint write) noexcept:
    """a is a C-contiguous float64 ndarray of shape (n, d) (n < 0: any number of rows)."""
    cdef cnp.ndarray arr
    if not cnp.PyArray_Check(a):
        return False
    arr = <cnp.ndarray>a
    return (cnp.PyArray_TYPE(arr) == cnp.NPY_DOUBLE and cnp.PyArray_NDIM(arr) == 2
            and (n < 0 or cnp.PyArray_DIM(arr, 0) == n) and cnp.PyArray_DIM(arr, 1) == d
            and cnp.PyArray_IS_C_CONTIGUOUS(arr) and cnp.PyArray_ISNOTSWAPPED(arr)
            and (not write or cnp.PyArray_ISWRITEABLE(arr)))


cdef inline double* _ptr(object a) noexcept:
    return <double*>cnp.PyArray_DATA(<cnp.ndarray>a)


cdef int _check_data(str name, A, b, w, x, Py_ssize_t* n, Py_ssize_t* d) except -1:
    """Shapes (n, d) of A, and b, w (n,), x (d,) checked; raises ValueError otherwise."""
    if not (cnp.PyArray_Check(A) and cnp.PyArray_NDIM(<cnp.ndarray>A) == 2):
        raise ValueError(f"{name}: A must be a 2-D C-contiguous float64 ndarray")
    n[0] = cnp.PyArray_DIM(<cnp.ndarray>A, 0)
    d[0] = cnp.PyArray_DIM(<cnp.ndarray>A, 1)
    if not (_mat(A, n[0], d[0], False) and _vec(b, n[0], False) and _vec(w, n[0], False)
            and _vec(x, d[0], False)):
        raise ValueError(f"{name}: A (n, d), b, w (n,) and x (d,) must be C-contiguous "
                         f"float64 ndarrays")
    return 0


cdef double* _scratch(Py_ssize_t n, Py_ssize_t k) except NULL:
    """k n-vectors of scratch in one block (at least one element, so never NULL)."""
    cdef double* buf = <double*>malloc(max(1, k * n) * sizeof(double))
    if buf == NULL:
        raise MemoryError()
    return buf


# --- shared sweeps --------------------------------------------------------------------



cdef void _forward(const double* A, const double* x, Py_ssize_t n, Py_ssize_t d, double* z,
                   double* f) noexcept nogil:
    """z = A x and f = softmax(ReLU(z)), computed as exp(u - max u) / sum (vectorized
    exp, _softmax_relu.h)."""
    cdef Py_ssize_t i
    cdef double umax = 0.0, total, zi
    for i in range(n):
        zi = _dot(A + i * d, x, d)
        z[i] = zi
        if zi > umax:
            umax = zi
    total = fo_softmax_relu_exp(z, n, umax, f)
    for i in range(n):
        f[i] /= total


cdef void _rmatvec(const double* A, const double* r, Py_ssize_t n, Py_ssize_t d,
                   double* out) noexcept nogil:
    """out = A^T r (rows with r_i = 0, the inactive ReLUs of a zero-weight row, skipped)."""
    cdef Py_ssize_t i, j
    for j in range(d):
        out[j] = 0.0
    for i in range(n):
        if r[i] != 0.0:
            _axpy(r[i], A + i * d, out, d)


cdef double _loss_from(const double* z, const double* f, const double* b, const double* w,
                       Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef double cc = 0.0, wz = 0.0, c, t
    for i in range(n):
        c = f[i] - b[i]
        cc += c * c
        t = w[i] * z[i]
        wz += t * t
    return 0.5 * cc + 0.5 * wz


cdef double _factors(const double* z, const double* f, const double* b, const double* w,
                     Py_ssize_t n, double* h, double* P) noexcept nogil:
    """h (n,) and P (n, 2, row-major) of M = diag(h) + P C P^T; returns gamma."""
    cdef Py_ssize_t i
    cdef double fb = 0.0, gamma = 0.0
    for i in range(n):
        fb += (f[i] - b[i]) * f[i]
        gamma += (3.0 * f[i] - 2.0 * b[i]) * f[i]
    for i in range(n):
        h[i] = w[i] * w[i]
        if z[i] > 0.0:
            h[i] += (2.0 * f[i] - b[i]) * f[i] - fb * f[i]
            P[2 * i] = f[i]
            P[2 * i + 1] = (b[i] - 2.0 * f[i]) * f[i]
        else:
            P[2 * i] = 0.0
            P[2 * i + 1] = 0.0
    return gamma


# --- kernels --------------------------------------------------------------------------

def softmax_relu_loss(A, b, w, x):
    """L(x); see the reference twin."""
    cdef Py_ssize_t n, d
    _check_data("softmax_relu_loss", A, b, w, x, &n, &d)
    cdef const double* Ap = _ptr(A)
    cdef const double* xp = _ptr(x)
    cdef const double* bp = _ptr(b)
    cdef const double* wp = _ptr(w)
    cdef double* buf = _scratch(n, 2)
    cdef double loss
    with nogil:
        _forward(Ap, xp, n, d, buf, buf + n)
        loss = _loss_from(buf, buf + n, bp, wp, n)
    free(buf)
    return loss


def softmax_relu_loss_grad(A, b, w, x, grad_out):
    """L(x), and grad L(x) written into ``grad_out`` (d,); see the reference twin."""
    cdef Py_ssize_t n, d, i
    _check_data("softmax_relu_loss_grad", A, b, w, x, &n, &d)
    if not _vec(grad_out, d, True):
        raise ValueError("softmax_relu_loss_grad: grad_out must be a writeable C-contiguous "
                         "float64 ndarray of shape (d,)")
    cdef double* buf = _scratch(n, 3)
    cdef double* z = buf
    cdef double* f = buf + n
    cdef double* r = buf + 2 * n
    cdef const double* Ap = _ptr(A)
    cdef const double* xp = _ptr(x)
    cdef const double* bp = _ptr(b)
    cdef const double* wp = _ptr(w)
    cdef double* gp = _ptr(grad_out)
    cdef double fc = 0.0, loss
    with nogil:
        _forward(Ap, xp, n, d, z, f)
        for i in range(n):
            fc += f[i] * (f[i] - bp[i])
        for i in range(n):
            r[i] = wp[i] * wp[i] * z[i]
            if z[i] > 0.0:
                r[i] += f[i] * (f[i] - bp[i]) - fc * f[i]
        _rmatvec(Ap, r, n, d, gp)
        loss = _loss_from(z, f, bp, wp, n)
    free(buf)
    return loss


def softmax_relu_hess_factors(A, b, w, x, h_out, P_out):
    """h (n,), P (n, 2) and gamma of M = diag(h) + P C P^T; see the reference twin."""
    cdef Py_ssize_t n, d
    _check_data("softmax_relu_hess_factors", A, b, w, x, &n, &d)
    if not (_vec(h_out, n, True) and _mat(P_out, n, 2, True)):
        raise ValueError("softmax_relu_hess_factors: h_out (n,) and P_out (n, 2) must be "
                         "writeable C-contiguous float64 ndarrays")
    cdef const double* Ap = _ptr(A)
    cdef const double* xp = _ptr(x)
    cdef const double* bp = _ptr(b)
    cdef const double* wp = _ptr(w)
    cdef double* hp = _ptr(h_out)
    cdef double* Pp = _ptr(P_out)
    cdef double* buf = _scratch(n, 2)
    cdef double gamma
    with nogil:
        _forward(Ap, xp, n, d, buf, buf + n)
        gamma = _factors(buf, buf + n, bp, wp, n, hp, Pp)
    free(buf)
    return gamma


def softmax_relu_hessian(A, b, w, x, H_out):
    """H_out = A^T M A (d, d); see the reference twin."""
    cdef Py_ssize_t n, d, i, j, k
    _check_data("softmax_relu_hessian", A, b, w, x, &n, &d)
    if not _mat(H_out, d, d, True):
        raise ValueError("softmax_relu_hessian: H_out must be a writeable C-contiguous "
                         "float64 ndarray of shape (d, d)")
    # z, f, h (n each), P (2n), U (2d: row-major d x 2)
    cdef double* buf = _scratch(5 * n + 2 * d, 1)
    cdef double* z = buf
    cdef double* f = buf + n
    cdef double* h = buf + 2 * n
    cdef double* P = buf + 3 * n
    cdef double* U = buf + 5 * n
    cdef const double* Ap = _ptr(A)
    cdef const double* xp = _ptr(x)
    cdef const double* bp = _ptr(b)
    cdef const double* wp = _ptr(w)
    cdef const double* row
    cdef double* H = _ptr(H_out)
    cdef double gamma, hi, aij
    with nogil:
        _forward(Ap, xp, n, d, z, f)
        gamma = _factors(z, f, bp, wp, n, h, P)
        for j in range(d * d):
            H[j] = 0.0
        for j in range(2 * d):
            U[j] = 0.0
        for i in range(n):
            row = Ap + i * d
            hi = h[i]
            for j in range(d):
                aij = row[j]
                U[2 * j] += aij * P[2 * i]
                U[2 * j + 1] += aij * P[2 * i + 1]
                # Lower triangle, row j: H[j, :j+1] += h_i a_ij a_i[:j+1].
                fo_axpy_f64(hi * aij, row, H + j * d, j + 1)
        for j in range(d):
            for k in range(j + 1):
                # U C U^T with C = [[gamma, 1], [1, 0]].
                H[j * d + k] += (gamma * U[2 * j] * U[2 * k] + U[2 * j] * U[2 * k + 1]
                                 + U[2 * j + 1] * U[2 * k])
                H[k * d + j] = H[j * d + k]
    free(buf)


def softmax_relu_hvp(A, b, w, x, v, out):
    """out = hess L(x) v (d,) in two sweeps over A; see the reference twin."""
    cdef Py_ssize_t n, d, i
    _check_data("softmax_relu_hvp", A, b, w, x, &n, &d)
    if not (_vec(v, d, False) and _vec(out, d, True)):
        raise ValueError("softmax_relu_hvp: v (d,) and out (d,) must be C-contiguous "
                         "float64 ndarrays, out writeable")
    # z, f, h, t (n each) and P (2n)
    cdef double* buf = _scratch(n, 6)
    cdef double* z = buf
    cdef double* f = buf + n
    cdef double* h = buf + 2 * n
    cdef double* t = buf + 3 * n
    cdef double* P = buf + 4 * n
    cdef const double* Ap = _ptr(A)
    cdef const double* xp = _ptr(x)
    cdef const double* bp = _ptr(b)
    cdef const double* wp = _ptr(w)
    cdef const double* vp = _ptr(v)
    cdef double* op = _ptr(out)
    cdef double gamma, acc, q0 = 0.0, q1 = 0.0, c0, c1
    with nogil:
        _forward(Ap, xp, n, d, z, f)
        gamma = _factors(z, f, bp, wp, n, h, P)
        for i in range(n):
            acc = _dot(Ap + i * d, vp, d)
            t[i] = acc
            q0 += P[2 * i] * acc
            q1 += P[2 * i + 1] * acc
        c0 = gamma * q0 + q1
        c1 = q0
        for i in range(n):
            t[i] = h[i] * t[i] + P[2 * i] * c0 + P[2 * i + 1] * c1
        _rmatvec(Ap, t, n, d, op)
    free(buf)
