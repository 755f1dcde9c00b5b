"""The whole first-order iteration loop as one numba function (the numba backend's loop).

:func:`fo_loop` runs the iteration that :mod:`fastopt.solvers.compiled_loop` prepares:
it calls the generic numba loss/gradient kernels (``linear_loss_grad``,
``linear_loss_grad_rows``, ``linear_hvp``, dense or CSR chosen at compile time from the
data tuple, the loss by its run-time code ``kind``) and the fused update kernels of
:mod:`fastopt.kernels.numba.updates` directly, applies the stopping tests inside the
loop, keeps the best finite iterate and writes history rows into a preallocated array.
Its arguments, status codes and history layout are those of the Cython twin,
``fastopt.kernels.cython._fo_loop.fo_loop``, whose docstring lists them. The time column
holds CPU cycle-counter readings (:func:`clock`, a few cycles per read), which the
solver maps onto its wall clock.

This module is imported only when a numba loop runs: it compiles the loop (seconds) on
its first call in a process.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from ..._config import jit
from ..._stopping import DIVERGED, LINE_SEARCH, stop_status
from .. import steps as _steps
from .linear import (
    linear_hvp,
    linear_hvp_csr,
    linear_loss_grad,
    linear_loss_grad_csr,
    linear_loss_grad_rows,
    linear_loss_grad_rows_csr,
)
from .shuffle import shuffle_
from .updates import step_update

__all__ = ["fo_loop", "gradient_loop", "clock"]

#: Status of a run stopped on a full history buffer (see :func:`fo_loop`).
PAUSED = -2

#: The codes of the two steps the loop treats specially (exact step, restart), and where
#: each step takes its scheduled momentum rho_k and rho_{k+1} (-1: it takes none).
GD = _steps.CODES["gd"]
NESTEROV = _steps.CODES["nesterov"]
_MOMENTUM_SLOT = np.array([s.slot("momentum") for s in _steps.STEPS], dtype=np.int64)
_MOMENTUM_NEXT_SLOT = np.array([s.slot("momentum_next") for s in _steps.STEPS],
                               dtype=np.int64)

#: The stopping tests of every loop (:mod:`fastopt._stopping`), compiled.
_stop = jit(stop_status)


# --- objective dispatch: dense or CSR at compile time from the data tuple; the loss is the
# run-time code ``kind`` (fastopt.kernels.losses), passed on to the generic kernels --------

def _loss_grad(kind, data, y, sw, w, lam, g, work):
    raise NotImplementedError


def _loss_grad_rows(kind, data, y, sw, w, lam, rows, scale, g, work):
    raise NotImplementedError


def _hvp(kind, data, y, sw, w, v, lam, out, work):
    raise NotImplementedError


@overload(_loss_grad)
def _loss_grad_impl(kind, data, y, sw, w, lam, g, work):
    if len(data) == 1:
        def impl(kind, data, y, sw, w, lam, g, work):
            return linear_loss_grad(kind, data[0], y, sw, w, lam, g, work)
    else:
        def impl(kind, data, y, sw, w, lam, g, work):
            return linear_loss_grad_csr(kind, data[0], data[1], data[2], data[3], y, sw, w,
                                        lam, g, work)
    return impl


@overload(_loss_grad_rows)
def _loss_grad_rows_impl(kind, data, y, sw, w, lam, rows, scale, g, work):
    if len(data) == 1:
        def impl(kind, data, y, sw, w, lam, rows, scale, g, work):
            return linear_loss_grad_rows(kind, data[0], y, sw, w, lam, rows, scale, g, work)
    else:
        def impl(kind, data, y, sw, w, lam, rows, scale, g, work):
            return linear_loss_grad_rows_csr(kind, data[0], data[1], data[2], data[3], y, sw,
                                             w, lam, rows, scale, g, work)
    return impl


@overload(_hvp)
def _hvp_impl(kind, data, y, sw, w, v, lam, out, work):
    if len(data) == 1:
        def impl(kind, data, y, sw, w, v, lam, out, work):
            linear_hvp(kind, data[0], y, sw, w, v, lam, out, work)
    else:
        def impl(kind, data, y, sw, w, v, lam, out, work):
            linear_hvp_csr(kind, data[0], data[1], data[2], data[3], y, sw, w, v, lam, out,
                           work)
    return impl


@intrinsic
def _cycles(typingctx):
    """The CPU cycle counter (llvm.readcyclecounter): a clock costing a few cycles."""
    sig = types.uint64()

    def codegen(context, builder, signature, args):
        fnty = cgutils.ir.FunctionType(cgutils.ir.IntType(64), [])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.readcyclecounter")
        return builder.call(fn, [])

    return sig, codegen


# --- the loop ------------------------------------------------------------------------------------

@jit
def _dot(a, b):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * b[i]
    return s


@jit
def _table(tab, k):
    return tab[min(k, tab.shape[0] - 1)]


@jit
def fo_loop(kind, data, y, sw, lam, work, x, g, gb, x_prev, hv, s1, s2, s3,
             method, exact, lr_tab, mom_tab, restart, fparams,
             tol, xtol, ftol, max_iter, div_factor, every, hist,
             perm, batch, rng, best_x, best_g, counts, state):
    """Run the iteration; returns (status, nit, f, best_f, n_hist).

    counts (float64[5]): nfev, njev, nhev, n_passes, n_restarts, added to.
    state (float64[9]): k, k_restart, pos, f, f0, f_prev, best_f, step_norm, alpha, read at
    the start and written at the end, so that a run paused on a full ``hist`` (status -2)
    goes on, called again with a new ``hist``, with the iterates it would have computed.
    method: the code of a step of :mod:`fastopt.kernels.steps` (its update; gd may take the
    exact step, Nesterov restarts when ``restart``).
    fparams: the step's hyper-parameters in its ``params`` order (the momentum slots are
    filled from ``mom_tab``).
    state[9]: the step's carry (NAdam: prod of mu_t).
    """
    m = y.shape[0]
    p = x.shape[0]
    pv = fparams.copy()
    mom_slot = _MOMENTUM_SLOT[method]
    next_slot = _MOMENTUM_NEXT_SLOT[method]
    carry = state[9]
    nfev = counts[0]
    njev = counts[1]
    nhev = counts[2]
    passes = counts[3]
    n_restarts = counts[4]
    n_hist = 0
    k = np.int64(state[0])
    k_restart = np.int64(state[1])
    pos = np.int64(state[2])
    f = state[3]
    f0 = state[4]
    f_prev = state[5]
    best_f = state[6]
    step_norm = state[7]
    alpha = state[8]
    status = -1
    observe = True
    while True:
        if observe:
            if every > 0 and k % every == 0 and n_hist == hist.shape[0]:
                status = PAUSED  # the history row has nowhere to go: the caller grows it
                break
            f = _loss_grad(kind, data, y, sw, x, lam, g, work)
            nfev += 1.0
            njev += 1.0
            passes += 1.0
            gnorm = np.sqrt(_dot(g, g))
            if k == 0:
                f0 = f
            if every > 0 and k % every == 0:
                row = hist[n_hist]
                row[0] = k
                row[1] = f
                row[2] = gnorm
                row[3] = step_norm
                row[4] = alpha
                row[5] = np.float64(_cycles())
                n_hist += 1
            status = _stop(k, f, f0, f_prev, gnorm, True, step_norm, tol, xtol, ftol, max_iter,
                           div_factor)
            if status == DIVERGED:
                break
            if f <= best_f:
                best_f = f
                best_x[:] = x
                best_g[:] = g
            f_prev = f
            if status >= 0:
                break
        if batch > 0:
            if pos >= m:
                shuffle_(perm, rng)
                pos = 0
            hi = min(m, pos + batch)
            rows = perm[pos:hi]
            _loss_grad_rows(kind, data, y, sw, x, lam, rows, m / (hi - pos), gb, work)
            nfev += 1.0
            njev += 1.0
            passes += (hi - pos) / m
            pos = hi
            gs = gb
        else:
            gs = g
        x_prev[:] = x
        if method == GD and exact:
            _hvp(kind, data, y, sw, x, gs, lam, hv, work)
            nhev += 1.0
            passes += 1.0
            ghg = _dot(gs, hv)
            alpha = _dot(gs, gs) / ghg if ghg > 0 else np.nan
            if not np.isfinite(alpha):
                status = LINE_SEARCH
                break
        else:
            alpha = _table(lr_tab, k)
        if mom_slot >= 0:
            pv[mom_slot] = _table(mom_tab, k - k_restart)
        if next_slot >= 0:
            pv[next_slot] = _table(mom_tab, k + 1 - k_restart)
        carry = step_update(method, x, s1, s2, s3, gs, k + 1, alpha, pv, carry)
        if method == NESTEROV and restart and _dot(gs, s1) > 0.0:
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
        step_norm = np.sqrt(acc)
        k += 1
        observe = batch == 0 or pos >= m or k >= max_iter
    counts[0] = nfev
    counts[1] = njev
    counts[2] = nhev
    counts[3] = passes
    counts[4] = n_restarts
    state[0] = k
    state[1] = k_restart
    state[2] = pos
    state[3] = f
    state[4] = f0
    state[5] = f_prev
    state[6] = best_f
    state[7] = step_norm
    state[8] = alpha
    state[9] = carry
    return status, k, f, best_f, n_hist


@jit
def gradient_loop(kind, data, y, sw, lam, work, x, g, iters):
    """The gradient alone, ``iters`` times, compiled: the baseline of the overhead benchmark."""
    f = 0.0
    for _ in range(iters):
        f = _loss_grad(kind, data, y, sw, x, lam, g, work)
    return f


@jit
def _read_cycles():
    return _cycles()


def clock():
    """The cycle counter of the history's time column (cycles)."""
    return int(_read_cycles())
