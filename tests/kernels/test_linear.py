"""The generic linear-model kernels of every backend, for every loss, against the reference.

Parametrized over loss x backend: every loss of :data:`fastopt.kernels.losses.LOSSES`
on numpy, numba, cython and cuda (numba's CUDA simulator where there is no GPU: the very
kernels of :mod:`fastopt.kernels.cuda` on the CPU, so its problems stay small). The NumPy
reference (``fastopt.kernels.reference.linear``) is itself checked against central finite
differences and scikit-learn's ``LinearModelLoss``; every other backend against the
reference on random problems and on the edge cases of docs/contract.md (no rows, one row,
one column, zero rows, float32, CSR, intercept, weights, mini-batch rows).
"""

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import fastopt
from fastopt import _config
from fastopt.kernels import available_backends
from fastopt.kernels.losses import LOGISTIC, LOSSES, POISSON, SQUARED

from ._linear_problems import FORMATS, Problem, central_difference, make_problem

RTOL = 1e-10  # same float64 data on both sides: only the summation order differs
KERNELS = ["loss", "loss_grad", "grad_hess_weights", "hess_weights", "hvp", "loss_grad_rows"]

try:
    import fastopt.kernels.cuda as _cuda_kernels
except Exception:  # numba-cuda missing: the CPU backends are still tested
    _cuda_kernels = None

CPU_BACKENDS = [b for b in ("numpy", "numba", "cython") if b in available_backends()]
KERNEL_BACKENDS = CPU_BACKENDS + (["cuda"] if _cuda_kernels is not None else [])
LOSS_CODES = [loss.code for loss in LOSSES]
LOSS_IDS = [loss.name for loss in LOSSES]


@pytest.fixture(params=KERNEL_BACKENDS)
def kbackend(request, monkeypatch):
    """Every backend with linear-model kernels here, CUDA (simulated or real) included."""
    if request.param == "cuda":
        # 32 threads per block: the smallest legal block, and fast on the simulator
        monkeypatch.setattr(_config, "THREADS_PER_BLOCK", 32)
    return request.param


@pytest.fixture(params=LOSS_CODES, ids=LOSS_IDS)
def loss(request):
    return request.param


def module(backend):
    if backend == "cuda":
        return _cuda_kernels
    from fastopt.kernels import get_backend

    return get_backend(backend)


def targets(loss, rng, m):
    """Valid targets of ``loss``: labels +-1, reals, or counts (zeros included)."""
    if loss == LOGISTIC:
        return np.where(rng.random(m) < 0.5, -1.0, 1.0)
    if loss == SQUARED:
        return rng.standard_normal(m)
    if loss == POISSON:
        return rng.poisson(1.5, m).astype(np.float64)
    raise AssertionError(f"no targets for loss {loss}")


def problem(loss, rng, m, n, dtype=np.float64, fmt="dense", intercept=False, weighted=False,
            density=0.3):
    prob = make_problem(rng, m, n, dtype, fmt, intercept, weighted, density)
    prob.y = targets(loss, rng, m)
    if loss == POISSON:  # moderate predictors: e^z stays of order one
        prob.w = 0.3 * prob.w
    return prob


def work_for(backend, prob):
    if backend == "cuda":
        return _cuda_kernels.cuda_work(prob.m, prob.p, prob.X.nnz if prob.is_csr else None)
    return prob.work()


def call(backend, name, loss, prob, *args):
    """The kernel ``linear_<name>`` (or its ``_csr`` twin) of ``backend`` on ``prob.X``."""
    K = module(backend)
    fn = getattr(K, f"linear_{name}" + ("_csr" if prob.is_csr else ""), None)
    if fn is None:
        pytest.fail(f"backend {backend!r} has no kernel linear_{name} (docs/contract.md)")
    if prob.is_csr:
        A = prob.X
        return fn(loss, A.data, A.indices, A.indptr, A.shape[1], *args)
    return fn(loss, prob.X, *args)


