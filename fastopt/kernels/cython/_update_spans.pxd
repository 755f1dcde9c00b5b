# cython: language_level=3
#
# The fused optimizer updates on a span of float64 entries, inline, for the compiled
# first-order loop (_fo_loop.pyx). Same recurrences, operation for operation, as the
# span functions of updates.pyx and of fastopt/kernels/numba/updates.py (the math is
# written out in fastopt/kernels/reference/updates.py); kept here so that the loop calls
# them at C level with no Python call per step.

from libc.math cimport sqrt


cdef inline void gd_span(double* x, const double* g, double lr, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        x[i] -= lr * g[i]


cdef inline void heavy_ball_span(double* x, double* s, const double* g, double lr, double rho,
                                 Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef double si
    for i in range(n):
        si = rho * s[i] - lr * g[i]
        s[i] = si
        x[i] += si


cdef inline void nesterov_span(double* x, double* s, const double* g, double lr, double rho,
                               double rho_next, Py_ssize_t n) noexcept nogil:
    # look-ahead form: y <- y - rho s + (1 + rho_next) s+, s+ = rho s - lr g
    cdef Py_ssize_t i
    cdef double si, s_old
    cdef double grow = 1.0 + rho_next
    for i in range(n):
        s_old = s[i]
        si = rho * s_old - lr * g[i]
        s[i] = si
        x[i] += grow * si - rho * s_old


cdef inline void scaled_span(double* x, double* r, const double* g, double lr, double c_r,
                             double c_g, double eps, Py_ssize_t n) noexcept nogil:
    # AdaGrad (c_r = c_g = 1) and RMSProp (c_r = rho, c_g = 1 - rho)
    cdef Py_ssize_t i
    cdef double gi, ri
    for i in range(n):
        gi = g[i]
        ri = c_r * r[i] + c_g * gi * gi
        r[i] = ri
        x[i] -= lr * gi / (sqrt(ri) + eps)


cdef inline void adam_span(double* x, double* m, double* v, double* v_max, const double* g,
                           double step, double b1, double b2, double c1, double c2,
                           double isb, double eps, double keep, Py_ssize_t n) noexcept nogil:
    # x <- keep x - step m / (sqrt(v) isb + eps): step = lr / bc1, isb = 1 / sqrt(bc2),
    # keep = 1 - lr wd; v_max (AMSGrad) replaces v in the denominator when not NULL.
    cdef Py_ssize_t i
    cdef double gi, mi, vi
    if v_max == NULL:
        for i in range(n):
            gi = g[i]
            mi = b1 * m[i] + c1 * gi
            vi = b2 * v[i] + c2 * gi * gi
            m[i] = mi
            v[i] = vi
            x[i] = keep * x[i] - step * mi / (sqrt(vi) * isb + eps)
    else:
        for i in range(n):
            gi = g[i]
            mi = b1 * m[i] + c1 * gi
            vi = b2 * v[i] + c2 * gi * gi
            m[i] = mi
            v[i] = vi
            vi = max(v_max[i], vi)
            v_max[i] = vi
            x[i] = keep * x[i] - step * mi / (sqrt(vi) * isb + eps)


cdef inline double int_power(double a, long long t) noexcept nogil:
    """a^t for t >= 0 by binary exponentiation, the algorithm numba uses for a float
    raised to an integer up to 2^16 (so the bias corrections of the numba and Cython
    loops agree to the last bit); pow beyond that, as numba."""
    cdef double r = 1.0
    if t > 0x10000:
        return a ** <double> t
    while t != 0:
        if t & 1:
            r *= a
        t >>= 1
        a *= a
    return r
