"""Fused, in-place optimizer steps (public API): ``fo.updates.adam_(x, m, v, g, t)``.

Each function updates ``x`` and its state arrays in place in one pass over memory,
allocating nothing, with the kernels of the chosen backend (``"numba"`` by default,
``"cython"``, or ``"numpy"``, the reference twin). ``x``, the state arrays and ``g`` must
be 1-D, C-contiguous, of one dtype (float32 or float64) and one length; ``x`` and the
state must be writeable. These checks are O(1); values are not checked (NaN in, NaN out).
State arrays start at zero (``np.zeros_like(x)``), and ``t`` counts steps from 1.

Recurrences (alpha = lr, rho = momentum, element-wise):

    gd_          x <- x - alpha g
    heavy_ball_  s <- rho s - alpha g;  x <- x + s
    nesterov_    look-ahead form: x holds y_k = x_k + rho s_k and g = grad f(y_k);
                 s <- rho s - alpha g;  y <- y - rho s_old + (1 + rho_next) s
    adagrad_     r <- r + g o g;  x <- x - alpha g / (sqrt(r) + eps)
    rmsprop_     r <- rho r + (1 - rho) g o g;  x <- x - alpha g / (sqrt(r) + eps)
    adam_        m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g o g;  [v_max <- max(v_max, v)]
                 x <- x - alpha (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    adamw_       x <- (1 - alpha wd) x, then the Adam step
"""

from __future__ import annotations

import numpy as np

from ._checks import check_interval, check_nonnegative, check_positive
from .kernels import get_backend

__all__ = ["gd_", "heavy_ball_", "nesterov_", "adagrad_", "rmsprop_", "adam_", "adamw_"]

_EMPTY = {np.dtype(np.float32): np.empty(0, np.float32),
          np.dtype(np.float64): np.empty(0, np.float64)}
_KERNELS: dict = {}


def _kernels(backend: str):
    mod = _KERNELS.get(backend)
    if mod is None:
        mod = _KERNELS[backend] = get_backend(backend)
    return mod


