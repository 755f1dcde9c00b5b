# cython: language_level=3
"""Fused optimizer updates, Cython (OpenMP) twin: one pass over memory, in place, no allocation.

Same names, signatures and recurrences as :mod:`fastopt.kernels.reference.updates`
(see its docstring for the math). float32 arrays are updated in float32 arithmetic.

Layers:

* the element loops, in ``_updates.h`` (C, compiled for AVX2 + FMA and for the baseline,
  the CPU picks at load time: see that file);
* a driver per update, a fused ``cdef`` specialized at compile time for float32 and
  float64: arrays shorter than ``PARALLEL_MIN`` are updated on the calling thread;
  longer ones are split into chunks of ``CHUNK`` elements shared among
  ``fo.get_num_threads()`` OpenMP threads (dynamic schedule: a busy core does not hold
  the others back). The updates are element-wise, so the result does not depend on the
  thread count;
* one thin ``def`` per update taking ndarrays. A fused-type ``def`` with typed
  memoryviews costs microseconds per call (a Python-level dispatch on the dtypes, then
  one buffer acquisition per array), several times the whole update of a thousand
  parameters; here the ``def`` reads the dtype number of ``x`` and the data pointers
  (``PyArray_DATA``) and calls the float32 or float64 driver. Its checks are C-level
  tests (ndarray, dtype, 1-D, length, C-contiguity, writeability of what it writes):
  the kernel reads raw pointers, so a wrong array is a ``ValueError``, not a crash.
"""

cimport numpy as cnp
from cython.parallel import prange

from libc.math cimport sqrt

from ._updates cimport (
    fo_adam_f32,
    fo_adam_f64,
    fo_amsgrad_f32,
    fo_amsgrad_f64,
    fo_gd_f32,
    fo_gd_f64,
    fo_hb_f32,
    fo_hb_f64,
    fo_nadam_f32,
    fo_nadam_f64,
    fo_nag_f32,
    fo_nag_f64,
    fo_scaled_f32,
    fo_scaled_f64,
)

from fastopt._config import get_num_threads as _get_num_threads

cnp.import_array()

__all__ = ["gd_", "heavy_ball_", "nesterov_", "adagrad_", "rmsprop_", "adam_", "adamw_",
           "nadam_"]

ctypedef fused floating:
    float
    double

#: Below this many elements the update runs on the calling thread (as the numba twin).
cdef Py_ssize_t PARALLEL_MIN = 1 << 16
#: Elements per parallel work item (64 KiB of float32 per array).
cdef Py_ssize_t CHUNK = 1 << 14


cdef inline Py_ssize_t _n_chunks(Py_ssize_t n) noexcept nogil:
    return (n + CHUNK - 1) // CHUNK


cdef inline int _threads(Py_ssize_t n) except -1:
    """Threads for an update of n elements: 1 below PARALLEL_MIN (no Python call on the
    small-array path), else fastopt's thread count (``fo.set_num_threads``), as the
    numba twin uses numba's."""
    if n < PARALLEL_MIN:
        return 1
    return min(<Py_ssize_t>_get_num_threads(), _n_chunks(n))


# --- argument checks (C-level, O(1)) ----------------------------------------------------

cdef inline int _dtype_of(object x) except -1:
    """NPY_FLOAT or NPY_DOUBLE for a 1-D ndarray x; TypeError otherwise."""
    cdef int typenum
    if cnp.PyArray_Check(x) and cnp.PyArray_NDIM(<cnp.ndarray>x) == 1:
        typenum = cnp.PyArray_TYPE(<cnp.ndarray>x)
        if typenum == cnp.NPY_FLOAT or typenum == cnp.NPY_DOUBLE:
            return typenum
    raise TypeError(f"x must be a 1-D float32 or float64 ndarray, got {type(x).__name__} "
                    f"{getattr(x, 'dtype', '')} {getattr(x, 'shape', '')}")


cdef inline bint _ok(object a, int typenum, Py_ssize_t n, bint write) noexcept:
    """a is a C-contiguous 1-D ndarray of dtype ``typenum`` (native byte order: the type
    number alone does not say) and length n, writeable when the kernel writes it."""
    cdef cnp.ndarray arr
    if not cnp.PyArray_Check(a):
        return False
    arr = <cnp.ndarray>a
    return (cnp.PyArray_TYPE(arr) == typenum and cnp.PyArray_NDIM(arr) == 1
            and cnp.PyArray_DIM(arr, 0) == n and cnp.PyArray_IS_C_CONTIGUOUS(arr)
            and cnp.PyArray_ISNOTSWAPPED(arr)
            and (not write or cnp.PyArray_ISWRITEABLE(arr)))


