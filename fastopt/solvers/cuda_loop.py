"""Device-resident first-order loop for linear-model objectives on ``backend="cuda"``.

The iterate x, the gradient g and the optimizer state (momentum s, AdaGrad/RMSProp r,
Adam m and v) live on the GPU for the whole run; the data were moved there once when the
objective was built (:class:`fastopt.problems.linear_data.DeviceLinearData`). One iteration is

1. the loss+gradient kernel at x (one pass over X, two-stage reduction on the device);
2. one single-block kernel that gathers ``[f, ||g||^2, ||x - x_prev||^2]`` and one
   24-byte copy of it to the host: the only transfer per iteration;
3. :meth:`fastopt.solvers.run.Run.observe` on those scalars (the same stopping tests,
   history and divergence rule as every other loop; history every ``history_every``);
4. the fused update kernel of :mod:`fastopt.kernels.cuda.updates`, in place on device
   arrays, called through the same optimizer objects as the CPU loops
   (:func:`fastopt.solvers.first_order.make_optimizer`, with their kernels swapped for
   the CUDA ones), so step-size and momentum schedules behave identically.

The best finite iterate is kept by a device-to-device copy; x and g come back to the host
once, at the end. With a callback, x is copied to the host when the callback (or the
best-iterate bookkeeping) needs it.

:func:`unsupported` says why a run cannot use this loop (mini-batches, Armijo or exact
steps, restarts, SAM); the Python loop then runs with host vectors and device data.
"""

from __future__ import annotations

import math

import numpy as np

from .._result import Status
from ..kernels import backend_package, is_device
from . import fo_methods
from .optimizers import GD, Nesterov

__all__ = ["solve", "unsupported"]


def unsupported(objective, opt, run, batch_size=None, method=None) -> str | None:
    """None if the device loop can run ``opt`` (of first-order ``method``) on
    ``objective``; otherwise why not."""
    if not is_device(getattr(objective, "backend", None)) or \
            not getattr(getattr(objective, "data", None), "on_device", False):
        return "the objective is not a device-resident (backend='cuda') linear model"
    if batch_size is not None:
        return "mini-batches run in the Python loop"
    if isinstance(opt, GD) and opt.step in ("armijo", "exact"):
        return f"step={opt.step!r} runs in Python"
    if isinstance(opt, Nesterov) and opt.restart is not None:
        return "adaptive restart runs in Python"
    if method is not None and not fo_methods.get(method).device:
        return f"{method!r} has no device loop"
    return None


class _DeviceIterate:
    """What :meth:`Run.observe` sees as x: copying it snapshots x on the device.

    ``Run`` copies x (``np.array(x, copy=True)``) when f improves, to return the best
    iterate of a diverged run. Here that copy is a device-to-device copy into ``best``
    and the host sees an empty placeholder; with a callback, which needs the values,
    the real host copy is made instead.
    """

    def __init__(self, x, best, host_copies: bool):
        self.x, self.best, self.host_copies = x, best, host_copies
        self.snapshots = 0

    def __array__(self, dtype=None, copy=None):
        if self.host_copies:
            out = self.x.copy_to_host()
            return out if dtype is None else out.astype(dtype)
        self.best.copy_to_device(self.x)
        self.snapshots += 1
        return np.empty(0)


def _device_state(state):
    """The optimizer's state dataclass with every non-empty array moved to the device."""
    from numba import cuda

    if state is None:
        return None
    for name, value in vars(state).items():
        if isinstance(value, np.ndarray) and value.size:
            setattr(state, name, cuda.to_device(value))
    return state


def solve(objective, x0, opt, run, method: str):
    """Run ``opt`` on a device-resident ``objective`` from ``x0``; returns the OptimizeResult.

    ``opt`` is an optimizer of :mod:`fastopt.solvers.first_order` (its kernels are
    replaced by the CUDA ones here); ``run`` the :class:`~fastopt.solvers.run.Run`.
    """
    from numba import cuda

    device_kernels = backend_package(objective.backend)
    iteration_stats = device_kernels.iteration_stats
    dev = objective.data
    loss, lam, work = objective.loss.code, objective.lam, objective.work
    intercept = objective.fit_intercept
    p = objective.n_params
    x_host0 = np.array(x0, dtype=np.float64, copy=True)
    x = cuda.to_device(x_host0)
    g = cuda.device_array(p, dtype=np.float64)
    x_prev = cuda.device_array(p, dtype=np.float64)
    best = cuda.device_array(p, dtype=np.float64)
    stats = cuda.device_array(3, dtype=np.float64)
    opt.k = device_kernels
    state = _device_state(opt.init(x_host0))
    iterate = _DeviceIterate(x, best, host_copies=run.callback is not None)
    need_step = run.xtol > 0
    k = 0
    alpha = math.nan
    while True:
        dev.launch_loss_grad(loss, x, lam, g, work, intercept)
        objective.nfev += 1
        objective.njev += 1
        objective.n_passes += 1
        with_step = need_step and k > 0
        f, gg, ss = iteration_stats(work, g, stats, x if with_step else None, x_prev)
        step_norm = math.sqrt(ss) if with_step else math.nan
        status = run.observe(k, iterate, f, g_norm=math.sqrt(gg), step_norm=step_norm,
                             step_size=alpha)
        if status is not None:
            break
        if need_step:
            x_prev.copy_to_device(x)
        alpha = opt.update_(x, state, g, k, f)
        if not math.isfinite(alpha):
            status = Status.DIVERGED
            break
        k += 1
    if run.best_x is not None and not iterate.host_copies:
        run.best_x = best.copy_to_host()
    return run.result(x.copy_to_host(), f, g.copy_to_host(), status, k, objective, method,
                      loop="cuda")
