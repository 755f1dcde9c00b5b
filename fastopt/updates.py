"""Fused, in-place optimizer steps (public API): ``fo.updates.adam_(x, m, v, g, t)``.

Each function updates ``x`` and its state arrays in place in one pass over memory,
allocating nothing, with the kernels of the chosen backend: ``"auto"`` (the default: the
Cython kernels, compiled when the package is installed, so a first call compiles
nothing), ``"cython"``, ``"numba"`` (compiled on its first call in each process) or
``"numpy"`` (the reference twin). ``x``, the state arrays and ``g`` must be 1-D,
C-contiguous, of one dtype (float32 or float64) and one length; ``x`` and the state
must be writeable, and no two of the arrays may overlap in memory (an array passed twice
would be read after it is written: garbage), except that ``gd_`` takes ``g`` = ``x``
itself. These checks are O(1); values are not checked (NaN in, NaN out).
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
    nadam_       mu_t = b1 (1 - 0.5 * 0.96^(t psi)),  P_t = mu_1 ... mu_t;  m, v as Adam;
                 d = sqrt(v / (1 - b2^t)) + eps;
                 x <- x - alpha (1 - mu_t) / (1 - P_t) g / d
                        - alpha mu_{t+1} / (1 - P_t mu_{t+1}) m / d

Cost of a call. A thousand-parameter update takes a few microseconds, so the checks
are written for the common case: a few identity and range tests on exact types
(``ndarray``, ``float``, ``int``) that every valid call passes. Anything else (a
subclass, a numpy scalar, an int learning rate, a bad value) goes through the full
checks, which accept what is valid and name what is not, so both paths accept and
refuse exactly the same calls.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_interval, check_nonnegative, check_positive
from .kernels import get_backend

__all__ = ["gd_", "heavy_ball_", "nesterov_", "adagrad_", "rmsprop_", "adam_", "adamw_",
           "nadam_"]

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_EMPTY = {_F32: np.empty(0, np.float32), _F64: np.empty(0, np.float64)}
_KERNELS: dict = {}
_INF = math.inf
_ND = np.ndarray


def _kernels(backend: str):
    try:
        return _KERNELS[backend]
    except KeyError:
        mod = get_backend(backend)
        # The Cython kernels refuse overlapping arrays themselves (pointer comparisons in
        # C); the other backends get the check here, once per call.
        _KERNELS[backend] = mod if mod.__name__.endswith(".cython") else _Apart(mod)
        return _KERNELS[backend]


class _Apart:
    """A kernel package whose update functions first refuse overlapping arrays."""

    def __init__(self, mod):
        self._mod = mod

    def __getattr__(self, name):
        kernel = getattr(self._mod, name)

        def checked(*args):
            arrays = [(label, a) for label, a in zip(_ARRAY_NAMES[name], args, strict=False)
                      if isinstance(a, np.ndarray) and a.size]
            for i, (la, a) in enumerate(arrays):
                for lb, b in arrays[i + 1:]:
                    # gd_ only: g may be x itself (x <- x - lr x, exact on every backend).
                    same = name == "gd_" and a.ctypes.data == b.ctypes.data
                    if np.may_share_memory(a, b) and not same:
                        raise ValueError(f"{name}: {la} and {lb} overlap in memory; each "
                                         "must be a separate array")
            return kernel(*args)

        setattr(self, name, checked)  # built once per kernel, not per call
        return checked


#: The array arguments of each kernel, in order (for the overlap check's message).
_ARRAY_NAMES = {
    "gd_": ("x", "g"), "heavy_ball_": ("x", "s", "g"), "nesterov_": ("x", "s", "g"),
    "adagrad_": ("x", "r", "g"), "rmsprop_": ("x", "r", "g"),
    "adam_": ("x", "m", "v", "g", "t", "lr", "beta1", "beta2", "eps", "v_max"),
    "adamw_": ("x", "m", "v", "g", "t", "lr", "beta1", "beta2", "eps", "weight_decay",
               "v_max"),
    "nadam_": ("x", "m", "v", "g"),
}


def _arrays_ok(x, g, *state) -> bool:
    """The common case of :func:`_check_arrays`, cheaply: exact ndarrays, x float32 or
    float64 and 1-D, every array of x's dtype object and shape, x and the state
    C-contiguous, aligned and writeable (``flags.carray``), g C-contiguous. False sends
    the caller to the full checks (which also accept, e.g., subclasses)."""
    if type(x) is not _ND or type(g) is not _ND:
        return False
    dt = x.dtype
    shape = x.shape
    if ((dt is not _F64 and dt is not _F32) or len(shape) != 1 or g.dtype is not dt
            or g.shape != shape or not x.flags.carray or not g.flags.c_contiguous):
        return False
    for a in state:
        if (type(a) is not _ND or a.dtype is not dt or a.shape != shape
                or not a.flags.carray):
            return False
    return True


def _positive_ok(a, b=1.0) -> bool:
    """Both floats (Python or NumPy) finite and > 0: the common case of
    ``check_positive`` (NaN fails the comparisons)."""
    return isinstance(a, float) and isinstance(b, float) and 0.0 < a < _INF and 0.0 < b < _INF


def _unit_ok(a, b=0.0) -> bool:
    """Both floats in [0, 1): the common case of ``check_interval(name, v, 0, 1)``."""
    return isinstance(a, float) and isinstance(b, float) and 0.0 <= a < 1.0 and 0.0 <= b < 1.0


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


def gd_(x, g, lr, *, backend="auto"):
    """Gradient step x <- x - lr g, in place.

    Parameters
    ----------
    x : ndarray of shape (p,), float32 or float64
        Parameters, updated in place.
    g : ndarray of shape (p,), same dtype
        Gradient at ``x``.
    lr : float
        Step size alpha > 0.
    backend : {"auto", "cython", "numba", "numpy"}
        Kernels to use; ``"auto"`` is the ahead-of-time compiled (Cython) backend.
    """
    if not (_arrays_ok(x, g) and _positive_ok(lr)):
        _check_arrays(x, {}, g)
        _check_positive(lr=lr)
        lr = float(lr)
    _kernels(backend).gd_(x, g, lr)


def heavy_ball_(x, s, g, lr, momentum, *, backend="auto"):
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
    backend : {"auto", "cython", "numba", "numpy"}
        Kernels to use (see :func:`gd_`).
    """
    if not (_arrays_ok(x, g, s) and _positive_ok(lr) and _unit_ok(momentum)):
        _check_arrays(x, {"s": s}, g)
        _check_positive(lr=lr)
        _check_unit(momentum=momentum)
        lr, momentum = float(lr), float(momentum)
    _kernels(backend).heavy_ball_(x, s, g, lr, momentum)


