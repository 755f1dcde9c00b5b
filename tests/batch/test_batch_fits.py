"""``fo.batch``: every input form gives, per problem, the fit a single call would give."""

import numpy as np
import pytest
import scipy.sparse as sp

import fastopt as fo
from fastopt.kernels.batch_codes import CONVERGED

TIGHT = 1e-11


def _problems(rng, K=6, m=80, n=5, dtype=np.float64):
    X = rng.standard_normal((K, m, n)).astype(dtype)
    w = rng.standard_normal((K, n))
    z = np.einsum("kmn,kn->km", X.astype(np.float64), w) + 0.3
    y = rng.random((K, m)) < 1.0 / (1.0 + np.exp(-z))
    return X, y


def _single_logistic(X, y, lam, sample_weight=None, fit_intercept=True):
    obj = fo.problems.Logistic(X, y, lam=lam, sample_weight=sample_weight,
                               fit_intercept=fit_intercept)
    res = fo.minimize(obj, np.zeros(obj.n_params), method="newton", tol=TIGHT)
    assert res.success
    return res.x


def _close(a, b, rtol=1e-8):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * max(1.0, np.abs(b).max()))


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_stacked_problems_match_single_fits(rng, fit_intercept, dtype):
    X, y = _problems(rng, dtype=dtype)
    sw = rng.random(y.shape) + 0.5
    res = fo.batch.logistic(X, y, lam=1e-2, sample_weight=sw, fit_intercept=fit_intercept,
                            tol=TIGHT)
    assert res.success.all() and (res.status == CONVERGED).all()
    assert res.coef.shape == (6, 5) and res.intercept.shape == (6,)
    assert (res.grad_norm <= TIGHT).all() and (res.n_iter > 0).all()
    for k in range(6):
        x = _single_logistic(X[k], y[k], 1e-2, sw[k], fit_intercept)
        _close(res.coef[k], x[:5])
        if fit_intercept:
            _close(res.intercept[k], x[5])
    assert not fit_intercept or np.any(res.intercept != 0)
    if not fit_intercept:
        assert np.all(res.intercept == 0)


def test_default_lam_is_scikit_learn_c_equals_one(rng):
    from sklearn.linear_model import LogisticRegression

    X, y = _problems(rng, K=3)
    res = fo.batch.logistic(X, y, tol=TIGHT)
    np.testing.assert_allclose(res.lam, 1.0 / X.shape[1])
    for k in range(3):
        sk = LogisticRegression(C=1.0, tol=1e-12, max_iter=10000).fit(X[k], y[k])
        _close(res.coef[k], sk.coef_[0], rtol=1e-6)
        _close(res.intercept[k], sk.intercept_[0], rtol=1e-6)


def test_groups_read_rows_in_place(rng):
    X, y = _problems(rng, K=5, m=60)
    stacked = fo.batch.logistic(X, y, lam=1e-3, tol=TIGHT)
    order = rng.permutation(5 * 60)
    X2 = X.reshape(-1, 5)[order]
    y2 = y.reshape(-1)[order]
    ids = np.repeat(np.array([30, 10, 20, 50, 40]), 60)[order]  # any sortable ids
    before = X2.copy()
    res = fo.batch.logistic(X2, y2, groups=ids, lam=1e-3, tol=TIGHT)
    assert np.array_equal(X2, before)
    np.testing.assert_array_equal(res.groups, [10, 20, 30, 40, 50])
    for k, gid in enumerate(res.groups):
        source = [30, 10, 20, 50, 40].index(gid)
        _close(res.coef[k], stacked.coef[source], rtol=1e-9)


def test_groups_sparse_equal_dense(rng):
    X = rng.standard_normal((400, 12)) * (rng.random((400, 12)) < 0.3)
    y = rng.random(400) < 0.4
    groups = rng.integers(0, 7, 400)
    dense = fo.batch.logistic(X, y, groups=groups, lam=1e-3, tol=TIGHT)
    sparse = fo.batch.logistic(sp.csr_matrix(X), y, groups=groups, lam=1e-3, tol=TIGHT)
    assert sparse.success.all()
    _close(sparse.coef, dense.coef, rtol=1e-9)
    _close(sparse.intercept, dense.intercept, rtol=1e-9)


