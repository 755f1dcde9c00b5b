"""Shared fixtures of the second-order solver tests: the published L2 logistic optima.

f(w) = (1/m) sum_i log(1 + exp(-b_i <a_i, w>)) + lam/2 ||w||^2, lam = 1/m, no intercept,
x0 = 0 (Rodomanov and Kropotov 2016). The gradient tolerance is derived, not guessed:
f is lam-strongly convex, so f - f* <= ||grad f||^2 / (2 lam), and
tol = sqrt(2 lam 1e-13) guarantees f - f* <= 1e-13 at a point that meets it.
"""

import functools
import math

import numpy as np

import fastopt as fo

DATASETS = ["a9a", "w8a"]


@functools.cache
def logistic_problem(name):
    X, y = fo.datasets.load(name)
    m = X.shape[0]
    return X, y, 1.0 / m, fo.datasets.REFERENCE_OPTIMA[name]


def objective(name, backend="numba"):
    X, y, lam, fstar = logistic_problem(name)
    return fo.problems.Logistic(X, y, lam=lam, backend=backend), fstar


def gradient_tol(lam, gap=1e-13):
    """||grad f|| below this guarantees f - f* <= gap for a lam-strongly convex f."""
    return math.sqrt(2.0 * lam * gap)


def fit(name, method, **options):
    obj, fstar = objective(name)
    tol = gradient_tol(obj.lam)
    res = fo.minimize(obj, np.zeros(obj.n_params), method=method, tol=tol, **options)
    return res, fstar
