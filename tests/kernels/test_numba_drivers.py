"""The serial and parallel drivers of the numba linear-model kernels.

Small problems run the per-chunk cores serially, large ones in ``prange``
(``fastopt._config.PARALLEL_MIN_WORK``). The other kernel tests use small problems, so
here: a problem above the threshold against the reference (the parallel path), both
drivers bitwise equal on the same chunks, and a call from inside jitted code.
"""

import numpy as np
import pytest
from numba import carray

from fastopt._config import PARALLEL_MIN_WORK, jit
from fastopt.kernels import get_backend
from fastopt.kernels.losses import LOGISTIC, LOSSES, POISSON
from fastopt.kernels.numba import _linear as L
from fastopt.kernels.numba import linear_loss_grad
from fastopt.kernels.numba._stack import STACK_ALIGN, stack_pointer

from ._linear_problems import FORMATS, make_problem

M, N = PARALLEL_MIN_WORK // 10 + 7, 12  # m n above the threshold (CSR: nnz + m too)


def _problem(rng, fmt):
    return make_problem(rng, M, N, np.float64, fmt, intercept=True, weighted=True,
                        density=0.9)


def call(backend, name, loss, prob, *args):
    """``linear_<name>`` (or its CSR twin) of ``backend`` for the loss code ``loss``."""
    K = get_backend(backend)
    if prob.is_csr:
        A = prob.X
        return getattr(K, f"linear_{name}_csr")(loss, A.data, A.indices, A.indptr,
                                                A.shape[1], *args)
    return getattr(K, f"linear_{name}")(loss, prob.X, *args)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("loss", [loss.code for loss in LOSSES],
                         ids=[loss.name for loss in LOSSES])
def test_parallel_path_matches_reference(fmt, loss, rng):
    prob = _problem(rng, fmt)
    if loss == POISSON:
        prob.y = rng.poisson(1.0, prob.m).astype(np.float64)
        prob.w *= 0.2
    got, want = np.empty(prob.p), np.empty(prob.p)
    f = call("numba", "loss_grad", loss, prob, prob.y, prob.sw, prob.w, 0.1, got,
             prob.work(2))
    f_ref = call("numpy", "loss_grad", loss, prob, prob.y, prob.sw, prob.w, 0.1, want, None)
    assert f == pytest.approx(f_ref, rel=1e-10)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-14)
    hv, hv_ref = np.empty(prob.p), np.empty(prob.p)
    call("numba", "hvp", loss, prob, prob.y, prob.sw, prob.w, prob.v, 0.1, hv, prob.work(2))
    call("numpy", "hvp", loss, prob, prob.y, prob.sw, prob.w, prob.v, 0.1, hv_ref, None)
    np.testing.assert_allclose(hv, hv_ref, rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("fmt", FORMATS)
def test_serial_and_parallel_drivers_bitwise_equal(fmt, rng):
    prob = _problem(rng, fmt)
    T = 3
    head = (prob.X,) if fmt == "dense" else (prob.X.data, prob.X.indices, prob.X.indptr,
                                             prob.n)
    rows = L.no_rows()
    results = []
    for suffix in ("serial", "parallel"):
        sfx = "" if fmt == "dense" else "_csr"
        rows_driver = getattr(L, f"_rows_{suffix}{sfx}")
        hvp_driver = getattr(L, f"_hvp_{suffix}{sfx}")
        work, partial, d = np.full((T, prob.p), np.nan), np.empty(T), np.empty(prob.m)
        flags = np.int64(LOGISTIC | L.GRAD | L.HESSW)
        rows_driver(flags, *head, prob.y, prob.sw, prob.w, rows, 1.0, d, work, T, partial)
        hwork = np.full((T, prob.p), np.nan)
        hvp_driver(np.int64(LOGISTIC), *head, prob.sw, prob.w, prob.v, hwork, T)
        results.append((work, partial, d, hwork))
    for a, b in zip(*results, strict=True):
        assert np.array_equal(a, b)
    assert np.isfinite(results[0][0]).all()


# cache=False: a cached caller keeps the machine code of the kernels it was linked with
# (numba does not track changes in callees), which goes stale when the kernels change
@jit(cache=False)
def _loop(X, y, sw, w, g, work, iters):
    s = 0.0
    for _ in range(iters):
        s += linear_loss_grad(LOGISTIC, X, y, sw, w, 1e-3, g, work)
    return s


def test_callable_from_jitted_code(rng):
    prob = make_problem(rng, 50, 4, np.float64, "dense")
    g_loop, g = np.empty(prob.p), np.empty(prob.p)
    s = _loop(prob.X, prob.y, prob.sw, prob.w, g_loop, prob.work(2), 3)
    f = linear_loss_grad(LOGISTIC, prob.X, prob.y, prob.sw, prob.w, 1e-3, g, prob.work(2))
    assert s == 3 * f
    assert np.array_equal(g_loop, g)


@jit
def _stack_addresses():
    """Addresses of three stack buffers of odd sizes, as the cores reserve them."""
    a = carray(stack_pointer(3, np.float64), 3)
    b = carray(stack_pointer(5, np.int64), 5)
    c = carray(stack_pointer(7, np.float32), 7)
    return a.ctypes.data, b.ctypes.data, c.ctypes.data


def test_stack_buffers_are_cache_line_aligned():
    # a private gradient row that straddles cache lines slows every vector load and store
    for address in _stack_addresses():
        assert address % STACK_ALIGN == 0
