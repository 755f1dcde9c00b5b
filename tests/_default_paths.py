"""Every public entry point with default arguments, run in a fresh process.

Run by ``tests/test_instant_start.py`` as ``python tests/_default_paths.py``. numba's
compiler is patched first, so that compiling any numba function raises
:class:`JitCompiled` (and is recorded): a default call that reaches a numba kernel fails
loudly here instead of silently paying seconds of compilation in every new process. At
the end the script prints one JSON line: the entry points run, the numba functions
whose compilation was attempted (must be empty) and whether numba was imported at all.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from _jit_guard import ATTEMPTED  # before fastopt: it patches numba as numba loads

import fastopt as fo
from fastopt.cli import main as cli_main
from fastopt.solvers import fo_methods

RUN: list[str] = []


def entry(name):
    def wrap(fn):
        fn()
        RUN.append(name)
        return fn
    return wrap


def protocol(obj, sparse_rows=True):
    x = np.zeros(obj.n_params)
    v = np.linspace(-1.0, 1.0, obj.n_params)
    obj.value(x)
    obj.grad(x)
    obj.loss_grad(x)
    obj.hvp(x, v)
    obj.hessian(x)
    for name in ("lipschitz", "strong_convexity"):
        try:
            getattr(obj, name)()
        except NotImplementedError:
            pass


def linear(obj):
    protocol(obj)
    x = np.full(obj.n_params, 0.01)
    z = obj.linear_predictor(x)
    f, g, d = obj.grad_hess_weights(x)
    obj.weighted_hvp(d, g)
    obj.weighted_gram(d)
    obj.hessian_diagonal(d)
    obj.loss_from_predictor(z, x)
    obj.grad_from_predictor(z, x)
    obj.batch_loss_grad(x, np.arange(min(50, obj.n_samples)))


def minimize_defaults(fun, x0, **kwargs):
    """fo.minimize with the method's defaults; a step size only where the method refuses
    to run without one (momentum methods on objectives that do not know L)."""
    try:
        return fo.minimize(fun, x0, **kwargs)
    except ValueError as exc:
        if "needs lr" not in str(exc):
            raise
        return fo.minimize(fun, x0, lr=0.01, **kwargs)


X, y = fo.datasets.load("a9a")
RUN.append("datasets.load")
Xs, ys = X[:3000], y[:3000]
Xd = Xs.toarray()
rng = np.random.default_rng(0)
Xm = rng.standard_normal((300, 8))
ym = rng.integers(0, 4, 300)

FIRST_ORDER = [*sorted(fo_methods.METHODS), "sam"]
SECOND_ORDER = ["newton", "newton-cg", "lbfgs", "sketch-newton"]


@entry("problems.Logistic (CSR, dense)")
def _():
    linear(fo.problems.Logistic(Xs, ys))
    linear(fo.problems.Logistic(Xd, ys, lam=1e-3, fit_intercept=True))
    linear(fo.problems.Logistic(Xd.astype(np.float32), ys))


@entry("problems.LeastSquares (CSR, dense)")
def _():
    linear(fo.problems.LeastSquares(Xs, ys))
    linear(fo.problems.LeastSquares(Xd, ys, lam=1e-3, fit_intercept=True))


@entry("problems.Multinomial")
def _():
    protocol(fo.problems.Multinomial(Xm, ym))
    protocol(fo.problems.Multinomial(sp.csr_matrix(Xm), ym, fit_intercept=True))


@entry("problems.PiecewiseQuadratic, SoftmaxReLU, Function")
def _():
    protocol(fo.problems.PiecewiseQuadratic())
    A = rng.standard_normal((20, 5))
    protocol(fo.problems.SoftmaxReLU(A, rng.standard_normal(20) / 10, rng.standard_normal(20)))
    protocol(fo.problems.Function(lambda x: float(x @ x), lambda x: 2 * x, n_params=4))


@entry("minimize: every method on Logistic, LeastSquares, Multinomial, Function")
def _():
    objectives = [fo.problems.Logistic(Xs, ys, lam=1e-3),
                  fo.problems.Logistic(Xd, ys, lam=1e-3, fit_intercept=True),
                  fo.problems.LeastSquares(Xs, ys, lam=1e-3),
                  fo.problems.Multinomial(Xm, ym)]
    for obj in objectives:
        linear = not isinstance(obj, fo.problems.Multinomial)
        for method in FIRST_ORDER + SECOND_ORDER:
            if method == "sketch-newton" and not linear:
                continue  # sketch-newton needs a linear model with one predictor per row
            minimize_defaults(obj, np.zeros(obj.n_params), method=method, max_iter=20)
        fo.minimize(obj, np.zeros(obj.n_params))
    logistic = objectives[0]
    for method in ["gd", "adam", "nesterov"]:
        fo.minimize(logistic, np.zeros(logistic.n_params), method=method, lr=0.1,
                    batch_size=256, max_iter=30)
    for method in FIRST_ORDER + ["newton-cg", "lbfgs"]:  # newton needs a Hessian callable
        minimize_defaults(lambda x: (float(x @ x), 2 * x), np.ones(4), jac=True,
                          method=method, max_iter=20)
    fo.minimize(lambda x: float(x @ x), np.ones(4), jac=lambda x: 2 * x,
                hess=lambda x: 2 * np.eye(4), method="newton")
    fo.minimize(lambda x: float(x @ x), np.ones(4))


@entry("updates")
def _():
    for dtype in (np.float32, np.float64):
        x, s, m, v, g = (np.ones(1000, dtype) for _ in range(5))
        fo.updates.gd_(x, g, 0.1)
        fo.updates.heavy_ball_(x, s, g, 0.1, 0.9)
        fo.updates.nesterov_(x, s, g, 0.1, 0.9)
        fo.updates.adagrad_(x, s, g, 0.1)
        fo.updates.rmsprop_(x, s, g, 0.1)
        fo.updates.adam_(x, m, v, g, 1)
        fo.updates.adamw_(x, m, v, g, 1)


@entry("theory, schedules")
def _():
    obj = fo.problems.Logistic(Xs, ys, lam=1e-3)
    res = fo.minimize(obj, np.zeros(obj.n_params), method="gd", max_iter=10)
    fo.theory.certify_gd(res, f_star=0.0, alpha=1 / obj.lipschitz())
    fo.theory.hessian_extremes(obj, np.zeros(obj.n_params))
    fo.schedules.tabulate(fo.schedules.warmup(fo.schedules.cosine(1e-2, steps=100), 10), 50)


@entry("LogisticRegression: binary, multinomial, weights, predict")
def _():
    for Xe, ye in ((X, y), (Xd, ys), (Xm, ym)):
        est = fo.LogisticRegression().fit(Xe, ye)
        est.predict(Xe)
        est.predict_proba(Xe)
        est.score(Xe, ye)
    fo.LogisticRegression().fit(Xm, ym, sample_weight=np.ones(len(ym)))
    for solver in ("lbfgs", "newton", "newton-cg"):
        fo.LogisticRegression(solver=solver).fit(Xm, ym)
        fo.LogisticRegression(solver=solver).fit(Xd, ys)


@entry("backends, info")
def _():
    fo.backends()
    fo.info()


@entry("command line: fastopt fit, info")
def _():
    with tempfile.TemporaryDirectory() as tmp, redirect_stdout(io.StringIO()):
        out = Path(tmp) / "coef.npy"
        code = cli_main(["fit", "a9a", "--out", str(out)])
        if code not in (0, None):
            raise RuntimeError(f"fastopt fit exited with {code}")
        cli_main(["info"])


print(json.dumps({"run": RUN, "compiled": sorted(set(ATTEMPTED)),
                  "numba_imported": "numba" in sys.modules}))
