# cython: language_level=3
# Over 500 lines: the loop calls the passes of every data layout (dense or CSR, float32 or
# float64, int32 or int64 indices) and the update spans at C level, so their typed binding,
# the loop and its argument checks live in this one extension module.
"""The whole first-order iteration loop in C, the Cython twin of the numba loop.

:func:`fo_loop` takes the arguments of the numba ``_fo_loop``
(:mod:`fastopt.kernels.numba._fo_loop`), runs the same iteration with the same stopping
tests, status codes and history layout, and returns the same tuple; the solver side
(:mod:`fastopt.solvers.compiled_loop`) prepares the arguments and calls either. Every
iteration stays in C with the GIL released: the loss/gradient, mini-batch and
Hessian-vector passes are the inline passes of ``_common.pxd`` (the very code of the
generic ``linear`` kernels, for the loss code ``kind``), the updates are the element
loops of ``_updates.h`` (those of the ``updates`` kernels, float64), the mini-batch
permutations come from ``_rng.pxd`` (the generator every backend shares), and the time
column of the history is a monotonic clock read (:func:`clock`), which the solver maps
onto its own wall clock.

Iteration k (x: the iterate; g: the full gradient, evaluated where the run is observed):

    observe (k = 0, every full-batch step, at each epoch end and at the end of a
    mini-batch run): f, g = f(x), grad f(x); history row; divergence test; best finite
    iterate; stopping tests ||g|| <= tol, ||x_k - x_{k-1}|| <= xtol,
    |f_{k-1} - f_k| <= ftol max(1, |f_{k-1}|), k >= max_iter
    step: gs = g, or the batch gradient over the next rows of the permutation scaled by
    m / (rows); x <- update(x, gs) with alpha = lr_tab[min(k, end)] (gd: or the exact
    step ||gs||^2 / <gs, H gs>).

Methods (``method``): the code of a step of :mod:`fastopt.kernels.steps`, whose per-call
scalars and element loop are those of ``_updates.h``; gd may take the exact step and
Nesterov (look-ahead form) restarts when ``restart`` and <gs, s> > 0 (the momentum is
dropped). ``fparams``: the step's hyper-parameters in its ``params`` order, its momentum
slots filled at each step from ``mom_tab``; the step's carry is ``state[9]``. The
stopping tests are :func:`fastopt._stopping.stop_status`, written again in C here
(:func:`stop_status`, compared with the Python function by the tests); the status values
are those of :class:`fastopt._result.Status`, read from it when this module is imported,
plus -2: paused (the history buffer is full; call again to go on).
"""

from cython cimport floating
from libc.math cimport INFINITY, NAN, fabs, isfinite, sqrt
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

import numpy as np

from fastopt import _config
from fastopt._result import Status

from ._common cimport (
    csr_hvp_pass,
    csr_loss_pass,
    dense_hvp_pass,
    dense_loss_pass,
    fo_dot_f64,
    index_t,
)
from ._loss_codes cimport N_LOSSES
from ._rng cimport shuffle_span

from ._updates cimport (
    FO_MAX_COEFS,
    FO_MAX_PARAMS,
    FO_N_STEPS,
    FO_STEP_GD,
    FO_STEP_MOMENTUM_NEXT_SLOT,
    FO_STEP_MOMENTUM_SLOT,
    FO_STEP_NESTEROV,
    FO_STEP_NSTATE,
    FO_STEPS,
    fo_step,
    run_step,
)


# The status values of fastopt._result.Status, read from the enum (not retyped).
cdef int ST_GTOL = Status.GTOL
cdef int ST_XTOL = Status.XTOL
cdef int ST_FTOL = Status.FTOL
cdef int ST_MAX_ITER = Status.MAX_ITER
cdef int ST_DIVERGED = Status.DIVERGED
cdef int ST_LINE_SEARCH = Status.LINE_SEARCH

__all__ = ["fo_loop", "gradient_loop", "clock"]


cdef extern from *:
    """
    #if defined(_WIN32)
    #include <windows.h>
    static double fo_monotonic_seconds(void) {
        LARGE_INTEGER c, f;
        QueryPerformanceCounter(&c);
        QueryPerformanceFrequency(&f);
        return (double) c.QuadPart / (double) f.QuadPart;
    }
    #else
    #include <time.h>
    static double fo_monotonic_seconds(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
    }
    #endif
    """
    double fo_monotonic_seconds() noexcept nogil


