"""fo.minimize: the scipy contract, options, callbacks, validation, robustness, history."""

import warnings

import numpy as np
import pytest

import fastopt as fo
from fastopt._result import Status


def quad(x):
    return 0.5 * float(x @ (np.arange(1, x.size + 1) * x))


def quad_grad(x):
    return np.arange(1, x.size + 1) * x


def test_scipy_contract_with_callables():
    res = fo.minimize(quad, np.ones(4), jac=quad_grad, method="gd", lr=0.2, tol=1e-9,
                      max_iter=500)
    for key in ("x", "fun", "jac", "nit", "nfev", "njev", "status", "success", "message"):
        assert key in res
    assert res.success and res.status == Status.GTOL
    assert np.linalg.norm(res.jac) <= 1e-9
    assert res.njev == res.nit + 1  # one gradient per iteration plus the start
    both = fo.minimize(lambda x: (quad(x), quad_grad(x)), np.ones(4), jac=True, method="gd",
                       options={"lr": 0.2, "tol": 1e-9, "max_iter": 500})
    np.testing.assert_allclose(both.x, res.x)


def test_history_records_every_k_iterations():
    res = fo.minimize(quad, np.ones(3), jac=quad_grad, method="gd", lr=0.1, tol=0.0,
                      max_iter=50, history_every=5)
    h = res.history
    np.testing.assert_array_equal(h.iteration, np.arange(0, 51, 5))
    assert np.all(np.diff(h.fun) < 0) and np.all(np.diff(h.time) >= 0)
    np.testing.assert_allclose(h.step_size[1:], 0.1)
    assert np.isnan(h.step_norm[0]) and np.all(h.step_norm[1:] > 0)
    assert res.nit == 50 and res.status == Status.MAX_ITER and not res.success


def test_unknown_options_are_named():
    with pytest.raises(ValueError, match="learning_rate"):
        fo.minimize(quad, np.ones(2), jac=quad_grad, method="gd", learning_rate=0.1)
    with pytest.raises(ValueError, match="beta1"):
        fo.minimize(quad, np.ones(2), jac=quad_grad, method="gd", options={"beta1": 0.9})
    with pytest.raises(ValueError, match="unknown method"):
        fo.minimize(quad, np.ones(2), jac=quad_grad, method="gradient-descent")


@pytest.mark.parametrize("method,opts,name", [
    ("gd", {"lr": -1.0}, "lr"),
    ("heavy-ball", {"lr": 0.1, "momentum": 1.0}, "momentum"),
    ("nesterov", {"lr": 0.1, "momentum": -0.1}, "momentum"),
    ("adagrad", {"eps": 0.0}, "eps"),
    ("rmsprop", {"rho": 1.5}, "rho"),
    ("adam", {"beta1": 1.0}, "beta1"),
    ("adamw", {"weight_decay": -1.0}, "weight_decay"),
    ("sam", {"rho": 0.0, "lr": 0.1}, "rho"),
    ("gd", {"lr": 0.1, "tol": -1.0}, "tol"),
    ("gd", {"lr": 0.1, "max_iter": -1}, "max_iter"),
    ("gd", {"lr": 0.1, "max_time": float("nan")}, "max_time"),
])
def test_invalid_hyperparameters_name_the_parameter(method, opts, name):
    with pytest.raises(ValueError, match=name):
        fo.minimize(quad, np.ones(2), jac=quad_grad, method=method, **opts)


@pytest.mark.parametrize("opts,name", [({"max_iter": 1.5}, "max_iter"), ({"seed": 1.0}, "seed"),
                                       ({"tol": "1e-6"}, "tol")])
def test_options_of_the_wrong_type_name_the_parameter(opts, name):
    with pytest.raises(TypeError, match=name):
        fo.minimize(quad, np.ones(2), jac=quad_grad, method="gd", lr=0.1, **opts)


