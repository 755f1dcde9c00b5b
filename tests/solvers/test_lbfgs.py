"""L-BFGS: the published logistic optima, the compiled two-loop recursion against its
NumPy twin and the dense BFGS update, and the predictor line search."""

import numpy as np
import pytest

import fastopt as fo
from fastopt.kernels import available_backends
from fastopt.kernels import numba as nb_kernels
from fastopt.kernels import reference as ref_kernels

from ._logistic_optima import DATASETS, fit, objective


@pytest.mark.parametrize("name", DATASETS)
def test_reaches_published_optimum(name):
    res, fstar = fit(name, "lbfgs", max_iter=5000)
    assert res.success, res.message
    assert abs(res.fun - fstar) <= 1e-12
    # Fused trials: one pass per trial, and t = 1 is accepted most of the time.
    assert res.nit < res.n_passes <= 1.5 * res.nit


def test_fused_line_search_matches(rng):
    X = rng.standard_normal((5000, 30))
    y = np.where(X @ rng.standard_normal(30) + rng.standard_normal(5000) > 0, 1.0, -1.0)
    obj = fo.problems.Logistic(X, y, lam=1e-4)
    a = fo.minimize(obj, np.zeros(30), method="lbfgs", tol=1e-9, reuse_predictor=True)
    b = fo.minimize(obj, np.zeros(30), method="lbfgs", tol=1e-9)
    assert a.success and b.success
    assert abs(a.fun - b.fun) <= 1e-12
    # Fused trials: one loss-and-gradient pass per trial step; predictor trials: two
    # passes per iteration (X d and the gradient) whatever the number of trials.
    assert b.n_passes == b.n_line_search + 1
    assert a.n_passes <= 2 * a.nit + a.nit // 50 + 2


def _two_loop_case(rng, p=9, k=5, count=4, start=3):
    S = rng.standard_normal((k, p))
    Y = S @ np.diag(rng.uniform(0.5, 2.0, p)) + 0.01 * rng.standard_normal((k, p))
    rho = 1.0 / np.einsum("ij,ij->i", S, Y)
    g = rng.standard_normal(p)
    return g, S, Y, rho, start, count


def test_two_loop_twins_agree_and_match_bfgs(rng):
    g, S, Y, rho, start, count = _two_loop_case(rng)
    k, p = S.shape
    gamma = 0.7
    out = {}
    for name, mod in (("numpy", ref_kernels), ("numba", nb_kernels)):
        d = np.empty(p)
        mod.lbfgs_direction(g, S, Y, rho, start, count, gamma, np.empty(k), d)
        out[name] = d
    np.testing.assert_allclose(out["numba"], out["numpy"], rtol=1e-12, atol=1e-14)
    # Dense BFGS recursion H+ = (I - rho s y^T) H (I - rho y s^T) + rho s s^T, oldest first.
    H = gamma * np.eye(p)
    for i in range(count):
        j = (start + i) % k
        V = np.eye(p) - rho[j] * np.outer(Y[j], S[j])
        H = V.T @ H @ V + rho[j] * np.outer(S[j], S[j])
    np.testing.assert_allclose(out["numpy"], -H @ g, rtol=1e-10, atol=1e-12)


def test_two_loop_empty_memory_is_scaled_gradient(rng):
    g, S, Y, rho, _, _ = _two_loop_case(rng)
    d = np.empty(g.size)
    nb_kernels.lbfgs_direction(g, S, Y, rho, 0, 0, 2.0, np.empty(S.shape[0]), d)
    np.testing.assert_allclose(d, -2.0 * g)


def test_rosenbrock_generic_objective():
    def fun(x):
        return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))

    def grad(x):
        g = np.zeros_like(x)
        g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
        g[1:] += 200 * (x[1:] - x[:-1] ** 2)
        return g

    res = fo.minimize(fun, np.full(6, -1.0), jac=grad, method="lbfgs", tol=1e-9,
                      max_iter=2000, memory=7)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, np.ones(6), atol=1e-7)


def test_predictor_line_search_o_m_trials():
    from fastopt.solvers.line_search import PredictorLine, strong_wolfe

    obj, _ = objective("a9a")
    w = np.zeros(obj.n_params)
    f0, g0 = obj.loss_grad(w)
    z = obj.linear_predictor(w)
    d = -g0 * 50.0  # a long step: the search has to backtrack
    obj.reset_counters()
    line = PredictorLine(obj, w, d, z)
    ls = strong_wolfe(line, f0, float(g0 @ d), t0=1.0)
    assert ls.success and ls.n_trials >= 2
    x, f, g = line.point(ls.step)
    # One pass for X d, one for the gradient at the accepted point; no other pass.
    assert obj.n_passes == 2
    assert f == pytest.approx(obj.value(x), abs=1e-14)
    np.testing.assert_allclose(g, obj.grad(x), atol=1e-14)
    np.testing.assert_allclose(line.z_t, obj.linear_predictor(x), atol=1e-12)


def _small_logistic(rng, backend):
    X = rng.standard_normal((200, 10))
    y = np.where(X @ rng.standard_normal(10) + rng.standard_normal(200) > 0, 1.0, -1.0)
    return fo.problems.Logistic(X, y, lam=1e-3, backend=backend)


@pytest.mark.skipif("cython" not in available_backends(), reason="Cython not built")
def test_direction_kernel_follows_the_objective_backend(rng):
    """numba, Cython and NumPy objectives get their own backend's two-loop recursion;
    a user Function (no backend) gets the ahead-of-time compiled one, never numba."""
    from fastopt.kernels import cython as cy_kernels
    from fastopt.solvers.lbfgs import _direction_kernel

    quadratic = fo.problems.Function(lambda x: float(x @ x), grad=lambda x: 2.0 * x)
    assert _direction_kernel(quadratic) is cy_kernels.lbfgs_direction
    assert _direction_kernel(object()) is cy_kernels.lbfgs_direction
    for backend, kernels in (("cython", cy_kernels), ("auto", cy_kernels),
                             ("numpy", ref_kernels), ("numba", nb_kernels)):
        obj = _small_logistic(rng, backend)
        assert _direction_kernel(obj) is kernels.lbfgs_direction, backend


@pytest.mark.skipif("cython" not in available_backends(), reason="Cython not built")
@pytest.mark.parametrize("kind", ["function", "cython-logistic"])
def test_lbfgs_runs_the_cython_direction(monkeypatch, rng, kind):
    """The solver calls the kernel that _direction_kernel picks: on a Function and on a
    Cython Logistic that is the Cython kernel, once per iteration after the first."""
    from fastopt.kernels import cython as cy_kernels

    calls = []
    kernel = cy_kernels.lbfgs_direction

    def counting(*args):
        calls.append(args[5])  # count of stored pairs
        return kernel(*args)

    monkeypatch.setattr(cy_kernels, "lbfgs_direction", counting)
    if kind == "function":
        A = rng.standard_normal((8, 8))
        H = A @ A.T + np.eye(8)
        obj = fo.problems.Function(lambda x: 0.5 * float(x @ H @ x) - x.sum(),
                                   grad=lambda x: H @ x - 1.0)
        x_star = np.linalg.solve(H, np.ones(8))
    else:
        obj = _small_logistic(rng, "cython")
        x_star = None
    res = fo.minimize(obj, np.zeros(8 if x_star is not None else 10), method="lbfgs",
                      tol=1e-10)
    assert res.success, res.message
    assert len(calls) == res.nit and max(calls) >= 2
    if x_star is not None:
        np.testing.assert_allclose(res.x, x_star, rtol=1e-8, atol=1e-9)
