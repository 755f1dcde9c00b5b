"""Poisson regression: the objective (every backend, every fo.minimize method) and the
scikit-learn estimator ``fo.PoissonRegressor`` against ``sklearn.linear_model.PoissonRegressor``.

The synthetic count data: ``make_counts`` below, rows a_i ~ N(0, I_n) (n = 6), counts
y_i ~ Poisson(exp(<a_i, beta> + 0.4)) with beta = (0.3, -0.2, 0.15, 0, 0.25, -0.1) and a
fixed seed; about a third of the counts are zero. The real data: scikit-learn's bundled
Linnerud data set (20 men; counts of chin-ups as the target, their weight, waist and
pulse, standardized, as features).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import PoissonRegressor as SkPoissonRegressor

import fastopt as fo
from fastopt.kernels import available_backends
from fastopt.problems.poisson import NoLipschitzConstant
from fastopt.solvers import registry

BACKENDS = [b for b in ("numpy", "numba", "cython") if b in available_backends()]
BETA = np.array([0.3, -0.2, 0.15, 0.0, 0.25, -0.1])


def make_counts(m=400, seed=0):
    """The documented synthetic count data set (see the module docstring)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, BETA.size))
    y = rng.poisson(np.exp(X @ BETA + 0.4)).astype(np.float64)
    return X, y


def linnerud_counts():
    """scikit-learn's bundled Linnerud data: chin-up counts from standardized body data."""
    from sklearn.datasets import load_linnerud

    data = load_linnerud()
    X = data.target.astype(np.float64)  # weight, waist, pulse
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = data.data[:, 0].astype(np.float64)  # chin-ups
    return X, y


def _rel(a, b):
    return np.linalg.norm(np.atleast_1d(a - b)) / max(np.linalg.norm(np.atleast_1d(b)), 1e-300)


