"""fastopt.LogisticRegression: scikit-learn's estimator checks, and the same coefficients
as scikit-learn's LogisticRegression on the bundled data sets."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastopt as fo
from fastopt import datasets
from fastopt.linear_model import (
    AUTO_NEWTON_MAX_GRAM_RATIO,
    LogisticRegression,
    _encode_labels,
    auto_solver,
    gram_work_ratio,
)


@parametrize_with_checks([LogisticRegression()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------- agreement with sklearn

#: Rows of each bundled set used (the first ones): enough to be the real data, few
#: enough to keep the suite fast.
_ROWS = {"a9a": 8000, "w8a": 8000, "mushrooms": 8124, "ijcnn1": 10000}


def _sklearn_tight(X, y, C, fit_intercept=True, sample_weight=None):
    # newton-cholesky converges quadratically: tol 1e-12 gives the optimum to rounding.
    return SkLogisticRegression(C=C, solver="newton-cholesky", tol=1e-12, max_iter=1000,
                                fit_intercept=fit_intercept).fit(X, y, sample_weight)


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("name", sorted(_ROWS))
def test_coefficients_match_sklearn_on_bundled_data(name):
    X, y = datasets.load(name)
    X, y = X[: _ROWS[name]], y[: _ROWS[name]]
    sk = _sklearn_tight(X, y, C=1.0)
    ours = LogisticRegression(C=1.0, tol=1e-10).fit(X, y)
    assert ours.result_.success
    assert _rel(ours.coef_, sk.coef_) < 1e-6
    assert abs(ours.intercept_[0] - sk.intercept_[0]) <= 1e-6 * max(1.0, abs(sk.intercept_[0]))
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))


def test_sample_weights_and_C_map_like_sklearn(rng):
    X, y = datasets.load("mushrooms")
    X, y = X[:3000], y[:3000]
    s = rng.integers(0, 4, X.shape[0]).astype(float)
    sk = _sklearn_tight(X, y, C=0.05, sample_weight=s)
    ours = LogisticRegression(C=0.05, tol=1e-11).fit(X, y, sample_weight=s)
    assert _rel(ours.coef_, sk.coef_) < 1e-6
    assert ours.lam_ == pytest.approx(1.0 / (0.05 * s.sum()))


def test_multinomial_matches_sklearn(rng):
    from sklearn.datasets import make_classification

    X, y = make_classification(400, 12, n_informative=6, n_classes=4, random_state=0)
    sk = SkLogisticRegression(C=0.3, solver="newton-cg", tol=1e-12, max_iter=10_000).fit(X, y)
    ours = LogisticRegression(C=0.3, tol=1e-11).fit(X, y)
    assert ours.solver_ == "newton-cg"
    assert ours.coef_.shape == (4, 12) and ours.intercept_.shape == (4,)
    assert _rel(ours.coef_, sk.coef_) < 1e-6
    np.testing.assert_allclose(ours.intercept_, sk.intercept_, atol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-7)
    np.testing.assert_allclose(ours.predict_log_proba(X), np.log(ours.predict_proba(X)),
                               atol=1e-10)
    # Sparse input, float32: same model.
    ours32 = LogisticRegression(C=0.3, tol=1e-11).fit(sp.csr_matrix(X.astype(np.float32)), y)
    np.testing.assert_allclose(ours32.coef_, ours.coef_, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg"])
def test_other_solvers_reach_the_same_coefficients(solver):
    X, y = datasets.load("a9a")
    X, y = X[:3000], y[:3000]
    auto = LogisticRegression(C=1.0, tol=1e-10).fit(X, y)
    other = LogisticRegression(C=1.0, tol=1e-9, solver=solver, max_iter=5000).fit(X, y)
    assert other.solver_ == solver
    assert _rel(other.coef_, auto.coef_) < 1e-6


def test_alpha_is_lam_directly():
    X, y = datasets.load("mushrooms")
    X, y = X[:2000], y[:2000]
    m = X.shape[0]
    by_c = LogisticRegression(C=2.0, tol=1e-10).fit(X, y)
    by_alpha = LogisticRegression(alpha=1.0 / (2.0 * m), C=123.0, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(by_alpha.coef_, by_c.coef_, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- behaviour


def test_float32_input_is_not_copied(monkeypatch, rng):
    import fastopt.problems as problems

    seen = []
    original = problems.Logistic

    class Spy(original):
        def __init__(self, X, *args, **kwargs):
            seen.append(X)
            super().__init__(X, *args, **kwargs)
            seen.append(self.X)

    monkeypatch.setattr(problems, "Logistic", Spy)
    X = rng.standard_normal((200, 5)).astype(np.float32)
    y = (X[:, 0] + 0.3 * rng.standard_normal(200) > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    assert all(a.dtype == np.float32 and np.shares_memory(a, X) for a in seen)
    assert clf.decision_function(X).shape == (200,)


def test_auto_solver_rule():
    assert auto_solver(124, 2) == "newton"
    assert auto_solver(5000, 2) == "newton-cg"
    assert auto_solver(30, 3) == "newton-cg"
    # Sparse X: Newton only while forming the Hessian is cheap per nonzero.
    assert auto_solver(124, 2, AUTO_NEWTON_MAX_GRAM_RATIO) == "newton"
    assert auto_solver(124, 2, AUTO_NEWTON_MAX_GRAM_RATIO + 0.5) == "newton-cg"
    assert auto_solver(5000, 2, 1.0) == "newton-cg"
    assert auto_solver(30, 3, 1.0) == "newton-cg"


def test_gram_work_ratio():
    X = sp.csr_matrix(np.array([[1.0, 2.0, 0.0, 3.0], [0.0, 0.0, 0.0, 0.0],
                                [0.0, 4.0, 0.0, 0.0]]))
    # rows with 3, 0 and 1 nonzeros: (9 + 0 + 1) / (2 * 4)
    assert gram_work_ratio(X) == pytest.approx(10 / 8)
    assert gram_work_ratio(X.toarray()) is None
    assert gram_work_ratio(sp.csr_matrix((3, 4))) == 0.0


@pytest.mark.parametrize("name", datasets.names())
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_auto_picks_newton_on_the_bundled_sets(name):
    X, y = datasets.load(name)
    assert gram_work_ratio(X) <= AUTO_NEWTON_MAX_GRAM_RATIO
    assert LogisticRegression(max_iter=1).fit(X, y).solver_ == "newton"


def test_auto_picks_newton_cg_for_dense_rows_of_sparse_data(rng):
    # 60 nonzeros per row: forming the Hessian costs about 30 multiply-adds per nonzero.
    X = sp.random(300, 100, density=0.6, format="csr", random_state=0)
    y = (X @ rng.standard_normal(100) > 0).astype(int)
    assert gram_work_ratio(X) > AUTO_NEWTON_MAX_GRAM_RATIO
    clf = LogisticRegression(tol=1e-10).fit(X, y)
    assert clf.solver_ == "newton-cg"
    # the dense copy of the same data still gets Newton, and the same coefficients
    dense = LogisticRegression(tol=1e-10).fit(X.toarray(), y)
    assert dense.solver_ == "newton"
    np.testing.assert_allclose(clf.coef_, dense.coef_, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("y", [
    np.array([-1.0, 1.0, 1.0, -1.0, 1.0]), np.array([3, 7, 7, 3, 3]),
    np.array([True, False, True, True, False]), np.array([0.5, 2.5, 0.5, 0.5, 2.5]),
    np.array([2, 0, 1, 1, 2]), np.array(["b", "a", "a", "b", "b"]),
    np.array([4.0, 4.0, 4.0, 4.0, 4.0]),
])
def test_label_encoding_is_numpy_unique(y):
    classes, index = _encode_labels(y)
    expected_classes, expected_index = np.unique(y, return_inverse=True)
    np.testing.assert_array_equal(classes, expected_classes)
    assert classes.dtype == expected_classes.dtype
    np.testing.assert_array_equal(index, expected_index)


def test_continuous_and_two_valued_labels():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="continuous"):
        LogisticRegression().fit(X, [0.5, 1.5, 1.5, 0.5])
    clf = LogisticRegression().fit(X, np.array([2.0, 5.0, 5.0, 2.0]))
    np.testing.assert_array_equal(clf.classes_, [2.0, 5.0])
    np.testing.assert_array_equal(clf.predict(X), [2.0, 5.0, 5.0, 2.0])


@pytest.mark.parametrize("name", ["mushrooms", "ijcnn1"])
def test_default_fit_is_closer_to_the_optimum_than_sklearns_default(name):
    """tol=1e-4 on the Euclidean gradient norm is never looser than scikit-learn's lbfgs
    rule (largest gradient entry <= 1e-4 on the same normalized objective)."""
    X, y = datasets.load(name)
    X, y = X[:_ROWS[name]], y[:_ROWS[name]]
    star = _sklearn_tight(X, y, C=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SkLogisticRegression(C=1.0).fit(X, y)
    ours = LogisticRegression(C=1.0).fit(X, y)
    assert ours.tol == sk.tol == 1e-4
    obj = fo.problems.Logistic(X, y, lam=1.0 / X.shape[0], fit_intercept=True)

    def gap(clf):
        return (obj.value(np.r_[clf.coef_[0], clf.intercept_])
                - obj.value(np.r_[star.coef_[0], star.intercept_]))

    assert np.linalg.norm(obj.grad(np.r_[ours.coef_[0], ours.intercept_])) <= 1e-4
    assert gap(ours) <= 0.5 * gap(sk)
    assert _rel(ours.coef_, star.coef_) <= 0.5 * _rel(sk.coef_, star.coef_)


def test_fitted_attributes_history_and_warm_start(rng):
    X, y = datasets.load("a9a")
    X, y = X[:2000], y[:2000]
    clf = LogisticRegression(C=0.5, warm_start=True).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [-1.0, 1.0])
    assert clf.coef_.shape == (1, 123) and clf.intercept_.shape == (1,)
    assert clf.n_iter_.shape == (1,) and clf.n_iter_[0] >= 1
    h = clf.history_
    assert len(h) == clf.n_iter_[0] + 1
    assert h.grad_norm[-1] <= clf.tol < h.grad_norm[0]
    first = clf.n_iter_[0]
    clf.fit(X, y)  # from the solution: converged at once
    assert clf.n_iter_[0] <= 1 < first


def test_n_threads_is_restored_and_verbose_prints(capsys):
    X, y = datasets.load("mushrooms")
    before = fo.get_num_threads()
    LogisticRegression(n_threads=1, verbose=2).fit(X[:500], y[:500])
    assert fo.get_num_threads() == before
    out = capsys.readouterr().out
    assert "iteration" in out and "converged" in out


def test_callback_and_convergence_warning():
    X, y = datasets.load("a9a")
    seen = []
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        LogisticRegression(solver="gd", max_iter=3,
                           callback=lambda intermediate_result: seen.append(
                               intermediate_result.nit)).fit(X[:500], y[:500])
    # Called once per iteration, in order, until the budget of 3 stopped the run.
    assert len(seen) >= 3 and seen == list(range(seen[0], seen[0] + len(seen)))
    assert seen[-1] in (2, 3)


@pytest.mark.parametrize("params, match", [
    ({"C": 0.0}, "C must be"), ({"alpha": -1.0}, "alpha must be"),
    ({"solver": "simplex"}, "unknown method"), ({"max_iter": -1}, "max_iter"),
    ({"n_threads": 0}, "n_threads"), ({"tol": float("nan")}, "tol"),
])
def test_invalid_parameters_are_named(params, match):
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match=match):
        LogisticRegression(**params).fit(X, [0, 1, 1, 0])


def test_one_class_with_positive_weight_is_refused():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="only one class"):
            LogisticRegression().fit(X, [0, 1, 1, 0], sample_weight=[1.0, 0.0, 0.0, 2.0])
