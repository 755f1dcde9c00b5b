"""Tests specific to the Cython (OpenMP) backend: its build, fused types, threads and GIL.

The behaviour shared by every backend (values against the NumPy twin, edge cases) is
tested in test_linear.py and test_gram.py; here we check what
only the compiled extension can get wrong: the fused-type dispatch (float32/float64 data,
int32/int64 CSR indices), read-only buffers, OpenMP teams of the requested size,
determinism for a fixed chunk count, the blocked BLAS Gram matrix, and that the GIL is
released during a pass.
"""

import threading

import numpy as np
import pytest
import scipy.sparse as sp

from fastopt.kernels import available_backends
from fastopt.kernels.losses import LOGISTIC, SQUARED

pytestmark = pytest.mark.skipif(
    "cython" not in available_backends(),
    reason="Cython extensions not built (python setup.py build_ext --inplace)",
)

MODULES = ("linear", "gram", "shuffle", "batch")


def _modules(name):
    import importlib

    ref = importlib.import_module(f"fastopt.kernels.reference.{name}")
    cy = importlib.import_module(f"fastopt.kernels.cython.{name}")
    return ref, cy


def _problem(rng, m, n, dtype, intercept, density=0.3):
    p = n + int(intercept)
    X = rng.standard_normal((m, n)).astype(dtype)
    A = sp.random(m, n, density=density, format="csr", random_state=rng, dtype=dtype)
    y = rng.choice([-1.0, 1.0], m)
    sw = rng.random(m)
    sw /= sw.sum()
    w = rng.standard_normal(p) * 0.5
    v = rng.standard_normal(p)
    return X, A, y, sw, w, v


@pytest.mark.parametrize("name", MODULES)
def test_same_kernel_names_as_reference(name):
    ref, cy = _modules(name)
    assert sorted(cy.__all__) == sorted(ref.__all__)
    for kernel in cy.__all__:
        assert callable(getattr(cy, kernel))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_fused_types_dispatch(dtype, index_dtype, rng):
    ref, cy = _modules("linear")
    X, A, y, sw, w, _ = _problem(rng, 200, 6, dtype, intercept=True)
    work = np.empty((2, w.size))
    g_ref, g_cy = np.empty(w.size), np.empty(w.size)
    f_ref = ref.linear_loss_grad(LOGISTIC, X, y, sw, w, 0.1, g_ref, work)
    f_cy = cy.linear_loss_grad(LOGISTIC, X, y, sw, w, 0.1, g_cy, work)
    np.testing.assert_allclose(f_cy, f_ref, rtol=1e-12)
    np.testing.assert_allclose(g_cy, g_ref, rtol=1e-10, atol=1e-14)

    csr = (A.data, A.indices.astype(index_dtype), A.indptr.astype(index_dtype), 6)
    f_ref = ref.linear_loss_grad_csr(LOGISTIC, *csr, y, sw, w, 0.1, g_ref, work)
    f_cy = cy.linear_loss_grad_csr(LOGISTIC, *csr, y, sw, w, 0.1, g_cy, work)
    np.testing.assert_allclose(f_cy, f_ref, rtol=1e-12)
    np.testing.assert_allclose(g_cy, g_ref, rtol=1e-10, atol=1e-14)


def test_unsupported_dtypes_are_refused(rng):
    # The fused signatures accept exactly float32/float64 data and int32/int64 indices.
    _, cy = _modules("gram")
    w = np.ones(3)
    with pytest.raises((TypeError, ValueError)):
        cy.matvec(np.ones((4, 3), dtype=np.int64), w, np.empty(4))
    A = sp.random(4, 3, density=0.5, format="csr", random_state=0)
    with pytest.raises((TypeError, ValueError)):
        cy.matvec_csr(A.data, A.indices.astype(np.int16), A.indptr.astype(np.int16), 3, w,
                      np.empty(4))


def test_read_only_inputs_are_accepted(rng):
    _, cy = _modules("linear")
    X, A, y, sw, w, v = _problem(rng, 100, 5, np.float64, intercept=False)
    arrays = [X, A.data, A.indices, A.indptr, y, sw, w, v]
    for a in arrays:
        a.flags.writeable = False
    work = np.empty((2, 5))
    out = np.empty(5)
    f = cy.linear_loss_grad(LOGISTIC, X, y, sw, w, 0.0, out, work)
    cy.linear_hvp_csr(LOGISTIC, A.data, A.indices, A.indptr, 5, y, sw, w, v, 0.0, out, work)
    assert np.isfinite(f) and np.all(np.isfinite(out))


def test_openmp_team_has_the_requested_size():
    _, cy = _modules("gram")
    assert cy._openmp_team_size(1) == 1
    assert cy._openmp_team_size(3) == 3