def nesterov_(x, s, g, lr, momentum, momentum_next=None, *, backend="auto"):
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
    backend : {"auto", "cython", "numba", "numpy"}
        Kernels to use (see :func:`gd_`).
    """
    if momentum_next is None:
        momentum_next = momentum
    if not (_arrays_ok(x, g, s) and _positive_ok(lr) and _unit_ok(momentum, momentum_next)):
        _check_arrays(x, {"s": s}, g)
        _check_positive(lr=lr)
        _check_unit(momentum=momentum, momentum_next=momentum_next)
        lr, momentum, momentum_next = float(lr), float(momentum), float(momentum_next)
    _kernels(backend).nesterov_(x, s, g, lr, momentum, momentum_next)


def adagrad_(x, r, g, lr, eps=1e-10, *, backend="auto"):
    """AdaGrad step, in place: r <- r + g o g; x <- x - lr g / (sqrt(r) + eps).

    ``backend``: ``"auto"`` (Cython), ``"cython"``, ``"numba"`` or ``"numpy"``.
    """
    if not (_arrays_ok(x, g, r) and _positive_ok(lr, eps)):
        _check_arrays(x, {"r": r}, g)
        _check_positive(lr=lr, eps=eps)
        lr, eps = float(lr), float(eps)
    _kernels(backend).adagrad_(x, r, g, lr, eps)


def rmsprop_(x, r, g, lr, rho=0.9, eps=1e-8, *, backend="auto"):
    """RMSProp step, in place: r <- rho r + (1 - rho) g o g; x <- x - lr g / (sqrt(r) + eps).

    ``backend``: ``"auto"`` (Cython), ``"cython"``, ``"numba"`` or ``"numpy"``.
    """
    if not (_arrays_ok(x, g, r) and _positive_ok(lr, eps) and _unit_ok(rho)):
        _check_arrays(x, {"r": r}, g)
        _check_positive(lr=lr, eps=eps)
        _check_unit(rho=rho)
        lr, rho, eps = float(lr), float(rho), float(eps)
    _kernels(backend).rmsprop_(x, r, g, lr, rho, eps)


def _adam_checks(x, m, v, g, t, lr, beta1, beta2, eps, v_max):
    """Every check of :func:`adam_`; returns ``(t, lr, beta1, beta2, eps, v_max)``
    converted for the kernels (``v_max`` an empty array when AMSGrad is off)."""
    state = {"m": m, "v": v}
    if v_max is not None:
        state["v_max"] = v_max
    _check_arrays(x, state, g)
    _check_positive(lr=lr, eps=eps)
    _check_unit(beta1=beta1, beta2=beta2)
    # An integral float (3.0) is a step count; a bool is not (True would be step 1).
    if (isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer, float))
            or not (t >= 1 and int(t) == t)):
        raise ValueError(f"t (the step count, from 1) must be an integer >= 1, got {t!r}")
    return (int(t), float(lr), float(beta1), float(beta2), float(eps),
            _EMPTY[x.dtype] if v_max is None else v_max)


def _adam_ok(x, m, v, g, t, lr, beta1, beta2, eps, v_max) -> bool:
    """The common case of :func:`_adam_checks`."""
    return (type(t) is int and t >= 1 and _positive_ok(lr, eps) and _unit_ok(beta1, beta2)
            and (_arrays_ok(x, g, m, v) if v_max is None else _arrays_ok(x, g, m, v, v_max)))


def adam_(x, m, v, g, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, v_max=None, *,
          backend="auto"):
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
    backend : {"auto", "cython", "numba", "numpy"}
        Kernels to use (see :func:`gd_`).
    """
    if _adam_ok(x, m, v, g, t, lr, beta1, beta2, eps, v_max):
        vm = _EMPTY[x.dtype] if v_max is None else v_max
    else:
        t, lr, beta1, beta2, eps, vm = _adam_checks(x, m, v, g, t, lr, beta1, beta2, eps,
                                                    v_max)
    _kernels(backend).adam_(x, m, v, g, t, lr, beta1, beta2, eps, vm)


