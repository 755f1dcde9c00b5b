# Over 500 lines: each line search is tested on its own cases (sufficient decrease,
# curvature, bracketing, non-finite trial values), one function at a time.
"""The line searches of the second-order methods, one function at a time.

What is tested
--------------
The public names of :mod:`fastopt.solvers.line_search`:

:func:`backtracking`
    Tries t0, shrink t0, shrink^2 t0, ... and returns the first step satisfying the
    Armijo condition phi(t) <= phi(0) + c1 t phi'(0) (checked here independently, and
    at its exact boundary); calls ``value`` once per trial and never ``slope``;
    ``n_trials`` is the number of values computed; a NaN or infinite phi(t) is never
    accepted but backtracked from; ``max_iter`` exhausted, or the trials shrinking to
    the roundoff of f along a direction that does not decrease f, give
    ``success=False`` with the last trial as ``step``.
:func:`strong_wolfe`
    Returns a step satisfying the strong Wolfe conditions (sufficient decrease and
    |phi'(t)| <= c2 |phi'(0)|) on 1-D quadratics and quartics, Rosenbrock and a logistic
    regression, from first trials below, at and above the acceptable interval; agrees
    with :func:`scipy.optimize.line_search` (the same conditions) where the unit step is
    acceptable and both steps satisfy the conditions elsewhere; evaluates ``slope`` only
    at trials that passed sufficient decrease (never at an infinite value); counts its
    values in ``n_trials``; fails (``success=False``) when the budget ``max_iter`` or
    ``t_max`` is reached or the direction does not descend; the roundoff (slope-only)
    path near an optimum.
:func:`sufficient_decrease`
    The roundoff-aware Armijo test: its boundary, NaN/inf values, and the rule that
    only a first trial within the noise band may accept a roundoff-level step.
:func:`check_line_search_options`
    Each bad ``c1``, ``c2`` (including c2 <= c1), ``shrink`` and ``max_line_search``
    is a ``ValueError``/``TypeError`` naming the parameter; good values are normalized.
:class:`ObjectiveLine`, :class:`PredictorLine`, :func:`make_line`
    phi and phi' agree with the objective at x + t d; the evaluation counts (one
    ``value`` per non-fused trial, one ``loss_grad`` per fused trial, caching at a
    repeated t, for the predictor line one pass for X d and one for the gradient at the
    accepted point and none per trial); the inputs are not modified.

Why
---
Newton, Newton-CG, sketch-Newton and L-BFGS take every step through these functions: a
step that does not meet the conditions breaks the convergence theory (L-BFGS needs the
curvature condition to keep its update positive definite), a wrong count corrupts
``n_passes``, and a failure reported as success ends a run on a bogus "convergence".
There are no weak-Wolfe searches in the module, so none are tested.
"""

import math
import warnings

import numpy as np
import pytest
import scipy.optimize

import fastopt as fo
from fastopt.solvers import line_search as ls_module
from fastopt.solvers.line_search import (
    LineSearchResult,
    ObjectiveLine,
    PredictorLine,
    backtracking,
    check_line_search_options,
    make_line,
    strong_wolfe,
    sufficient_decrease,
)

NAN = math.nan
INF = math.inf


class _Line:
    """A line from phi and phi' that records every call (the protocol of the module)."""

    def __init__(self, phi, dphi=None):
        self.phi, self.dphi = phi, dphi
        self.values, self.slopes = [], []
        self.calls = []  # ("value" | "slope", t) in order

    def value(self, t):
        self.values.append(t)
        self.calls.append(("value", t))
        return float(self.phi(t))

    def slope(self, t):
        if self.dphi is None:
            raise AssertionError("slope() called by a search that needs values only")
        self.slopes.append(t)
        self.calls.append(("slope", t))
        return float(self.dphi(t))


def _quadratic(a, t_star, c=1.0):
    """phi(t) = c + a/2 (t - t_star)^2, with phi'(0) = -a t_star."""
    return (lambda t: c + 0.5 * a * (t - t_star) ** 2), (lambda t: a * (t - t_star))


