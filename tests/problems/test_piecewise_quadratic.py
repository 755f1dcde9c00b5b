"""PiecewiseQuadratic: the pieces, C^1 joins, exact derivatives and mu = 1, L = 25."""

import numpy as np
import pytest

from fastopt.problems import PiecewiseQuadratic


@pytest.fixture
def f():
    return PiecewiseQuadratic()


@pytest.mark.parametrize("x, expected", [(-2.0, 50.0), (0.5, 3.125), (1.0, 12.5),
                                         (1.5, 1.125 + 36 - 12), (2.0, 38.0),
                                         (3.0, 112.5 - 72 + 36)])
def test_values_on_each_piece(f, x, expected):
    assert f.value(np.array([x])) == pytest.approx(expected, rel=1e-15)


def test_minimizer_and_constants(f):
    assert f.n_params == 1
    assert f.value(f.minimizer) == f.optimal_value == 0.0
    np.testing.assert_array_equal(f.grad(f.minimizer), [0.0])
    assert f.lipschitz() == 25.0 and f.strong_convexity() == 1.0


@pytest.mark.parametrize("x0", [1.0, 2.0])
def test_continuously_differentiable_at_the_breakpoints(f, x0):
    eps = 1e-9
    left, right = f.value_many(x0 - eps), f.value_many(x0)
    assert right - left == pytest.approx(f.grad_many(x0) * eps, rel=1e-4)
    assert f.grad_many(x0 - eps) == pytest.approx(f.grad_many(x0), rel=1e-8)


def test_derivatives_match_finite_differences(f):
    h = 1e-6
    for x in (-1.3, 0.2, 0.9, 1.4, 1.99, 2.7, 10.0):
        p = np.array([x])
        fd = (f.value(p + h) - f.value(p - h)) / (2 * h)
        assert f.grad(p)[0] == pytest.approx(fd, rel=1e-7)
        fd2 = (f.grad(p + h)[0] - f.grad(p - h)[0]) / (2 * h)
        assert f.hvp(p, [2.0])[0] == pytest.approx(2 * fd2, rel=1e-7)
        assert f.hessian(p)[0, 0] == pytest.approx(fd2, rel=1e-7)
        value, grad = f.loss_grad(p)
        assert value == f.value(p) and grad[0] == f.grad(p)[0]


def test_vectorized_matches_pointwise(f):
    xs = np.linspace(-3, 4, 70).reshape(7, 10)
    values = f.value_many(xs)
    assert values.shape == (7, 10)
    expected = np.array([f.value([x]) for x in xs.ravel()]).reshape(7, 10)
    np.testing.assert_array_equal(values, expected)
    np.testing.assert_array_equal(f.grad_many(xs).ravel(),
                                  [f.grad([x])[0] for x in xs.ravel()])


def test_strongly_convex_with_lipschitz_gradient(f):
    """Every secant slope of f' lies in [mu, L] = [1, 25]."""
    xs = np.linspace(-3, 5, 401)
    g = f.grad_many(xs)
    slopes = np.diff(g) / np.diff(xs)
    assert slopes.min() >= 1.0 - 1e-9 and slopes.max() <= 25.0 + 1e-9
    assert slopes.min() == pytest.approx(1.0) and slopes.max() == pytest.approx(25.0)


def test_counters_and_shape_check(f):
    f.value([0.5])
    f.loss_grad([0.5])
    f.hvp([0.5], [1.0])
    assert (f.nfev, f.njev, f.nhev, f.n_passes) == (2, 1, 1, 0)
    with pytest.raises(ValueError, match="x"):
        f.value([1.0, 2.0])
