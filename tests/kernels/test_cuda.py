"""CUDA kernels against the NumPy reference twin, on numba's CUDA simulator or a real GPU.

``tests/conftest.py`` sets ``NUMBA_ENABLE_CUDASIM=1`` where there is no GPU, so these
tests run the very kernels of :mod:`fastopt.kernels.cuda` on the CPU simulator (every
CUDA thread a Python thread: sizes stay tiny and blocks have 32 threads); on a machine
with a GPU they run unchanged on it. Launch shapes are patched to exercise every code
path: several tiles per block, several threads per row (G > 1), the column accumulators
in global memory (p + 1 > blockDim), and the no-tile path for wide rows.
"""

import math

import numpy as np
import pytest
import scipy.sparse as sp

import fastopt as fo
from fastopt import _config
from fastopt.kernels import get_backend, resolve_backend
from fastopt.kernels.losses import LOGISTIC, SQUARED

cuda_kernels = pytest.importorskip("fastopt.kernels.cuda")
from numba import cuda  # noqa: E402

from fastopt.kernels.cuda import _device, _rowwise  # noqa: E402

pytestmark = pytest.mark.cuda

REF = get_backend("numpy")
CK = cuda_kernels


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    """32 threads per block: the smallest legal block, and fast on the simulator."""
    monkeypatch.setattr(_config, "THREADS_PER_BLOCK", 32)


def make_problem(rng, m, n, dtype, icpt, kind=LOGISTIC, density=None, scale=1.0):
    X = (rng.standard_normal((m, n)) * scale).astype(dtype)
    if density is not None:
        X = sp.csr_matrix(X * (rng.random((m, n)) < density))
        X.sort_indices()
    if kind == LOGISTIC:
        y = np.where(rng.random(m) < 0.5, -1.0, 1.0)
    else:
        y = rng.standard_normal(m)
    s = rng.random(m) + 0.5
    sw = s / s.sum() if m else s
    p = n + int(icpt)
    return X, y, sw, rng.standard_normal(p), rng.standard_normal(p)


def data_args(X):
    if sp.issparse(X):
        return (X.data, X.indices, X.indptr, X.shape[1])
    return (X,)


def suffix(X):
    return "_csr" if sp.issparse(X) else ""


def tol(dtype):
    # float32 X is accumulated in float64 on both sides: only summation order differs.
    return dict(rel=1e-10, abs=1e-12)


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def check_objective_kernels(loss, X, y, sw, w, v, lam, rows=None, work=None):
    """Every linear-model kernel of loss code ``loss`` against the reference on one problem.

    (The kernels of every loss on every backend, the simulated CUDA one included, are
    compared with the reference in ``test_linear.py``; here the launch shapes vary.)
    """
    s = suffix(X)
    A = data_args(X)
    m = X.shape[0]
    p = w.shape[0]
    t = tol(X.dtype)
    if work is None:
        work = CK.cuda_work(m, p, X.nnz if sp.issparse(X) else None)

    f = getattr(CK, f"linear_loss{s}")(loss, *A, y, sw, w, lam, work)
    assert f == pytest.approx(getattr(REF, f"linear_loss{s}")(loss, *A, y, sw, w, lam, None), **t)

    g, g_ref = np.empty(p), np.empty(p)
    f = getattr(CK, f"linear_loss_grad{s}")(loss, *A, y, sw, w, lam, g, work)
    f_ref = getattr(REF, f"linear_loss_grad{s}")(loss, *A, y, sw, w, lam, g_ref, None)
    assert f == pytest.approx(f_ref, **t)
    close(g, g_ref)

    d, d_ref = np.empty(m), np.empty(m)
    f = getattr(CK, f"linear_grad_hess_weights{s}")(loss, *A, y, sw, w, lam, g, d, work)
    assert f == pytest.approx(f_ref, **t)
    close(g, g_ref)
    getattr(REF, f"linear_hess_weights{s}")(loss, *A, y, sw, w, d_ref)
    close(d, d_ref)
    d[:] = -1.0
    getattr(CK, f"linear_hess_weights{s}")(loss, *A, y, sw, w, d)
    close(d, d_ref)

    out, out_ref = np.empty(p), np.empty(p)
    getattr(CK, f"linear_hvp{s}")(loss, *A, y, sw, w, v, lam, out, work)
    getattr(REF, f"linear_hvp{s}")(loss, *A, y, sw, w, v, lam, out_ref, None)
    close(out, out_ref)

    if rows is not None and m:
        scale = m / len(rows)
        f = getattr(CK, f"linear_loss_grad_rows{s}")(loss, *A, y, sw, w, lam, rows, scale, g, work)
        f_ref = getattr(REF, f"linear_loss_grad_rows{s}")(loss, *A, y, sw, w, lam, rows, scale,
                                                             g_ref, None)
        assert f == pytest.approx(f_ref, **t)
        close(g, g_ref)


