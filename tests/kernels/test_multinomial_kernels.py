"""Multinomial kernels of every compiled CPU backend (numba, Cython) against the NumPy twin.

Random problems over every code path of the compiled row loops (K < 4 with scalar
accumulators, K a multiple of 4 or not, strips of 16 classes and more; the per-chunk
scratch on the stack or in ``work``) and of the Cython dense tiles (chunks of 15 rows:
three tiles of four and one of three; K % 4 = 0 .. 3, one to three strips of 12
classes, the partial gradient in rows padded to whole vectors or not), dense and CSR
with int32/int64 indices, float32 and float64, with and without intercepts, random
sample weights; then the edge cases (m = 0, n = 1, fewer rows than chunks, empty,
all-zero and unsorted CSR rows), the chunk count (deterministic for a fixed T, rounding
only across T) and what only the Cython extension can get wrong (read-only buffers,
refused dtypes, the GIL).
"""

import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp

from fastopt.kernels import available_backends, get_backend
from fastopt.kernels.reference import multinomial as ref

BACKENDS = [b for b in ("numba", "cython") if b in available_backends()
            and hasattr(get_backend(b), "multinomial_loss_grad")]
KERNELS = ["loss", "loss_grad", "loss_grad_proba", "hvp", "hvp_proba"]
LAYOUTS = ["dense", "csr32", "csr64"]


def _problem(rng, m, n, K, dtype=np.float64, intercept=True, density=0.6, scale=0.5):
    X = rng.standard_normal((m, n))
    X[rng.random((m, n)) > density] = 0.0
    X = X.astype(dtype)
    y = rng.integers(0, K, m).astype(np.int64)
    sw = rng.random(m) + 0.1  # unequal sample weights
    sw /= max(sw.sum(), 1.0)
    P = (n + int(intercept)) * K
    return X, y, sw, scale * rng.standard_normal(P), rng.standard_normal(P)


def _data(X, layout):
    """(arguments standing for X, kernel suffix)."""
    if layout == "dense":
        return (X,), ""
    A = sp.csr_matrix(X)
    index = np.int32 if layout == "csr32" else np.int64
    return (A.data, A.indices.astype(index), A.indptr.astype(index), X.shape[1]), "_csr"


def _run(kernels, data, suffix, y, sw, w, v, lam, K, T=3, proba=None):
    """Every kernel at (w, v) with a NaN-filled work of T rows: a dict of the results.

    ``proba`` (m, K) are the probabilities given to the ``hvp_proba`` kernel (by default
    those its own ``loss_grad_proba`` wrote).
    """
    m, P = y.shape[0], w.shape[0]
    fresh = lambda: np.full((T, P + 2 * K + 1), np.nan)  # noqa: E731  contents ignored
    k = lambda name: getattr(kernels, "multinomial_" + name + suffix)  # noqa: E731
    out = {"grad": np.full(P, np.nan), "grad2": np.full(P, np.nan),
           "proba": np.full((m, K), np.nan), "hvp": np.full(P, np.nan),
           "hvp_proba": np.full(P, np.nan)}
    out["loss"] = k("loss")(*data, y, sw, w, lam, K, fresh())
    out["loss_grad"] = k("loss_grad")(*data, y, sw, w, lam, K, out["grad"], fresh())
    out["loss_grad_proba"] = k("loss_grad_proba")(*data, y, sw, w, lam, K, out["grad2"],
                                                  out["proba"], fresh())
    k("hvp")(*data, y, sw, w, v, lam, K, out["hvp"], fresh())
    k("hvp_proba")(*data, sw, out["proba"] if proba is None else proba, v, lam,
                   out["hvp_proba"], fresh())
    return out


def _assert_match(got, expected, rtol=1e-11, atol=1e-13):
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=rtol, atol=atol, err_msg=name)


def _expected(X, layout, y, sw, w, v, lam, K):
    data, suffix = _data(X, layout)
    return _run(ref, data, suffix, y, sw, w, v, lam, K)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("intercept", [False, True], ids=["no-intercept", "intercept"])