def test_x0_validation():
    with pytest.raises(ValueError, match="NaN"):
        fo.minimize(quad, np.array([1.0, np.nan]), jac=quad_grad, lr=0.1)
    with pytest.raises(ValueError, match="shape"):
        fo.minimize(quad, np.ones((2, 2)), jac=quad_grad, lr=0.1)
    obj = fo.problems.PiecewiseQuadratic()
    with pytest.raises(ValueError, match="shape"):
        fo.minimize(obj, np.ones(3), method="gd")
    x0 = np.ones(2)
    fo.minimize(quad, x0, jac=quad_grad, lr=0.1, max_iter=3)
    np.testing.assert_array_equal(x0, 1.0)  # never modified


def test_callback_receives_intermediate_result_and_can_stop():
    seen = []

    def callback(intermediate_result):
        seen.append(intermediate_result.nit)
        return intermediate_result.nit >= 4

    res = fo.minimize(quad, np.ones(3), jac=quad_grad, method="nesterov", lr=0.1,
                      momentum=0.5, tol=0.0, max_iter=100, callback=callback)
    assert res.status == Status.CALLBACK and res.nit == 4 and seen == [0, 1, 2, 3, 4]

    def legacy(xk):
        raise StopIteration

    res = fo.minimize(quad, np.ones(3), jac=quad_grad, method="adam", callback=legacy)
    assert res.status == Status.CALLBACK and res.nit == 0


@pytest.mark.parametrize("loop", ["python", "compiled"])
def test_divergence_returns_best_finite_iterate(loop):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 5))
    obj = fo.problems.LeastSquares(X, X @ np.ones(5), lam=0.0)
    L = obj.lipschitz()
    res = fo.minimize(obj, np.zeros(5), method="gd", lr=3.0 / L, max_iter=10_000, loop=loop)
    assert res.status == Status.DIVERGED and not res.success
    assert np.all(np.isfinite(res.x)) and np.isfinite(res.fun)
    assert res.fun == pytest.approx(obj.value(res.x), rel=1e-12)
    assert res.fun <= res.history.fun[0]
    assert res.nit < 10_000


def test_nan_objective_diverges():
    def f(x):
        return float("nan") if x[0] < 0.5 else float(x @ x)

    res = fo.minimize(f, np.ones(2), jac=lambda x: 2 * x, method="gd", lr=0.4, max_iter=50)
    assert res.status == Status.DIVERGED
    # x0 = 1 -> 1 - 0.4 * 2 = 0.2, where f is NaN: the best finite iterate is x0.
    np.testing.assert_allclose(res.x, [1.0, 1.0])
    assert res.fun == 2.0 and res.nit == 1


def test_xtol_and_ftol():
    res = fo.minimize(quad, np.ones(3), jac=quad_grad, method="gd", lr=0.1, tol=0.0,
                      xtol=1e-4, max_iter=10_000)
    assert res.status == Status.XTOL and res.history.step_norm[-1] <= 1e-4
    res = fo.minimize(quad, np.ones(3), jac=quad_grad, method="gd", lr=0.1, tol=0.0,
                      ftol=1e-10, max_iter=10_000)
    assert res.status == Status.FTOL


def test_counters_count_this_run_only():
    obj = fo.problems.PiecewiseQuadratic()
    obj.value(np.ones(1))
    res = fo.minimize(obj, np.array([3.0]), method="gd", max_iter=5, tol=0.0)
    assert res.nfev == 6 and res.njev == 6


@pytest.mark.parametrize("loop", ["python", "compiled"])
def test_xtol_zero_does_not_stop_on_a_zero_step(loop):
    # At x = 1e20 a step of lr * g = 1e-40 * 5e19 is lost to rounding: x_{k+1} == x_k
    # exactly. With the default xtol = 0 that is not convergence: the run hits max_iter.
    obj = fo.problems.LeastSquares(np.eye(2), np.zeros(2), backend="numba")
    res = fo.minimize(obj, np.full(2, 1e20), method="gd", lr=1e-40, max_iter=5, loop=loop)
    assert res.loop == loop
    assert np.all(res.history.step_norm[1:] == 0.0)  # the steps were zero
    assert res.status == Status.MAX_ITER and not res.success and res.nit == 5


