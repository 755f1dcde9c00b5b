"""``fastopt.minimize``: the driver, with the contract of ``scipy.optimize.minimize``.

It validates ``x0`` and the options, wraps plain callables in
:class:`fastopt.problems.Function`, looks the method up in the registry
(:mod:`fastopt.solvers.registry`), builds the shared :class:`~fastopt.solvers.run.Run`
(stopping rules, history, callback, best iterate) and returns the solver's
:class:`fastopt.OptimizeResult`. Nothing here is specific to a method.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from ._checks import check_int, check_nonnegative, check_positive
from ._result import OptimizeResult
from .problems._validation import refuse_masked

__all__ = ["minimize", "COMMON_OPTIONS"]

#: Options every method accepts, with their defaults.
COMMON_OPTIONS = {
    "tol": 1e-6,            # stop when ||grad f(x_k)|| <= tol
    "xtol": 0.0,            # stop when ||x_{k+1} - x_k|| <= xtol
    "ftol": 0.0,            # stop when |f_k - f_{k+1}| <= ftol max(1, |f_k|)
    "max_iter": 1000,
    "max_time": math.inf,   # seconds
    "history_every": 1,     # record the history every k iterations (0: never)
    "callback": None,
    "seed": None,
    "batch_size": None,     # mini-batches for finite sums
    "backend": "auto",      # kernels of the solver's own updates
}

_COUNTERS = ("nfev", "njev", "nhev", "n_passes")


def _is_objective(fun) -> bool:
    return all(hasattr(fun, a) for a in ("n_params", "loss_grad", "value", "grad"))


def _wrap_callback(callback):
    """scipy's convention: a callback whose only parameter is ``intermediate_result`` gets
    the OptimizeResult; any other callback gets ``xk``."""
    if callback is None:
        return None
    if not callable(callback):
        raise TypeError(f"callback must be callable, got {callback!r}")
    try:
        params = list(inspect.signature(callback).parameters)
    except (TypeError, ValueError):
        params = []
    if params == ["intermediate_result"]:
        return callback
    return lambda res: callback(res.x)


def _check_x0(x0, p):
    refuse_masked(x0, "x0")
    raw = np.asarray(x0) if not isinstance(x0, np.ndarray) else x0
    if raw.dtype.kind == "c":  # float() would drop the imaginary part with a warning
        raise TypeError(f"x0 must hold real numbers; got dtype {raw.dtype}")
    if raw.dtype.kind == "O" and any(v is None for v in raw.flat):
        raise TypeError("x0 must hold real numbers; got None")  # float(None) would be NaN
    try:
        x = np.array(x0, dtype=np.float64, order="C", copy=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"x0 must be an array of real numbers: {exc}") from None
    if x.ndim != 1 or (p is not None and x.shape[0] != p):
        want = f"({p},)" if p is not None else "(p,)"
        raise ValueError(f"x0 must have shape {want}, got shape {np.shape(x0)}")
    if x.shape[0] == 0:
        raise ValueError("x0 is empty")
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 contains NaN or inf")
    # A finite but huge x0 (|x_i| >= ~1e154) is accepted: its f or gradient norm overflows
    # to inf and the run reports DIVERGED at k = 0 with x = x0, in both loops, without an
    # overflow warning (the norms are computed under np.errstate, see solvers.run).
    return x


def minimize(fun, x0, args=(), method="gd", jac=None, hess=None, hessp=None, callback=None,
             options=None, **option_kwargs) -> OptimizeResult:
    """Minimize an objective from ``x0`` with ``method``.

    Parameters
    ----------
    fun : Objective or callable
        A fastopt objective (``fo.problems.Logistic``, ...), or ``fun(x, *args) -> float``
        (``-> (float, ndarray)`` with ``jac=True``) as in scipy.
    x0 : array_like of shape (p,)
        Starting point (finite; not modified).
    args : tuple
        Extra arguments of the callables (a value that is not a tuple is one argument, as
        in scipy).
    method : str
        A registered method: ``fastopt.solvers.registry.names()``.
    jac : callable, True or None
        Gradient ``jac(x, *args)``, or True if ``fun`` returns ``(f, g)``; None: finite
        differences.
    hess, hessp : callable or None
        Hessian ``hess(x, *args)`` or Hessian-vector product ``hessp(x, v, *args)``.
    callback : callable or None
        ``callback(intermediate_result)`` (an OptimizeResult with ``x``, ``fun``, ``jac``,
        ``nit``), or ``callback(xk)``; returning True or raising StopIteration stops the run.
    options : dict or None
        Options (also accepted as keyword arguments). Common to every method:
        ``tol``, ``xtol``, ``ftol``, ``max_iter``, ``max_time``, ``history_every``,
        ``callback``, ``seed``, ``batch_size``, ``backend``; the method's own options come
        from the registry. An unknown option is a ``ValueError`` that names it.
        ``seed`` seeds the randomized runs (``sketch-newton``'s row sampling, mini-batch
        shuffling); ``newton``, ``newton-cg`` and ``lbfgs``, which draw no random numbers,
        refuse it with a ``ValueError``.
        ``backend`` picks the kernels of the method's own steps: the fused updates of
        the first-order methods, the two-loop recursion of ``lbfgs`` (``"auto"``: the
        objective's backend). ``newton``, ``newton-cg`` and ``sketch-newton`` run only
        the objective's kernels and refuse a ``backend`` other than the objective's.

    Returns
    -------
    OptimizeResult
        ``x, fun, jac, nit, nfev, njev, nhev, n_passes, status, success, message,
        history, method``; counters count this run only.
    """
    from . import solvers
    from .solvers.run import Run

    if options is not None and not isinstance(options, dict):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    if not isinstance(args, tuple):
        args = (args,)  # as scipy.optimize.minimize: one extra argument
    opts = dict(options or {})
    both = sorted(set(opts) & set(option_kwargs))
    if both:
        raise ValueError(f"option(s) given both in options and as keywords: {', '.join(both)}")
    opts.update(option_kwargs)
    if callback is not None:
        if opts.get("callback") is not None:
            raise ValueError("callback given both as an argument and as an option")
        opts["callback"] = callback

    if not isinstance(method, str):
        raise TypeError(f"method must be a string, got {method!r}")
    spec = solvers.registry.get(method.lower())
    unknown = sorted(set(opts) - set(COMMON_OPTIONS) - set(spec.options))
    if unknown:
        raise ValueError(
            f"unknown option(s) for method {spec.name!r}: {', '.join(unknown)}; "
            f"accepted: {', '.join(sorted(set(COMMON_OPTIONS) | set(spec.options)))}")
    common = {k: opts.get(k, v) for k, v in COMMON_OPTIONS.items()}
    method_options = {k: opts.get(k, v) for k, v in spec.options.items()}

    if _is_objective(fun):
        if args or jac is not None or hess is not None or hessp is not None:
            raise ValueError("args, jac, hess and hessp apply to callables, not to an objective")
        objective = fun
        p = objective.n_params
        x = _check_x0(x0, None if p is None else int(p))
        if p is None:  # a Function learns p from its first point
            objective.check_x(x, "x0")
    elif callable(fun):
        from .problems import Function

        x = _check_x0(x0, None)
        objective = Function(fun, grad=jac, hvp=hessp, hess=hess, args=tuple(args),
                             n_params=x.shape[0])
    else:
        raise TypeError(f"fun must be an objective or a callable, got {type(fun).__name__}")

    tol = check_nonnegative("tol", common["tol"])
    xtol = check_nonnegative("xtol", common["xtol"])
    ftol = check_nonnegative("ftol", common["ftol"])
    max_iter = check_int("max_iter", common["max_iter"], 0)
    max_time = common["max_time"]
    # inf (the default) disables the time limit; anything else must be a finite time > 0.
    if not (isinstance(max_time, float) and max_time == math.inf):
        max_time = check_positive("max_time", max_time)
    history_every = check_int("history_every", common["history_every"], 0)
    batch_size = common["batch_size"]
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, 1)
        if spec.order == 2:
            # Second-order methods use full gradients and curvature: a batch_size they
            # would ignore is refused rather than silently dropped.
            raise ValueError(f"batch_size is not supported by method {spec.name!r} "
                             "(a second-order method uses full gradients)")
    seed = common["seed"]
    if seed is not None:
        seed = check_int("seed", seed, 0)
    backend = common["backend"]
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string, got {backend!r}")
    if backend != "auto":
        from .kernels import resolve_backend

        resolve_backend(backend)  # an unknown or unusable name is refused for every method
        if not spec.own_kernels and backend != getattr(objective, "backend", None):
            raise ValueError(
                f"backend={backend!r} has no effect on method {spec.name!r}: it runs only "
                "the objective's kernels; build the objective with "
                f"backend={backend!r} instead")

    run = Run(tol=tol, xtol=xtol, ftol=ftol, max_iter=max_iter, max_time=float(max_time),
              callback=_wrap_callback(common["callback"]), history_every=history_every,
              seed=seed, batch_size=batch_size, backend=backend)
    before = {c: getattr(objective, c, 0) for c in _COUNTERS}
    res = spec.func(objective, x, method_options, run)
    for c in _COUNTERS:
        if c in res and before[c]:
            res[c] = res[c] - before[c]
    return res
