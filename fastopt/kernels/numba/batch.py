"""Numba twin of ``batch_newton``: K independent Newton solves in one call.

The layout, the algorithm and the status codes are those of the Cython kernel
(``fastopt/kernels/cython/batch.pyx``, whose module docstring is the specification).
Problem k has ``m_k = n_rows[k]`` rows; its i-th row is ``X[rows[x_start[k] + i]]`` when
``rows`` is not empty, else ``X[x_start[k] + i]``; its targets and normalized weights are
``y[y_start[k] + i]`` and ``sw[y_start[k] + i]``. It minimizes

.. math::

    f_k(w) = \\sum_i sw_i \\, \\ell(\\langle a_i, w_{:n} \\rangle + w_n, y_i)
    + \\frac{\\lambda_k}{2} \\|w_{:n}\\|^2

(``w_n`` only with ``fit_intercept``) by Newton's method from ``W[k]``:

* Hessian ``H = A~^T diag(d) A~ + lam_k I_n`` with ``d_i = sw_i l''_i`` (lower triangle
  only): dense rows go in blocks of :data:`_GRAM_ROWS`, scaled by ``sqrt(d_i)`` and
  transposed into a (p, B) scratch so that every entry is one contiguous dot (what
  ``dsyrk`` does in the Cython); CSR rows add the products of their pairs of nonzeros;
* direction ``-(H + r I)^{-1} g`` from a small in-place Cholesky factorization, with the
  ridge ``r`` tried in the Cython kernel's sequence (see :func:`_next_ridge`);
* Armijo backtracking: ``f(w + t d) <= f + c t <g, d> + 8 eps |f|`` with ``c = 1e-4``,
  ``t = 1, 1/2, ...`` (60 tries); every trial predictor is ``z + t X d`` (one product
  ``X d`` per iteration);
* stop when ``||grad f_k||_2 <= tol`` (status 0), after ``max_iter`` iterations (1), when
  no step decreases f (2), when no ridge makes H positive definite (3), or at once when
  f is not finite at the start point (4). Only problems whose status is -1 on entry
  (and with at least one row) are solved; the others are left untouched.

The per-row loss math (loss, ``sw_i l'_i``, ``sw_i l''_i`` by loss code) is that of the
single fits, :func:`._linear._rows_scalar`, over blocks of ``ROW_BLOCK`` rows.

Threads: ``prange`` over the problems, handed out one at a time (``parallel_chunksize(1)``,
the ``schedule(dynamic)`` of the Cython); each solve runs sequentially inside its thread,
so the result does not depend on the thread count (set with
``fastopt._config.set_num_threads``). Each thread has its own workspace, allocated once
per call and indexed by ``numba.get_thread_id()``. Dense X may be float32 or float64
(float64 accumulation); a CSR call runs the same compiled code as a float64 dense call,
so the module compiles (lazily, on first use) at most two specializations.
"""

from __future__ import annotations

import math

import numpy as np
from numba import carray, get_num_threads, get_thread_id, parallel_chunksize, prange

from fastopt._config import jit, jit_parallel

from ..batch_codes import CONVERGED, MAX_ITER, NO_DECREASE, NONFINITE, PENDING, SINGULAR
from ._linear import _SCRATCH_ROWS, _SCRATCH_SIZE, _rows_scalar
from ._rowops import ROW_BLOCK
from ._stack import stack_pointer

__all__ = ["batch_newton", "batch_newton_csr"]

#: Rows per block of the dense Hessian (the Cython's ``GRAM_ROWS`` rows per ``dsyrk``).
_GRAM_ROWS = 64
#: Armijo constant, step halvings and ridge tries: those of the Cython kernel.
_ARMIJO = 1e-4
_HALVINGS = 60
_RIDGE_TRIES = 8
_EPS = 2.220446049250313e-16


@jit
def _row(rows, gather, first, i):
    """Row of X of the problem's i-th row (picked by index, or contiguous)."""
    return rows[first + i] if gather else first + i


@jit
def _predict(X, data, indices, indptr, csr, n, rows, gather, first, m, w, icpt, out):
    """``out_i = <a_i, w_:n> (+ w_n)`` for the problem's m rows (float64 accumulation)."""
    b = w[n] if icpt else 0.0
    for i in range(m):
        r = _row(rows, gather, first, i)
        acc = 0.0
        if csr:
            for q in range(indptr[r], indptr[r + 1]):
                acc += data[q] * w[indices[q]]
        else:
            for j in range(n):
                acc += np.float64(X[r, j]) * w[j]
        out[i] = acc + b


