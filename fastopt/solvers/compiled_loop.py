"""The whole first-order iteration loop in compiled code, for the built-in linear objectives.

:func:`solve` runs gd (constant, scheduled, 1/L or exact step), heavy-ball, momentum,
nesterov (with the gradient restart scheme), adagrad, rmsprop, adam and adamw on a
``Logistic`` or ``LeastSquares`` objective of the numba backend (dense or CSR), full batch
or mini-batch, with no Python per iteration: one jitted function (:func:`_fo_loop`)
calls the numba loss/gradient kernels (``*_loss_grad``, ``*_loss_grad_rows``,
``*_hvp``) and the fused update kernels of :mod:`fastopt.kernels.numba.updates` directly,
applies the stopping tests of :class:`~fastopt.solvers.run.Run` (tol, xtol, ftol,
max_iter, divergence) inside the loop, keeps the best finite iterate, and writes
history rows into a preallocated array every ``history_every`` iterations. Step-size
and momentum schedules are tabulated before the loop (:func:`fastopt.schedules.tabulate`).
Elapsed time per row is read from the CPU cycle counter (a few cycles) and converted
to seconds with the loop's wall time.

What stays in Python (:func:`unsupported` says why for a given run): user Functions
and other objectives, callbacks, ``max_time``, Armijo backtracking, SAM, the
function-value restart scheme, and the numpy/cython backends.
"""

from __future__ import annotations

import math
import time

import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from .. import schedules as _sched
from .._config import jit
from .._result import Status
from ..kernels.numba.least_squares import (
    lsq_hvp,
    lsq_hvp_csr,
    lsq_loss_grad,
    lsq_loss_grad_csr,
    lsq_loss_grad_rows,
    lsq_loss_grad_rows_csr,
)
from ..kernels.numba.logistic import (
    logistic_hvp,
    logistic_hvp_csr,
    logistic_loss_grad,
    logistic_loss_grad_csr,
    logistic_loss_grad_rows,
    logistic_loss_grad_rows_csr,
)
from ..kernels.numba.updates import adagrad_, adamw_, gd_, heavy_ball_, nesterov_, rmsprop_
from .first_order import (
    GD,
    AdaGrad,
    Adam,
    HeavyBall,
    Nesterov,
    RMSProp,
    check_schedule_value,
    seed_state,
    shuffle_,
)

__all__ = ["solve", "unsupported", "gradient_loop"]

_KIND = {"logistic": 0, "lsq": 1}
#: Largest schedule table (entries); longer runs with a non-constant schedule use Python.
MAX_TABLE = 1 << 24


# --- objective dispatch, resolved at compile time from the data tuple ------------------------

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
            if kind == 0:
                return logistic_loss_grad(data[0], y, sw, w, lam, g, work)
            return lsq_loss_grad(data[0], y, sw, w, lam, g, work)
    else:
        def impl(kind, data, y, sw, w, lam, g, work):
            if kind == 0:
                return logistic_loss_grad_csr(data[0], data[1], data[2], data[3], y, sw, w,
                                              lam, g, work)
            return lsq_loss_grad_csr(data[0], data[1], data[2], data[3], y, sw, w, lam, g, work)
    return impl


@overload(_loss_grad_rows)
def _loss_grad_rows_impl(kind, data, y, sw, w, lam, rows, scale, g, work):
    if len(data) == 1:
        def impl(kind, data, y, sw, w, lam, rows, scale, g, work):
            if kind == 0:
                return logistic_loss_grad_rows(data[0], y, sw, w, lam, rows, scale, g, work)
            return lsq_loss_grad_rows(data[0], y, sw, w, lam, rows, scale, g, work)
    else:
        def impl(kind, data, y, sw, w, lam, rows, scale, g, work):
            if kind == 0:
                return logistic_loss_grad_rows_csr(data[0], data[1], data[2], data[3], y, sw,
                                                   w, lam, rows, scale, g, work)
            return lsq_loss_grad_rows_csr(data[0], data[1], data[2], data[3], y, sw, w, lam,
                                          rows, scale, g, work)
    return impl


