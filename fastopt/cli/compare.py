"""``fastopt compare``: fastopt's methods beside scikit-learn's solvers on one data file,
a table and a plot."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from .checks import _check_work_memory
from .data import _CLI_NAMES, _load_data
from .errors import CliError
from .options import _lam_from
from .output import _out_path, _save_figure, _table
from .runs import _final_grad_norm, _net_time, _run_method, _untimed_compile_note, _warm_up_method


def _sklearn_solvers(n_classes: int, fit_intercept: bool) -> list[str]:
    solvers = ["lbfgs", "newton-cg", "newton-cholesky", "sag", "saga"]
    if n_classes == 2 and not fit_intercept:
        # liblinear penalizes the intercept, so it solves another problem with one.
        solvers.append("liblinear")
    return solvers


def _as_params(objective, clf) -> np.ndarray:
    """sklearn's coef_/intercept_ as a parameter vector of the fastopt objective."""
    if clf.coef_.shape[0] == 1:
        x = np.zeros(objective.n_params)
        x[: objective.n_features] = clf.coef_[0]
        if objective.fit_intercept:
            x[objective.n_features] = clf.intercept_[0]
        return x
    return objective.flatten(clf.coef_, clf.intercept_ if objective.fit_intercept else None)


def _int32_indices(X):
    """X with int32 CSR indices where they fit (liblinear refuses int64 ones)."""
    import scipy.sparse as sp

    if not sp.issparse(X) or X.nnz >= 2**31 - 1:
        return X
    X = sp.csr_matrix(X)
    if X.indices.dtype == np.int32 and X.indptr.dtype == np.int32:
        return X
    return sp.csr_matrix((X.data, X.indices.astype(np.int32), X.indptr.astype(np.int32)),
                         shape=X.shape)


def cmd_compare(args) -> int:
    import warnings

    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression

    from .._timing import warm_up_rows
    from ..plot import convergence
    from ..problems import Logistic, Multinomial

    X, y, name = _load_data(args.data, args.dtype, args.label_column, args.zero_based,
                            args.n_features, _CLI_NAMES)
    m = X.shape[0]
    lam, lam_note = _lam_from(args, m)
    n_classes = np.unique(y).size
    n_params = (X.shape[1] + args.intercept) * (1 if n_classes == 2 else n_classes)
    # Before the objective allocates its work arrays (one entry per parameter each).
    newton = "newton" in args.methods.split(",")
    _check_work_memory(n_params, f"{'--methods newton' if newton else 'a fit'} with "
                       f"{n_params} parameters", newton=newton)
    sk_solvers = _sklearn_solvers(n_classes, args.intercept)
    try:
        _check_work_memory(n_params, "", newton=True)
    except CliError:
        # scikit-learn's newton-cholesky forms the p x p Hessian: left out, not an error.
        sk_solvers.remove("newton-cholesky")
        print(f"scikit-learn's newton-cholesky left out: its {n_params} x {n_params} "
              "Hessian would not fit in memory")
    model = Logistic if n_classes == 2 else Multinomial

    def make_objective(Xs, ys):
        return model(Xs, ys, lam=lam, fit_intercept=args.intercept, backend=args.backend)

    try:
        objective = make_objective(X, y)
    except ValueError as exc:
        # The objective's checks of X and y (CSR structure, ...): name the file.
        raise CliError(f"{name}: {' '.join(str(exc).split())}") from None
    methods = args.methods.split(",")
    print(f"fastopt compare: {name} ({m} rows, {X.shape[1]} features, {n_classes} classes), "
          f"{lam_note}, intercept {'yes' if args.intercept else 'no'}, fastopt backend "
          f"{objective.backend}")
    results, rows, compiled = {}, [], {}
    x0 = np.zeros(objective.n_params)
    warm_fo = warm_fo_compiled = 0.0
    for method in methods:
        options = {"tol": args.tol, "max_iter": args.max_iter}
        warm, warm_c = _warm_up_method(make_objective, X, y, method, args.quiet, **options)
        warm_fo += warm
        warm_fo_compiled += 0.0 if math.isnan(warm_c) else warm_c
        res, compiled[method] = _run_method(objective, method, x0, args.quiet, **options)
        results[f"fastopt {method}"] = res
        rows.append({"solver": method, "library": "fastopt", "nit": res.nit,
                     "time": _net_time(res, compiled[method]), "fun": res.fun,
                     "grad": _final_grad_norm(res)})
    sk_points = []
    C = 1.0 / (lam * m) if lam > 0 else 1e12
    X_sk = _int32_indices(X)
    warm_rows = warm_up_rows(y)
    warm_sk = 0.0
    for solver in sk_solvers:
        clf = SkLogisticRegression(C=C, solver=solver, tol=args.sk_tol,
                                   max_iter=args.sk_max_iter, fit_intercept=args.intercept)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            # The same untimed warm-up as fastopt's (first-call costs: lazy imports, ...).
            t0 = time.perf_counter()
            clone(clf).set_params(max_iter=3).fit(X_sk[warm_rows], y[warm_rows])
            warm_sk += time.perf_counter() - t0
            t0 = time.perf_counter()
            clf.fit(X_sk, y)
            elapsed = time.perf_counter() - t0
        x = _as_params(objective, clf)
        f, g = objective.loss_grad(x)
        rows.append({"solver": solver, "library": "scikit-learn",
                     "nit": int(np.max(clf.n_iter_)), "time": elapsed, "fun": f,
                     "grad": float(np.linalg.norm(g))})
        sk_points.append((solver, elapsed, f, float(np.linalg.norm(g))))
    f_star = min(r["fun"] for r in rows)
    for row in rows:
        row["gap"] = row["fun"] - f_star
    reference = next((r["time"] for r in rows if r["solver"] == "lbfgs"
                      and r["library"] == "scikit-learn"), None)
    for row in rows:
        row["ratio"] = row["time"] / reference if reference else math.nan
    print(_table(rows, [("library", "library", ""), ("solver", "solver", ""),
                        ("nit", "iterations", "d"), ("time", "time (s)", ".3f"),
                        ("ratio", "time / sklearn lbfgs", ".3f"), ("gap", "f - f*", ".3e"),
                        ("grad", "||grad f||", ".3e")]))
    print("f* = smallest f found; scikit-learn solvers run with "
          f"tol = {args.sk_tol:g}, fastopt's with tol = {args.tol:g} on ||grad f||")
    print(f"warm-up (untimed, each solver on {warm_rows.size} rows first): fastopt "
          f"{warm_fo:.3f} s, of which numba compilation {warm_fo_compiled:.3f} s; "
          f"scikit-learn {warm_sk:.3f} s")
    print(_untimed_compile_note(compiled))
    fig = convergence(results, f_star=f_star, x_axis="time",
                      title=f"{name}: fastopt (lines) and scikit-learn (markers)")
    markers = "osD^vP*X"
    for i, (solver, t, f, gnorm) in enumerate(sk_points):
        for ax, value in zip(fig.axes, (f - f_star, gnorm), strict=True):
            if value > 0:
                ax.plot([t], [value], linestyle="none", marker=markers[i % len(markers)],
                        color="black", label=f"sklearn {solver}")
    fig.axes[0].legend(fontsize="small")
    path = _out_path(args, f"fastopt-compare-{Path(name).name.split('.')[0]}.png")
    _save_figure(fig, path)
    print(f"plot written to {path.resolve()}")
    return 0
