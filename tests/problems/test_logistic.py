"""Logistic: values, derivatives and constants against finite differences and dense math."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from fastopt.problems import Logistic

M, N = 40, 5


def make_data(seed=0, sparse=False, m=M, n=N):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    X[rng.random((m, n)) < 0.4] = 0.0  # some structure for CSR, and an empty-ish column
    y = rng.integers(0, 2, m)
    y[:2] = [0, 1]  # both classes for sure
    return (sp.csr_matrix(X) if sparse else X), y


def fd_grad(f, w, h=1e-6):
    g = np.empty_like(w)
    for i in range(w.size):
        e = np.zeros_like(w)
        e[i] = h
        g[i] = (f(w + e) - f(w - e)) / (2 * h)
    return g


def dense_hessian(X, b, w, lam, intercept):
    """The Hessian written out with NumPy, from its formula."""
    A = np.hstack([X, np.ones((X.shape[0], 1))]) if intercept else X
    z = A @ w
    s = 1.0 / (1.0 + np.exp(-b * z))
    H = A.T @ (A * (s * (1 - s))[:, None]) / X.shape[0]
    n = X.shape[1]
    H[np.arange(n), np.arange(n)] += lam
    return H


@pytest.fixture(params=[False, True], ids=["dense", "csr"])
def sparse(request):
    return request.param


@pytest.fixture(params=[False, True], ids=["no-intercept", "intercept"])
def intercept(request):
    return request.param


def test_value_at_zero_is_ln2(backend, sparse, intercept):
    X, y = make_data(sparse=sparse)
    obj = Logistic(X, y, lam=0.3, fit_intercept=intercept, backend=backend)
    assert obj.n_params == N + intercept
    assert obj.value(np.zeros(obj.n_params)) == pytest.approx(math.log(2), rel=1e-14)


def test_value_matches_formula(backend, sparse, intercept):
    X, y = make_data(sparse=sparse)
    lam = 0.2
    obj = Logistic(X, y, lam=lam, fit_intercept=intercept, backend=backend)
    w = np.random.default_rng(1).standard_normal(obj.n_params)
    Xd = X.toarray() if sparse else X
    b = np.where(y == 1, 1.0, -1.0)
    z = Xd @ w[:N] + (w[N] if intercept else 0.0)
    expected = np.mean(np.log1p(np.exp(-b * z))) + lam / 2 * w[:N] @ w[:N]
    assert obj.value(w) == pytest.approx(expected, rel=1e-12)


def test_grad_hvp_hessian_match_finite_differences(backend, sparse, intercept):
    X, y = make_data(sparse=sparse)
    obj = Logistic(X, y, lam=0.1, fit_intercept=intercept, backend=backend)
    rng = np.random.default_rng(2)
    w = rng.standard_normal(obj.n_params)
    v = rng.standard_normal(obj.n_params)
    g = obj.grad(w)
    np.testing.assert_allclose(g, fd_grad(obj.value, w), rtol=1e-6, atol=1e-8)
    # hvp = directional derivative of the gradient
    h = 1e-6
    hv_fd = (obj.grad(w + h * v) - obj.grad(w - h * v)) / (2 * h)
    np.testing.assert_allclose(obj.hvp(w, v), hv_fd, rtol=1e-6, atol=1e-8)
    H = obj.hessian(w)
    assert H.shape == (obj.n_params, obj.n_params)
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-14)
    H_fd = np.column_stack([fd_grad(lambda u, j=j: obj.grad(u)[j], w) for j in
                            range(obj.n_params)]).T
    np.testing.assert_allclose(H, H_fd, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(H @ v, obj.hvp(w, v), rtol=1e-10, atol=1e-12)
    Xd = X.toarray() if sparse else X
    np.testing.assert_allclose(
        H, dense_hessian(Xd, np.where(y == 1, 1.0, -1.0), w, 0.1, intercept),
        rtol=1e-10, atol=1e-13)


def test_loss_grad_equals_value_and_grad(backend, sparse):
    X, y = make_data(sparse=sparse)
    obj = Logistic(X, y, lam=0.05, fit_intercept=True, backend=backend)
    w = np.random.default_rng(3).standard_normal(obj.n_params)
    f, g = obj.loss_grad(w)
    assert f == pytest.approx(obj.value(w), rel=1e-13)
    np.testing.assert_allclose(g, obj.grad(w), rtol=1e-13, atol=1e-15)
    out = np.full(obj.n_params, np.nan)
    assert obj.loss_grad_into(w, out) == pytest.approx(f, rel=1e-13)
    np.testing.assert_allclose(out, g, rtol=1e-13, atol=1e-15)


def test_backends_agree_with_numpy_reference(backend, sparse, intercept):
    X, y = make_data(sparse=sparse)
    kwargs = dict(lam=0.1, fit_intercept=intercept)
    obj = Logistic(X, y, backend=backend, **kwargs)
    ref = Logistic(X, y, backend="numpy", **kwargs)
    rng = np.random.default_rng(4)
    w, v = rng.standard_normal((2, obj.n_params)) * 3
    assert obj.value(w) == pytest.approx(ref.value(w), rel=1e-12)
    np.testing.assert_allclose(obj.grad(w), ref.grad(w), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(obj.hvp(w, v), ref.hvp(w, v), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(obj.hessian(w), ref.hessian(w), rtol=1e-10, atol=1e-14)


def test_dense_and_csr_agree(backend, intercept):
    X, y = make_data()
    dense = Logistic(X, y, lam=0.1, fit_intercept=intercept, backend=backend)
    csr = Logistic(sp.csr_matrix(X), y, lam=0.1, fit_intercept=intercept, backend=backend)
    rng = np.random.default_rng(5)
    w, v = rng.standard_normal((2, dense.n_params))
    f1, g1 = dense.loss_grad(w)
    f2, g2 = csr.loss_grad(w)
    assert f1 == pytest.approx(f2, rel=1e-13)
    np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dense.hvp(w, v), csr.hvp(w, v), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dense.hessian(w), csr.hessian(w), rtol=1e-12, atol=1e-15)
    assert dense.lipschitz() == pytest.approx(csr.lipschitz(), rel=1e-8)


def test_float32_data_stays_float32_and_matches_float64(backend):
    X, y = make_data()
    X32 = X.astype(np.float32)
    obj32 = Logistic(X32, y, lam=0.1, backend=backend)
    obj64 = Logistic(X32.astype(np.float64), y, lam=0.1, backend=backend)
    assert obj32.X.dtype == np.float32 and obj32.dtype == np.float32
    w = np.random.default_rng(6).standard_normal(N)
    f32, g32 = obj32.loss_grad(w)
    f64, g64 = obj64.loss_grad(w)
    assert g32.dtype == np.float64  # accumulation and results in float64
    assert f32 == pytest.approx(f64, rel=1e-6)
    np.testing.assert_allclose(g32, g64, rtol=1e-5, atol=1e-7)
    forced = Logistic(X, y, lam=0.1, backend=backend, dtype=np.float32)
    assert forced.X.dtype == np.float32
    assert forced.value(w) == pytest.approx(f32, rel=1e-12)


def test_lipschitz_bounds_curvature_and_matches_dense_eigenvalue(backend, sparse, intercept):
    X, y = make_data(sparse=sparse)
    lam = 0.01
    obj = Logistic(X, y, lam=lam, fit_intercept=intercept, backend=backend)
    L = obj.lipschitz()
    Xd = X.toarray() if sparse else X
    A = np.hstack([Xd, np.ones((M, 1))]) if intercept else Xd
    expected = np.linalg.eigvalsh(A.T @ A / M)[-1] / 4 + lam
    assert L == pytest.approx(expected, rel=1e-7)
    # L bounds every Rayleigh quotient of the Hessian (including at w = 0, where the
    # logistic curvature reaches its maximum 1/4).
    rng = np.random.default_rng(7)
    best = 0.0
    for scale in (0.0, 0.1, 1.0):
        w = scale * rng.standard_normal(obj.n_params)
        for v in rng.standard_normal((20, obj.n_params)):
            best = max(best, v @ obj.hvp(w, v) / (v @ v))
    assert best <= L * (1 + 1e-9)
    assert best > 0.5 * L  # the bound is not vacuous
    assert obj.lipschitz() == L  # cached


def test_strong_convexity(backend):
    X, y = make_data()
    assert Logistic(X, y, lam=0.25, backend=backend).strong_convexity() == 0.25
    # the intercept is not penalized and the logistic curvature vanishes far away
    assert Logistic(X, y, lam=0.25, fit_intercept=True,
                    backend=backend).strong_convexity() == 0.0


def test_sample_weight_equals_repeated_rows(backend, sparse):
    X, y = make_data(sparse=sparse)
    counts = np.random.default_rng(8).integers(0, 4, M)
    counts[:2] = 1
    rows = np.repeat(np.arange(M), counts)
    weighted = Logistic(X, y, lam=0.1, sample_weight=counts, fit_intercept=True,
                        backend=backend)
    repeated = Logistic(X[rows], y[rows], lam=0.1, fit_intercept=True, backend=backend)
    w = np.random.default_rng(9).standard_normal(N + 1)
    f1, g1 = weighted.loss_grad(w)
    f2, g2 = repeated.loss_grad(w)
    assert f1 == pytest.approx(f2, rel=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-11, atol=1e-14)
    assert weighted.lipschitz() == pytest.approx(repeated.lipschitz(), rel=1e-7)


def test_label_conventions_give_the_same_objective():
    X, y01 = make_data()
    w = np.random.default_rng(10).standard_normal(N)
    base = Logistic(X, y01, backend="numpy").value(w)
    for y in (2 * y01 - 1, y01 + 1, y01.astype(bool), np.where(y01 == 1, "yes", "no"),
              y01.astype(np.float32)):
        obj = Logistic(X, y, backend="numpy")
        assert obj.value(w) == pytest.approx(base, rel=1e-15)
    obj = Logistic(X, np.where(y01 == 1, "b", "a"), backend="numpy")
    assert list(obj.classes) == ["a", "b"]
    np.testing.assert_array_equal(obj.y, np.where(y01 == 1, 1.0, -1.0))


def test_predictor_methods_reuse_the_linear_predictor(backend, sparse, intercept):
    X, y = make_data(sparse=sparse)
    obj = Logistic(X, y, lam=0.1, fit_intercept=intercept, backend=backend)
    rng = np.random.default_rng(11)
    w, d = rng.standard_normal((2, obj.n_params))
    zw, zd = obj.linear_predictor(w), obj.linear_predictor(d)
    Xd = X.toarray() if sparse else X
    np.testing.assert_allclose(zw, Xd @ w[:N] + (w[N] if intercept else 0), rtol=1e-12)
    obj.reset_counters()
    for t in (0.0, 0.5, 2.0):  # a line search along d: no pass over X per trial
        assert obj.loss_from_predictor(zw + t * zd, w + t * d) == pytest.approx(
            obj.value(w + t * d), rel=1e-12)
    assert obj.n_passes == 3  # the three value() calls only
    np.testing.assert_allclose(obj.grad_from_predictor(zw, w), obj.grad(w), rtol=1e-11,
                               atol=1e-14)
    f, g, dw = obj.grad_hess_weights(w)
    assert f == pytest.approx(obj.value(w), rel=1e-13)
    np.testing.assert_allclose(g, obj.grad(w), rtol=1e-12, atol=1e-15)
    assert dw.shape == (M,) and np.all(dw >= 0)
    np.testing.assert_allclose(obj.weighted_hvp(dw, d), obj.hvp(w, d), rtol=1e-11,
                               atol=1e-14)


def test_hessian_pieces_for_second_order_solvers(backend, sparse, intercept):
    # weighted_gram, hessian_diagonal and dloss_from_predictor against dense math, and
    # their pass counts (one each; the CSR squares once more on the first diagonal).
    X, y = make_data(sparse=sparse)
    obj = Logistic(X, y, lam=0.1, fit_intercept=intercept, backend=backend)
    rng = np.random.default_rng(5)
    w, v = rng.standard_normal((2, obj.n_params)) * 0.3
    _, g, dw = obj.grad_hess_weights(w)
    Xd = X.toarray() if sparse else X
    H = dense_hessian(Xd, obj.y, w, 0.1, intercept)
    obj.reset_counters()
    np.testing.assert_allclose(obj.weighted_gram(dw), H, rtol=1e-12, atol=1e-15)
    assert (obj.n_passes, obj.nhev) == (1, 1)
    np.testing.assert_allclose(obj.hessian_diagonal(dw), np.diag(H), rtol=1e-12)
    assert obj.n_passes == 2 + int(sparse)
    z = obj.linear_predictor(w)
    u = obj.dloss_from_predictor(z)
    # grad f = X~^T u + lam w[:n]; the slope along v needs only u and X v.
    A = np.hstack([Xd, np.ones((M, 1))]) if intercept else Xd
    lam_w = np.concatenate([0.1 * w[:N], [0.0] * intercept])
    np.testing.assert_allclose(A.T @ u + lam_w, g, rtol=1e-11, atol=1e-15)
    out = np.empty(M)
    assert obj.dloss_from_predictor(z, out=out) is out
    np.testing.assert_array_equal(out, u)
    with pytest.raises(ValueError, match="d must have shape"):
        obj.weighted_gram(dw[:-1])


def test_batch_loss_grad(backend, sparse):
    X, y = make_data(sparse=sparse)
    obj = Logistic(X, y, lam=0.1, backend=backend)
    w = np.random.default_rng(12).standard_normal(N)
    f, g = obj.batch_loss_grad(w, np.arange(M))  # all rows: the full objective
    f_full, g_full = obj.loss_grad(w)
    assert f == pytest.approx(f_full, rel=1e-12)
    np.testing.assert_allclose(g, g_full, rtol=1e-11, atol=1e-14)
    rows = np.array([3, 7, 7, 20, 39])
    sub = Logistic(X[rows], y[rows], lam=0.1, backend="numpy")
    fb, gb = obj.batch_loss_grad(w, rows)
    fs, gs = sub.loss_grad(w)
    assert fb == pytest.approx(fs, rel=1e-12)
    np.testing.assert_allclose(gb, gs, rtol=1e-11, atol=1e-14)
    obj.reset_counters()
    obj.batch_loss_grad(w, rows)
    assert obj.n_passes == pytest.approx(5 / M)
    with pytest.raises(ValueError, match="rows"):
        obj.batch_loss_grad(w, [0, M])
    with pytest.raises(ValueError, match="rows"):
        obj.batch_loss_grad(w, [])


def test_counters():
    X, y = make_data()
    obj = Logistic(X, y, backend="numpy")
    w = np.zeros(N)
    obj.loss_grad(w)
    obj.value(w)
    obj.grad(w)
    obj.hvp(w, w)
    assert obj.counters == {"nfev": 2, "njev": 2, "nhev": 1, "n_passes": 4}
    obj.reset_counters()
    assert obj.counters == {"nfev": 0, "njev": 0, "nhev": 0, "n_passes": 0}


def test_no_warning_for_huge_predictor(backend):
    X, y = make_data()
    obj = Logistic(X * 1e150, y, lam=0.0, backend=backend)
    w = np.full(N, 1e150)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is fine
        f, g = obj.loss_grad(w)
    assert math.isfinite(f) and np.isfinite(g).all()
    assert f > 1e200  # misclassified rows cost |z|


def test_fast_path_lets_nonfinite_through():
    X, y = make_data()
    obj = Logistic(X, y, backend="numpy")
    out = np.empty(N)
    with np.errstate(all="ignore"):
        f = obj.loss_grad_into(np.full(N, np.nan), out)
    assert not math.isfinite(f)
    with pytest.raises(ValueError, match="x"):
        obj.value(np.full(N, np.nan))  # the public method validates


def test_work_buffer_is_sized_by_the_data_not_the_threads():
    import fastopt as fo
    from fastopt._config import data_work, n_chunks

    X, y = make_data()
    obj = Logistic(X, y, lam=0.1, backend="numba")
    T = n_chunks(data_work(obj.X), N)
    assert obj.work.shape == (T, N)
    w = np.random.default_rng(13).standard_normal(N)
    f = obj.value(w)
    threads = fo.get_num_threads()
    try:
        fo.set_num_threads(1)
        assert obj.value(w) == f  # the same chunks, added in the same order: same bits
        assert obj.work.shape == (T, N)
    finally:
        fo.set_num_threads(threads)
    assert obj.value(w) == f
    assert obj.work.shape == (T, N)