# --- the objective ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_value_gradient_hessian_match_the_formulas(backend, sparse):
    X, y = make_counts(60)
    s = np.random.default_rng(1).random(60) + 0.2
    A = sp.csr_matrix(X) if sparse else X
    obj = fo.problems.Poisson(A, y, lam=0.3, sample_weight=s, fit_intercept=True,
                              backend=backend)
    w = np.r_[0.2 * BETA, 0.1]
    z = X @ w[:-1] + w[-1]
    sw = s / s.sum()
    f = float(sw @ (np.exp(z) - y * z)) + 0.15 * w[:-1] @ w[:-1]
    g = np.r_[X.T @ (sw * (np.exp(z) - y)), np.sum(sw * (np.exp(z) - y))]
    g[:-1] += 0.3 * w[:-1]
    Xt = np.hstack([X, np.ones((60, 1))])
    H = Xt.T @ ((sw * np.exp(z))[:, None] * Xt) + np.diag(np.r_[np.full(6, 0.3), 0.0])
    assert obj.value(w) == pytest.approx(f, rel=1e-12)
    np.testing.assert_allclose(obj.grad(w), g, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(obj.hessian(w), H, rtol=1e-11, atol=1e-14)
    v = np.linspace(-1.0, 1.0, 7)
    np.testing.assert_allclose(obj.hvp(w, v), H @ v, rtol=1e-11, atol=1e-14)
    # the O(m) line-search helpers use the same per-row formulas
    assert obj.loss_from_predictor(z, w) == pytest.approx(f, rel=1e-12)
    np.testing.assert_allclose(obj.grad_from_predictor(z, w), g, rtol=1e-11, atol=1e-14)


def test_no_lipschitz_constant_and_mu_is_lam():
    X, y = make_counts(30)
    obj = fo.problems.Poisson(X, y, lam=0.25, backend="numpy")
    with pytest.raises(NoLipschitzConstant, match="no global Lipschitz constant.*set lr"):
        obj.lipschitz()
    assert isinstance(NoLipschitzConstant(), NotImplementedError)
    assert obj.strong_convexity() == 0.25
    # the intercept is not penalized: no curvature is guaranteed along it
    assert fo.problems.Poisson(X, y, lam=0.25, fit_intercept=True,
                               backend="numpy").strong_convexity() == 0.0


@pytest.mark.parametrize("y, match", [
    ([0.0, 1.0, -1.0], r"y must hold counts >= 0.*got y\[2\] = -1.0"),
    ([0.0, np.nan, 2.0], "y contains NaN or infinity"),
    ([0.0, np.inf, 2.0], "y contains NaN or infinity"),
    ([0.0, 1.0], "y has 2 entries but X has 3 rows"),
    ([[0.0, 1.0, 2.0]], "y must be a 1-D array"),
])
def test_hostile_targets_are_refused_naming_y(y, match):
    with pytest.raises(ValueError, match=match):
        fo.problems.Poisson(np.ones((3, 2)), y, backend="numpy")


def test_non_integer_counts_are_accepted():
    obj = fo.problems.Poisson(np.ones((3, 1)), [0.5, 1.25, 3.0], backend="numpy")
    np.testing.assert_array_equal(obj.y, [0.5, 1.25, 3.0])


# --- every method of fo.minimize -------------------------------------------------------------

#: Methods whose default step is 1/L: without L they refuse and name the option to set.
NEEDS_LR = {"heavy-ball", "momentum", "nesterov"}


@pytest.fixture(scope="module")
def optimum():
    X, y = make_counts()
    obj = fo.problems.Poisson(X, y, lam=1e-2, fit_intercept=True, backend="numpy")
    return fo.minimize(obj, np.zeros(7), method="newton", tol=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", registry.names())
def test_every_method_solves_it_or_names_the_option(backend, method, optimum):
    X, y = make_counts()
    obj = fo.problems.Poisson(X, y, lam=1e-2, fit_intercept=True, backend=backend)
    x0 = np.zeros(7)
    if method in NEEDS_LR:
        with pytest.raises(ValueError, match="needs lr"):
            fo.minimize(obj, x0, method=method)
    options = {"lr": 0.2} if method in NEEDS_LR else {}
    gap, x_rel = 1e-9, 1e-3
    if method in ("adam", "adamw"):
        options = {"lr": 0.01}
    if method == "adamw":
        options["weight_decay"] = 0.0  # else a different (decayed) optimum
    if method == "rmsprop":
        # a constant step: RMSProp hovers in a neighbourhood of the optimum of size ~lr
        options, gap, x_rel = {"lr": 3e-4}, 1e-6, 1e-2
    if method == "sam":
        options = {"rho": 1e-6}  # SAM's fixed point is rho away from the optimum
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = fo.minimize(obj, x0, method=method, tol=1e-6, max_iter=20000, **options)
    assert res.fun - optimum.fun <= gap, (method, res.message)
    assert np.linalg.norm(res.x - optimum.x) <= x_rel * np.linalg.norm(optimum.x)


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "numpy"])
def test_the_compiled_first_order_loop_runs_poisson(backend, optimum):
    X, y = make_counts()
    obj = fo.problems.Poisson(X, y, lam=1e-2, fit_intercept=True, backend=backend)
    ref = fo.problems.Poisson(X, y, lam=1e-2, fit_intercept=True, backend="numpy")
    for method, options in [("nesterov", {"lr": 0.2}), ("adagrad", {}),
                            ("gd", {"lr": 0.2, "batch_size": 40, "seed": 3})]:
        res = fo.minimize(obj, np.zeros(7), method=method, tol=0.0, max_iter=200, **options)
        assert res.loop == "compiled", method
        res_py = fo.minimize(ref, np.zeros(7), method=method, tol=0.0, max_iter=200, **options)
        assert res_py.loop == "python"
        np.testing.assert_allclose(res.x, res_py.x, rtol=1e-9, atol=1e-12, err_msg=method)


