"""Logistic kernels of every CPU backend against the NumPy reference twin.

The reference (``fastopt.kernels.reference``) is itself checked against central finite
differences and scikit-learn's ``LinearModelLoss``; every other backend is checked
against the reference on random problems and on the edge cases of docs/contract.md.
"""

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from ._linear_problems import FORMATS, Problem, call, central_difference, make_problem

RTOL = 1e-10  # same float64 data on both sides: only the summation order differs
def all_outputs(backend, prob, lam, work=None):
    """Every logistic kernel's result on ``prob``, as a dict of floats and arrays."""
    P = prob
    work = P.work() if work is None else work
    out = {}
    out["loss"] = call(backend, "logistic_loss", P, P.y, P.sw, P.w, lam, work)
    g = np.empty(P.p)
    out["loss_grad.f"] = call(backend, "logistic_loss_grad", P, P.y, P.sw, P.w, lam, g, work)
    out["loss_grad.g"] = g
    g2, d = np.empty(P.p), np.empty(P.m)
    out["ghw.f"] = call(backend, "logistic_grad_hess_weights", P, P.y, P.sw, P.w, lam, g2, d,
                        work)
    out["ghw.g"], out["ghw.d"] = g2, d
    d2 = np.empty(P.m)
    call(backend, "logistic_hess_weights", P, P.y, P.sw, P.w, d2)
    out["hess_weights"] = d2
    hv = np.empty(P.p)
    call(backend, "logistic_hvp", P, P.y, P.sw, P.w, P.v, lam, hv, work)
    out["hvp"] = hv
    rows = np.arange(P.m, dtype=np.int64)[::2].copy()
    g3 = np.empty(P.p)
    out["rows.f"] = call(backend, "logistic_loss_grad_rows", P, P.y, P.sw, P.w, lam, rows, 1.7,
                         g3, work)
    out["rows.g"] = g3
    return out


def assert_outputs_close(got, want, rtol=RTOL, atol=1e-13):
    assert got.keys() == want.keys()
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=rtol, atol=atol, err_msg=key)


def ref_loss(prob, w, lam):
    return call("numpy", "logistic_loss", prob, prob.y, prob.sw, w, lam, None)


def ref_grad(prob, w, lam):
    g = np.empty(prob.p)
    call("numpy", "logistic_loss_grad", prob, prob.y, prob.sw, w, lam, g, None)
    return g




# --- every backend against the reference ------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("intercept", [False, True], ids=["no_b", "b"])
def test_matches_reference(backend, dtype, fmt, intercept, rng):
    prob = make_problem(rng, 203, 13, dtype, fmt, intercept, weighted=intercept)
    assert_outputs_close(all_outputs(backend, prob, 0.3), all_outputs("numpy", prob, 0.3))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("m, n", [(1, 1), (1, 6), (4, 9), (7, 1)], ids=str)
def test_small_shapes(backend, fmt, m, n, rng):
    prob = make_problem(rng, m, n, np.float64, fmt, intercept=True, density=0.6)
    assert_outputs_close(all_outputs(backend, prob, 0.1), all_outputs("numpy", prob, 0.1))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("n, intercept", [(2047, True), (2048, True), (2100, False)], ids=str)
def test_wide_rows(backend, fmt, n, intercept, rng):
    # partial gradients of up to 2048 entries go to a private stack row, longer ones
    # straight into work[c]: both sides of that boundary, over several row blocks
    prob = make_problem(rng, 37, n, np.float64, fmt, intercept, density=0.05)
    assert_outputs_close(all_outputs(backend, prob, 0.2), all_outputs("numpy", prob, 0.2))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("intercept", [False, True], ids=["no_b", "b"])
def test_no_rows_gives_only_l2_term(backend, fmt, intercept, rng):
    prob = make_problem(rng, 0, 5, np.float64, fmt, intercept)
    lam = 0.7
    got = all_outputs(backend, prob, lam)
    w, v, n = prob.w, prob.v, prob.n
    expected_grad = np.concatenate([lam * w[:n], np.zeros(prob.p - n)])
    assert got["loss"] == pytest.approx(0.5 * lam * w[:n] @ w[:n], rel=1e-14)
    assert got["loss_grad.f"] == pytest.approx(0.5 * lam * w[:n] @ w[:n], rel=1e-14)
    np.testing.assert_allclose(got["loss_grad.g"], expected_grad, rtol=1e-14)
    np.testing.assert_allclose(got["hvp"], np.concatenate([lam * v[:n], np.zeros(prob.p - n)]))
    assert got["ghw.d"].shape == (0,)


