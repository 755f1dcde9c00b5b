"""Step-size and momentum schedules: plain callables t -> value (as in optax).

Every schedule here accepts an integer ``t`` (the iteration, from 0) or an integer array
and returns the value(s) with NumPy operations, so a solver can tabulate a schedule for
a whole run at once (:func:`tabulate`) and hand the table to a compiled loop. Any user
callable ``t -> value`` is accepted wherever a schedule is (it is called once per ``t``).

Step-size schedules (alpha_0 = ``init``):

    constant        alpha_t = alpha_0
    linear          alpha_t = (1 - t/tau) alpha_0 + (t/tau) alpha_tau for t < tau, alpha_tau after
    step            alpha_t = alpha_0 gamma^floor(t / step_size)
    exponential     alpha_t = alpha_0 gamma^t
    cosine          alpha_t = alpha_end + (alpha_0 - alpha_end) (1 + cos(pi min(t, tau)/tau)) / 2
    inverse_sqrt    alpha_t = alpha_0 / sqrt(1 + t / tau)
    warmup          linear ramp from ``start`` to schedule(0) over w steps, then schedule(t - w)

Momentum schedules: :func:`constant` and :func:`nesterov_momentum` (rho_k = (k - 1)/(k + 2)),
and :class:`AdaptiveRestart` (O'Donoghue and Candes, 2015), which restarts the
momentum sequence whenever the solver reports that a step went uphill.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = [
    "Schedule", "constant", "linear", "step", "exponential", "cosine", "inverse_sqrt",
    "warmup", "nesterov_momentum", "AdaptiveRestart", "adaptive_restart", "as_schedule",
    "tabulate",
]


class Schedule:
    """A named schedule: ``schedule(t)`` for an int or an integer array ``t``."""

    def __init__(self, name: str, func: Callable, **params):
        self.name = name
        self._func = func
        self.params = params

    def __call__(self, t):
        t_arr = np.asarray(t)
        if np.any(t_arr < 0):
            raise ValueError(f"schedule step t must be >= 0, got {t}")
        value = self._func(t_arr.astype(np.float64))
        return float(value) if t_arr.ndim == 0 else np.asarray(value, dtype=np.float64)

    @property
    def is_constant(self) -> bool:
        return self.name == "constant"

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({params})"


def _finite(**values):
    for name, v in values.items():
        if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v)):
            raise ValueError(f"{name} must be a finite number, got {v!r}")


def _positive_int(**values):
    for name, v in values.items():
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")


def constant(value: float) -> Schedule:
    """alpha_t = value."""
    _finite(value=value)
    return Schedule("constant", lambda t: np.full(t.shape, float(value)), value=value)


def linear(init: float, end: float, steps: int) -> Schedule:
    """Linear ramp: (1 - t/tau) init + (t/tau) end for t < tau = ``steps``, then ``end``.

    A warm-up when ``end > init``, a decay when ``end < init``.
    """
    _finite(init=init, end=end)
    _positive_int(steps=steps)

    def f(t):
        frac = np.minimum(t / steps, 1.0)
        return (1.0 - frac) * init + frac * end

    return Schedule("linear", f, init=init, end=end, steps=steps)


def step(init: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """alpha_t = init * gamma^floor(t / step_size)."""
    _finite(init=init, gamma=gamma)
    _positive_int(step_size=step_size)
    return Schedule("step", lambda t: init * gamma ** np.floor(t / step_size),
                    init=init, step_size=step_size, gamma=gamma)


def exponential(init: float, gamma: float) -> Schedule:
    """alpha_t = init * gamma^t."""
    _finite(init=init, gamma=gamma)
    if not gamma > 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    return Schedule("exponential", lambda t: init * gamma ** t, init=init, gamma=gamma)


def cosine(init: float, steps: int, end: float = 0.0) -> Schedule:
    """Cosine decay from ``init`` to ``end`` over tau = ``steps``, then ``end``."""
    _finite(init=init, end=end)
    _positive_int(steps=steps)

    def f(t):
        frac = np.minimum(t, steps) / steps
        return end + (init - end) * 0.5 * (1.0 + np.cos(np.pi * frac))

    return Schedule("cosine", f, init=init, steps=steps, end=end)


def inverse_sqrt(init: float, tau: float = 1.0) -> Schedule:
    """alpha_t = init / sqrt(1 + t / tau)."""
    _finite(init=init, tau=tau)
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    return Schedule("inverse_sqrt", lambda t: init / np.sqrt(1.0 + t / tau), init=init, tau=tau)


def warmup(schedule, steps: int, start: float = 0.0) -> Schedule:
    """Linear warm-up from ``start`` to ``schedule(0)`` over w = ``steps``, then shifted.

    alpha_t = start + (schedule(0) - start) t / w for t < w, schedule(t - w) afterwards.
    """
    base = as_schedule(schedule)
    _positive_int(steps=steps)
    _finite(start=start)

    def f(t):
        top = base(0)
        after = _evaluate(base, np.maximum(t - steps, 0).astype(np.int64))
        ramp = start + (top - start) * t / steps
        return np.where(t < steps, ramp, after)

    return Schedule("warmup", f, schedule=base, steps=steps, start=start)


def nesterov_momentum() -> Schedule:
    """rho_k = (k - 1)/(k + 2) (0 at k = 0 and 1): Nesterov's sequence for convex f."""
    return Schedule("nesterov_momentum", lambda k: np.maximum(k - 1.0, 0.0) / (k + 2.0))