@pytest.mark.parametrize("K", [2, 3, 4, 5, 7, 10, 14, 17, 36])
def test_kernels_match_reference(backend, layout, dtype, intercept, K, rng):
    X, y, sw, w, v = _problem(rng, 45, 6, K, dtype, intercept)
    data, suffix = _data(X, layout)
    got = _run(get_backend(backend), data, suffix, y, sw, w, v, 0.3, K)
    _assert_match(got, _expected(X, layout, y, sw, w, v, 0.3, K))
    # The fused kernels agree with each other and with the probability-reusing ones.
    assert got["loss"] == pytest.approx(got["loss_grad"], rel=1e-14)
    assert got["loss"] == pytest.approx(got["loss_grad_proba"], rel=1e-14)
    np.testing.assert_array_equal(got["grad"], got["grad2"])
    np.testing.assert_allclose(got["hvp"], got["hvp_proba"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got["proba"].sum(axis=1), 1.0, rtol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(8000, 9, 3), (40, 300, 8), (60, 400, 7), (30, 4, 300)],
                         ids=["threaded", "large-P", "large-P-unpadded", "large-K"])
def test_large_passes_and_scratch_outside_the_stack(backend, layout, shape, rng):
    # (8000, 9, 3): 216,000 multiply-adds per sweep, above PARALLEL_MIN_WORK, so the pass
    # runs on threads; (40, 300, 8): P = 2408 partial-gradient entries, more than a chunk
    # keeps on its stack; (60, 400, 7): also more than a Cython dense chunk keeps in rows
    # padded to 8 classes, so its tiles update the seventh class one at a time;
    # (30, 4, 300): K = 300 classes, the per-row scratch in work.
    m, n, K = shape
    X, y, sw, w, v = _problem(rng, m, n, K, np.float64, intercept=True, scale=0.2)
    data, suffix = _data(X, layout)
    got = _run(get_backend(backend), data, suffix, y, sw, w, v, 0.05, K, T=4)
    _assert_match(got, _expected(X, layout, y, sw, w, v, 0.05, K), rtol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [1024, 1025], ids=["staged", "direct"])