cdef inline int _bad(str name) except -1:
    raise ValueError(f"{name}: x, the state arrays and g must be 1-D C-contiguous ndarrays "
                     f"of one native-byte-order dtype and one length; x and the state "
                     f"writeable")


cdef inline void* _data(object a) noexcept:
    return cnp.PyArray_DATA(<cnp.ndarray>a)


cdef inline int _check_apart(str name, tuple names, Py_ssize_t nbytes, void* p0, void* p1,
                             void* p2=NULL, void* p3=NULL, void* p4=NULL,
                             bint x_is_g_ok=False) except -1:
    """ValueError unless the arrays at p0.. (each ``nbytes`` long; NULL: absent) are
    pairwise disjoint. The kernels read and write them element by element in SIMD blocks,
    so an array passed twice (``adam_(x, x, v, g, t)``) or two overlapping views would
    give garbage, silently. ``x_is_g_ok`` (gd_ only): g may be x itself, x <- x - lr x,
    exact on every backend. Ten pointer comparisons at most."""
    cdef char* p[5]
    cdef int i, j
    p[0], p[1], p[2], p[3], p[4] = <char*>p0, <char*>p1, <char*>p2, <char*>p3, <char*>p4
    for i in range(5):
        for j in range(i + 1, 5):
            if (p[i] != NULL and p[j] != NULL and p[i] < p[j] + nbytes
                    and p[j] < p[i] + nbytes and not (x_is_g_ok and p[j] == p[0])):
                raise ValueError(f"{name}: {names[i]} and {names[j]} overlap in memory; "
                                 f"each must be a separate array")
    return 0


# --- drivers: one thread (nt = 1), or chunks shared by nt OpenMP threads --------------

cdef void _gd(floating* x, const floating* g, floating lr, Py_ssize_t n,
              int nt) noexcept nogil:
    cdef Py_ssize_t c, lo
    if nt <= 1:
        if floating is float:
            fo_gd_f32(x, g, lr, n)
        else:
            fo_gd_f64(x, g, lr, n)
        return
    for c in prange(_n_chunks(n), schedule="dynamic", num_threads=nt):
        lo = c * CHUNK
        if floating is float:
            fo_gd_f32(x + lo, g + lo, lr, min(n, lo + CHUNK) - lo)
        else:
            fo_gd_f64(x + lo, g + lo, lr, min(n, lo + CHUNK) - lo)


cdef void _hb(floating* x, floating* s, const floating* g, floating lr, floating rho,
              Py_ssize_t n, int nt) noexcept nogil:
    cdef Py_ssize_t c, lo
    if nt <= 1:
        if floating is float:
            fo_hb_f32(x, s, g, lr, rho, n)
        else:
            fo_hb_f64(x, s, g, lr, rho, n)
        return
    for c in prange(_n_chunks(n), schedule="dynamic", num_threads=nt):
        lo = c * CHUNK
        if floating is float:
            fo_hb_f32(x + lo, s + lo, g + lo, lr, rho, min(n, lo + CHUNK) - lo)
        else:
            fo_hb_f64(x + lo, s + lo, g + lo, lr, rho, min(n, lo + CHUNK) - lo)


cdef void _nag(floating* x, floating* s, const floating* g, floating lr, floating rho,
               floating rho_next, Py_ssize_t n, int nt) noexcept nogil:
    cdef Py_ssize_t c, lo
    if nt <= 1:
        if floating is float:
            fo_nag_f32(x, s, g, lr, rho, rho_next, n)
        else:
            fo_nag_f64(x, s, g, lr, rho, rho_next, n)
        return
    for c in prange(_n_chunks(n), schedule="dynamic", num_threads=nt):
        lo = c * CHUNK
        if floating is float:
            fo_nag_f32(x + lo, s + lo, g + lo, lr, rho, rho_next, min(n, lo + CHUNK) - lo)
        else:
            fo_nag_f64(x + lo, s + lo, g + lo, lr, rho, rho_next, min(n, lo + CHUNK) - lo)


