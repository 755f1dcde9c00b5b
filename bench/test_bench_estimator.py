"""pytest-benchmark: fastopt.LogisticRegression against scikit-learn's default solver.

Both estimators fit L2 logistic regression with the same C (= 1) and an intercept on the
bundled data sets; scikit-learn runs with its defaults (lbfgs, tol 1e-4), fastopt with
its own (solver "auto", tol 1e-6 on the gradient norm: a more accurate fit).
``FASTOPT_BENCH_QUICK=1`` (CI) uses the first 2,000 rows of each set only. The table
with the time ratios and the coefficient agreement is ``bench/report_estimator.py``.
"""

import os
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from fastopt import datasets
from fastopt.linear_model import LogisticRegression

QUICK = os.environ.get("FASTOPT_BENCH_QUICK") == "1"
ROWS = 2000 if QUICK else None
NAMES = datasets.names()


@pytest.fixture(scope="module", params=NAMES)
def data(request):
    X, y = datasets.load(request.param)
    if ROWS is not None:
        X, y = X[:ROWS], y[:ROWS]
    # Compile the kernels outside the timed runs.
    LogisticRegression().fit(X, y)
    return request.param, X, y


def test_fastopt_fit(benchmark, data):
    name, X, y = data
    benchmark.group = f"estimator-{name}"
    clf = benchmark(lambda: LogisticRegression(C=1.0).fit(X, y))
    assert clf.result_.success


def test_sklearn_default_fit(benchmark, data):
    name, X, y = data
    benchmark.group = f"estimator-{name}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = benchmark(lambda: SkLogisticRegression(C=1.0).fit(X, y))
    assert clf.coef_.shape == (1, X.shape[1])


def test_same_model(data):
    """Not timed: the two fits of the benchmark agree to sklearn's default tolerance."""
    _, X, y = data
    ours = LogisticRegression(C=1.0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SkLogisticRegression(C=1.0, tol=1e-8, max_iter=10_000).fit(X, y)
    rel = np.linalg.norm(ours.coef_ - sk.coef_) / np.linalg.norm(sk.coef_)
    assert rel < 1e-3
