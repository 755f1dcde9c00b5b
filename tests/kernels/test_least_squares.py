"""Least-squares kernels of every CPU backend against the NumPy reference twin.

The reference is checked against finite differences and a closed form (normal equations);
the other backends against the reference on random problems and the edge cases of
docs/contract.md.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from ._linear_problems import FORMATS, Problem, call, central_difference, make_problem

RTOL = 1e-10


def make_lsq(rng, m, n, dtype=np.float64, fmt="dense", intercept=False, weighted=False,
             density=0.3):
    prob = make_problem(rng, m, n, dtype, fmt, intercept, weighted, density)
    prob.y = rng.standard_normal(m) * 3.0  # real targets
    return prob


def all_outputs(backend, prob, lam, work=None):
    """Every least-squares kernel's result on ``prob``."""
    P = prob
    work = P.work() if work is None else work
    out = {"loss": call(backend, "lsq_loss", P, P.y, P.sw, P.w, lam, work)}
    g = np.empty(P.p)
    out["loss_grad.f"] = call(backend, "lsq_loss_grad", P, P.y, P.sw, P.w, lam, g, work)
    out["loss_grad.g"] = g
    g2, d = np.empty(P.p), np.empty(P.m)
    out["ghw.f"] = call(backend, "lsq_grad_hess_weights", P, P.y, P.sw, P.w, lam, g2, d, work)
    out["ghw.g"], out["ghw.d"] = g2, d
    d2 = np.empty(P.m)
    call(backend, "lsq_hess_weights", P, P.y, P.sw, P.w, d2)
    out["hess_weights"] = d2
    hv = np.empty(P.p)
    call(backend, "lsq_hvp", P, P.y, P.sw, P.w, P.v, lam, hv, work)
    out["hvp"] = hv
    rows = np.arange(P.m, dtype=np.int64)[1::2].copy()
    g3 = np.empty(P.p)
    out["rows.f"] = call(backend, "lsq_loss_grad_rows", P, P.y, P.sw, P.w, lam, rows, 0.6, g3,
                         work)
    out["rows.g"] = g3
    return out


def assert_outputs_close(got, want, rtol=RTOL, atol=1e-12):
    assert got.keys() == want.keys()
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=rtol, atol=atol, err_msg=key)


def ref_loss(prob, w, lam):
    return call("numpy", "lsq_loss", prob, prob.y, prob.sw, w, lam, None)


def dense_design(prob):
    """``X~`` as a dense float64 array (with the column of ones for an intercept)."""
    X = prob.X.toarray() if prob.is_csr else np.asarray(prob.X, dtype=np.float64)
    if prob.p > prob.n:
        X = np.hstack([X, np.ones((prob.m, 1))])
    return X


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("intercept", [False, True], ids=["no_b", "b"])
def test_matches_reference(backend, dtype, fmt, intercept, rng):
    prob = make_lsq(rng, 211, 11, dtype, fmt, intercept, weighted=intercept)
    assert_outputs_close(all_outputs(backend, prob, 0.3), all_outputs("numpy", prob, 0.3))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("m, n", [(1, 1), (1, 6), (4, 9), (7, 1)], ids=str)
def test_small_shapes(backend, fmt, m, n, rng):
    prob = make_lsq(rng, m, n, np.float64, fmt, intercept=True, density=0.6)
    assert_outputs_close(all_outputs(backend, prob, 0.1), all_outputs("numpy", prob, 0.1))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("n, intercept", [(2047, True), (2100, False)], ids=str)
def test_wide_rows(backend, fmt, n, intercept, rng):
    # both sides of the private-row limit (2048 entries) of the partial gradients
    prob = make_lsq(rng, 37, n, np.float64, fmt, intercept, density=0.05)
    assert_outputs_close(all_outputs(backend, prob, 0.2), all_outputs("numpy", prob, 0.2))


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_rows_gives_only_l2_term(backend, fmt, rng):
    prob = make_lsq(rng, 0, 4, np.float64, fmt, intercept=True)
    lam = 0.9
    got = all_outputs(backend, prob, lam)
    w, v = prob.w, prob.v
    assert got["loss_grad.f"] == pytest.approx(0.5 * lam * w[:4] @ w[:4], rel=1e-14)
    np.testing.assert_allclose(got["loss_grad.g"], np.r_[lam * w[:4], 0.0], rtol=1e-14)
    np.testing.assert_allclose(got["hvp"], np.r_[lam * v[:4], 0.0], rtol=1e-14)


