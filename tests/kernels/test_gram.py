"""Gram-matrix kernels (matvec, rmatvec, weighted HVP, weighted Gram, largest eigenvalue)
of every CPU backend against the NumPy reference and dense linear algebra."""

import numpy as np
import pytest
import scipy.sparse as sp

from ._linear_problems import FORMATS, call, make_problem


def dense_design(prob, p):
    X = prob.X.toarray() if prob.is_csr else np.asarray(prob.X, dtype=np.float64)
    if p > prob.n:
        X = np.hstack([X, np.ones((prob.m, 1))])
    return X


def gram_outputs(backend, prob, d, lam, work=None):
    """matvec, rmatvec, weighted_hvp and weighted_gram on ``prob`` (p from ``prob.w``)."""
    P = prob
    work = P.work() if work is None else work
    z = np.empty(P.m)
    call(backend, "matvec", P, P.w, z)
    u = np.empty(P.p)
    call(backend, "rmatvec", P, d - 0.5, u, work)
    hv = np.empty(P.p)
    call(backend, "weighted_hvp", P, d, P.v, lam, hv, work)
    H = np.full((P.p, P.p), np.nan)
    call(backend, "weighted_gram", P, d, lam, H)
    return {"matvec": z, "rmatvec": u, "weighted_hvp": hv, "weighted_gram": H}


def expected_outputs(prob, d, lam):
    X = dense_design(prob, prob.p)
    reg = np.diag(np.r_[np.full(prob.n, lam), np.zeros(prob.p - prob.n)])
    H = X.T @ (d[:, None] * X) + reg
    return {"matvec": X @ prob.w, "rmatvec": X.T @ (d - 0.5), "weighted_hvp": H @ prob.v,
            "weighted_gram": H}


def assert_close(got, want, rtol=1e-10, atol=1e-12):
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=rtol, atol=atol, err_msg=key)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("intercept", [False, True], ids=["no_b", "b"])
def test_matches_dense_linear_algebra(backend, dtype, fmt, intercept, rng):
    # m is not a multiple of the Gram row block and n not of the 4-row register tile
    prob = make_problem(rng, 301, 10, dtype, fmt, intercept)
    d = rng.random(prob.m)
    got = gram_outputs(backend, prob, d, 0.4)
    assert_close(got, expected_outputs(prob, d, 0.4))
    assert_close(got, gram_outputs("numpy", prob, d, 0.4))
    assert np.array_equal(got["weighted_gram"], got["weighted_gram"].T)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("m, n", [(0, 3), (1, 1), (2, 7), (5, 1)], ids=str)
def test_edge_shapes(backend, fmt, m, n, rng):
    prob = make_problem(rng, m, n, np.float64, fmt, intercept=True, density=0.6)
    d = rng.random(m)
    assert_close(gram_outputs(backend, prob, d, 0.3), expected_outputs(prob, d, 0.3))


@pytest.mark.parametrize("fmt", FORMATS)
def test_zero_rows_and_float32(backend, fmt, rng):
    prob = make_problem(rng, 120, 9, np.float64, fmt, intercept=True)
    X = prob.X.toarray() if prob.is_csr else prob.X
    X[::5] = 0.0
    X32 = X.astype(np.float32)
    prob.X = sp.csr_matrix(X32) if prob.is_csr else X32
    d = rng.random(prob.m)
    want = expected_outputs(prob, d, 0.1)  # exact: float32 -> float64 is exact
    assert_close(gram_outputs(backend, prob, d, 0.1), want)


@pytest.mark.parametrize("fmt", FORMATS)
def test_max_eig_gram(backend, fmt, rng):
    prob = make_problem(rng, 150, 8, np.float64, fmt, intercept=False)
    d = rng.random(prob.m)
    X = dense_design(prob, prob.n)
    lam_max = np.linalg.eigvalsh(X.T @ (d[:, None] * X))[-1]
    v0 = np.ones(prob.n)
    v0_before = v0.copy()
    work = np.empty((2, prob.n))
    got = call(backend, "max_eig_gram", prob, d, v0, 2000, 1e-12, work)
    assert got == pytest.approx(lam_max, rel=1e-8)
    assert np.array_equal(v0, v0_before)
    ref = call("numpy", "max_eig_gram", prob, d, v0, 2000, 1e-12, work)
    assert got == pytest.approx(ref, rel=1e-10)
    # a zero start vector falls back to a fixed direction; zero weights give 0
    assert call(backend, "max_eig_gram", prob, d, 0 * v0, 2000, 1e-12, work) == pytest.approx(
        lam_max, rel=1e-8)
    assert call(backend, "max_eig_gram", prob, 0 * d, v0, 10, 1e-12, work) == 0.0


