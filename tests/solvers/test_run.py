# Over 500 lines: the stopping rule is tested test by test, and the run record (history,
# best iterate, callback) over every status; they share the fixtures of this module.
"""The stopping rule and run records shared by every solver loop.

What is tested
--------------
:func:`fastopt._stopping.stop_status`
    The one stopping rule that the Python, numba and C loops all apply. Each test fires
    with its :class:`~fastopt._result.Status` exactly at its boundary (``gnorm == tol``,
    ``step_norm == xtol``, ``|f_prev - f| == ftol max(1, |f_prev|)``, ``k == max_iter``,
    ``f - f0 == div_factor max(1, |f0|)`` not yet divergence), not one ulp beyond it;
    ``xtol = 0``/``ftol = 0`` disable their tests; ``k = 0`` never tests xtol/ftol; a
    run without a gradient skips the gradient tests; and when several tests fire the
    documented order (divergence, gtol, xtol, ftol, max_iter) decides.
:class:`fastopt.solvers.run.Run`
    ``observe`` on top of it: the time budget (with a fake clock) and the callback
    (True / None / StopIteration / another exception, receiving copies) come after the
    rule; divergence from f, from ||g|| and from the bound; best-iterate bookkeeping
    (copies, not aliases; buffers reused, never reallocated); ``result`` returning the
    best finite iterate for ``DIVERGED`` and x0 when the first f is already non-finite;
    history thinning (``history_every``, 0 disabling it); the objective's counters.
:func:`fastopt.solvers.run.vector_norm`
    The norm, and inf without a warning on overflow.

Why
---
Every method stops through these few lines, so an off-by-one at a boundary or a swapped
order changes the status (and ``success``) of every solver at once, and an aliased best
iterate silently returns a later, worse point for diverged runs.
"""

import math
import types
import warnings

import numpy as np
import pytest

from fastopt._result import MESSAGES, History, OptimizeResult, Status
from fastopt._stopping import CONTINUE, stop_status
from fastopt.solvers import run as run_module
from fastopt.solvers.run import Run, vector_norm

NAN = math.nan
INF = math.inf


def _stop(k=1, f=1.0, f0=1.0, f_prev=2.0, gnorm=1.0, has_gradient=True, step_norm=1.0,
          tol=1e-6, xtol=0.0, ftol=0.0, max_iter=100, div=1e10):
    """stop_status with keyword arguments and a default where no test fires."""
    return stop_status(k, f, f0, f_prev, gnorm, has_gradient, step_norm, tol, xtol, ftol,
                       max_iter, div)


def _up(v):
    return float(np.nextafter(v, INF))


def _down(v):
    return float(np.nextafter(v, -INF))


# --- stop_status: each test at its boundary -------------------------------------------

def test_defaults_continue():
    assert _stop() == CONTINUE == -1


@pytest.mark.parametrize("tol", [1e-6, 0.5, 3.0])
def test_gtol_fires_at_equality_not_one_ulp_above(tol):
    assert _stop(gnorm=tol, tol=tol) == Status.GTOL
    assert _stop(gnorm=_up(tol), tol=tol) == CONTINUE
    assert _stop(gnorm=0.0, tol=tol) == Status.GTOL


def test_gtol_fires_at_k_zero():
    assert _stop(k=0, gnorm=0.0, f_prev=NAN, step_norm=NAN) == Status.GTOL


def test_gtol_zero_tol_needs_an_exact_zero_gradient():
    assert _stop(gnorm=0.0, tol=0.0) == Status.GTOL
    assert _stop(gnorm=5e-324, tol=0.0) == CONTINUE


def test_xtol_fires_at_equality_not_one_ulp_above():
    assert _stop(step_norm=0.25, xtol=0.25) == Status.XTOL
    assert _stop(step_norm=_up(0.25), xtol=0.25) == CONTINUE


def test_xtol_zero_disables_even_a_zero_step():
    assert _stop(step_norm=0.0, xtol=0.0) == CONTINUE


def test_xtol_not_tested_at_k_zero():
    assert _stop(k=0, step_norm=0.0, xtol=1.0) == CONTINUE
    assert _stop(k=1, step_norm=0.0, xtol=1.0) == Status.XTOL