def _quartic(t_star):
    """phi(t) = (t - t_star)^4 + (t - t_star)^2."""
    return ((lambda t: (t - t_star) ** 4 + (t - t_star) ** 2),
            (lambda t: 4 * (t - t_star) ** 3 + 2 * (t - t_star)))


def _armijo(f, f0, t, slope0, c1):
    return f <= f0 + c1 * t * slope0


def _curvature(g, slope0, c2):
    return abs(g) <= c2 * abs(slope0)


# --- backtracking --------------------------------------------------------------------

@pytest.mark.parametrize("t0", [1.0, 4.0])
@pytest.mark.parametrize("shrink", [0.5, 0.3])
@pytest.mark.parametrize("c1", [1e-4, 0.45])
@pytest.mark.parametrize("t_star", [0.01, 0.3, 1.0])
def test_backtracking_returns_the_first_armijo_trial(t0, shrink, c1, t_star):
    phi, dphi = _quadratic(3.0, t_star)
    f0, slope0 = phi(0.0), dphi(0.0)
    line = _Line(phi)  # no slope: backtracking must not ask for one
    res = backtracking(line, f0, slope0, t0=t0, c1=c1, shrink=shrink)
    assert isinstance(res, LineSearchResult) and res.success
    # The trials are t0 shrink^j, in order, each computed once.
    expected = [t0]
    while not _armijo(phi(expected[-1]), f0, expected[-1], slope0, c1):
        expected.append(expected[-1] * shrink)
    assert line.values == pytest.approx(expected, rel=1e-15)
    assert res.n_trials == len(line.values) == len(expected)
    assert res.step == line.values[-1]
    assert res.fun == phi(res.step)
    assert _armijo(res.fun, f0, res.step, slope0, c1)
    # It is the first: every earlier trial failed the condition.
    assert not any(_armijo(phi(t), f0, t, slope0, c1) for t in line.values[:-1])


def test_backtracking_armijo_boundary_is_inclusive():
    # f0 = 1, phi'(0) = -1, c1 = 0.5: the bound at t = 1 is exactly 0.5.
    at_bound = _Line(lambda t: 0.5 if t == 1.0 else 1.0 - 0.75 * t)
    res = backtracking(at_bound, 1.0, -1.0, c1=0.5)
    assert res.success and res.step == 1.0 and res.n_trials == 1
    above = _Line(lambda t: float(np.nextafter(0.5, 1.0)) if t == 1.0 else 1.0 - 0.75 * t)
    res = backtracking(above, 1.0, -1.0, c1=0.5)
    assert res.success and res.step == 0.5 and res.n_trials == 2


def test_backtracking_max_iter_exhausted():
    line = _Line(lambda t: 2.0)  # never below f0 = 1
    res = backtracking(line, 1.0, -1.0, t0=1.0, shrink=0.5, max_iter=5)
    assert not res.success
    assert line.values == [1.0, 0.5, 0.25, 0.125, 0.0625]
    assert res.n_trials == 5
    assert res.step == 0.0625 and res.fun == 2.0  # the last trial


def test_backtracking_max_iter_one():
    line = _Line(lambda t: 2.0)
    res = backtracking(line, 1.0, -1.0, max_iter=1)
    assert not res.success and res.n_trials == 1 and line.values == [1.0]
    assert res.step == 1.0


@pytest.mark.parametrize("bad", [NAN, INF])
def test_backtracking_never_accepts_a_non_finite_value(bad):
    phi, _ = _quadratic(2.0, 0.2)
    line = _Line(lambda t: bad if t > 0.3 else phi(t))
    res = backtracking(line, phi(0.0), -0.4, c1=1e-4)
    assert res.success
    assert line.values == [1.0, 0.5, 0.25]
    assert res.step == 0.25 and math.isfinite(res.fun) and res.fun == phi(0.25)


