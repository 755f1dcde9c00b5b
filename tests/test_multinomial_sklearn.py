"""fastopt's multinomial (softmax) logistic regression against scikit-learn, at 1e-6.

What is tested, and why:

* ``fo.LogisticRegression`` on a 4-class problem reaches scikit-learn's multinomial optimum
  (coefficients, centred intercepts and ``predict_proba`` to 1e-6 relative), for every
  fastopt solver that applies to the multinomial model (``lbfgs``, ``newton-cg``,
  ``newton``), with and without an intercept and with and without sample weights. This
  pins down that both libraries solve the *same* problem: the C to lambda mapping and the
  role of the sample weights, not only that each solver converges somewhere.
* scikit-learn's solution is also checked to be a stationary point of
  ``fo.problems.Multinomial`` with lam = 1 / (C sum s): a failure there means the
  objectives differ, a failure only in the coefficient comparison means a solver stopped
  short.
* Class labels that are not 0..K-1 (strings, unsorted) give the same rows as scikit-learn.
* K = 2: the overparametrized two-class softmax model reduces to binary logistic
  regression (its coefficient difference is the binary solution at half the L2
  strength), and the estimator's binary fit matches scikit-learn's binary fit.

Conventions (from ``fastopt/linear_model/_logistic.py`` and ``fastopt/problems``):
scikit-learn minimizes 1/2 ||W||_F^2 + C sum_i s_i loss_i; fastopt minimizes the same
function divided by C sum_i s_i, i.e. (1 / sum s) sum_i s_i loss_i + lam/2 ||W||_F^2 with
lam = 1 / (C sum_i s_i) (sample weights are normalized to sum to one inside the
objective; intercepts are never penalized). The minimizers coincide.
"""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

import fastopt as fo

C = 0.5
SOLVERS = ["lbfgs", "newton-cg", "newton"]


def _multiclass_data(n_classes=4):
    X, y = make_classification(n_samples=300, n_features=10, n_informative=6,
                               n_redundant=2, n_classes=n_classes, n_clusters_per_class=1,
                               class_sep=1.0, random_state=3)
    return X, y


def _weights(rng, weighted, m):
    return rng.uniform(0.2, 3.0, m) if weighted else None


def _sklearn_fit(X, y, fit_intercept, sample_weight):
    return SkLogisticRegression(C=C, fit_intercept=fit_intercept, solver="newton-cg",
                                tol=1e-12, max_iter=10_000).fit(X, y,
                                                                sample_weight=sample_weight)


def _centred(intercept):
    return intercept - intercept.mean()