@pytest.mark.parametrize("fmt", FORMATS)
def test_all_zero_rows(backend, fmt, rng):
    prob = make_problem(rng, 40, 6, np.float64, fmt)
    if prob.is_csr:
        X = prob.X.toarray()
        X[::3] = 0.0
        prob.X = sp.csr_matrix(X)
    else:
        prob.X[::3] = 0.0
    got = all_outputs(backend, prob, 0.0)
    assert_outputs_close(got, all_outputs("numpy", prob, 0.0))
    # a zero row (no intercept) contributes ln 2 and curvature sw / 4
    np.testing.assert_allclose(got["hess_weights"][::3], prob.sw[::3] / 4, rtol=1e-14)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("intercept", [False, True], ids=["no_b", "b"])
def test_huge_margins_no_warnings(backend, fmt, intercept, rng):
    prob = make_problem(rng, 60, 4, np.float64, fmt, intercept, density=0.8)
    if prob.is_csr:
        prob.X.data[: prob.X.nnz // 2] *= 1e300
    else:
        prob.X[::2] *= 1e300
    prob.w = np.clip(prob.w, -0.9, 0.9)
    prob.v = np.clip(prob.v, -0.9, 0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = all_outputs(backend, prob, 0.1)
        want = all_outputs("numpy", prob, 0.1)
    for key, value in got.items():
        assert np.all(np.isfinite(value)), key
    assert_outputs_close(got, want, rtol=1e-9, atol=1e-300)
    assert got["loss"] > 1e295  # misclassified rows with |z| ~ 1e300 cost |z|


def test_float32_close_to_float64(backend, rng):
    prob64 = make_problem(rng, 300, 17, np.float64, "dense", intercept=True)
    prob32 = make_problem(rng, 300, 17, np.float32, "dense", intercept=True)
    prob32.y, prob32.sw, prob32.w, prob32.v = prob64.y, prob64.sw, prob64.w, prob64.v
    prob32.X = prob64.X.astype(np.float32)
    got = all_outputs(backend, prob32, 0.05)
    want = all_outputs("numpy", prob64, 0.05)
    assert_outputs_close(got, want, rtol=1e-5, atol=1e-6)


# --- the reference is the oracle: check it against derivatives and scikit-learn ---------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("intercept", [False, True], ids=["no_b", "b"])
def test_gradient_and_hvp_match_finite_differences(backend, fmt, intercept, rng):
    prob = make_problem(rng, 80, 5, np.float64, fmt, intercept, weighted=True)
    lam = 0.2
    got = all_outputs(backend, prob, lam)
    fd_grad = central_difference(lambda w: ref_loss(prob, w, lam), prob.w)
    np.testing.assert_allclose(got["loss_grad.g"], fd_grad, rtol=1e-6, atol=1e-8)
    hessian = central_difference(lambda w: ref_grad(prob, w, lam), prob.w)
    np.testing.assert_allclose(got["hvp"], hessian @ prob.v, rtol=1e-5, atol=1e-7)
    # the Hessian from the weights d: X~^T diag(d) X~ + lam I_n
    Xt = prob.X.toarray() if prob.is_csr else prob.X
    if intercept:
        Xt = np.hstack([Xt, np.ones((prob.m, 1))])
    reg = np.diag(np.r_[np.full(prob.n, lam), np.zeros(prob.p - prob.n)])
    np.testing.assert_allclose(Xt.T @ (got["ghw.d"][:, None] * Xt) + reg, hessian,
                               rtol=1e-5, atol=1e-7)


def test_rows_variant_is_a_reweighted_subset(backend, rng):
    prob = make_problem(rng, 50, 4, np.float64, "dense", intercept=True, weighted=True)
    rows = np.array([3, 7, 7, 20, 49], dtype=np.int64)
    scale = 2.5
    g = np.empty(prob.p)
    f = call(backend, "logistic_loss_grad_rows", prob, prob.y, prob.sw, prob.w, 0.4, rows,
             scale, g, prob.work())
    sub = Problem(prob.X[rows], prob.y[rows], prob.sw[rows] * scale, prob.w, prob.v)
    g_sub = np.empty(prob.p)
    f_sub = call("numpy", "logistic_loss_grad", sub, sub.y, sub.sw, sub.w, 0.4, g_sub, None)
    assert f == pytest.approx(f_sub, rel=1e-12)
    np.testing.assert_allclose(g, g_sub, rtol=1e-12)


def test_reference_matches_sklearn_on_a9a():
    from pathlib import Path

    from sklearn._loss.loss import HalfBinomialLoss
    from sklearn.datasets import load_svmlight_file
    from sklearn.linear_model._linear_loss import LinearModelLoss

    import fastopt

    path = Path(fastopt.__file__).parent / "datasets" / "data" / "a9a.svm.gz"
    X, y01 = load_svmlight_file(str(path), n_features=123)
    X = X.tocsr()
    y01 = (y01 > 0).astype(np.float64)
    m, n = X.shape
    w = np.random.default_rng(1).standard_normal(n) * 0.1
    lam = 1e-3
    sk_loss, sk_grad = LinearModelLoss(
        base_loss=HalfBinomialLoss(), fit_intercept=False
    ).loss_gradient(w, X, y01, l2_reg_strength=lam)
    y = 2.0 * y01 - 1.0
    sw = np.full(m, 1.0 / m)
    for backend in ["numpy", "numba"]:
        for prob in (Problem(X, y, sw, w, w), Problem(X.toarray(), y, sw, w, w)):
            g = np.empty(n)
            f = call(backend, "logistic_loss_grad", prob, y, sw, w, lam, g, prob.work())
            assert f == pytest.approx(sk_loss, rel=1e-10)
            np.testing.assert_allclose(g, sk_grad, rtol=1e-10, atol=1e-12)


# --- properties ---------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 30), n=st.integers(1, 6),
       intercept=st.booleans(), lam=st.floats(0.0, 2.0))
def test_property_gradient_is_derivative_of_loss(seed, m, n, intercept, lam):
    prob = make_problem(np.random.default_rng(seed), m, n, intercept=intercept, weighted=True)
    g = np.empty(prob.p)
    call("numba", "logistic_loss_grad", prob, prob.y, prob.sw, prob.w, lam, g, prob.work())
    fd = central_difference(lambda w: ref_loss(prob, w, lam), prob.w)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(0, 30), n=st.integers(1, 6),
       scale=st.floats(1e-3, 1e3))