@pytest.mark.parametrize("bad", [NAN, INF])
def test_backtracking_fails_when_every_value_is_non_finite(bad):
    line = _Line(lambda t: bad)
    res = backtracking(line, 1.0, -1.0, max_iter=200)
    assert not res.success
    # It stops where the predicted decrease reaches the roundoff of f, far before 200.
    assert res.n_trials == len(line.values) < 80
    assert res.step == line.values[-1]
    # (phi'(0) = -1: the predicted decrease of the last trial is still above it)
    assert res.step > ls_module._noise(1.0)


def test_backtracking_fails_on_a_false_descent_claim_at_the_roundoff():
    # phi grows (phi'(0) = +1) but the caller claims -1: the trials shrink to the
    # roundoff of f and the search must fail, reporting its last trial.
    line = _Line(lambda t: 1.0 + t)
    res = backtracking(line, 1.0, -1.0, max_iter=500)
    assert not res.success
    assert res.n_trials == len(line.values) < 80
    assert res.step == line.values[-1] and res.fun == 1.0 + res.step


def test_backtracking_unit_step_at_the_optimum_by_roundoff():
    # f0 = 1, predicted decrease 1e-18, far below the roundoff of f: the unit step that
    # does not raise f is accepted, not shrunk away.
    line = _Line(lambda t: 1.0)
    res = backtracking(line, 1.0, -1e-18)
    assert res.success and res.step == 1.0 and res.n_trials == 1


def test_backtracking_counts_objective_values_only():
    obj = fo.problems.Function(lambda x: float(np.sum((x - 1.0) ** 4)),
                               grad=lambda x: 4 * (x - 1.0) ** 3, n_params=3)
    x = np.full(3, 3.0)
    f0, g0 = obj.loss_grad(x)
    d = -g0
    x_before, d_before = x.copy(), d.copy()
    obj.reset_counters()
    res = backtracking(ObjectiveLine(obj, x, d), f0, float(g0 @ d))
    assert res.success and res.n_trials > 1
    assert obj.nfev == res.n_trials and obj.njev == 0
    assert obj.value(x + res.step * d) <= f0 + 1e-4 * res.step * float(g0 @ d)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(d, d_before)


# --- sufficient_decrease ---------------------------------------------------------------

def test_sufficient_decrease_boundary():
    assert sufficient_decrease(0.5, 1.0, 1.0, -1.0, 0.5) is True
    assert sufficient_decrease(float(np.nextafter(0.5, 1.0)), 1.0, 1.0, -1.0, 0.5) is False


@pytest.mark.parametrize("f", [NAN, INF])
def test_sufficient_decrease_rejects_non_finite(f):
    assert sufficient_decrease(f, 1.0, 1.0, -1.0, 1e-4) is False
    # Even in the roundoff regime.
    assert sufficient_decrease(f, 1.0, 1.0, -1e-18, 1e-4) is False


def test_sufficient_decrease_roundoff_rule_needs_a_first_trial_in_the_band():
    f0 = 1.0
    noise = ls_module._noise(f0)
    # A predicted decrease at the roundoff: accepted on an unchanged f...
    assert sufficient_decrease(f0, f0, 1.0, -noise, 1e-4) is True
    assert sufficient_decrease(f0 + noise, f0, 1.0, -noise, 1e-4) is True
    # ...but not on a rise beyond the roundoff...
    assert sufficient_decrease(f0 + 4 * noise, f0, 1.0, -noise, 1e-4) is False
    # ...nor when the first trial promised far more than the band.
    assert sufficient_decrease(f0, f0, 1e-20, -1.0, 1e-4, t0=1.0) is False


# --- strong_wolfe ---------------------------------------------------------------------------

def _check_strong_wolfe(line, phi, dphi, res, c1, c2):
    f0, slope0 = phi(0.0), dphi(0.0)
    assert res.success
    assert res.step > 0 and res.fun == phi(res.step)
    assert _armijo(res.fun, f0, res.step, slope0, c1)
    assert _curvature(dphi(res.step), slope0, c2)
    # n_trials counts the values computed; each slope follows the value at its t and
    # only at a trial that passed sufficient decrease.
    assert res.n_trials == len(line.values)
    for i, (kind, t) in enumerate(line.calls):
        if kind == "slope":
            assert ("value", t) in line.calls[:i]
            assert phi(t) <= f0 + c1 * t * slope0 + ls_module._noise(f0)


