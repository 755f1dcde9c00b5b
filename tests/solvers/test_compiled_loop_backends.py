"""The compiled first-order loop on each backend: the Cython loop against the numba loop
and against the Python loop, on dense and CSR data, float32 and float64, with and without
an intercept, full batch and mini-batch.

The two compiled loops run the same iteration over kernels that differ only in rounding
(summation order, fused multiply-adds), so they must agree iterate for iterate: same
``nit``, ``status`` and counters, and x and the history to 1e-12 relative. History
columns that shrink towards 0 (the gradient norm, the step norm) are compared with an
absolute floor of 1e-12 times the column's largest value: near the optimum they are
differences of O(1) quantities, whose rounding is absolute, not relative. RMSProp's step
``g / sqrt(r)`` is scale-free, so once a gradient entry shrinks to rounding level the
rounding of the passes moves the iterate by O(lr) (the Python loops of the two backends
part likewise); it is compared over a run short enough to stay away from that regime.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import fastopt as fo
from fastopt.kernels import available_backends, steps
from fastopt.solvers import compiled_loop, fo_methods

pytestmark = pytest.mark.skipif(
    not {"cython", "numba"} <= set(available_backends()),
    reason="needs the Cython and numba backends",
)

#: Every first-order method of the registry.
FIRST_ORDER = sorted(fo_methods.METHODS)
LAYOUTS = ["dense-f64", "dense-f32", "csr-f64", "csr-f32"]
RTOL = 1e-12


def _data(layout, m=240, n=9, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    if layout.startswith("csr"):
        X[rng.random((m, n)) < 0.6] = 0.0
    w = rng.standard_normal(n)
    z = X @ w + 0.3
    y_cls = np.where(z + 0.5 * rng.standard_normal(m) > 0, 1.0, -1.0)
    y_reg = z + 0.1 * rng.standard_normal(m)
    X = X.astype(np.float32 if layout.endswith("f32") else np.float64)
    if layout.startswith("csr"):
        X = sp.csr_matrix(X)
    return X, y_cls, y_reg


def _objective(kind, layout, backend, intercept):
    X, y_cls, y_reg = _data(layout)
    if kind == "logistic":
        return fo.problems.Logistic(X, y_cls, lam=1e-2, fit_intercept=intercept,
                                    backend=backend)
    return fo.problems.LeastSquares(X, y_reg, lam=1e-3, fit_intercept=intercept,
                                    backend=backend)


def _options(method, batch):
    kw = dict(tol=1e-9, max_iter=150, history_every=4)
    if batch:
        kw.update(batch_size=batch, seed=11)
    if method in ("adagrad", "adam", "adamw", "nadam"):
        kw["lr"] = fo.schedules.cosine(0.05, 150, 0.01)
    elif method == "rmsprop":
        kw.update(lr=0.01, max_iter=25)
    elif batch:
        kw["lr"] = 0.02
    if method == "nesterov" and not batch:
        kw["restart"] = "gradient"
    return kw


def assert_same_run(a, b, rtol=RTOL):
    assert a.loop == b.loop == "compiled"
    assert (a.nit, a.status, a.nfev, a.njev, a.nhev) == (b.nit, b.status, b.nfev, b.njev,
                                                         b.nhev)
    assert a.n_passes == pytest.approx(b.n_passes, rel=1e-12)
    scale = max(np.max(np.abs(b.x)), 1e-300)
    np.testing.assert_allclose(a.x, b.x, rtol=rtol, atol=rtol * scale)
    assert a.fun == pytest.approx(b.fun, rel=rtol)
    np.testing.assert_array_equal(a.history.iteration, b.history.iteration)
    for col in ("fun", "grad_norm", "step_norm", "step_size"):
        u, v = getattr(a.history, col), getattr(b.history, col)
        assert np.array_equal(np.isnan(u), np.isnan(v)), col
        floor = rtol * np.nanmax(np.abs(v)) if np.any(np.isfinite(v)) else 0.0
        np.testing.assert_allclose(u, v, rtol=rtol, atol=floor, err_msg=col)
    assert np.all(np.diff(a.history.time) >= 0) and a.history.time[-1] <= a.time


# --- the Cython loop against the numba loop -------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("method", FIRST_ORDER)
def test_cython_loop_matches_numba_loop(method, layout):
    for kind, intercept, batch in [("logistic", False, None), ("logistic", True, 32),
                                   ("lsq", True, None), ("lsq", False, 50)]:
        kw = _options(method, batch)
        runs = {}
        for backend in ("cython", "numba"):
            obj = _objective(kind, layout, backend, intercept)
            runs[backend] = fo.minimize(obj, np.zeros(obj.n_params), method=method, **kw)
        assert_same_run(runs["cython"], runs["numba"])


@pytest.mark.parametrize("layout", ["dense-f64", "csr-f32"])
def test_exact_step_and_restarts_match(layout):
    # The exact step ||g||^2 / <g, H g> is a ratio of quantities that vanish at the
    # optimum: the rounding of g is absolute (about 1e-17 here), so the step's relative
    # rounding grows like 1e-17 / ||g|| as the run converges; tol = 1e-3 stops it while
    # that is still far below 1e-12.
    for options in [dict(method="gd", step="exact", tol=1e-3),
                    dict(method="nesterov", lr=0.5, restart="gradient", tol=1e-6,
                         momentum=fo.schedules.nesterov_momentum())]:
        res = {}
        for backend in ("cython", "numba"):
            obj = _objective("logistic", layout, backend, True)
            res[backend] = fo.minimize(obj, np.zeros(obj.n_params), max_iter=400,
                                       history_every=1, **options)
        assert_same_run(res["cython"], res["numba"])
        assert res["cython"].success
        if options["method"] == "gd":
            assert res["cython"].nhev == res["cython"].nit > 5
        else:
            assert res["cython"].n_restarts == res["numba"].n_restarts >= 1


def test_divergence_is_reported_alike():
    # lr far above 2/L: least squares diverges; both loops stop at the same iteration and
    # return the best finite iterate.
    res = {}
    for backend in ("cython", "numba"):
        obj = _objective("lsq", "dense-f64", backend, False)
        res[backend] = fo.minimize(obj, np.ones(obj.n_params), method="gd", lr=50.0,
                                   max_iter=10_000, history_every=1)
    a, b = res["cython"], res["numba"]
    assert a.status == b.status == fo.Status.DIVERGED and a.nit == b.nit
    np.testing.assert_allclose(a.x, b.x, rtol=1e-10)
    assert np.isfinite(a.fun)


# --- the Cython loop against the Python loop (same kernels) ---------------------------------

@pytest.mark.parametrize("layout", ["dense-f64", "csr-f64", "dense-f32"])
@pytest.mark.parametrize("method", FIRST_ORDER)
def test_cython_loop_matches_python_loop(method, layout):
    for batch in (None, 32):
        kw = _options(method, batch)
        obj = _objective("logistic", layout, "cython", batch is None)
        a = fo.minimize(obj, np.zeros(obj.n_params), method=method, **kw)
        b = fo.minimize(obj, np.zeros(obj.n_params), method=method, loop="python", **kw)
        assert a.loop == "compiled" and b.loop == "python"
        assert (a.nit, a.status, a.nfev, a.njev) == (b.nit, b.status, b.nfev, b.njev)
        scale = np.max(np.abs(b.x))
        np.testing.assert_allclose(a.x, b.x, rtol=RTOL, atol=RTOL * scale)
        for col in ("fun", "grad_norm", "step_norm", "step_size"):
            u, v = getattr(a.history, col), getattr(b.history, col)
            np.testing.assert_allclose(u, v, rtol=RTOL, atol=RTOL * np.nanmax(np.abs(v)),
                                       err_msg=col)


def test_minibatch_rows_are_the_same_on_every_backend():
    # Same seed, same permutations: with a single step per epoch boundary the Python
    # loop on NumPy kernels, the numba loop and the Cython loop visit the same rows.
    kw = dict(method="gd", lr=0.1, batch_size=7, max_iter=120, tol=0.0, seed=2)
    xs = {}
    for backend in ("numpy", "numba", "cython"):
        obj = _objective("lsq", "dense-f64", backend, True)
        res = fo.minimize(obj, np.zeros(obj.n_params), **kw)
        assert res.loop == ("python" if backend == "numpy" else "compiled")
        xs[backend] = res.x
    np.testing.assert_allclose(xs["cython"], xs["numba"], rtol=1e-12)
    np.testing.assert_allclose(xs["cython"], xs["numpy"], rtol=1e-11)
    other = fo.minimize(_objective("lsq", "dense-f64", "cython", True), np.zeros(10),
                        **{**kw, "seed": 3})
    assert not np.allclose(other.x, xs["cython"], rtol=1e-6)


# --- dispatch ----------------------------------------------------------------------------------

def test_dispatch_needs_one_compiled_backend_for_objective_and_updates():
    obj = _objective("logistic", "dense-f64", "cython", False)
    kw = dict(method="adam", max_iter=5)
    assert fo.minimize(obj, np.zeros(9), **kw).loop == "compiled"
    # updates from another backend than the objective's: the Python loop
    res = fo.minimize(obj, np.zeros(9), backend="numpy", **kw)
    assert res.loop == "python"
    with pytest.raises(ValueError, match="backend with one"):
        fo.minimize(obj, np.zeros(9), backend="numpy", loop="compiled", **kw)
    numpy_obj = _objective("logistic", "dense-f64", "numpy", False)
    assert fo.minimize(numpy_obj, np.zeros(9), **kw).loop == "python"
    assert compiled_loop.loop_module("cython").fo_loop is not None


def test_gradient_loop_twins_agree():
    results = {}
    for backend in ("cython", "numba"):
        obj = _objective("logistic", "csr-f64", backend, True)
        args = obj.kernel_arguments()
        g = np.empty(obj.n_params)
        w = np.linspace(-0.5, 0.5, obj.n_params)
        f = compiled_loop.loop_module(backend).gradient_loop(
            args.loss, args.data, args.y, args.sw, args.lam, args.work, w, g, 3)
        results[backend] = f, g
    assert results["cython"][0] == pytest.approx(results["numba"][0], rel=1e-13)
    np.testing.assert_allclose(results["cython"][1], results["numba"][1], rtol=1e-12,
                               atol=1e-15)


def test_cython_loop_checks_its_buffers():
    loop = compiled_loop.loop_module("cython")
    obj = _objective("logistic", "dense-f64", "cython", False)
    args = obj.kernel_arguments()
    p = obj.n_params
    ok = dict(kind=args.loss, data=args.data, y=args.y, sw=args.sw, lam=args.lam,
              work=args.work, x=np.zeros(p), g=np.empty(p), gb=np.empty(p), x_prev=np.empty(p),
              hv=np.empty(p), s1=np.zeros(p), s2=np.zeros(0), s3=np.zeros(0), method=1,
              exact=False, lr_tab=np.full(1, 0.1), mom_tab=np.zeros(1), restart=False,
              fparams=np.full(8, 0.5), tol=0.0, xtol=0.0, ftol=0.0, max_iter=3,
              div_factor=1e10, every=1, hist=np.full((5, 6), np.nan),
              perm=np.zeros(0, np.int64), batch=0, rng=np.zeros(1, np.uint64),
              best_x=np.zeros(p), best_g=np.zeros(p), counts=np.zeros(5),
              state=compiled_loop.fresh_state())
    status, nit, f, best_f, n_hist = loop.fo_loop(*ok.values())
    assert (status, nit, n_hist) == (10, 3, 4) and f == best_f
    bad = [("x", np.zeros(p + 2)), ("s1", np.zeros(p - 1)), ("work", np.empty((2, p - 1))),
           ("hist", np.empty((5, 5))), ("lr_tab", np.zeros(0)), ("state", np.zeros(8)),
           ("data", (np.ascontiguousarray(args.data[0][:, :-2]),)), ("y", args.y[:-1]),
           ("method", len(steps.STEPS)), ("method", -1), ("fparams", np.zeros(7)),
           ("kind", -1), ("kind", 3)]  # loss codes are 0, 1, 2 (fastopt.kernels.losses)
    for name, value in bad:
        with pytest.raises(ValueError):
            loop.fo_loop(*{**ok, name: value}.values())
    with pytest.raises(ValueError, match="perm"):
        loop.fo_loop(*{**ok, "batch": 5}.values())
    with pytest.raises(TypeError):
        loop.fo_loop(*{**ok, "data": (args.data[0].astype(np.int64),)}.values())


def test_cython_loop_takes_int32_and_int64_csr_indices():
    # The objectives hand over int32 indices; the loop also runs on int64 ones, with the
    # same passes and so the same result to the last bit.
    loop = compiled_loop.loop_module("cython")
    obj = _objective("logistic", "csr-f32", "cython", True)
    args = obj.kernel_arguments()
    data, indices, indptr, n = args.data
    p, m = obj.n_params, obj.n_samples
    outs = []
    for itype in (np.int32, np.int64):
        x, counts, hist = np.zeros(p), np.zeros(5), np.full((12, 6), np.nan)
        perm = np.arange(m, dtype=np.int64)
        res = loop.fo_loop(
            args.loss, (data, indices.astype(itype), indptr.astype(itype), n), args.y, args.sw,
            args.lam, args.work, x, np.empty(p), np.empty(p), np.empty(p), np.empty(p),
            np.zeros(p), np.zeros(p), np.zeros(0), steps.CODES["adam_moments"], False,
            np.full(1, 0.05), np.zeros(1), False,
            np.array([0.9, 0.999, 1e-8, 0.0, 0.0, 0.0, 0.0, 0.0]), 0.0, 0.0, 0.0, 40, 1e10, 4,
            hist,
            perm, 16, np.array([7], np.uint64), np.zeros(p), np.zeros(p), counts,
            compiled_loop.fresh_state())
        outs.append((res, x, counts, hist))
    (r32, x32, c32, h32), (r64, x64, c64, h64) = outs
    assert r32 == r64 and r32[:2] == (10, 40)
    np.testing.assert_array_equal(x32, x64)
    np.testing.assert_array_equal(c32, c64)
    np.testing.assert_array_equal(h32[:, :5], h64[:, :5])


def test_default_backend_runs_the_cython_loop_without_numba():
    code = (
        "import sys, json\n"
        "import numpy as np\n"
        "import fastopt as fo\n"
        "import fastopt.solvers.first_order\n"
        "imported = 'numba' in sys.modules\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.standard_normal((200, 5)); y = np.sign(X[:, 0] + 0.1)\n"
        "obj = fo.problems.Logistic(X, y, lam=1e-3)\n"
        "loops = [fo.minimize(obj, np.zeros(5), method=m, batch_size=b, max_iter=30).loop\n"
        "         for m in ('gd', 'nesterov', 'adam') for b in (None, 16)]\n"
        "print(json.dumps([obj.backend, imported, loops, 'numba' in sys.modules]))\n"
    )
    # cwd: this folder, so that the child imports the installed package, not a source
    # checkout's (whose extensions may not be built in place).
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=os.path.dirname(__file__),
                          env={**os.environ, "FASTOPT_BACKEND": "cython"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    backend, imported, loops, loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert backend == "cython" and loops == ["compiled"] * 6
    assert not imported and not loaded


@pytest.mark.parametrize("backend", ["cython", "numba"])
@pytest.mark.parametrize("method, options", [
    ("adam", {}), ("nesterov", {"restart": "gradient"}), ("gd", {"step": "exact"}),
    ("heavy-ball", {}), ("adagrad", {"batch_size": 9, "seed": 3}),
])
def test_a_paused_loop_resumes_with_the_same_iterates(monkeypatch, backend, method, options):
    # With a one-row first buffer the loop pauses at almost every recorded iteration and
    # is called again with the state it wrote: the run must be the very same run.
    runs = []
    for first_rows in (compiled_loop.FIRST_HISTORY_ROWS, 1):
        monkeypatch.setattr(compiled_loop, "FIRST_HISTORY_ROWS", first_rows)
        obj = _objective("logistic", "csr-f64", backend, True)
        res = fo.minimize(obj, np.zeros(obj.n_params), method=method, max_iter=37,
                          history_every=1, tol=0.0, **options)
        assert res.loop == "compiled"
        runs.append(res)
    a, b = runs
    assert (a.status, a.nit, a.nfev, a.njev) == (b.status, b.nit, b.nfev, b.njev)
    np.testing.assert_array_equal(a.x, b.x)
    assert len(a.history) == len(b.history) >= 3  # so the one-row run paused
    for column in ("iteration", "fun", "grad_norm", "step_norm", "step_size"):
        np.testing.assert_array_equal(getattr(a.history, column), getattr(b.history, column))


def test_history_memory_follows_the_iterations_run_not_max_iter():
    # A run that converges in a few dozen iterations with max_iter = 10**9 once reserved a
    # history row per possible iteration (gigabytes); now the buffer grows as rows come.
    import tracemalloc

    obj = _objective("logistic", "dense-f64", "cython", True)
    tracemalloc.start()
    try:
        res = fo.minimize(obj, np.zeros(obj.n_params), method="gd", max_iter=10**9, tol=1e-3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert res.success and res.nit < 10**5
    assert peak < 20 * 2**20, f"peak {peak / 2**20:.1f} MiB"