def test_property_loss_nonnegative_and_ln2_at_zero(seed, m, n, scale):
    rng = np.random.default_rng(seed)
    prob = make_problem(rng, m, n, weighted=True)
    prob.X *= scale
    prob.w *= scale
    work = prob.work()
    for backend in ("numpy", "numba"):
        assert call(backend, "logistic_loss", prob, prob.y, prob.sw, prob.w, 0.0, work) >= 0.0
        f0 = call(backend, "logistic_loss", prob, prob.y, prob.sw, np.zeros(prob.p), 0.3, work)
        assert f0 == pytest.approx(math.log(2.0) * prob.sw.sum(), rel=1e-13, abs=1e-300)


# --- contract: determinism, inputs untouched, any chunk count ----------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_deterministic_for_fixed_chunks(backend, fmt, rng):
    prob = make_problem(rng, 1001, 9, np.float64, fmt, intercept=True)
    first = all_outputs(backend, prob, 0.1)
    second = all_outputs(backend, prob, 0.1)
    for key in first:
        assert np.array_equal(first[key], second[key]), key


@pytest.mark.parametrize("fmt", FORMATS)
def test_inputs_not_modified(backend, fmt, rng):
    prob = make_problem(rng, 31, 5, np.float32, fmt, intercept=True)
    arrays = [prob.y, prob.sw, prob.w, prob.v]
    arrays += [prob.X.data, prob.X.indices, prob.X.indptr] if prob.is_csr else [prob.X]
    before = [a.copy() for a in arrays]
    all_outputs(backend, prob, 0.1)
    for a, b in zip(arrays, before, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("chunks", [1, 3, 7])
def test_any_chunk_count(backend, fmt, chunks, rng):
    prob = make_problem(rng, 20, 3, np.float64, fmt, intercept=True)
    work = np.full((chunks, prob.p), np.nan)  # contents on entry must be ignored
    assert_outputs_close(all_outputs(backend, prob, 0.2, work), all_outputs("numpy", prob, 0.2))