cdef enum:
    HIST_COLS = 6
    # Status of a run stopped because ``hist`` is full; called again with a new ``hist``
    # and the same ``state``, it goes on with the very iterates it would have computed.
    PAUSED = -2
    # Entries of ``state``: k, k_restart, pos, f, f0, f_prev, best_f, step_norm, alpha,
    # the step's carry (NAdam: prod of mu_t).
    STATE_LEN = 10


# --- the objective's passes, one C function per data layout ------------------------------

cdef struct Problem:
    int kind                 # a loss code of fastopt.kernels.losses (_loss_codes.pxd)
    const void* X            # dense X (m, n) or the CSR values
    const void* indices      # CSR only
    const void* indptr       # CSR only
    Py_ssize_t m
    Py_ssize_t n
    Py_ssize_t p
    const double* y
    const double* sw
    double lam
    double* work
    Py_ssize_t ldw
    Py_ssize_t T             # chunks of the reductions: work's rows, fixed by the data's size
    int nt                   # fastopt's thread count when the loop was bound


# f and the gradient into g over all rows (rows NULL) or over rows[:k], weights * scale.
ctypedef double (*loss_fn)(const Problem* P, const double* w, const long long* rows,
                           Py_ssize_t k, double scale, double* g) noexcept nogil
# out = H(w) v
ctypedef void (*hvp_fn)(const Problem* P, const double* w, const double* v,
                        double* out) noexcept nogil


cdef inline double _dense_loss(const floating* X, const Problem* P, const double* w,
                               const long long* rows, Py_ssize_t k, double scale,
                               double* g) noexcept nogil:
    if rows == NULL:
        return dense_loss_pass(P.kind, X, P.m, P.n, P.y, P.sw, w, P.p, P.lam, NULL, False,
                               1.0, g, NULL, P.work, P.ldw, P.T, P.nt)
    return dense_loss_pass(P.kind, X, k, P.n, P.y, P.sw, w, P.p, P.lam, rows, True, scale, g,
                           NULL, P.work, P.ldw, P.T, P.nt)


cdef inline double _csr_loss(const floating* data, const index_t* indices,
                             const index_t* indptr, const Problem* P, const double* w,
                             const long long* rows, Py_ssize_t k, double scale,
                             double* g) noexcept nogil:
    return csr_loss_pass(P.kind, data, indices, indptr, P.m, P.n, P.y, P.sw, w, P.p, P.lam,
                         rows, k, rows != NULL, scale if rows != NULL else 1.0, g, NULL,
                         P.work, P.ldw, P.T, P.nt)


cdef double loss_dense_f64(const Problem* P, const double* w, const long long* rows,
                           Py_ssize_t k, double scale, double* g) noexcept nogil:
    return _dense_loss(<const double*> P.X, P, w, rows, k, scale, g)


cdef double loss_dense_f32(const Problem* P, const double* w, const long long* rows,
                           Py_ssize_t k, double scale, double* g) noexcept nogil:
    return _dense_loss(<const float*> P.X, P, w, rows, k, scale, g)


cdef double loss_csr_f64_i32(const Problem* P, const double* w, const long long* rows,
                             Py_ssize_t k, double scale, double* g) noexcept nogil:
    return _csr_loss(<const double*> P.X, <const int*> P.indices, <const int*> P.indptr, P,
                     w, rows, k, scale, g)


cdef double loss_csr_f64_i64(const Problem* P, const double* w, const long long* rows,
                             Py_ssize_t k, double scale, double* g) noexcept nogil:
    return _csr_loss(<const double*> P.X, <const long long*> P.indices,
                     <const long long*> P.indptr, P, w, rows, k, scale, g)


cdef double loss_csr_f32_i32(const Problem* P, const double* w, const long long* rows,
                             Py_ssize_t k, double scale, double* g) noexcept nogil:
    return _csr_loss(<const float*> P.X, <const int*> P.indices, <const int*> P.indptr, P,
                     w, rows, k, scale, g)


cdef double loss_csr_f32_i64(const Problem* P, const double* w, const long long* rows,
                             Py_ssize_t k, double scale, double* g) noexcept nogil:
    return _csr_loss(<const float*> P.X, <const long long*> P.indices,
                     <const long long*> P.indptr, P, w, rows, k, scale, g)


