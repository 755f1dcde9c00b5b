"""Fused optimizer updates, Cython (OpenMP) twin: one pass over memory, in place, no allocation.

Same names, signatures and recurrences as :mod:`fastopt.kernels.reference.updates`
(see its docstring for the math). float32 arrays are updated in float32 arithmetic.
Arrays shorter than ``PARALLEL_MIN`` are updated on one thread; longer ones are split
into chunks of ``CHUNK`` elements shared among the OpenMP threads (dynamic schedule:
a busy core does not hold the others back). setup.py's ``-fno-math-errno`` lets the
compiler vectorize ``sqrt``.
"""

from cython.parallel import prange

from libc.math cimport sqrt, sqrtf

__all__ = ["gd_", "heavy_ball_", "nesterov_", "adagrad_", "rmsprop_", "adam_", "adamw_"]

ctypedef fused floating:
    float
    double

cdef Py_ssize_t PARALLEL_MIN = 1 << 16
cdef Py_ssize_t CHUNK = 1 << 14


cdef inline floating _sqrt(floating a) noexcept nogil:
    if floating is float:
        return sqrtf(a)
    else:
        return sqrt(a)


cdef inline Py_ssize_t _n_chunks(Py_ssize_t n) noexcept nogil:
    return (n + CHUNK - 1) // CHUNK


# --- gradient descent -----------------------------------------------------------------