@pytest.mark.parametrize("loop", ["python", "compiled"])
def test_divergence_at_the_start_returns_x0_without_warnings(loop):
    obj = fo.problems.LeastSquares(np.eye(3), np.ones(3), backend="numba")
    x0 = np.full(3, 1e200)  # finite, but ||grad f(x0)||^2 overflows
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fo.minimize(obj, x0, method="gd", lr=0.1, loop=loop)
    assert res.loop == loop
    assert res.status == Status.DIVERGED and res.nit == 0
    np.testing.assert_array_equal(res.x, x0)  # x0 itself, never uninitialized memory
    assert not np.isfinite(res.fun) and not np.isfinite(res.history.grad_norm[0])


def test_divergence_at_the_start_is_the_same_in_both_loops():
    obj = fo.problems.LeastSquares(np.eye(3), np.ones(3), backend="numba")
    a, b = (fo.minimize(obj, np.full(3, 1e200), method="gd", lr=0.1, loop=loop)
            for loop in ("python", "compiled"))
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal([a.fun, a.status, a.nit], [b.fun, b.status, b.nit])


def test_nan_gradient_with_finite_objective_diverges():
    def f(x):
        return float(np.sum(np.nan_to_num(x) ** 2))  # finite even at a NaN x

    def grad(x):
        return np.full_like(x, np.nan) if not x[0] >= 0.5 else 2 * x

    res = fo.minimize(f, np.ones(2), jac=grad, method="gd", lr=0.4, max_iter=50)
    # x1 = 0.2 has a NaN gradient: divergence, and the best iterate with a finite
    # gradient (x0) is returned.
    assert res.status == Status.DIVERGED and res.nit == 1
    np.testing.assert_array_equal(res.x, [1.0, 1.0])
    assert res.fun == 2.0 and np.all(np.isfinite(res.jac))


def test_batch_size_is_refused_by_second_order_methods():
    from fastopt.solvers import registry

    obj = fo.problems.LeastSquares(np.eye(3), np.ones(3), backend="numba")
    second = [n for n in registry.names() if registry.get(n).order == 2]
    assert {"newton", "lbfgs"} <= set(second)
    for method in second:
        with pytest.raises(ValueError, match=f"batch_size is not supported by method '{method}'"):
            fo.minimize(obj, np.zeros(3), method=method, batch_size=2)


# --- backend= applies to every method or is refused -------------------------------------

@pytest.mark.parametrize("method", ["newton", "newton-cg", "sketch-newton"])
def test_backend_refused_by_methods_without_kernels_of_their_own(method):
    rng = np.random.default_rng(0)
    obj = fo.problems.LeastSquares(rng.standard_normal((60, 3)), rng.standard_normal(60),
                                   lam=0.1, backend="cython")
    with pytest.raises(ValueError, match="has no effect on method"):
        fo.minimize(obj, np.zeros(3), method=method, backend="numpy")
    # the objective's own backend (or "auto") is what the method runs anyway
    res = fo.minimize(obj, np.zeros(3), method=method, backend="cython")
    assert res.success


@pytest.mark.parametrize("backend", ["numpy", "cython"])
def test_backend_chooses_the_lbfgs_recursion(backend, monkeypatch):
    from fastopt.kernels import get_backend
    from fastopt.solvers import lbfgs

    used = []
    real = lbfgs._direction_kernel

    def spy(objective, backend_arg="auto"):
        kernel = real(objective, backend_arg)
        used.append(kernel)
        return kernel

    monkeypatch.setattr(lbfgs, "_direction_kernel", spy)
    obj = fo.problems.LeastSquares(np.eye(3), np.ones(3), backend="cython")
    res = fo.minimize(obj, np.zeros(3), method="lbfgs", backend=backend)
    assert res.success
    assert used == [get_backend(backend).lbfgs_direction]
