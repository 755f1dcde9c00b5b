"""Multinomial (softmax) kernels and objective: compiled twins against the NumPy reference,
derivatives against finite differences, the optimum against scikit-learn's."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from fastopt.kernels import available_backends, get_backend
from fastopt.kernels.reference import multinomial as ref
from fastopt.problems import Multinomial

MULTINOMIAL_BACKENDS = [b for b in available_backends()
                        if hasattr(get_backend(b), "multinomial_loss_grad") and b != "cuda"]
COMPILED = [b for b in MULTINOMIAL_BACKENDS if b != "numpy"]


def _problem(rng, m=60, n=7, K=4, dtype=np.float64, intercept=True, density=0.5):
    X = rng.standard_normal((m, n))
    X[rng.random((m, n)) > density] = 0.0
    X = X.astype(dtype)
    y = rng.integers(0, K, m).astype(np.int64)
    sw = rng.random(m) + 0.1
    sw /= sw.sum()
    P = (n + int(intercept)) * K
    return X, y, sw, rng.standard_normal(P), rng.standard_normal(P)


def _layouts(X):
    Xs = sp.csr_matrix(X)
    return {"dense": ((X,), ""), "csr": ((Xs.data, Xs.indices, Xs.indptr, X.shape[1]), "_csr")}


def _evaluate(kernels, data, suffix, y, sw, w, v, lam, K, T=3):
    """All five kernels at (w, v); returns a dict of their results."""
    m = y.shape[0]
    P = w.shape[0]
    work = np.full((T, P + 2 * K + 1), np.nan)  # contents on entry must not matter
    g = np.empty(P)
    g2 = np.empty(P)
    proba = np.empty((m, K))
    hv = np.empty(P)
    hv2 = np.empty(P)
    out = {
        "loss": getattr(kernels, "multinomial_loss" + suffix)(*data, y, sw, w, lam, K, work),
        "loss_grad": getattr(kernels, "multinomial_loss_grad" + suffix)(
            *data, y, sw, w, lam, K, g, work),
        "loss_grad_proba": getattr(kernels, "multinomial_loss_grad_proba" + suffix)(
            *data, y, sw, w, lam, K, g2, proba, work),
    }
    getattr(kernels, "multinomial_hvp" + suffix)(*data, y, sw, w, v, lam, K, hv, work)
    getattr(kernels, "multinomial_hvp_proba" + suffix)(*data, sw, proba, v, lam, hv2, work)
    out.update(grad=g, grad2=g2, proba=proba, hvp=hv, hvp_proba=hv2)
    return out


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("intercept", [False, True], ids=["no-intercept", "intercept"])
def test_compiled_kernels_match_reference(backend, layout, dtype, intercept, rng):
    K, lam = 4, 0.3
    X, y, sw, w, v = _problem(rng, K=K, dtype=dtype, intercept=intercept)
    data, suffix = _layouts(X)[layout]
    expected = _evaluate(ref, data, suffix, y, sw, w, v, lam, K)
    got = _evaluate(get_backend(backend), data, suffix, y, sw, w, v, lam, K)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-11, atol=1e-13, err_msg=name)
    # The fused kernels agree with each other and with the probability-reusing ones.
    assert got["loss"] == pytest.approx(got["loss_grad"], rel=1e-14)
    np.testing.assert_allclose(got["grad"], got["grad2"], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(got["hvp"], got["hvp_proba"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got["proba"].sum(axis=1), 1.0, rtol=1e-14)


@pytest.mark.parametrize("backend", MULTINOMIAL_BACKENDS)
def test_reference_values_by_hand(backend):
    # Two rows, two features, three classes, an intercept: f computed from the definition.
    X = np.array([[1.0, 2.0], [0.0, -1.0]])
    y = np.array([2, 0], dtype=np.int64)
    sw = np.array([0.25, 0.75])
    W = np.array([[0.1, -0.2, 0.3], [0.0, 0.5, -0.4], [1.0, 0.0, -1.0]])  # rows: a1, a2, b
    Z = X @ W[:2] + W[2]
    lse = np.log(np.exp(Z).sum(axis=1))
    lam = 0.5
    f = sw @ (lse - Z[[0, 1], y]) + 0.5 * lam * (W[:2] ** 2).sum()
    kernels = get_backend(backend)
    work = np.zeros((2, 9 + 7))
    assert kernels.multinomial_loss(X, y, sw, W.ravel(), lam, 3, work) == pytest.approx(f, 1e-14)


@pytest.mark.parametrize("backend", MULTINOMIAL_BACKENDS)
def test_no_rows_gives_only_the_penalty(backend):
    K, n, lam = 3, 4, 0.2
    w = np.arange(1.0, 1.0 + (n + 1) * K)
    g = np.empty_like(w)
    kernels = get_backend(backend)
    f = kernels.multinomial_loss_grad(np.zeros((0, n)), np.zeros(0, np.int64), np.zeros(0), w,
                                      lam, K, g, np.zeros((2, w.size + 2 * K + 1)))
    assert f == pytest.approx(0.5 * lam * (w[: n * K] ** 2).sum())
    np.testing.assert_allclose(g[: n * K], lam * w[: n * K])
    np.testing.assert_array_equal(g[n * K:], 0.0)


@pytest.mark.parametrize("backend", MULTINOMIAL_BACKENDS)
def test_huge_logits_are_finite_and_silent(backend):
    K = 3
    X = np.array([[1e300], [-1e300], [0.0]])
    y = np.array([0, 1, 2], dtype=np.int64)
    sw = np.full(3, 1 / 3)
    w = np.array([1.0, -1.0, 0.5])  # no intercept: W is (1, 3)
    g = np.empty(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = get_backend(backend).multinomial_loss_grad(X, y, sw, w, 0.0, K, g,
                                                       np.zeros((2, 3 + 2 * K + 1)))
    assert np.isfinite(f) and np.isfinite(g).all()
    # Row 1: z = (1e300, -1e300, 5e299), class 0 wins: loss ~ 0; row 2: class 1 has z =
    # 1e300 (from -1e300 * -1), the rest is far below: loss ~ 0; row 3: log 3.
    assert f == pytest.approx(np.log(3.0) / 3, rel=1e-12)


# ---------------------------------------------------------------- the objective


@pytest.fixture(scope="module")
def small_objective():
    rng = np.random.default_rng(1)
    X, y, sw, _, _ = _problem(rng, m=80, n=5, K=3)
    return Multinomial(X, y, lam=0.05, sample_weight=sw, fit_intercept=True)


def test_gradient_matches_finite_differences(small_objective, rng):
    obj = small_objective
    w = 0.3 * rng.standard_normal(obj.n_params)
    g = obj.grad(w)
    eps = 1e-6
    fd = np.array([(obj.value(w + eps * e) - obj.value(w - eps * e)) / (2 * eps)
                   for e in np.eye(obj.n_params)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_hvp_matches_finite_differences_of_the_gradient(small_objective, rng):
    obj = small_objective
    w = 0.3 * rng.standard_normal(obj.n_params)
    v = rng.standard_normal(obj.n_params)
    eps = 1e-6
    fd = (obj.grad(w + eps * v) - obj.grad(w - eps * v)) / (2 * eps)
    hv = obj.hvp(w, v)  # fused kernel (no probabilities kept yet at w)
    np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-8)
    obj.loss_grad(w)  # now the probabilities at w are kept and reused
    np.testing.assert_allclose(obj.hvp(w, v), hv, rtol=1e-12, atol=1e-14)
    H = obj.hessian(w)
    np.testing.assert_allclose(H @ v, hv, rtol=1e-10, atol=1e-12)


def test_constants_bound_the_hessian(small_objective, rng):
    obj = small_objective
    L = obj.lipschitz()
    for _ in range(3):
        eig = np.linalg.eigvalsh(obj.hessian(rng.standard_normal(obj.n_params)))
        assert eig[-1] <= L * (1 + 1e-9)
        assert eig[0] >= obj.strong_convexity() - 1e-9  # 0 with intercepts: shift-invariant
    no_intercept = Multinomial(obj.X, obj.y, lam=0.05)
    eig = np.linalg.eigvalsh(no_intercept.hessian(rng.standard_normal(no_intercept.n_params)))
    assert no_intercept.strong_convexity() == 0.05
    assert eig[0] >= 0.05 * (1 - 1e-9)


@pytest.mark.parametrize("intercept", [False, True], ids=["no_intercept", "intercept"])
@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_lipschitz_is_half_the_weighted_gram_eigenvalue(layout, intercept, rng):
    # float32 X: the power iteration runs on the Gram kernels in X's dtype; the result
    # must still match the float64 eigenvalue of X~^T diag(sw) X~ to ~float32 rounding.
    X, y, sw, _, _ = _problem(rng, m=50, n=6, K=3, dtype=np.float32, intercept=intercept)
    data = sp.csr_matrix(X) if layout == "csr" else X
    obj = Multinomial(data, y, lam=0.1, sample_weight=sw, fit_intercept=intercept)
    Xt = X.astype(np.float64)
    if intercept:
        Xt = np.hstack([Xt, np.ones((Xt.shape[0], 1))])
    lam_max = np.linalg.eigvalsh(Xt.T @ (sw[:, None] * Xt))[-1]
    assert obj.lipschitz() == pytest.approx(0.5 * lam_max + 0.1, rel=1e-6)


def test_float32_data_is_used_without_a_copy(rng):
    X = rng.standard_normal((30, 4)).astype(np.float32)
    obj = Multinomial(X, rng.integers(0, 3, 30), lam=0.1)
    assert obj.X is X and obj.dtype == np.float32


def test_labels_and_validation(rng):
    X = rng.standard_normal((6, 2))
    obj = Multinomial(X, ["b", "a", "c", "a", "b", "c"])
    np.testing.assert_array_equal(obj.classes, ["a", "b", "c"])
    np.testing.assert_array_equal(obj.y, [1, 0, 2, 0, 1, 2])
    assert obj.n_params == 3 * 2
    with pytest.raises(ValueError, match="single class"):
        Multinomial(X, np.zeros(6))
    with pytest.raises(ValueError, match="6 rows"):
        Multinomial(X, [0, 1, 2])
    with pytest.raises(ValueError, match="lam"):
        Multinomial(X, [0, 1, 2, 0, 1, 2], lam=-1.0)


def test_optimum_matches_scikit_learn_multinomial():
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    X, y = make_classification(300, 8, n_informative=5, n_classes=3, random_state=0)
    C = 0.7
    sk = LogisticRegression(C=C, tol=1e-12, max_iter=10_000, solver="newton-cg").fit(X, y)
    obj = Multinomial(X, y, lam=1.0 / (C * len(y)), fit_intercept=True)
    # sklearn's solution is a stationary point of our objective: same function, same C map.
    x_sk = obj.flatten(sk.coef_, sk.intercept_)
    assert np.linalg.norm(obj.grad(x_sk)) < 1e-8
    # ... and our Newton-CG reaches it.
    import fastopt as fo

    res = fo.minimize(obj, np.zeros(obj.n_params), method="newton-cg", tol=1e-11)
    coef, intercept = obj.unflatten(res.x)
    assert res.success
    np.testing.assert_allclose(coef, sk.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(intercept - intercept.mean(), sk.intercept_, atol=1e-7)


# ---------------------------------------------------------------- the Cython backend

needs_cython = pytest.mark.skipif("cython" not in MULTINOMIAL_BACKENDS,
                                  reason="Cython extensions not built")


@needs_cython
@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_objective_on_cython_matches_numpy(layout, dtype, rng):
    X, y, sw, w, v = _problem(rng, m=70, n=6, K=5, dtype=dtype, intercept=True)
    data = sp.csr_matrix(X) if layout == "csr" else X
    objs = {b: Multinomial(data, y, lam=0.1, sample_weight=sw, fit_intercept=True, backend=b)
            for b in ("cython", "numpy")}
    assert objs["cython"].backend == "cython"
    f, g = objs["cython"].loss_grad(w)
    f_ref, g_ref = objs["numpy"].loss_grad(w)
    assert f == pytest.approx(f_ref, rel=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-11, atol=1e-13)
    # The first HVP at w is the fused kernel, the next ones reuse the kept probabilities.
    for _ in range(2):
        np.testing.assert_allclose(objs["cython"].hvp(w, v), objs["numpy"].hvp(w, v),
                                   rtol=1e-11, atol=1e-13)
        objs["cython"].loss_grad(w)
        objs["numpy"].loss_grad(w)


def test_backend_without_multinomial_kernels_is_refused(monkeypatch, rng):
    import types

    from fastopt.problems import linear_data

    monkeypatch.setattr(linear_data, "backend_package", lambda name: types.SimpleNamespace())
    with pytest.raises(ValueError, match="no multinomial kernels; use 'cython', 'numba'"):
        Multinomial(rng.standard_normal((6, 2)), [0, 1, 2, 0, 1, 2], backend="numpy")


def _numba_signatures():
    """Every compiled signature of every numba dispatcher in fastopt's loaded modules."""
    import sys

    from numba.core.dispatcher import Dispatcher

    found = set()
    for name, module in list(sys.modules.items()):
        if name.startswith("fastopt") and module is not None:
            for attr, value in vars(module).items():
                if isinstance(value, Dispatcher):
                    found.update((name, attr, sig) for sig in value.signatures)
    return found


