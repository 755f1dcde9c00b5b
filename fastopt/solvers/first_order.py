"""First-order methods: gd, heavy-ball, nesterov, momentum, adagrad, rmsprop, adam, adamw, sam.

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
from dataclasses import dataclass

import numpy as np

from .. import schedules as _sched
from .._checks import check_flag, check_interval, check_nonnegative, check_positive
from .._result import Status
from ..kernels import get_backend, resolve_backend
from ._parameters import heavy_ball_parameters, nesterov_parameters
from .registry import get, register
from .run import vector_norm

__all__ = ["GD", "HeavyBall", "Nesterov", "AdaGrad", "RMSProp", "Adam", "make_optimizer",
           "python_loop", "seed_state", "FIRST_ORDER"]


# --- hyper-parameter checks -------------------------------------------------------------

def _unit(name, value):
    return check_interval(name, value, 0.0, 1.0)


def check_schedule_value(name, k, value) -> float:
    """A scheduled hyper-parameter at step ``k``, checked where the solver uses it.

    ``lr`` must be finite and >= 0 (a negative step is gradient ascent; a zero step,
    as at the end of a cosine schedule, leaves x where it is, and the step-norm test
    applies only when ``xtol`` > 0); ``momentum`` must be in [0, 1). Both loops
    apply this check: the Python loop to each value it uses, the compiled loop to its
    tabulated schedule before the run. Raises ``ValueError`` naming the parameter and
    the step.
    """
    label = f"{name} (schedule value at step {k})"
    if name == "lr":
        return check_nonnegative(label, float(value))
    return check_interval(label, float(value), 0.0, 1.0)


def _lr_schedule(lr):
    """A number (> 0) or a schedule; a schedule's values are checked where they are used."""
    if callable(lr):
        return lr
    return _sched.constant(check_positive("lr", lr))


def _momentum_schedule(momentum):
    if isinstance(momentum, _sched.AdaptiveRestart) or callable(momentum):
        return momentum
    return _sched.constant(_unit("momentum", momentum))


def _known(objective, name):
    """objective.lipschitz() / strong_convexity(), or None where it is not provided."""
    try:
        value = float(getattr(objective, name)())
    except (AttributeError, NotImplementedError):
        return None
    return value if math.isfinite(value) else None


def _value_at(schedule, k, name):
    return check_schedule_value(name, k, schedule(k))


# --- optimizers -------------------------------------------------------------------------

@dataclass
class MomentumState:
    """s: the previous step x_k - x_{k-1} (heavy ball) or s_k (Nesterov)."""

    s: np.ndarray


@dataclass
class ScaleState:
    """r: running (AdaGrad) or exponential (RMSProp) average of g o g."""

    r: np.ndarray


@dataclass
class AdamState:
    """m, v: first and second moments; v_max: running max of v (AMSGrad) or empty."""

    m: np.ndarray
    v: np.ndarray
    v_max: np.ndarray


class GD:
    """x <- x - alpha_k g, with alpha_k from a schedule, 1/L, Armijo or the exact step."""

    code = 0

    def __init__(self, lr, kernels, step="constant", objective=None, c1=1e-4, shrink=0.5):
        self.lr = lr
        self.k = kernels
        self.step = step
        self.objective = objective
        self.c1 = c1
        self.shrink = shrink
        self._alpha = None if step != "armijo" else _value_at(lr, 0, "lr")

    def init(self, x):
        self._trial = np.empty_like(x)
        self._hv = np.empty_like(x)
        return None

    def update_(self, x, state, g, k, f=None):
        if self.step == "exact":
            hv = self.objective.hvp_into(x, g, self._hv)
            gg, ghg = float(g @ g), float(g @ hv)
            alpha = gg / ghg if ghg > 0 else math.nan
        elif self.step == "armijo":
            alpha = self._armijo(x, g, f)
        else:
            alpha = _value_at(self.lr, k, "lr")
        if math.isfinite(alpha):
            self.k.gd_(x, g, alpha)
        return alpha

    def _armijo(self, x, g, f):
        """Backtracking: largest alpha = a0 shrink^j with f(x - alpha g) <= f - c1 alpha ||g||^2."""
        gg = float(g @ g)
        alpha = self._alpha / self.shrink  # try a slightly longer step than last time
        trial = self._trial
        for _ in range(60):
            np.multiply(g, -alpha, out=trial)
            trial += x
            ft = self._value(trial)
            if math.isfinite(ft) and ft <= f - self.c1 * alpha * gg:
                self._alpha = alpha
                return alpha
            alpha *= self.shrink
        return math.nan

    def _value(self, x):
        try:
            return float(self.objective.value(x))
        except ValueError:  # a non-finite trial point is refused: treat it as f = inf
            return math.inf