cdef void hvp_dense_f64(const Problem* P, const double* w, const double* v,
                        double* out) noexcept nogil:
    dense_hvp_pass(P.kind, <const double*> P.X, P.m, P.n, P.y, P.sw, w, v, P.p, P.lam, out,
                   P.work, P.ldw, P.T, P.nt)


cdef void hvp_dense_f32(const Problem* P, const double* w, const double* v,
                        double* out) noexcept nogil:
    dense_hvp_pass(P.kind, <const float*> P.X, P.m, P.n, P.y, P.sw, w, v, P.p, P.lam, out,
                   P.work, P.ldw, P.T, P.nt)


cdef void hvp_csr_f64_i32(const Problem* P, const double* w, const double* v,
                          double* out) noexcept nogil:
    csr_hvp_pass(P.kind, <const double*> P.X, <const int*> P.indices, <const int*> P.indptr,
                 P.m, P.n, P.y, P.sw, w, v, P.p, P.lam, out, P.work, P.ldw, P.T, P.nt)


cdef void hvp_csr_f64_i64(const Problem* P, const double* w, const double* v,
                          double* out) noexcept nogil:
    csr_hvp_pass(P.kind, <const double*> P.X, <const long long*> P.indices,
                 <const long long*> P.indptr, P.m, P.n, P.y, P.sw, w, v, P.p, P.lam, out,
                 P.work, P.ldw, P.T, P.nt)


cdef void hvp_csr_f32_i32(const Problem* P, const double* w, const double* v,
                          double* out) noexcept nogil:
    csr_hvp_pass(P.kind, <const float*> P.X, <const int*> P.indices, <const int*> P.indptr,
                 P.m, P.n, P.y, P.sw, w, v, P.p, P.lam, out, P.work, P.ldw, P.T, P.nt)


cdef void hvp_csr_f32_i64(const Problem* P, const double* w, const double* v,
                          double* out) noexcept nogil:
    csr_hvp_pass(P.kind, <const float*> P.X, <const long long*> P.indices,
                 <const long long*> P.indptr, P.m, P.n, P.y, P.sw, w, v, P.p, P.lam, out,
                 P.work, P.ldw, P.T, P.nt)