# --- launch shapes: every code path of the dense kernel ----------------------------------


def test_one_block_strides_over_several_tiles():
    # n_blocks = 1: the single block handles all three 32-row tiles (the last partial).
    rng = np.random.default_rng(3)
    X, y, sw, w, v = make_problem(rng, 70, 3, np.float64, True)
    check_objective_kernels(LOGISTIC, X, y, sw, w, v, 0.2, work=CK.cuda_work(70, 4, n_blocks=1))


def test_several_threads_per_row(monkeypatch):
    # 64 threads per block: G = 2 threads share each row's dot products.
    monkeypatch.setattr(_config, "THREADS_PER_BLOCK", 64)
    assert _rowwise.dense_layout(7, 64)[1] == 2
    rng = np.random.default_rng(4)
    X, y, sw, w, v = make_problem(rng, 40, 7, np.float32, False)
    check_objective_kernels(LOGISTIC, X, y, sw, w, v, 0.1)


def test_wide_rows_accumulate_in_work_and_skip_the_tile(monkeypatch):
    # p + 1 = 42 > 32 threads: columns accumulate in the work row, not in registers.
    rng = np.random.default_rng(5)
    X, y, sw, w, v = make_problem(rng, 9, 40, np.float64, True)
    check_objective_kernels(SQUARED, X, y, sw, w, v, 0.5)
    # Shared memory too small for one row: X is read from global memory twice.
    monkeypatch.setattr(_rowwise, "SMEM_WORDS", 100)
    assert _rowwise.dense_layout(40, 32)[3] is False
    check_objective_kernels(LOGISTIC, X, y, sw, w, v, 0.5)


# --- edge cases of docs/contract.md -----------------------------------------------------


@pytest.mark.parametrize("m,n", [(1, 1), (1, 4), (3, 1)])
def test_tiny_shapes(m, n):
    rng = np.random.default_rng(6)
    X, y, sw, w, v = make_problem(rng, m, n, np.float64, True)
    check_objective_kernels(LOGISTIC, X, y, sw, w, v, 0.1)


def test_no_rows_gives_the_l2_term_only():
    X = np.empty((0, 3))
    w = np.array([1.0, -2.0, 0.5])
    g = np.empty(3)
    f = CK.linear_loss_grad(LOGISTIC, X, np.empty(0), np.empty(0), w, 0.5, g, CK.cuda_work(0, 3))
    assert f == pytest.approx(0.25 * (w @ w))
    np.testing.assert_allclose(g, 0.5 * w)


def test_all_zero_rows():
    rng = np.random.default_rng(7)
    X, y, sw, w, v = make_problem(rng, 20, 4, np.float32, True)
    X[::2] = 0.0
    check_objective_kernels(LOGISTIC, X, y, sw, w, v, 0.0)


