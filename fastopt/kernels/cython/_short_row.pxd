# cython: language_level=3
# Vectorized dot and axpy of float64 rows, with an inline loop for short rows: the
# vectorized primitives of _simd.h are reached through the CPU dispatch (an indirect call
# per row), which costs more than a few multiply-adds. Shared by the L-BFGS and
# softmax-ReLU kernels.

cdef extern from "_simd.h" nogil:
    double fo_dot_f64(const double* a, const double* w, Py_ssize_t n)
    void fo_axpy_f64(double alpha, const double* a, double* g, Py_ssize_t n)


cdef enum:
    # Rows shorter than this use the inline loop.
    SHORT_ROW = 8


cdef inline double row_dot(const double* a, const double* b, Py_ssize_t n) noexcept nogil:
    """sum_t a[t] b[t]."""
    cdef Py_ssize_t t
    cdef double acc = 0.0
    if n >= SHORT_ROW:
        return fo_dot_f64(a, b, n)
    for t in range(n):
        acc += a[t] * b[t]
    return acc


cdef inline void row_axpy(double alpha, const double* a, double* out,
                          Py_ssize_t n) noexcept nogil:
    """out[t] += alpha a[t]."""
    cdef Py_ssize_t t
    if n >= SHORT_ROW:
        fo_axpy_f64(alpha, a, out, n)
        return
    for t in range(n):
        out[t] += alpha * a[t]