@pytest.mark.parametrize("c2", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("t0", [1e-3, 0.3, 1.0, 5.0, 100.0])
@pytest.mark.parametrize("t_star", [0.02, 1.0, 7.0])
def test_strong_wolfe_conditions_on_a_quadratic(c2, t0, t_star):
    phi, dphi = _quadratic(2.0, t_star)
    line = _Line(phi, dphi)
    res = strong_wolfe(line, phi(0.0), dphi(0.0), t0=t0, c1=1e-4, c2=c2)
    _check_strong_wolfe(line, phi, dphi, res, 1e-4, c2)


@pytest.mark.parametrize("c1,c2", [(1e-4, 0.9), (1e-4, 0.1), (0.3, 0.4)])
@pytest.mark.parametrize("t0", [0.01, 1.0, 20.0])
def test_strong_wolfe_conditions_on_a_quartic(c1, c2, t0):
    phi, dphi = _quartic(1.5)
    line = _Line(phi, dphi)
    res = strong_wolfe(line, phi(0.0), dphi(0.0), t0=t0, c1=c1, c2=c2)
    _check_strong_wolfe(line, phi, dphi, res, c1, c2)


def test_strong_wolfe_accepts_an_acceptable_first_trial_in_one_value():
    phi, dphi = _quadratic(1.0, 1.0)
    line = _Line(phi, dphi)
    res = strong_wolfe(line, phi(0.0), dphi(0.0), t0=1.0)
    assert res.success and res.step == 1.0 and res.n_trials == 1
    assert line.calls == [("value", 1.0), ("slope", 1.0)]


def test_strong_wolfe_no_slope_at_a_rejected_trial():
    # t0 = 10 overshoots (phi(10) > phi(0)): no gradient there.
    phi, dphi = _quadratic(1.0, 1.0)
    line = _Line(phi, dphi)
    res = strong_wolfe(line, phi(0.0), dphi(0.0), t0=10.0, c2=0.1)
    _check_strong_wolfe(line, phi, dphi, res, 1e-4, 0.1)
    assert 10.0 in line.values and 10.0 not in line.slopes


def test_strong_wolfe_backs_off_from_infinite_values():
    # phi is +inf beyond t = 1.5; the strong Wolfe points are t in [1.26, 1.5).
    phi0, dphi0 = _quadratic(2.0, 1.4, c=0.0)
    line = _Line(lambda t: phi0(t) if t < 1.5 else INF, dphi0)
    res = strong_wolfe(line, phi0(0.0), dphi0(0.0), t0=1.0, c2=0.1)
    assert res.success and 1.26 <= res.step < 1.5
    assert math.isfinite(res.fun) and res.n_trials == len(line.values)
    assert all(t < 1.5 for t in line.slopes)  # never a gradient at an infinite value


def test_strong_wolfe_max_iter_exhausted_in_the_zoom():
    line = _Line(lambda t: 2.0, lambda t: 0.0)  # phi(1) > phi(0) = 1: zoom, no budget
    res = strong_wolfe(line, 1.0, -1.0, t0=1.0, max_iter=1)
    assert not res.success and res.n_trials == 1 == len(line.values)
    assert line.slopes == []
    assert res.step == 0.0 and res.fun == 1.0  # no trial was acceptable: x stays


def test_strong_wolfe_max_iter_exhausted_while_bracketing():
    line = _Line(lambda t: 1.0 - t, lambda t: -1.0)  # unbounded below
    res = strong_wolfe(line, 1.0, -1.0, t0=1.0, max_iter=3)
    assert not res.success
    assert line.values == [1.0, 2.0, 4.0] and res.n_trials == 3
    assert res.step == 4.0 and res.fun == -3.0


def test_strong_wolfe_stops_at_t_max():
    line = _Line(lambda t: 1.0 - t, lambda t: -1.0)
    res = strong_wolfe(line, 1.0, -1.0, t0=1.0, t_max=8.0, max_iter=40)
    assert not res.success
    assert line.values == [1.0, 2.0, 4.0, 8.0] and max(line.values) <= 8.0
    assert res.step == 8.0 and res.n_trials == 4


def test_strong_wolfe_zoom_budget_failure_keeps_a_decreasing_step():
    # A narrow well: with 3 trials, no strong Wolfe point but a decrease was found.
    phi, dphi = _quadratic(1.0, 0.001, c=0.0)
    line = _Line(phi, dphi)
    res = strong_wolfe(line, phi(0.0), dphi(0.0), t0=1.0, c2=1e-3, max_iter=3)
    assert not res.success and res.n_trials == 3
    assert res.step == 0.0 or (res.fun == phi(res.step) and res.fun < phi(0.0))


@pytest.mark.parametrize("slope0", [1.0, 0.0])
def test_strong_wolfe_fails_along_a_non_descent_direction(slope0):
    phi, dphi = _quadratic(1.0, -slope0 if slope0 else 0.0, c=1.0)
    # phi'(0) = slope0 >= 0: phi does not decrease along d.
    line = _Line(phi, dphi)
    res = strong_wolfe(line, phi(0.0), slope0, t0=1.0, max_iter=20)
    assert not res.success
    assert res.n_trials <= 20
    assert res.fun >= phi(0.0)


def test_strong_wolfe_slope_search_at_the_roundoff():
    # phi changes by ~1e-20 along the line: f values are equal in float64 and the search
    # must go by the slope alone; phi'(t) = 1e-20 (t - 1).
    line = _Line(lambda t: 1.0, lambda t: 1e-20 * (t - 1.0))
    res = strong_wolfe(line, 1.0, -1e-20, t0=0.25, c2=0.5)
    assert res.success
    assert abs(1e-20 * (res.step - 1.0)) <= 0.5 * 1e-20
    assert res.fun == 1.0 and res.step > 0.25


def _rosen(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _rosen_grad(x):
    return np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2),
                     200 * (x[1] - x[0] ** 2)])


