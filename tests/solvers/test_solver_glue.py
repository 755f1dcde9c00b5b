"""The per-iteration glue of the second-order solvers: BLAS held on one thread for a
solve without threadpoolctl limits, the phase timers, the vector norm, the lazily
scaled Cholesky damping and the cached trial point of the objective line."""

import math

import numpy as np
import pytest

import fastopt as fo
from fastopt import _blas_threads as blas_switch
from fastopt.solvers import _blas
from fastopt.solvers._cholesky import checked_damped_cholesky_solve, damped_cholesky_solve
from fastopt.solvers._template import norm
from fastopt.solvers.line_search import ObjectiveLine

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads():
    return [i["num_threads"] for i in threadpoolctl.threadpool_info()
            if i["user_api"] == "blas"]


def _logistic(backend):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 10))
    y = np.where(X @ rng.standard_normal(10) + rng.standard_normal(200) > 0, 1.0, -1.0)
    return fo.problems.Logistic(X, y, lam=1e-3, backend=backend)


@pytest.mark.parametrize("method", ["newton", "newton-cg", "lbfgs", "sketch-newton"])
def test_solve_holds_blas_on_one_thread_without_threadpoolctl_limits(monkeypatch,
                                                                    method):
    """Inside a solve on a compiled linear model every BLAS library runs one thread (seen
    from the callback); no threadpoolctl limit is entered (each would query every
    library); the settings are restored afterwards."""
    if not blas_switch.blas_libraries():
        pytest.skip("no BLAS library found by threadpoolctl")

    def refuse(*args, **kwargs):
        raise AssertionError("a threadpoolctl limit was entered during the solve")

    monkeypatch.setattr(threadpoolctl.ThreadpoolController, "limit", refuse)
    obj = _logistic("auto")
    before = _blas_threads()
    inside = []
    # Only sketch-newton draws random numbers; the others refuse a seed.
    seed = {"seed": 0} if method == "sketch-newton" else {}
    res = fo.minimize(obj, np.zeros(10), method=method, tol=1e-10, **seed,
                      callback=lambda r: inside.append(_blas_threads()))
    assert res.success, res.message
    assert inside and all(n == 1 for threads in inside for n in threads)
    assert _blas_threads() == before
    assert blas_switch.single_thread_depth() == 0


@pytest.mark.parametrize("method", ["newton-cg", "lbfgs"])
def test_multinomial_solve_holds_blas_on_one_thread(method):
    """A multinomial fit on compiled kernels is a linear model too: BLAS on one thread
    inside its solve, restored after."""
    if not blas_switch.blas_libraries():
        pytest.skip("no BLAS library found by threadpoolctl")
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 6))
    obj = fo.problems.Multinomial(X, rng.integers(0, 4, 300), lam=1e-2, backend="auto")
    before = _blas_threads()
    inside = []
    res = fo.minimize(obj, np.zeros(obj.n_params), method=method, tol=1e-8,
                      callback=lambda r: inside.append(_blas_threads()))
    assert res.success, res.message
    assert inside and all(n == 1 for threads in inside for n in threads)
    assert _blas_threads() == before


def test_small_blas_sets_and_restores_outside_a_solve():
    if not blas_switch.blas_libraries():
        pytest.skip("no BLAS library found by threadpoolctl")
    libs = blas_switch.blas_libraries()
    saved = [lib.num_threads for lib in libs]
    try:
        for lib in libs:
            lib.set_num_threads(2)
        with _blas.small_blas(10):
            assert [lib.num_threads for lib in libs] == [1] * len(libs)
            with _blas.small_blas(10):  # nested: still one thread, restored in order
                assert [lib.num_threads for lib in libs] == [1] * len(libs)
            assert [lib.num_threads for lib in libs] == [1] * len(libs)
        assert [lib.num_threads for lib in libs] == [2] * len(libs)
        with _blas.small_blas(_blas.SINGLE_THREAD_MAX_ORDER + 1):  # large: untouched
            assert [lib.num_threads for lib in libs] == [2] * len(libs)
    finally:
        for lib, n in zip(libs, saved, strict=True):
            lib.set_num_threads(n)


