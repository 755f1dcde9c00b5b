"""SoftmaxReLU has no L and no mu: the reasons hold on random problems, both methods say
so, and the solvers and studies that want L refuse clearly or fall back."""

import numpy as np
import pytest

import fastopt as fo
from fastopt.experiments import momentum_sweep
from fastopt.problems import SoftmaxReLU


def _problem(seed=0, n=6, d=3, weight=0.05):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    b = rng.random(n)
    b /= 2.0 * np.linalg.norm(b)
    return SoftmaxReLU(A, b, np.full(n, weight), backend="numpy")


def _inner_gradient(obj, x):
    """g = f o c - <f, c> f, the gradient of 1/2 ||c||^2 in u = ReLU(A x)."""
    u = np.maximum(obj.A @ x, 0.0)
    f = np.exp(u - u.max())
    f /= f.sum()
    c = f - obj.b
    return f * c - (f @ c) * f


@pytest.mark.parametrize("seed", range(5))
def test_the_gradient_jumps_where_a_relu_switches(seed):
    obj = _problem(seed)
    a = obj.A[0]
    # A point of the hyperplane a_0^T x = 0 where every other row is away from its own.
    rng = np.random.default_rng(seed + 100)
    x = rng.standard_normal(3)
    x -= (a @ x) / (a @ a) * a
    assert np.min(np.abs(obj.A[1:] @ x)) > 1e-3
    g0 = _inner_gradient(obj, x)[0]
    assert abs(g0) > 1e-4  # the jump is not zero on a random problem
    normal = a / np.linalg.norm(a)
    ratios = []
    for eps in (1e-4, 1e-6, 1e-8):
        jump = obj.grad(x + eps * normal) - obj.grad(x - eps * normal)
        # The closed form: g_0 a_0 (the ReLU's derivative steps from 0 to 1), plus the
        # smooth change O(eps).
        np.testing.assert_allclose(jump, g0 * a, atol=100 * eps * (1 + np.abs(a).max()))
        ratios.append(np.linalg.norm(jump) / (2 * eps))
    # ||grad(x) - grad(y)|| / ||x - y|| grows like 1/eps: no finite L.
    assert ratios[-1] > 1e3 * ratios[0] / 2


def test_the_loss_is_not_convex():
    # Small weights: the Hessian of the piece (finite differences of the gradient) is
    # indefinite at some random points, so no mu >= 0 holds everywhere.
    obj = _problem(3, weight=0.01)
    rng = np.random.default_rng(0)
    h = 1e-6
    smallest = []
    for _ in range(30):
        x = 2.0 * rng.standard_normal(3)
        H = np.column_stack([(obj.grad(x + h * e) - obj.grad(x - h * e)) / (2 * h)
                             for e in np.eye(3)])
        smallest.append(np.linalg.eigvalsh((H + H.T) / 2)[0])
    assert min(smallest) < -1e-3


def test_the_loss_is_flat_along_the_null_space_of_a():
    obj = _problem(1, n=2, d=4)
    null = np.linalg.svd(obj.A)[2][-1]  # A null = 0 when n < d
    x = np.random.default_rng(1).standard_normal(4)
    assert obj.value(x + 3.0 * null) == pytest.approx(obj.value(x), rel=1e-12)


def test_both_constants_raise_and_say_why():
    obj = _problem()
    with pytest.raises(NotImplementedError, match="gradient jumps.*lr"):
        obj.lipschitz()
    with pytest.raises(NotImplementedError, match="not convex"):
        obj.strong_convexity()


def test_the_estimates_at_a_point_are_the_pieces_eigenvalues():
    obj = _problem(2, weight=0.01)
    x = np.random.default_rng(2).standard_normal(3)
    eig = np.linalg.eigvalsh(obj.hessian(x))
    assert fo.theory.lipschitz_estimate(obj, x) == pytest.approx(eig[-1], rel=1e-8)
    assert fo.theory.strong_convexity_estimate(obj, x) == pytest.approx(eig[0], rel=1e-8,
                                                                        abs=1e-10)


@pytest.mark.parametrize("method", ["nesterov", "heavy-ball"])
def test_momentum_methods_ask_for_a_step_size(method):
    obj = _problem()
    with pytest.raises(ValueError, match=f"{method}.*needs lr"):
        fo.minimize(obj, np.ones(3), method=method, max_iter=5)
    res = fo.minimize(obj, np.ones(3), method=method, lr=0.1, momentum=0.5, max_iter=5)
    assert res.nit == 5


def test_gd_falls_back_to_a_line_search():
    obj = _problem()
    x0 = np.ones(3)
    res = fo.minimize(obj, x0, method="gd", max_iter=20)
    assert np.isfinite(res.fun) and res.fun < obj.value(x0)


def test_the_momentum_study_needs_a_step_size():
    obj = _problem()
    with pytest.raises(NotImplementedError, match="no Lipschitz constant"):
        momentum_sweep(obj, [0.5], max_iter=5)
    out = momentum_sweep(obj, [0.5], lr=0.1, max_iter=5)
    assert out["lr"] == 0.1
