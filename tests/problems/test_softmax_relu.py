"""SoftmaxReLU: kernels against their NumPy twins, derivatives against finite
differences, and the approximate Newton method's local convergence."""

import numpy as np
import pytest

import fastopt as fo
from fastopt.kernels import numba as nb
from fastopt.kernels import reference as ref


def _instance(seed=0, n=30, d=5, w=1.0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    b = rng.random(n)
    b /= 2.0 * np.linalg.norm(b)
    x = 0.3 * rng.standard_normal(d)
    return A, b, np.full(n, w), x, rng


def test_numba_kernels_match_reference():
    A, b, w, x, rng = _instance()
    d = A.shape[1]
    v = rng.standard_normal(d)
    g1, g2 = np.empty(d), np.empty(d)
    assert nb.softmax_relu_loss_grad(A, b, w, x, g1) == pytest.approx(
        ref.softmax_relu_loss_grad(A, b, w, x, g2), rel=1e-13)
    np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-14)
    assert nb.softmax_relu_loss(A, b, w, x) == pytest.approx(
        ref.softmax_relu_loss(A, b, w, x), rel=1e-13)
    H1, H2 = np.empty((d, d)), np.empty((d, d))
    nb.softmax_relu_hessian(A, b, w, x, H1)
    ref.softmax_relu_hessian(A, b, w, x, H2)
    np.testing.assert_allclose(H1, H2, rtol=1e-12, atol=1e-13)
    h1, h2 = np.empty(A.shape[0]), np.empty(A.shape[0])
    P1, P2 = np.empty((A.shape[0], 2)), np.empty((A.shape[0], 2))
    assert nb.softmax_relu_hess_factors(A, b, w, x, h1, P1) == pytest.approx(
        ref.softmax_relu_hess_factors(A, b, w, x, h2, P2), rel=1e-13)
    np.testing.assert_allclose(h1, h2, rtol=1e-13)
    np.testing.assert_allclose(P1, P2, rtol=1e-13)
    o1, o2 = np.empty(d), np.empty(d)
    nb.softmax_relu_hvp(A, b, w, x, v, o1)
    ref.softmax_relu_hvp(A, b, w, x, v, o2)
    np.testing.assert_allclose(o1, o2, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_derivatives_against_finite_differences(backend):
    A, b, w, x, rng = _instance(1)
    obj = fo.problems.SoftmaxReLU(A, b, w, backend=backend)
    d = x.size
    step = 1e-6
    E = np.eye(d)
    # The sign pattern of A x must not change within the stencil.
    assert np.min(np.abs(A @ x)) > 10 * step * np.abs(A).sum(axis=1).max()
    fd_grad = np.array([(obj.value(x + step * e) - obj.value(x - step * e)) / (2 * step)
                        for e in E])
    np.testing.assert_allclose(obj.grad(x), fd_grad, rtol=1e-6, atol=1e-9)
    fd_hess = np.array([(obj.grad(x + step * e) - obj.grad(x - step * e)) / (2 * step)
                        for e in E])
    H = obj.hessian(x)
    np.testing.assert_allclose(H, fd_hess, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(H, H.T, atol=1e-14)
    v = rng.standard_normal(d)
    np.testing.assert_allclose(obj.hvp(x, v), H @ v, rtol=1e-11, atol=1e-13)
    h, U, C = obj.hessian_factors(x)
    np.testing.assert_allclose(A.T @ (h[:, None] * A) + U @ C @ U.T, H, atol=1e-12)


def test_loss_matches_definition():
    A, b, w, x, _ = _instance(2)
    u = np.maximum(A @ x, 0.0)
    f = np.exp(u) / np.exp(u).sum()
    expected = 0.5 * np.sum((f - b) ** 2) + 0.5 * np.sum((w * (A @ x)) ** 2)
    assert fo.problems.SoftmaxReLU(A, b, w).value(x) == pytest.approx(expected, rel=1e-14)


def test_validation():
    A, b, w, _, _ = _instance()
    with pytest.raises(ValueError, match="b"):
        fo.problems.SoftmaxReLU(A, b[:-1], w)
    with pytest.raises(ValueError, match="A"):
        fo.problems.SoftmaxReLU(A[0], b, w)
    bad = A.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="A"):
        fo.problems.SoftmaxReLU(bad, b, w)


def test_approximate_newton_local_convergence():
    # A well-conditioned instance: w_i^2 = 0.04 dominates ||B|| (so hess L >= l I with
    # l > 0) and the minimizer sits away from every kink of the ReLU.
    rng = np.random.default_rng(13)
    n, d = 60, 4
    A = rng.standard_normal((n, d))
    b = np.zeros(n)
    b[:3] = [0.6, 0.3, 0.2]
    w = np.full(n, 0.2)
    obj = fo.problems.SoftmaxReLU(A, b, w)
    exact = fo.minimize(obj, 0.01 * rng.standard_normal(d), method="newton", tol=1e-14)
    assert exact.success
    x_star = exact.x
    margin = np.min(np.abs(A @ x_star))
    lam_min = np.linalg.eigvalsh(obj.hessian(x_star))[0]
    assert lam_min > 0.5 and margin > 1e-4
    # Start inside the ball where the sign pattern of A x is that of x*: L is smooth
    # there and the (l, M)-good start condition holds.
    radius = 0.5 * margin / np.linalg.norm(A, axis=1).max()
    direction = rng.standard_normal(d)
    x0 = x_star + radius * direction / np.linalg.norm(direction)
    errors = {}
    for s in (20, 60):  # 60 = every row (a larger sketch is clipped to it)
        res = fo.minimize(obj, x0, method="sketch-newton", sketch_size=s, seed=0,
                          tol=1e-13, max_iter=100)
        assert res.success, res.message
        np.testing.assert_allclose(res.x, x_star, atol=1e-11)
        g = res.history.grad_norm
        errors[s] = float(np.exp(np.mean(np.log(g[1:] / g[:-1]))))
    assert errors[60] < errors[20] < 0.5  # linear, and faster with more rows