@pytest.mark.parametrize("fmt", FORMATS)
def test_deterministic_and_inputs_not_modified(backend, fmt, rng):
    prob = make_problem(rng, 2000, 6, np.float32, fmt, intercept=True)
    d = rng.random(prob.m)
    arrays = [d, prob.w, prob.v]
    arrays += [prob.X.data, prob.X.indices, prob.X.indptr] if prob.is_csr else [prob.X]
    before = [a.copy() for a in arrays]
    first = gram_outputs(backend, prob, d, 0.2)
    second = gram_outputs(backend, prob, d, 0.2)
    for key in first:
        assert np.array_equal(first[key], second[key]), key
    for a, b in zip(arrays, before, strict=True):
        assert np.array_equal(a, b)


def test_gram_blocking_with_more_features(backend, rng):
    # p = 71: several 4-row tiles plus a remainder; m spans several 64-row blocks per chunk
    prob = make_problem(rng, 700, 70, np.float64, "dense", intercept=True)
    d = rng.random(prob.m)
    H = np.empty((prob.p, prob.p))
    call(backend, "weighted_gram", prob, d, 0.5, H)
    np.testing.assert_allclose(H, expected_outputs(prob, d, 0.5)["weighted_gram"], rtol=1e-11)


@pytest.mark.parametrize("intercept", [False, True], ids=["no_b", "b"])
@pytest.mark.parametrize(
    "m, n, density, dense_blocks",
    # short rows (0 to 4 nonzeros, below the 4-row tile), long rows (every length mod 4)
    # in enough work for the threaded driver, and rows dense enough for dense blocks
    [(517, 37, 0.03, False), (3001, 200, 0.2, False), (517, 37, 0.8, True)],
    ids=["sparse_short", "sparse_long", "dense_blocks"])
def test_numba_csr_gram_algorithms(dtype, intercept, m, n, density, dense_blocks, rng):
    """Both algorithms of the numba CSR weighted_gram (4-row sparse tiles, dense blocks)
    match the reference for any sign of d and 1 to 3 chunks, and are symmetric."""
    from fastopt.kernels.numba import gram as numba_gram

    prob = make_problem(rng, m, n, dtype, "csr", intercept, density=density)
    A = prob.X
    assert numba_gram._csr_gram_plan(A.indptr, prob.n, prob.p)[0] == dense_blocks
    d = rng.standard_normal(prob.m)
    want = np.empty((prob.p, prob.p))
    call("numpy", "weighted_gram", prob, d, 0.3, want)
    for n_chunks in (1, 2, 3):
        H = np.full((prob.p, prob.p), np.nan)
        numba_gram._weighted_gram_csr(A.data, A.indices, A.indptr, prob.n, d, 0.3, H,
                                      n_chunks)
        np.testing.assert_allclose(H, want, rtol=1e-10, atol=1e-10, err_msg=str(n_chunks))
        assert np.array_equal(H, H.T)


def test_cython_dense_gram_runs_blas_on_one_thread_inside_its_chunks(monkeypatch, rng):
    """The chunks' dsyrk calls run on the kernel's own threads: BLAS is switched to one
    thread for the call (a multithreaded OpenBLAS there oversubscribed the cores) and set
    back afterwards; with one chunk BLAS keeps its threads."""
    from fastopt import _blas_threads
    from fastopt.kernels import available_backends, get_backend

    if "cython" not in available_backends():
        pytest.skip("Cython extensions not built")
    import fastopt as fo

    entered = []
    real = _blas_threads.one_thread_blas

    def spy():
        entered.append(True)
        return real()

    monkeypatch.setattr(_blas_threads, "one_thread_blas", spy)
    libs = _blas_threads.blas_libraries()
    before = [lib.num_threads for lib in libs]
    X = rng.standard_normal((20_000, 30))
    d = rng.random(20_000)
    H = np.empty((30, 30))
    old = fo.get_num_threads()
    fo.set_num_threads(2)
    try:
        get_backend("cython").weighted_gram(X, d, 0.0, H)
    finally:
        fo.set_num_threads(old)
    np.testing.assert_allclose(H, (X * d[:, None]).T @ X, rtol=1e-10)
    assert entered  # T > 1 chunks on two threads: the switch was entered
    assert [lib.num_threads for lib in libs] == before  # and undone