def test_float32_rows_longer_than_the_staging_buffer(backend, n, rng):
    # The Cython dense tiles convert float32 rows of up to 1024 entries to float64 once
    # per tile; longer rows are read as float32 directly. Both against the reference.
    X, y, sw, w, v = _problem(rng, 18, n, 5, np.float32, intercept=True, scale=0.05)
    data, suffix = _data(X, "dense")
    got = _run(get_backend(backend), data, suffix, y, sw, w, v, 0.05, 5, T=2)
    _assert_match(got, _expected(X, "dense", y, sw, w, v, 0.05, 5), rtol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("intercept", [False, True], ids=["no-intercept", "intercept"])
def test_no_rows_gives_only_the_penalty(backend, layout, intercept):
    K, n, lam = 3, 4, 0.2
    P = (n + int(intercept)) * K
    w, v = np.arange(1.0, 1.0 + P), np.linspace(-1.0, 1.0, P)
    data, suffix = _data(np.zeros((0, n)), layout)
    got = _run(get_backend(backend), data, suffix, np.zeros(0, np.int64), np.zeros(0), w, v,
               lam, K)
    assert got["loss"] == pytest.approx(0.5 * lam * (w[: n * K] ** 2).sum(), rel=1e-15)
    assert got["loss_grad"] == got["loss"] == got["loss_grad_proba"]
    for name, vec in (("grad", w), ("grad2", w), ("hvp", v), ("hvp_proba", v)):
        np.testing.assert_allclose(got[name][: n * K], lam * vec[: n * K], rtol=1e-15)
        np.testing.assert_array_equal(got[name][n * K:], 0.0)
    assert got["proba"].shape == (0, K)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_one_feature_and_fewer_rows_than_chunks(backend, layout, dtype, rng):
    for m, n, K in ((1, 1, 2), (2, 1, 5), (3, 1, 3), (2, 3, 4)):
        X, y, sw, w, v = _problem(rng, m, n, K, dtype, intercept=True, density=1.0)
        data, suffix = _data(X, layout)
        got = _run(get_backend(backend), data, suffix, y, sw, w, v, 0.1, K, T=5)
        _assert_match(got, _expected(X, layout, y, sw, w, v, 0.1, K))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("index", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_csr_empty_rows_and_unsorted_entries(backend, index, dtype, rng):
    # Rows 0, 3 and the last are empty (their logits are the intercepts alone); the
    # entries of every other row are stored in reverse order. The kernels do not need
    # canonical CSR: the sum over a row's entries is the same math in any order.
    m, n, K = 12, 7, 5
    X, y, sw, w, v = _problem(rng, m, n, K, dtype, intercept=True)
    X[[0, 3, m - 1]] = 0.0
    A = sp.csr_matrix(X)
    data, indices = A.data.copy(), A.indices.copy()
    for i in range(m):
        lo, hi = A.indptr[i], A.indptr[i + 1]
        data[lo:hi], indices[lo:hi] = data[lo:hi][::-1], indices[lo:hi][::-1]
    assert (np.diff(A.indptr) == 0).sum() >= 3
    args = (data, indices.astype(index), A.indptr.astype(index), n)
    got = _run(get_backend(backend), args, "_csr", y, sw, w, v, 0.1, K)
    _assert_match(got, _expected(X, "dense", y, sw, w, v, 0.1, K))
    # Dense all-zero rows: the same as empty CSR rows.
    dense = _run(get_backend(backend), (X,), "", y, sw, w, v, 0.1, K)
    _assert_match(dense, got, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
def test_hvp_proba_uses_the_given_probabilities(backend, rng):
    # H at another point: hvp_proba with that point's probabilities is hvp there.
    X, y, sw, w, v = _problem(rng, 50, 5, 4)
    w2 = w + rng.standard_normal(w.size)  # not a constant shift: that changes no softmax
    p2 = np.empty((50, 4))
    kernels = get_backend(backend)
    work = np.empty((2, w.size + 9))
    kernels.multinomial_loss_grad_proba(X, y, sw, w2, 0.0, 4, np.empty(w.size), p2, work)
    got = _run(kernels, (X,), "", y, sw, w, v, 0.1, 4, proba=p2)
    expected = _run(ref, (X,), "", y, sw, w2, v, 0.1, 4)
    np.testing.assert_allclose(got["hvp_proba"], expected["hvp"], rtol=1e-11, atol=1e-13)
    assert not np.allclose(got["hvp_proba"], got["hvp"])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layout", ["dense", "csr32"])
def test_deterministic_for_a_fixed_chunk_count(backend, layout, rng):
    # 6000 x 20 x 5 = 600,000: the passes run on threads (above PARALLEL_MIN_WORK).
    X, y, sw, w, v = _problem(rng, 6000, 20, 5, np.float32, intercept=True, scale=0.3)
    data, suffix = _data(X, layout)
    kernels = get_backend(backend)
    by_T = {}
    for T in (1, 2, 3, 8):
        runs = [_run(kernels, data, suffix, y, sw, w, v, 0.01, 5, T=T) for _ in range(3)]
        for other in runs[1:]:
            for name in runs[0]:
                np.testing.assert_array_equal(other[name], runs[0][name], err_msg=name)
        by_T[T] = runs[0]
    for T in (2, 3, 8):  # another chunk count changes the rounding only
        _assert_match(by_T[T], by_T[1], rtol=1e-12, atol=1e-15)


# --- Cython extension only ---------------------------------------------------------------

cython_only = pytest.mark.skipif("cython" not in BACKENDS, reason="Cython extensions not built")


@cython_only
def test_cython_exports_the_reference_names():
    from fastopt.kernels.cython import multinomial as cy

    assert sorted(cy.__all__) == sorted(ref.__all__)
    assert all(callable(getattr(cy, name)) for name in cy.__all__)


@cython_only
def test_cython_read_only_inputs_are_accepted(rng):
    cy = get_backend("cython")
    X, y, sw, w, v = _problem(rng, 30, 4, 3)
    A = sp.csr_matrix(X)
    proba = np.full((30, 3), 1.0 / 3.0)
    for a in (X, A.data, A.indices, A.indptr, y, sw, w, v, proba):
        a.flags.writeable = False
    work, out = np.empty((2, w.size + 7)), np.empty(w.size)
    f = cy.multinomial_loss_grad(X, y, sw, w, 0.1, 3, out, work)
    cy.multinomial_hvp_csr(A.data, A.indices, A.indptr, 4, y, sw, w, v, 0.1, 3, out, work)
    cy.multinomial_hvp_proba(X, sw, proba, v, 0.1, out, work)
    assert np.isfinite(f) and np.isfinite(out).all()


@cython_only
def test_cython_unsupported_dtypes_are_refused(rng):
    cy = get_backend("cython")
    X, y, sw, w, _ = _problem(rng, 10, 3, 3)
    work, out = np.empty((2, w.size + 7)), np.empty(w.size)
    with pytest.raises((TypeError, ValueError)):  # integer X
        cy.multinomial_loss_grad(X.astype(np.int64), y, sw, w, 0.1, 3, out, work)
    with pytest.raises((TypeError, ValueError)):  # float labels
        cy.multinomial_loss_grad(X, y.astype(np.float64), sw, w, 0.1, 3, out, work)
    with pytest.raises((TypeError, ValueError)):  # Fortran-ordered X
        cy.multinomial_loss_grad(np.asfortranarray(X), y, sw, w, 0.1, 3, out, work)


@cython_only
def test_cython_wrong_shapes_are_errors_not_crashes(rng):
    # The passes read and write raw pointers: every array is checked against the shapes
    # the pass will use (O(1) tests), so a wrong one is an exception, never a bad access.
    cy = get_backend("cython")
    X, y, sw, w, v = _problem(rng, 10, 3, 3)  # P = 12
    A = sp.csr_matrix(X)
    work, out = np.empty((2, w.size + 7)), np.empty(w.size)
    lg = cy.multinomial_loss_grad
    cases = {
        "work too narrow": lambda: lg(X, y, sw, w, 0.1, 3, out, np.empty((2, w.size))),
        "work with no rows": lambda: lg(X, y, sw, w, 0.1, 3, out, np.empty((0, w.size + 7))),
        "grad_out too short": lambda: lg(X, y, sw, w, 0.1, 3, out[:-1], work),
        "grad_out read-only": lambda: lg(X, y, sw, w, 0.1, 3, _read_only(out), work),
        "y too short": lambda: lg(X, y[:-1], sw, w, 0.1, 3, out, work),
        "sw too long": lambda: lg(X, y, np.append(sw, 0.0), w, 0.1, 3, out, work),
        "w neither n K nor (n + 1) K": lambda: lg(X, y, sw, w[:-1], 0.1, 3, out[:-1], work),
        "v too short": lambda: cy.multinomial_hvp(X, y, sw, w, v[:-1], 0.1, 3, out, work),
        "proba of other K": lambda: cy.multinomial_hvp_proba(X, sw, np.empty((10, 4)), v,
                                                             0.1, out, work),
        "proba of other m": lambda: cy.multinomial_hvp_proba(X, sw, np.empty((9, 3)), v,
                                                             0.1, out, work),
        "indices and indptr of two dtypes": lambda: cy.multinomial_loss_grad_csr(
            A.data, A.indices.astype(np.int32), A.indptr.astype(np.int64), 3, y, sw, w, 0.1,
            3, out, work),
        "indices shorter than data": lambda: cy.multinomial_loss_grad_csr(
            A.data, A.indices[:-1], A.indptr, 3, y, sw, w, 0.1, 3, out, work),
        "big-endian X": lambda: lg(X.astype(">f8"), y, sw, w, 0.1, 3, out, work),
        "list for X": lambda: lg(X.tolist(), y, sw, w, 0.1, 3, out, work),
    }
    for name, call in cases.items():
        with pytest.raises((TypeError, ValueError)):
            call()
            pytest.fail(name)


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


@cython_only
def test_cython_kernels_release_the_gil(rng):
    # While a worker thread is inside one long kernel call, the main thread must keep
    # running Python code; a kernel holding the GIL would freeze it for the whole call.
    cy = get_backend("cython")
    n, K = 40, 50

    def problem(m):
        X, y, sw, w, _ = _problem(np.random.default_rng(0), m, n, K, scale=0.1)
        return X, y, sw, w, np.empty(w.size), np.empty((1, w.size + 2 * K + 1))

    args = problem(2000)
    t0 = time.perf_counter()
    cy.multinomial_loss_grad(*args[:4], 0.1, K, *args[4:])
    m = int(2000 * 0.3 / max(time.perf_counter() - t0, 1e-6))  # one call of about 0.3 s
    X, y, sw, w, g, work = problem(min(max(m, 2000), 400_000))
    started, elapsed = threading.Event(), []

    def worker():
        started.set()
        t = time.perf_counter()
        cy.multinomial_loss_grad(X, y, sw, w, 0.1, K, g, work)
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
