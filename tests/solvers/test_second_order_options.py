"""Option checks of the second-order methods (newton, newton-cg, lbfgs, sketch-newton)
and the line-search failures they must report as failures, never as convergence."""

import math

import numpy as np
import pytest

import fastopt as fo
from fastopt._result import Status
from fastopt.solvers._cholesky import damped_cholesky_solve
from fastopt.solvers.line_search import ObjectiveLine, backtracking, sufficient_decrease

_LINE_SEARCH = [("c1", 0.0), ("c1", 1.0), ("c1", -0.5), ("c1", 5.0), ("c1", math.nan),
                ("max_line_search", 0), ("max_line_search", -3)]
_SHRINK = [("shrink", 0.0), ("shrink", 1.0), ("shrink", -1.0), ("shrink", 1.5)]

INVALID = (
    [("newton", name, value) for name, value in _LINE_SEARCH + _SHRINK]
    + [("newton", "damping0", 0.0), ("newton", "damping0", -1e-8)]
    + [("newton-cg", name, value) for name, value in _LINE_SEARCH + _SHRINK]
    + [("newton-cg", "max_cg", 0), ("newton-cg", "eta_max", 0.0),
       ("newton-cg", "eta_max", 1.0), ("newton-cg", "eta_max", 1.5)]
    + [("lbfgs", name, value) for name, value in _LINE_SEARCH]
    + [("lbfgs", "c2", 0.0), ("lbfgs", "c2", 1.0), ("lbfgs", "c2", 2.0),
       ("lbfgs", "memory", 0), ("lbfgs", "memory", -1), ("lbfgs", "refresh_predictor", 0)]
    + [("sketch-newton", name, value) for name, value in _LINE_SEARCH + _SHRINK]
    + [("sketch-newton", "sketch_size", 0), ("sketch-newton", "sketch_size", -5),
       ("sketch-newton", "eps", 0.0), ("sketch-newton", "eps", 1.0),
       ("sketch-newton", "eps", 2.0), ("sketch-newton", "sketch_constant", 0.0),
       ("sketch-newton", "sketch_constant", -1.0), ("sketch-newton", "damping0", 0.0),
       ("sketch-newton", "sampling", "bogus")]
)

WRONG_TYPE = [("newton", "max_line_search", 2.5), ("newton", "c1", "0.1"),
              ("newton-cg", "max_cg", 10.0), ("newton-cg", "precondition", "yes"),
              ("lbfgs", "memory", 2.5), ("lbfgs", "reuse_predictor", 1),
              ("sketch-newton", "line_search", "no"), ("sketch-newton", "sketch_size", 9.5)]


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(30)
    return fo.problems.LeastSquares(X, y, lam=1e-2)


@pytest.mark.parametrize(("method", "name", "value"), INVALID)
def test_invalid_option_is_a_value_error_naming_it(problem, method, name, value):
    with pytest.raises(ValueError, match=name):
        fo.minimize(problem, np.zeros(3), method=method, **{name: value})


@pytest.mark.parametrize(("method", "name", "value"), WRONG_TYPE)
def test_wrong_option_type_is_a_type_error_naming_it(problem, method, name, value):
    with pytest.raises(TypeError, match=name):
        fo.minimize(problem, np.zeros(3), method=method, **{name: value})


def test_review_repro_is_rejected(problem):
    # Once "converged: step norm below xtol" after one iteration.
    with pytest.raises(ValueError, match="c1|shrink"):
        fo.minimize(problem, np.zeros(3), method="newton", shrink=-1, c1=5)


@pytest.mark.parametrize(("c1", "c2"), [(0.9, 0.1), (0.5, 0.5)])
def test_wolfe_constants_must_be_ordered(problem, c1, c2):
    with pytest.raises(ValueError, match="c2 must be > c1"):
        fo.minimize(problem, np.zeros(3), method="lbfgs", c1=c1, c2=c2)


