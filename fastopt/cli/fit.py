"""``fastopt fit``: fit L2 logistic regression to a data file and write the
coefficients."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .checks import _check_work_memory
from .data import _CLI_NAMES, _load_data
from .errors import CliError
from .options import _fit_out_path, _lam_from
from .runs import (
    _final_grad_norm,
    _net_time,
    _run_method,
    _untimed_compile_note,
    _warm_rows_note,
    _warm_up_method,
)


def _encode_classes(y, name: str):
    """Class labels and each row's class index; one-line errors for labels that are not
    classes (one class only, or continuous values), as the estimator would refuse them."""
    from .._solver_choice import encode_labels

    classes, y_index = encode_labels(np.asarray(y))
    if classes.size < 2:
        raise CliError(f"{name}: the labels hold one class only ({classes[0]}); a "
                       "classifier needs at least two")
    if classes.dtype.kind == "f" and not np.all(np.mod(classes, 1) == 0):
        raise CliError(f"{name}: the labels are continuous values (e.g. {classes[0]:g}), not "
                       "classes; give integer or two-valued labels")
    return classes, np.asarray(y_index)


def cmd_fit(args) -> int:
    """The estimator's fit (same objective, solver rule and coefficients as
    ``fo.LogisticRegression(alpha=lam)``), run on the objective directly: the estimator's
    class derives from scikit-learn's, whose import would cost a fresh process more than
    the fit of a bundled set."""
    from .._solver_choice import auto_solver, gram_work_ratio
    from ..problems import Logistic, Multinomial

    X, y, name = _load_data(args.data, args.dtype, args.label_column, args.zero_based,
                            args.n_features, _CLI_NAMES)
    lam, lam_note = _lam_from(args, X.shape[0])
    classes, y_index = _encode_classes(y, name)
    K = classes.size
    n_params = (X.shape[1] + args.intercept) * (1 if K == 2 else K)
    # Before the objective allocates its work arrays (one entry per parameter each).
    what = ("a fit" if args.method == "auto" else f"--method {args.method}")
    _check_work_memory(n_params, f"{what} with {n_params} parameters",
                       newton=args.method == "newton")

    def make_objective(Xs, index):
        if K == 2:  # classes[1] is the positive class, as in scikit-learn
            return Logistic(Xs, index == 1, lam=lam, fit_intercept=args.intercept,
                            backend=args.backend)
        return Multinomial(Xs, index, lam=lam, fit_intercept=args.intercept,
                           backend=args.backend)

    try:
        objective = make_objective(X, y_index)
    except ValueError as exc:
        # The objective's checks of X and y (CSR structure, ...): name the file.
        raise CliError(f"{name}: {' '.join(str(exc).split())}") from None
    solver = (auto_solver(objective.n_params, K, gram_work_ratio(X))
              if args.method == "auto" else args.method)
    options = {"tol": args.tol, "max_iter": args.max_iter}
    warm, warm_compiled = _warm_up_method(make_objective, X, y_index, solver, args.quiet,
                                          **options)
    res, late = _run_method(objective, solver, np.zeros(objective.n_params), args.quiet,
                            **options)
    coef, intercept = _coefficients(objective, res.x, K, args.intercept)
    scores = X @ coef.T + intercept
    predicted = (scores[:, 0] > 0).astype(np.intp) if K == 2 else np.argmax(scores, axis=1)
    accuracy = float(np.mean(predicted == y_index))
    kind = f"CSR, {X.nnz} nonzeros" if hasattr(X, "nnz") else "dense"
    shown = ", ".join(str(c) for c in classes[:10])
    print(f"data: {name} ({X.shape[0]} rows, {X.shape[1]} features, {kind}, {X.dtype})")
    print(f"model: L2 logistic regression ({'binary' if K == 2 else 'multinomial'}"
          f", classes {shown}), {lam_note}, intercept {'yes' if args.intercept else 'no'}")
    print(f"method: {solver}{' (auto)' if args.method == 'auto' else ''}, "
          f"backend {objective.backend}")
    print(f"result: {res.message} after {res.nit} iterations, "
          f"{res.get('n_passes', 0):.4g} passes over X, {_net_time(res, late):.3f} s")
    print(f"f = {res.fun:.12g}, ||grad f|| = {_final_grad_norm(res):.3e}, "
          f"training accuracy {accuracy:.4f}")
    print(f"warm-up (untimed, {_warm_rows_note(y_index)}): {warm:.3f} s, of which numba "
          f"compilation {0.0 if math.isnan(warm_compiled) else warm_compiled:.3f} s; "
          + _untimed_compile_note({solver: late}))
    out = _fit_out_path(args, name)
    _write_coefficients(out, coef, intercept, classes, lam)
    print(f"coefficients written to {out}")
    return 0 if res.success else 1


def _coefficients(objective, x, n_classes: int, fit_intercept: bool):
    """``coef`` (1 or K, n) and ``intercept`` (1 or K,) from a solution vector, as the
    estimator reports them (multinomial intercepts shifted to sum to zero: the loss does
    not change when one constant is added to all of them)."""
    n = objective.n_features
    x = np.asarray(x, dtype=np.float64)
    if n_classes == 2:
        return x[:n].reshape(1, n).copy(), np.array([x[n] if fit_intercept else 0.0])
    coef, intercept = objective.unflatten(x)
    if intercept is None:
        return coef, np.zeros(n_classes)
    return coef, intercept - intercept.mean()


def _write_coefficients(out: Path, coef, intercept, classes, lam: float) -> None:
    """.npz: coef, intercept, classes, lam; .npy: coef with the intercept as last column;
    .csv/.txt: the same table as text, one row per coefficient vector."""
    table = np.column_stack([coef, intercept])
    suffix = out.suffix.lower()
    try:
        if suffix == ".npz":
            np.savez(out, coef=coef, intercept=intercept, classes=classes, lam=lam)
        elif suffix == ".npy":
            np.save(out, table)
        elif suffix in (".csv", ".txt"):
            header = ",".join([f"w{j}" for j in range(coef.shape[1])] + ["intercept"])
            np.savetxt(out, table, delimiter=",", header=header, comments="")
        else:
            raise CliError(f"--out must end in .npz, .npy, .csv or .txt; got {out}")
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc}") from None


# ---------------------------------------------------------------------------- compare
