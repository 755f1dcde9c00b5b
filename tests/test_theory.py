"""Theory constants, optimal parameters, bounds and certificates."""

import math

import numpy as np
import pytest

import fastopt as fo
from fastopt import theory


class Quadratic(fo.problems.Function):
    def __init__(self, H):
        self.H = H
        super().__init__(lambda x: 0.5 * x @ H @ x, grad=lambda x: H @ x,
                         hvp=lambda x, v: H @ v, n_params=H.shape[0])


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_hessian_extremes_from_hvp(method):
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    eig = np.linspace(0.5, 40.0, 30)
    H = (Q * eig) @ Q.T
    mu, L = theory.hessian_extremes(Quadratic(H), np.zeros(30), method=method, max_iter=3000,
                                    tol=1e-12)
    assert L == pytest.approx(40.0, rel=1e-4)
    assert mu == pytest.approx(0.5, rel=2e-2 if method == "power" else 1e-4)


def test_logistic_estimate_below_global_L():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 8))
    y = np.where(rng.standard_normal(300) > 0, 1.0, -1.0)
    obj = fo.problems.Logistic(X, y, lam=1e-2)
    L_at_0 = theory.lipschitz_estimate(obj, np.zeros(8))
    # At w = 0 every curvature sigma (1 - sigma) is exactly 1/4: the global bound is attained.
    assert L_at_0 == pytest.approx(obj.lipschitz(), rel=1e-6)
    assert theory.strong_convexity_estimate(obj, np.ones(8)) >= 1e-2 * (1 - 1e-8)


def test_optimal_parameters_formulas():
    L, mu = 25.0, 1.0
    a, r = theory.heavy_ball_parameters(L, mu)
    assert a == pytest.approx(4 / 36) and r == pytest.approx((4 / 6) ** 2)
    a, r = theory.nesterov_parameters(100.0, 1.0)
    assert a == pytest.approx(0.01) and r == pytest.approx(9 / 11)
    assert theory.nesterov_parameters(100.0, 0.0) == (0.01, None)
    assert theory.condition_number(L, mu) == 25.0
    assert theory.step_bound(4.0) == 0.5
    with pytest.raises(ValueError, match="mu"):
        theory.heavy_ball_parameters(1.0, 2.0)
    with pytest.raises(ValueError, match="L"):
        theory.step_bound(0.0)


def test_gd_bound_formula_and_inverse():
    b = theory.gd_nonconvex_bound(3.0, 1.0, 0.5, np.array([0, 3]))
    np.testing.assert_allclose(b, [math.sqrt(8.0), math.sqrt(2.0)])
    k = theory.gd_iterations_needed(3.0, 1.0, 0.5, 0.1)
    assert theory.gd_nonconvex_bound(3.0, 1.0, 0.5, k) <= 0.1
    assert theory.gd_nonconvex_bound(3.0, 1.0, 0.5, k - 1) > 0.1


def test_certificate_holds_on_a_gd_run_and_catches_a_violation():
    # Nonconvex: f(x) = sum(x^2/2 + 2 cos x), L = 3 (|f''| = |1 - 2 cos x| <= 3), f* > -2 p.
    p = 4
    obj = fo.problems.Function(lambda x: float(np.sum(0.5 * x * x + 2 * np.cos(x))),
                               grad=lambda x: x - 2 * np.sin(x), lipschitz=3.0)
    res = fo.minimize(obj, np.full(p, 0.3), method="gd", lr=1 / 3, tol=1e-10, max_iter=200)
    f_star = -2.0 * p
    cert = theory.certify_gd(res, f_star=f_star, L=3.0)
    assert cert.held and cert.verdict == "held"
    assert cert.worst_ratio <= 1.0
    assert cert.details["precondition alpha <= 1/L"]
    assert "held" in str(cert)
    # A claimed f* just below f(x0) (far above the true minimum) makes the bound too
    # small for the first gradient: the certificate must say violated.
    bad = theory.certify_gd(res, f_star=float(res.history.fun[0]) - 1e-6)
    assert not bad.held and bad.worst_ratio > 1.0


