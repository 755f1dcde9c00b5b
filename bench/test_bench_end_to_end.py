"""pytest-benchmark cases of the end-to-end fits (see ``bench/end_to_end.py``).

Every fastopt second-order method and the scikit-learn solvers fit L2 logistic
regression to |f - f*| <= 1e-10 max(1, |f*|). ``FASTOPT_BENCH_QUICK=1`` (CI, with
``--benchmark-disable``) uses a small dense synthetic problem only; otherwise the
problems are a9a and w8a (published f*) and a dense 10^5 x 100 synthetic one.
"""

import math

import numpy as np
import pytest
from conftest import QUICK
from end_to_end import FASTOPT_METHODS, GAP, SKLEARN_SOLVERS, synthetic

import fastopt as fo


def _problems():
    if QUICK:
        return ["dense-small"]
    return ["dense-large", "a9a", "w8a"]


_CACHE = {}


def _problem(name):
    if name not in _CACHE:
        if name == "dense-small":
            X, y = synthetic(5000, 10)
            lam, fstar = 1e-3, None
        elif name == "dense-large":
            X, y = synthetic(100_000, 100)
            lam, fstar = 1e-4, None
        else:
            X, y = fo.datasets.load(name)
            lam, fstar = 1.0 / X.shape[0], fo.datasets.REFERENCE_OPTIMA[name]
        obj = fo.problems.Logistic(X, y, lam=lam)
        if fstar is None:
            fstar = fo.minimize(obj, np.zeros(obj.n_params), method="newton", tol=1e-13).fun
        tol = math.sqrt(2.0 * lam * GAP * max(1.0, abs(fstar)))
        _CACHE[name] = (X, y, lam, fstar, obj, tol)
    return _CACHE[name]


@pytest.mark.parametrize("problem", _problems())
@pytest.mark.parametrize("label", list(FASTOPT_METHODS))
def test_fastopt(benchmark, problem, label):
    X, y, lam, fstar, obj, tol = _problem(problem)
    method, options = FASTOPT_METHODS[label]

    def fit():
        return fo.minimize(obj, np.zeros(obj.n_params), method=method, tol=tol,
                           max_iter=10_000, **options)

    res = benchmark.pedantic(fit, rounds=1, iterations=1, warmup_rounds=1)
    assert res.success, res.message
    assert abs(obj.value(res.x) - fstar) <= GAP * max(1.0, abs(fstar))


@pytest.mark.parametrize("problem", _problems())
@pytest.mark.parametrize("solver", SKLEARN_SOLVERS)
def test_sklearn(benchmark, problem, solver):
    from sklearn.linear_model import LogisticRegression

    X, y, lam, fstar, obj, tol = _problem(problem)
    clf = LogisticRegression(C=1.0 / (lam * X.shape[0]), fit_intercept=False, solver=solver,
                             tol=tol * 1e-2, max_iter=10_000)
    benchmark.pedantic(clf.fit, args=(X, y), rounds=1, iterations=1)
    # A reference point, not a target: scikit-learn's own stopping rule decides.
    assert obj.value(clf.coef_.ravel()) - fstar <= 1e-6
