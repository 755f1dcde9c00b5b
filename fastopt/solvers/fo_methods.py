"""The registry of first-order methods: one entry per method name, read by every loop.

An entry (:class:`FirstOrderMethod`) is the whole definition of a method:

- ``options``: the method's options and their defaults (what ``fo.minimize`` accepts);
- ``build(objective, options, kernels)``: the optimizer (:mod:`.optimizers`) with its
  hyper-parameters checked and its defaults resolved (some depend on the objective's
  L and mu);
- ``code``: the method's number in the compiled loops (the Cython and numba ``fo_loop``
  switch on it to call the method's fused update), or None for a method that only the
  Python loop runs;
- ``state``: the names of its per-parameter state arrays, in the order the compiled
  loops hold them (slots ``s1``, ``s2``, ``s3``);
- ``loop_params(opt)``: its hyper-parameters packed into the loops' ``fparams`` vector
  (:data:`FPARAMS`);
- ``kernel``: the name of its fused update kernel in every backend package;
- ``device``: whether the CUDA loop runs it.

The Python loop (:func:`fastopt.solvers.first_order.python_loop`), the compiled CPU loop
(:mod:`fastopt.solvers.compiled_loop`) and the device loop
(:mod:`fastopt.solvers.cuda_loop`) all start from :func:`get`; nothing else in the
solvers names a method.

Adding a method: its optimizer class (:mod:`.optimizers`), its entry here, its fused
kernel in each backend's ``updates`` module, and its case in the compiled loops' update
switch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import schedules as _sched
from .._checks import check_flag, check_interval, check_nonnegative, check_positive
from ._parameters import heavy_ball_parameters, nesterov_parameters
from .optimizers import (
    GD,
    AdaGrad,
    Adam,
    HeavyBall,
    NAdam,
    Nesterov,
    RMSProp,
    _known,
    _lr_schedule,
    _momentum_schedule,
    _unit,
)

__all__ = ["FirstOrderMethod", "METHODS", "FPARAMS", "get", "make_optimizer"]

#: Slots of the compiled loops' ``fparams`` vector (unused slots are 0).
FPARAMS = ("eps", "rho", "beta1", "beta2", "weight_decay", "momentum_decay")

#: Options every first-order method accepts.
_COMMON = {"loop": "auto"}


@dataclass(frozen=True)
class FirstOrderMethod:
    """One first-order method: its options, optimizer, state and compiled-loop step."""

    name: str
    code: int | None
    options: dict
    build: Callable
    state: tuple
    kernel: str
    loop_params: Callable = lambda opt: {}
    device: bool = True

    def fparams(self, opt) -> np.ndarray:
        """The optimizer's hyper-parameters as the compiled loops' ``fparams`` vector."""
        out = np.zeros(len(FPARAMS))
        for name, value in self.loop_params(opt).items():
            out[FPARAMS.index(name)] = value
        return out

    def loop_state(self, opt, p: int) -> tuple:
        """Zeroed state arrays ``(s1, s2, s3)`` for the compiled loops (empty when unused;
        Adam's ``s3`` is AMSGrad's running max)."""
        slots = [np.zeros(p) for _ in self.state]
        if getattr(opt, "amsgrad", False):
            slots.append(np.zeros(p))
        slots += [np.zeros(0)] * (3 - len(slots))
        return tuple(slots)


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
        return HeavyBall(_lr_schedule(lr), mom, kernels)

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


def _build_adagrad(objective, o, kernels):
    return AdaGrad(_lr_schedule(o["lr"]), check_positive("eps", o["eps"]), kernels)


def _build_rmsprop(objective, o, kernels):
    return RMSProp(_lr_schedule(o["lr"]), _unit("rho", o["rho"]),
                   check_positive("eps", o["eps"]), kernels)


def _build_adam(objective, o, kernels):
    wd = check_nonnegative("weight_decay", o.get("weight_decay", 0.0))
    return Adam(_lr_schedule(o["lr"]), _unit("beta1", o["beta1"]), _unit("beta2", o["beta2"]),
                check_positive("eps", o["eps"]), wd, check_flag("amsgrad", o["amsgrad"]),
                kernels)


def _build_nadam(objective, o, kernels):
    return NAdam(_lr_schedule(o["lr"]), _unit("beta1", o["beta1"]), _unit("beta2", o["beta2"]),
                 check_positive("eps", o["eps"]),
                 check_nonnegative("momentum_decay", o["momentum_decay"]), kernels)


def _adam_params(opt):
    return {"eps": opt.eps, "beta1": opt.beta1, "beta2": opt.beta2,
            "weight_decay": opt.weight_decay}


# --- the registry -----------------------------------------------------------------------------

_ADAM = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "amsgrad": False}

METHODS: dict[str, FirstOrderMethod] = {e.name: e for e in (
    FirstOrderMethod("gd", 0, {"lr": None, "step": "auto", "c1": 1e-4, "shrink": 0.5},
                     _build_gd, (), "gd_"),
    FirstOrderMethod("heavy-ball", 1, {"lr": None, "momentum": None},
                     _build_heavy_ball("heavy-ball"), ("s",), "heavy_ball_"),
    FirstOrderMethod("momentum", 1, {"lr": None, "momentum": 0.9},
                     _build_heavy_ball("momentum"), ("s",), "heavy_ball_"),
    FirstOrderMethod("nesterov", 2, {"lr": None, "momentum": None, "restart": None},
                     _build_nesterov, ("s",), "nesterov_"),
    FirstOrderMethod("adagrad", 3, {"lr": 0.1, "eps": 1e-10}, _build_adagrad, ("r",),
                     "adagrad_", lambda opt: {"eps": opt.eps}),
    FirstOrderMethod("rmsprop", 4, {"lr": 1e-2, "rho": 0.9, "eps": 1e-8}, _build_rmsprop,
                     ("r",), "rmsprop_", lambda opt: {"eps": opt.eps, "rho": opt.rho}),
    FirstOrderMethod("adam", 5, dict(_ADAM), _build_adam, ("m", "v"), "adamw_", _adam_params),
    FirstOrderMethod("adamw", 5, {**_ADAM, "weight_decay": 1e-2}, _build_adam, ("m", "v"),
                     "adamw_", _adam_params),
    FirstOrderMethod("nadam", 6, {"lr": 2e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                                  "momentum_decay": 4e-3},
                     _build_nadam, ("m", "v"), "nadam_",
                     lambda opt: {"eps": opt.eps, "beta1": opt.beta1, "beta2": opt.beta2,
                                  "momentum_decay": opt.momentum_decay}),
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
