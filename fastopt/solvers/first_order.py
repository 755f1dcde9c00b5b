"""The first-order solvers: the Python loop, the choice of loop, and the registration of
every method of the registry (:mod:`.fo_methods`) and of sam.

Each method is an optimizer in the optax style: ``init(x) -> state`` and
``update_(x, state, g, k) -> step_size``, where the state is a small dataclass of
preallocated arrays that a fused kernel of :mod:`fastopt.kernels` updates in place.
One driver loop (:func:`python_loop`) evaluates the gradient, applies the shared
stopping rules of :class:`~fastopt.solvers.run.Run` and calls the optimizer.

For the built-in linear objectives (Logistic, LeastSquares) on the Cython or numba
backend the whole loop runs compiled instead (:mod:`fastopt.solvers.compiled_loop`),
with no Python per iteration. The Python loop is used for user Functions and other
objectives, with a callback, with ``max_time``, for Armijo backtracking, for SAM, for
the function-value restart scheme, for the numpy backend, and when ``loop="python"``.
This module defines no compiled function: its kernels (updates, shuffles) come from the
backend named by the run.

Nesterov is implemented in look-ahead form (see :func:`fastopt.updates.nesterov_`): the
stored vector is y_k = x_k + rho_k s_k, the gradient is taken there, and the reported
iterate is y_k (the point whose f and gradient the result holds).

Mini-batches (``batch_size``, linear objectives only): each epoch visits the rows in a
fresh permutation drawn from a seeded generator (the ``shuffle_`` kernel of every
backend, :mod:`fastopt.kernels.reference.shuffle`: all backends and both loops draw the
same permutations, so they give the same iterates for the same seed); batch
gradients come from the ``*_loss_grad_rows`` kernels on row-index views (X is never
copied). An iteration is one batch step; the stopping tests and the history use the
full f and ||grad f||, evaluated at the start, at the end of every epoch and at the end
of the run (one extra pass per epoch, counted in ``n_passes``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import schedules as _sched
from .._checks import check_positive
from .._result import Status
from ..kernels import get_backend, host_backend, is_device, resolve_backend
from . import compiled_loop, cuda_loop, fo_methods
from .fo_methods import make_optimizer
from .minibatch import seed_state
from .optimizers import GD
from .registry import get, register
from .run import vector_norm

__all__ = ["make_optimizer", "python_loop", "seed_state", "FIRST_ORDER"]


# --- the Python loop ------------------------------------------------------------------------

def _evaluator(objective):
    fast = getattr(objective, "loss_grad_into", None)
    if fast is not None:
        return fast

    def loss_grad_into(x, g):
        f, gx = objective.loss_grad(x)
        g[:] = gx
        return f

    return loss_grad_into


def python_loop(objective, x, opt, run, batch_size=None, seed=None, sam_rho=None):
    """Iterate ``opt`` on ``objective`` from ``x`` (updated in place) under ``run``'s rules.

    Returns ``(status, nit, f, g)`` at the last observed iterate.
    """
    loss_grad_into = _evaluator(objective)
    shuffle_ = opt.k.shuffle_
    state = opt.init(x)
    p = x.shape[0]
    g = np.empty(p)
    x_prev = np.empty(p)
    perm, rng_state, pos = None, None, 0
    if batch_size is not None:
        m = objective.n_samples
        perm = np.arange(m, dtype=np.int64)
        rng_state = seed_state(seed)
        shuffle_(perm, rng_state)
        gb = np.empty(p)
    if sam_rho is not None:
        x_sam = np.empty(p)
        g_sam = np.empty(p)
    k = 0
    step_norm = math.nan
    alpha = math.nan
    observe = True
    while True:
        if observe:
            f = loss_grad_into(x, g)
            status = run.observe(k, x, f, g, step_norm=step_norm, step_size=alpha)
            if status is not None:
                return status, k, f, g
        if batch_size is not None:
            if pos >= m:
                shuffle_(perm, rng_state)
                pos = 0
            rows = perm[pos:pos + batch_size]
            pos += rows.shape[0]
            f_step = objective.batch_loss_grad_into(x, rows, gb)
            g_step = gb
        else:
            f_step, g_step = f, g
        if sam_rho is not None:
            gn = vector_norm(g_step)
            np.multiply(g_step, sam_rho / gn if gn > 0 else 0.0, out=x_sam)
            x_sam += x
            if batch_size is not None:
                objective.batch_loss_grad_into(x_sam, rows, g_sam)
            else:
                loss_grad_into(x_sam, g_sam)
            g_step = g_sam
        np.copyto(x_prev, x)
        alpha = opt.update_(x, state, g_step, k, f_step)
        if not math.isfinite(alpha):
            f = loss_grad_into(x, g) if batch_size is not None else f
            status = Status.LINE_SEARCH if getattr(opt, "step", "") in ("armijo", "exact") \
                else Status.DIVERGED
            return status, k, f, g
        x_prev -= x
        step_norm = vector_norm(x_prev)
        k += 1
        observe = batch_size is None or pos >= m or k >= run.max_iter
        if batch_size is not None and not observe and run.max_time < math.inf \
                and run.elapsed() >= run.max_time:
            observe = True


# --- registration -----------------------------------------------------------------------------

#: Method name -> its options and their defaults (from the registry, :mod:`.fo_methods`).
FIRST_ORDER = {name: fo_methods.options(name) for name in fo_methods.METHODS}


def _kernels_for(objective, run):
    """The update kernels: the objective's CPU backend, else (user functions, a CUDA
    objective's host-side steps) the ``"auto"`` backend, which compiles nothing."""
    backend = getattr(run, "backend", "auto")
    if backend == "auto":
        backend = host_backend(getattr(objective, "backend", None))
    backend = resolve_backend(backend)
    return backend, get_backend(backend)