@overload(_hvp)
def _hvp_impl(kind, data, y, sw, w, v, lam, out, work):
    if len(data) == 1:
        def impl(kind, data, y, sw, w, v, lam, out, work):
            if kind == 0:
                logistic_hvp(data[0], y, sw, w, v, lam, out, work)
            else:
                lsq_hvp(data[0], y, sw, w, v, lam, out, work)
    else:
        def impl(kind, data, y, sw, w, v, lam, out, work):
            if kind == 0:
                logistic_hvp_csr(data[0], data[1], data[2], data[3], y, sw, w, v, lam, out, work)
            else:
                lsq_hvp_csr(data[0], data[1], data[2], data[3], y, sw, w, v, lam, out, work)
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
def _fo_loop(kind, data, y, sw, lam, work, x, g, gb, x_prev, hv, s1, s2, s3,
             method, exact, lr_tab, mom_tab, restart, fparams,
             tol, xtol, ftol, max_iter, div_factor, every, hist,
             perm, batch, rng, best_x, best_g, counts):
    """Run the iteration; returns (status, nit, f, best_f, n_hist).

    counts (float64[5]) receives nfev, njev, nhev, n_passes, n_restarts.
    method: 0 gd, 1 heavy ball, 2 nesterov, 3 adagrad, 4 rmsprop, 5 adam(w).
    fparams: eps, rho (rmsprop), beta1, beta2, weight_decay.
    """
    m = y.shape[0]
    p = x.shape[0]
    eps, rms_rho, beta1, beta2, wd = fparams[0], fparams[1], fparams[2], fparams[3], fparams[4]
    nfev = 0.0
    njev = 0.0
    nhev = 0.0
    passes = 0.0
    n_restarts = 0.0
    n_hist = 0
    k = 0
    k_restart = 0
    pos = 0
    f = np.nan
    f0 = np.nan
    f_prev = np.nan
    best_f = np.inf
    step_norm = np.nan
    alpha = np.nan
    status = -1
    observe = True
    while True:
        if observe:
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
            if not (np.isfinite(f) and np.isfinite(gnorm)) or \
                    f - f0 > div_factor * max(1.0, abs(f0)):
                status = 20
                break
            if f <= best_f:
                best_f = f
                best_x[:] = x
                best_g[:] = g
            if gnorm <= tol:
                status = 0
            elif k > 0 and xtol > 0 and step_norm <= xtol:
                # xtol = 0 disables the test: a zero step (a rounding-lost update) is
                # not convergence.
                status = 1
            elif k > 0 and ftol > 0 and abs(f_prev - f) <= ftol * max(1.0, abs(f_prev)):
                status = 2
            elif k >= max_iter:
                status = 10
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
        if method == 0:
            if exact:
                _hvp(kind, data, y, sw, x, gs, lam, hv, work)
                nhev += 1.0
                passes += 1.0
                ghg = _dot(gs, hv)
                alpha = _dot(gs, gs) / ghg if ghg > 0 else np.nan
                if not np.isfinite(alpha):
                    status = 21
                    break
            else:
                alpha = _table(lr_tab, k)
            gd_(x, gs, alpha)
        elif method == 1:
            alpha = _table(lr_tab, k)
            heavy_ball_(x, s1, gs, alpha, _table(mom_tab, k))
        elif method == 2:
            alpha = _table(lr_tab, k)
            rho = _table(mom_tab, k - k_restart)
            rho_next = _table(mom_tab, k + 1 - k_restart)
            nesterov_(x, s1, gs, alpha, rho, rho_next)
            if restart and _dot(gs, s1) > 0.0:
                for i in range(p):
                    x[i] -= rho_next * s1[i]
                    s1[i] = 0.0
                k_restart = k + 1
                n_restarts += 1.0
        elif method == 3:
            alpha = _table(lr_tab, k)
            adagrad_(x, s1, gs, alpha, eps)
        elif method == 4:
            alpha = _table(lr_tab, k)
            rmsprop_(x, s1, gs, alpha, rms_rho, eps)
        else:
            alpha = _table(lr_tab, k)
            adamw_(x, s1, s2, gs, k + 1, alpha, beta1, beta2, eps, wd, s3)
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
    return status, k, f, best_f, n_hist


@jit
def gradient_loop(kind, data, y, sw, lam, work, x, g, iters):
    """The gradient alone, ``iters`` times, compiled: the baseline of the overhead benchmark."""
    f = 0.0
    for _ in range(iters):
        f = _loss_grad(kind, data, y, sw, x, lam, g, work)
    return f


# --- Python side ---------------------------------------------------------------------------------

def _objective_kind(objective):
    from ..problems.base import LinearObjective

    if not isinstance(objective, LinearObjective):
        return None
    prefix = objective.kernel_arguments().prefix
    if prefix not in _KIND:
        return None
    # A subclass that overrides the evaluation would not be what the kernels compute.
    for name in ("_loss_grad_into", "_hvp_into", "batch_loss_grad_into"):
        if getattr(type(objective), name) is not getattr(LinearObjective, name):
            return None
    return _KIND[prefix]


def unsupported(objective, opt, run, backend) -> str | None:
    """None if the compiled loop can run this; otherwise why not (the Python loop runs)."""
    if _objective_kind(objective) is None:
        return "the objective is not a built-in Logistic or LeastSquares"
    if objective.backend != "numba" or backend != "numba":
        return f"the compiled loop needs the numba backend (objective: {objective.backend!r}, " \
               f"updates: {backend!r})"
    if run.callback is not None:
        return "a callback runs Python every iteration"
    if math.isfinite(run.max_time):
        return "max_time needs the wall clock"
    if isinstance(opt, GD) and opt.step == "armijo":
        return "Armijo backtracking runs in Python"
    if isinstance(opt, Nesterov) and opt.restart is not None and opt.restart.scheme != "gradient":
        return "the function-value restart scheme runs in Python"
    if not isinstance(opt, (GD, HeavyBall, Nesterov, AdaGrad, RMSProp, Adam)):
        return f"{type(opt).__name__} has no compiled loop"
    for sched in (getattr(opt, "lr", None), getattr(opt, "momentum", None)):
        if sched is not None and not _is_constant(sched) and run.max_iter + 2 > MAX_TABLE:
            return "schedule table too long"
    return None


