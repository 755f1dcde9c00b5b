"""Function: user callables, finite-difference fallbacks, memoization and counters."""

import numpy as np
import pytest

from fastopt.problems import Function

A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
B = np.array([1.0, -2.0, 0.5])


def quad(x):
    return 0.5 * x @ A @ x - B @ x + np.sum(np.sin(x))


def quad_grad(x):
    return A @ x - B + np.cos(x)


def quad_hess(x):
    return A - np.diag(np.sin(x))


X = np.array([0.3, -1.2, 2.0])
V = np.array([1.0, 0.5, -2.0])


def test_given_derivatives_are_used():
    f = Function(quad, quad_grad, hvp=lambda x, v: quad_hess(x) @ v, hess=quad_hess)
    assert f.value(X) == pytest.approx(quad(X))
    np.testing.assert_allclose(f.grad(X), quad_grad(X))
    np.testing.assert_allclose(f.hvp(X, V), quad_hess(X) @ V)
    np.testing.assert_allclose(f.hessian(X), quad_hess(X))
    assert (f.nfev, f.njev, f.nhev) == (1, 1, 2)


def test_finite_difference_gradient_costs_2p_calls():
    f = Function(quad)
    g = f.grad(X)
    np.testing.assert_allclose(g, quad_grad(X), rtol=1e-8, atol=1e-9)
    assert f.nfev == 2 * X.size and f.njev == 1
    value, g2 = f.loss_grad(X)
    assert value == pytest.approx(quad(X)) and f.nfev == 4 * X.size + 1
    np.testing.assert_array_equal(g, g2)


def test_hvp_and_hessian_fall_back_to_differences():
    f = Function(quad, quad_grad)
    np.testing.assert_allclose(f.hvp(X, V), quad_hess(X) @ V, rtol=1e-7, atol=1e-8)
    assert f.njev == 2  # central differences of the gradient
    H = f.hessian(X)
    np.testing.assert_allclose(H, quad_hess(X), rtol=1e-7, atol=1e-8)
    np.testing.assert_array_equal(H, H.T)
    np.testing.assert_array_equal(f.hvp(X, np.zeros(3)), np.zeros(3))
    # a Hessian callable gives the products exactly
    g = Function(quad, quad_grad, hess=quad_hess)
    np.testing.assert_allclose(g.hvp(X, V), quad_hess(X) @ V, rtol=1e-15)


def test_fun_returning_value_and_grad_is_memoized():
    calls = []

    def fun(x):
        calls.append(x.copy())
        return quad(x), quad_grad(x)

    f = Function(fun, grad=True)
    value = f.value(X)
    g = f.grad(X)
    assert len(calls) == 1 and (f.nfev, f.njev) == (1, 1)
    assert value == pytest.approx(quad(X))
    np.testing.assert_allclose(g, quad_grad(X))
    g[:] = 0  # the caller owns the returned array; the memo is untouched
    np.testing.assert_allclose(f.grad(X), quad_grad(X))
    f.loss_grad(X + 1)
    assert len(calls) == 2
    jac = Function(fun, jac=True)
    np.testing.assert_allclose(jac.grad(X), quad_grad(X))


def test_args_and_inferred_n_params():
    f = Function(lambda x, c: c * x @ x, grad=lambda x, c: 2 * c * x, args=(3.0,))
    assert f.n_params is None
    assert f.value([1.0, 2.0]) == 15.0
    assert f.n_params == 2
    with pytest.raises(ValueError, match="x"):
        f.value([1.0, 2.0, 3.0])
    assert Function(quad, n_params=3).n_params == 3


def test_user_function_cannot_disturb_the_point():
    def fun(x):
        value = quad(x)
        x[:] = 1e9  # a badly behaved callable
        return value

    f = Function(fun)
    x = X.copy()
    f.value(x)
    f.grad(x)
    np.testing.assert_array_equal(x, X)


def test_constants_given_or_unknown():
    f = Function(quad, lipschitz=4.5, strong_convexity=0.1)
    assert f.lipschitz() == 4.5 and f.strong_convexity() == 0.1
    g = Function(quad)
    with pytest.raises(NotImplementedError, match="lipschitz"):
        g.lipschitz()
    with pytest.raises(NotImplementedError, match="strong_convexity"):
        g.strong_convexity()


@pytest.mark.parametrize("kwargs, exc, name", [
    (dict(fun=3), TypeError, "fun"),
    (dict(fun=quad, grad="yes"), TypeError, "grad"),
    (dict(fun=quad, grad=quad_grad, jac=quad_grad), ValueError, "jac"),
    (dict(fun=quad, hvp=1), TypeError, "hvp"),
    (dict(fun=quad, lipschitz=-1.0), ValueError, "lipschitz"),
    (dict(fun=quad, lipschitz=0.0), ValueError, "lipschitz"),
    (dict(fun=quad, strong_convexity=np.nan), ValueError, "strong_convexity"),
    (dict(fun=quad, n_params=0), ValueError, "n_params"),
])
def test_construction_errors(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        Function(**kwargs)


def test_bad_returns_are_reported():
    with pytest.raises(ValueError, match="grad"):
        Function(quad, grad=lambda x: np.ones(2)).grad(X)
    with pytest.raises(ValueError, match="fun"):
        Function(lambda x: x).value(X)
    with pytest.raises(ValueError, match="fun"):
        Function(lambda x: 1.0, grad=True).value(X)


def test_nonfinite_values_are_returned_not_refused():
    f = Function(lambda x: np.inf, grad=lambda x: np.full(3, np.nan))
    out = np.empty(3)
    assert f.loss_grad_into(X, out) == np.inf
    assert np.isnan(out).all()
