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

Parameters are checked when the schedule is built (``ValueError``/``TypeError`` naming
the parameter): ``init`` > 0 for the decays that only make sense as learning rates
(:func:`step`, :func:`exponential`, :func:`cosine`, :func:`inverse_sqrt`, whose ``gamma``
and ``tau`` must be > 0 too); ``end`` >= 0 (:func:`linear`, :func:`cosine`) and ``start``
>= 0 (:func:`warmup`), since a ramp or a decay may touch 0; :func:`constant` and
:func:`linear` also serve as momentum schedules and accept 0. The solvers check each
value they use: a learning rate must be > 0 at every step it is used (so a decay to
``end = 0`` or a warm-up from ``start = 0`` is refused at the step where it reaches 0:
give ``end > 0`` / ``start > 0`` for a solver), and a momentum must be in [0, 1).

Momentum schedules: :func:`constant` and :func:`nesterov_momentum` (rho_k = (k - 1)/(k + 2)),
and :class:`AdaptiveRestart` (O'Donoghue and Candes, 2015), which restarts the
momentum sequence whenever the solver reports that a step went uphill.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._checks import check_int, check_nonnegative, check_positive, check_real

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


def constant(value: float) -> Schedule:
    """alpha_t = value (any finite number: also a momentum schedule, where 0 is valid)."""
    check_real("value", value)
    return Schedule("constant", lambda t: np.full(t.shape, float(value)), value=value)


def linear(init: float, end: float, steps: int) -> Schedule:
    """Linear ramp: (1 - t/tau) init + (t/tau) end for t < tau = ``steps``, then ``end``.

    A warm-up when ``end > init``, a decay when ``end < init``. ``init`` and ``end``
    must be >= 0 (a learning-rate ramp may start at 0; a momentum ramp too).
    """
    check_nonnegative("init", init)
    check_nonnegative("end", end)
    check_int("steps", steps, 1)

    def f(t):
        frac = np.minimum(t / steps, 1.0)
        return (1.0 - frac) * init + frac * end

    return Schedule("linear", f, init=init, end=end, steps=steps)


def step(init: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """alpha_t = init * gamma^floor(t / step_size), a learning rate: init > 0, gamma > 0."""
    check_positive("init", init)
    check_positive("gamma", gamma)
    check_int("step_size", step_size, 1)
    return Schedule("step", lambda t: init * gamma ** np.floor(t / step_size),
                    init=init, step_size=step_size, gamma=gamma)


def exponential(init: float, gamma: float) -> Schedule:
    """alpha_t = init * gamma^t, a learning rate: init > 0, gamma > 0."""
    check_positive("init", init)
    check_positive("gamma", gamma)
    return Schedule("exponential", lambda t: init * gamma ** t, init=init, gamma=gamma)


def cosine(init: float, steps: int, end: float = 0.0) -> Schedule:
    """Cosine decay from ``init`` (> 0) to ``end`` (>= 0) over tau = ``steps``, then ``end``.

    With the default ``end = 0`` the rate is 0 from t = tau on, which the solvers refuse
    at that step: give ``end > 0`` or ``max_iter < steps``.
    """
    check_positive("init", init)
    check_nonnegative("end", end)
    check_int("steps", steps, 1)

    def f(t):
        frac = np.minimum(t, steps) / steps
        return end + (init - end) * 0.5 * (1.0 + np.cos(np.pi * frac))

    return Schedule("cosine", f, init=init, steps=steps, end=end)


def inverse_sqrt(init: float, tau: float = 1.0) -> Schedule:
    """alpha_t = init / sqrt(1 + t / tau), a learning rate: init > 0, tau > 0."""
    check_positive("init", init)
    check_positive("tau", tau)
    return Schedule("inverse_sqrt", lambda t: init / np.sqrt(1.0 + t / tau), init=init, tau=tau)


def warmup(schedule, steps: int, start: float = 0.0) -> Schedule:
    """Linear warm-up from ``start`` to ``schedule(0)`` over w = ``steps``, then shifted.

    alpha_t = start + (schedule(0) - start) t / w for t < w, schedule(t - w) afterwards.
    ``start`` >= 0; with the default ``start = 0`` alpha_0 = 0, which the solvers refuse
    as a learning rate: give ``start > 0`` there.
    """
    base = as_schedule(schedule)
    check_int("steps", steps, 1)
    check_nonnegative("start", start)

    def f(t):
        top = float(_evaluate(base, np.zeros(1, np.int64))[0])
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
    restarts (``restart(k + 1)``) after the step from iterate k when it went uphill. With
    x_{k+1} = y_k - alpha grad f(y_k) and y_k = x_k + rho_k (x_k - x_{k-1}) the
    look-ahead point (the point Nesterov evaluates, see :func:`fastopt.updates.nesterov_`):

    - ``scheme="gradient"``: grad f(y_k)^T (x_{k+1} - x_k) > 0, O'Donoghue and Candes'
      gradient scheme exactly.
    - ``scheme="function"``: f(y_k) > f(y_{k-1}), the function values at *consecutive
      look-ahead points*. This is a variant of O'Donoghue and Candes' function scheme,
      which compares f(x_{k+1}) > f(x_k) at the gradient-step iterates: the solver has
      f only at the look-ahead points, and evaluating f(x_{k+1}) as well would cost one
      more pass over the data per iteration. Without momentum (rho = 0, y_k = x_k) it
      is their test applied one step later. It uses full function values, so the
      solvers refuse it with ``batch_size``.

    A restart sets x (the stored y_{k+1}) to x_{k+1} and zeroes the momentum state s.

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
    """A fresh :class:`AdaptiveRestart` momentum schedule.

    ``scheme="gradient"`` restarts when grad f(y_k)^T (x_{k+1} - x_k) > 0;
    ``scheme="function"`` restarts when f(y_k) > f(y_{k-1}), at consecutive look-ahead
    points y_k, a variant of O'Donoghue and Candes' f(x_{k+1}) > f(x_k) that needs no
    extra function evaluation (see :class:`AdaptiveRestart`).
    """
    return AdaptiveRestart(base, scheme)


def as_schedule(value):
    """A number becomes :func:`constant`; a callable is returned as is."""
    if isinstance(value, (Schedule, AdaptiveRestart)) or callable(value):
        return value
    return constant(value)


def _evaluate(schedule, t: np.ndarray) -> np.ndarray:
    """``schedule`` at the integer array ``t`` (any shape, 0-d included), same shape."""
    t = np.asarray(t)
    if isinstance(schedule, (Schedule, AdaptiveRestart)):
        return np.asarray(schedule(t), dtype=np.float64)
    # A user callable takes one int at a time; a 0-d t is iterated as a 1-element array.
    flat = np.atleast_1d(t).ravel()
    values = np.array([float(schedule(int(k))) for k in flat], dtype=np.float64)
    return values.reshape(t.shape)


def tabulate(schedule, n: int) -> np.ndarray:
    """Values of ``schedule`` at t = 0, ..., n - 1 as a float64 array (for compiled loops).

    Built-in schedules are evaluated vectorized; a user callable is called once per t.
    """
    schedule = as_schedule(schedule)
    return _evaluate(schedule, np.arange(int(n), dtype=np.int64))
