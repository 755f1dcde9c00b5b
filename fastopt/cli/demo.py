"""``fastopt demo``: every method on a bundled data set, a table and a convergence plot."""

from __future__ import annotations

import math

import numpy as np

from .output import _out_path, _save_figure, _table
from .runs import (
    _final_grad_norm,
    _net_time,
    _run_method,
    _untimed_compile_note,
    _warm_rows_note,
    _warm_up_method,
)

#: Per-method options of the demo that differ from the defaults: the adaptive methods'
#: default steps (1e-3) are tuned for deep networks, far too small for a9a.
_DEMO_OPTIONS = {
    "adagrad": {"lr": 0.5},
    "rmsprop": {"lr": 0.01},
    "adam": {"lr": 0.02},
    "adamw": {"lr": 0.02, "weight_decay": 0.0},
}


def cmd_demo(args) -> int:
    from .. import datasets
    from ..plot import convergence
    from ..problems import Logistic
    from ..solvers import registry

    X, y = datasets.load(args.data)
    m = X.shape[0]
    lam = 1.0 / m if args.lam is None else args.lam
    objective = Logistic(X, y, lam=lam, backend=args.backend)
    f_star = datasets.REFERENCE_OPTIMA.get(args.data) if args.lam is None else None
    methods = args.methods.split(",") if args.methods else registry.names()
    for method in methods:
        registry.get(method)  # unknown names are reported before any work
    first_order = [m for m in methods if registry.get(m).order == 1]
    # The time budget is shared by the first-order methods, which would otherwise run to
    # their iteration budget; the second-order ones converge in a few passes.
    per_method = args.budget / max(len(first_order), 1)
    print(f"fastopt demo: {args.data} ({m} rows, {X.shape[1]} features), L2 logistic "
          f"regression, lam = {lam:.4g}, no intercept, backend {objective.backend}; "
          f"{len(methods)} methods, first-order ones stopped after {per_method:.1f} s")
    results, rows, compiled = {}, [], {}
    x0 = np.zeros(objective.n_params)
    warm_total = warm_compiled = 0.0
    for method in methods:
        options = dict(_DEMO_OPTIONS.get(method, {}))
        options.update(tol=args.tol)
        if method in first_order:
            options.update(max_time=per_method, max_iter=1_000_000)
        else:
            # quasi-Newton needs hundreds of iterations on a9a; Newton stops within ten
            options.update(max_iter=2_000)
        # Compilation and first-call costs are paid here, untimed (see fastopt._timing).
        warm, warm_c = _warm_up_method(
            lambda Xs, ys: Logistic(Xs, ys, lam=lam, backend=args.backend),
            X, y, method, args.quiet, **options)
        warm_total += warm
        warm_compiled += 0.0 if math.isnan(warm_c) else warm_c
        res, compiled[method] = _run_method(objective, method, x0, args.quiet, **options)
        results[method] = res
        rows.append({"method": method, "nit": res.nit, "passes": res.get("n_passes"),
                     "time": _net_time(res, compiled[method]), "warm": warm,
                     "fun": res.fun, "grad": _final_grad_norm(res),
                     "stop": res.message.split(":")[0]})
    if f_star is None:
        f_star = min(r["fun"] for r in rows)
        star_note = "f* = smallest f found"
    else:
        star_note = f"f* = {f_star:.17g} (published optimum)"
    for row in rows:
        row["gap"] = row["fun"] - f_star
    print(_table(rows, [("method", "method", ""), ("nit", "iterations", "d"),
                        ("passes", "passes over X", ".4g"), ("time", "time (s)", ".3f"),
                        ("gap", "f - f*", ".3e"), ("grad", "||grad f||", ".3e"),
                        ("stop", "stopped", ""), ("warm", "warm-up (s)", ".3f")]))
    print(star_note)
    print(f"warm-up (untimed, each method on {_warm_rows_note(y)} first): "
          f"{warm_total:.3f} s, of which numba compilation {warm_compiled:.3f} s; "
          + _untimed_compile_note(compiled))
    fig = convergence(results, f_star=f_star,
                      title=f"{args.data}, L2 logistic regression, lam = {lam:.3g}")
    path = _out_path(args, "fastopt-demo.png")
    _save_figure(fig, path)
    print(f"convergence plot written to {path.resolve()}")
    return 0
