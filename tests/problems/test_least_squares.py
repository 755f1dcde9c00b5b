"""LeastSquares: values, derivatives and exact constants against dense linear algebra."""

import numpy as np
import pytest
import scipy.sparse as sp

from fastopt.problems import LeastSquares

M, N = 30, 4


def make_data(seed=0, sparse=False, m=M, n=N):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    X[rng.random((m, n)) < 0.3] = 0.0
    y = rng.standard_normal(m)
    return (sp.csr_matrix(X) if sparse else X), y


def augmented(X, intercept):
    Xd = X.toarray() if sp.issparse(X) else X
    return np.hstack([Xd, np.ones((Xd.shape[0], 1))]) if intercept else Xd


def dense_hessian(X, lam, intercept, sw=None):
    A = augmented(X, intercept)
    sw = np.full(A.shape[0], 1 / A.shape[0]) if sw is None else sw
    H = A.T @ (A * sw[:, None])
    n = X.shape[1]
    H[np.arange(n), np.arange(n)] += lam
    return H


@pytest.fixture(params=[False, True], ids=["dense", "csr"])
def sparse(request):
    return request.param


@pytest.fixture(params=[False, True], ids=["no-intercept", "intercept"])
def intercept(request):
    return request.param


def test_value_grad_hessian_match_formulas(backend, sparse, intercept):
    X, y = make_data(sparse=sparse)
    lam = 0.3
    obj = LeastSquares(X, y, lam=lam, fit_intercept=intercept, backend=backend)
    assert obj.value(np.zeros(obj.n_params)) == pytest.approx(y @ y / (2 * M), rel=1e-14)
    rng = np.random.default_rng(1)
    w, v = rng.standard_normal((2, obj.n_params))
    A = augmented(X, intercept)
    r = A @ w - y
    expected_f = r @ r / (2 * M) + lam / 2 * w[:N] @ w[:N]
    expected_g = A.T @ r / M
    expected_g[:N] += lam * w[:N]
    H = dense_hessian(X, lam, intercept)
    f, g = obj.loss_grad(w)
    assert f == pytest.approx(expected_f, rel=1e-12)
    np.testing.assert_allclose(g, expected_g, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(obj.hvp(w, v), H @ v, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(obj.hessian(w), H, rtol=1e-12, atol=1e-14)


def test_grad_and_hvp_match_finite_differences(backend, sparse):
    X, y = make_data(sparse=sparse)
    obj = LeastSquares(X, y, lam=0.1, fit_intercept=True, backend=backend)
    rng = np.random.default_rng(2)
    w, v = rng.standard_normal((2, obj.n_params))
    h = 1e-6
    g_fd = np.array([(obj.value(w + h * e) - obj.value(w - h * e)) / (2 * h)
                     for e in np.eye(obj.n_params)])
    np.testing.assert_allclose(obj.grad(w), g_fd, rtol=1e-6, atol=1e-8)
    hv_fd = (obj.grad(w + h * v) - obj.grad(w - h * v)) / (2 * h)
    np.testing.assert_allclose(obj.hvp(w, v), hv_fd, rtol=1e-6, atol=1e-8)
    H = obj.hessian(w)
    np.testing.assert_allclose(H, H.T, rtol=1e-13, atol=1e-15)


def test_backends_agree_with_numpy_reference(backend, sparse, intercept):
    X, y = make_data(sparse=sparse)
    kwargs = dict(lam=0.1, fit_intercept=intercept, sample_weight=np.arange(M) % 3)
    obj = LeastSquares(X, y, backend=backend, **kwargs)
    ref = LeastSquares(X, y, backend="numpy", **kwargs)
    w, v = np.random.default_rng(3).standard_normal((2, obj.n_params))
    assert obj.value(w) == pytest.approx(ref.value(w), rel=1e-12)
    np.testing.assert_allclose(obj.grad(w), ref.grad(w), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(obj.hvp(w, v), ref.hvp(w, v), rtol=1e-10, atol=1e-14)


def test_constants_are_the_exact_extreme_eigenvalues(backend, sparse, intercept):
    X, y = make_data(sparse=sparse)
    obj = LeastSquares(X, y, lam=0.05, fit_intercept=intercept, backend=backend)
    eig = np.linalg.eigvalsh(dense_hessian(X, 0.05, intercept))
    assert obj.lipschitz() == pytest.approx(eig[-1], rel=1e-10)
    assert obj.strong_convexity() == pytest.approx(eig[0], rel=1e-9)
    rng = np.random.default_rng(4)
    w = rng.standard_normal(obj.n_params)
    quotients = [v @ obj.hvp(w, v) / (v @ v) for v in rng.standard_normal((30, obj.n_params))]
    assert obj.strong_convexity() * (1 - 1e-9) <= min(quotients)
    assert max(quotients) <= obj.lipschitz() * (1 + 1e-9)


def test_singular_hessian_has_zero_strong_convexity():
    X, y = make_data(m=3, n=6)  # m < n, lam = 0: X^T X / m is singular
    obj = LeastSquares(X, y, backend="numpy")
    assert obj.strong_convexity() == 0.0
    assert obj.lipschitz() == pytest.approx(np.linalg.eigvalsh(X.T @ X / 3)[-1], rel=1e-10)


def test_power_iteration_for_large_p(monkeypatch, backend):
    """Above the dense-eigenvalue limit, L comes from power iteration and mu = lam."""
    from fastopt.problems import least_squares

    monkeypatch.setattr(least_squares, "DENSE_EIG_MAX_PARAMS", 2)
    X, y = make_data()
    obj = LeastSquares(X, y, lam=0.2, backend=backend)
    eig = np.linalg.eigvalsh(dense_hessian(X, 0.2, False))
    assert obj.lipschitz() == pytest.approx(eig[-1], rel=1e-7)
    assert obj.strong_convexity() == 0.2


def test_dense_csr_and_float32_agree(backend, dtype):
    X, y = make_data()
    dense = LeastSquares(X, y, lam=0.1, backend=backend, dtype=dtype)
    csr = LeastSquares(sp.csr_matrix(X), y, lam=0.1, backend=backend, dtype=dtype)
    assert dense.X.dtype == dtype and csr.X.dtype == dtype
    w = np.random.default_rng(5).standard_normal(N)
    f1, g1 = dense.loss_grad(w)
    f2, g2 = csr.loss_grad(w)
    assert f1 == pytest.approx(f2, rel=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-11, atol=1e-14)
    exact = LeastSquares(X, y, lam=0.1, backend="numpy")
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert f1 == pytest.approx(exact.value(w), rel=rtol)


def test_predictor_methods_and_batches(backend):
    X, y = make_data()
    obj = LeastSquares(X, y, lam=0.1, fit_intercept=True, backend=backend)
    rng = np.random.default_rng(6)
    w, d = rng.standard_normal((2, obj.n_params))
    zw, zd = obj.linear_predictor(w), obj.linear_predictor(d)
    assert obj.loss_from_predictor(zw + 0.3 * zd, w + 0.3 * d) == pytest.approx(
        obj.value(w + 0.3 * d), rel=1e-12)
    np.testing.assert_allclose(obj.grad_from_predictor(zw, w), obj.grad(w), rtol=1e-11)
    f, g, dw = obj.grad_hess_weights(w)
    np.testing.assert_allclose(dw, np.full(M, 1 / M))  # least squares: d = sw
    np.testing.assert_allclose(obj.weighted_hvp(dw, d), obj.hvp(w, d), rtol=1e-11)
    rows = np.array([0, 5, 5, 29])
    fb, gb = obj.batch_loss_grad(w, rows)
    sub = LeastSquares(X[rows], y[rows], lam=0.1, fit_intercept=True, backend="numpy")
    fs, gs = sub.loss_grad(w)
    assert fb == pytest.approx(fs, rel=1e-12)
    np.testing.assert_allclose(gb, gs, rtol=1e-11, atol=1e-14)