# --- the estimator against scikit-learn -----------------------------------------------------


def _sklearn(X, y, alpha, fit_intercept=True, sample_weight=None):
    # newton-cholesky converges quadratically: tol 1e-12 gives the optimum to rounding
    return SkPoissonRegressor(alpha=alpha, solver="newton-cholesky", tol=1e-12, max_iter=1000,
                              fit_intercept=fit_intercept).fit(X, y, sample_weight)


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["b", "no_b"])
@pytest.mark.parametrize("solver", ["newton", "lbfgs", "newton-cg"])
@pytest.mark.parametrize("alpha", [1.0, 1e-2])
def test_coefficients_match_sklearn_on_synthetic_counts(alpha, solver, fit_intercept):
    X, y = make_counts()
    sk = _sklearn(X, y, alpha, fit_intercept)
    ours = fo.PoissonRegressor(alpha=alpha, fit_intercept=fit_intercept, solver=solver,
                               tol=1e-11, max_iter=1000).fit(X, y)
    assert ours.result_.success
    assert _rel(ours.coef_, sk.coef_) < 1e-8
    assert abs(ours.intercept_ - sk.intercept_) <= 1e-8 * max(1.0, abs(sk.intercept_))
    np.testing.assert_allclose(ours.predict(X), sk.predict(X), rtol=1e-8)
    assert ours.score(X, y) == pytest.approx(sk.score(X, y), rel=1e-8)


def test_coefficients_match_sklearn_on_linnerud_chinups():
    X, y = linnerud_counts()
    sk = _sklearn(X, y, alpha=0.1)
    ours = fo.PoissonRegressor(alpha=0.1, tol=1e-11).fit(X, y)
    assert _rel(ours.coef_, sk.coef_) < 1e-8
    assert abs(ours.intercept_ - sk.intercept_) <= 1e-8 * abs(sk.intercept_)
    assert ours.score(X, y) == pytest.approx(sk.score(X, y), rel=1e-8)


def test_sample_weights_sparse_and_float32_like_sklearn():
    X, y = make_counts(300, seed=4)
    s = np.random.default_rng(5).random(300) * 3.0
    sk = _sklearn(X, y, alpha=0.05, sample_weight=s)
    for A in (X, sp.csr_matrix(X)):
        ours = fo.PoissonRegressor(alpha=0.05, tol=1e-11).fit(A, y, sample_weight=s)
        assert _rel(ours.coef_, sk.coef_) < 1e-8
        assert ours.score(A, y, sample_weight=s) == pytest.approx(
            sk.score(X, y, sample_weight=s), rel=1e-8)
    # float32 X stays float32 (the kernels accumulate in float64): close to the float64 fit
    ours32 = fo.PoissonRegressor(alpha=0.05, tol=1e-10).fit(X.astype(np.float32), y, s)
    assert _rel(ours32.coef_, sk.coef_) < 1e-5


def test_estimator_refuses_hostile_input():
    X, y = make_counts(20)
    with pytest.raises(ValueError, match="y must hold counts >= 0"):
        fo.PoissonRegressor().fit(X, np.r_[y[:-1], -2.0])
    with pytest.raises(ValueError, match="X, y"):
        fo.PoissonRegressor().fit(X, np.r_[y[:-1], np.nan])
    with pytest.raises(ValueError, match="alpha must be finite and >= 0"):
        fo.PoissonRegressor(alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="unknown method"):
        fo.PoissonRegressor(solver="bogus").fit(X, y)
    with pytest.raises(ValueError, match="needs lr"):
        fo.PoissonRegressor(solver="nesterov").fit(X, y)


def test_exported_from_the_package():
    assert fo.PoissonRegressor is fo.linear_model.PoissonRegressor
    assert "PoissonRegressor" in fo.__all__
    assert fo.problems.Poisson in [getattr(fo.problems, n) for n in fo.problems.__all__]