cdef class _Bound:
    """The objective's arrays held as typed views (so their pointers stay valid) and the
    Problem with the pass functions for their layout and dtypes."""

    cdef Problem P
    cdef loss_fn loss
    cdef hvp_fn hvp
    cdef object keep  # the arrays the pointers point into

    cdef void bind(self, int kind, tuple data, const double[::1] y, const double[::1] sw,
                   double lam, double[:, ::1] work, Py_ssize_t p) except *:
        cdef const double[:, ::1] X64
        cdef const float[:, ::1] X32
        cdef const double[::1] d64
        cdef const float[::1] d32
        cdef const int[::1] ind32
        cdef const int[::1] ptr32
        cdef const long long[::1] ind64
        cdef const long long[::1] ptr64
        cdef Py_ssize_t m = y.shape[0], n, nnz
        if kind < 0 or kind >= N_LOSSES:
            raise ValueError(f"kind must be a loss code in [0, {N_LOSSES}) "
                             f"(fastopt.kernels.losses); got {kind}")
        if sw.shape[0] != m:
            raise ValueError("y and sw must have one entry per row")
        if work.shape[0] < 1 or work.shape[1] < p:
            raise ValueError(f"work must have shape (T >= 1, {p})")
        self.P.kind = kind
        self.P.m = m
        self.P.p = p
        self.P.y = &y[0] if m > 0 else NULL
        self.P.sw = &sw[0] if m > 0 else NULL
        self.P.lam = lam
        self.P.work = &work[0, 0]
        self.P.ldw = work.shape[1]
        self.P.T = work.shape[0]
        # Read once per loop: the threads share the T chunks; the result does not depend
        # on their number.
        self.P.nt = _config._NUM_THREADS
        self.P.indices = NULL
        self.P.indptr = NULL
        if len(data) == 1:
            X = data[0]
            if X.ndim != 2 or X.shape[0] != m:
                raise ValueError("X must have shape (m, n) with m = len(y)")
            n = X.shape[1]
            if X.dtype == np.float64:
                X64 = X
                self.P.X = &X64[0, 0] if m * n > 0 else NULL
                self.loss = loss_dense_f64
                self.hvp = hvp_dense_f64
            elif X.dtype == np.float32:
                X32 = X
                self.P.X = &X32[0, 0] if m * n > 0 else NULL
                self.loss = loss_dense_f32
                self.hvp = hvp_dense_f32
            else:
                raise TypeError(f"X must be float32 or float64; got {X.dtype}")
        elif len(data) == 4:
            values, indices, indptr, n = data
            if indptr.shape[0] != m + 1 or indices.dtype != indptr.dtype:
                raise ValueError("CSR indptr must have m + 1 entries, of the indices' dtype")
            nnz = int(indptr[m]) if m > 0 else 0
            if values.shape[0] < nnz or indices.shape[0] < nnz:
                raise ValueError("CSR data and indices must hold indptr[m] entries")
            if values.dtype == np.float64:
                d64 = values
                self.P.X = &d64[0] if d64.shape[0] > 0 else NULL
                f64 = True
            elif values.dtype == np.float32:
                d32 = values
                self.P.X = &d32[0] if d32.shape[0] > 0 else NULL
                f64 = False
            else:
                raise TypeError(f"CSR data must be float32 or float64; got {values.dtype}")
            if indptr.dtype == np.int32:
                ind32, ptr32 = indices, indptr
                self.P.indices = &ind32[0] if ind32.shape[0] > 0 else NULL
                self.P.indptr = &ptr32[0]
                self.loss = loss_csr_f64_i32 if f64 else loss_csr_f32_i32
                self.hvp = hvp_csr_f64_i32 if f64 else hvp_csr_f32_i32
            elif indptr.dtype == np.int64:
                ind64, ptr64 = indices, indptr
                self.P.indices = &ind64[0] if ind64.shape[0] > 0 else NULL
                self.P.indptr = &ptr64[0]
                self.loss = loss_csr_f64_i64 if f64 else loss_csr_f32_i64
                self.hvp = hvp_csr_f64_i64 if f64 else hvp_csr_f32_i64
            else:
                raise TypeError(f"CSR indices must be int32 or int64; got {indptr.dtype}")
        else:
            raise ValueError("data must be (X,) or (data, indices, indptr, n_features)")
        if p != n and p != n + 1:
            raise ValueError(f"x must have n = {n} or n + 1 entries; got {p}")
        self.P.n = n
        self.keep = (data, y, sw, work)


# --- the loop ------------------------------------------------------------------------------

cdef inline double table(const double* tab, Py_ssize_t n_tab, Py_ssize_t k) noexcept nogil:
    return tab[min(k, n_tab - 1)]


cdef inline int _stop(Py_ssize_t k, double f, double f0, double f_prev, double gnorm,
                      double step_norm, double tol, double xtol, double ftol,
                      Py_ssize_t max_iter, double div_factor) noexcept nogil:
    # fastopt._stopping.stop_status (with a gradient), test for test.
    if not (isfinite(f) and isfinite(gnorm)) or f - f0 > div_factor * max(1.0, fabs(f0)):
        return ST_DIVERGED
    if gnorm <= tol:
        return ST_GTOL
    if k > 0 and xtol > 0 and step_norm <= xtol:
        return ST_XTOL
    if k > 0 and ftol > 0 and fabs(f_prev - f) <= ftol * max(1.0, fabs(f_prev)):
        return ST_FTOL
    if k >= max_iter:
        return ST_MAX_ITER
    return -1


def stop_status(Py_ssize_t k, double f, double f0, double f_prev, double gnorm,
                double step_norm, double tol, double xtol, double ftol, Py_ssize_t max_iter,
                double div_factor):
    """The C loop's stopping tests, callable from Python (for the tests that compare it
    with :func:`fastopt._stopping.stop_status`)."""
    return _stop(k, f, f0, f_prev, gnorm, step_norm, tol, xtol, ftol, max_iter, div_factor)


cdef struct Outcome:
    int status
    Py_ssize_t nit
    double f
    double best_f
    Py_ssize_t n_hist