class AdaptiveRestart:
    """Momentum schedule with adaptive restart (O'Donoghue and Candes, 2015).

    rho_k = base(k - k_r), where k_r is the iteration of the last restart. The solver
    restarts (``restart(k)``) when the step went uphill: with ``scheme="gradient"``
    when grad f(y_k)^T (x_{k+1} - x_k) > 0, with ``scheme="function"`` when
    f(x_{k+1}) > f(x_k). A restart also zeroes the momentum state s.

    Parameters
    ----------
    base : schedule, default :func:`nesterov_momentum`
    scheme : {"gradient", "function"}
    """

    def __init__(self, base=None, scheme: str = "gradient"):
        if scheme not in ("gradient", "function"):
            raise ValueError(f"scheme must be 'gradient' or 'function', got {scheme!r}")
        self.base = nesterov_momentum() if base is None else as_schedule(base)
        self.scheme = scheme
        self.last_restart = 0
        self.n_restarts = 0

    def reset(self) -> None:
        self.last_restart = 0
        self.n_restarts = 0

    def restart(self, k: int) -> None:
        """Restart the momentum sequence at iteration ``k``."""
        self.last_restart = int(k)
        self.n_restarts += 1

    def __call__(self, k):
        return self.base(np.maximum(np.asarray(k) - self.last_restart, 0))

    def __repr__(self) -> str:
        return f"AdaptiveRestart(base={self.base!r}, scheme={self.scheme!r})"


def adaptive_restart(base=None, scheme: str = "gradient") -> AdaptiveRestart:
    """A fresh :class:`AdaptiveRestart` momentum schedule."""
    return AdaptiveRestart(base, scheme)


def as_schedule(value):
    """A number becomes :func:`constant`; a callable is returned as is."""
    if isinstance(value, (Schedule, AdaptiveRestart)) or callable(value):
        return value
    return constant(value)


def _evaluate(schedule, t: np.ndarray) -> np.ndarray:
    if isinstance(schedule, (Schedule, AdaptiveRestart)):
        return np.asarray(schedule(t), dtype=np.float64)
    return np.array([float(schedule(int(k))) for k in t], dtype=np.float64)


def tabulate(schedule, n: int) -> np.ndarray:
    """Values of ``schedule`` at t = 0, ..., n - 1 as a float64 array (for compiled loops).

    Built-in schedules are evaluated vectorized; a user callable is called once per t.
    """
    schedule = as_schedule(schedule)
    return _evaluate(schedule, np.arange(int(n), dtype=np.int64))