def test_parameter_formulas_live_below_theory():
    import ast
    import pathlib

    from fastopt.solvers import _parameters

    # The public names stay in fo.theory; the solvers take them from their own layer.
    assert theory.heavy_ball_parameters is _parameters.heavy_ball_parameters
    assert theory.nesterov_parameters is _parameters.nesterov_parameters
    solvers = pathlib.Path(_parameters.__file__).parent
    for path in solvers.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.level == 2 and node.module == "theory"), path.name
                assert node.module != "fastopt.theory", path.name


# ---------------------------------------------------------------------------------------
# Hostile input: one clear TypeError/ValueError naming the argument, never a silent
# nan/0/"held" nor another exception type.

def _quadratic(n=3):
    return Quadratic(np.diag(np.arange(1.0, n + 1.0)))


def _quartic():
    return fo.problems.Function(lambda x: float(np.sum(x ** 4)), grad=lambda x: 4 * x ** 3,
                                hvp=lambda x, v: 12 * x * x * v, n_params=3)


class _NoHvp:
    n_params = 3


class _BadHvp:
    n_params = 3

    def __init__(self, out):
        self.out = out

    def hvp(self, x, v):
        return self.out


BAD_HESSIAN_EXTREMES = [
    ({"objective": None}, TypeError, "objective must be an objective with an hvp"),
    ({"objective": _NoHvp()}, TypeError, "objective must be an objective with an hvp"),
    ({"objective": _BadHvp(None)}, ValueError, r"objective.hvp\(x, v\) must return shape"),
    ({"objective": _BadHvp("ab")}, TypeError, r"objective.hvp\(x, v\) must return an array"),
    ({"objective": _BadHvp(np.full(3, np.nan))}, ValueError, "not finite at this x"),
    ({"x": None}, TypeError, "x must be an array of real numbers"),
    ({"x": ["a", "b", "c"]}, TypeError, "x must be an array of real numbers"),
    ({"x": np.zeros(3, dtype=bool)}, TypeError, "x must be an array of real numbers"),
    ({"x": [[0.0], [0.0, 1.0], 0.0]}, TypeError, "x must be an array of real numbers"),
    ({"x": np.zeros(4)}, ValueError, r"x must have shape \(3,\)"),
    ({"x": np.zeros((3, 1))}, ValueError, r"x must have shape \(3,\)"),
    ({"x": [0.0, np.nan, 0.0]}, ValueError, "x contains NaN or infinity"),
    ({"x": [0.0, np.inf, 0.0]}, ValueError, "x contains NaN or infinity"),
    ({"objective": _quartic(), "x": np.full(3, 1e300)}, ValueError, "not finite at this x"),
    ({"objective": _quartic(), "x": np.full(3, 1e300), "method": "power"}, ValueError,
     "not finite at this x"),
    ({"method": "newton"}, ValueError, "method must be 'lanczos' or 'power'"),
    ({"method": None}, TypeError, "method must be 'lanczos' or 'power'"),
    ({"method": "power", "max_iter": -1}, ValueError, "max_iter must be >= 1"),
    ({"max_iter": 0}, ValueError, "max_iter must be >= 1"),
    ({"max_iter": 10 ** 18}, ValueError, "max_iter must be <= 2147483647"),
    ({"max_iter": 2.5}, TypeError, "max_iter must be an integer"),
    ({"max_iter": True}, TypeError, "max_iter must be an integer"),
    ({"tol": np.nan}, ValueError, "tol must be finite"),
    ({"tol": np.inf}, ValueError, "tol must be finite"),
    ({"tol": -1e-3}, ValueError, "tol must be >= 0"),
    ({"tol": "1e-8"}, TypeError, "tol must be a real number"),
    ({"tol": False}, TypeError, "tol must be a real number"),
    ({"seed": -1}, ValueError, "seed must be >= 0"),
    ({"seed": 1.5}, TypeError, "seed must be an integer"),
    ({"seed": "0"}, TypeError, "seed must be an integer"),
]


@pytest.mark.parametrize("func", [theory.hessian_extremes, theory.lipschitz_estimate,
                                  theory.strong_convexity_estimate])