cdef Outcome run(const Problem* P, loss_fn loss, hvp_fn hvp,
                 double* x, double* g, double* gb, double* x_prev, double* hv,
                 double* s1, double* s2, double* s3, int method, bint exact,
                 const double* lr_tab, Py_ssize_t n_lr, const double* mom_tab,
                 Py_ssize_t n_mom, bint restart, const double* fparams,
                 double tol, double xtol, double ftol, Py_ssize_t max_iter, double div_factor,
                 Py_ssize_t every, double* hist, Py_ssize_t hist_rows,
                 long long* perm, Py_ssize_t batch, uint64_t* rng,
                 double* best_x, double* best_g, double* counts,
                 double* state) noexcept nogil:
    # The scalars of the iteration start from ``state`` and ``counts`` and are written
    # back on return, so a run paused on a full history buffer resumes where it stopped.
    cdef Py_ssize_t m = P.m, p = P.p, i, hi
    cdef Py_ssize_t k = <Py_ssize_t> state[0], k_restart = <Py_ssize_t> state[1]
    cdef Py_ssize_t pos = <Py_ssize_t> state[2]
    cdef const fo_step* st = &FO_STEPS[method]
    cdef int mom_slot = FO_STEP_MOMENTUM_SLOT[method]
    cdef int next_slot = FO_STEP_MOMENTUM_NEXT_SLOT[method]
    cdef double pv[FO_MAX_PARAMS]
    cdef double c[FO_MAX_COEFS]
    cdef double carry = state[9]
    cdef double nfev = counts[0], njev = counts[1], nhev = counts[2], passes = counts[3]
    cdef double n_restarts = counts[4]
    cdef double f = state[3], f0 = state[4], f_prev = state[5], best_f = state[6]
    cdef double step_norm = state[7], alpha = state[8], gnorm, ghg, rho_next
    cdef double acc, d
    cdef int status = -1
    cdef bint observe = True
    cdef const double* gs
    cdef double* row
    cdef Outcome out
    memcpy(pv, fparams, FO_MAX_PARAMS * sizeof(double))
    out.n_hist = 0
    while True:
        if observe:
            if every > 0 and k % every == 0 and out.n_hist == hist_rows:
                status = PAUSED  # the history row has nowhere to go: the caller grows it
                break
            f = loss(P, x, NULL, 0, 1.0, g)
            nfev += 1.0
            njev += 1.0
            passes += 1.0
            gnorm = sqrt(fo_dot_f64(g, g, p))
            if k == 0:
                f0 = f
            if every > 0 and k % every == 0:
                row = hist + out.n_hist * HIST_COLS
                row[0] = <double> k
                row[1] = f
                row[2] = gnorm
                row[3] = step_norm
                row[4] = alpha
                row[5] = fo_monotonic_seconds()
                out.n_hist += 1
            status = _stop(k, f, f0, f_prev, gnorm, step_norm, tol, xtol, ftol, max_iter,
                           div_factor)
            if status == ST_DIVERGED:
                break
            if f <= best_f:
                best_f = f
                memcpy(best_x, x, p * sizeof(double))
                memcpy(best_g, g, p * sizeof(double))
            f_prev = f
            if status >= 0:
                break
        if batch > 0:
            if pos >= m:
                shuffle_span(perm, m, rng)
                pos = 0
            hi = min(m, pos + batch)
            loss(P, x, perm + pos, hi - pos, <double> m / <double> (hi - pos), gb)
            nfev += 1.0
            njev += 1.0
            passes += <double> (hi - pos) / <double> m
            pos = hi
            gs = gb
        else:
            gs = g
        memcpy(x_prev, x, p * sizeof(double))
        if method == FO_STEP_GD and exact:
            hvp(P, x, gs, hv)
            nhev += 1.0
            passes += 1.0
            ghg = fo_dot_f64(gs, hv, p)
            alpha = fo_dot_f64(gs, gs, p) / ghg if ghg > 0 else NAN
            if not isfinite(alpha):
                status = ST_LINE_SEARCH
                break
        else:
            alpha = table(lr_tab, n_lr, k)
        if mom_slot >= 0:
            pv[mom_slot] = table(mom_tab, n_mom, k - k_restart)
        if next_slot >= 0:
            pv[next_slot] = table(mom_tab, n_mom, k + 1 - k_restart)
        st.coefs(<double> (k + 1), alpha, pv, &carry, c)
        run_step(st, x, s1, s2, s3, <const double*> gs, c, p, P.nt)
        if method == FO_STEP_NESTEROV and restart and fo_dot_f64(gs, s1, p) > 0.0:
            rho_next = pv[next_slot]
            for i in range(p):
                x[i] -= rho_next * s1[i]
                s1[i] = 0.0
            k_restart = k + 1
            n_restarts += 1.0
        acc = 0.0
        for i in range(p):
            d = x[i] - x_prev[i]
            acc += d * d
        step_norm = sqrt(acc)
        k += 1
        observe = batch == 0 or pos >= m or k >= max_iter
    counts[0] = nfev
    counts[1] = njev
    counts[2] = nhev
    counts[3] = passes
    counts[4] = n_restarts
    state[0] = <double> k
    state[1] = <double> k_restart
    state[2] = <double> pos
    state[3] = f
    state[4] = f0
    state[5] = f_prev
    state[6] = best_f
    state[7] = step_norm
    state[8] = alpha
    state[9] = carry
    out.status = status
    out.nit = k
    out.f = f
    out.best_f = best_f
    return out


