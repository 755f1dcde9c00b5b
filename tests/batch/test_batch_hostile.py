"""``fo.batch`` on bad input: a per-problem status where one problem is bad (the others
untouched, bit for bit), a ValueError naming the argument where the whole call is."""

import hashlib

import numpy as np
import pytest
import scipy.sparse as sp

import fastopt as fo
from fastopt.kernels.batch_codes import BAD_INPUT, CONVERGED, EMPTY, ONE_CLASS


def _problems(rng, K=5, m=50, n=4):
    X = rng.standard_normal((K, m, n))
    y = rng.random((K, m)) < 0.5
    return X, y


def _assert_others_untouched(res, clean, bad):
    good = np.setdiff1d(np.arange(len(clean)), bad)
    assert np.array_equal(res.coef[good], clean.coef[good])
    assert np.array_equal(res.n_iter[good], clean.n_iter[good])
    assert (res.status[good] == CONVERGED).all()


@pytest.mark.parametrize("where", ["X", "y", "sample_weight"])
def test_nan_in_one_stacked_problem(rng, where):
    X, y = _problems(rng)
    y = y.astype(float)
    sw = np.ones(y.shape)
    clean = fo.batch.logistic(X, y, sample_weight=sw)
    arrays = {"X": X, "y": y, "sample_weight": sw}
    arrays[where][2].flat[7] = np.nan if where != "X" else np.inf
    res = fo.batch.logistic(arrays["X"], arrays["y"], sample_weight=arrays["sample_weight"])
    assert res.status[2] == BAD_INPUT and not res.success[2]
    assert np.isnan(res.coef[2]).all() and "NaN or inf" in res.messages[2]
    _assert_others_untouched(res, clean, [2])


@pytest.mark.parametrize("sparse", [False, True])
def test_nan_row_marks_only_its_group(rng, sparse):
    X = rng.standard_normal((120, 3))
    y = rng.random(120) < 0.5
    groups = np.arange(120) % 4
    clean = fo.batch.logistic(sp.csr_matrix(X) if sparse else X, y, groups=groups)
    bad = X.copy()
    bad[5, 1] = np.nan  # row 5 is in group 1
    given = sp.csr_matrix(bad) if sparse else bad
    digest = hashlib.sha256(bad.tobytes()).hexdigest()
    res = fo.batch.logistic(given, y, groups=groups)
    assert res.status.tolist() == [CONVERGED, BAD_INPUT, CONVERGED, CONVERGED]
    _assert_others_untouched(res, clean, [1])
    assert hashlib.sha256(bad.tobytes()).hexdigest() == digest
    if sparse:
        assert np.isnan(given.data).any()  # the user's matrix still holds its NaN


def test_single_class_and_no_weight(rng):
    X, y = _problems(rng)
    sw = np.ones(y.shape)
    clean = fo.batch.logistic(X, y, sample_weight=sw)
    y[1] = True                      # one class
    sw[3] = 0.0                      # no weight at all
    sw[4, y[4]] = 0.0                # one class left among the weighted rows
    res = fo.batch.logistic(X, y, sample_weight=sw)
    assert res.status.tolist() == [CONVERGED, ONE_CLASS, CONVERGED, EMPTY, ONE_CLASS]
    assert "single class" in res.messages[1]
    _assert_others_untouched(res, clean, [1, 3, 4])


def test_one_class_everywhere_is_per_problem(rng):
    X, _ = _problems(rng, K=2)
    res = fo.batch.logistic(X, np.ones((2, 50)))
    assert (res.status == ONE_CLASS).all()
    np.testing.assert_array_equal(res.classes, [1.0])