def all_outputs(backend, loss, prob, lam, work=None):
    """Every linear-model kernel's result on ``prob``, as a dict of floats and arrays."""
    P = prob
    work = work_for(backend, P) if work is None else work
    out = {}
    out["loss"] = call(backend, "loss", loss, P, P.y, P.sw, P.w, lam, work)
    g = np.empty(P.p)
    out["loss_grad.f"] = call(backend, "loss_grad", loss, P, P.y, P.sw, P.w, lam, g, work)
    out["loss_grad.g"] = g
    g2, d = np.empty(P.p), np.empty(P.m)
    out["ghw.f"] = call(backend, "grad_hess_weights", loss, P, P.y, P.sw, P.w, lam, g2, d,
                        work)
    out["ghw.g"], out["ghw.d"] = g2, d
    d2 = np.full(P.m, -1.0)
    call(backend, "hess_weights", loss, P, P.y, P.sw, P.w, d2)
    out["hess_weights"] = d2
    hv = np.empty(P.p)
    call(backend, "hvp", loss, P, P.y, P.sw, P.w, P.v, lam, hv, work)
    out["hvp"] = hv
    rows = np.arange(P.m, dtype=np.int64)[::2].copy()
    g3 = np.empty(P.p)
    out["rows.f"] = call(backend, "loss_grad_rows", loss, P, P.y, P.sw, P.w, lam, rows, 1.7,
                         g3, work)
    out["rows.g"] = g3
    return out


def assert_outputs_close(got, want, rtol=RTOL, atol=1e-13):
    assert got.keys() == want.keys()
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=rtol, atol=atol, err_msg=key)


def ref_loss(loss, prob, w, lam):
    return call("numpy", "loss", loss, prob, prob.y, prob.sw, w, lam, None)


def ref_grad(loss, prob, w, lam):
    g = np.empty(prob.p)
    call("numpy", "loss_grad", loss, prob, prob.y, prob.sw, w, lam, g, None)
    return g


def dense_design(prob):
    """``X~`` as a dense float64 array (with the column of ones for an intercept)."""
    Xt = prob.X.toarray() if prob.is_csr else np.asarray(prob.X, dtype=np.float64)
    if prob.p > prob.n:
        Xt = np.hstack([Xt, np.ones((prob.m, 1))])
    return Xt


# --- the table ----------------------------------------------------------------------------


def test_codes_are_shared_and_positional():
    assert [loss.code for loss in LOSSES] == list(range(len(LOSSES)))
    assert (LOGISTIC, SQUARED, POISSON) == (0, 1, 2)
    assert [loss.name for loss in LOSSES] == ["logistic", "squared", "poisson"]
    assert LOSSES[LOGISTIC].curvature_max == 0.25
    assert LOSSES[SQUARED].curvature_max == 1.0
    assert LOSSES[POISSON].curvature_max is None


def test_every_backend_exports_the_generic_kernels_and_no_per_loss_twins():
    for backend in KERNEL_BACKENDS:
        K = module(backend)
        for name in KERNELS:
            assert callable(getattr(K, f"linear_{name}")), (backend, name)
            assert callable(getattr(K, f"linear_{name}_csr")), (backend, name)
        assert not hasattr(K, "logistic_loss_grad") and not hasattr(K, "lsq_loss_grad")


# --- every backend against the reference ------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("intercept", [False, True], ids=["no_b", "b"])
def test_matches_reference(kbackend, loss, dtype, fmt, intercept, rng):
    m, n = (41, 5) if kbackend == "cuda" else (203, 13)
    prob = problem(loss, rng, m, n, dtype, fmt, intercept, weighted=intercept)
    assert_outputs_close(all_outputs(kbackend, loss, prob, 0.3),
                         all_outputs("numpy", loss, prob, 0.3))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("m, n", [(1, 1), (1, 6), (4, 9), (7, 1)], ids=str)
def test_small_shapes(kbackend, loss, fmt, m, n, rng):
    prob = problem(loss, rng, m, n, np.float64, fmt, intercept=True, density=0.6)
    assert_outputs_close(all_outputs(kbackend, loss, prob, 0.1),
                         all_outputs("numpy", loss, prob, 0.1))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("n, intercept", [(2047, True), (2048, True), (2100, False)], ids=str)
def test_wide_rows(backend, loss, fmt, n, intercept, rng):
    # CPU: partial gradients of up to 2048 entries go to a private stack row, longer ones
    # straight into work[c]: both sides of that boundary, over several row blocks
    prob = problem(loss, rng, 37, n, np.float64, fmt, intercept, density=0.05)
    assert_outputs_close(all_outputs(backend, loss, prob, 0.2),
                         all_outputs("numpy", loss, prob, 0.2))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("intercept", [False, True], ids=["no_b", "b"])