cdef inline double* _ptr(double[::1] a, Py_ssize_t p, str name) except? NULL:
    """&a[0] for an array of p entries, NULL for an empty one (p = 0 allowed)."""
    if a.shape[0] != p:
        raise ValueError(f"{name} must have {p} entries; got {a.shape[0]}")
    return &a[0] if p > 0 else NULL


def fo_loop(int kind, tuple data, const double[::1] y, const double[::1] sw, double lam,
            double[:, ::1] work, double[::1] x, double[::1] g, double[::1] gb,
            double[::1] x_prev, double[::1] hv, double[::1] s1, double[::1] s2,
            double[::1] s3, int method, bint exact, const double[::1] lr_tab,
            const double[::1] mom_tab, bint restart, const double[::1] fparams, double tol,
            double xtol, double ftol, Py_ssize_t max_iter, double div_factor,
            Py_ssize_t every, double[:, ::1] hist, long long[::1] perm, Py_ssize_t batch,
            uint64_t[::1] rng, double[::1] best_x, double[::1] best_g, double[::1] counts,
            double[::1] state):
    """Run the first-order iteration in C; returns ``(status, nit, f, best_f, n_hist)``.

    Parameters
    ----------
    kind : int, the loss code (``objective.loss.code``, ``fastopt.kernels.losses``)
    data : tuple, ``(X,)`` (dense (m, n), float32/float64, C-contiguous) or
        ``(data, indices, indptr, n_features)`` (canonical CSR, int32 or int64 indices)
    y, sw : ndarray of shape (m,), float64, targets and normalized sample weights
    lam : float, L2 strength (not on the intercept)
    work : ndarray of shape (T, p), float64, scratch of the passes (T chunks)
    x : ndarray of shape (p,), float64, the start, updated in place (the last iterate)
    g : ndarray of shape (p,), receives the full gradient at the last observed iterate
    gb, x_prev, hv : ndarray of shape (p,), scratch (batch gradient, previous iterate,
        Hessian-vector product)
    s1, s2, s3 : ndarray, the step's state arrays in its order (shape (p,), or (0,) when
        unused)
    method : int, the code of a step of :mod:`fastopt.kernels.steps`
    exact : bool, gd with the exact step ``||g||^2 / <g, H g>`` (one HVP per step)
    lr_tab, mom_tab : ndarray, float64, schedule tables (entry ``min(k, len - 1)`` at k)
    restart : bool, Nesterov gradient restart
    fparams : ndarray of shape (8,), the step's hyper-parameters in its order
    tol, xtol, ftol, max_iter, div_factor : stopping tests (see the module docstring)
    every : int, history row every ``every`` iterations (0: none)
    hist : ndarray of shape (rows, 6), float64: iteration, f, ||g||, step norm, step size,
        clock reading (:func:`clock`)
    perm : ndarray of shape (m,), int64, the current row permutation (mini-batch)
    batch : int, mini-batch size (0: full gradient)
    rng : ndarray of shape (1,), uint64, shuffle generator state (advanced in place)
    best_x, best_g : ndarray of shape (p,), the best finite iterate and its gradient
    counts : ndarray of shape (5,), nfev, njev, nhev, passes, restarts: added to
    state : ndarray of shape (10,), float64, the loop's scalars, read at the start and
        written at the end (:func:`fastopt.solvers.compiled_loop.fresh_state` for a new
        run). Status -2 means ``hist`` filled up before the run ended: call again with
        a new ``hist`` and the same arrays to go on.

    Returns
    -------
    tuple
        ``(status, nit, f, best_f, n_hist)``.
    """
    cdef Py_ssize_t p = x.shape[0]
    cdef _Bound B = _Bound()
    cdef Outcome o
    cdef double* px
    cdef double* pg
    cdef double* pgb
    cdef double* pxp
    cdef double* phv
    cdef double* ps1
    cdef double* ps2
    cdef double* ps3
    cdef int ns
    cdef double* pbx
    cdef double* pbg
    cdef long long* pperm = NULL
    B.bind(kind, data, y, sw, lam, work, p)
    if p == 0:
        raise ValueError("x must not be empty")
    if not 0 <= method < FO_N_STEPS or FO_STEPS[method].coefs == NULL:
        raise ValueError(f"method must be a step code in [0, {FO_N_STEPS}) "
                         f"(fastopt.kernels.steps); got {method}")
    px, pg, pgb = _ptr(x, p, "x"), _ptr(g, p, "g"), _ptr(gb, p, "gb")
    pxp, phv = _ptr(x_prev, p, "x_prev"), _ptr(hv, p, "hv")
    pbx, pbg = _ptr(best_x, p, "best_x"), _ptr(best_g, p, "best_g")
    ns = FO_STEP_NSTATE[method]
    ps1 = _ptr(s1, p, "s1") if ns >= 1 else NULL
    ps2 = _ptr(s2, p, "s2") if ns >= 2 else NULL
    ps3 = _ptr(s3, p, "s3") if ns >= 3 else NULL
    if lr_tab.shape[0] < 1 or mom_tab.shape[0] < 1:
        raise ValueError("lr_tab and mom_tab need at least one entry")
    if fparams.shape[0] < FO_MAX_PARAMS or counts.shape[0] < 5:
        raise ValueError(f"fparams needs {FO_MAX_PARAMS} entries and counts 5")
    if state.shape[0] != STATE_LEN:
        raise ValueError(f"state must have {STATE_LEN} entries; got {state.shape[0]}")
    if hist.shape[1] != HIST_COLS:
        raise ValueError("hist must have 6 columns")
    if every < 0 or max_iter < 0:
        raise ValueError("every and max_iter must be >= 0")
    if batch > 0:
        if perm.shape[0] != B.P.m or rng.shape[0] < 1:
            raise ValueError("a mini-batch run needs perm of m entries and a rng state")
        pperm = &perm[0]
    with nogil:
        o = run(&B.P, B.loss, B.hvp, px, pg, pgb, pxp, phv, ps1, ps2, ps3, method, exact,
                &lr_tab[0], lr_tab.shape[0], &mom_tab[0], mom_tab.shape[0], restart,
                &fparams[0], tol, xtol, ftol, max_iter, div_factor, every,
                &hist[0, 0] if hist.shape[0] > 0 else NULL, hist.shape[0],
                pperm, batch, &rng[0] if batch > 0 else NULL, pbx, pbg, &counts[0],
                &state[0])
    return o.status, o.nit, o.f, o.best_f, o.n_hist


def gradient_loop(int kind, tuple data, const double[::1] y, const double[::1] sw,
                  double lam, double[:, ::1] work, double[::1] x, double[::1] g,
                  Py_ssize_t iters):
    """The loss and gradient alone, ``iters`` times in C: the baseline of the loop-overhead
    benchmark (bench/report_updates.py). Returns the last f."""
    cdef Py_ssize_t p = x.shape[0], it
    cdef _Bound B = _Bound()
    cdef double f = NAN
    cdef double* px
    cdef double* pg
    B.bind(kind, data, y, sw, lam, work, p)
    px, pg = _ptr(x, p, "x"), _ptr(g, p, "g")
    with nogil:
        for it in range(iters):
            f = B.loss(&B.P, px, NULL, 0, 1.0, pg)
    return f


def clock():
    """The monotonic clock of the history's time column, in seconds."""
    return fo_monotonic_seconds()
