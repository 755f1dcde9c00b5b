"""The compiled ``batch_newton`` kernels (Cython, numba) against their NumPy twin.

Every case lays K problems out as the batch layer does (``fastopt/batch/_layout.py``):
contiguous rows (``rows`` empty, a (K, m, n) stack) or rows picked by index (groups, kept
rows), targets and weights from ``y_start`` (offset here by a few padding entries, so that
a kernel mixing up ``x_start`` and ``y_start`` fails), weights normalized per problem.
Problems preset to a status other than -1 (PENDING) must come back untouched.
"""

import importlib

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit

from fastopt import _config
from fastopt.kernels.batch_codes import CONVERGED, EMPTY, MAX_ITER, NONFINITE, PENDING
from fastopt.kernels.losses import LOGISTIC, POISSON, SQUARED
from fastopt.kernels.reference import batch as ref

BACKENDS = ["cython", "numba"]
LOSSES = [LOGISTIC, SQUARED, POISSON]
FORMATS = ["float64", "float32", "csr"]
TOL = 1e-10
PAD = 3  # entries of y and sw before the first problem's


def _kernels(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    else:
        pytest.importorskip("fastopt.kernels.cython.batch",
                            reason="Cython extensions not built")
    return importlib.import_module(f"fastopt.kernels.{backend}.batch")


@pytest.fixture(params=BACKENDS)
def kernels(request):
    return _kernels(request.param)


# --- building a batch ---------------------------------------------------------------------


def _targets(rng, kind, A):
    """Targets of loss ``kind`` for the rows A (a linear signal with small coefficients)."""
    z = A @ (rng.standard_normal(A.shape[1]) * 0.4)
    if kind == LOGISTIC:
        return np.where(rng.random(len(z)) < expit(2.0 * z), 1.0, -1.0)
    if kind == POISSON:
        return rng.poisson(np.exp(z)).astype(np.float64)
    return z + 0.3 * rng.standard_normal(len(z))


def _batch(rng, kind, sizes, n, indexed, dtype=np.float64, presets=()):
    """The flat layout of len(sizes) problems of sizes[k] rows and n features.

    ``presets`` maps a problem to the status it starts with (not PENDING: not solved;
    EMPTY problems get no rows). Returns a dict of the kernel's input arrays.
    """
    presets = dict(presets)
    K = len(sizes)
    n_rows = np.array([0 if presets.get(k) == EMPTY else s for k, s in enumerate(sizes)],
                      dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(n_rows)[:-1]]).astype(np.int64)
    total = int(n_rows.sum())
    if indexed:
        # a shared X with more rows than used; each problem picks its rows by index
        X = rng.standard_normal((total + 7, n))
        rows = np.concatenate([rng.choice(total + 7, s, replace=False) for s in n_rows]
                              + [np.empty(0)]).astype(np.int64)
        A = X[rows]
    else:
        X = rng.standard_normal((total, n))
        rows = np.empty(0, dtype=np.int64)
        A = X
    y = _targets(rng, kind, A)
    sw = rng.uniform(0.5, 1.5, total)
    for k in range(K):
        sl = slice(starts[k], starts[k] + n_rows[k])
        sw[sl] /= sw[sl].sum()
    status = np.full(K, PENDING, dtype=np.int32)
    for k, code in presets.items():
        status[k] = code
    return dict(X=X.astype(dtype), rows=rows, x_start=starts, n_rows=n_rows,
                y=np.concatenate([np.full(PAD, 9.0), y]),
                sw=np.concatenate([np.full(PAD, 9.0), sw]), y_start=starts + PAD,
                lam=rng.uniform(0.01, 0.1, K), status=status)


def _run(module, kind, b, fmt, icpt, W0, tol=TOL, max_iter=50):
    """Call ``module``'s kernel (dense or CSR) on a copy of the start; returns the outputs
    (W, fun, grad_norm, n_iter, status); fun and grad_norm start as sentinels."""
    K = len(b["n_rows"])
    W = W0.copy()
    fun = np.full(K, -5.0)
    grad_norm = np.full(K, -5.0)
    n_iter = np.full(K, -7, dtype=np.int32)
    status = b["status"].copy()
    args = (b["rows"], b["x_start"], b["n_rows"], b["y"], b["sw"], b["y_start"], b["lam"],
            icpt, tol, max_iter, W, fun, grad_norm, n_iter, status)
    if fmt == "csr":
        X = sp.csr_array(b["X"])
        module.batch_newton_csr(kind, X.data.astype(np.float64), X.indices.astype(np.int64),
                                X.indptr.astype(np.int64), X.shape[1], *args)
    else:
        module.batch_newton(kind, b["X"], *args)
    return W, fun, grad_norm, n_iter, status


