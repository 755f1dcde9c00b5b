"""Newton-CG: the published logistic optima, the PCG inner solve, the forcing term, and
the O(m) line search (one X d per iteration)."""

import numpy as np
import pytest

import fastopt as fo
from fastopt.solvers._cg import conjugate_gradient

from ._logistic_optima import DATASETS, fit, objective


@pytest.mark.parametrize("name", DATASETS)
def test_reaches_published_optimum(name):
    res, fstar = fit(name, "newton-cg")
    assert res.success, res.message
    assert abs(res.fun - fstar) <= 1e-12
    # Per outer iteration: grad/weights pass, preconditioner pass, X d pass and one pass
    # per Hessian-vector product; the line search trials add no pass.
    assert res.n_passes <= 3 * res.nit + res.n_cg + 3
    assert res.n_passes >= res.n_cg + res.nit
    assert res.n_cg >= res.nit


def test_superlinear_tail():
    obj, _ = objective("a9a")
    res = fo.minimize(obj, np.zeros(obj.n_params), method="newton-cg", tol=1e-10)
    g = res.history.grad_norm
    ratios = g[1:] / g[:-1]
    # Eisenstat-Walker forcing (eta ~ (||g_k|| / ||g_k-1||)^2): the contraction factor
    # keeps shrinking at the end.
    assert ratios[-1] < 1e-2 and ratios[-1] < ratios[-3], ratios


def test_pcg_solves_spd_system(rng):
    p = 40
    Q = rng.standard_normal((p, p))
    H = Q @ Q.T + np.diag(np.logspace(0, 4, p))
    b = rng.standard_normal(p)
    plain = conjugate_gradient(lambda v: H @ v, b, 1e-10, 500)
    pre = conjugate_gradient(lambda v: H @ v, b, 1e-10, 500, precond=np.diag(H).copy())
    exact = np.linalg.solve(H, b)
    for res in (plain, pre):
        assert res.converged
        np.testing.assert_allclose(res.x, exact, rtol=1e-7)
    assert pre.n_iter < plain.n_iter  # Jacobi pays for a badly scaled diagonal


def test_cg_stops_on_negative_curvature_with_descent_direction():
    H = np.diag([1.0, -1.0, 2.0])
    b = np.array([1.0, 1.0, 1.0])  # b = -g
    res = conjugate_gradient(lambda v: H @ v, b, 1e-12, 10)
    assert res.negative_curvature
    assert res.x @ b > 0  # descent: <d, -g> > 0


def test_jacobi_preconditioner_is_hessian_diagonal(rng):
    import scipy.sparse as sp

    X = sp.random(300, 12, density=0.3, random_state=1, format="csr")
    y = np.where(rng.random(300) > 0.5, 1.0, -1.0)
    for data in (X, X.toarray(), X.toarray().astype(np.float32)):
        obj = fo.problems.Logistic(data, y, lam=0.1, fit_intercept=True, backend="numpy")
        w = rng.standard_normal(13) * 0.1
        _, _, d = obj.grad_hess_weights(w)
        passes = obj.n_passes
        diag = obj.hessian_diagonal(d)
        # One pass, plus (CSR, first call only) the one that squares the nonzeros.
        assert obj.n_passes == passes + 1 + int(sp.issparse(data))
        np.testing.assert_allclose(diag, np.diag(obj.hessian(w)), rtol=1e-12)
        passes = obj.n_passes
        np.testing.assert_allclose(obj.hessian_diagonal(d), diag, rtol=0, atol=0)
        assert obj.n_passes == passes + 1


def test_intercept_and_backends_agree(rng):
    X = rng.standard_normal((400, 6))
    y = np.where(X @ rng.standard_normal(6) + 0.3 * rng.standard_normal(400) > 0, 1.0, -1.0)
    sols = []
    for backend in ("numpy", "numba"):
        obj = fo.problems.Logistic(X, y, lam=1e-2, fit_intercept=True, backend=backend)
        res = fo.minimize(obj, np.zeros(7), method="newton-cg", tol=1e-10)
        assert res.success
        sols.append(res.x)
    ref = fo.minimize(obj, np.zeros(7), method="newton", tol=1e-12)
    np.testing.assert_allclose(sols[0], ref.x, atol=1e-8)
    np.testing.assert_allclose(sols[1], ref.x, atol=1e-8)
