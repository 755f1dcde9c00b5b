"""Newton's method: the published logistic optima, quadratic convergence, one step on
least squares, damping on a nonconvex function, and the line searches it uses."""

import numpy as np
import pytest

import fastopt as fo
from fastopt.solvers.line_search import ObjectiveLine, backtracking, strong_wolfe

from ._logistic_optima import DATASETS, fit, objective


@pytest.mark.parametrize("name", DATASETS)
def test_reaches_published_optimum(name):
    res, fstar = fit(name, "newton")
    assert res.success, res.message
    assert abs(res.fun - fstar) <= 1e-12
    # x is the final iterate: f(x) is the reported value.
    obj, _ = objective(name)
    assert obj.value(res.x) == pytest.approx(res.fun, abs=1e-14)
    # Honest pass counting: one pass per iteration for the gradient (which also tests
    # the unit step) and one for the Hessian; every unit step is accepted on these
    # problems, so no X d pass is ever needed.
    assert res.n_line_search == res.nit
    assert res.n_passes == 2 * res.nit + 1
    assert res.damping == 0.0 and res.n_damped == 0  # logistic + L2: H is PD
    assert set(res.timings) >= {"gradient", "hessian", "solve", "line_search"}


def test_quadratic_convergence_in_history():
    obj, _ = objective("a9a")
    res = fo.minimize(obj, np.zeros(obj.n_params), method="newton", tol=1e-12)
    assert res.success, res.message
    g = res.history.grad_norm
    # Final phase: ||g_{k+1}|| / ||g_k||^2 stays bounded (quadratic convergence) while
    # the linear ratio ||g_{k+1}|| / ||g_k|| collapses: each below the square of the one
    # before, up to the constant.
    tail = slice(-4, None)
    quad = g[1:][tail] / g[:-1][tail] ** 2
    lin = g[1:][tail] / g[:-1][tail]
    assert np.all(quad < 1e3), quad
    assert np.all(np.diff(lin) < 0), lin
    assert lin[-1] < 1e-4, lin
    assert np.all(res.history.step_size[-3:] == 1.0)  # unit steps near the optimum


def test_least_squares_one_step(rng):
    X = rng.standard_normal((200, 8))
    y = rng.standard_normal(200)
    obj = fo.problems.LeastSquares(X, y, lam=1e-3)
    res = fo.minimize(obj, np.zeros(8), method="newton", tol=1e-10)
    assert res.success and res.nit == 1
    exact = np.linalg.solve(X.T @ X / 200 + 1e-3 * np.eye(8), X.T @ y / 200)
    np.testing.assert_allclose(res.x, exact, rtol=1e-10, atol=1e-12)


def test_damping_reported_on_nonconvex_start():
    # f = x0^4/4 - x0^2/2 + x1^2/2: hess f(0.1, 1) has eigenvalue 3 x0^2 - 1 < 0.
    def fun(x):
        return 0.25 * x[0] ** 4 - 0.5 * x[0] ** 2 + 0.5 * x[1] ** 2

    def grad(x):
        return np.array([x[0] ** 3 - x[0], x[1]])

    def hess(x):
        return np.diag([3 * x[0] ** 2 - 1.0, 1.0])

    res = fo.minimize(fun, np.array([0.1, 1.0]), jac=grad, hess=hess, method="newton",
                      tol=1e-10)
    assert res.success, res.message
    assert res.n_damped >= 1 and res.damping > 0.0
    np.testing.assert_allclose(np.abs(res.x), [1.0, 0.0], atol=1e-8)


def _rosen(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def test_line_searches_meet_their_conditions():
    def grad(x):
        return np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2),
                         200 * (x[1] - x[0] ** 2)])

    obj = fo.problems.Function(_rosen, grad=grad, n_params=2)
    x = np.array([-1.2, 1.0])
    f0, g0 = obj.loss_grad(x)
    d = -g0
    slope0 = float(g0 @ d)
    ls = backtracking(ObjectiveLine(obj, x, d), f0, slope0)
    assert ls.success and obj.value(x + ls.step * d) <= f0 + 1e-4 * ls.step * slope0
    ls = strong_wolfe(ObjectiveLine(obj, x, d, fused=True), f0, slope0, t0=1.0)
    assert ls.success
    g = grad(x + ls.step * d)
    assert obj.value(x + ls.step * d) <= f0 + 1e-4 * ls.step * slope0
    assert abs(g @ d) <= 0.9 * abs(slope0)


def test_backtracking_after_a_rejected_unit_step(rng):
    # From a far start the unit step overshoots: the fused t = 1 trial is rejected, the
    # O(m) predictor search takes over, and the run still converges to the same point.
    X = rng.standard_normal((500, 8))
    y = np.where(X @ rng.standard_normal(8) + 0.5 * rng.standard_normal(500) > 0, 1.0, -1.0)
    obj = fo.problems.Logistic(X, y, lam=1e-3)
    ref = fo.minimize(obj, np.zeros(8), method="newton", tol=1e-10)
    for method in ("newton", "newton-cg"):
        res = fo.minimize(obj, np.full(8, -5.0), method=method, tol=1e-10)
        assert res.success, res.message
        assert res.fun == pytest.approx(ref.fun, abs=1e-12)
        assert res.n_line_search > res.nit  # some steps were shortened
        if method == "newton":
            # Per iteration: the gradient and Hessian passes, and at most a rejected unit
            # trial, X x and X d.
            assert 2 * res.nit + 1 <= res.n_passes <= 5 * res.nit + 1


def test_solver_blas_holds_one_thread_and_small_blas_is_free_inside():
    """A solve on a compiled linear model sets BLAS to one thread once; the per-iteration
    ``small_blas`` of the Cholesky solve then enters no threadpoolctl limit, and the
    library's setting is back after the solve."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from contextlib import nullcontext

    from fastopt import _blas_threads
    from fastopt.solvers import _blas

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5))
    obj = fo.problems.Logistic(X, np.sign(X[:, 0] + 0.1), lam=1e-2, backend="numba")
    before = [i["num_threads"] for i in threadpoolctl.threadpool_info()
              if i["user_api"] == "blas"]
    with _blas.solver_blas(obj):
        assert all(i["num_threads"] == 1 for i in threadpoolctl.threadpool_info()
                   if i["user_api"] == "blas")
        assert isinstance(_blas.small_blas(5), nullcontext)
    # (not small_blas itself: threadpoolctl applies a limit when it is created)
    assert _blas_threads.single_thread_depth() == 0
    assert [i["num_threads"] for i in threadpoolctl.threadpool_info()
            if i["user_api"] == "blas"] == before
    res = fo.minimize(obj, np.zeros(5), method="newton", tol=1e-10)
    assert res.success
