"""The first-order optimizers: the state and the step of each method, for the Python loop.

Each optimizer follows the optax pattern: ``init(x) -> state`` and
``update_(x, state, g, k, f) -> step_size``, where the state is a small object of
preallocated arrays that the method's fused kernel (``kernels.<name>_``, one per backend,
:mod:`fastopt.updates` for the math) updates in place. :class:`Elementwise` runs any step
of the table (:mod:`fastopt.kernels.steps`); gradient descent (line searches, exact step),
Nesterov (restarts) and Adam (AMSGrad's optional state) have their own classes. Which
optimizer a method name builds, with which defaults, and how the compiled loops run it, is
the method's entry in :mod:`fastopt.solvers.fo_methods`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import schedules as _sched
from .._checks import check_interval, check_nonnegative, check_positive
from ..kernels import steps as _steps

__all__ = ["GD", "Elementwise", "Nesterov", "Adam", "check_schedule_value"]


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
class AdamState:
    """m, v: first and second moments; v_max: running max of v (AMSGrad) or empty."""

    m: np.ndarray
    v: np.ndarray
    v_max: np.ndarray


class GD:
    """x <- x - alpha_k g, with alpha_k from a schedule, 1/L, Armijo or the exact step."""


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


class StepState:
    """The state arrays of a step, as attributes named after the step's ``state``."""

    def __init__(self, **arrays):
        self.__dict__.update(arrays)


class Elementwise:
    """A method that is one step of the table (:mod:`fastopt.kernels.steps`).

    ``lr`` is a schedule; ``momentum`` a schedule for a step that takes ``momentum``
    (rho_k) and ``momentum_next`` (rho_{k+1}); ``params`` the other hyper-parameters,
    fixed. The step's carry (NAdam's product of momentum coefficients) is kept here,
    from the value each kernel call returns.
    """

    def __init__(self, step, lr, kernels, momentum=None, **params):
        self.step = _steps.get(step)
        self.lr, self.momentum, self.k = lr, momentum, kernels
        self.params = params
        self.carry = self.step.carry0

    def __getattr__(self, name):
        # the hyper-parameters read as attributes (opt.eps, opt.beta1, ...)
        params = self.__dict__.get("params", {})
        if name in params:
            return params[name]
        raise AttributeError(name)

    def init(self, x):
        self.carry = self.step.carry0
        return StepState(**{name: np.zeros_like(x) for name in self.step.state})

    def hyper_parameters(self, k) -> list:
        """The step's hyper-parameters at iteration k, in its ``params`` order."""
        out = []
        for name in self.step.param_names:
            if name == "momentum":
                out.append(_value_at(self.momentum, k, "momentum"))
            elif name == "momentum_next":
                out.append(_value_at(self.momentum, k + 1, "momentum"))
            else:
                out.append(self.params[name])
        return out

    def update_(self, x, state, g, k, f=None):
        step = self.step
        alpha = _value_at(self.lr, k, "lr")
        args = [x, *(getattr(state, name) for name in step.state), g]
        if step.uses_t:
            args.append(k + 1)
        args += [alpha, *self.hyper_parameters(k)]
        if step.carry0 is not None:
            self.carry = getattr(self.k, step.kernel)(*args, self.carry)
        else:
            getattr(self.k, step.kernel)(*args)
        return alpha


class Nesterov:
    """Look-ahead Nesterov (x holds y_k = x_k + rho_k s_k); optional adaptive restart."""


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


class Adam:
    """Adam / AdamW (``weight_decay > 0``) / AMSGrad (``amsgrad=True``)."""


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