@pytest.mark.parametrize("x0", [[-1.2, 1.0], [0.0, 0.0], [1.5, 1.0], [0.5, -0.3]])
@pytest.mark.parametrize("c2", [0.9, 0.1])
def test_strong_wolfe_on_rosenbrock_against_scipy(x0, c2):
    obj = fo.problems.Function(_rosen, grad=_rosen_grad, n_params=2)
    x = np.array(x0)
    f0, g0 = obj.loss_grad(x)
    d = -g0
    slope0 = float(g0 @ d)
    t0 = 1.0 / np.linalg.norm(g0)  # as L-BFGS starts
    ours = strong_wolfe(ObjectiveLine(obj, x, d, fused=True), f0, slope0, t0=t0, c1=1e-4,
                        c2=c2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = scipy.optimize.line_search(_rosen, _rosen_grad, x, d, gfk=g0, old_fval=f0,
                                            c1=1e-4, c2=c2)[0]
    assert theirs is not None  # the problem admits a strong Wolfe point
    for t in (ours.step, theirs):
        assert _rosen(x + t * d) <= f0 + 1e-4 * t * slope0
        assert abs(_rosen_grad(x + t * d) @ d) <= c2 * abs(slope0)
    assert ours.success and ours.fun == _rosen(x + ours.step * d)


def test_strong_wolfe_newton_step_as_scipy():
    # On a quadratic the Newton direction makes t = 1 exact: both searches take it.
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])

    def f(x):
        return 0.5 * x @ A @ x - b @ x

    def grad(x):
        return A @ x - b

    x = np.array([2.0, 3.0])
    d = -np.linalg.solve(A, grad(x))
    obj = fo.problems.Function(f, grad=grad, n_params=2)
    slope0 = float(grad(x) @ d)
    ours = strong_wolfe(ObjectiveLine(obj, x, d, fused=True), f(x), slope0, t0=1.0)
    theirs = scipy.optimize.line_search(f, grad, x, d)
    assert ours.success and ours.step == 1.0 and ours.n_trials == 1
    assert theirs[0] == 1.0
    assert ours.fun == pytest.approx(theirs[3], rel=1e-14, abs=1e-14)