cdef void _scaled(floating* x, floating* r, const floating* g, floating lr, floating c_r,
                  floating c_g, floating eps, Py_ssize_t n, int nt) noexcept nogil:
    cdef Py_ssize_t c, lo
    if nt <= 1:
        if floating is float:
            fo_scaled_f32(x, r, g, lr, c_r, c_g, eps, n)
        else:
            fo_scaled_f64(x, r, g, lr, c_r, c_g, eps, n)
        return
    for c in prange(_n_chunks(n), schedule="dynamic", num_threads=nt):
        lo = c * CHUNK
        if floating is float:
            fo_scaled_f32(x + lo, r + lo, g + lo, lr, c_r, c_g, eps, min(n, lo + CHUNK) - lo)
        else:
            fo_scaled_f64(x + lo, r + lo, g + lo, lr, c_r, c_g, eps, min(n, lo + CHUNK) - lo)


cdef inline void _adam_span(floating* x, floating* m, floating* v, floating* v_max,
                            const floating* g, floating step, floating b1, floating b2,
                            floating c1, floating c2, floating isb, floating eps,
                            floating keep, Py_ssize_t n) noexcept nogil:
    if v_max == NULL:
        if floating is float:
            fo_adam_f32(x, m, v, g, step, b1, b2, c1, c2, isb, eps, keep, n)
        else:
            fo_adam_f64(x, m, v, g, step, b1, b2, c1, c2, isb, eps, keep, n)
    else:
        if floating is float:
            fo_amsgrad_f32(x, m, v, v_max, g, step, b1, b2, c1, c2, isb, eps, keep, n)
        else:
            fo_amsgrad_f64(x, m, v, v_max, g, step, b1, b2, c1, c2, isb, eps, keep, n)


cdef void _adam(floating* x, floating* m, floating* v, floating* v_max, const floating* g,
                double t, double lr, double beta1, double beta2, double eps, double wd,
                Py_ssize_t n, int nt) noexcept nogil:
    # x <- keep x - step m / (sqrt(v) / sqrt(bc2) + eps): the bias corrections folded into
    # step = lr / bc1 and isb = 1 / sqrt(bc2), computed once in float64; keep = 1 - lr wd.
    cdef Py_ssize_t c, lo
    cdef double bc1 = 1.0 - beta1 ** t
    cdef double bc2 = 1.0 - beta2 ** t
    cdef floating step = <floating>(lr / bc1), isb = <floating>(1.0 / sqrt(bc2))
    cdef floating b1 = <floating>beta1, b2 = <floating>beta2
    cdef floating c1 = <floating>(1.0 - beta1), c2 = <floating>(1.0 - beta2)
    cdef floating e = <floating>eps, keep = <floating>(1.0 - lr * wd)
    if nt <= 1:
        _adam_span(x, m, v, v_max, g, step, b1, b2, c1, c2, isb, e, keep, n)
        return
    for c in prange(_n_chunks(n), schedule="dynamic", num_threads=nt):
        lo = c * CHUNK
        _adam_span(x + lo, m + lo, v + lo, (v_max + lo) if v_max != NULL else NULL, g + lo,
                   step, b1, b2, c1, c2, isb, e, keep, min(n, lo + CHUNK) - lo)


cdef inline void _nadam_span(floating* x, floating* m, floating* v, const floating* g,
                             floating c_g, floating c_m, floating b1, floating b2,
                             floating c1, floating c2, floating bc2, floating eps,
                             Py_ssize_t n) noexcept nogil:
    if floating is float:
        fo_nadam_f32(x, m, v, g, c_g, c_m, b1, b2, c1, c2, bc2, eps, n)
    else:
        fo_nadam_f64(x, m, v, g, c_g, c_m, b1, b2, c1, c2, bc2, eps, n)