def _gradient(kind, b, k, w, icpt):
    """NumPy gradient of problem k's objective at w (the loss derivatives written out)."""
    X = np.asarray(b["X"], dtype=np.float64)
    m, first = b["n_rows"][k], b["x_start"][k]
    index = b["rows"][first:first + m] if b["rows"].size else np.arange(first, first + m)
    A = X[index]
    if icpt:
        A = np.hstack([A, np.ones((m, 1))])
    lo = b["y_start"][k]
    y, sw = b["y"][lo:lo + m], b["sw"][lo:lo + m]
    z = A @ w
    if kind == LOGISTIC:
        dl = -y * expit(-y * z)
    elif kind == POISSON:
        dl = np.exp(z) - y
    else:
        dl = z - y
    g = A.T @ (sw * dl)
    n = X.shape[1]
    g[:n] += b["lam"][k] * w[:n]
    return g


def _assert_same(got, want):
    W, fun, grad_norm, n_iter, status = got
    np.testing.assert_array_equal(status, want[4])
    np.testing.assert_array_equal(n_iter, want[3])
    scale = max(1.0, float(np.max(np.abs(want[0]), initial=0.0)))
    np.testing.assert_allclose(W, want[0], rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(fun, want[1], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad_norm, want[2], rtol=1e-6, atol=1e-13)


# --- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_names_as_reference(backend):
    module = _kernels(backend)
    assert sorted(module.__all__) == sorted(ref.__all__)
    for name in module.__all__:
        assert callable(getattr(module, name))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", LOSSES)
def test_matches_reference(kernels, kind, fmt):
    rng = np.random.default_rng(10 * kind + FORMATS.index(fmt))
    dtype = np.float32 if fmt == "float32" else np.float64
    # problem 2 has no rows (EMPTY), problem 4 was stopped earlier (left as it is)
    presets = {2: EMPTY, 4: MAX_ITER}
    for indexed in (False, True):
        for icpt in (False, True):
            b = _batch(rng, kind, [35, 20, 30, 41, 25, 12], 4, indexed, dtype, presets)
            W0 = 0.1 * rng.standard_normal((6, 4 + icpt))
            got = _run(kernels, kind, b, fmt, icpt, W0)
            want = _run(ref, kind, b, "dense", icpt, W0)
            _assert_same(got, want)
            W, fun, grad_norm, n_iter, status = got
            solved = b["status"] == PENDING
            assert np.all(status[solved] == CONVERGED)
            for k in np.flatnonzero(solved):
                assert np.linalg.norm(_gradient(kind, b, k, W[k], icpt)) <= TOL + 1e-14
                assert n_iter[k] >= 1
            # the preset problems: W, fun, grad_norm, n_iter and status untouched
            np.testing.assert_array_equal(W[~solved], W0[~solved])
            np.testing.assert_array_equal(status[~solved], b["status"][~solved])
            assert np.all(fun[~solved] == -5.0) and np.all(grad_norm[~solved] == -5.0)
            assert np.all(n_iter[~solved] == -7)


@pytest.mark.parametrize("fmt", FORMATS)
def test_single_problem(kernels, fmt):
    rng = np.random.default_rng(3)
    dtype = np.float32 if fmt == "float32" else np.float64
    b = _batch(rng, LOGISTIC, [50], 3, False, dtype)
    W0 = np.zeros((1, 4))
    got = _run(kernels, LOGISTIC, b, fmt, True, W0)
    _assert_same(got, _run(ref, LOGISTIC, b, "dense", True, W0))
    assert got[4][0] == CONVERGED


def test_only_presets_is_a_no_op(kernels):
    # no pending problem: nothing is allocated or written
    rng = np.random.default_rng(4)
    b = _batch(rng, SQUARED, [10, 10], 3, False, presets={0: EMPTY, 1: 5})
    W0 = rng.standard_normal((2, 3))
    W, fun, _, n_iter, status = _run(kernels, SQUARED, b, "float64", False, W0)
    np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(status, [EMPTY, 5])
    assert np.all(fun == -5.0) and np.all(n_iter == -7)


@pytest.mark.parametrize("kind", LOSSES)
def test_csr_zero_rows_and_no_nonzeros(kernels, kind):
    rng = np.random.default_rng(5)
    b = _batch(rng, kind, [30, 25], 5, True)
    X = b["X"] * (rng.random(b["X"].shape) < 0.4)
    X[b["rows"][3]] = 0.0  # an all-zero row inside problem 0
    for icpt in (False, True):
        W0 = 0.1 * rng.standard_normal((2, 5 + icpt))
        for data in (X, np.zeros_like(X)):  # some nonzeros, then none at all
            case = dict(b, X=data)
            got = _run(kernels, kind, case, "csr", icpt, W0)
            want = _run(ref, kind, case, "dense", icpt, W0)
            _assert_same(got, want)
            assert np.all(got[4] == CONVERGED)
            if not data.any():
                # no data: the coefficients go to 0 (the ridge), the intercept fits y
                np.testing.assert_allclose(got[0][:, :5], 0.0, atol=1e-9)


def test_singular_hessian_backends_agree():
    # lam = 0 and a duplicated column: H is singular. The ridge makes the factorization
    # succeed (or rounding leaves a tiny positive pivot): every backend converges, to the
    # same predictions; how the weight splits between the two copies is rounding noise.
    rng = np.random.default_rng(6)
    b = _batch(rng, SQUARED, [30, 24], 2, False)
    b["X"] = np.column_stack([b["X"], b["X"][:, 0]])
    b["lam"][:] = 0.0
    W0 = np.zeros((2, 4))
    results = {"numpy": _run(ref, SQUARED, b, "dense", True, W0)}
    for backend in BACKENDS:
        results[backend] = _run(_kernels(backend), SQUARED, b, "float64", True, W0)
    want = results["numpy"]
    for W, fun, grad_norm, n_iter, status in results.values():
        np.testing.assert_array_equal(status, [CONVERGED, CONVERGED])
        np.testing.assert_array_equal(n_iter, want[3])
        np.testing.assert_allclose(fun, want[1], rtol=1e-12)
        assert np.all(grad_norm <= TOL)
        # the identified combinations: w0 + w2 (the two copies), w1 and the intercept
        for Wk, Vk in zip(W, want[0], strict=True):
            np.testing.assert_allclose([Wk[0] + Wk[2], Wk[1], Wk[3]],
                                       [Vk[0] + Vk[2], Vk[1], Vk[3]], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("fmt", ["float64", "csr"])
def test_separable_logistic_spends_the_budget(kernels, fmt):
    # lam = 0 on separable data: no minimizer, ||w|| grows every Newton step
    rng = np.random.default_rng(7)
    b = _batch(rng, LOGISTIC, [40, 30], 3, False)
    b["y"][PAD:] = np.where(b["X"] @ np.array([1.0, -2.0, 0.5]) > 0, 1.0, -1.0)
    b["lam"][:] = 0.0
    W0 = np.zeros((2, 4))
    got = _run(kernels, LOGISTIC, b, fmt, True, W0, max_iter=5)
    want = _run(ref, LOGISTIC, b, "dense", True, W0, max_iter=5)
    _assert_same(got, want)
    np.testing.assert_array_equal(got[4], [MAX_ITER, MAX_ITER])
    np.testing.assert_array_equal(got[3], [5, 5])
    assert np.all(np.isfinite(got[0])) and np.all(got[2] > TOL)


def test_nonfinite_start(kernels):
    # exp overflows at a huge Poisson start: f = inf, status 4, W and n_iter reset to 0
    rng = np.random.default_rng(8)
    b = _batch(rng, POISSON, [20, 20], 3, False)
    W0 = np.zeros((2, 3))
    W0[1] = 1e3
    got = _run(kernels, POISSON, b, "float64", False, W0)
    want = _run(ref, POISSON, b, "dense", False, W0)
    np.testing.assert_array_equal(got[4], [CONVERGED, NONFINITE])
    np.testing.assert_array_equal(got[4], want[4])
    np.testing.assert_array_equal(got[0][1], W0[1])
    assert got[1][1] == np.inf and got[2][1] == np.inf and got[3][1] == 0


def test_zero_budget(kernels):
    # max_iter = 0: the start is only evaluated
    rng = np.random.default_rng(9)
    b = _batch(rng, SQUARED, [20, 20], 3, True)
    W0 = rng.standard_normal((2, 4))
    got = _run(kernels, SQUARED, b, "float64", True, W0, max_iter=0)
    _assert_same(got, _run(ref, SQUARED, b, "dense", True, W0, max_iter=0))
    np.testing.assert_array_equal(got[4], [MAX_ITER, MAX_ITER])
    np.testing.assert_array_equal(got[0], W0)


def test_wrong_width_is_refused(kernels):
    rng = np.random.default_rng(11)
    b = _batch(rng, SQUARED, [10], 3, False)
    with pytest.raises(ValueError, match="columns"):
        _run(kernels, SQUARED, b, "float64", True, np.zeros((1, 3)))


@pytest.mark.parametrize("fmt", ["float32", "csr"])
def test_same_bits_for_any_thread_count(kernels, fmt):
    rng = np.random.default_rng(12)
    b = _batch(rng, LOGISTIC, [30, 12, 25, 40, 18, 22, 31], 4, True,
               np.float32 if fmt == "float32" else np.float64, presets={3: EMPTY})
    W0 = np.zeros((7, 5))
    previous = _config.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            _config.set_num_threads(threads)
            results.append(_run(kernels, LOGISTIC, b, fmt, True, W0))
    finally:
        _config.set_num_threads(previous)
    assert _config.get_num_threads() == previous
    for one, two in zip(*results, strict=True):
        np.testing.assert_array_equal(one, two)
    assert np.all(results[0][4][b["status"] == PENDING] == CONVERGED)
