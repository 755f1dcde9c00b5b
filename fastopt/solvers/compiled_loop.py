"""The whole first-order iteration loop in compiled code, for the built-in linear objectives.

:func:`solve` runs every method of the registry (:mod:`.fo_methods`; gd with a
constant, scheduled, 1/L or exact step, nesterov with the gradient restart scheme) on a
built-in linear objective
(dense or CSR), full batch or mini-batch, with no Python per iteration; the method's
entry gives the loop its code, state arrays and parameters. The loop itself is a kernel
of the objective's backend, with one signature in both (the Cython docstring lists it):

- Cython (the default backend): ``fastopt.kernels.cython._fo_loop.fo_loop``, the
  iteration in C calling the Cython passes and update spans at C level, compiled ahead
  of time (nothing is compiled at call time);
- numba: :func:`fastopt.kernels.numba._fo_loop.fo_loop`, one jitted function calling
  the numba kernels, imported (and compiled) only when a numba loop runs.

Both apply the stopping tests of :class:`~fastopt.solvers.run.Run` (tol, xtol, ftol,
max_iter, divergence) inside the loop, keep the best finite iterate, and write history
rows into a preallocated array every ``history_every`` iterations. Step-size and
momentum schedules are tabulated here, before the loop (:func:`fastopt.schedules.tabulate`).
The time column holds the loop's own clock readings (cycle counter for numba, a monotonic
clock for Cython), mapped here onto the run's wall clock.

What stays in Python (:func:`unsupported` says why for a given run): user Functions
and other objectives, callbacks, ``max_time``, Armijo backtracking, SAM, the
function-value restart scheme, the numpy backend, and mixed backends (the objective's
and the updates' backends must be the same compiled one).
"""

from __future__ import annotations

import math
import time

import numpy as np

from .. import schedules as _sched
from .._result import Status
from ..kernels import compiled_loop
from . import fo_methods
from .minibatch import seed_state
from .optimizers import GD, Nesterov, check_schedule_value

__all__ = ["solve", "unsupported", "loop_module", "fresh_state"]

#: Largest schedule table (entries, 8 MB); longer runs with a non-constant schedule use
#: the Python loop, whose memory does not grow with ``max_iter``.
MAX_TABLE = 1 << 20
#: History rows of the loop's first buffer. A run that fills it pauses (status
#: ``PAUSED``) and goes on with a buffer twice as large, so the history takes memory in
#: proportion to the iterations run, not to ``max_iter``.
FIRST_HISTORY_ROWS = 256
#: Status of a loop stopped on a full history buffer.
PAUSED = -2


def loop_module(backend: str):
    """The module of ``backend``'s compiled loop (:func:`fastopt.kernels.compiled_loop`)."""
    return compiled_loop(backend)


def _objective_kind(objective):
    from ..problems.linear_objective import LinearObjective

    if not isinstance(objective, LinearObjective):
        return None
    # A subclass that overrides the evaluation would not be what the kernels compute.
    for name in ("_loss_grad_into", "_hvp_into", "batch_loss_grad_into"):
        if getattr(type(objective), name) is not getattr(LinearObjective, name):
            return None
    # the loss code of the table (fastopt.kernels.losses), the loops' ``kind`` argument
    return objective.loss.code


def unsupported(objective, opt, run, backend, method=None) -> str | None:
    """None if the compiled loop can run first-order ``method`` (optimizer ``opt``) here;
    otherwise why not (the Python loop runs)."""
    if method is not None and not fo_methods.get(method).compiled:
        return f"{method!r} has no compiled-loop step"
    if _objective_kind(objective) is None:
        return "the objective is not a built-in linear model (Logistic, LeastSquares, Poisson)"
    if not objective.rows_in_memory:
        return "X is read in row blocks (each pass a sum over blocks, run from Python)"
    try:
        loop = compiled_loop(objective.backend)
    except ImportError as exc:  # a Cython build that predates the loop extension
        return f"the {objective.backend} loop is not available ({exc})"
    if loop is None or backend != objective.backend:
        return ("the compiled loop needs a backend with one (cython, numba) for both the "
                f"objective and the updates (objective: {objective.backend!r}, updates: "
                f"{backend!r})")
    if run.callback is not None:
        return "a callback runs Python every iteration"
    if math.isfinite(run.max_time):
        return "max_time needs the wall clock"
    if isinstance(opt, GD) and opt.step == "armijo":
        return "Armijo backtracking runs in Python"
    if isinstance(opt, Nesterov) and opt.restart is not None and opt.restart.scheme != "gradient":
        return "the function-value restart scheme runs in Python"
    for sched in (getattr(opt, "lr", None), getattr(opt, "momentum", None)):
        if sched is not None and not _is_constant(sched) and run.max_iter + 2 > MAX_TABLE:
            return "schedule table too long"
    return None