@pytest.mark.parametrize("method", ["newton", "newton-cg", "lbfgs", "sketch-newton"])
def test_valid_options_still_converge(problem, method):
    extra = {"c2": 0.5} if method == "lbfgs" else {"shrink": 0.3}
    if method == "sketch-newton":
        extra["seed"] = 0  # the others draw no random numbers and refuse a seed
    res = fo.minimize(problem, np.zeros(3), method=method, c1=0.2, max_line_search=30,
                      tol=1e-8, **extra)
    assert res.success, res.message
    assert np.linalg.norm(res.jac) <= 1e-8


def test_damped_cholesky_rejects_a_shift_that_cannot_grow():
    H = np.array([[-1.0, 0.0], [0.0, 1.0]])
    b = np.ones(2)
    with pytest.raises(ValueError, match="tau0"):
        damped_cholesky_solve(H, b, tau0=0.0)
    with pytest.raises(ValueError, match="growth"):
        damped_cholesky_solve(H, b, growth=1.0)
    with pytest.raises(ValueError, match="max_attempts"):
        damped_cholesky_solve(H, b, max_attempts=0)
    sol = damped_cholesky_solve(H, b)
    assert sol.damping > 1.0
    np.testing.assert_allclose((H + sol.damping * np.eye(2)) @ sol.x, b)


# --- a failed line search is a failure, not convergence ----------------------------------

def _fun(x):
    return 0.5 * x @ x + 0.25 * np.sum(x ** 4)


def _grad(x):
    return x + x ** 3


def _hess(x):
    return np.eye(x.size) + np.diag(3.0 * x ** 2)


@pytest.mark.parametrize("method", ["newton", "newton-cg", "lbfgs"])
@pytest.mark.parametrize("jac", [lambda x: -_grad(x), lambda x: _grad(x) + 1.0],
                         ids=["ascent", "biased"])
def test_wrong_gradient_ends_in_line_search_failure(method, jac):
    # The direction does not descend on f: every search must end in Status.LINE_SEARCH.
    # It used to shrink t down to ~1e-15, accept that step on the roundoff rule and
    # report "converged: step norm below xtol".
    x0 = np.full(3, 2.0)
    res = fo.minimize(_fun, x0, jac=jac, hess=_hess, method=method, xtol=1e-8,
                      max_iter=50)
    assert not res.success
    assert res.status == Status.LINE_SEARCH, res.message
    assert res.fun <= _fun(x0)


def test_backtracking_fails_along_an_ascent_direction():
    obj = fo.problems.Function(_fun, grad=_grad, n_params=3)
    x = np.full(3, 2.0)
    f0, g0 = obj.loss_grad(x)
    d = g0  # ascent, with the slope of a descent direction claimed
    ls = backtracking(ObjectiveLine(obj, x, d), f0, -float(g0 @ g0), max_iter=200)
    assert not ls.success
    # It stops where the predicted decrease reaches the roundoff of f, not after 200.
    assert ls.n_trials < 80


def test_roundoff_rule_still_accepts_at_the_optimum():
    # f = 1 + x^2 / 2 at x = 1e-9: the predicted decrease (1e-18) is far below the
    # roundoff of f, so the unit step, which does not raise f, is accepted.
    def fun(x):
        return 1.0 + 0.5 * x @ x

    obj = fo.problems.Function(fun, grad=lambda x: x.copy(), n_params=1)
    x = np.array([1e-9])
    f0, g0 = obj.loss_grad(x)
    ls = backtracking(ObjectiveLine(obj, x, -g0), f0, -float(g0 @ g0))
    assert ls.success and ls.step == 1.0 and ls.n_trials == 1
    # The same values with a first trial that promised a large decrease: not accepted.
    assert sufficient_decrease(f0, f0, 1e-20, -1.0, 1e-4, t0=1.0) is False
    assert sufficient_decrease(f0, f0, 1.0, -1e-18, 1e-4) is True