cdef void _gd_span(floating* x, const floating* g, floating lr, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        x[i] -= lr * g[i]


def gd_(floating[::1] x, const floating[::1] g, double lr):
    """x <- x - lr g (in place)."""
    cdef Py_ssize_t n = x.shape[0], c, lo
    cdef floating a = <floating>lr
    if n == 0:
        return
    if n < PARALLEL_MIN:
        with nogil:
            _gd_span(&x[0], &g[0], a, n)
        return
    for c in prange(_n_chunks(n), nogil=True, schedule="dynamic"):
        lo = c * CHUNK
        _gd_span(&x[lo], &g[lo], a, min(n, lo + CHUNK) - lo)


# --- heavy ball -----------------------------------------------------------------------

cdef void _hb_span(floating* x, floating* s, const floating* g, floating lr, floating rho,
                   Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating si
    for i in range(n):
        si = rho * s[i] - lr * g[i]
        s[i] = si
        x[i] += si


def heavy_ball_(floating[::1] x, floating[::1] s, const floating[::1] g, double lr,
                double momentum):
    """s <- rho s - lr g; x <- x + s (in place)."""
    cdef Py_ssize_t n = x.shape[0], c, lo
    cdef floating a = <floating>lr, rho = <floating>momentum
    if n == 0:
        return
    if n < PARALLEL_MIN:
        with nogil:
            _hb_span(&x[0], &s[0], &g[0], a, rho, n)
        return
    for c in prange(_n_chunks(n), nogil=True, schedule="dynamic"):
        lo = c * CHUNK
        _hb_span(&x[lo], &s[lo], &g[lo], a, rho, min(n, lo + CHUNK) - lo)


# --- Nesterov (look-ahead form) -------------------------------------------------------

cdef void _nag_span(floating* x, floating* s, const floating* g, floating lr, floating rho,
                    floating rho_next, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating si, s_old
    cdef floating grow = 1 + rho_next
    for i in range(n):
        s_old = s[i]
        si = rho * s_old - lr * g[i]
        s[i] = si
        x[i] += grow * si - rho * s_old


def nesterov_(floating[::1] x, floating[::1] s, const floating[::1] g, double lr,
              double momentum, double momentum_next):
    """Look-ahead Nesterov step: y <- y - rho s + (1 + rho_next) s+, s+ = rho s - lr g."""
    cdef Py_ssize_t n = x.shape[0], c, lo
    cdef floating a = <floating>lr, rho = <floating>momentum, rho_n = <floating>momentum_next
    if n == 0:
        return
    if n < PARALLEL_MIN:
        with nogil:
            _nag_span(&x[0], &s[0], &g[0], a, rho, rho_n, n)
        return
    for c in prange(_n_chunks(n), nogil=True, schedule="dynamic"):
        lo = c * CHUNK
        _nag_span(&x[lo], &s[lo], &g[lo], a, rho, rho_n, min(n, lo + CHUNK) - lo)


# --- AdaGrad / RMSProp (r <- c_r r + c_g g o g) ---------------------------------------

cdef void _scaled_span(floating* x, floating* r, const floating* g, floating lr, floating c_r,
                       floating c_g, floating eps, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, ri
    for i in range(n):
        gi = g[i]
        ri = c_r * r[i] + c_g * gi * gi
        r[i] = ri
        x[i] -= lr * gi / (_sqrt(ri) + eps)


cdef _scaled(floating[::1] x, floating[::1] r, const floating[::1] g, double lr, double c_r,
             double c_g, double eps):
    cdef Py_ssize_t n = x.shape[0], c, lo
    cdef floating a = <floating>lr, cr = <floating>c_r, cg = <floating>c_g, e = <floating>eps
    if n == 0:
        return
    if n < PARALLEL_MIN:
        with nogil:
            _scaled_span(&x[0], &r[0], &g[0], a, cr, cg, e, n)
        return
    for c in prange(_n_chunks(n), nogil=True, schedule="dynamic"):
        lo = c * CHUNK
        _scaled_span(&x[lo], &r[lo], &g[lo], a, cr, cg, e, min(n, lo + CHUNK) - lo)


def adagrad_(floating[::1] x, floating[::1] r, const floating[::1] g, double lr, double eps):
    """r <- r + g o g; x <- x - lr g / (sqrt(r) + eps) (in place)."""
    _scaled(x, r, g, lr, 1.0, 1.0, eps)


def rmsprop_(floating[::1] x, floating[::1] r, const floating[::1] g, double lr, double rho,
             double eps):
    """r <- rho r + (1 - rho) g o g; x <- x - lr g / (sqrt(r) + eps) (in place)."""
    _scaled(x, r, g, lr, rho, 1.0 - rho, eps)


# --- Adam / AdamW / AMSGrad -----------------------------------------------------------

cdef void _adam_span(floating* x, floating* m, floating* v, floating* v_max,
                     const floating* g, floating step, floating b1, floating b2, floating c1,
                     floating c2, floating isb, floating eps, floating keep,
                     Py_ssize_t n) noexcept nogil:
    # x <- keep x - step m / (sqrt(v) / sqrt(bc2) + eps): step = lr / bc1, keep = 1 - lr wd.
    cdef Py_ssize_t i
    cdef floating gi, mi, vi
    if v_max == NULL:
        for i in range(n):
            gi = g[i]
            mi = b1 * m[i] + c1 * gi
            vi = b2 * v[i] + c2 * gi * gi
            m[i] = mi
            v[i] = vi
            x[i] = keep * x[i] - step * mi / (_sqrt(vi) * isb + eps)
    else:
        for i in range(n):
            gi = g[i]
            mi = b1 * m[i] + c1 * gi
            vi = b2 * v[i] + c2 * gi * gi
            m[i] = mi
            v[i] = vi
            vi = max(v_max[i], vi)
            v_max[i] = vi
            x[i] = keep * x[i] - step * mi / (_sqrt(vi) * isb + eps)


def adamw_(floating[::1] x, floating[::1] m, floating[::1] v, const floating[::1] g, t,
           double lr, double beta1, double beta2, double eps, double weight_decay,
           floating[::1] v_max):
    """Fused AdamW step (Adam when ``weight_decay == 0``; AMSGrad when ``v_max`` is non-empty)."""
    cdef Py_ssize_t n = x.shape[0], c, lo
    cdef double bc1 = 1.0 - beta1 ** <double>t
    cdef double bc2 = 1.0 - beta2 ** <double>t
    cdef floating step = <floating>(lr / bc1), isb = <floating>(1.0 / sqrt(bc2))
    cdef floating b1 = <floating>beta1, b2 = <floating>beta2
    cdef floating c1 = <floating>(1.0 - beta1), c2 = <floating>(1.0 - beta2)
    cdef floating e = <floating>eps, keep = <floating>(1.0 - lr * weight_decay)
    cdef floating* vm = NULL
    cdef bint ams = v_max.shape[0] > 0
    if n == 0:
        return
    if ams:
        vm = &v_max[0]
    if n < PARALLEL_MIN:
        with nogil:
            _adam_span(&x[0], &m[0], &v[0], vm, &g[0], step, b1, b2, c1, c2, isb, e, keep, n)
        return
    for c in prange(_n_chunks(n), nogil=True, schedule="dynamic"):
        lo = c * CHUNK
        _adam_span(&x[lo], &m[lo], &v[lo], (vm + lo) if ams else vm, &g[lo], step, b1, b2,
                   c1, c2, isb, e, keep, min(n, lo + CHUNK) - lo)


def adam_(floating[::1] x, floating[::1] m, floating[::1] v, const floating[::1] g, t,
          double lr, double beta1, double beta2, double eps, floating[::1] v_max):
    """Fused Adam step (bias-corrected; AMSGrad when ``v_max`` is non-empty)."""
    adamw_(x, m, v, g, t, lr, beta1, beta2, eps, 0.0, v_max)