@pytest.mark.parametrize("bad, exc, match", BAD_HESSIAN_EXTREMES)
def test_hessian_extremes_rejects_bad_arguments(func, bad, exc, match):
    kwargs = {"objective": _quadratic(), "x": np.zeros(3), **bad}
    objective, x = kwargs.pop("objective"), kwargs.pop("x")
    with np.errstate(all="ignore"), pytest.raises(exc, match=match):
        func(objective, x, **kwargs)


def test_estimates_reject_unknown_keywords():
    with pytest.raises(TypeError, match="lipschitz_estimate.*'foo'"):
        theory.lipschitz_estimate(_quadratic(), np.zeros(3), foo=1)


@pytest.mark.parametrize("method", ["lanczos", "power"])
@pytest.mark.parametrize("scale", [2.0, 0.0, -1.0])
def test_hessian_extremes_of_a_multiple_of_the_identity(method, scale):
    # L I - H vanishes: ARPACK stops on a zero start vector; the answer is still exact.
    obj = Quadratic(scale * np.eye(4))
    mu, L = theory.hessian_extremes(obj, np.zeros(4), method=method)
    assert mu == pytest.approx(scale, abs=1e-12) and L == pytest.approx(scale, abs=1e-12)


@pytest.mark.parametrize("L, mu, exc, match", [
    ("1", 1.0, TypeError, "L must be a real number"),
    (1.0, "1", TypeError, "mu must be a real number"),
    (True, 1.0, TypeError, "L must be a real number"),
    (2.0, None, TypeError, "mu must be a real number"),
    (np.nan, 1.0, ValueError, "L must be finite"),
    (np.inf, 1.0, ValueError, "L must be finite"),
    (2.0, np.nan, ValueError, "mu must be finite"),
    (0.0, 1.0, ValueError, "L must be > 0"),
    (2.0, 0.0, ValueError, "mu must be > 0"),
    (2.0, -1.0, ValueError, "mu must be > 0"),
    (1.0, 2.0, ValueError, "mu must satisfy 0 < mu <= L"),
    (1e300, 1e-300, ValueError, "L / mu overflows"),
])
def test_condition_number_rejects_bad_arguments(L, mu, exc, match):
    with pytest.raises(exc, match=match):
        theory.condition_number(L, mu)


@pytest.mark.parametrize("L, exc, match", [
    ("1", TypeError, "L must be a real number"),
    (None, TypeError, "L must be a real number"),
    (True, TypeError, "L must be a real number"),
    (np.nan, ValueError, "L must be finite"),
    (-np.inf, ValueError, "L must be finite"),
    (0.0, ValueError, "L must be > 0"),
    (-2.0, ValueError, "L must be > 0"),
    (1e-309, ValueError, "2 / L overflows"),
])
def test_step_bound_rejects_bad_arguments(L, exc, match):
    with pytest.raises(exc, match=match):
        theory.step_bound(L)


@pytest.mark.parametrize("args, exc, match", [
    ((np.nan, 0.0, 1.0, 3), ValueError, "f0 must be finite"),
    ((np.inf, 0.0, 1.0, 3), ValueError, "f0 must be finite"),
    (("1", 0.0, 1.0, 3), TypeError, "f0 must be a real number"),
    ((1.0, -np.inf, 1.0, 3), ValueError, "f_star must be finite"),
    ((1.0, None, 1.0, 3), TypeError, "f_star must be a real number"),
    ((0.0, 1.0, 1.0, 3), ValueError, "f_star must be <= f0"),
    ((1e308, -1e308, 1.0, 3), ValueError, "f0 - f_star overflows"),
    ((1.0, 0.0, 0.0, 3), ValueError, "alpha must be > 0"),
    ((1.0, 0.0, -1.0, 3), ValueError, "alpha must be > 0"),
    ((1.0, 0.0, np.nan, 3), ValueError, "alpha must be finite"),
    ((1.0, 0.0, True, 3), TypeError, "alpha must be a real number"),
    ((1.0, 0.0, 1.0, -5), ValueError, "k must be >= 0"),
    ((1.0, 0.0, 1.0, np.nan), ValueError, "k contains NaN or infinity"),
    ((1.0, 0.0, 1.0, np.array([1, np.inf])), ValueError, "k contains NaN or infinity"),
    ((1.0, 0.0, 1.0, 2.5), ValueError, "k must be whole numbers >= 0"),
    ((1.0, 0.0, 1.0, [3, -1]), ValueError, "k must be whole numbers >= 0"),
    ((1.0, 0.0, 1.0, True), TypeError, "k must be an integer"),
    ((1.0, 0.0, 1.0, "3"), TypeError, "k must be an integer"),
    ((1.0, 0.0, 1.0, None), TypeError, "k must be an integer"),
    ((1.0, 0.0, 1.0, [[1], [1, 2]]), TypeError, "k must be an integer"),
    ((1.0, 0.0, 1.0, 10 ** 400), ValueError, "k must be < 2"),
    ((1e300, 0.0, 1e-300, 0), ValueError, "the bound overflows"),
])
def test_gd_nonconvex_bound_rejects_bad_arguments(args, exc, match):
    with pytest.raises(exc, match=match):
        theory.gd_nonconvex_bound(*args)