class HeavyBall:
    """s <- rho s - alpha g; x <- x + s."""

    code = 1

    def __init__(self, lr, momentum, kernels):
        self.lr, self.momentum, self.k = lr, momentum, kernels

    def init(self, x):
        return MomentumState(np.zeros_like(x))

    def update_(self, x, state, g, k, f=None):
        alpha = _value_at(self.lr, k, "lr")
        rho = _value_at(self.momentum, k, "momentum")
        self.k.heavy_ball_(x, state.s, g, alpha, rho)
        return alpha


class Nesterov:
    """Look-ahead Nesterov (x holds y_k = x_k + rho_k s_k); optional adaptive restart."""

    code = 2

    def __init__(self, lr, momentum, kernels):
        self.lr, self.momentum, self.k = lr, momentum, kernels
        self.restart = momentum if isinstance(momentum, _sched.AdaptiveRestart) else None
        if self.restart is not None:
            self.restart.reset()

    def init(self, x):
        return MomentumState(np.zeros_like(x))

    def update_(self, x, state, g, k, f=None):
        alpha = _value_at(self.lr, k, "lr")
        rho = _value_at(self.momentum, k, "momentum")
        rho_next = _value_at(self.momentum, k + 1, "momentum")
        s = state.s
        self.k.nesterov_(x, s, g, alpha, rho, rho_next)
        r = self.restart
        if r is not None:
            uphill = (float(g @ s) > 0.0) if r.scheme == "gradient" else (
                self._f_prev is not None and f is not None and f > self._f_prev)
            if uphill:
                # y_{k+1} = x_{k+1}: drop the momentum term, start the sequence again.
                x -= rho_next * s
                s[:] = 0.0
                r.restart(k + 1)
            self._f_prev = f
        return alpha

    _f_prev = None


class AdaGrad:
    code = 3

    def __init__(self, lr, eps, kernels):
        self.lr, self.eps, self.k = lr, eps, kernels

    def init(self, x):
        return ScaleState(np.zeros_like(x))

    def update_(self, x, state, g, k, f=None):
        alpha = _value_at(self.lr, k, "lr")
        self.k.adagrad_(x, state.r, g, alpha, self.eps)
        return alpha


class RMSProp:
    code = 4

    def __init__(self, lr, rho, eps, kernels):
        self.lr, self.rho, self.eps, self.k = lr, rho, eps, kernels

    def init(self, x):
        return ScaleState(np.zeros_like(x))

    def update_(self, x, state, g, k, f=None):
        alpha = _value_at(self.lr, k, "lr")
        self.k.rmsprop_(x, state.r, g, alpha, self.rho, self.eps)
        return alpha


class Adam:
    """Adam / AdamW (``weight_decay > 0``) / AMSGrad (``amsgrad=True``)."""

    code = 5

    def __init__(self, lr, beta1, beta2, eps, weight_decay, amsgrad, kernels):
        self.lr, self.k = lr, kernels
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.weight_decay, self.amsgrad = weight_decay, amsgrad

    def init(self, x):
        return AdamState(np.zeros_like(x), np.zeros_like(x),
                         np.zeros_like(x) if self.amsgrad else np.empty(0, x.dtype))

    def update_(self, x, state, g, k, f=None):
        alpha = _value_at(self.lr, k, "lr")
        self.k.adamw_(x, state.m, state.v, g, k + 1, alpha, self.beta1, self.beta2, self.eps,
                      self.weight_decay, state.v_max)
        return alpha


# --- building an optimizer from method options --------------------------------------------