def test_xtol_nan_step_never_fires():
    assert _stop(step_norm=NAN, xtol=1.0) == CONTINUE


def test_ftol_fires_at_equality_relative_to_f_prev():
    # |4 - 2| = 2 = 0.5 * |f_prev|; relative to |f| (= 2) it would need ftol = 1.
    assert _stop(f_prev=4.0, f=2.0, ftol=0.5) == Status.FTOL
    assert _stop(f_prev=4.0, f=2.0, ftol=_down(0.5)) == CONTINUE


def test_ftol_uses_max_one_abs_f_prev():
    # |f_prev| = 0.5 < 1: the bound is ftol * 1, not ftol * 0.5.
    assert _stop(f_prev=0.5, f=0.25, ftol=0.25) == Status.FTOL
    assert _stop(f_prev=0.5, f=0.25, ftol=_down(0.25)) == CONTINUE


def test_ftol_counts_an_increase_of_f_as_well():
    assert _stop(f_prev=4.0, f=5.0, f0=4.0, ftol=0.25) == Status.FTOL


def test_ftol_zero_disables_even_an_unchanged_f():
    assert _stop(f_prev=3.0, f=3.0, ftol=0.0) == CONTINUE


def test_ftol_not_tested_at_k_zero():
    # At k = 0 f_prev is not read (a NaN there must not matter either way).
    assert _stop(k=0, f_prev=1.0, f=1.0, ftol=0.5) == CONTINUE
    assert _stop(k=0, f_prev=NAN, f=1.0, ftol=0.5) == CONTINUE
    assert _stop(k=1, f_prev=1.0, f=1.0, ftol=0.5) == Status.FTOL


@pytest.mark.parametrize("max_iter", [0, 1, 7])
def test_max_iter_fires_at_k_equal_max_iter(max_iter):
    assert _stop(k=max_iter, max_iter=max_iter) == Status.MAX_ITER
    if max_iter > 0:
        assert _stop(k=max_iter - 1, max_iter=max_iter) == CONTINUE


@pytest.mark.parametrize("f", [NAN, INF, -INF])
def test_non_finite_f_is_divergence(f):
    assert _stop(f=f) == Status.DIVERGED


@pytest.mark.parametrize("gnorm", [NAN, INF])
def test_non_finite_gradient_norm_is_divergence(gnorm):
    assert _stop(gnorm=gnorm) == Status.DIVERGED


@pytest.mark.parametrize("gnorm", [NAN, INF, 0.0])
def test_without_gradient_gnorm_is_not_read(gnorm):
    assert _stop(gnorm=gnorm, has_gradient=False) == CONTINUE


@pytest.mark.parametrize(("f0", "div", "bound"),
                         [(2.0, 10.0, 20.0), (0.5, 10.0, 10.0), (-4.0, 1.0, 4.0),
                          (0.0, 3.0, 3.0)])
def test_divergence_bound_is_strict_and_uses_max_one_abs_f0(f0, div, bound):
    f = f0 + bound
    assert f - f0 == bound  # exact in these cases
    assert _stop(f=f, f0=f0, f_prev=f0, div=div) == CONTINUE
    above = f0 + _up(bound)
    assert above - f0 > bound
    assert _stop(f=above, f0=f0, f_prev=f0, div=div) == Status.DIVERGED


def test_order_divergence_first():
    # Every other test fires too.
    assert _stop(k=5, f=NAN, gnorm=0.0, step_norm=0.0, xtol=1.0, ftol=1.0,
                 max_iter=5) == Status.DIVERGED
    assert _stop(k=5, f=1.0, gnorm=INF, step_norm=0.0, xtol=1.0, ftol=1.0,
                 max_iter=5) == Status.DIVERGED


def test_order_gtol_xtol_ftol_max_iter():
    every = dict(k=5, f=1.0, f_prev=1.0, gnorm=0.0, step_norm=0.0, xtol=1.0, ftol=1.0,
                 max_iter=5)
    assert _stop(**every) == Status.GTOL
    assert _stop(**{**every, "gnorm": 1.0}) == Status.XTOL
    assert _stop(**{**every, "gnorm": 1.0, "xtol": 0.0}) == Status.FTOL
    assert _stop(**{**every, "gnorm": 1.0, "xtol": 0.0, "ftol": 0.0}) == Status.MAX_ITER