def test_n_groups_reports_empty_groups(rng):
    X = rng.standard_normal((90, 3))
    y = np.arange(90) % 2 == 0
    groups = np.repeat([0, 2, 3], 30)
    res = fo.batch.logistic(X, y, groups=groups, n_groups=5, lam=1e-2)
    assert res.success.tolist() == [True, False, True, True, False]
    assert res.status[1] == res.status[4] == fo.kernels.batch_codes.EMPTY
    assert np.isnan(res.coef[1]).all() and np.isnan(res.intercept[4])
    assert "no rows" in res.messages[1]


def test_many_targets_on_one_x(rng):
    X = rng.standard_normal((150, 4))
    Y = rng.random((150, 3)) < np.array([0.3, 0.5, 0.7])
    res = fo.batch.logistic(X, Y, lam=1e-2, tol=TIGHT)
    assert len(res) == 3
    for k in range(3):
        _close(res.coef[k], _single_logistic(X, Y[:, k], 1e-2)[:4])
    T = rng.standard_normal((150, 2))
    ls = fo.batch.least_squares(X, T, lam=0.1, tol=TIGHT)
    assert (ls.n_iter == 1).all()  # a quadratic: one Newton step
    A = np.hstack([X, np.ones((150, 1))])
    H = A.T @ A / 150
    H[:4, :4] += 0.1 * np.eye(4)
    exact = np.linalg.solve(H, A.T @ T / 150)
    _close(ls.coef.T, exact[:4])
    _close(ls.intercept, exact[4])


@pytest.mark.parametrize("sparse", [False, True])
def test_weight_vectors_on_one_x(rng, sparse):
    X = rng.standard_normal((200, 6)) * (rng.random((200, 6)) < 0.5)
    y = rng.random(200) < 0.5
    B = rng.multinomial(200, np.full(200, 1 / 200), size=4).astype(float)  # bootstrap
    B[3] = (np.arange(200) % 5 != 0)  # a cross-validation fold: 0/1 mask
    res = fo.batch.logistic(sp.csr_matrix(X) if sparse else X, y, sample_weight=B,
                            tol=TIGHT)
    assert res.success.all()
    for k in range(4):
        lam = 1.0 / B[k].sum()
        np.testing.assert_allclose(res.lam[k], lam)
        x = _single_logistic(X, y, lam, sample_weight=B[k])
        _close(res.coef[k], x[:6])
    warm = fo.batch.logistic(X, y, sample_weight=B, tol=TIGHT,
                             x0=np.column_stack([res.coef, res.intercept]))
    assert (warm.n_iter <= 1).all()
    _close(warm.coef, res.coef)


def test_poisson_matches_single_fit(rng):
    X = rng.standard_normal((3, 120, 4)) * 0.3
    y = rng.poisson(np.exp(X @ np.array([0.5, -0.2, 0.1, 0.3]) + 0.2)).astype(float)
    res = fo.batch.poisson(X, y, lam=1e-3, tol=TIGHT)
    assert res.success.all()
    for k in range(3):
        obj = fo.problems.Poisson(X[k], y[k], lam=1e-3, fit_intercept=True)
        x = fo.minimize(obj, np.zeros(5), method="newton", tol=TIGHT).x
        _close(res.coef[k], x[:4])
        np.testing.assert_allclose(res.fun[k], obj.value(x), rtol=1e-12)


def test_per_problem_lam_and_numpy_backend(rng):
    X, y = _problems(rng, K=4)
    lam = np.array([1e-1, 1e-2, 1e-3, 0.0])
    res = fo.batch.logistic(X, y, lam=lam, tol=TIGHT)
    ref = fo.batch.logistic(X, y, lam=lam, tol=TIGHT, backend="numpy")
    np.testing.assert_array_equal(res.n_iter, ref.n_iter)
    _close(res.coef, ref.coef, rtol=1e-9)
    # stronger L2, smaller coefficients
    norms = np.linalg.norm(res.coef, axis=1)
    assert norms[0] < norms[1] < norms[2]