@pytest.fixture(scope="module")
def logistic():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((400, 7))
    y = np.where(X @ rng.standard_normal(7) + 0.5 * rng.standard_normal(400) > 0, 1.0, -1.0)
    return fo.problems.Logistic(X, y, lam=1e-2, backend="numpy")


@pytest.mark.parametrize("scale", [0.01, 1.0, 30.0])
@pytest.mark.parametrize("predictor", [False, True], ids=["objective", "predictor"])
def test_strong_wolfe_on_logistic(logistic, scale, predictor):
    obj = logistic
    w = np.full(obj.n_params, 0.2)
    f0, g0 = obj.loss_grad(w)
    d = -scale * g0
    slope0 = float(g0 @ d)
    z = obj.linear_predictor(w) if predictor else None
    line = make_line(obj, w, d, z, fused=True)
    assert isinstance(line, PredictorLine if predictor else ObjectiveLine)
    res = strong_wolfe(line, f0, slope0, t0=1.0, c1=1e-4, c2=0.9)
    assert res.success
    wt = w + res.step * d
    assert obj.value(wt) <= f0 + 1e-4 * res.step * slope0
    assert abs(obj.grad(wt) @ d) <= 0.9 * abs(slope0)
    assert res.fun == pytest.approx(obj.value(wt), rel=1e-13)
    theirs = scipy.optimize.line_search(obj.value, obj.grad, w, d, gfk=g0, old_fval=f0)[0]
    if theirs == 1.0:
        assert res.step == 1.0


@pytest.mark.parametrize("scale", [0.01, 30.0])
def test_backtracking_on_logistic_predictor_line(logistic, scale):
    obj = logistic
    w = np.zeros(obj.n_params)
    f0, g0 = obj.loss_grad(w)
    d = -scale * g0
    slope0 = float(g0 @ d)
    line = PredictorLine(obj, w, d, obj.linear_predictor(w))
    res = backtracking(line, f0, slope0, c1=0.25)
    assert res.success
    assert obj.value(w + res.step * d) <= f0 + 0.25 * res.step * slope0
    if res.step < 1.0:  # the previous trial was rejected
        prev = res.step / 0.5
        assert obj.value(w + prev * d) > f0 + 0.25 * prev * slope0


# --- check_line_search_options -------------------------------------------------------------

def _options(**kw):
    return {"c1": 1e-4, "c2": 0.9, "shrink": 0.5, "max_line_search": 20, **kw}


@pytest.mark.parametrize("c1", [0.0, 1.0, -0.5, 2.0, NAN, INF])
def test_bad_c1_names_c1(c1):
    with pytest.raises(ValueError, match="c1"):
        check_line_search_options(_options(c1=c1))
    with pytest.raises(ValueError, match="c1"):
        check_line_search_options(_options(c1=c1), wolfe=True)


@pytest.mark.parametrize("c2", [0.0, 1.0, -0.1, 1.5, NAN])
def test_bad_c2_names_c2(c2):
    with pytest.raises(ValueError, match="c2"):
        check_line_search_options(_options(c2=c2), wolfe=True)


@pytest.mark.parametrize(("c1", "c2"), [(0.5, 0.5), (0.6, 0.4), (0.9, 1e-4)])
def test_c2_not_above_c1_names_c2(c1, c2):
    with pytest.raises(ValueError, match="c2 must be > c1"):
        check_line_search_options(_options(c1=c1, c2=c2), wolfe=True)


