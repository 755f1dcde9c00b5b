"""First-order methods end to end: rates on a9a, Nesterov vs GD, the heavy-ball
counterexample, the momentum study, mini-batches, compiled vs Python loop."""

import math
import time

import numpy as np
import pytest

import fastopt as fo
from fastopt._result import Status
from fastopt.experiments import heavy_ball_counterexample, momentum_sweep
from fastopt.solvers import fo_methods

#: Every first-order method of the registry (a new entry is tested without editing this file).
FIRST_ORDER = sorted(fo_methods.METHODS)


@pytest.fixture(scope="module")
def a9a():
    return fo.datasets.load("a9a")


@pytest.fixture(scope="module")
def small_logistic():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 10))
    y = np.where(X @ rng.standard_normal(10) + 0.5 * rng.standard_normal(300) > 0, 1.0, -1.0)
    return fo.problems.Logistic(X, y, lam=1e-2, backend="numba")


def _lsq_with_condition(kappa, m=200, n=20, seed=0, sparse=False):
    """LeastSquares whose Hessian X^T X / m has eigenvalues spread over [1/kappa, 1]."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eig = np.geomspace(1.0 / kappa, 1.0, n)
    X = (U * np.sqrt(eig * m)) @ V.T
    y = X @ rng.standard_normal(n) + 0.1 * rng.standard_normal(m)
    if sparse:
        import scipy.sparse as sp

        X = sp.csr_matrix(X)
    return fo.problems.LeastSquares(X, y, lam=0.0, backend="numba")


# --- rates on a9a ------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["heavy-ball", "nesterov"])
def test_momentum_methods_reach_1e_8_on_a9a_kappa_5e4(a9a, method):
    X, y = a9a
    m = X.shape[0]
    obj = fo.problems.Logistic(X, y, lam=1.0 / m, backend="numba")
    L, mu = obj.lipschitz(), obj.strong_convexity()
    kappa = L / mu
    assert 3e4 < kappa < 1e5
    t = time.perf_counter()
    res = fo.minimize(obj, np.zeros(obj.n_params), method=method, tol=1e-8, max_iter=20_000,
                      history_every=100)
    elapsed = time.perf_counter() - t
    g0 = res.history.grad_norm[0]
    print(f"\n{method} on a9a (kappa={kappa:.3g}): {res.nit} iterations, {elapsed:.2f} s, "
          f"loop={res.loop}")
    assert res.success and np.linalg.norm(obj.grad(res.x)) <= 1e-8
    assert res.loop == "compiled"
    # Accelerated rate: error ~ (1 - 1/sqrt(kappa))^k. The run must need no more than a
    # small multiple of sqrt(kappa) log(g0 / tol), and far fewer than GD's kappa log(.).
    accelerated = math.sqrt(kappa) * math.log(g0 * math.sqrt(kappa) / 1e-8)
    assert res.nit <= 2 * accelerated
    assert res.nit < kappa / 10
    assert res.nfev == res.nit + 1 and res.n_passes == res.nit + 1


def test_gd_reaches_1e_8_on_a9a_lam_1e_2(a9a):
    X, y = a9a
    obj = fo.problems.Logistic(X, y, lam=1e-2, backend="numba")
    kappa = obj.lipschitz() / obj.strong_convexity()
    t = time.perf_counter()
    res = fo.minimize(obj, np.zeros(obj.n_params), method="gd", tol=1e-8, max_iter=20_000,
                      history_every=50)
    elapsed = time.perf_counter() - t
    print(f"\ngd on a9a (lam=1e-2, kappa={kappa:.3g}): {res.nit} iterations, {elapsed:.2f} s")
    assert res.success and res.step_rule == "lipschitz"
    g0 = res.history.grad_norm[0]
    # GD with 1/L: ||grad|| contracts at least by (1 - 1/kappa) per step.
    assert res.nit <= kappa * math.log(g0 * kappa / 1e-8)
    # The global L overestimates the local curvature, so it is faster than the worst case,
    # but it still needs on the order of kappa iterations, more than Nesterov's sqrt(kappa).
    assert res.nit > math.sqrt(kappa) * math.log(g0 / 1e-8)


def test_nesterov_needs_far_fewer_iterations_than_gd_at_kappa_1e4():
    obj = _lsq_with_condition(1e4)
    L, mu = obj.lipschitz(), obj.strong_convexity()
    assert L / mu == pytest.approx(1e4, rel=1e-6)
    kw = dict(tol=1e-6, max_iter=400_000, history_every=0)
    gd = fo.minimize(obj, np.zeros(20), method="gd", **kw)
    nag = fo.minimize(obj, np.zeros(20), method="nesterov", **kw)
    print(f"\nkappa=1e4 least squares: gd {gd.nit} iterations, nesterov {nag.nit}")
    assert gd.success and nag.success
    assert nag.nit * 10 < gd.nit
    assert nag.nit <= 3 * math.sqrt(1e4) * math.log(1e10)


def test_gd_exact_step_on_quadratics():
    obj = _lsq_with_condition(100.0, sparse=True)
    x0 = np.zeros(20)
    g0 = obj.grad(x0)
    exact = fo.minimize(obj, x0, method="gd", step="exact", tol=1e-8, max_iter=10_000)
    fixed = fo.minimize(obj, x0, method="gd", tol=1e-8, max_iter=10_000)
    assert exact.success and exact.nit < fixed.nit
    first = exact.history.step_size[1]
    assert first == pytest.approx(g0 @ g0 / (g0 @ obj.hvp(x0, g0)), rel=1e-12)
    assert exact.nhev == exact.nit and exact.loop == "compiled"
    # The exact step minimizes f along -g: f decreases monotonically.
    assert np.all(np.diff(exact.history.fun) <= 1e-15)
    py = fo.minimize(obj, x0, method="gd", step="exact", tol=1e-8, max_iter=10_000,
                     loop="python")
    np.testing.assert_allclose(py.x, exact.x, rtol=1e-10, atol=1e-12)


def test_gd_armijo_on_a_function():
    f = fo.problems.Function(lambda x: float(np.sum(np.exp(x) - x) + 0.5 * x @ x),
                             grad=lambda x: np.exp(x) - 1 + x)
    res = fo.minimize(f, np.full(3, 2.0), method="gd", step="armijo", lr=10.0, tol=1e-6,
                      max_iter=500)
    assert res.success and res.status == Status.GTOL and res.step_rule == "armijo"
    h = res.history
    # Sufficient decrease at every step: f_{k+1} <= f_k - c1 alpha_k ||g_k||^2.
    assert np.all(h.fun[1:] <= h.fun[:-1] - 1e-4 * h.step_size[1:] * h.grad_norm[:-1] ** 2)
    np.testing.assert_allclose(res.x, 0.0, atol=1e-6)
    assert res.nfev > res.njev  # the trial points cost function values only


# --- the heavy-ball counterexample and the momentum study ---------------------------------------

def test_heavy_ball_optimal_quadratic_parameters_on_piecewise_quadratic():
    study = heavy_ball_counterexample(starts=(-3.0, 0.5, 3.0, 10.0), max_iter=2000)
    assert study["lr"] == pytest.approx(1 / 9) and study["momentum"] == pytest.approx(4 / 9)
    runs = {r["x0"]: r for r in study["runs"]}
    print("\nheavy ball, alpha*=1/9, rho*=4/9 on the piecewise quadratic:")
    for r in study["runs"]:
        print(f"  x0={r['x0']:+.1f}: converged={r['converged']} nit={r['nit']} "
              f"tail={np.round(r['tail'][-3:], 4)}")
    # From x0 = -3 it never converges: it locks into a cycle of period 3 of amplitude ~2.
    cyc = runs[-3.0]
    assert not cyc["converged"] and cyc["status"] == Status.MAX_ITER
    tail = cyc["tail"]
    np.testing.assert_allclose(tail[3:], tail[:-3], atol=1e-9)
    assert np.ptp(tail) > 3.0 and not np.allclose(tail[1:], tail[:-1])
    # From other starts the same parameters do converge.
    for x0 in (0.5, 3.0, 10.0):
        assert runs[x0]["converged"] and abs(runs[x0]["final_x"]) < 1e-8


def test_momentum_sweep_on_l2_logistic(small_logistic):
    rhos = np.array([0.0, 0.3, 0.6, 0.8, 0.9, 0.95, 0.99])
    sweep = momentum_sweep(small_logistic, rhos, tol=1e-8, max_iter=20_000)
    print("\nmomentum sweep (L2 logistic, lr = 1/L): iterations to ||grad f|| <= 1e-8")
    print("  rho        " + " ".join(f"{r:7.2f}" for r in rhos))
    for method in ("heavy-ball", "nesterov"):
        print(f"  {method:10s} " + " ".join(f"{n:7d}" for n in sweep[method]["nit"]))
    for method in ("heavy-ball", "nesterov"):
        nit = sweep[method]["nit"]
        assert sweep[method]["converged"][:-1].all()
        # Momentum helps: the best rho is well above 0 and beats plain GD (rho = 0) by 2x.
        assert sweep[method]["best_rho"] >= 0.6
        assert nit.min() * 2 < nit[0]
        # Too much momentum hurts again: rho = 0.99 is slower than the best.
        assert nit[-1] > nit.min()
    # Nesterov at rho = 0 is gradient descent: the same iteration count as heavy ball.
    assert sweep["nesterov"]["nit"][0] == sweep["heavy-ball"]["nit"][0]


def test_nesterov_adaptive_restart(small_logistic):
    plain = fo.minimize(small_logistic, np.zeros(10), method="nesterov",
                        momentum=fo.schedules.nesterov_momentum(), tol=1e-10, max_iter=20_000)
    restarted = fo.minimize(small_logistic, np.zeros(10), method="nesterov",
                            momentum=fo.schedules.nesterov_momentum(), restart="gradient",
                            tol=1e-10, max_iter=20_000)
    py = fo.minimize(small_logistic, np.zeros(10), method="nesterov",
                     momentum=fo.schedules.nesterov_momentum(), restart="gradient",
                     tol=1e-10, max_iter=20_000, loop="python")
    assert restarted.success and restarted.n_restarts >= 1
    assert restarted.nit < plain.nit
    assert py.nit == restarted.nit and py.n_restarts == restarted.n_restarts
    fn = fo.minimize(small_logistic, np.zeros(10), method="nesterov", restart="function",
                     momentum=fo.schedules.nesterov_momentum(), tol=1e-10, max_iter=20_000)
    assert fn.success and fn.loop == "python"


# --- the compiled loop against the Python loop ---------------------------------------------------

@pytest.mark.parametrize("method", FIRST_ORDER)
def test_compiled_loop_equals_python_loop(small_logistic, method):
    kw = dict(tol=1e-7, max_iter=300, history_every=7)
    if method not in ("gd", "heavy-ball", "momentum", "nesterov"):
        # the adaptive methods have a fixed default lr: give them a schedule to follow
        kw["lr"] = fo.schedules.cosine(0.05, 300, 0.01)
    a = fo.minimize(small_logistic, np.zeros(10), method=method, loop="compiled", **kw)
    b = fo.minimize(small_logistic, np.zeros(10), method=method, loop="python", **kw)
    assert a.loop == "compiled" and b.loop == "python"
    assert a.nit == b.nit and a.status == b.status
    np.testing.assert_allclose(a.x, b.x, rtol=1e-12, atol=1e-14)
    for col in ("iteration", "fun", "grad_norm", "step_norm", "step_size"):
        np.testing.assert_allclose(getattr(a.history, col), getattr(b.history, col),
                                   rtol=1e-10, atol=1e-14)
    assert (a.nfev, a.njev, a.n_passes) == (b.nfev, b.njev, b.n_passes)
    assert np.all(np.diff(a.history.time) >= 0) and a.history.time[-1] <= a.time


def test_sam_with_several_bases(small_logistic):
    for base in ("gd", "adam"):
        res = fo.minimize(small_logistic, np.zeros(10), method="sam", base=base, rho=1e-3,
                          lr=0.5 if base == "gd" else 0.01, tol=1e-4, max_iter=3000)
        assert res.success and res.method == "sam" and res.base == base
        assert res.njev == 2 * res.nit + 1  # two gradients per step
    with pytest.raises(ValueError, match="beta3"):
        fo.minimize(small_logistic, np.zeros(10), method="sam", base="adam",
                    base_options={"beta3": 0.1})


# --- mini-batches ---------------------------------------------------------------------------------

@pytest.mark.parametrize("loop", ["compiled", "python"])
def test_minibatch_same_seed_same_result(small_logistic, loop):
    kw = dict(method="adam", lr=0.05, batch_size=32, max_iter=200, tol=0.0, loop=loop)
    a = fo.minimize(small_logistic, np.zeros(10), seed=7, **kw)
    b = fo.minimize(small_logistic, np.zeros(10), seed=7, **kw)
    c = fo.minimize(small_logistic, np.zeros(10), seed=8, **kw)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.allclose(a.x, c.x)
    # 200 steps of 32 rows over 300 rows: epochs end at steps 10, 20, ... (the last batch
    # of an epoch has 300 - 9 * 32 = 12 rows); the full gradient is evaluated at the start,
    # at every epoch end and at the end of the run.
    assert a.nit == 200
    n_epochs = 20
    assert a.njev == 200 + 1 + n_epochs
    assert a.n_passes == pytest.approx(200 / 10 + 1 + n_epochs)
    np.testing.assert_array_equal(a.history.iteration, np.arange(0, 201, 10))
    assert a.fun < small_logistic.value(np.zeros(10))


def test_minibatch_compiled_equals_python(small_logistic):
    kw = dict(method="nesterov", lr=0.05, momentum=0.5, batch_size=50, max_iter=60, tol=0.0,
              seed=3)
    a = fo.minimize(small_logistic, np.zeros(10), loop="compiled", **kw)
    b = fo.minimize(small_logistic, np.zeros(10), loop="python", **kw)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-12)
    assert a.njev == b.njev


def test_compiled_loop_falls_back_where_it_cannot_run(small_logistic):
    res = fo.minimize(small_logistic, np.zeros(10), method="gd", max_iter=5,
                      callback=lambda intermediate_result: False)
    assert res.loop == "python"
    with pytest.raises(ValueError, match="callback"):
        fo.minimize(small_logistic, np.zeros(10), method="gd", max_iter=5, loop="compiled",
                    callback=lambda intermediate_result: False)
    f = fo.problems.Function(lambda x: float(x @ x), grad=lambda x: 2 * x)
    assert fo.minimize(f, np.ones(2), method="gd", lr=0.1).loop == "python"


# --- hyper-parameter schedules and option combinations ----------------------------------------

@pytest.mark.parametrize("loop", ["compiled", "python"])
@pytest.mark.parametrize("method,opts,name", [
    ("gd", {"lr": lambda t: 0.1 if t < 3 else -0.1}, "lr"),
    ("adam", {"lr": lambda t: 0.01 if t < 3 else -0.01}, "lr"),
    ("heavy-ball", {"lr": 0.1, "momentum": lambda t: 0.5 if t < 3 else 1.5}, "momentum"),
    ("nesterov", {"lr": 0.1, "momentum": lambda t: -0.5 if t > 3 else 0.5}, "momentum"),
])
def test_schedule_values_are_checked_in_both_loops(small_logistic, loop, method, opts, name):
    with pytest.raises(ValueError, match=rf"{name} \(schedule value at step [34]\)"):
        fo.minimize(small_logistic, np.zeros(10), method=method, tol=0.0, max_iter=10,
                    loop=loop, **opts)
    # A value the run never reaches is not refused (the same in both loops).
    res = fo.minimize(small_logistic, np.zeros(10), method=method, tol=0.0, max_iter=3,
                      loop=loop, **opts)
    assert res.nit == 3 and res.loop == loop


@pytest.mark.parametrize("loop", ["compiled", "python"])
def test_schedule_decaying_to_zero_runs_and_is_not_called_converged(small_logistic, loop):
    # cosine(end=0) reaches lr = 0 at step 5: x stops moving, which is neither an error
    # nor convergence (the step-norm test is off with the default xtol = 0).
    res = fo.minimize(small_logistic, np.zeros(10), method="gd", tol=0.0, max_iter=20,
                      lr=fo.schedules.cosine(0.1, 5), loop=loop)
    assert res.nit == 20 and not res.success
    assert res.status == fo.Status.MAX_ITER


@pytest.mark.parametrize("opts", [{"step": "armijo"}, {"step": "exact"}])
def test_gd_line_search_steps_refuse_mini_batches(small_logistic, opts):
    with pytest.raises(ValueError, match="batch_size"):
        fo.minimize(small_logistic, np.zeros(10), method="gd", batch_size=32, **opts)


def test_function_restart_refuses_mini_batches(small_logistic):
    with pytest.raises(ValueError, match="batch_size"):
        fo.minimize(small_logistic, np.zeros(10), method="nesterov", lr=0.1,
                    restart="function", batch_size=32)


def test_kernel_arguments_are_the_objectives_own_arrays(small_logistic):
    args = small_logistic.kernel_arguments()
    assert args.loss == small_logistic.loss.code == 0 and args.data[0] is small_logistic.X
    assert args.y is small_logistic.y and args.sw is small_logistic.sw
    assert args.lam == small_logistic.lam and args.work.shape[1] == small_logistic.n_params