def test_status_values_match_the_enum():
    assert isinstance(_stop(gnorm=0.0), int)
    for status in (Status.GTOL, Status.XTOL, Status.FTOL, Status.MAX_ITER,
                   Status.DIVERGED):
        assert Status(int(status)) is status
    assert all(s.success == (s < 10) for s in Status)


# --- vector_norm -----------------------------------------------------------------------

def test_vector_norm_value_and_type():
    v = vector_norm(np.array([3.0, 4.0]))
    assert v == 5.0 and type(v) is float
    assert vector_norm(np.zeros(0)) == 0.0
    assert vector_norm([1.0, -2.0, 2.0]) == 3.0
    assert math.isnan(vector_norm(np.array([1.0, NAN])))


@pytest.mark.parametrize("big", [1e155, 1e200, 1e308])
def test_vector_norm_overflow_is_inf_without_warning(big):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="warn"):
            assert vector_norm(np.full(4, big)) == INF
            assert vector_norm(np.array([big, -big])) == INF


# --- Run.observe: stopping ---------------------------------------------------------------

def test_observe_returns_status_members_or_none():
    run = Run(tol=1e-3, max_iter=10)
    assert run.observe(0, np.zeros(2), 1.0, np.ones(2)) is None
    status = run.observe(1, np.zeros(2), 0.5, np.full(2, 1e-4))
    assert status is Status.GTOL and isinstance(status, Status)


def test_observe_gtol_from_g_norm_at_equality():
    run = Run(tol=5.0)
    assert run.observe(0, np.zeros(2), 1.0, np.array([3.0, 4.0])) is Status.GTOL
    run = Run(tol=_down(5.0))
    assert run.observe(0, np.zeros(2), 1.0, np.array([3.0, 4.0])) is None


def test_observe_g_norm_given_instead_of_g():
    run = Run(tol=1e-3)
    assert run.observe(0, np.zeros(2), 1.0, g_norm=1.0) is None
    assert run.observe(1, np.zeros(2), 0.5, g_norm=1e-3) is Status.GTOL


def test_observe_xtol_and_ftol_and_k_zero():
    run = Run(tol=0.0, xtol=0.5, ftol=0.0)
    assert run.observe(0, np.zeros(1), 1.0, np.ones(1), step_norm=0.0) is None
    assert run.observe(1, np.zeros(1), 0.9, np.ones(1), step_norm=0.5) is Status.XTOL
    run = Run(tol=0.0, xtol=0.0, ftol=0.25)
    assert run.observe(0, np.zeros(1), 4.0, np.ones(1), step_norm=0.0) is None
    assert run.observe(1, np.zeros(1), 3.0, np.ones(1), step_norm=0.0) is Status.FTOL


def test_observe_ftol_reads_the_previous_observed_f():
    run = Run(tol=0.0, ftol=0.1)
    assert run.observe(0, np.zeros(1), 10.0, np.ones(1)) is None
    assert run.observe(1, np.zeros(1), 5.0, np.ones(1)) is None  # |10 - 5| > 1
    assert run.observe(2, np.zeros(1), 4.5, np.ones(1)) is Status.FTOL  # |5 - 4.5| <= 0.5


def test_observe_default_step_norm_never_fires_xtol():
    run = Run(tol=0.0, xtol=1.0)
    for k in range(4):
        assert run.observe(k, np.zeros(1), 1.0 - k, np.ones(1)) is None


def test_observe_max_iter():
    run = Run(tol=0.0, max_iter=3)
    statuses = [run.observe(k, np.zeros(1), 10.0 - k, np.ones(1)) for k in range(4)]
    assert statuses == [None, None, None, Status.MAX_ITER]


def test_observe_max_iter_zero_stops_at_the_start():
    assert Run(tol=0.0, max_iter=0).observe(0, np.zeros(1), 1.0, np.ones(1)) \
        is Status.MAX_ITER


def test_observe_without_gradient_skips_gradient_tests():
    run = Run(tol=1e300, max_iter=5)
    assert run.observe(0, np.zeros(2), 1.0) is None
    assert run.observe(1, np.zeros(2), 0.5) is None
    assert run.best_g is None
    assert math.isnan(run.history.grad_norm[0])