def make_optimizer(method, objective, options, kernels):
    """The optimizer of ``method`` with its options checked and defaults resolved.

    Raises ``ValueError`` naming the parameter for an invalid hyper-parameter.
    """
    o = options
    if method == "gd":
        step = o["step"]
        if step not in ("auto", "constant", "lipschitz", "armijo", "exact"):
            raise ValueError("step must be one of 'auto', 'constant', 'lipschitz', 'armijo', "
                             f"'exact'; got {step!r}")
        L = None
        if step == "auto":
            if o["lr"] is not None:
                step = "constant"
            else:
                L = _known(objective, "lipschitz")
                step = "lipschitz" if L is not None else "armijo"
        if step == "lipschitz":
            L = L if L is not None else _known(objective, "lipschitz")
            if L is None or L <= 0:
                raise ValueError("step='lipschitz' needs an objective whose lipschitz() is "
                                 "known (give lr, or step='armijo')")
            lr = _sched.constant(1.0 / L)
        elif step == "constant":
            if o["lr"] is None:
                raise ValueError("step='constant' needs lr")
            lr = _lr_schedule(o["lr"])
        else:
            lr = _lr_schedule(1.0 if o["lr"] is None else o["lr"])
        c1 = check_interval("c1", o["c1"], 0.0, 1.0, closed_low=False)
        shrink = check_interval("shrink", o["shrink"], 0.0, 1.0, closed_low=False)
        if step == "exact" and not callable(getattr(objective, "hvp_into", None)):
            raise ValueError("step='exact' needs Hessian-vector products (hvp)")
        return GD(lr, kernels, step, objective, c1, shrink)
    if method in ("heavy-ball", "momentum"):
        lr, mom = o["lr"], o["momentum"]
        L, mu = _known(objective, "lipschitz"), _known(objective, "strong_convexity")
        if method == "heavy-ball" and lr is None and mom is None and L and mu and mu > 0:
            lr, mom = heavy_ball_parameters(L, min(mu, L))
        if mom is None:
            mom = 0.9
        given = mom
        mom = _momentum_schedule(mom)  # checked before the default lr is derived from it
        if lr is None:
            if not L:
                raise ValueError(f"method {method!r} needs lr (the objective does not know L)")
            # With momentum rho the terminal speed is alpha ||g|| / (1 - rho): this default
            # moves as fast as gradient descent with step 1/L.
            lr = (1.0 - mom(0)) / L if not callable(given) else 1.0 / L
        return HeavyBall(_lr_schedule(lr), mom, kernels)
    if method == "nesterov":
        lr, mom = o["lr"], o["momentum"]
        L, mu = _known(objective, "lipschitz"), _known(objective, "strong_convexity")
        if lr is None:
            if not L:
                raise ValueError("method 'nesterov' needs lr (the objective does not know L)")
            lr = 1.0 / L
        if mom is None:
            if L and mu and mu > 0:
                mom = nesterov_parameters(L, min(mu, L))[1]
            else:
                mom = _sched.nesterov_momentum()
        if o["restart"] is not None:
            if o["restart"] not in ("gradient", "function"):
                raise ValueError(f"restart must be None, 'gradient' or 'function'; "
                                 f"got {o['restart']!r}")
            base = mom if callable(mom) else _sched.constant(_unit("momentum", mom))
            mom = _sched.AdaptiveRestart(base, o["restart"])
        return Nesterov(_lr_schedule(lr), _momentum_schedule(mom), kernels)
    if method == "adagrad":
        return AdaGrad(_lr_schedule(o["lr"]), check_positive("eps", o["eps"]), kernels)
    if method == "rmsprop":
        return RMSProp(_lr_schedule(o["lr"]), _unit("rho", o["rho"]),
                       check_positive("eps", o["eps"]), kernels)
    if method in ("adam", "adamw"):
        wd = check_nonnegative("weight_decay", o.get("weight_decay", 0.0))
        return Adam(_lr_schedule(o["lr"]), _unit("beta1", o["beta1"]), _unit("beta2", o["beta2"]),
                    check_positive("eps", o["eps"]), wd,
                    check_flag("amsgrad", o["amsgrad"]), kernels)
    raise ValueError(f"{method!r} is not a first-order method")


# --- mini-batch permutations (shared by the Python and the compiled loops) ----------------

def seed_state(seed) -> np.ndarray:
    """The 64-bit state of the shuffling generator, from ``seed`` (None: fresh entropy).

    Every backend's ``shuffle_`` kernel advances this state identically
    (:mod:`fastopt.kernels.reference.shuffle`).
    """
    return np.random.SeedSequence(seed).generate_state(1, np.uint64)


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

_COMMON = {"loop": "auto"}
FIRST_ORDER = {
    "gd": {"lr": None, "step": "auto", "c1": 1e-4, "shrink": 0.5, **_COMMON},
    "heavy-ball": {"lr": None, "momentum": None, **_COMMON},
    "momentum": {"lr": None, "momentum": 0.9, **_COMMON},
    "nesterov": {"lr": None, "momentum": None, "restart": None, **_COMMON},
    "adagrad": {"lr": 0.1, "eps": 1e-10, **_COMMON},
    "rmsprop": {"lr": 1e-2, "rho": 0.9, "eps": 1e-8, **_COMMON},
    "adam": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "amsgrad": False, **_COMMON},
    "adamw": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "amsgrad": False,
              "weight_decay": 1e-2, **_COMMON},
}


def _kernels_for(objective, run):
    """The update kernels: the objective's CPU backend, else (user functions, a CUDA
    objective's host-side steps) the ``"auto"`` backend, which compiles nothing."""
    backend = getattr(run, "backend", "auto")
    if backend == "auto":
        backend = getattr(objective, "backend", "auto")
        if backend == "cuda":
            backend = "auto"
    backend = resolve_backend(backend)
    return backend, get_backend(backend)


def _check_batch(objective, run, opt):
    b = getattr(run, "batch_size", None)
    if b is None:
        return None
    if not hasattr(objective, "batch_loss_grad_into"):
        raise ValueError("batch_size needs a finite-sum objective (Logistic, LeastSquares)")
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
    if loop != "python" and sam_rho is None and getattr(objective, "backend", None) == "cuda":
        # backend="cuda": x, g and the optimizer state stay on the GPU for the whole run.
        from . import cuda_loop

        if cuda_loop.unsupported(objective, opt, run, batch) is None:
            return cuda_loop.solve(objective, x, opt, run, method)
    if loop != "python" and sam_rho is None:
        from . import compiled_loop

        reason = compiled_loop.unsupported(objective, opt, run, backend)
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