@needs_cython
@pytest.mark.skipif("numba" not in MULTINOMIAL_BACKENDS, reason="numba not available")
def test_default_estimator_fits_digits_on_cython_like_numba():
    # A default multinomial fit resolves to the Cython kernels and compiles nothing.
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning

    import fastopt as fo
    from fastopt.kernels import resolve_backend

    X, y = load_digits(return_X_y=True)
    assert resolve_backend("auto") == "cython"
    before = _numba_signatures()
    default = fo.LogisticRegression().fit(X, y)
    assert _numba_signatures() == before  # no numba compilation
    assert default.result_.success and default.coef_.shape == (10, 64)
    assert np.linalg.norm(default.result_.jac) <= 1e-4

    def rel(a, b):
        return np.linalg.norm(a.coef_ - b.coef_) / np.linalg.norm(b.coef_)

    # Same algorithm as numba: the first Newton steps agree to rounding. (Further on,
    # the inner CG solves of this ill-conditioned problem (unscaled pixels, lam = 1/m)
    # amplify rounding: after 10 iterations numba on 1 and on 2 threads differ by 3e-2,
    # so the default fit's endpoint, ||grad|| <= 1e-4, depends on the rounding of any
    # backend.) Converged fits agree to 1e-8.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        two = {b: fo.LogisticRegression(backend=b, max_iter=2).fit(X, y)
               for b in ("cython", "numba")}
    assert rel(two["cython"], two["numba"]) < 1e-12
    tight = {b: fo.LogisticRegression(backend=b, tol=1e-11).fit(X, y)
             for b in ("cython", "numba")}
    assert all(fit.result_.success for fit in tight.values())
    assert rel(tight["cython"], tight["numba"]) < 1e-8
    assert rel(default, tight["numba"]) < 5e-2  # the default tol's own accuracy