@jit
def _loss_terms(kind, y, sw, m, z, xd, t, with_step, coef, d, want):
    """``sum_i sw_i l(z_i + t xd_i, y_i)`` (``xd`` ignored without ``with_step``); with
    ``want``, also ``coef[i] = sw_i l'`` and ``d[i] = sw_i l''`` at that point.

    Rows go through :func:`._linear._rows_scalar` in blocks of ``ROW_BLOCK``, as the
    Cython's ``block_coefs``: the very per-row math of the single fits.
    """
    idx = carray(stack_pointer(ROW_BLOCK, np.int64), ROW_BLOCK)
    tmp = carray(stack_pointer(ROW_BLOCK, np.float64), ROW_BLOCK)
    scratch = carray(stack_pointer(_SCRATCH_SIZE, np.float64), (_SCRATCH_ROWS, ROW_BLOCK))
    loss = 0.0
    for r0 in range(0, m, ROW_BLOCK):
        nb = min(ROW_BLOCK, m - r0)
        for k in range(nb):
            idx[k] = r0 + k
            tmp[k] = z[r0 + k] + t * xd[r0 + k] if with_step else z[r0 + k]
        loss += _rows_scalar(kind, y, sw, idx, nb, tmp, 1.0, want, d, scratch)
        if want:
            for k in range(nb):
                coef[r0 + k] = tmp[k]
    return loss


@jit
def _finite(x):
    """Whether x is finite, as a plain ordered comparison: inside :func:`_solve`,
    ``np.isfinite(f)`` and ``math.isfinite(f)`` came out True for ``f = inf`` (a Poisson
    loss whose ``exp`` overflowed), though fastopt's fastmath flags omit ``ninf``; this
    comparison came out right there."""
    return abs(x) < math.inf


@jit
def _half_sq(w, n):
    """``||w_:n||^2 / 2``."""
    acc = 0.0
    for j in range(n):
        acc += w[j] * w[j]
    return 0.5 * acc


@jit
def _gradient(X, data, indices, indptr, csr, n, rows, gather, first, m, coef, w, lam, icpt,
              g):
    """``g = A~^T coef + lam w_:n``; returns ``||g||_2``."""
    p = g.shape[0]
    for j in range(p):
        g[j] = 0.0
    acc = 0.0
    for i in range(m):
        r = _row(rows, gather, first, i)
        a = coef[i]
        if csr:
            for q in range(indptr[r], indptr[r + 1]):
                g[indices[q]] += a * data[q]
        else:
            for j in range(n):
                g[j] += a * np.float64(X[r, j])
        acc += a
    if icpt:
        g[n] = acc
    acc = 0.0
    for j in range(p):
        if j < n:
            g[j] += lam * w[j]
        acc += g[j] * g[j]
    return math.sqrt(acc)


@jit
def _gram_block(bt, nb, H):
    """``H[l, j] += sum_k bt[l, k] bt[j, k]`` for ``l >= j`` (contiguous dots over k)."""
    p = H.shape[0]
    for j in range(p):
        for l in range(j, p):
            s = 0.0
            for k in range(nb):
                s += bt[l, k] * bt[j, k]
            H[l, j] += s


@jit
def _hessian(X, data, indices, indptr, csr, n, rows, gather, first, m, d, lam, icpt, H, bt):
    """Lower triangle of ``H = A~^T diag(d) A~ + lam I_n`` (``H[l, j]``, ``l >= j``).

    ``d_i >= 0`` for every loss; rows with ``d_i = 0`` add nothing and are skipped. Dense
    rows are scaled by ``sqrt(d_i)`` into the columns of ``bt`` (p, B), B rows at a time;
    CSR rows (canonical: sorted columns, so ``indices[q2] >= indices[q1]`` for q2 >= q1)
    add ``d_i a_l a_j`` for each pair of their nonzeros.
    """
    p = H.shape[0]
    for j in range(p):
        for l in range(p):
            H[j, l] = 0.0
    nb = 0
    for i in range(m):
        di = d[i]
        if not di > 0.0:
            continue
        r = _row(rows, gather, first, i)
        if csr:
            hi = indptr[r + 1]
            for q1 in range(indptr[r], hi):
                j = indices[q1]
                v = di * data[q1]
                for q2 in range(q1, hi):
                    H[indices[q2], j] += v * data[q2]
                if icpt:
                    H[n, j] += v
            if icpt:
                H[n, n] += di
        else:
            s = math.sqrt(di)
            for j in range(n):
                bt[j, nb] = s * np.float64(X[r, j])
            if icpt:
                bt[n, nb] = s
            nb += 1
            if nb == _GRAM_ROWS:
                _gram_block(bt, nb, H)
                nb = 0
    if nb > 0:
        _gram_block(bt, nb, H)
    for j in range(n):
        H[j, j] += lam