@pytest.mark.parametrize("g_norm", [NAN, INF])
def test_observe_given_non_finite_g_norm_is_divergence(g_norm):
    assert Run().observe(0, np.zeros(2), 1.0, g_norm=g_norm) is Status.DIVERGED


@pytest.mark.parametrize("g", [[NAN, 0.0], [INF, 1.0], [1e200, 1e200]],
                         ids=["nan", "inf", "overflow"])
def test_observe_non_finite_gradient_is_divergence_without_warning(g):
    run = Run()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run.observe(0, np.zeros(2), 1.0, np.array(g)) is Status.DIVERGED


@pytest.mark.parametrize("f", [NAN, INF, -INF])
def test_observe_non_finite_f_is_divergence(f):
    run = Run()
    assert run.observe(0, np.zeros(2), 1.0, np.ones(2)) is None
    assert run.observe(1, np.ones(2), f, np.ones(2)) is Status.DIVERGED


def test_observe_divergence_bound_from_the_first_f():
    run = Run(tol=0.0, divergence_factor=10.0)
    assert run.observe(0, np.zeros(1), 2.0, np.ones(1)) is None
    assert run.observe(1, np.zeros(1), 22.0, np.ones(1)) is None  # f - f0 = 20: not beyond
    assert run.observe(2, np.zeros(1), _up(22.0), np.ones(1)) is Status.DIVERGED


def test_observe_divergence_precedes_max_iter_and_gtol():
    run = Run(tol=1.0, max_iter=0)
    assert run.observe(0, np.zeros(1), NAN, np.zeros(1)) is Status.DIVERGED


# --- Run.observe: time budget (fake clock) ---------------------------------------------

@pytest.fixture
def clock(monkeypatch):
    """A settable clock in place of time.perf_counter as Run reads it."""
    now = {"t": 100.0}
    monkeypatch.setattr(run_module, "time",
                        types.SimpleNamespace(perf_counter=lambda: now["t"]))
    return now


def test_max_time_fires_at_equality(clock):
    run = Run(tol=0.0, max_time=5.0)
    clock["t"] = 104.75
    assert run.observe(0, np.zeros(1), 1.0, np.ones(1)) is None
    clock["t"] = 105.0
    assert run.elapsed() == 5.0
    assert run.observe(1, np.zeros(1), 0.5, np.ones(1)) is Status.MAX_TIME


def test_max_time_inf_never_fires(clock):
    run = Run(tol=0.0)
    clock["t"] = 1e300
    assert run.observe(0, np.zeros(1), 1.0, np.ones(1)) is None


def test_max_time_zero_stops_at_the_start():
    # No fake clock: elapsed() >= 0 always.
    assert Run(tol=0.0, max_time=0.0).observe(0, np.zeros(1), 1.0, np.ones(1)) \
        is Status.MAX_TIME


def test_max_time_comes_after_the_rule(clock):
    clock["t"] = 1e6
    run = Run(tol=1.0, max_time=1.0, max_iter=0)
    assert run.observe(0, np.zeros(1), 1.0, np.zeros(1)) is Status.GTOL
    run = Run(tol=0.0, max_time=1.0, max_iter=0)
    clock["t"] = 2e6
    assert run.observe(0, np.zeros(1), 1.0, np.ones(1)) is Status.MAX_ITER
    run = Run(tol=0.0, max_time=1.0)
    clock["t"] = 3e6
    assert run.observe(0, np.zeros(1), NAN, np.ones(1)) is Status.DIVERGED


def test_result_time_is_the_elapsed_time(clock):
    run = Run()
    clock["t"] = 112.5
    res = run.result(np.zeros(1), 0.0, None, Status.GTOL, 0)
    assert res.time == 12.5


# --- Run.observe: callback --------------------------------------------------------------

class _Recorder:
    def __init__(self, answer=None, stop_at=None, exc=StopIteration):
        self.answer, self.stop_at, self.exc = answer, stop_at, exc
        self.calls = []

    def __call__(self, intermediate):
        self.calls.append(intermediate)
        if self.stop_at is not None and intermediate.nit == self.stop_at:
            raise self.exc
        return self.answer