def test_nan_in_shared_x_is_an_error(rng):
    X = rng.standard_normal((30, 3))
    X[4, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        fo.batch.logistic(X, rng.random((30, 2)) < 0.5)


@pytest.mark.parametrize("call, match", [
    (lambda X, y: fo.batch.logistic(X, y[:, :-1]), "y must have shape"),
    (lambda X, y: fo.batch.logistic(X, np.where(y, 2.0, 0.0) + np.eye(5, 50)), "3 distinct"),
    (lambda X, y: fo.batch.logistic(X, y, sample_weight=-np.ones(y.shape)), ">= 0"),
    (lambda X, y: fo.batch.logistic(X, y, sample_weight=np.ones((5, 49))), "sample_weight"),
    (lambda X, y: fo.batch.logistic(X, y, lam=-1.0), "lam"),
    (lambda X, y: fo.batch.logistic(X, y, lam=np.ones(4)), r"shape \(K,\)"),
    (lambda X, y: fo.batch.logistic(X, y, x0=np.zeros((5, 4))), "x0 must have shape"),
    (lambda X, y: fo.batch.logistic(X, y, groups=np.zeros(50)), "groups apply to a 2-D X"),
    (lambda X, y: fo.batch.logistic(X, y, backend="nope"), "backend"),
    (lambda X, y: fo.batch.logistic(X, y, tol=-1.0), "tol"),
    (lambda X, y: fo.batch.logistic(X[0], y[0]), "one problem"),
    (lambda X, y: fo.batch.logistic(X[0], y[0], groups=np.arange(49)), "groups must have"),
    (lambda X, y: fo.batch.logistic(X[0], y[0], groups=np.arange(50), n_groups=3),
     "n_groups=3"),
    (lambda X, y: fo.batch.poisson(X, -np.ones(y.shape)), "counts"),
    (lambda X, y: fo.batch.logistic(X[..., :0], y), "no columns"),
])
def test_bad_calls_raise_value_error(rng, call, match):
    X, y = _problems(rng)
    with pytest.raises(ValueError, match=match):
        call(X, y)


def test_type_errors(rng):
    X, y = _problems(rng)
    with pytest.raises(TypeError, match="X"):
        fo.batch.logistic(X.astype(complex), y)
    with pytest.raises(TypeError, match="fit_intercept"):
        fo.batch.logistic(X, y, fit_intercept="no")
    with pytest.raises(TypeError, match="lam"):
        fo.batch.logistic(X, y, lam="0.1")
    with pytest.raises(TypeError, match="labels"):
        fo.batch.logistic(X, np.full(y.shape, "a"))


def test_malformed_sparse_structure(rng):
    X = sp.csr_matrix(rng.standard_normal((20, 3)))
    X.indices[0] = 7  # out of range
    with pytest.raises(ValueError, match="X"):
        fo.batch.logistic(X, rng.random((20, 2)) < 0.5)


def test_absurd_sizes_are_refused_before_allocating():
    X = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(2, 10**6, 10**5),
                                        strides=(0, 0, 0))
    with pytest.raises(ValueError, match="memory"):
        fo.batch.logistic(X, np.zeros((2, 10**6)))


def test_user_arrays_are_not_modified(rng):
    X, y = _problems(rng)
    sw = rng.random(y.shape)
    x0 = np.zeros((5, 5))
    before = [a.copy() for a in (X, y, sw, x0)]
    fo.batch.logistic(X, y, sample_weight=sw, x0=x0)
    for a, b in zip((X, y, sw, x0), before, strict=True):
        assert np.array_equal(a, b)


def test_separable_problem_ends_finite_as_the_single_fit_does(rng):
    X = rng.standard_normal((1, 40, 2))
    y = X[0, :, 0] > 0  # separable: without L2 the infimum 0 is not attained
    res = fo.batch.logistic(X, y[None], lam=0.0, max_iter=30, tol=1e-12)
    assert np.isfinite(res.coef).all() and np.isfinite(res.fun).all()
    assert res.fun[0] < 1e-6 and np.linalg.norm(res.coef[0]) > 100  # far out, f near 0
    obj = fo.problems.Logistic(X[0], y, lam=0.0, fit_intercept=True)
    single = fo.minimize(obj, np.zeros(3), method="newton", tol=1e-12, max_iter=30)
    assert res.success[0] == single.success and res.n_iter[0] == single.nit
    np.testing.assert_allclose(res.coef[0], single.x[:2], rtol=1e-8)