# --- the blocked Hessian and Newton's cost warning ----------------------------------------

@pytest.mark.parametrize("backend", MULTINOMIAL_BACKENDS)
@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("intercept", [True, False], ids=["intercept", "no-intercept"])
def test_blocked_hessian_matches_the_hessian_vector_products(backend, layout, intercept, rng):
    """Each class block X~^T diag(sw p_k (delta_kl - p_l)) X~ (+ lam on the diagonal
    blocks, not on the intercept), against the Hessian built column by column from
    Hessian-vector products, with sample weights and a float32 X as well."""
    from fastopt.problems.base import Objective

    for dtype in (np.float64, np.float32):
        X, y, sw, w, _ = _problem(rng, m=80, n=6, K=4, dtype=dtype, intercept=intercept)
        data = sp.csr_matrix(X) if layout == "csr" else X
        obj = Multinomial(data, y, lam=0.3, sample_weight=sw, fit_intercept=intercept,
                          backend=backend)
        w = 0.4 * w
        H = obj.hessian(w)
        assert H.shape == (obj.n_params, obj.n_params)
        np.testing.assert_array_equal(H, H.T)
        np.testing.assert_allclose(H, Objective._hessian(obj, w), rtol=1e-10, atol=1e-12)


def test_blocked_hessian_matches_finite_differences(small_objective, rng):
    obj = small_objective
    w = 0.3 * rng.standard_normal(obj.n_params)
    eps = 1e-6
    fd = np.array([(obj.grad(w + eps * e) - obj.grad(w - eps * e)) / (2 * eps)
                   for e in np.eye(obj.n_params)])
    np.testing.assert_allclose(obj.hessian(w), fd, rtol=1e-6, atol=1e-8)


