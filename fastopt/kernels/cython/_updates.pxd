# cython: language_level=3
#
# The C twin of the table of optimizer steps (_updates.h, codes generated into
# _step_table.h from fastopt/kernels/steps.py), declared once for the modules that call
# it: updates.pyx (the public kernels) and _fo_loop.pyx (the compiled first-order loop),
# with the one driver both use (run_step).

from cython cimport floating
from cython.parallel cimport prange

cdef extern from "_updates.h" nogil:
    enum:
        FO_N_STEPS
        FO_MAX_PARAMS
        FO_MAX_COEFS
        FO_STEP_GD
        FO_STEP_NESTEROV
    ctypedef void (*fo_coefs_fn)(double t, double lr, const double* p, double* carry,
                                 double* c) noexcept nogil
    ctypedef void (*fo_span_f32_fn)(float* x, float* s1, float* s2, float* s3,
                                    const float* g, const double* c,
                                    Py_ssize_t n) noexcept nogil
    ctypedef void (*fo_span_f64_fn)(double* x, double* s1, double* s2, double* s3,
                                    const double* g, const double* c,
                                    Py_ssize_t n) noexcept nogil
    ctypedef struct fo_step:
        fo_coefs_fn coefs
        fo_span_f32_fn f32
        fo_span_f64_fn f64
    const fo_step FO_STEPS[]
    const int FO_STEP_NSTATE[]
    const int FO_STEP_NPARAMS[]
    const int FO_STEP_MOMENTUM_SLOT[]
    const int FO_STEP_MOMENTUM_NEXT_SLOT[]


cdef enum:
    # Updates of at least this many entries are split into chunks of STEP_CHUNK entries
    # (64 KiB of float32 per array) shared by the threads; the update is element-wise, so
    # the result does not depend on the split. Below, one thread: a launch costs more.
    STEP_PARALLEL_MIN = 1 << 16
    STEP_CHUNK = 1 << 14


cdef inline floating* _offset(floating* a, Py_ssize_t lo) noexcept nogil:
    return (a + lo) if a != NULL else NULL


cdef inline void run_step(const fo_step* st, floating* x, floating* s1, floating* s2,
                          floating* s3, const floating* g, const double* c, Py_ssize_t n,
                          int nt) noexcept nogil:
    """The step's element loop over n entries with the scalars c, on nt threads (one
    below STEP_PARALLEL_MIN); absent state arrays are NULL."""
    cdef Py_ssize_t k, lo
    if n < STEP_PARALLEL_MIN or nt <= 1:
        if floating is float:
            st.f32(x, s1, s2, s3, g, c, n)
        else:
            st.f64(x, s1, s2, s3, g, c, n)
        return
    for k in prange((n + STEP_CHUNK - 1) // STEP_CHUNK, schedule="dynamic", num_threads=nt):
        lo = k * STEP_CHUNK
        if floating is float:
            st.f32(x + lo, _offset(s1, lo), _offset(s2, lo), _offset(s3, lo), g + lo, c,
                   min(n, lo + STEP_CHUNK) - lo)
        else:
            st.f64(x + lo, _offset(s1, lo), _offset(s2, lo), _offset(s3, lo), g + lo, c,
                   min(n, lo + STEP_CHUNK) - lo)