@pytest.mark.parametrize("args, exc, match", [
    ((1.0, 0.0, -1.0, 0.1), ValueError, "alpha must be > 0"),
    ((1.0, 0.0, 0.0, 0.1), ValueError, "alpha must be > 0"),
    ((1.0, 0.0, np.inf, 0.1), ValueError, "alpha must be finite"),
    ((1.0, 0.0, "1", 0.1), TypeError, "alpha must be a real number"),
    ((1.0, 0.0, 1.0, 0.0), ValueError, "eps must be > 0"),
    ((1.0, 0.0, 1.0, -0.1), ValueError, "eps must be > 0"),
    ((1.0, 0.0, 1.0, np.nan), ValueError, "eps must be finite"),
    ((1.0, 0.0, 1.0, None), TypeError, "eps must be a real number"),
    ((1.0, 0.0, 1.0, 1e-200), ValueError, "the iteration count overflows"),
    ((1.0, 0.0, 1e-300, 1e-10), ValueError, "the iteration count overflows"),
    ((np.inf, 0.0, 1.0, 0.1), ValueError, "f0 must be finite"),
    ((np.nan, 0.0, 1.0, 0.1), ValueError, "f0 must be finite"),
    ((False, 0.0, 1.0, 0.1), TypeError, "f0 must be a real number"),
    ((1.0, np.nan, 1.0, 0.1), ValueError, "f_star must be finite"),
    ((0.0, 1.0, 1.0, 0.1), ValueError, "f_star must be <= f0"),
    ((1e308, -1e308, 1.0, 0.1), ValueError, "f0 - f_star overflows"),
])
def test_gd_iterations_needed_rejects_bad_arguments(args, exc, match):
    with pytest.raises(exc, match=match):
        theory.gd_iterations_needed(*args)


@pytest.fixture(scope="module")
def gd_run():
    obj = _quadratic(4)
    return fo.minimize(obj, np.ones(4), method="gd", lr=0.2, max_iter=30)


class _NoHistory:
    history = None


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"result": None, "f_star": 0}, TypeError, "result must be an OptimizeResult with a history"),
    ({"result": _NoHistory()}, TypeError, "result must be an OptimizeResult with a history"),
    ({"result": {"x": 1}}, TypeError, "result must be an OptimizeResult with a history"),
    ({"f_star": np.nan}, ValueError, "f_star must be finite"),
    ({"f_star": "0"}, TypeError, "f_star must be a real number"),
    ({"f_star": 1e6}, ValueError, "f_star must be <= the history's f"),
    ({"f_star": -1e308, "alpha": 1e-300}, ValueError, "the bound overflows"),
    ({"alpha": 0.0}, ValueError, "alpha must be > 0"),
    ({"alpha": np.nan}, ValueError, "alpha must be finite"),
    ({"alpha": "0.2"}, TypeError, "alpha must be a real number"),
    ({"L": np.nan}, ValueError, "L must be finite"),
    ({"L": 0}, ValueError, "L must be > 0"),
    ({"L": -4.0}, ValueError, "L must be > 0"),
    ({"L": True}, TypeError, "L must be a real number"),
    ({"tol_rel": -1}, ValueError, "tol_rel must be >= 0"),
    ({"tol_rel": np.inf}, ValueError, "tol_rel must be finite"),
    ({"tol_rel": None}, TypeError, "tol_rel must be a real number"),
])
def test_certify_gd_rejects_bad_arguments(gd_run, kwargs, exc, match):
    kwargs = {"result": gd_run, "f_star": 0.0, **kwargs}
    with pytest.raises(exc, match=match):
        theory.certify_gd(**kwargs)