def test_no_rows_gives_only_l2_term(kbackend, loss, fmt, intercept, rng):
    prob = problem(loss, rng, 0, 5, np.float64, fmt, intercept)
    lam = 0.7
    got = all_outputs(kbackend, loss, prob, lam)
    w, v, n = prob.w, prob.v, prob.n
    l2 = 0.5 * lam * w[:n] @ w[:n]
    assert got["loss"] == pytest.approx(l2, rel=1e-14)
    assert got["loss_grad.f"] == pytest.approx(l2, rel=1e-14)
    np.testing.assert_allclose(got["loss_grad.g"], np.r_[lam * w[:n], np.zeros(prob.p - n)],
                               rtol=1e-14)
    np.testing.assert_allclose(got["hvp"], np.r_[lam * v[:n], np.zeros(prob.p - n)],
                               rtol=1e-14)
    assert got["ghw.d"].shape == (0,)


#: l''(0) of each loss: the Hessian weight of an all-zero row (no intercept) is sw l''(0).
CURVATURE_AT_ZERO = {LOGISTIC: 0.25, SQUARED: 1.0, POISSON: 1.0}


@pytest.mark.parametrize("fmt", FORMATS)
def test_all_zero_rows(kbackend, loss, fmt, rng):
    prob = problem(loss, rng, 40, 6, np.float64, fmt)
    if prob.is_csr:
        X = prob.X.toarray()
        X[::3] = 0.0
        prob.X = sp.csr_matrix(X)
    else:
        prob.X[::3] = 0.0
    got = all_outputs(kbackend, loss, prob, 0.0)
    assert_outputs_close(got, all_outputs("numpy", loss, prob, 0.0))
    np.testing.assert_allclose(got["hess_weights"][::3],
                               prob.sw[::3] * CURVATURE_AT_ZERO[loss], rtol=1e-14)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("intercept", [False, True], ids=["no_b", "b"])