def fresh_state(step=None) -> np.ndarray:
    """The loop's scalars at the start of a run (k, k_restart, pos, f, f0, f_prev, best_f,
    step_norm, alpha, and the carry of ``step``, a :class:`fastopt.kernels.steps.Step`:
    NAdam's prod mu_t): the ``state`` argument of ``fo_loop``."""
    carry = step.carry0 if step is not None and step.carry0 is not None else 0.0
    return np.array([0.0, 0.0, 0.0, np.nan, np.nan, np.nan, np.inf, np.nan, np.nan, carry])


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
    entry = fo_methods.get(method)
    step = entry.step_of(opt)
    # Steps are taken at k = 0..max_iter-1; Nesterov also reads the momentum at k + 1.
    lr_tab = _tab(None if (isinstance(opt, GD) and opt.step == "exact") else opt.lr, n, "lr",
                  run.max_iter)
    mom_tab = _tab(getattr(opt, "momentum", None), n, "momentum",
                   run.max_iter + isinstance(opt, Nesterov))
    s1, s2, s3 = entry.loop_state(opt, p)
    fparams = entry.fparams(opt)
    exact = isinstance(opt, GD) and opt.step == "exact"
    restart = isinstance(opt, Nesterov) and opt.restart is not None
    every = run.history.every if run.record_history else 0
    rows_left = (run.max_iter // every + 2) if every else 1
    m = objective.n_samples
    loop = loop_module(objective.backend)
    if batch:
        perm = np.arange(m, dtype=np.int64)
        rng = seed_state(seed)
        objective.kernels.shuffle_(perm, rng)
    else:
        perm, rng = np.zeros(0, np.int64), np.zeros(1, np.uint64)
    # Written at every finite iterate; a run that diverges at k = 0 never writes them, and
    # the result is then x0 with its (non-finite) value, as in the Python loop.
    best_x, best_g = x.copy(), np.full(p, np.nan)
    g, gb, x_prev, hv = np.empty(p), np.empty(p), np.empty(p), np.empty(p)
    counts = np.zeros(5)
    state = fresh_state(step)
    args = objective.kernel_arguments()
    pieces = []
    size = min(rows_left, FIRST_HISTORY_ROWS)
    t_start, c_start = time.perf_counter(), loop.clock()
    while True:
        hist = np.full((size, 6), np.nan)
        status, nit, f, best_f, n_hist = loop.fo_loop(
            kind, args.data, args.y, args.sw, args.lam, args.work, x, g, gb, x_prev, hv,
            s1, s2, s3, step.code, exact, lr_tab, mom_tab, restart, fparams,
            run.tol, run.xtol, run.ftol, run.max_iter, run.divergence_factor, every, hist,
            perm, int(batch or 0), rng, best_x, best_g, counts, state)
        pieces.append(hist[:n_hist])
        rows_left -= n_hist
        if status != PAUSED:
            break
        size = max(1, min(2 * size, rows_left))
    t_end, c_end = time.perf_counter(), loop.clock()
    objective.nfev += int(counts[0])
    objective.njev += int(counts[1])
    objective.nhev += int(counts[2])
    objective.n_passes += counts[3] if batch else int(counts[3])
    rows = np.concatenate(pieces) if len(pieces) > 1 else pieces[0].copy()
    n_hist = rows.shape[0]
    # Clock readings -> seconds since the run started (the loop's own wall-time scale).
    t_offset = t_start - run.t0
    if c_end > c_start:
        rows[:, 5] = t_offset + (rows[:, 5] - c_start) * ((t_end - t_start) / (c_end - c_start))
    else:  # no clock: spread the loop's time evenly over the recorded rows
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
