"""fastopt.LogisticRegressionCV: scikit-learn's estimator checks, the same C_, scores and
coefficients as scikit-learn's LogisticRegressionCV on the same folds, results that do
not depend on n_jobs, and bad Cs refused by name."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegressionCV as SkLogisticRegressionCV
from sklearn.model_selection import KFold
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastopt as fo
from fastopt import datasets
from fastopt.linear_model import LogisticRegressionCV


@parametrize_with_checks([LogisticRegressionCV(Cs=3)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _sklearn(X, y, sample_weight=None, **params):
    """scikit-learn's LogisticRegressionCV with its legacy attributes, fitted to the
    optimum (newton-cholesky converges quadratically)."""
    params = {"solver": "newton-cholesky", "tol": 1e-10, "max_iter": 1000, "scoring": None,
              **params}
    with warnings.catch_warnings():
        # l1_ratios=None (the legacy attribute shapes) is deprecated in scikit-learn 1.8+.
        warnings.simplefilter("ignore", FutureWarning)
        return SkLogisticRegressionCV(use_legacy_attributes=True, **params).fit(
            X, y, sample_weight=sample_weight)


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def _assert_same_fit(ours, sk, rtol=1e-6):
    np.testing.assert_array_equal(ours.classes_, sk.classes_)
    np.testing.assert_array_equal(ours.Cs_, sk.Cs_)
    np.testing.assert_array_equal(ours.C_, sk.C_)
    assert ours.coef_.shape == sk.coef_.shape
    assert _rel(ours.coef_, sk.coef_) < rtol
    # Multinomial intercepts are defined up to a common constant: compare centered.
    ci = sk.intercept_ - (sk.intercept_.mean() if sk.intercept_.size > 2 else 0.0)
    np.testing.assert_allclose(ours.intercept_, ci, rtol=rtol, atol=rtol)
    assert set(ours.scores_) == set(sk.scores_) == set(ours.coefs_paths_)
    for key in sk.scores_:
        np.testing.assert_allclose(ours.scores_[key], sk.scores_[key], rtol=1e-8)
        assert ours.coefs_paths_[key].shape == sk.coefs_paths_[key].shape
    assert ours.n_iter_.shape == sk.n_iter_.shape


@pytest.mark.parametrize("name, rows", [("a9a", None), ("ijcnn1", 20000)])
def test_same_C_and_refit_as_sklearn_on_bundled_data(name, rows):
    X, y = datasets.load(name)
    if rows is not None:
        X, y = X[:rows], y[:rows]
    ours = LogisticRegressionCV(Cs=4, cv=3, tol=1e-10).fit(X, y)
    sk = _sklearn(X, y, Cs=4, cv=3)
    _assert_same_fit(ours, sk)
    assert ours.solver_ == "newton"
    key = sk.classes_[1]
    assert _rel(ours.coefs_paths_[key], sk.coefs_paths_[key]) < 1e-6
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-8)
    assert ours.score(X, y) == pytest.approx(sk.score(X, y))


def test_w8a_choice_with_a_scorer_and_shuffled_folds():
    X, y = datasets.load("w8a")
    X, y = X[:10000], y[:10000]
    cv = KFold(3, shuffle=True, random_state=0)
    Cs = [0.01, 1.0, 100.0]
    ours = LogisticRegressionCV(Cs=Cs, cv=cv, scoring="roc_auc", tol=1e-10).fit(X, y)
    sk = _sklearn(X, y, Cs=Cs, cv=cv, scoring="roc_auc")
    _assert_same_fit(ours, sk)
    assert ours.score(X, y) == pytest.approx(sk.score(X, y), rel=1e-9)


def test_n_jobs_does_not_change_the_results():
    X, y = datasets.load("a9a")
    X, y = X[:12000], y[:12000]
    one = LogisticRegressionCV(Cs=5, cv=4, n_jobs=None).fit(X, y)
    two = LogisticRegressionCV(Cs=5, cv=4, n_jobs=2).fit(X, y)
    every = LogisticRegressionCV(Cs=5, cv=4, n_jobs=-1).fit(X, y)
    for other in (two, every):
        np.testing.assert_array_equal(other.C_, one.C_)
        np.testing.assert_array_equal(other.coef_, one.coef_)
        np.testing.assert_array_equal(other.intercept_, one.intercept_)
        np.testing.assert_array_equal(other.n_iter_, one.n_iter_)
        np.testing.assert_array_equal(other.scores_[1.0], one.scores_[1.0])
        np.testing.assert_array_equal(other.coefs_paths_[1.0], one.coefs_paths_[1.0])


@pytest.mark.parametrize("backend", ["auto", "numpy"])  # numba runs the folds serially
def test_threads_on_threaded_backends_leave_blas_as_it_was(backend, capsys):
    from fastopt._blas_threads import blas_libraries

    before = [lib.num_threads for lib in blas_libraries()]
    X, y = datasets.load("a9a")
    X, y = X[:3000], y[:3000]
    one = LogisticRegressionCV(Cs=3, cv=3, backend=backend).fit(X, y)
    two = LogisticRegressionCV(Cs=3, cv=3, backend=backend, n_jobs=2, verbose=1).fit(X, y)
    np.testing.assert_array_equal(two.coefs_paths_[1.0], one.coefs_paths_[1.0])
    np.testing.assert_array_equal(two.coef_, one.coef_)
    assert [lib.num_threads for lib in blas_libraries()] == before
    assert capsys.readouterr().out.count("fastopt LogisticRegressionCV: fold") == 3


def test_multiclass_matches_sklearn():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    Cs = [0.01, 0.1, 1.0, 10.0]
    ours = LogisticRegressionCV(Cs=Cs, cv=3, scoring="neg_log_loss", tol=1e-10).fit(X, y)
    sk = _sklearn(X, y, Cs=Cs, cv=3, scoring="neg_log_loss")
    assert ours.solver_ == "newton-cg"
    _assert_same_fit(ours, sk)
    assert ours.C_.shape == (3,) and ours.coef_.shape == (3, 4)
    for k in sk.classes_:
        assert ours.coefs_paths_[k].shape == (3, 4, 5)
        assert _rel(ours.coefs_paths_[k][:, :, :4], sk.coefs_paths_[k][:, :, :4]) < 1e-6
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-7)


def test_refit_false_averages_the_folds_like_sklearn():
    from sklearn.datasets import make_classification

    X, y = make_classification(500, 8, n_informative=5, n_classes=3, random_state=3)
    Cs = [0.001, 0.03, 1.0, 30.0]
    ours = LogisticRegressionCV(Cs=Cs, cv=4, refit=False, tol=1e-10).fit(X, y)
    sk = _sklearn(X, y, Cs=Cs, cv=4, refit=False)
    best = np.argmax(ours.scores_[0], axis=1)
    assert ours.C_[0] == pytest.approx(np.mean(np.asarray(Cs)[best]), rel=1e-12)
    _assert_same_fit(ours, sk)


def test_sample_weights_in_the_folds_and_in_the_scores(rng):
    X, y = datasets.load("mushrooms")
    X, y = X[:3000], y[:3000]
    s = rng.integers(0, 4, X.shape[0]).astype(float)
    Cs = [1e-3, 1e-2, 1e-1]
    ours = LogisticRegressionCV(Cs=Cs, cv=3, tol=1e-10).fit(X, y, sample_weight=s)
    sk = _sklearn(X, y, sample_weight=s, Cs=Cs, cv=3)
    _assert_same_fit(ours, sk)
    assert ours.lam_ == pytest.approx(1.0 / (ours.C_[0] * s.sum()))
    unweighted = LogisticRegressionCV(Cs=Cs, cv=3, tol=1e-10).fit(X, y)
    assert not np.allclose(unweighted.scores_[1.0], ours.scores_[1.0])


def test_string_labels_and_no_intercept():
    from sklearn.datasets import make_classification

    X, y01 = make_classification(300, 5, random_state=0)
    y = np.array(["no", "yes"])[y01]
    ours = LogisticRegressionCV(Cs=3, cv=3, fit_intercept=False, tol=1e-10).fit(X, y)
    sk = _sklearn(X, y, Cs=3, cv=3, fit_intercept=False)
    _assert_same_fit(ours, sk)
    assert ours.coefs_paths_["yes"].shape == (3, 3, 5)
    np.testing.assert_array_equal(ours.intercept_, [0.0])
    assert set(ours.predict(X)) <= {"no", "yes"}


def test_each_fold_is_one_warm_started_path(monkeypatch):
    from fastopt.linear_model import _logistic_cv

    calls = []
    real = _logistic_cv.path

    def spy(objective, **kw):
        calls.append(np.asarray(kw["lams"]).copy())
        return real(objective, **kw)

    monkeypatch.setattr(_logistic_cv, "path", spy)
    X, y = datasets.load("a9a")
    X, y = X[:5000], y[:5000]
    clf = fo.LogisticRegressionCV(Cs=[10.0, 0.1, 1.0], cv=3).fit(X, y)
    assert len(calls) == 3 and all(c.shape == (3,) for c in calls)
    # Cs_ keeps the order given; the iterations of the path's first solve (C = 0.1, the
    # largest lam) are reported at its place in Cs_.
    np.testing.assert_array_equal(clf.Cs_, [10.0, 0.1, 1.0])
    assert clf.n_iter_.shape == (1, 3, 3)
    assert np.all(clf.n_iter_[0, :, 1] >= clf.n_iter_[0, :, 2])


@pytest.mark.parametrize("Cs, what", [
    (-1, "Cs must be an integer >= 1"), (0, "Cs"), ([], "non-empty"),
    ([1.0, -2.0], "Cs\\[1\\]"), ([0.0], "positive"), ([np.nan], "finite"),
    ([np.inf], "finite"), ("abc", "Cs"), ([[1.0, 2.0]], "1-D"), (True, "Cs"),
])
def test_bad_Cs_are_refused_by_name(Cs, what):
    X, y = datasets.load("a9a")
    with pytest.raises(ValueError, match=what):
        LogisticRegressionCV(Cs=Cs).fit(X[:200], y[:200])


def test_bad_options_are_refused_by_name():
    X, y = datasets.load("a9a")
    X, y = X[:200], y[:200]
    with pytest.raises(ValueError, match="n_jobs"):
        LogisticRegressionCV(n_jobs=0).fit(X, y)
    with pytest.raises(TypeError, match="refit"):
        LogisticRegressionCV(refit="yes").fit(X, y)
    with pytest.raises(ValueError, match="scoring|no_such"):
        LogisticRegressionCV(scoring="no_such_score").fit(X, y)