@pytest.mark.parametrize("fmt", FORMATS)
def test_all_zero_rows(backend, fmt, rng):
    prob = make_lsq(rng, 30, 5, np.float64, fmt)
    X = prob.X.toarray() if prob.is_csr else prob.X
    X[1::4] = 0.0
    prob.X = sp.csr_matrix(X) if prob.is_csr else X
    assert_outputs_close(all_outputs(backend, prob, 0.0), all_outputs("numpy", prob, 0.0))


def test_float32_close_to_float64(backend, rng):
    prob64 = make_lsq(rng, 250, 12, np.float64, "dense", intercept=True)
    prob32 = Problem(prob64.X.astype(np.float32), prob64.y, prob64.sw, prob64.w, prob64.v)
    got = all_outputs(backend, prob32, 0.05)
    want = all_outputs("numpy", prob64, 0.05)
    assert_outputs_close(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("intercept", [False, True], ids=["no_b", "b"])
def test_derivatives_match_closed_forms(backend, fmt, intercept, rng):
    prob = make_lsq(rng, 60, 5, np.float64, fmt, intercept, weighted=True)
    lam = 0.25
    got = all_outputs(backend, prob, lam)
    fd = central_difference(lambda w: ref_loss(prob, w, lam), prob.w)
    np.testing.assert_allclose(got["loss_grad.g"], fd, rtol=1e-6, atol=1e-8)
    X = dense_design(prob)
    reg = np.diag(np.r_[np.full(prob.n, lam), np.zeros(prob.p - prob.n)])
    H = X.T @ (prob.sw[:, None] * X) + reg
    np.testing.assert_allclose(got["hvp"], H @ prob.v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got["ghw.d"], prob.sw)
    # the gradient vanishes at the solution of the regularized normal equations
    w_star = np.linalg.solve(H, X.T @ (prob.sw * prob.y))
    g = np.empty(prob.p)
    call(backend, "lsq_loss_grad", prob, prob.y, prob.sw, w_star, lam, g, prob.work())
    np.testing.assert_allclose(g, 0.0, atol=1e-10)


def test_rows_variant_is_a_reweighted_subset(backend, rng):
    prob = make_lsq(rng, 40, 3, np.float64, "csr", intercept=True, weighted=True, density=0.7)
    rows = np.array([0, 5, 5, 39], dtype=np.int64)
    g = np.empty(prob.p)
    f = call(backend, "lsq_loss_grad_rows", prob, prob.y, prob.sw, prob.w, 0.2, rows, 10.0, g,
             prob.work())
    sub = Problem(prob.X[rows], prob.y[rows], prob.sw[rows] * 10.0, prob.w, prob.v)
    g_sub = np.empty(prob.p)
    f_sub = call("numpy", "lsq_loss_grad", sub, sub.y, sub.sw, sub.w, 0.2, g_sub, None)
    assert f == pytest.approx(f_sub, rel=1e-12)
    np.testing.assert_allclose(g, g_sub, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(0, 25), n=st.integers(1, 6),
       intercept=st.booleans(), lam=st.floats(0.0, 2.0))
def test_property_gradient_and_nonnegative_loss(seed, m, n, intercept, lam):
    prob = make_lsq(np.random.default_rng(seed), m, n, intercept=intercept, weighted=True)
    g = np.empty(prob.p)
    f = call("numba", "lsq_loss_grad", prob, prob.y, prob.sw, prob.w, lam, g, prob.work())
    assert f >= 0.0
    fd = central_difference(lambda w: ref_loss(prob, w, lam), prob.w)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("fmt", FORMATS)
def test_deterministic_and_inputs_not_modified(backend, fmt, rng):
    prob = make_lsq(rng, 777, 8, np.float32, fmt, intercept=True)
    arrays = [prob.y, prob.sw, prob.w, prob.v]
    arrays += [prob.X.data, prob.X.indices, prob.X.indptr] if prob.is_csr else [prob.X]
    before = [a.copy() for a in arrays]
    first = all_outputs(backend, prob, 0.1)
    second = all_outputs(backend, prob, 0.1)
    for key in first:
        assert np.array_equal(first[key], second[key]), key
    for a, b in zip(arrays, before, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("chunks", [1, 5])
def test_any_chunk_count(backend, chunks, rng):
    prob = make_lsq(rng, 13, 3, np.float64, "dense", intercept=True)
    work = np.full((chunks, prob.p), np.nan)
    assert_outputs_close(all_outputs(backend, prob, 0.2, work), all_outputs("numpy", prob, 0.2))