@pytest.mark.parametrize("intercept", [False, True])
def test_deterministic_for_a_fixed_chunk_count(intercept, rng):
    # Large enough that the passes run on an OpenMP team (not the serial small-m path).
    _, cy = _modules("linear")
    X, A, y, sw, w, v = _problem(rng, 4000, 40, np.float32, intercept)
    p = w.size
    for T in (3, 4):
        work = np.empty((T, p))
        results = []
        for _ in range(3):
            g, hv = np.empty(p), np.empty(p)
            f = cy.linear_loss_grad(LOGISTIC, X, y, sw, w, 0.01, g, work)
            cy.linear_hvp(LOGISTIC, X, y, sw, w, v, 0.01, hv, work)
            f_csr = cy.linear_loss_grad_csr(LOGISTIC, A.data, A.indices, A.indptr, 40, y, sw,
                                            w, 0.01, g.copy(), work)
            results.append((f, g, hv, f_csr))
        for f, g, hv, f_csr in results[1:]:
            assert f == results[0][0] and f_csr == results[0][3]
            assert np.array_equal(g, results[0][1]) and np.array_equal(hv, results[0][2])


def test_chunk_count_changes_only_rounding(rng):
    _, cy = _modules("linear")
    X, _, _, sw, w, _ = _problem(rng, 3000, 30, np.float64, intercept=True)
    y = rng.standard_normal(3000)
    grads = []
    for T in (1, 2, 7):
        g = np.empty(w.size)
        cy.linear_loss_grad(SQUARED, X, y, sw, w, 0.1, g, np.empty((T, w.size)))
        grads.append(g)
    for g in grads[1:]:
        np.testing.assert_allclose(g, grads[0], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("intercept", [False, True])
def test_weighted_gram_blocked_threaded_any_sign(fmt, intercept, rng):
    # m spans several dsyrk blocks and (with 2+ threads) several chunks; d has zeros and
    # negative entries, which take the skip and alpha = -1 paths of the blocked kernel.
    ref, cy = _modules("gram")
    m, n, lam = 5000, 12, 0.3
    X, A, _, _, _, _ = _problem(rng, m, n, np.float32, intercept, density=0.2)
    d = rng.standard_normal(m)
    d[::7] = 0.0
    p = n + int(intercept)
    H_ref, H_cy = np.empty((p, p)), np.empty((p, p))
    if fmt == "dense":
        ref.weighted_gram(X, d, lam, H_ref)
        cy.weighted_gram(X, d, lam, H_cy)
    else:
        ref.weighted_gram_csr(A.data, A.indices, A.indptr, n, d, lam, H_ref)
        cy.weighted_gram_csr(A.data, A.indices, A.indptr, n, d, lam, H_cy)
    np.testing.assert_allclose(H_cy, H_ref, rtol=1e-10, atol=1e-10)
    assert np.array_equal(H_cy, H_cy.T)


def test_max_eig_gram_matches_eigvalsh(rng):
    _, cy = _modules("gram")
    X = rng.standard_normal((500, 8))
    X[:, 0] *= 4.0  # a clear spectral gap: power iteration converges fast
    d = rng.random(500)
    expected = np.linalg.eigvalsh(X.T @ (d[:, None] * X))[-1]
    got = cy.max_eig_gram(X, d, np.ones(8), 1000, 1e-12, np.empty((2, 8)))
    np.testing.assert_allclose(got, expected, rtol=1e-8)
    assert cy.max_eig_gram(X, np.zeros(500), np.ones(8), 10, 1e-12, np.empty((2, 8))) == 0.0


def test_kernels_release_the_gil(rng):
    # While a worker thread is inside one long kernel call, the main thread must keep
    # running Python code; a kernel holding the GIL would freeze it for the whole call.
    # max_eig_gram with tol < 0 runs exactly max_iter passes inside one nogil block.
    import time

    _, cy = _modules("gram")
    X = rng.standard_normal((2000, 50))
    d, v0, work = rng.random(2000), np.ones(50), np.empty((1, 50))
    t0 = time.perf_counter()
    cy.max_eig_gram(X, d, v0, 50, -1.0, work)
    n_iter = int(50 * 0.3 / max(time.perf_counter() - t0, 1e-6))  # about 0.3 s
    started, elapsed = threading.Event(), []

    def worker():
        started.set()
        t = time.perf_counter()
        cy.max_eig_gram(X, d, v0, n_iter, -1.0, work)
        elapsed.append(time.perf_counter() - t)

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait()
    last, max_gap = time.perf_counter(), 0.0
    while thread.is_alive():
        now = time.perf_counter()
        max_gap, last = max(max_gap, now - last), now
    thread.join()
    assert elapsed[0] > 0.05
    assert max_gap < 0.5 * elapsed[0]