def _check_arrays(x, state: dict, g) -> None:
    """O(1) checks: type, ndim, dtype, length, contiguity, writeability."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
    if x.dtype not in _EMPTY:
        raise TypeError(f"x must be float32 or float64, got dtype {x.dtype}")
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D, got shape {x.shape} (ravel a contiguous array)")
    for name, a in (("x", x), *state.items(), ("g", g)):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
        if a.dtype != x.dtype:
            raise TypeError(f"{name} has dtype {a.dtype}, x has dtype {x.dtype}: they must match")
        if a.shape != x.shape:
            raise ValueError(f"{name} has shape {a.shape}, x has shape {x.shape}: they must match")
        if not a.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous")
        if name != "g" and not a.flags.writeable:
            raise ValueError(f"{name} is read-only; the update writes into it")


def _check_positive(**values) -> None:
    """Each value a finite number > 0 (``ValueError``/``TypeError`` naming it)."""
    for name, value in values.items():
        check_positive(name, value)


def _check_unit(**values) -> None:
    """Each value a finite number in [0, 1)."""
    for name, value in values.items():
        check_interval(name, value, 0.0, 1.0)


def gd_(x, g, lr, *, backend="numba"):
    """Gradient step x <- x - lr g, in place.

    Parameters
    ----------
    x : ndarray of shape (p,), float32 or float64
        Parameters, updated in place.
    g : ndarray of shape (p,), same dtype
        Gradient at ``x``.
    lr : float
        Step size alpha > 0.
    backend : {"numba", "cython", "numpy"}
        Kernels to use.
    """
    _check_arrays(x, {}, g)
    _check_positive(lr=lr)
    _kernels(backend).gd_(x, g, float(lr))


def heavy_ball_(x, s, g, lr, momentum, *, backend="numba"):
    """Polyak heavy-ball step, in place: s <- rho s - lr g; x <- x + s.

    Parameters
    ----------
    x, s : ndarray of shape (p,)
        Parameters and the previous step s_k = x_k - x_{k-1} (zeros at the start).
    g : ndarray of shape (p,)
        grad f(x).
    lr : float
        alpha > 0.
    momentum : float
        rho in [0, 1).
    """
    _check_arrays(x, {"s": s}, g)
    _check_positive(lr=lr)
    _check_unit(momentum=momentum)
    _kernels(backend).heavy_ball_(x, s, g, float(lr), float(momentum))


def nesterov_(x, s, g, lr, momentum, momentum_next=None, *, backend="numba"):
    """Nesterov step in look-ahead form, in place.

    ``x`` holds the look-ahead point y_k = x_k + rho_k s_k and ``g`` = grad f(y_k), so
    the gradient is always taken at the stored vector (no extra pass to form x + rho s):

        s_{k+1} = rho_k s_k - alpha g
        y_{k+1} = y_k - rho_k s_k + (1 + rho_{k+1}) s_{k+1}

    which is x_{k+1} = x_k + s_{k+1}, y_{k+1} = x_{k+1} + rho_{k+1} s_{k+1}. The underlying
    iterate is x_k = y_k - rho_k s_k. Start with y_0 = x_0 and s_0 = 0.

    Parameters
    ----------
    x, s : ndarray of shape (p,)
        Look-ahead point y_k and previous step s_k.
    g : ndarray of shape (p,)
        grad f(y_k).
    lr : float
        alpha > 0.
    momentum : float
        rho_k in [0, 1).
    momentum_next : float, optional
        rho_{k+1} (defaults to ``momentum``: constant momentum).
    """
    if momentum_next is None:
        momentum_next = momentum
    _check_arrays(x, {"s": s}, g)
    _check_positive(lr=lr)
    _check_unit(momentum=momentum, momentum_next=momentum_next)
    _kernels(backend).nesterov_(x, s, g, float(lr), float(momentum), float(momentum_next))


def adagrad_(x, r, g, lr, eps=1e-10, *, backend="numba"):
    """AdaGrad step, in place: r <- r + g o g; x <- x - lr g / (sqrt(r) + eps)."""
    _check_arrays(x, {"r": r}, g)
    _check_positive(lr=lr, eps=eps)
    _kernels(backend).adagrad_(x, r, g, float(lr), float(eps))


def rmsprop_(x, r, g, lr, rho=0.9, eps=1e-8, *, backend="numba"):
    """RMSProp step, in place: r <- rho r + (1 - rho) g o g; x <- x - lr g / (sqrt(r) + eps)."""
    _check_arrays(x, {"r": r}, g)
    _check_positive(lr=lr, eps=eps)
    _check_unit(rho=rho)
    _kernels(backend).rmsprop_(x, r, g, float(lr), float(rho), float(eps))


def _adam_checks(x, m, v, g, t, lr, beta1, beta2, eps, v_max):
    state = {"m": m, "v": v}
    if v_max is not None:
        state["v_max"] = v_max
    _check_arrays(x, state, g)
    _check_positive(lr=lr, eps=eps)
    _check_unit(beta1=beta1, beta2=beta2)
    if int(t) != t or t < 1:
        raise ValueError(f"t (the step count, from 1) must be an integer >= 1, got {t}")
    return _EMPTY[x.dtype] if v_max is None else v_max


def adam_(x, m, v, g, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, v_max=None, *,
          backend="numba"):
    """Adam step (bias-corrected), in place; AMSGrad when ``v_max`` is given.

    Parameters
    ----------
    x, m, v : ndarray of shape (p,)
        Parameters, first and second moment estimates (zeros at the start).
    g : ndarray of shape (p,)
        Gradient at ``x``.
    t : int
        Step number, from 1 (bias corrections 1 - beta^t).
    lr, beta1, beta2, eps : float
        alpha > 0, b1 and b2 in [0, 1), eps > 0.
    v_max : ndarray of shape (p,), optional
        Running maximum of ``v`` (AMSGrad); the step uses it in place of ``v``.
    """
    vm = _adam_checks(x, m, v, g, t, lr, beta1, beta2, eps, v_max)
    _kernels(backend).adam_(x, m, v, g, int(t), float(lr), float(beta1), float(beta2),
                            float(eps), vm)


def adamw_(x, m, v, g, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2,
           v_max=None, *, backend="numba"):
    """AdamW step, in place: x <- (1 - lr wd) x, then the Adam step (see :func:`adam_`).

    ``weight_decay`` (>= 0) is decoupled from the gradient (Loshchilov and Hutter).
    """
    vm = _adam_checks(x, m, v, g, t, lr, beta1, beta2, eps, v_max)
    check_nonnegative("weight_decay", weight_decay)
    _kernels(backend).adamw_(x, m, v, g, int(t), float(lr), float(beta1), float(beta2),
                             float(eps), float(weight_decay), vm)
