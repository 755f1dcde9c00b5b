"""fastopt.path: every solution of the path is the cold fit's, warm starts save iterations,
the lams are solved largest first, and bad input is refused by name."""

import warnings

import numpy as np
import pytest

import fastopt as fo
from fastopt import datasets
from fastopt.problems import LeastSquares, Logistic, Multinomial, Poisson
from fastopt.regularization_path import LAM_MAX_FACTOR, PathResult, default_lams


@pytest.fixture(scope="module")
def a9a_part():
    X, y = datasets.load("a9a")
    return X[:6000], y[:6000]


def _cold(make, lam, method, tol=1e-11, max_iter=200):
    obj = make(lam)
    res = fo.minimize(obj, np.zeros(obj.n_params), method=method, tol=tol, max_iter=max_iter)
    assert res.success, res.message
    return res


def _rel(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


def test_logistic_path_equals_cold_fits_and_saves_iterations(a9a_part):
    X, y = a9a_part
    lams = np.array([1e-1, 1e-2, 1e-3, 1e-4, 1e-5])
    res = fo.path(X, y, lams, tol=1e-11, max_iter=200)
    assert isinstance(res, PathResult) and res.method == "newton"
    assert res.coef.shape == (5, X.shape[1] + 1) and res.all_converged
    cold = [_cold(lambda lam: Logistic(X, y, lam=lam, fit_intercept=True), lam, "newton")
            for lam in lams]
    for j, c in enumerate(cold):
        assert _rel(res.coef[j], c.x) < 1e-8
        assert res.fun[j] == pytest.approx(c.fun, rel=1e-12)
    # Each warm start is near the next solution: fewer Newton iterations in total.
    assert res.n_iter.sum() < sum(c.nit for c in cold)
    assert np.all(res.n_iter[1:] <= [c.nit for c in cold[1:]])


def test_lams_are_solved_largest_first_and_mapped_back(a9a_part):
    X, y = a9a_part
    given = np.array([1e-4, 1e-2, 1e-3, 1e-2])
    res = fo.path(X, y, given, tol=1e-10)
    np.testing.assert_array_equal(res.lams, [1e-2, 1e-2, 1e-3, 1e-4])
    np.testing.assert_array_equal(res.order, [1, 3, 2, 0])  # stable: ties keep their order
    np.testing.assert_array_equal(given[res.order], res.lams)
    # The repeated lam is solved a second time from its own solution: zero iterations.
    assert res.n_iter[1] == 0
    cold = _cold(lambda lam: Logistic(X, y, lam=lam, fit_intercept=True), 1e-4, "newton")
    assert _rel(res.coef[3], cold.x) < 1e-8
    assert len(res.message) == 4 and res.status.shape == (4,) and res.success.dtype == bool


def test_objective_input_is_not_modified_and_x0_starts_the_path(a9a_part):
    X, y = a9a_part
    obj = Logistic(X, y, lam=0.5, fit_intercept=True)
    L_before = obj.lipschitz()
    res = fo.path(obj, lams=[1e-3, 1e-4], tol=1e-10)
    assert obj.lam == 0.5 and obj.lipschitz() == L_before
    again = fo.path(obj, lams=[1e-3], x0=res.coef[0], tol=1e-10)
    assert again.n_iter[0] <= 1
    with pytest.raises(ValueError, match="x0"):
        fo.path(obj, lams=[1e-3], x0=np.zeros(3))


def test_cached_lipschitz_constant_follows_lam(a9a_part):
    X, y = a9a_part
    obj = Logistic(X, y, lam=1.0)
    obj.lipschitz()  # cached with lam = 1
    # gd's default step is 1/L: with a stale L (lam = 1 in it) the run would take other
    # steps than a cold run on a fresh objective at lam = 1e-2.
    res = fo.path(obj, lams=[1e-2], method="gd", tol=1e-6, max_iter=3000, warn=False)
    cold = fo.minimize(Logistic(X, y, lam=1e-2), np.zeros(obj.n_params), method="gd",
                       tol=1e-6, max_iter=3000)
    assert res.n_iter[0] == cold.nit
    np.testing.assert_array_equal(res.coef[0], cold.x)


def test_multinomial_path_equals_cold_fits():
    from sklearn.datasets import make_classification

    X, y = make_classification(600, 10, n_informative=6, n_classes=3, random_state=1)
    lams = [1e-1, 1e-2, 1e-3]
    res = fo.path(X, y, lams, loss="multinomial", tol=1e-11, max_iter=200)
    assert res.method == "newton-cg" and res.all_converged
    assert res.coef.shape == (3, 3 * 11)
    for j, lam in enumerate(lams):
        cold = _cold(lambda lam: Multinomial(X, y, lam=lam, fit_intercept=True), lam,
                     "newton-cg")
        assert _rel(res.coef[j], cold.x) < 1e-8


def test_least_squares_path_equals_ridge_closed_form(rng):
    m, n = 300, 8
    X = rng.standard_normal((m, n))
    y = X @ rng.standard_normal(n) + 3.0 + 0.1 * rng.standard_normal(m)
    s = rng.uniform(0.5, 2.0, m)
    lams = [1.0, 0.1, 0.01, 0.0]
    res = fo.path(X, y, lams, loss="least_squares", sample_weight=s, tol=1e-12)
    assert res.all_converged and res.coef.shape == (4, n + 1)
    Xt = np.column_stack([X, np.ones(m)])
    sw = s / s.sum()
    for j, lam in enumerate(res.lams):
        P = np.diag([1.0] * n + [0.0])  # the intercept is not penalized
        w = np.linalg.solve(Xt.T @ (sw[:, None] * Xt) + lam * P, Xt.T @ (sw * y))
        assert _rel(res.coef[j], w) < 1e-8
    # Newton on a quadratic: one step per lam.
    assert np.all(res.n_iter <= 1)


def test_poisson_path_from_an_objective(rng):
    X = rng.standard_normal((400, 5)) * 0.3
    y = rng.poisson(np.exp(X @ np.array([0.5, -0.2, 0.1, 0.0, 0.3]) + 0.5))
    obj = Poisson(X, y, fit_intercept=True)
    res = fo.path(obj, lams=[1e-1, 1e-3], tol=1e-11)
    for j, lam in enumerate(res.lams):
        cold = _cold(lambda lam: Poisson(X, y, lam=lam, fit_intercept=True), lam, "newton")
        assert _rel(res.coef[j], cold.x) < 1e-8


def test_default_grid_is_geometric_from_the_null_gradient(rng):
    m, n = 200, 6
    X = rng.standard_normal((m, n))
    y = X[:, 0] + 5.0 + rng.standard_normal(m)
    res = fo.path(X, y, loss="least_squares", n_lams=7, lam_ratio=1e-3)
    lam_max = LAM_MAX_FACTOR * np.max(np.abs(X.T @ (y - y.mean()))) / m
    np.testing.assert_allclose(res.lams, np.geomspace(lam_max, lam_max * 1e-3, 7),
                               rtol=1e-12)
    np.testing.assert_array_equal(res.order, np.arange(7))
    # At lam_max the coefficients are within about 1e-3 of zero; the intercept is free.
    assert np.max(np.abs(res.coef[0, :n])) < 2e-3
    assert res.coef[0, n] == pytest.approx(y.mean(), rel=1e-3)
    obj = LeastSquares(X, y, fit_intercept=True)
    np.testing.assert_allclose(default_lams(obj, 7, 1e-3), res.lams, rtol=1e-12)


def test_default_grid_of_a_logistic_model_uses_the_centered_residual(a9a_part):
    X, y = a9a_part
    obj = Logistic(X, y, fit_intercept=True)
    t = (y > 0).astype(float)
    expected = LAM_MAX_FACTOR * np.max(np.abs(X.T @ (t.mean() - t))) / X.shape[0]
    assert default_lams(obj, 3)[0] == pytest.approx(expected, rel=1e-10)
    assert default_lams(obj, 1).shape == (1,)


def test_non_converged_solves_are_reported_per_lam(a9a_part):
    X, y = a9a_part
    with pytest.warns(RuntimeWarning, match="did not converge"):
        res = fo.path(X, y, [1e-2, 1e-5], method="gd", max_iter=2)
    assert not res.success.any() and not res.all_converged
    assert np.all(res.status == int(fo.Status.MAX_ITER))
    assert all("maximum number of iterations" in msg for msg in res.message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = fo.path(X, y, [1e-2], method="gd", max_iter=2, warn=False)
    assert not quiet.success[0]


@pytest.mark.parametrize("lams, what", [
    ([], "empty"), ([1e-2, -1e-3], "lams\\[1\\]"), ([np.nan], "finite"),
    ([np.inf], "finite"), ([[1e-2, 1e-3]], "1-D"), (["a"], "lams"), ([True], "lams"),
    (np.array([1 + 1j]), "lams"),
])
def test_bad_lams_are_refused_by_name(a9a_part, lams, what):
    X, y = a9a_part
    with pytest.raises(ValueError, match=what):
        fo.path(X, y, lams)


def test_bad_arguments_are_refused_by_name(a9a_part):
    X, y = a9a_part
    obj = Logistic(X, y)
    with pytest.raises(ValueError, match="y must be None"):
        fo.path(obj, y, [1e-2])
    with pytest.raises(ValueError, match="sample_weight"):
        fo.path(obj, lams=[1e-2], sample_weight=np.ones(X.shape[0]))
    with pytest.raises(ValueError, match="loss"):
        fo.path(X, y, [1e-2], loss="hinge")
    with pytest.raises(ValueError, match="y is required"):
        fo.path(X, lams=[1e-2])
    with pytest.raises(ValueError, match="n_lams"):
        fo.path(X, y, n_lams=0)
    with pytest.raises(ValueError, match="lam_ratio"):
        fo.path(X, y, lam_ratio=2.0)
    with pytest.raises(ValueError, match="method"):
        fo.path(X, y, [1e-2], method="no-such-method")


def test_public_names():
    from fastopt.regularization_path import path

    assert fo.path is path and "path" in fo.__all__
    assert "LogisticRegressionCV" in fo.__all__
    assert fo.LogisticRegressionCV is fo.linear_model.LogisticRegressionCV