def test_huge_margins_are_finite_and_exact():
    # |z| up to 1e300: log(1 + exp(-t)) and the sigmoid must not overflow.
    X = np.zeros((4, 2))
    X[:, 0] = [1e150, -1e150, 1e150, -1e150]
    y = np.array([1.0, 1.0, -1.0, -1.0])
    sw = np.full(4, 0.25)
    w = np.array([1e150, 0.0])
    g, g_ref = np.empty(2), np.empty(2)
    f = CK.linear_loss_grad(LOGISTIC, X, y, sw, w, 0.0, g, CK.cuda_work(4, 2))
    f_ref = REF.linear_loss_grad(LOGISTIC, X, y, sw, w, 0.0, g_ref, None)
    assert math.isfinite(f) and f == pytest.approx(f_ref, rel=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12)
    d = np.empty(4)
    CK.linear_hess_weights(LOGISTIC, X, y, sw, w, d)
    assert np.all(d == 0.0)


def test_repeated_calls_are_bitwise_identical():
    rng = np.random.default_rng(8)
    X, y, sw, w, _ = make_problem(rng, 64, 5, np.float32, False)
    work = CK.cuda_work(64, 5, n_blocks=2)
    g1, g2 = np.empty(5), np.empty(5)
    f1 = CK.linear_loss_grad(LOGISTIC, X, y, sw, w, 0.1, g1, work)
    f2 = CK.linear_loss_grad(LOGISTIC, X, y, sw, w, 0.1, g2, work)
    assert f1 == f2 and np.array_equal(g1, g2)


# --- gram ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_gram_kernels_match_reference(sparse):
    rng = np.random.default_rng(9)
    X, _, d, w, v = make_problem(rng, 24, 4, np.float64, True, density=0.6 if sparse else None)
    A = data_args(X)
    s = suffix(X)
    m, n = X.shape
    z, z_ref = np.empty(m), np.empty(m)
    getattr(CK, "matvec" + s)(*A, w, z)
    getattr(REF, "matvec" + s)(*A, w, z_ref)
    close(z, z_ref)
    out, out_ref = np.empty(n + 1), np.empty(n + 1)
    getattr(CK, "rmatvec" + s)(*A, z_ref, out, None)
    getattr(REF, "rmatvec" + s)(*A, z_ref, out_ref, None)
    close(out, out_ref)
    getattr(CK, "weighted_hvp" + s)(*A, d, v, 0.7, out, None)
    getattr(REF, "weighted_hvp" + s)(*A, d, v, 0.7, out_ref, None)
    close(out, out_ref)
    H, H_ref = np.empty((n + 1, n + 1)), np.empty((n + 1, n + 1))
    getattr(CK, "weighted_gram" + s)(*A, d, 0.7, H)
    getattr(REF, "weighted_gram" + s)(*A, d, 0.7, H_ref)
    close(H, H_ref)


def test_max_eig_gram_matches_reference():
    rng = np.random.default_rng(10)
    X = rng.standard_normal((16, 3))
    X[:, 0] *= 5.0  # a clear spectral gap: the power iteration converges in a few steps
    d = np.full(16, 1 / 16)
    v0 = np.ones(3)
    lam = CK.max_eig_gram(X, d, v0, 200, 1e-9, None)
    assert lam == pytest.approx(REF.max_eig_gram(X, d, v0, 200, 1e-9, None), rel=1e-9)
    assert lam == pytest.approx(np.linalg.eigvalsh(X.T @ (d[:, None] * X))[-1], rel=1e-6)


# --- fused updates ----------------------------------------------------------------------


