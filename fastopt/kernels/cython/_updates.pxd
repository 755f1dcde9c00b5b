# cython: language_level=3
#
# The element loops of the fused optimizer updates (_updates.h, float32 and float64),
# declared once for the modules that call them: updates.pyx (the public kernels) and
# _fo_loop.pyx (the compiled first-order loop, float64).

cdef extern from "_updates.h" nogil:
    void fo_gd_f32(float* x, const float* g, float lr, Py_ssize_t n)
    void fo_gd_f64(double* x, const double* g, double lr, Py_ssize_t n)
    void fo_hb_f32(float* x, float* s, const float* g, float lr, float rho, Py_ssize_t n)
    void fo_hb_f64(double* x, double* s, const double* g, double lr, double rho,
                   Py_ssize_t n)
    void fo_nag_f32(float* x, float* s, const float* g, float lr, float rho, float rho_next,
                    Py_ssize_t n)
    void fo_nag_f64(double* x, double* s, const double* g, double lr, double rho,
                    double rho_next, Py_ssize_t n)
    void fo_scaled_f32(float* x, float* r, const float* g, float lr, float c_r, float c_g,
                       float eps, Py_ssize_t n)
    void fo_scaled_f64(double* x, double* r, const double* g, double lr, double c_r,
                       double c_g, double eps, Py_ssize_t n)
    void fo_adam_f32(float* x, float* m, float* v, const float* g, float step, float b1,
                     float b2, float c1, float c2, float isb, float eps, float keep,
                     Py_ssize_t n)
    void fo_adam_f64(double* x, double* m, double* v, const double* g, double step,
                     double b1, double b2, double c1, double c2, double isb, double eps,
                     double keep, Py_ssize_t n)
    void fo_amsgrad_f32(float* x, float* m, float* v, float* v_max, const float* g,
                        float step, float b1, float b2, float c1, float c2, float isb,
                        float eps, float keep, Py_ssize_t n)
    void fo_amsgrad_f64(double* x, double* m, double* v, double* v_max, const double* g,
                        double step, double b1, double b2, double c1, double c2, double isb,
                        double eps, double keep, Py_ssize_t n)
    void fo_nadam_f32(float* x, float* m, float* v, const float* g, float c_g, float c_m,
                      float b1, float b2, float c1, float c2, float bc2, float eps,
                      Py_ssize_t n)
    void fo_nadam_f64(double* x, double* m, double* v, const double* g, double c_g,
                      double c_m, double b1, double b2, double c1, double c2, double bc2,
                      double eps, Py_ssize_t n)