def test_callback_returning_none_or_false_continues():
    for answer in (None, False, 0):
        cb = _Recorder(answer)
        run = Run(tol=0.0, callback=cb)
        assert [run.observe(k, np.zeros(1), 1.0 - k, np.ones(1)) for k in range(3)] \
            == [None, None, None]
        assert [c.nit for c in cb.calls] == [0, 1, 2]


@pytest.mark.parametrize("answer", [True, 1, np.True_])
def test_callback_returning_true_stops(answer):
    cb = _Recorder(answer)
    run = Run(tol=0.0, callback=cb)
    assert run.observe(0, np.zeros(1), 1.0, np.ones(1)) is Status.CALLBACK
    assert len(cb.calls) == 1


def test_callback_raising_stop_iteration_stops():
    cb = _Recorder(None, stop_at=2)
    run = Run(tol=0.0, callback=cb)
    statuses = [run.observe(k, np.zeros(1), 5.0 - k, np.ones(1)) for k in range(3)]
    assert statuses == [None, None, Status.CALLBACK]


def test_callback_other_exception_propagates():
    run = Run(tol=0.0, callback=_Recorder(None, stop_at=0, exc=KeyError("boom")))
    with pytest.raises(KeyError, match="boom"):
        run.observe(0, np.zeros(1), 1.0, np.ones(1))


def test_callback_receives_copies_and_values():
    cb = _Recorder()
    run = Run(tol=0.0, callback=cb)
    x, g = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    run.observe(4, x, 7.5, g)
    (res,) = cb.calls
    assert isinstance(res, OptimizeResult)
    assert res.nit == 4 and res.fun == 7.5 and res.grad_norm == 5.0
    np.testing.assert_array_equal(res.x, [1.0, 2.0])
    np.testing.assert_array_equal(res.jac, [3.0, 4.0])
    assert not np.shares_memory(res.x, x) and not np.shares_memory(res.jac, g)
    res.x[:] = -1.0  # the callback scribbling on its copy
    res.jac[:] = -1.0
    np.testing.assert_array_equal(x, [1.0, 2.0])
    np.testing.assert_array_equal(g, [3.0, 4.0])
    np.testing.assert_array_equal(run.best_x, [1.0, 2.0])
    np.testing.assert_array_equal(run.best_g, [3.0, 4.0])


def test_callback_without_gradient_gets_no_jac():
    cb = _Recorder()
    run = Run(callback=cb)
    run.observe(0, np.zeros(2), 1.0)
    assert cb.calls[0].jac is None and math.isnan(cb.calls[0].grad_norm)


def test_callback_not_called_when_another_test_stops(clock):
    cb = _Recorder(True)
    assert Run(tol=1.0, callback=cb).observe(0, np.zeros(1), 1.0, np.zeros(1)) \
        is Status.GTOL
    assert Run(callback=cb).observe(0, np.zeros(1), NAN, np.ones(1)) is Status.DIVERGED
    assert Run(tol=0.0, max_iter=0, callback=cb).observe(0, np.zeros(1), 1.0, np.ones(1)) \
        is Status.MAX_ITER
    run = Run(tol=0.0, max_time=1.0, callback=cb)
    clock["t"] = 101.0
    assert run.observe(0, np.zeros(1), 1.0, np.ones(1)) is Status.MAX_TIME
    assert cb.calls == []


# --- best iterate -------------------------------------------------------------------------

def test_best_iterate_is_a_copy_not_an_alias():
    run = Run(tol=0.0)
    x, g = np.array([1.0, 2.0]), np.array([0.5, 0.5])
    run.observe(0, x, 3.0, g)
    assert run.best_f == 3.0
    assert not np.shares_memory(run.best_x, x) and not np.shares_memory(run.best_g, g)
    x[:] = 99.0  # the solver updating its iterate in place
    g[:] = 99.0
    np.testing.assert_array_equal(run.best_x, [1.0, 2.0])
    np.testing.assert_array_equal(run.best_g, [0.5, 0.5])


def test_best_buffers_are_reused():
    run = Run(tol=0.0)
    run.observe(0, np.array([1.0, 2.0]), 3.0, np.array([1.0, 1.0]))
    bx, bg = run.best_x, run.best_g
    run.observe(1, np.array([5.0, 6.0]), 2.0, np.array([2.0, 2.0]))
    assert run.best_x is bx and run.best_g is bg
    np.testing.assert_array_equal(bx, [5.0, 6.0])
    np.testing.assert_array_equal(bg, [2.0, 2.0])