def _update_cases():
    return [
        ("gd_", 0, (0.1,)),
        ("heavy_ball_", 1, (0.1, 0.9)),
        ("nesterov_", 1, (0.1, 0.8, 0.85)),
        ("adagrad_", 1, (0.1, 1e-10)),
        ("rmsprop_", 1, (0.01, 0.9, 1e-8)),
        ("adam_", 2, (3, 1e-3, 0.9, 0.999, 1e-8)),
        ("adamw_", 2, (3, 1e-3, 0.9, 0.999, 1e-8, 0.01)),
        ("nadam_", 2, (3, 1e-3, 0.9, 0.999, 1e-8, 4e-3, 0.7)),
        ("adamax_", 2, (3, 1e-3, 0.9, 0.999, 1e-8)),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name,n_state,hyper", _update_cases(), ids=lambda c: str(c))
def test_updates_match_reference(name, n_state, hyper, dtype):
    rng = np.random.default_rng(11)
    p = 37  # more than one block of 32 threads
    x, g = rng.standard_normal(p).astype(dtype), rng.standard_normal(p).astype(dtype)
    state = [rng.random(p).astype(dtype) for _ in range(n_state)]
    with_v_max = name in ("adam_", "adamw_")
    extra = (np.empty(0, dtype),) if with_v_max else ()
    xr, sr = x.copy(), [s.copy() for s in state]
    if with_v_max:
        args = (*state, g, *hyper, *extra)
        args_ref = (*sr, g, *hyper, *extra)
    else:
        args, args_ref = (*state, g, *hyper), (*sr, g, *hyper)
    getattr(CK, name)(x, *args)
    getattr(REF, name)(xr, *args_ref)
    rtol = 2e-6 if dtype == np.float32 else 1e-13
    assert x.dtype == dtype
    np.testing.assert_allclose(x, xr, rtol=rtol, atol=rtol)
    for s, s_ref in zip(state, sr, strict=True):
        np.testing.assert_allclose(s, s_ref, rtol=rtol, atol=rtol)


def test_amsgrad_and_device_arrays_are_updated_in_place():
    rng = np.random.default_rng(12)
    p = 10
    host = {k: rng.random(p) for k in ("x", "m", "v", "g", "vmax")}
    ref = {k: a.copy() for k, a in host.items()}
    dev = {k: cuda.to_device(a) for k, a in host.items()}
    CK.adam_(dev["x"], dev["m"], dev["v"], dev["g"], 2, 0.01, 0.9, 0.99, 1e-8, dev["vmax"])
    REF.adam_(ref["x"], ref["m"], ref["v"], ref["g"], 2, 0.01, 0.9, 0.99, 1e-8, ref["vmax"])
    for k in ("x", "m", "v", "vmax"):
        np.testing.assert_allclose(dev[k].copy_to_host(), ref[k], rtol=1e-13)


# --- device inputs ----------------------------------------------------------------------


def test_device_arrays_are_taken_without_a_copy():
    rng = np.random.default_rng(13)
    X, y, sw, w, _ = make_problem(rng, 33, 4, np.float32, False)
    dX, dy, dsw, dw = (cuda.to_device(a) for a in (X, y, sw, w))
    assert _device.as_device(dX) is dX
    dg = cuda.device_array(4)
    f = CK.linear_loss_grad(LOGISTIC, dX, dy, dsw, dw, 0.1, dg, CK.cuda_work(33, 4))
    g_ref = np.empty(4)
    f_ref = REF.linear_loss_grad(LOGISTIC, X, y, sw, w, 0.1, g_ref, None)
    assert f == pytest.approx(f_ref, rel=1e-10)
    np.testing.assert_allclose(dg.copy_to_host(), g_ref, rtol=1e-10)  # written in place


def test_device_array_of_the_wrong_dtype_is_refused():
    with pytest.raises(TypeError, match="dtype"):
        _device.as_device(cuda.to_device(np.zeros(3, np.float32)), np.float64)


@pytest.mark.skipif(_device.SIMULATOR, reason="__cuda_array_interface__ objects need a GPU")
def test_cuda_array_interface_input_is_not_copied():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA device")
    t = torch.arange(6, dtype=torch.float64, device="cuda")
    d = _device.as_device(t)
    d[0] = 42.0
    assert float(t[0]) == 42.0


# --- backend registry -------------------------------------------------------------------


@pytest.mark.skipif(not _device.SIMULATOR, reason="checks the behaviour where no GPU is usable")
def test_cuda_is_not_a_backend_without_a_gpu():
    assert "cuda" not in fo.backends()
    assert CK.is_usable() is not None
    with pytest.raises(ValueError, match="cuda.*not available.*simulator"):
        resolve_backend("cuda")
    with pytest.raises(ValueError, match="cuda"):
        fo.problems.Logistic(np.eye(3), [1, -1, 1], backend="cuda")


@pytest.mark.skipif(_device.SIMULATOR, reason="checks the behaviour on a real GPU")
def test_cuda_is_a_backend_on_a_gpu():
    assert "cuda" in fo.backends() and CK.is_usable() is None


# --- device-resident objective and solver loop ------------------------------------------


def _device_objective(cls, X, y, **kw):
    # What backend="cuda" does on a GPU: the simulator is not a backend ``auto`` offers.
    return cls(X, y, backend="numpy", **kw).move_to_device()


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_device_objective_matches_numpy(sparse):
    rng = np.random.default_rng(14)
    X, y, _, w, v = make_problem(rng, 30, 4, np.float32, True, density=0.5 if sparse else None)
    ref = fo.problems.Logistic(X, y, lam=0.1, fit_intercept=True, backend="numpy")
    obj = _device_objective(fo.problems.Logistic, X, y, lam=0.1, fit_intercept=True)
    assert obj.backend == "cuda" and obj.data.on_device and obj.data.args[0] is not X
    assert obj.data.host_X() is obj.data.X  # host X kept, for the host-side NumPy work
    f, g = obj.loss_grad(w)
    f_ref, g_ref = ref.loss_grad(w)
    assert f == pytest.approx(f_ref, rel=1e-10)
    np.testing.assert_allclose(g, g_ref, rtol=1e-10)
    np.testing.assert_allclose(obj.hvp(w, v), ref.hvp(w, v), rtol=1e-10)
    assert obj.n_passes == 2


@pytest.mark.parametrize("method,options", [
    ("gd", {"lr": 0.5}),
    ("heavy-ball", {"lr": 0.3, "momentum": 0.5}),
    ("nesterov", {"lr": 0.3, "momentum": 0.5}),
    ("adam", {"lr": 0.05}),
])
def test_device_loop_matches_python_loop(method, options):
    from fastopt.solvers import cuda_loop, first_order, registry
    from fastopt.solvers.run import Run

    rng = np.random.default_rng(15)
    X, y, _, _, _ = make_problem(rng, 40, 3, np.float64, True, SQUARED)
    obj = _device_objective(fo.problems.LeastSquares, X, y, lam=0.1, fit_intercept=True)
    ref = fo.problems.LeastSquares(X, y, lam=0.1, fit_intercept=True, backend="numpy")
    opts = {**registry.get(method).options, **options}
    x0 = np.zeros(4)
    opt = first_order.make_optimizer(method, obj, opts, get_backend("numpy"))
    assert cuda_loop.unsupported(obj, opt, None) is None
    res = cuda_loop.solve(obj, x0, opt, Run(tol=0.0, max_iter=4, history_every=2), method)
    opt_ref = first_order.make_optimizer(method, ref, opts, get_backend("numpy"))
    x = x0.copy()
    status, nit, f, g = first_order.python_loop(ref, x, opt_ref, Run(tol=0.0, max_iter=4))
    assert res.nit == nit == 4 and res.loop == "cuda"
    np.testing.assert_allclose(res.x, x, rtol=1e-10, atol=1e-12)
    assert res.fun == pytest.approx(f, rel=1e-10)
    np.testing.assert_allclose(res.jac, g, rtol=1e-9, atol=1e-12)
    assert obj.n_passes == 5
    assert len(res.history) == 3  # iterations 0, 2, 4
