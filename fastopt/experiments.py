"""Studies of the notes as functions returning data (the CLI and ``fo.plot`` draw them).

    momentum_sweep            iterations to tolerance against rho, heavy ball and Nesterov
    heavy_ball_counterexample heavy ball with its optimal quadratic parameters on the
                              piecewise quadratic (Lessard, Recht, Packard 2016)
    adaptive_study            gd, nesterov, adagrad, rmsprop, adam on one objective
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["momentum_sweep", "heavy_ball_counterexample", "adaptive_study"]


def momentum_sweep(objective, rhos, methods=("heavy-ball", "nesterov"), lr=None, x0=None,
                   tol=1e-6, max_iter=5000) -> dict:
    """Iterations to ||grad f|| <= tol for each momentum rho, per method.

    Parameters
    ----------
    objective : Objective
        With a known ``lipschitz()`` when ``lr`` is None (then lr = 1/L).
    rhos : sequence of float in [0, 1)
    methods : sequence of str
    lr : float, optional
    x0 : ndarray of shape (p,), optional (zeros)

    Returns
    -------
    dict
        ``rho`` (array), ``lr``, ``tol``, and per method a dict with ``nit`` (iterations,
        ``max_iter`` where it did not converge), ``converged`` (bool array), ``fun``, and
        ``best_rho`` (the fastest converging rho, or None).
    """
    from .minimize import minimize

    rhos = np.asarray(rhos, dtype=np.float64)
    if lr is None:
        lr = 1.0 / float(objective.lipschitz())
    x0 = np.zeros(objective.n_params) if x0 is None else np.asarray(x0, dtype=np.float64)
    out = {"rho": rhos, "lr": float(lr), "tol": tol, "max_iter": max_iter}
    for method in methods:
        nit = np.empty(rhos.size, dtype=np.int64)
        conv = np.empty(rhos.size, dtype=bool)
        fun = np.empty(rhos.size)
        for i, rho in enumerate(rhos):
            res = minimize(objective, x0, method=method, lr=lr, momentum=float(rho), tol=tol,
                           max_iter=max_iter, history_every=0)
            nit[i], conv[i], fun[i] = res.nit, res.success, res.fun
        best = int(np.argmin(np.where(conv, nit, np.iinfo(np.int64).max))) if conv.any() else None
        out[method] = {"nit": nit, "converged": conv, "fun": fun,
                       "best_rho": None if best is None else float(rhos[best])}
    return out


def heavy_ball_counterexample(starts=(-3.0, -1.0, 0.5, 1.5, 3.0, 10.0), max_iter=2000,
                              tol=1e-8, tail=8) -> dict:
    """Heavy ball with alpha*, rho* (L = 25, mu = 1) on the piecewise quadratic.

    Returns
    -------
    dict
        ``lr``, ``momentum``, and per start x0: ``converged`` (||grad f|| <= tol),
        ``nit``, ``final_x``, ``tail`` (the last ``tail`` iterates x_k: a cycle shows
        as a repeating pattern), ``max_abs_x`` over the run.
    """
    from .minimize import minimize
    from .problems import PiecewiseQuadratic
    from .theory import heavy_ball_parameters

    obj = PiecewiseQuadratic()
    lr, rho = heavy_ball_parameters(obj.lipschitz(), obj.strong_convexity())
    runs = []
    for x0 in starts:
        xs = []
        res = minimize(obj, np.array([float(x0)]), method="heavy-ball", lr=lr, momentum=rho,
                       tol=tol, max_iter=max_iter, history_every=0,
                       callback=lambda xk, xs=xs: xs.append(float(xk[0])))
        xs = np.asarray(xs)
        runs.append({"x0": float(x0), "converged": bool(res.success), "status": int(res.status),
                     "nit": int(res.nit), "final_x": float(res.x[0]),
                     "tail": xs[-tail:], "max_abs_x": float(np.max(np.abs(xs)))
                     if xs.size else math.nan})
    return {"lr": lr, "momentum": rho, "runs": runs}


def adaptive_study(objective, methods=("gd", "nesterov", "adagrad", "rmsprop", "adam"),
                   lrs=None, x0=None, max_iter=2000, tol=1e-8, history_every=1) -> dict:
    """Run several methods on one objective; returns their histories and results.

    ``lrs`` maps a method to its step size (defaults: the method's own).
    """
    from .minimize import minimize

    lrs = dict(lrs or {})
    x0 = np.zeros(objective.n_params) if x0 is None else np.asarray(x0, dtype=np.float64)
    out = {}
    for method in methods:
        kw = {"lr": lrs[method]} if method in lrs else {}
        res = minimize(objective, x0, method=method, tol=tol, max_iter=max_iter,
                       history_every=history_every, **kw)
        out[method] = {"history": res.history.as_dict(), "nit": int(res.nit),
                       "fun": float(res.fun), "status": int(res.status)}
    return out
