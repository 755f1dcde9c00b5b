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

Recurrences (lr = alpha, rho = momentum, element-wise; from the table of steps,
:mod:`fastopt.kernels.steps`):

{recurrences}
    adam_        m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g o g;  [v_max <- max(v_max, v)]
                 x <- x - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    adamw_       x <- (1 - lr wd) x, then the Adam step

Cost of a call. A thousand-parameter update takes a few microseconds, so the checks
are written for the common case: a few identity and range tests on exact types
(``ndarray``, ``float``, ``int``) that every valid call passes. Anything else (a
subclass, a numpy scalar, an int learning rate, a bad value) goes through the full
checks, which accept what is valid and name what is not, so both paths accept and
refuse exactly the same calls.
"""

from __future__ import annotations

import importlib
import math

import numpy as np

from ._checks import check_interval, check_nonnegative, check_positive
from .kernels import get_backend
from .kernels import steps as _steps

# gd_, nesterov_, adam_ and adamw_ are written below; the other steps' functions are
# generated from the table (see the end of this module).
__all__ = _steps.exported()

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


#: backend -> the Cython ``step_`` (every step in one C-level call), or None for a backend
#: whose named kernels are called instead.
_DIRECT: dict = {}
_CODE = _steps.CODES


def _direct(backend: str):
    """The Cython backend's generic ``step_(code, x, state, g, t, lr, params, carry)``, or
    None: the public functions call it directly, one Python frame fewer than through the
    named kernel (a tenth of a microsecond, on calls of one or two)."""
    try:
        return _DIRECT[backend]
    except KeyError:
        mod = get_backend(backend)
        step = None
        if mod.__name__.endswith(".cython"):
            step = importlib.import_module(mod.__name__ + ".updates").step_
        _DIRECT[backend] = step
        return step


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
    **{s.kernel: ("x", *s.state, "g") for s in _steps.STEPS if s.export},
    "adam_": ("x", "m", "v", "g", "t", "lr", "beta1", "beta2", "eps", "v_max"),
    "adamw_": ("x", "m", "v", "g", "t", "lr", "beta1", "beta2", "eps", "weight_decay",
               "v_max"),
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
    direct = _direct(backend)
    if direct is not None:
        direct(_CODE["gd"], x, (), g, 0, lr, (), 0.0)
    else:
        _kernels(backend).gd_(x, g, lr)


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
    direct = _direct(backend)
    if direct is not None:
        direct(_CODE["nesterov"], x, (s,), g, 0, lr, (momentum, momentum_next), 0.0)
    else:
        _kernels(backend).nesterov_(x, s, g, lr, momentum, momentum_next)


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
    _adam_call(backend, x, m, v, g, t, lr, beta1, beta2, eps, 0.0, vm)


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
    _adam_call(backend, x, m, v, g, t, lr, beta1, beta2, eps, weight_decay, vm)


def _adam_call(backend, x, m, v, g, t, lr, beta1, beta2, eps, weight_decay, vm):
    """The checked Adam(W) step on ``backend`` (``vm`` empty: no AMSGrad)."""
    direct = _direct(backend)
    if direct is None:
        _kernels(backend).adamw_(x, m, v, g, t, lr, beta1, beta2, eps, weight_decay, vm)
    elif vm.shape[0]:
        direct(_CODE["amsgrad_moments"], x, (m, v, vm), g, t, lr,
               (beta1, beta2, eps, weight_decay), 0.0)
    else:
        direct(_CODE["adam_moments"], x, (m, v), g, t, lr, (beta1, beta2, eps, weight_decay),
               0.0)


# --- the functions generated from the table of steps -------------------------------------

_CHECK_OK = {"positive": "_positive_ok({})", "unit": "_unit_ok({})",
             "nonnegative": "_nonnegative_ok({})"}
_CHECK_FULL = {"positive": check_positive, "nonnegative": check_nonnegative,
               "unit": lambda name, v: check_interval(name, v, 0.0, 1.0)}
_CHECK_DOC = {"positive": "finite, > 0", "unit": "in [0, 1)", "nonnegative": "finite, >= 0"}


def _nonnegative_ok(a) -> bool:
    return isinstance(a, float) and 0.0 <= a < _INF


def _check_step_count(t):
    # An integral float (3.0) is a step count; a bool is not (True would be step 1).
    if (isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer, float))
            or not (t >= 1 and int(t) == t)):
        raise ValueError(f"t (the step count, from 1) must be an integer >= 1, got {t!r}")
    return int(t)


def _checked(step, x, state, g, t, lr, params):
    """Every check of a generated update; returns ``(t, lr, *params)`` converted for the
    kernels (``ValueError``/``TypeError`` naming what is wrong otherwise)."""
    _check_arrays(x, dict(zip(step.state, state, strict=True)), g)
    if step.uses_t:
        t = _check_step_count(t)
    lr = check_positive("lr", lr)
    return (t, lr, *(_CHECK_FULL[p.check](p.name, value)
                     for p, value in zip(step.params, params, strict=True)))


#: step name -> {hyper-parameters: (t, carry before step t + 1)} of the last step asked for,
#: so that a run calling t = 1, 2, 3, ... advances each carry once per call.
_CARRIES: dict = {}


def _carry(step, t: int, params: tuple) -> float:
    """The carry before step ``t`` (NAdam: prod_{s < t} mu_s), advanced in step order."""
    cache = _CARRIES.setdefault(step.name, {})
    s, carry = cache.get(params, (0, step.carry0))
    if s > t - 1:
        s, carry = 0, step.carry0
    while s < t - 1:
        s += 1
        nxt = step.coefs(float(s), 1.0, params, carry)[1]
        if nxt == carry:  # a fixed point (NAdam's product reaches 0 and stays there)
            s = t - 1
            break
        carry = nxt
    if len(cache) > 64:
        cache.clear()
    cache[params] = (t - 1, carry)
    return carry


def _public_source(step) -> str:
    state = [*step.state]
    params = [p.name for p in step.params]
    lr = "lr" if step.lr_default is None else f"lr={step.lr_default!r}"
    sig = ", ".join(["x", *state, "g", *(["t"] if step.uses_t else []), lr,
                     *(p.name if p.default is None else f"{p.name}={p.default!r}"
                       for p in step.params)])
    fast = [f"_arrays_ok(x, g{''.join(', ' + s for s in state)})", "_positive_ok(lr)"]
    if step.uses_t:
        fast.insert(1, "type(t) is int and t >= 1")
    fast += [_CHECK_OK[p.check].format(p.name) for p in step.params]
    targets = ", ".join(["t", "lr", *params])
    ptuple = "(" + "".join(f"{p}, " for p in params) + ")"
    call = ", ".join(["x", *state, "g", *(["t"] if step.uses_t else []), "lr", *params])
    carry = ", carry" if step.carry0 is not None else ""
    return (f"def {step.kernel}({sig}, *, backend='auto'):\n"
            f"    if not ({' and '.join(fast)}):\n"
            f"        {targets}, = _checked(_STEP, x, ({''.join(s + ', ' for s in state)}), g, "
            f"{'t' if step.uses_t else 'None'}, lr, {ptuple})\n"
            + (f"    carry = _carry(_STEP, t, {ptuple})\n" if carry else "")
            + f"    direct = _direct(backend)\n"
            f"    if direct is not None:\n"
            f"        direct({step.code}, x, ({''.join(s + ', ' for s in state)}), g, "
            f"{'t' if step.uses_t else '0'}, lr, {ptuple}, "
            f"{carry[2:] if carry else '0.0'})\n"
            f"    else:\n"
            f"        _kernels(backend).{step.kernel}({call}{carry})\n")


def _public_doc(step) -> str:
    lines = [f"Fused {step.name.replace('_', '-')} step, in place: {step.math}.", "",
             "Parameters", "----------",
             "x : ndarray of shape (p,), float32 or float64", "    Parameters, updated in place."]
    for s in step.state:
        lines += [f"{s} : ndarray of shape (p,), same dtype",
                  "    State, updated in place (zeros at the start)."]
    lines += ["g : ndarray of shape (p,), same dtype", "    Gradient at ``x``."]
    if step.uses_t:
        lines += ["t : int", "    Step number, from 1."]
    if step.carry0 is not None:
        lines[0] += " The running scalar of step t is recomputed from t (once per step "
        lines[0] += "when the steps come in order)."
    lines += ["lr : float", "    Step size, finite, > 0."]
    lines += [f"{p.name} : float\n    {_CHECK_DOC[p.check]}." for p in step.params]
    lines += ['backend : {"auto", "cython", "numba", "numpy"}',
              "    Kernels to use (see :func:`gd_`)."]
    return "\n".join(lines) + "\n"


def _generate() -> dict:
    out = {}
    for step in _steps.STEPS:
        if not step.export or step.kernel in globals():
            continue  # written by hand above (gd_, nesterov_, the Adam family)
        ns = {**globals(), "_STEP": step}
        exec(_public_source(step), ns)  # noqa: S102 (our own text)
        fn = ns[step.kernel]
        fn.__doc__ = _public_doc(step)
        fn.__module__ = __name__
        out[step.kernel] = fn
    return out


globals().update(_generate())


def _recurrences() -> str:
    lines = []
    for step in _steps.STEPS:
        if step.export:
            first, *rest = step.math.split("\n")
            lines.append(f"    {step.kernel:<12} {first}")
            lines += [f"    {'':<12} {line}" for line in rest]
    return "\n".join(lines)


if __doc__:  # None under python -OO
    __doc__ = __doc__.replace("{recurrences}", _recurrences())