def test_worse_iterate_does_not_replace_the_best():
    run = Run(tol=0.0)
    run.observe(0, np.array([1.0]), 3.0, np.array([1.0]))
    run.observe(1, np.array([2.0]), 1.0, np.array([2.0]))
    run.observe(2, np.array([3.0]), 2.0, np.array([3.0]))
    assert run.best_f == 1.0
    np.testing.assert_array_equal(run.best_x, [2.0])
    np.testing.assert_array_equal(run.best_g, [2.0])


def test_best_g_is_none_when_the_best_iterate_has_no_gradient():
    run = Run(tol=0.0)
    run.observe(0, np.array([1.0]), 3.0, np.array([1.0]))
    run.observe(1, np.array([2.0]), 1.0, g_norm=1.0)
    assert run.best_g is None
    np.testing.assert_array_equal(run.best_x, [2.0])


def test_diverged_iterates_never_become_the_best():
    run = Run(tol=0.0, divergence_factor=1.0)
    run.observe(0, np.array([1.0]), 1.0, np.array([1.0]))
    assert run.observe(1, np.array([2.0]), -INF, np.array([1.0])) is Status.DIVERGED
    assert run.observe(2, np.array([3.0]), 0.5, np.array([INF])) is Status.DIVERGED
    assert run.best_f == 1.0
    np.testing.assert_array_equal(run.best_x, [1.0])


# --- result -------------------------------------------------------------------------------

def test_result_diverged_returns_the_best_finite_iterate():
    run = Run(tol=0.0)
    xs = [np.array([0.0, 0.0]), np.array([1.0, 1.0]), np.array([2.0, 2.0])]
    fs = [5.0, 1.0, 3.0]
    gs = [np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1.0, 1.0])]
    for k in range(3):
        assert run.observe(k, xs[k], fs[k], gs[k]) is None
    x_bad, g_bad = np.array([NAN, 4.0]), np.array([NAN, NAN])
    assert run.observe(3, x_bad, NAN, g_bad) is Status.DIVERGED
    res = run.result(x_bad, NAN, g_bad, Status.DIVERGED, 3)
    np.testing.assert_array_equal(res.x, xs[1])
    assert res.fun == 1.0
    np.testing.assert_array_equal(res.jac, gs[1])
    assert res.status == Status.DIVERGED and res.success is False
    assert res.message == MESSAGES[Status.DIVERGED] and res.nit == 3


def test_result_diverged_on_the_bound_returns_the_best_iterate():
    run = Run(tol=0.0, divergence_factor=2.0)
    run.observe(0, np.array([0.0]), 1.0, np.array([1.0]))
    run.observe(1, np.array([1.0]), 0.5, np.array([1.0]))
    assert run.observe(2, np.array([2.0]), 1e6, np.array([1.0])) is Status.DIVERGED
    res = run.result(np.array([2.0]), 1e6, np.array([1.0]), Status.DIVERGED, 2)
    assert res.fun == 0.5
    np.testing.assert_array_equal(res.x, [1.0])


@pytest.mark.parametrize("f0", [NAN, INF])
def test_result_diverged_at_the_start_returns_x0(f0):
    run = Run()
    x0 = np.array([1.0, -1.0])
    assert run.observe(0, x0, f0, np.ones(2)) is Status.DIVERGED
    res = run.result(x0, f0, np.ones(2), Status.DIVERGED, 0)
    np.testing.assert_array_equal(res.x, x0)
    assert res.fun == f0 or (math.isnan(f0) and math.isnan(res.fun))
    assert res.status == Status.DIVERGED and not res.success


def test_result_not_diverged_keeps_the_given_iterate():
    run = Run(tol=0.0, max_iter=2)
    run.observe(0, np.array([0.0]), 1.0, np.array([1.0]))
    run.observe(1, np.array([1.0]), 0.1, np.array([1.0]))
    assert run.observe(2, np.array([2.0]), 0.5, np.array([2.0])) is Status.MAX_ITER
    res = run.result(np.array([2.0]), 0.5, np.array([2.0]), Status.MAX_ITER, 2)
    np.testing.assert_array_equal(res.x, [2.0])
    assert res.fun == 0.5 and res.status == Status.MAX_ITER and not res.success
    assert res.message == MESSAGES[Status.MAX_ITER]