def test_certify_gd_rejects_runs_it_cannot_check():
    obj = _quadratic(4)
    res = fo.minimize(obj, np.ones(4), method="nesterov", lr=0.2, max_iter=30)
    with pytest.raises(ValueError, match="result must be a run of method='gd'"):
        theory.certify_gd(res, 0.0)
    res = fo.minimize(obj, np.ones(4), method="gd", lr=0.2, max_iter=30)
    res.history._data[0, 1] = np.nan  # f(x_0)
    with pytest.raises(ValueError, match="the history's f\\(x_0\\) must be finite"):
        theory.certify_gd(res, 0.0)


def test_valid_arguments_give_the_same_answers_as_before():
    # Values computed with the functions before their arguments were checked.
    rng = np.random.default_rng(3)
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    H = (Q * np.linspace(0.3, 7.0, 6)) @ Q.T
    obj = Quadratic(H)
    x = np.zeros(6)
    assert theory.hessian_extremes(obj, x, method="lanczos", max_iter=500, tol=1e-10,
                                   seed=4) == pytest.approx((0.3, 7.0), rel=1e-12)
    assert theory.hessian_extremes(obj, x, method="power", max_iter=500, tol=1e-10,
                                   seed=4) == (0.3000000007985717, 6.999999998769782)
    assert theory.lipschitz_estimate(obj, x, "power", seed=1) == 6.999999903152075
    assert theory.strong_convexity_estimate(obj, x, "power", max_iter=300) \
        == 0.30000009853055243
    assert theory.hessian_extremes(Quadratic(H[:2, :2]), [0, 0]) \
        == (0.8410899337617166, 2.761688771142749)
    assert theory.hessian_extremes(Quadratic(np.array([[3.0]])), np.zeros(1)) == (3.0, 3.0)
    assert theory.condition_number(np.float32(25), 2) == 12.5
    assert theory.step_bound(np.float64(3.0)) == 2.0 / 3.0
    np.testing.assert_array_equal(theory.gd_nonconvex_bound(3.0, 1.0, 0.5, np.array([0, 3, 10])),
                                  [2.8284271247461903, 1.4142135623730951, 0.8528028654224418])
    assert theory.gd_nonconvex_bound(np.float64(3.0), -1, 0.25, np.int64(7)) == 2.0
    assert theory.gd_nonconvex_bound(2.0, 2.0, 0.25, 7) == 0.0
    assert theory.gd_nonconvex_bound(3.0, 1.0, 0.5, np.array([2.0, 5.0])).shape == (2,)
    assert theory.gd_nonconvex_bound(3.0, 1.0, 0.5, []).shape == (0,)
    assert [theory.gd_iterations_needed(3.0, 1.0, 0.5, 0.1),
            theory.gd_iterations_needed(1.0, 1.0, 0.5, 0.1),
            theory.gd_iterations_needed(10, -3, 0.01, 1e-3),
            theory.gd_iterations_needed(1.0, 0.0, 1.0, 10.0)] == [799, 0, 2599999999, 0]
    res = fo.minimize(obj, np.ones(6), method="gd", lr=0.1, max_iter=40)
    cert = theory.certify_gd(res, f_star=0.0, L=7.0)
    assert cert.held and cert.worst_ratio == pytest.approx(0.6755605733397219, rel=1e-12)
    assert cert.details["precondition alpha <= 1/L"] and cert.details["alpha"] == 0.1
    np.testing.assert_allclose(cert.bound[:3], [14.614532542019003, 10.334035064333108,
                                                8.437704297215216], rtol=1e-12)
    cert = theory.certify_gd(res, f_star=float(res.history.fun[0]) - 1e-6, alpha=0.1,
                             tol_rel=0)
    assert not cert.held and cert.worst_ratio == pytest.approx(2207.67035846382, rel=1e-10)