def _check_batch(objective, run, opt):
    b = getattr(run, "batch_size", None)
    if b is None:
        return None
    if not hasattr(objective, "batch_loss_grad_into"):
        raise ValueError("batch_size needs a finite-sum objective (Logistic, LeastSquares)")
    if not getattr(objective, "rows_in_memory", True):
        raise ValueError("mini-batches (batch_size) draw rows of X, which needs X in memory "
                         "as one array; X is read in row blocks here: use full passes "
                         "(batch_size=None)")
    # These rules compare full-objective quantities (f along -g, f at consecutive
    # iterates); with a mini-batch gradient they would mix batch and full values.
    if isinstance(opt, GD) and opt.step in ("armijo", "exact"):
        raise ValueError(f"batch_size cannot be combined with step={opt.step!r} (the step "
                         "rule needs full gradients); give lr, or drop batch_size")
    restart = getattr(opt, "restart", None)
    if restart is not None and restart.scheme == "function":
        raise ValueError("batch_size cannot be combined with restart='function' (it compares "
                         "full function values); use restart='gradient'")
    m = int(objective.n_samples)
    if int(b) > m:
        warnings.warn(f"batch_size={int(b)} exceeds the {m} rows of the data; each step uses "
                      f"all {m} (full-batch steps, one epoch each)", stacklevel=5)
    return min(int(b), m)


def _solve(method, objective, x0, options, run, sam_rho=None):
    backend, kernels = _kernels_for(objective, run)
    opt = make_optimizer(method, objective, options, kernels)
    loop = options.get("loop", "auto")
    if loop not in ("auto", "python", "compiled"):
        raise ValueError(f"loop must be 'auto', 'python' or 'compiled'; got {loop!r}")
    batch = _check_batch(objective, run, opt)
    x = np.array(x0, dtype=np.float64, copy=True)
    seed = getattr(run, "seed", None)
    if seed is not None and batch is None:
        # A full-batch first-order run draws no random numbers: a seed would be ignored.
        raise ValueError(f"seed does not apply to method {method!r} without batch_size (a "
                         f"full-batch run draws no random numbers; got seed={seed}); leave "
                         "it None, or give batch_size")
    if loop != "python" and sam_rho is None and is_device(getattr(objective, "backend", None)):
        # A device backend: x, g and the optimizer state stay on the device for the run.
        if cuda_loop.unsupported(objective, opt, run, batch, method) is None:
            return cuda_loop.solve(objective, x, opt, run, method)
    if loop != "python" and sam_rho is None:
        reason = compiled_loop.unsupported(objective, opt, run, backend, method)
        if reason is None:
            return compiled_loop.solve(objective, x, opt, run, batch, seed, method)
        if loop == "compiled":
            raise ValueError(f"loop='compiled' is not available here: {reason}")
    status, nit, f, g = python_loop(objective, x, opt, run, batch, seed, sam_rho)
    extra = {"step_rule": getattr(opt, "step", None)} if method == "gd" else {}
    if isinstance(getattr(opt, "restart", None), _sched.AdaptiveRestart):
        extra["n_restarts"] = opt.restart.n_restarts
    return run.result(x, f, g, status, nit, objective, method, loop="python", **extra)


def _register(name):
    @register(name, options=FIRST_ORDER[name], order=1)
    def solve(objective, x0, options, run):
        return _solve(name, objective, x0, options, run)

    solve.__name__ = f"solve_{name.replace('-', '_')}"
    solve.__doc__ = f"First-order method {name!r} (see :mod:`fastopt.solvers.first_order`)."
    return solve


for _name in FIRST_ORDER:
    _register(_name)


@register("sam", options={"rho": 0.05, "base": "gd", "base_options": None, "lr": None}, order=1)
def solve_sam(objective, x0, options, run):
    """Sharpness-aware minimization: the base optimizer steps with grad f(x + rho g/||g||).

    Options: ``rho`` (> 0, the radius), ``base`` (any first-order method above),
    ``base_options`` (dict of the base method's options), ``lr`` (shortcut for
    ``base_options["lr"]``). Two gradients per iteration; the stopping tests use the
    gradient at x.
    """
    rho = check_positive("rho", options["rho"])
    base = options["base"]
    if not isinstance(base, str) or base not in FIRST_ORDER:
        raise ValueError(f"base must be one of {sorted(FIRST_ORDER)}; got {base!r}")
    spec = get(base)
    base_options = dict(spec.options)
    if options["base_options"] is not None and not isinstance(options["base_options"], dict):
        raise TypeError(f"base_options must be a dict of the base method's options, got "
                        f"{options['base_options']!r}")
    given = dict(options["base_options"] or {})
    unknown = sorted(set(given) - set(spec.options))
    if unknown:
        raise ValueError(f"unknown option(s) for base method {base!r}: {', '.join(unknown)}")
    base_options.update(given)
    if options["lr"] is not None:
        base_options["lr"] = options["lr"]
    res = _solve(base, objective, x0, base_options, run, sam_rho=rho)
    res.method = "sam"
    res.base = base
    return res