def test_solve_with_many_parameters_holds_one_thread_and_large_factorizations_get_threads():
    """A solve with p > SINGLE_THREAD_MAX_ORDER also holds BLAS on one thread (its vector
    work is not worth a spinning team); a large factorization inside it gets the
    library's count back for its block, then one thread again; both restored after."""
    libs = blas_switch.blas_libraries()
    if not libs:
        pytest.skip("no BLAS library found by threadpoolctl")
    saved = [lib.num_threads for lib in libs]
    rng = np.random.default_rng(0)
    n = _blas.SINGLE_THREAD_MAX_ORDER + 5
    X = rng.standard_normal((40, n))
    obj = fo.problems.Logistic(X, np.sign(X[:, 0] + 0.1), lam=1e-2, backend="numba")
    try:
        for lib in libs:
            lib.set_num_threads(2)
        with _blas.solver_blas(obj):
            assert [lib.num_threads for lib in libs] == [1] * len(libs)
            with _blas.small_blas(n):
                assert [lib.num_threads for lib in libs] == [2] * len(libs)
            assert [lib.num_threads for lib in libs] == [1] * len(libs)
            with _blas.small_blas(10):  # small: stays on one thread
                assert [lib.num_threads for lib in libs] == [1] * len(libs)
        assert [lib.num_threads for lib in libs] == [2] * len(libs)
        with blas_switch.ThreadsBack():  # outside a solve: nothing to give back
            assert [lib.num_threads for lib in libs] == [2] * len(libs)
        assert [lib.num_threads for lib in libs] == [2] * len(libs)
    finally:
        for lib, k in zip(libs, saved, strict=True):
            lib.set_num_threads(k)


def test_phase_timings_cover_the_solve():
    res = fo.minimize(_logistic("auto"), np.zeros(10), method="newton", tol=1e-10)
    assert set(res.timings) >= {"gradient", "hessian", "solve", "line_search"}
    assert all(t >= 0.0 for t in res.timings.values())
    assert 0.0 < sum(res.timings.values()) <= res.time


def test_phase_timer_counts_a_block_that_raises():
    from fastopt.solvers._template import _Phase

    timings = {}
    with pytest.raises(RuntimeError):
        with _Phase(timings, "solve"):
            raise RuntimeError
    with _Phase(timings, "solve"):
        with _Phase(timings, "solve"):  # nested uses of one name both count
            pass
    assert timings["solve"] > 0.0


def test_norm_is_numpy_norm():
    rng = np.random.default_rng(3)
    for v in (rng.standard_normal(17), np.zeros(3), np.array([1e200, 1e200]),
              np.array([np.nan, 1.0]), np.empty(0)):
        with np.errstate(over="ignore"):  # both overflow to inf alike
            expected = float(np.linalg.norm(v))
            got = norm(v)
        assert got == expected or (math.isnan(got) and math.isnan(expected))


def test_damping_scale_unchanged_by_lazy_evaluation():
    """The first shift is tau0 max(1, max |diag H|), computed only once H has failed."""
    H = np.diag([50.0, -1.0, 2.0])
    b = np.ones(3)
    sol = damped_cholesky_solve(H, b, tau0=1e-2)
    # 0.5 (= 1e-2 * 50) fails, then 5 is the first shift that makes H + tau I PD.
    assert sol.damping == pytest.approx(5.0)
    assert sol.n_factorizations == 3
    np.testing.assert_allclose((H + sol.damping * np.eye(3)) @ sol.x, b, rtol=1e-12)
    same = checked_damped_cholesky_solve(H, b, 1e-2)
    assert same.damping == sol.damping
    np.testing.assert_array_equal(same.x, sol.x)
    pd = checked_damped_cholesky_solve(np.diag([4.0, 1.0]), np.ones(2), 1e-8)
    assert pd.damping == 0.0 and pd.n_factorizations == 1
    np.testing.assert_allclose(pd.x, [0.25, 1.0])
    with pytest.raises(ValueError, match="tau0"):
        damped_cholesky_solve(H, b, tau0=0.0)


def test_objective_line_point_is_the_evaluated_point():
    obj = _logistic("numpy")
    x = np.full(10, 0.01)
    d = -obj.grad(x)
    line = ObjectiveLine(obj, x, d, fused=True)
    line.slope(0.5)
    obj.reset_counters()
    xt, f, g = line.point(0.5)
    assert obj.nfev == 0  # nothing re-evaluated
    np.testing.assert_array_equal(xt, x + 0.5 * d)
    assert f == obj.value(xt)
    np.testing.assert_array_equal(g, obj.grad(xt))
    line.value(0.25)  # another trial: a new point, the accepted one stays intact
    np.testing.assert_array_equal(xt, x + 0.5 * d)