def test_hessian_reuses_the_probabilities_of_the_gradient_pass(rng):
    """Newton's order: gradient at x, then the Hessian at x costs only the K (K + 1) / 2
    Gram passes once the objective keeps probabilities; elsewhere one more pass."""
    X, y, sw, _, _ = _problem(rng, m=80, n=5, K=3)
    obj = Multinomial(X, y, lam=0.05, sample_weight=sw, fit_intercept=True)  # nothing kept
    K = obj.n_classes
    w = 0.3 * rng.standard_normal(obj.n_params)
    before = obj.n_passes
    H_first = obj.hessian(w)  # nothing kept yet: a probability pass, then the blocks
    assert obj.n_passes - before == 1 + K * (K + 1) // 2
    obj.loss_grad(w)
    before = obj.n_passes
    np.testing.assert_array_equal(obj.hessian(w), H_first)
    assert obj.n_passes - before == K * (K + 1) // 2


def test_hessian_cost_counts_the_class_blocks(rng):
    X, y, *_ = _problem(rng, m=50, n=6, K=3, density=1.0)
    dense = Multinomial(X, y, fit_intercept=True)
    # K (K + 1) / 2 = 6 blocks of m (n + 1)^2 / 2 multiply-adds; a pass: 2 K m (n + 1)
    assert dense.hessian_cost() == 6 * 50 * 7 ** 2 / 2
    assert dense.pass_cost() == 2 * 3 * 50 * 7
    Xs = sp.csr_matrix(np.where(rng.random((50, 6)) < 0.3, 1.0, 0.0))
    sparse = Multinomial(Xs, y, fit_intercept=False)
    per_row = np.diff(Xs.indptr)
    assert sparse.hessian_cost() == 6 * float(per_row @ per_row) / 2
    assert sparse.pass_cost() == 2 * 3 * Xs.nnz


def test_newton_warns_with_the_cost_where_the_hessian_dominates(rng):
    import fastopt as fo

    X = rng.standard_normal((2000, 50))
    y = rng.integers(0, 10, 2000)
    obj = Multinomial(X, y, lam=1e-2, fit_intercept=True)
    with pytest.warns(UserWarning, match=r"510 x 510 Hessian .* 1\.4e\+08 multiply-adds, "
                                         r"the cost of 70 gradient passes") as record:
        fo.minimize(obj, np.zeros(obj.n_params), method="newton", max_iter=1)
    assert record[0].filename == __file__  # it points at the caller, not at fastopt
    small = Multinomial(X[:200, :5], y[:200], lam=1e-2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fo.minimize(small, np.zeros(small.n_params), method="newton")