cdef void _nadam(floating* x, floating* m, floating* v, const floating* g, double t,
                 double lr, double beta1, double beta2, double eps, double psi,
                 double mu_product, Py_ssize_t n, int nt) noexcept nogil:
    # torch.optim.NAdam's scalars of step t, once per call in float64:
    # mu_t = beta1 (1 - 0.5 0.96^(t psi)); c_g = lr (1 - mu_t) / (1 - prod_{s<=t} mu_s);
    # c_m = lr mu_{t+1} / (1 - prod_{s<=t+1} mu_s); bc2 = 1 - beta2^t.
    cdef Py_ssize_t c, lo
    cdef double mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
    cdef double mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1.0) * psi)))
    cdef double prod = mu_product * mu
    cdef floating c_g = <floating>(lr * (1.0 - mu) / (1.0 - prod))
    cdef floating c_m = <floating>(lr * mu_next / (1.0 - prod * mu_next))
    cdef floating bc2 = <floating>(1.0 - beta2 ** t)
    cdef floating b1 = <floating>beta1, b2 = <floating>beta2
    cdef floating c1 = <floating>(1.0 - beta1), c2 = <floating>(1.0 - beta2)
    cdef floating e = <floating>eps
    if nt <= 1:
        _nadam_span(x, m, v, g, c_g, c_m, b1, b2, c1, c2, bc2, e, n)
        return
    for c in prange(_n_chunks(n), schedule="dynamic", num_threads=nt):
        lo = c * CHUNK
        _nadam_span(x + lo, m + lo, v + lo, g + lo, c_g, c_m, b1, b2, c1, c2, bc2, e,
                    min(n, lo + CHUNK) - lo)


# --- the kernels ----------------------------------------------------------------------

def gd_(x, g, double lr):
    """x <- x - lr g (in place)."""
    cdef int typ = _dtype_of(x)
    cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
    cdef int nt = _threads(n)
    if not (_ok(x, typ, n, True) and _ok(g, typ, n, False)):
        _bad("gd_")
    cdef void* px = _data(x)
    cdef void* pg = _data(g)
    _check_apart("gd_", ("x", "g"), n * cnp.PyArray_ITEMSIZE(<cnp.ndarray>x), px, pg,
                 NULL, NULL, NULL, True)
    with nogil:
        if typ == cnp.NPY_FLOAT:
            _gd(<float*>px, <const float*>pg, <float>lr, n, nt)
        else:
            _gd(<double*>px, <const double*>pg, lr, n, nt)


def heavy_ball_(x, s, g, double lr, double momentum):
    """s <- rho s - lr g; x <- x + s (in place)."""
    cdef int typ = _dtype_of(x)
    cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
    cdef int nt = _threads(n)
    if not (_ok(x, typ, n, True) and _ok(s, typ, n, True) and _ok(g, typ, n, False)):
        _bad("heavy_ball_")
    cdef void* px = _data(x)
    cdef void* ps = _data(s)
    cdef void* pg = _data(g)
    _check_apart("heavy_ball_", ("x", "s", "g"), n * cnp.PyArray_ITEMSIZE(<cnp.ndarray>x),
                 px, ps, pg)
    with nogil:
        if typ == cnp.NPY_FLOAT:
            _hb(<float*>px, <float*>ps, <const float*>pg, <float>lr, <float>momentum, n, nt)
        else:
            _hb(<double*>px, <double*>ps, <const double*>pg, lr, momentum, n, nt)


def nesterov_(x, s, g, double lr, double momentum, double momentum_next):
    """Look-ahead Nesterov step: y <- y - rho s + (1 + rho_next) s+, s+ = rho s - lr g."""
    cdef int typ = _dtype_of(x)
    cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
    cdef int nt = _threads(n)
    if not (_ok(x, typ, n, True) and _ok(s, typ, n, True) and _ok(g, typ, n, False)):
        _bad("nesterov_")
    cdef void* px = _data(x)
    cdef void* ps = _data(s)
    cdef void* pg = _data(g)
    _check_apart("nesterov_", ("x", "s", "g"), n * cnp.PyArray_ITEMSIZE(<cnp.ndarray>x),
                 px, ps, pg)
    with nogil:
        if typ == cnp.NPY_FLOAT:
            _nag(<float*>px, <float*>ps, <const float*>pg, <float>lr, <float>momentum,
                 <float>momentum_next, n, nt)
        else:
            _nag(<double*>px, <double*>ps, <const double*>pg, lr, momentum, momentum_next, n,
                 nt)


cdef _scaled_update(str name, x, r, g, double lr, double c_r, double c_g, double eps):
    cdef int typ = _dtype_of(x)
    cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
    cdef int nt = _threads(n)
    if not (_ok(x, typ, n, True) and _ok(r, typ, n, True) and _ok(g, typ, n, False)):
        _bad(name)
    cdef void* px = _data(x)
    cdef void* pr = _data(r)
    cdef void* pg = _data(g)
    _check_apart(name, ("x", "r", "g"), n * cnp.PyArray_ITEMSIZE(<cnp.ndarray>x), px, pr, pg)
    with nogil:
        if typ == cnp.NPY_FLOAT:
            _scaled(<float*>px, <float*>pr, <const float*>pg, <float>lr, <float>c_r,
                    <float>c_g, <float>eps, n, nt)
        else:
            _scaled(<double*>px, <double*>pr, <const double*>pg, lr, c_r, c_g, eps, n, nt)