def test_c2_is_only_checked_for_wolfe():
    opts = check_line_search_options(_options(c1=0.5, c2=0.1))
    assert opts["c2"] == 0.1
    opts = check_line_search_options({"c1": 0.5, "max_line_search": 3})
    assert "c2" not in opts


@pytest.mark.parametrize("shrink", [0.0, 1.0, -0.5, 1.5, NAN])
def test_bad_shrink_names_shrink(shrink):
    with pytest.raises(ValueError, match="shrink"):
        check_line_search_options(_options(shrink=shrink))


@pytest.mark.parametrize("n", [0, -1])
def test_bad_max_line_search_names_it(n):
    with pytest.raises(ValueError, match="max_line_search"):
        check_line_search_options(_options(max_line_search=n))


@pytest.mark.parametrize(("name", "value"), [("max_line_search", 2.5),
                                             ("max_line_search", True), ("c1", "0.1"),
                                             ("c2", None), ("shrink", "half")])
def test_wrong_type_names_the_parameter(name, value):
    with pytest.raises(TypeError, match=name):
        check_line_search_options(_options(**{name: value}), wolfe=True)


def test_good_options_are_normalized_in_place():
    opts = _options(c1=np.float32(0.25), c2=np.float64(0.75), shrink=np.float64(0.5),
                    max_line_search=np.int64(7))
    out = check_line_search_options(opts, wolfe=True)
    assert out is opts
    assert type(out["c1"]) is float and out["c1"] == 0.25
    assert type(out["c2"]) is float and out["c2"] == 0.75
    assert type(out["shrink"]) is float
    assert type(out["max_line_search"]) is int and out["max_line_search"] == 7
    # shrink is optional (strong Wolfe has none).
    assert "shrink" not in check_line_search_options({"c1": 0.1, "c2": 0.2,
                                                     "max_line_search": 1}, wolfe=True)


# --- the lines -----------------------------------------------------------------------------

def _function():
    return fo.problems.Function(lambda x: float(np.sum(np.cosh(x))),
                                grad=lambda x: np.sinh(x), n_params=3)


def test_objective_line_values_slopes_and_caching():
    obj = _function()
    x, d = np.array([0.5, -1.0, 2.0]), np.array([-1.0, 0.5, -0.25])
    xb, db = x.copy(), d.copy()
    obj.reset_counters()
    line = ObjectiveLine(obj, x, d)
    assert line.value(0.7) == pytest.approx(np.sum(np.cosh(x + 0.7 * d)), rel=1e-15)
    assert line.value(0.7) == line.value(0.7)
    assert (obj.nfev, obj.njev) == (1, 0)  # one value call for a repeated t
    assert line.slope(0.7) == pytest.approx(np.sinh(x + 0.7 * d) @ d, rel=1e-14)
    assert (obj.nfev, obj.njev) == (2, 1)  # the slope is one loss_grad call
    xt, ft, gt = line.point(0.7)
    assert (obj.nfev, obj.njev) == (2, 1)  # the gradient of slope(0.7) is reused
    np.testing.assert_array_equal(xt, x + 0.7 * d)
    assert ft == line.value(0.7)
    np.testing.assert_allclose(gt, np.sinh(x + 0.7 * d), rtol=1e-15)
    np.testing.assert_array_equal(x, xb)
    np.testing.assert_array_equal(d, db)


def test_fused_objective_line_one_loss_grad_per_trial():
    obj = _function()
    x, d = np.array([0.5, -1.0, 2.0]), np.array([-1.0, 0.5, -0.25])
    obj.reset_counters()
    line = ObjectiveLine(obj, x, d, fused=True)
    f = line.value(0.3)
    assert (obj.nfev, obj.njev) == (1, 1)
    line.slope(0.3)
    line.point(0.3)
    assert (obj.nfev, obj.njev) == (1, 1)
    assert f == pytest.approx(np.sum(np.cosh(x + 0.3 * d)), rel=1e-15)
    line.value(0.6)
    assert (obj.nfev, obj.njev) == (2, 2)


