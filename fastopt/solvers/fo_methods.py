"""The registry of first-order methods: one entry per method name, read by every loop.

An entry (:class:`FirstOrderMethod`) is the whole definition of a method:

- ``options``: the method's options and their defaults (what ``fo.minimize`` accepts);
- ``build(objective, options, kernels)``: the optimizer (:mod:`.optimizers`) with its
  hyper-parameters checked and its defaults resolved (some depend on the objective's
  L and mu);
- ``step``: the fused update it runs, a step of the table :mod:`fastopt.kernels.steps`
  (or a function of the optimizer choosing one: Adam with or without AMSGrad). The step
  fixes the update kernel of every backend, the state layout and the hyper-parameters the
  compiled loops take;
- ``compiled``: whether the compiled CPU loops run it; ``device``: whether the CUDA loop
  does.

The Python loop (:func:`fastopt.solvers.first_order.python_loop`), the compiled CPU loop
(:mod:`fastopt.solvers.compiled_loop`) and the device loop
(:mod:`fastopt.solvers.cuda_loop`) all start from :func:`get`; nothing else in the
solvers names a method.

Adding a method whose update is element-wise: its step in :mod:`fastopt.kernels.steps`
(with its C twin in ``kernels/cython/_updates.h`` and its NumPy twin in
``kernels/reference/updates.py``) and one line here, ``_elementwise(name)``, whose
options are the step's hyper-parameters with their defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import schedules as _sched
from .._checks import check_flag, check_interval, check_nonnegative, check_positive
from ..kernels import steps as _steps
from ._parameters import heavy_ball_parameters, nesterov_parameters
from .optimizers import (
    GD,
    Adam,
    Elementwise,
    Nesterov,
    _known,
    _lr_schedule,
    _momentum_schedule,
    _unit,
)

__all__ = ["FirstOrderMethod", "METHODS", "get", "make_optimizer"]

#: Options every first-order method accepts.
_COMMON = {"loop": "auto"}

#: The hyper-parameter checks named in the table of steps.
_CHECKS = {"unit": _unit, "positive": check_positive,
           "nonnegative": check_nonnegative}

#: Hyper-parameters the loops take from the momentum schedule, not from ``fparams``.
_SCHEDULED = ("momentum", "momentum_next")


@dataclass(frozen=True)
class FirstOrderMethod:
    """One first-order method: its options, optimizer and fused step."""

    name: str
    options: dict
    build: Callable
    step: str | Callable
    compiled: bool = True
    device: bool = True

    def step_of(self, opt) -> _steps.Step:
        """The step that optimizer ``opt`` (built by this entry) runs."""
        return _steps.get(self.step(opt) if callable(self.step) else self.step)

    def fparams(self, opt) -> np.ndarray:
        """The step's hyper-parameters, in its ``params`` order, as the compiled loops'
        ``fparams`` vector (the scheduled momentum slots 0: the loops fill them)."""
        out = np.zeros(_steps.MAX_PARAMS)
        for i, name in enumerate(self.step_of(opt).param_names):
            if name not in _SCHEDULED:
                out[i] = getattr(opt, name)
        return out

    def loop_state(self, opt, p: int) -> tuple:
        """Zeroed state arrays ``(s1, s2, s3)`` for the compiled loops (empty when unused)."""
        n = len(self.step_of(opt).state)
        return tuple(np.zeros(p) if i < n else np.zeros(0) for i in range(3))


# --- building each optimizer from its options --------------------------------------------

def _build_gd(objective, o, kernels):
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


def _build_heavy_ball(method):
    def build(objective, o, kernels):
        lr, mom = o["lr"], o["momentum"]
        if method == "momentum" and mom is None:
            # None is heavy-ball's automatic choice from L and mu; "momentum" has none.
            raise ValueError("momentum must be a number in [0, 1) or a schedule for method "
                             "'momentum', got None")
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
        return Elementwise("heavy_ball", _lr_schedule(lr), kernels, momentum=mom)

    return build


def _build_nesterov(objective, o, kernels):
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


def _build_adam(objective, o, kernels):
    wd = check_nonnegative("weight_decay", o.get("weight_decay", 0.0))
    return Adam(_lr_schedule(o["lr"]), _unit("beta1", o["beta1"]), _unit("beta2", o["beta2"]),
                check_positive("eps", o["eps"]), wd, check_flag("amsgrad", o["amsgrad"]),
                kernels)


def _elementwise(name, **defaults):
    """The entry of a method that is the table's step ``name`` with fixed hyper-parameters:
    its options are the step's, with their defaults (``defaults`` overrides some)."""
    step = _steps.get(name)
    options = {"lr": step.lr_default, **{p.name: p.default for p in step.params}, **defaults}

    def build(objective, o, kernels):
        params = {p.name: _CHECKS[p.check](p.name, o[p.name]) for p in step.params}
        return Elementwise(name, _lr_schedule(o["lr"]), kernels, **params)

    return FirstOrderMethod(name, options, build, name)


def _adam_step(opt):
    return "amsgrad_moments" if opt.amsgrad else "adam_moments"


# --- the registry -----------------------------------------------------------------------------

_ADAM = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "amsgrad": False}

METHODS: dict[str, FirstOrderMethod] = {e.name: e for e in (
    FirstOrderMethod("gd", {"lr": None, "step": "auto", "c1": 1e-4, "shrink": 0.5},
                     _build_gd, "gd"),
    FirstOrderMethod("heavy-ball", {"lr": None, "momentum": None},
                     _build_heavy_ball("heavy-ball"), "heavy_ball"),
    FirstOrderMethod("momentum", {"lr": None, "momentum": 0.9},
                     _build_heavy_ball("momentum"), "heavy_ball"),
    FirstOrderMethod("nesterov", {"lr": None, "momentum": None, "restart": None},
                     _build_nesterov, "nesterov"),
    _elementwise("adagrad", lr=0.1),
    _elementwise("rmsprop", lr=1e-2),
    FirstOrderMethod("adam", dict(_ADAM), _build_adam, _adam_step),
    FirstOrderMethod("adamw", {**_ADAM, "weight_decay": 1e-2}, _build_adam, _adam_step),
    _elementwise("nadam"),
    _elementwise("adamax"),
)}


def get(method: str) -> FirstOrderMethod:
    """The entry of ``method``; ``ValueError`` naming the known methods otherwise."""
    try:
        return METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(f"{method!r} is not a first-order method; known: "
                         f"{', '.join(sorted(METHODS))}") from None


def options(method: str) -> dict:
    """The options of ``method`` with their defaults, including the loop choice."""
    return {**get(method).options, **_COMMON}


def make_optimizer(method, objective, options, kernels):
    """The optimizer of ``method`` with its options checked and defaults resolved.

    Raises ``ValueError`` naming the parameter for an invalid hyper-parameter.
    """
    return get(method).build(objective, options, kernels)