def _coef_atol(coef):
    return 1e-7 * np.abs(coef).max()


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fit_intercept", [False, True], ids=["no-intercept", "intercept"])
def test_estimator_matches_sklearn_multinomial(solver, weighted, fit_intercept, rng):
    X, y = _multiclass_data()
    sw = _weights(rng, weighted, len(y))
    sk = _sklearn_fit(X, y, fit_intercept, sw)
    assert sk.coef_.shape == (4, X.shape[1])  # the full multinomial model, not OvR

    # The same mathematical problem: scikit-learn's optimum is stationary for fastopt's
    # objective with lam = 1 / (C sum s) (weights normalized inside the objective).
    weight_sum = len(y) if sw is None else sw.sum()
    lam = 1.0 / (C * weight_sum)
    obj = fo.problems.Multinomial(X, y, lam=lam, sample_weight=sw,
                                  fit_intercept=fit_intercept)
    x_sk = obj.flatten(sk.coef_, sk.intercept_ if fit_intercept else None)
    assert np.linalg.norm(obj.grad(x_sk)) < 1e-9

    est = fo.LogisticRegression(C=C, fit_intercept=fit_intercept, solver=solver,
                                tol=1e-10, max_iter=2000).fit(X, y, sample_weight=sw)
    assert est.solver_ == solver
    assert est.result_.success, est.result_.message
    assert est.lam_ == pytest.approx(lam, rel=1e-14)
    np.testing.assert_array_equal(est.classes_, sk.classes_)
    np.testing.assert_allclose(est.coef_, sk.coef_, rtol=1e-6, atol=_coef_atol(sk.coef_))
    if fit_intercept:
        # Only defined up to a common shift; both report sum-zero intercepts, but compare
        # the centred ones so that the test does not rely on that.
        np.testing.assert_allclose(_centred(est.intercept_), _centred(sk.intercept_),
                                   rtol=1e-6, atol=_coef_atol(sk.intercept_))
    else:
        np.testing.assert_array_equal(est.intercept_, 0.0)
    np.testing.assert_allclose(est.predict_proba(X), sk.predict_proba(X),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(est.predict(X), sk.predict(X))


def test_string_labels_give_sklearn_rows(rng):
    # Labels that are neither 0..K-1 nor in order of appearance: coef_ row k must be the
    # class classes_[k] in both libraries.
    X, y = _multiclass_data(n_classes=3)
    names = np.array(["pear", "apple", "fig"])
    labels = names[y]
    sw = _weights(rng, True, len(y))
    sk = _sklearn_fit(X, labels, True, sw)
    est = fo.LogisticRegression(C=C, solver="newton-cg", tol=1e-10).fit(X, labels,
                                                                        sample_weight=sw)
    np.testing.assert_array_equal(est.classes_, ["apple", "fig", "pear"])
    np.testing.assert_array_equal(est.classes_, sk.classes_)
    np.testing.assert_allclose(est.coef_, sk.coef_, rtol=1e-6, atol=_coef_atol(sk.coef_))
    np.testing.assert_allclose(_centred(est.intercept_), _centred(sk.intercept_),
                               rtol=1e-6, atol=_coef_atol(sk.intercept_))
    np.testing.assert_array_equal(est.predict(X), sk.predict(X))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fit_intercept", [False, True], ids=["no-intercept", "intercept"])
def test_two_class_multinomial_is_binary_logistic_at_half_lam(fit_intercept, weighted, rng):
    # Two classes, softmax model W = [w0, w1] (+ intercepts b0, b1), labels c_i in {0, 1}:
    #   loss_i = log(e^{z_i0} + e^{z_i1}) - z_{i c_i} = log(1 + exp(-y_i (d.a_i + e)))
    # with d = w1 - w0, e = b1 - b0 and y_i = +1 for class 1, -1 for class 0: the binary
    # logistic loss of (d, e). fo.problems.Logistic maps the larger label (1) to +1 and
    # normalizes the weights the same way, so only the penalties differ: for a given d,
    # lam/2 (||w0||^2 + ||w1||^2) is smallest at w1 = -w0 = d/2, where it is
    # lam/4 ||d||^2 = (lam/2)/2 ||d||^2. Hence (d, e) minimizes the binary objective with
    # lam_binary = lam / 2, and the multinomial optimum has w0 = -w1.
    X, y = make_classification(n_samples=250, n_features=8, n_informative=5,
                               n_redundant=1, random_state=7)
    sw = _weights(rng, weighted, len(y))
    lam = 0.02
    multi = fo.problems.Multinomial(X, y, lam=lam, sample_weight=sw,
                                    fit_intercept=fit_intercept)
    assert multi.n_classes == 2
    res_m = fo.minimize(multi, np.zeros(multi.n_params), method="newton-cg", tol=1e-11)
    assert res_m.success, res_m.message
    W, b = multi.unflatten(res_m.x)

    binary = fo.problems.Logistic(X, y, lam=lam / 2, sample_weight=sw,
                                  fit_intercept=fit_intercept)
    res_b = fo.minimize(binary, np.zeros(binary.n_params), method="newton-cg", tol=1e-11)
    assert res_b.success, res_b.message
    n = X.shape[1]
    d = res_b.x[:n]

    np.testing.assert_allclose(W[1] - W[0], d, rtol=1e-6, atol=_coef_atol(d))
    np.testing.assert_allclose(W[0], -W[1], rtol=1e-6, atol=_coef_atol(d))
    if fit_intercept:
        np.testing.assert_allclose(b[1] - b[0], res_b.x[n], rtol=1e-6, atol=1e-9)
    # Same optimal value: the binary objective at lam/2 equals the multinomial one.
    assert res_m.fun == pytest.approx(res_b.fun, rel=1e-9)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fit_intercept", [False, True], ids=["no-intercept", "intercept"])
def test_estimator_matches_sklearn_binary(solver, weighted, fit_intercept, rng):
    X, y = make_classification(n_samples=250, n_features=8, n_informative=5,
                               n_redundant=1, random_state=7)
    labels = np.where(y == 1, 5, -2)  # classes_[1] = 5 is the positive class
    sw = _weights(rng, weighted, len(y))
    sk = SkLogisticRegression(C=C, fit_intercept=fit_intercept, solver="newton-cg",
                              tol=1e-12, max_iter=10_000).fit(X, labels, sample_weight=sw)
    est = fo.LogisticRegression(C=C, fit_intercept=fit_intercept, solver=solver,
                                tol=1e-10, max_iter=2000).fit(X, labels, sample_weight=sw)
    assert est.result_.success, est.result_.message
    np.testing.assert_array_equal(est.classes_, sk.classes_)
    assert est.coef_.shape == sk.coef_.shape == (1, X.shape[1])
    np.testing.assert_allclose(est.coef_, sk.coef_, rtol=1e-6, atol=_coef_atol(sk.coef_))
    np.testing.assert_allclose(est.intercept_, sk.intercept_, rtol=1e-6,
                               atol=_coef_atol(sk.coef_))
    np.testing.assert_allclose(est.predict_proba(X), sk.predict_proba(X),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(est.predict(X), sk.predict(X))