@jit
def _cholesky(L):
    """In-place Cholesky factor of the lower triangle of ``L`` (``L[l, j]``, ``l >= j``).

    False when a pivot is not positive (or is NaN): LAPACK ``dpotrf``'s test.
    """
    p = L.shape[0]
    for j in range(p):
        s = L[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return False
        djj = math.sqrt(s)
        L[j, j] = djj
        for i in range(j + 1, p):
            s = L[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            L[i, j] = s / djj
    return True


@jit
def _next_ridge(ridge, scale):
    """The ridge after ``ridge``: 1e-12 ``scale`` first, then 100 times the last."""
    return 1e-12 * scale if ridge == 0.0 else ridge * 100.0


@jit
def _newton_direction(H, g, L, direction):
    """``direction = -(H + r I)^{-1} g`` with the first ridge r of :func:`_next_ridge`'s
    sequence (``scale`` the largest diagonal entry of H, 1 if none is positive) for
    which the Cholesky factorization succeeds; False when none of 8 does."""
    p = H.shape[0]
    scale = 0.0
    for j in range(p):
        if H[j, j] > scale:
            scale = H[j, j]
    if not scale > 0.0:
        scale = 1.0
    ridge = 0.0
    for _ in range(_RIDGE_TRIES):
        for j in range(p):
            for k in range(j + 1):
                L[j, k] = H[j, k]
            L[j, j] += ridge
        if _cholesky(L):
            # L u = -g, then L^T direction = u
            for j in range(p):
                s = -g[j]
                for k in range(j):
                    s -= L[j, k] * direction[k]
                direction[j] = s / L[j, j]
            for j in range(p - 1, -1, -1):
                s = direction[j]
                for k in range(j + 1, p):
                    s -= L[k, j] * direction[k]
                direction[j] = s / L[j, j]
            return True
        ridge = _next_ridge(ridge, scale)
    return False


@jit
def _solve(kind, X, data, indices, indptr, csr, n, rows, gather, first, m, y, sw, lam, icpt,
           tol, max_iter, w, z, xd, coef, d, g, direction, trial, H, L, bt):
    """One Newton solve from ``w`` (overwritten) in the given workspace.

    Returns ``(status, f, ||g||, iterations)``; ``y`` and ``sw`` are the problem's own
    (m,) slices, the workspace arrays have at least m (rows) or p (parameters) entries.
    """
    p = w.shape[0]
    _predict(X, data, indices, indptr, csr, n, rows, gather, first, m, w, icpt, z)
    f = _loss_terms(kind, y, sw, m, z, xd, 0.0, False, coef, d, True) + lam * _half_sq(w, n)
    if not _finite(f):
        return NONFINITE, f, f, 0
    gn = _gradient(X, data, indices, indptr, csr, n, rows, gather, first, m, coef, w, lam,
                   icpt, g)
    it = 0
    while True:
        if gn <= tol:
            status = CONVERGED
            break
        if it >= max_iter:
            status = MAX_ITER
            break
        _hessian(X, data, indices, indptr, csr, n, rows, gather, first, m, d, lam, icpt, H,
                 bt)
        if not _newton_direction(H, g, L, direction):
            status = SINGULAR
            break
        slope = 0.0
        for j in range(p):
            slope += g[j] * direction[j]
        if not slope < 0.0:
            status = NO_DECREASE
            break
        _predict(X, data, indices, indptr, csr, n, rows, gather, first, m, direction, icpt,
                 xd)
        t = 1.0
        accepted = False
        for _ in range(_HALVINGS):
            for j in range(p):
                trial[j] = w[j] + t * direction[j]
            f_trial = (_loss_terms(kind, y, sw, m, z, xd, t, True, coef, d, False)
                       + lam * _half_sq(trial, n))
            # Armijo, with room for rounding in f itself (near the optimum a Newton step
            # decreases f by less than the last bits of f)
            if _finite(f_trial) and f_trial <= f + _ARMIJO * t * slope + 8.0 * _EPS * abs(f):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            status = NO_DECREASE
            break
        for j in range(p):
            w[j] = trial[j]
        for i in range(m):
            z[i] += t * xd[i]
        f = (_loss_terms(kind, y, sw, m, z, xd, 0.0, False, coef, d, True)
             + lam * _half_sq(w, n))
        gn = _gradient(X, data, indices, indptr, csr, n, rows, gather, first, m, coef, w,
                       lam, icpt, g)
        it += 1
    return status, f, gn, it


@jit
def _problem(k, kind, X, data, indices, indptr, csr, n, rows, gather, x_start, n_rows, y, sw,
             y_start, lam, icpt, tol, max_iter, W, fun, grad_norm, n_iter, status, rws, pws,
             mats, bts):
    """Problem k's solve in the workspace of the calling thread, if it is pending."""
    m = n_rows[k]
    if status[k] != PENDING or m == 0:
        return
    tid = get_thread_id()
    lo = y_start[k]
    ws = rws[tid]
    pw = pws[tid]
    st, f, gn, it = _solve(kind, X, data, indices, indptr, csr, n, rows, gather, x_start[k],
                           m, y[lo:lo + m], sw[lo:lo + m], lam[k], icpt, tol, max_iter, W[k],
                           ws[0], ws[1], ws[2], ws[3], pw[0], pw[1], pw[2], mats[tid, 0],
                           mats[tid, 1], bts[tid])
    status[k] = st
    fun[k] = f
    grad_norm[k] = gn
    n_iter[k] = it


@jit_parallel
def _run(kind, X, data, indices, indptr, csr, n, rows, x_start, n_rows, y, sw, y_start, lam,
         icpt, tol, max_iter, W, fun, grad_norm, n_iter, status):
    """Every pending problem's solve, one problem at a time per thread."""
    K, p = W.shape
    m_max = 0
    for k in range(K):
        if status[k] == PENDING and n_rows[k] > m_max:
            m_max = n_rows[k]
    if m_max == 0:
        return
    gather = rows.shape[0] > 0
    # one workspace per thread (thread ids are 0 .. get_num_threads() - 1), allocated
    # once per call: per-row vectors z, X d, coefficients, Hessian weights; g, direction,
    # trial point; H and its factor; the transposed block of scaled rows
    nt = get_num_threads()
    rws = np.empty((nt, 4, m_max))
    pws = np.empty((nt, 3, p))
    mats = np.empty((nt, 2, p, p))
    bts = np.empty((nt, p, _GRAM_ROWS))
    with parallel_chunksize(1):
        for k in prange(K):
            _problem(k, kind, X, data, indices, indptr, csr, n, rows, gather, x_start, n_rows,
                     y, sw, y_start, lam, icpt, tol, max_iter, W, fun, grad_norm, n_iter,
                     status, rws, pws, mats, bts)


def _check_width(W, n, fit_intercept):
    # the one check the Cython kernel makes (the kernels trust every other input)
    if W.shape[1] != n + bool(fit_intercept):
        raise ValueError(f"W has {W.shape[1]} columns; expected {n + bool(fit_intercept)}")


def batch_newton(kind, X, rows, x_start, n_rows, y, sw, y_start, lam, fit_intercept, tol,
                 max_iter, W, fun, grad_norm, n_iter, status):
    """K Newton solves of the linear-model loss ``kind`` on dense rows: the numba twin of
    the Cython ``batch_newton`` (``fastopt/kernels/cython/batch.pyx``, whose docstring
    lists the arguments), with the same arguments, algorithm and results; ValueError if
    W does not have ``n + fit_intercept`` columns."""
    n = X.shape[1]
    _check_width(W, n, fit_intercept)
    # CSR arguments of the shared compiled code, never read on the dense path
    no_values = np.empty(0)
    no_index = np.empty(0, dtype=np.int64)
    _run(kind, X, no_values, no_index, no_index, False, n, rows, x_start, n_rows, y, sw,
         y_start, lam, bool(fit_intercept), tol, max_iter, W, fun, grad_norm, n_iter, status)


def batch_newton_csr(kind, data, indices, indptr, n_features, rows, x_start, n_rows, y, sw,
                     y_start, lam, fit_intercept, tol, max_iter, W, fun, grad_norm, n_iter,
                     status):
    """:func:`batch_newton` on X in CSR (float64 ``data``, int64 ``indices`` and
    ``indptr``, canonical: sorted indices, no duplicates), ``n_features`` columns; row r
    of X is ``data[indptr[r]:indptr[r + 1]]``. The other arguments are those of
    :func:`batch_newton`; the Hessian is accumulated from each row's pairs of nonzeros.
    """
    _check_width(W, n_features, fit_intercept)
    # a (0, n) float64 stand-in for dense X: the CSR call shares the float64 compilation
    no_rows = np.empty((0, n_features))
    _run(kind, no_rows, data, indices, indptr, True, n_features, rows, x_start, n_rows, y,
         sw, y_start, lam, bool(fit_intercept), tol, max_iter, W, fun, grad_norm, n_iter,
         status)