def adagrad_(x, r, g, double lr, double eps):
    """r <- r + g o g; x <- x - lr g / (sqrt(r) + eps) (in place)."""
    _scaled_update("adagrad_", x, r, g, lr, 1.0, 1.0, eps)


def rmsprop_(x, r, g, double lr, double rho, double eps):
    """r <- rho r + (1 - rho) g o g; x <- x - lr g / (sqrt(r) + eps) (in place)."""
    _scaled_update("rmsprop_", x, r, g, lr, rho, 1.0 - rho, eps)


cdef _adamw(str name, x, m, v, g, double t, double lr, double beta1, double beta2,
            double eps, double weight_decay, v_max):
    cdef int typ = _dtype_of(x)
    cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
    cdef int nt = _threads(n)
    if not (_ok(x, typ, n, True) and _ok(m, typ, n, True) and _ok(v, typ, n, True)
            and _ok(g, typ, n, False)):
        _bad(name)
    # v_max: an empty array of the dtype switches AMSGrad off, else one of length n.
    cdef void* pvm = NULL
    if not _ok(v_max, typ, 0, False):
        if not _ok(v_max, typ, n, True):
            _bad(name + " (v_max: empty, or writeable of length n)")
        pvm = _data(v_max)
    cdef void* px = _data(x)
    cdef void* pm = _data(m)
    cdef void* pv = _data(v)
    cdef void* pg = _data(g)
    _check_apart(name, ("x", "m", "v", "g", "v_max"),
                 n * cnp.PyArray_ITEMSIZE(<cnp.ndarray>x), px, pm, pv, pg, pvm)
    with nogil:
        if typ == cnp.NPY_FLOAT:
            _adam(<float*>px, <float*>pm, <float*>pv, <float*>pvm, <const float*>pg, t, lr,
                  beta1, beta2, eps, weight_decay, n, nt)
        else:
            _adam(<double*>px, <double*>pm, <double*>pv, <double*>pvm, <const double*>pg, t,
                  lr, beta1, beta2, eps, weight_decay, n, nt)


def adamw_(x, m, v, g, double t, double lr, double beta1, double beta2, double eps,
           double weight_decay, v_max):
    """Fused AdamW step (Adam when ``weight_decay == 0``; AMSGrad when ``v_max`` is non-empty)."""
    _adamw("adamw_", x, m, v, g, t, lr, beta1, beta2, eps, weight_decay, v_max)


def adam_(x, m, v, g, double t, double lr, double beta1, double beta2, double eps, v_max):
    """Fused Adam step (bias-corrected; AMSGrad when ``v_max`` is non-empty)."""
    _adamw("adam_", x, m, v, g, t, lr, beta1, beta2, eps, 0.0, v_max)


def nadam_(x, m, v, g, double t, double lr, double beta1, double beta2, double eps,
           double momentum_decay, double mu_product):
    """Fused NAdam step t; ``mu_product`` is prod_{s < t} mu_s (1.0 at t = 1)."""
    cdef int typ = _dtype_of(x)
    cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
    cdef int nt = _threads(n)
    if not (_ok(x, typ, n, True) and _ok(m, typ, n, True) and _ok(v, typ, n, True)
            and _ok(g, typ, n, False)):
        _bad("nadam_")
    cdef void* px = _data(x)
    cdef void* pm = _data(m)
    cdef void* pv = _data(v)
    cdef void* pg = _data(g)
    _check_apart("nadam_", ("x", "m", "v", "g"), n * cnp.PyArray_ITEMSIZE(<cnp.ndarray>x),
                 px, pm, pv, pg, NULL)
    with nogil:
        if typ == cnp.NPY_FLOAT:
            _nadam(<float*>px, <float*>pm, <float*>pv, <const float*>pg, t, lr, beta1, beta2,
                   eps, momentum_decay, mu_product, n, nt)
        else:
            _nadam(<double*>px, <double*>pm, <double*>pv, <const double*>pg, t, lr, beta1,
                   beta2, eps, momentum_decay, mu_product, n, nt)