def test_logistic_huge_margins_no_warnings(kbackend, fmt, intercept, rng):
    prob = problem(LOGISTIC, rng, 60, 4, np.float64, fmt, intercept, density=0.8)
    if prob.is_csr:
        prob.X.data[: prob.X.nnz // 2] *= 1e300
    else:
        prob.X[::2] *= 1e300
    prob.w = np.clip(prob.w, -0.9, 0.9)
    prob.v = np.clip(prob.v, -0.9, 0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = all_outputs(kbackend, LOGISTIC, prob, 0.1)
        want = all_outputs("numpy", LOGISTIC, prob, 0.1)
    for key, value in got.items():
        assert np.all(np.isfinite(value)), key
    assert_outputs_close(got, want, rtol=1e-9, atol=1e-300)
    assert got["loss"] > 1e295  # misclassified rows with |z| ~ 1e300 cost |z|


def test_poisson_overflow_is_inf_without_warnings(kbackend, rng):
    # e^z for z > ~709 is inf: the loss is +inf (as it is), never NaN, and no warning
    prob = problem(POISSON, rng, 10, 2, np.float64, "dense", intercept=True)
    prob.w = np.array([0.0, 0.0, 800.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = call(kbackend, "loss", POISSON, prob, prob.y, prob.sw, prob.w, 0.0,
                 work_for(kbackend, prob))
    assert f == math.inf
    prob.w = np.array([0.0, 0.0, -800.0])  # e^z underflows to 0: loss -sum sw y z, finite
    f = call(kbackend, "loss", POISSON, prob, prob.y, prob.sw, prob.w, 0.0,
             work_for(kbackend, prob))
    assert f == pytest.approx(800.0 * float(prob.sw @ prob.y), rel=1e-12)


def test_float32_close_to_float64(kbackend, loss, rng):
    m = 41 if kbackend == "cuda" else 300
    prob64 = problem(loss, rng, m, 17, np.float64, "dense", intercept=True)
    prob32 = Problem(prob64.X.astype(np.float32), prob64.y, prob64.sw, prob64.w, prob64.v)
    got = all_outputs(kbackend, loss, prob32, 0.05)
    want = all_outputs("numpy", loss, prob64, 0.05)
    assert_outputs_close(got, want, rtol=1e-5, atol=1e-6)


# --- derivatives: every backend against finite differences of the reference ---------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("intercept", [False, True], ids=["no_b", "b"])
def test_gradient_and_hvp_match_finite_differences(kbackend, loss, fmt, intercept, rng):
    prob = problem(loss, rng, 40 if kbackend == "cuda" else 80, 5, np.float64, fmt, intercept,
                   weighted=True)
    lam = 0.2
    got = all_outputs(kbackend, loss, prob, lam)
    fd_grad = central_difference(lambda w: ref_loss(loss, prob, w, lam), prob.w)
    np.testing.assert_allclose(got["loss_grad.g"], fd_grad, rtol=1e-6, atol=1e-8)
    hessian = central_difference(lambda w: ref_grad(loss, prob, w, lam), prob.w)
    np.testing.assert_allclose(got["hvp"], hessian @ prob.v, rtol=1e-5, atol=1e-7)
    # the Hessian from the weights d: X~^T diag(d) X~ + lam I_n
    Xt = dense_design(prob)
    reg = np.diag(np.r_[np.full(prob.n, lam), np.zeros(prob.p - prob.n)])
    np.testing.assert_allclose(Xt.T @ (got["ghw.d"][:, None] * Xt) + reg, hessian,
                               rtol=1e-5, atol=1e-7)


def test_rows_variant_is_a_reweighted_subset(kbackend, loss, rng):
    prob = problem(loss, rng, 50, 4, np.float64, "dense", intercept=True, weighted=True)
    rows = np.array([3, 7, 7, 20, 49], dtype=np.int64)
    scale = 2.5
    g = np.empty(prob.p)
    f = call(kbackend, "loss_grad_rows", loss, prob, prob.y, prob.sw, prob.w, 0.4, rows,
             scale, g, work_for(kbackend, prob))
    sub = Problem(prob.X[rows], prob.y[rows], prob.sw[rows] * scale, prob.w, prob.v)
    g_sub = np.empty(prob.p)
    f_sub = call("numpy", "loss_grad", loss, sub, sub.y, sub.sw, sub.w, 0.4, g_sub, None)
    assert f == pytest.approx(f_sub, rel=1e-12)
    np.testing.assert_allclose(g, g_sub, rtol=1e-12)


# --- the reference is the oracle: check it against scikit-learn's losses --------------------


def _sklearn_base_loss(loss):
    from sklearn._loss.loss import HalfBinomialLoss, HalfPoissonLoss, HalfSquaredError

    return {LOGISTIC: HalfBinomialLoss, SQUARED: HalfSquaredError, POISSON: HalfPoissonLoss}[loss]


@pytest.mark.parametrize("intercept", [False, True], ids=["no_b", "b"])
def test_reference_matches_sklearn_linear_model_loss(loss, intercept, rng):
    # scikit-learn's LinearModelLoss: sum_i s_i l_i / sum(s) + l2/2 ||w||^2, with the same
    # per-row losses (its HalfPoissonLoss is e^z - y z, without the y log y - y of the
    # deviance) and labels in {0, 1} for the binomial loss
    from sklearn.linear_model._linear_loss import LinearModelLoss

    prob = problem(loss, rng, 120, 6, np.float64, "dense", intercept, weighted=True)
    s = prob.sw * 7.0  # unnormalized weights: scikit-learn normalizes them itself
    y_sk = (prob.y > 0).astype(np.float64) if loss == LOGISTIC else prob.y
    lmloss = LinearModelLoss(base_loss=_sklearn_base_loss(loss)(), fit_intercept=intercept)
    lam = 0.3
    sk_f, sk_g = lmloss.loss_gradient(prob.w, prob.X, y_sk, sample_weight=s,
                                      l2_reg_strength=lam)
    g = np.empty(prob.p)
    f = call("numpy", "loss_grad", loss, prob, prob.y, prob.sw, prob.w, lam, g, None)
    np.testing.assert_allclose(g, sk_g, rtol=1e-10, atol=1e-13)
    assert f == pytest.approx(sk_f, rel=1e-10)


def test_reference_matches_sklearn_on_a9a():
    from sklearn._loss.loss import HalfBinomialLoss
    from sklearn.datasets import load_svmlight_file
    from sklearn.linear_model._linear_loss import LinearModelLoss

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
    for backend in [b for b in ("numpy", "numba", "cython") if b in CPU_BACKENDS]:
        for prob in (Problem(X, y, sw, w, w), Problem(X.toarray(), y, sw, w, w)):
            g = np.empty(n)
            f = call(backend, "loss_grad", LOGISTIC, prob, y, sw, w, lam, g, prob.work())
            assert f == pytest.approx(sk_loss, rel=1e-10)
            np.testing.assert_allclose(g, sk_grad, rtol=1e-10, atol=1e-12)


# --- properties ---------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 30), n=st.integers(1, 6),
       intercept=st.booleans(), lam=st.floats(0.0, 2.0), loss=st.sampled_from(LOSS_CODES))
def test_property_gradient_is_derivative_of_loss(seed, m, n, intercept, lam, loss):
    prob = problem(loss, np.random.default_rng(seed), m, n, intercept=intercept,
                   weighted=True)
    fd = central_difference(lambda w: ref_loss(loss, prob, w, lam), prob.w)
    for backend in CPU_BACKENDS:
        g = np.empty(prob.p)
        call(backend, "loss_grad", loss, prob, prob.y, prob.sw, prob.w, lam, g, prob.work())
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8, err_msg=backend)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(0, 30), n=st.integers(1, 6),
       scale=st.floats(1e-3, 1e3))
def test_property_logistic_loss_nonnegative_and_ln2_at_zero(seed, m, n, scale):
    rng = np.random.default_rng(seed)
    prob = problem(LOGISTIC, rng, m, n, weighted=True)
    prob.X *= scale
    prob.w *= scale
    work = prob.work()
    for backend in CPU_BACKENDS:
        assert call(backend, "loss", LOGISTIC, prob, prob.y, prob.sw, prob.w, 0.0, work) >= 0
        f0 = call(backend, "loss", LOGISTIC, prob, prob.y, prob.sw, np.zeros(prob.p), 0.3,
                  work)
        assert f0 == pytest.approx(math.log(2.0) * prob.sw.sum(), rel=1e-13, abs=1e-300)


# --- contract: determinism, inputs untouched, any chunk count ----------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_deterministic_for_fixed_chunks(kbackend, loss, fmt, rng):
    prob = problem(loss, rng, 101 if kbackend == "cuda" else 1001, 9, np.float64, fmt,
                   intercept=True)
    first = all_outputs(kbackend, loss, prob, 0.1)
    second = all_outputs(kbackend, loss, prob, 0.1)
    for key in first:
        assert np.array_equal(first[key], second[key]), key


@pytest.mark.parametrize("fmt", FORMATS)
def test_inputs_not_modified(kbackend, loss, fmt, rng):
    prob = problem(loss, rng, 31, 5, np.float32, fmt, intercept=True)
    arrays = [prob.y, prob.sw, prob.w, prob.v]
    arrays += [prob.X.data, prob.X.indices, prob.X.indptr] if prob.is_csr else [prob.X]
    before = [a.copy() for a in arrays]
    all_outputs(kbackend, loss, prob, 0.1)
    for a, b in zip(arrays, before, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("chunks", [1, 3, 7])
def test_any_chunk_count(backend, loss, fmt, chunks, rng):
    prob = problem(loss, rng, 20, 3, np.float64, fmt, intercept=True)
    work = np.full((chunks, prob.p), np.nan)  # contents on entry must be ignored
    assert_outputs_close(all_outputs(backend, loss, prob, 0.2, work),
                         all_outputs("numpy", loss, prob, 0.2))


def test_cython_refuses_an_unknown_loss_code(rng):
    if "cython" not in CPU_BACKENDS:
        pytest.skip("Cython extensions not built")
    prob = problem(LOGISTIC, rng, 5, 2)
    for code in (-1, len(LOSSES)):
        with pytest.raises(ValueError, match="loss code"):
            call("cython", "loss", code, prob, prob.y, prob.sw, prob.w, 0.0, prob.work())


def test_generated_cython_codes_match_the_table():
    # setup.py writes _loss_codes.pxd from losses.py (run on its own, without importing
    # fastopt); a build from an older table would be stale
    import runpy

    from fastopt.kernels import losses

    path = Path(losses.__file__).parent / "cython" / "_loss_codes.pxd"
    if not path.exists():
        pytest.skip("Cython extensions not built")
    assert path.read_text() == losses.cython_constants()
    table = runpy.run_path(losses.__file__, run_name="standalone")
    assert [loss.code for loss in table["LOSSES"]] == LOSS_CODES
    for loss in LOSSES:
        assert f"    {loss.name.upper()} = {loss.code}\n" in path.read_text()