def adamw_(x, m, v, g, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2,
           v_max=None, *, backend="auto"):
    """AdamW step, in place: x <- (1 - lr wd) x, then the Adam step (see :func:`adam_`).

    ``weight_decay`` (>= 0) is decoupled from the gradient (Loshchilov and Hutter).
    """
    if (_adam_ok(x, m, v, g, t, lr, beta1, beta2, eps, v_max)
            and isinstance(weight_decay, float) and 0.0 <= weight_decay < _INF):
        vm = _EMPTY[x.dtype] if v_max is None else v_max
    else:
        t, lr, beta1, beta2, eps, vm = _adam_checks(x, m, v, g, t, lr, beta1, beta2, eps,
                                                    v_max)
        weight_decay = check_nonnegative("weight_decay", weight_decay)
    _kernels(backend).adamw_(x, m, v, g, t, lr, beta1, beta2, eps, weight_decay, vm)


#: (beta1, momentum_decay) -> (t, prod_{s <= t} mu_s) of the last step asked for, so that
#: a run that calls t = 1, 2, 3, ... computes each product with one multiplication.
_MU_PRODUCTS: dict = {}


def _mu_product(t: int, beta1: float, momentum_decay: float) -> float:
    """prod_{s < t} mu_s, multiplied in step order as torch.optim.NAdam does (the product
    reaches 0 within a few thousand steps for beta1 <= 0.99; it stops there)."""
    key = (beta1, momentum_decay)
    s, prod = _MU_PRODUCTS.get(key, (0, 1.0))
    if s > t - 1:
        s, prod = 0, 1.0
    while s < t - 1 and prod != 0.0:
        s += 1
        prod *= beta1 * (1.0 - 0.5 * (0.96 ** (s * momentum_decay)))
    if len(_MU_PRODUCTS) > 64:
        _MU_PRODUCTS.clear()
    _MU_PRODUCTS[key] = (t - 1, prod)
    return prod


def nadam_(x, m, v, g, t, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=4e-3, *,
           backend="auto"):
    """NAdam step (Adam with Nesterov momentum, ``torch.optim.NAdam``), in place.

    With psi = ``momentum_decay`` and the momentum schedule
    mu_t = beta1 (1 - 0.5 * 0.96^(t psi)):

        m <- beta1 m + (1 - beta1) g;  v <- beta2 v + (1 - beta2) g o g
        d = sqrt(v / (1 - beta2^t)) + eps
        x <- x - lr (1 - mu_t) / (1 - prod_{s<=t} mu_s) g / d
               - lr mu_{t+1} / (1 - prod_{s<=t+1} mu_s) m / d

    Parameters
    ----------
    x, m, v : ndarray of shape (p,)
        Parameters, first and second moment estimates (zeros at the start).
    g : ndarray of shape (p,)
        Gradient at ``x``.
    t : int
        Step number, from 1. The product of the mu_s is recomputed from t (once per
        step when the steps come in order).
    lr, beta1, beta2, eps : float
        alpha > 0, b1 and b2 in [0, 1), eps > 0.
    momentum_decay : float
        psi >= 0.
    backend : {"auto", "cython", "numba", "numpy"}
        Kernels to use (see :func:`gd_`).
    """
    if not (_adam_ok(x, m, v, g, t, lr, beta1, beta2, eps, None)
            and isinstance(momentum_decay, float) and 0.0 <= momentum_decay < _INF):
        t, lr, beta1, beta2, eps, _ = _adam_checks(x, m, v, g, t, lr, beta1, beta2, eps, None)
        momentum_decay = check_nonnegative("momentum_decay", momentum_decay)
    _kernels(backend).nadam_(x, m, v, g, t, lr, beta1, beta2, eps, momentum_decay,
                             _mu_product(t, beta1, momentum_decay))
