# cython: language_level=3
#
# The C twin of the table of optimizer steps (_updates.h, codes generated into
# _step_table.h from fastopt/kernels/steps.py), declared once for the modules that call
# it: updates.pyx (the public kernels) and _fo_loop.pyx (the compiled first-order loop).

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
