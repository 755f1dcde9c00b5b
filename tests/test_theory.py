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