def test_thread_count_does_not_change_bits(rng):
    X, y = _problems(rng, K=9)
    one = fo.batch.logistic(X, y, n_threads=1)
    two = fo.batch.logistic(X, y, n_threads=2)
    assert np.array_equal(one.coef, two.coef) and np.array_equal(one.n_iter, two.n_iter)


def test_budget_spent_is_reported(rng):
    X, y = _problems(rng, K=2)
    res = fo.batch.logistic(X, y, max_iter=1, tol=1e-14)
    assert not res.success.any() and (res.status == fo.kernels.batch_codes.MAX_ITER).all()
    assert (res.n_iter == 1).all() and np.isfinite(res.coef).all()
    assert "max_iter" in res.messages[0]


def test_no_problems(rng):
    res = fo.batch.logistic(np.zeros((0, 10, 3)), np.zeros((0, 10)))
    assert len(res) == 0 and res.coef.shape == (0, 3)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_many_least_squares_targets_share_one_hessian(rng, sparse, fit_intercept):
    X = rng.standard_normal((300, 6)) * (rng.random((300, 6)) < 0.6)
    T = X @ rng.standard_normal((6, 5)) + rng.standard_normal((300, 5))
    T[7, 2] = np.nan  # target 2 cannot be solved; the others are
    sw = rng.random(300)
    sw[::7] = 0.0  # rows left out of every problem through one shared row index
    res = fo.batch.least_squares(sp.csr_matrix(X) if sparse else X, T, lam=0.05,
                                 sample_weight=sw, fit_intercept=fit_intercept, tol=1e-12)
    assert res.status.tolist() == [0, 0, fo.kernels.batch_codes.BAD_INPUT, 0, 0]
    A = np.hstack([X, np.ones((300, 1))]) if fit_intercept else X
    s = sw / sw.sum()
    H = A.T @ (s[:, None] * A)
    H[np.arange(6), np.arange(6)] += 0.05
    for k in (0, 1, 3, 4):
        exact = np.linalg.solve(H, A.T @ (s * T[:, k]))
        _close(res.coef[k], exact[:6], rtol=1e-10)
        r = A @ exact - T[:, k]
        np.testing.assert_allclose(res.fun[k], 0.5 * s @ (r * r)
                                   + 0.025 * exact[:6] @ exact[:6], rtol=1e-12)
    assert (res.grad_norm[[0, 1, 3, 4]] <= 1e-12).all()
    # one lam differing by an ulp: no shared Hessian, the problems go one by one through
    # the Newton kernel, and agree
    lams = np.array([0.05, 0.05, 0.05, 0.05, np.nextafter(0.05, 1.0)])
    one = fo.batch.least_squares(X, T, lam=lams,
                                 sample_weight=sw, fit_intercept=fit_intercept, tol=1e-12)
    _close(one.coef[[0, 1, 3]], res.coef[[0, 1, 3]], rtol=1e-10)


@pytest.mark.parametrize("density, n, made_dense", [(0.9, 5, True), (0.05, 40, False)])
def test_sparse_x_dense_enough_is_made_dense(rng, density, n, made_dense):
    from fastopt._solver_choice import dense_gram_is_cheaper

    X = rng.standard_normal((500, n)) * (rng.random((500, n)) < density)
    X[:, 0] = 1.0 + rng.random(500)  # no empty row
    y = rng.random(500) < 0.5
    groups = np.arange(500) % 3
    S = sp.csr_matrix(X)
    assert dense_gram_is_cheaper(S) == made_dense
    dense = fo.batch.logistic(X, y, groups=groups, lam=1e-2, tol=TIGHT)
    sparse = fo.batch.logistic(S, y, groups=groups, lam=1e-2, tol=TIGHT)
    if made_dense:
        assert np.array_equal(sparse.coef, dense.coef)  # the very same dense computation
    else:
        _close(sparse.coef, dense.coef, rtol=1e-9)
        assert not np.array_equal(sparse.coef, dense.coef)  # the CSR kernel's own sums