@pytest.mark.parametrize("status", list(Status))
def test_result_status_fields(status):
    res = Run().result(np.zeros(1), 0.0, None, int(status), 0)
    assert res.status == int(status) and type(res.status) is int
    assert res.success is (int(status) < 10)
    assert res.message == MESSAGES[status]
    assert res.jac is None


def test_result_fields_and_extra():
    run = Run()
    res = run.result([1, 2], np.float32(2.5), np.array([0.5, 0.5]), Status.GTOL,
                     np.int64(7), method="gd", n_line_search=4)
    assert isinstance(res.x, np.ndarray) and res.x.tolist() == [1, 2]
    assert type(res.fun) is float and res.fun == 2.5
    assert type(res.nit) is int and res.nit == 7
    assert res.method == "gd" and res.n_line_search == 4
    assert res.history is run.history
    assert "nfev" not in res and "n_passes" not in res  # no objective: no counters


def test_result_counters_int_and_fractional():
    obj = types.SimpleNamespace(nfev=5, njev=np.int64(4), nhev=2.0, n_passes=2.5)
    res = Run().result(np.zeros(1), 0.0, None, Status.GTOL, 1, objective=obj)
    assert (res.nfev, res.njev, res.nhev) == (5, 4, 2)
    assert type(res.nfev) is int and type(res.njev) is int and type(res.nhev) is int
    assert res.n_passes == 2.5 and type(res.n_passes) is float
    obj = types.SimpleNamespace(nfev=1, n_passes=3.0)  # njev, nhev missing: 0
    res = Run().result(np.zeros(1), 0.0, None, Status.GTOL, 1, objective=obj)
    assert res.n_passes == 3 and type(res.n_passes) is int
    assert res.njev == 0 and res.nhev == 0


# --- history -------------------------------------------------------------------------------

def test_history_records_every_iteration_by_default():
    run = Run(tol=0.0)
    for k in range(4):
        run.observe(k, np.zeros(1), 10.0 - k, np.array([float(k + 1)]), step_norm=0.1 * k,
                    step_size=0.5)
    h = run.history
    assert isinstance(h, History) and len(h) == 4
    assert h.iteration.tolist() == [0, 1, 2, 3]
    assert h.fun.tolist() == [10.0, 9.0, 8.0, 7.0]
    assert h.grad_norm.tolist() == [1.0, 2.0, 3.0, 4.0]
    np.testing.assert_allclose(h.step_norm, [0.0, 0.1, 0.2, 0.3])
    assert h.step_size.tolist() == [0.5] * 4
    assert np.all(np.diff(h.time) >= 0) and np.all(h.time >= 0)


@pytest.mark.parametrize("every", [2, 3, 5])
def test_history_every(every):
    run = Run(tol=0.0, history_every=every)
    for k in range(11):
        run.observe(k, np.zeros(1), 20.0 - k, np.ones(1))
    assert run.history.iteration.tolist() == list(range(0, 11, every))
    assert run.history.fun.tolist() == [20.0 - k for k in range(0, 11, every)]


def test_history_every_zero_disables_recording():
    run = Run(tol=0.0, history_every=0)
    for k in range(5):
        run.observe(k, np.zeros(1), 5.0 - k, np.ones(1))
    assert len(run.history) == 0
    assert run.result(np.zeros(1), 1.0, None, Status.MAX_ITER, 4).history is run.history


def test_history_records_the_diverging_iterate():
    run = Run(tol=0.0)
    run.observe(0, np.zeros(1), 1.0, np.ones(1))
    run.observe(1, np.zeros(1), NAN, np.ones(1))
    assert len(run.history) == 2 and math.isnan(run.history.fun[1])


def test_history_missing_values_are_nan():
    run = Run(tol=0.0)
    run.observe(0, np.zeros(1), 1.0)
    row = run.history.as_dict()
    assert math.isnan(row["grad_norm"][0]) and math.isnan(row["step_norm"][0])
    assert math.isnan(row["step_size"][0])