def _is_constant(sched):
    return isinstance(sched, _sched.Schedule) and sched.is_constant


def _tab(sched, n, name, used):
    """The schedule's values at t = 0..n-1 (one entry if constant).

    The first ``used`` entries, those the loop can reach, are checked as the Python loop
    checks each value it uses (:func:`~.first_order.check_schedule_value`), so both loops
    accept and refuse the same schedules (the Python loop refuses when it gets there).
    """
    if sched is None:
        return np.zeros(1)
    if isinstance(sched, _sched.AdaptiveRestart):
        sched = sched.base
    if _is_constant(sched):
        tab = np.array([sched(0)], dtype=np.float64)
    else:
        tab = _sched.tabulate(sched, n)
    head = tab[:used]
    if name == "lr":
        bad = ~(np.isfinite(head) & (head > 0))
    else:
        bad = ~(np.isfinite(head) & (head >= 0) & (head < 1))
    if bad.any():
        k = int(np.argmax(bad))
        check_schedule_value(name, k, head[k])  # raises the error naming the parameter
    return tab


def solve(objective, x, opt, run, batch, seed, method):
    """Run ``opt`` compiled; returns the OptimizeResult built by ``run``."""
    kind = _objective_kind(objective)
    p = x.shape[0]
    n = run.max_iter + 2
    code = opt.code
    # Steps are taken at k = 0..max_iter-1; Nesterov also reads the momentum at k + 1.
    lr_tab = _tab(None if (isinstance(opt, GD) and opt.step == "exact") else opt.lr, n, "lr",
                  run.max_iter)
    mom_tab = _tab(getattr(opt, "momentum", None), n, "momentum",
                   run.max_iter + (code == 2))
    s1 = np.zeros(p)
    s2 = np.zeros(p) if code == 5 else np.zeros(0)
    s3 = np.zeros(p) if (code == 5 and opt.amsgrad) else np.zeros(0)
    fparams = np.zeros(5)
    if code == 3:
        fparams[0] = opt.eps
    elif code == 4:
        fparams[:2] = opt.eps, opt.rho
    elif code == 5:
        fparams[:] = opt.eps, 0.0, opt.beta1, opt.beta2, opt.weight_decay
    exact = isinstance(opt, GD) and opt.step == "exact"
    restart = isinstance(opt, Nesterov) and opt.restart is not None
    every = run.history.every if run.record_history else 0
    hist = np.full(((run.max_iter // every + 2) if every else 1, 6), np.nan)
    m = objective.n_samples
    if batch:
        perm = np.arange(m, dtype=np.int64)
        rng = seed_state(seed)
        shuffle_(perm, rng)
    else:
        perm, rng = np.zeros(0, np.int64), np.zeros(1, np.uint64)
    # Written at every finite iterate; a run that diverges at k = 0 never writes them, and
    # the result is then x0 with its (non-finite) value, as in the Python loop.
    best_x, best_g = x.copy(), np.full(p, np.nan)
    g, gb, x_prev, hv = np.empty(p), np.empty(p), np.empty(p), np.empty(p)
    counts = np.zeros(5)
    args = objective.kernel_arguments()
    t_start, c_start = time.perf_counter(), int(_cycles_py())
    status, nit, f, best_f, n_hist = _fo_loop(
        kind, args.data, args.y, args.sw, args.lam, args.work, x, g, gb, x_prev, hv,
        s1, s2, s3, code, exact, lr_tab, mom_tab, restart, fparams,
        run.tol, run.xtol, run.ftol, run.max_iter, run.divergence_factor, every, hist,
        perm, int(batch or 0), rng, best_x, best_g, counts)
    t_end, c_end = time.perf_counter(), int(_cycles_py())
    objective.nfev += int(counts[0])
    objective.njev += int(counts[1])
    objective.nhev += int(counts[2])
    objective.n_passes += counts[3] if batch else int(counts[3])
    rows = hist[:n_hist].copy()
    # Cycle counts -> seconds since the run started (the loop's own wall-time scale).
    t_offset = t_start - run.t0
    if c_end > c_start:
        rows[:, 5] = t_offset + (rows[:, 5] - c_start) * ((t_end - t_start) / (c_end - c_start))
    else:  # no cycle counter: spread the loop's time evenly over the recorded rows
        rows[:, 5] = t_offset + np.linspace(0, t_end - t_start, n_hist)
    run.history.extend(rows)
    status = Status(status)
    if status == Status.DIVERGED and best_f < math.inf:
        run.best_x, run.best_f, run.best_g = best_x, best_f, best_g
    extra = {"loop": "compiled"}
    if method == "gd":
        extra["step_rule"] = opt.step
    if restart:
        extra["n_restarts"] = int(counts[4])
    return run.result(x, f, g, status, nit, objective, method, **extra)


@jit
def _read_cycles():
    return _cycles()


def _cycles_py():
    return _read_cycles()