def test_strong_wolfe_fused_counts(logistic):
    obj = logistic
    w = np.zeros(obj.n_params)
    f0, g0 = obj.loss_grad(w)
    d = -30.0 * g0  # too long: the search has to come back
    obj.reset_counters()
    res = strong_wolfe(ObjectiveLine(obj, w, d, fused=True), f0, float(g0 @ d), c2=0.5)
    assert res.success and res.n_trials >= 2
    # One loss-and-gradient evaluation (one pass) per trial, none more.
    assert obj.nfev == obj.njev == res.n_trials
    assert obj.n_passes == res.n_trials


def test_predictor_line_matches_the_objective_and_counts_passes(logistic):
    obj = logistic
    w = np.linspace(-0.3, 0.3, obj.n_params)
    _, g = obj.loss_grad(w)
    d = -g + 0.1
    z = obj.linear_predictor(w)
    zb, wb, db = z.copy(), w.copy(), d.copy()
    obj.reset_counters()
    line = PredictorLine(obj, w, d, z)
    assert obj.n_passes == 1  # X d
    for t in (0.0, 0.5, 2.0):
        assert line.value(t) == pytest.approx(obj.value(w + t * d), rel=1e-13)
        assert line.slope(t) == pytest.approx(obj.grad(w + t * d) @ d, rel=1e-10, abs=1e-13)
    obj.reset_counters()
    for t in (0.1, 0.2, 0.3):
        line.value(t)
        line.slope(t)
    assert obj.n_passes == 0  # O(m) per trial, no pass over X
    wt, ft, gt = line.point(0.2)
    assert obj.n_passes == 1  # the gradient at the accepted point
    np.testing.assert_allclose(wt, w + 0.2 * d, rtol=1e-15)
    assert ft == pytest.approx(obj.value(wt), rel=1e-13)
    np.testing.assert_allclose(gt, obj.grad(wt), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(line.z_t, obj.linear_predictor(wt), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(z, zb)
    np.testing.assert_array_equal(w, wb)
    np.testing.assert_array_equal(d, db)


def test_predictor_line_with_dz_given_makes_no_pass(logistic):
    obj = logistic
    w = np.zeros(obj.n_params)
    d = np.ones(obj.n_params)
    dz = obj.linear_predictor(d)
    z = obj.linear_predictor(w)
    obj.reset_counters()
    line = PredictorLine(obj, w, d, z, dz=dz)
    assert obj.n_passes == 0 and line.dz is dz
    assert line.value(1.0) == pytest.approx(obj.value(w + d), rel=1e-13)


def test_make_line_dispatch(logistic):
    obj = logistic
    w, d = np.zeros(obj.n_params), np.ones(obj.n_params)
    assert isinstance(make_line(obj, w, d), ObjectiveLine)
    assert make_line(obj, w, d, fused=True).fused is True
    assert isinstance(make_line(obj, w, d, obj.linear_predictor(w)), PredictorLine)


# --- regressions found by these tests ------------------------------------------------------

class _Line1D:
    """phi(t) = fun(t), phi'(t) = der(t): the line-search protocol on a 1-D function."""

    def __init__(self, fun, der):
        self.fun, self.der = fun, der

    def value(self, t):
        return float(self.fun(t))

    def slope(self, t):
        return float(self.der(t))


def test_backtracking_fails_along_an_ascent_direction():
    from fastopt.solvers.line_search import backtracking

    line = _Line1D(lambda t: 1.0 + t + t * t / 2, lambda t: 1.0 + t)
    res = backtracking(line, 1.0, 1.0)
    assert not res.success


def test_strong_wolfe_backs_off_from_nan_values():
    import math

    from fastopt.solvers.line_search import strong_wolfe

    line = _Line1D(lambda t: (t - 1.4) ** 2 if t < 1.5 else math.nan,
                   lambda t: 2 * (t - 1.4) if t < 1.5 else math.nan)
    res = strong_wolfe(line, 1.96, -2.8, t0=1.0, c2=0.1)
    assert res.success and 1.26 <= res.step < 1.5
