"""X in row blocks, in memory: every pass and every solver against the one-array objective.

:class:`~fastopt.problems.chunked.source.ArrayBlocks` cuts an in-memory X into row blocks;
an objective on it runs each pass as a sum of per-block terms
(:mod:`fastopt.problems.chunked.tasks`). The passes must agree with the one-array
objective to rounding, the second-order solvers must take the same path (same iteration
count for Newton and Newton-CG; L-BFGS amplifies last-bit differences over hundreds of
iterations, so it takes the same path only when the sums are the same, with one block),
and what needs rows in memory must say so.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import fastopt as fo
from fastopt import _config
from fastopt.problems._validation import check_data
from fastopt.problems.chunked.source import ArrayBlocks


@pytest.fixture(scope="module")
def a9a():
    X, y = fo.datasets.load("a9a")
    return check_data(X), y


def _random(kind, m=300, n=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    X[rng.random((m, n)) < 0.5] = 0.0
    if kind == "csr":
        X = sp.csr_matrix(X)
    elif kind == "float32":
        X = X.astype(np.float32)
    return X, rng


PROBLEMS = [
    (fo.problems.Logistic, lambda rng, m: rng.integers(0, 2, m)),
    (fo.problems.LeastSquares, lambda rng, m: rng.standard_normal(m)),
    (fo.problems.Poisson, lambda rng, m: rng.poisson(1.0, m)),
]


@pytest.mark.parametrize("kind", ["dense", "float32", "csr"])
@pytest.mark.parametrize("cls,targets", PROBLEMS, ids=["logistic", "least_squares", "poisson"])
@pytest.mark.parametrize("intercept", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_passes_match_one_array(kind, cls, targets, intercept, weighted):
    X, rng = _random(kind)
    m = X.shape[0]
    y = targets(rng, m)
    sw = rng.random(m) + 0.1 if weighted else None
    kw = dict(lam=0.05, sample_weight=sw, fit_intercept=intercept)
    ref = cls(X, y, **kw)
    blocks = cls(ArrayBlocks(check_data(X), 37), y, **kw)
    assert not blocks.rows_in_memory and ref.rows_in_memory
    p = ref.n_params
    w = 0.1 * rng.standard_normal(p)
    v = rng.standard_normal(p)
    f_ref, g_ref = ref.loss_grad(w)
    f, g = blocks.loss_grad(w)
    assert f == pytest.approx(f_ref, rel=1e-13)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-14)
    assert blocks.value(w) == pytest.approx(f_ref, rel=1e-13)
    np.testing.assert_allclose(blocks.hvp(w, v), ref.hvp(w, v), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(blocks.hessian(w), ref.hessian(w), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(blocks.hessian_diagonal_at(w), ref.hessian_diagonal_at(w),
                               rtol=1e-12, atol=1e-13)
    if cls is not fo.problems.Poisson:  # which has no global constants
        assert blocks.lipschitz() == pytest.approx(ref.lipschitz(), rel=1e-8)
        assert blocks.strong_convexity() == pytest.approx(ref.strong_convexity(), rel=1e-8,
                                                          abs=1e-12)


def test_hessian_diagonal_at_is_the_hessians_diagonal():
    X, rng = _random("csr")
    obj = fo.problems.Logistic(ArrayBlocks(check_data(X), 50), rng.integers(0, 2, 300),
                               lam=0.1, fit_intercept=True)
    w = rng.standard_normal(obj.n_params)
    np.testing.assert_allclose(obj.hessian_diagonal_at(w), np.diag(obj.hessian(w)),
                               rtol=1e-13)


@pytest.mark.parametrize("dense", [False, True], ids=["csr", "dense"])
@pytest.mark.parametrize("method", ["newton", "newton-cg"])
@pytest.mark.parametrize("intercept", [False, True])
def test_second_order_fits_take_the_same_path(a9a, dense, method, intercept):
    X, y = a9a
    if dense:
        X = np.ascontiguousarray(X.toarray())
    kw = dict(lam=1e-4, fit_intercept=intercept)
    ref = fo.problems.Logistic(X, y, **kw)
    blocks = fo.problems.Logistic(ArrayBlocks(X, 4000), y, **kw)
    x0 = np.zeros(ref.n_params)
    r_ref = fo.minimize(ref, x0, method=method, tol=1e-10)
    r = fo.minimize(blocks, x0, method=method, tol=1e-10)
    assert r.success and r_ref.success
    assert r.nit == r_ref.nit
    assert r.fun == pytest.approx(r_ref.fun, rel=1e-12)
    # The same passes: an Armijo unit step costs the evaluation the next iterate needs.
    assert abs(r.n_passes - r_ref.n_passes) <= r_ref.nit


@pytest.mark.parametrize("block_rows", [4000, 32561])
def test_lbfgs_reaches_the_same_f(a9a, block_rows):
    X, y = a9a
    ref = fo.problems.Logistic(X, y, lam=1e-4)
    blocks = fo.problems.Logistic(ArrayBlocks(X, block_rows), y, lam=1e-4)
    x0 = np.zeros(ref.n_params)
    r_ref = fo.minimize(ref, x0, method="lbfgs", tol=1e-8, reuse_predictor=False)
    r = fo.minimize(blocks, x0, method="lbfgs", tol=1e-8)
    assert r.success
    assert r.fun == pytest.approx(r_ref.fun, rel=1e-12)
    if block_rows == X.shape[0]:
        # One block: the same sums, so the same path to the last iteration.
        assert r.nit == r_ref.nit
        np.testing.assert_array_equal(r.x, r_ref.x)
    else:
        assert abs(r.nit - r_ref.nit) <= 0.1 * r_ref.nit


def test_first_order_python_loop(a9a):
    X, y = a9a
    ref = fo.problems.Logistic(X, y, lam=1e-3)
    blocks = fo.problems.Logistic(ArrayBlocks(X, 10000), y, lam=1e-3)
    x0 = np.zeros(ref.n_params)
    r_ref = fo.minimize(ref, x0, method="nesterov", max_iter=50, tol=0.0)
    r = fo.minimize(blocks, x0, method="nesterov", max_iter=50, tol=0.0)
    assert r.nit == r_ref.nit == 50
    assert r.fun == pytest.approx(r_ref.fun, rel=1e-12)


def test_results_do_not_depend_on_the_thread_count(a9a):
    X, y = a9a
    results = []
    before = _config.get_num_threads()
    try:
        for threads in (1, 2):
            _config.set_num_threads(threads)
            obj = fo.problems.Logistic(ArrayBlocks(X, 5000), y, lam=1e-4, fit_intercept=True)
            results.append(fo.minimize(obj, np.zeros(obj.n_params), method="newton-cg").x)
    finally:
        _config.set_num_threads(before)
    np.testing.assert_array_equal(results[0], results[1])


def test_user_arrays_are_not_modified():
    X, rng = _random("dense")
    y = rng.integers(0, 2, X.shape[0])
    X0, y0 = X.copy(), y.copy()
    obj = fo.problems.Logistic(fo.chunked.from_array(X, 64), y, lam=0.1)
    fo.minimize(obj, np.zeros(obj.n_params), method="newton")
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def _blocks_objective():
    X, rng = _random("dense")
    return fo.problems.Logistic(ArrayBlocks(check_data(X), 64), rng.integers(0, 2, 300),
                                lam=0.1)


@pytest.mark.parametrize("call", [
    lambda o: o.linear_predictor(np.zeros(o.n_params)),
    lambda o: o.grad_hess_weights(np.zeros(o.n_params)),
    lambda o: o.batch_loss_grad(np.zeros(o.n_params), [0, 1]),
    lambda o: o.hessian_diagonal(np.ones(o.n_samples)),
    lambda o: o.kernel_arguments(),
], ids=["linear_predictor", "grad_hess_weights", "batch_loss_grad", "hessian_diagonal",
        "kernel_arguments"])
def test_row_vector_methods_say_rows_are_needed(call):
    with pytest.raises(ValueError, match="row blocks"):
        call(_blocks_objective())


@pytest.mark.parametrize("method,options", [("sketch-newton", {"seed": 0}),
                                            ("adam", {"batch_size": 10})])
def test_methods_that_sample_rows_refuse_blocks(method, options):
    obj = _blocks_objective()
    with pytest.raises(ValueError, match="row blocks"):
        fo.minimize(obj, np.zeros(obj.n_params), method=method, **options)


def test_bad_input():
    X, rng = _random("dense")
    source = ArrayBlocks(check_data(X), 64)
    y = rng.integers(0, 2, 300)
    with pytest.raises(ValueError, match="y"):
        fo.problems.Logistic(source, y[:-1])
    with pytest.raises(ValueError, match="row blocks"):
        fo.problems.Multinomial(source, rng.integers(0, 3, 300))
    with pytest.raises(ValueError, match="cuda"):
        fo.problems.Logistic(source, y, backend="cuda")
    for bad in (0, -3):
        with pytest.raises(ValueError, match="block_rows"):
            ArrayBlocks(check_data(X), bad)
    with pytest.raises(TypeError, match="block_rows"):
        ArrayBlocks(check_data(X), 2.5)


def test_estimator_on_blocks_matches_in_memory(a9a):
    X, y = a9a
    ref = fo.LogisticRegression(C=0.5).fit(X, y)
    est = fo.LogisticRegression(C=0.5).fit(fo.chunked.from_array(X, 5000), y)
    assert est.solver_ == ref.solver_ and est.n_iter_[0] == ref.n_iter_[0]
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-9, atol=1e-12)
    blocks = fo.chunked.from_array(X, 7000)
    np.testing.assert_allclose(est.predict_proba(blocks), ref.predict_proba(X), rtol=1e-8)
    np.testing.assert_array_equal(est.predict(blocks), ref.predict(X))


def test_estimator_on_blocks_refuses_multinomial():
    X, rng = _random("dense")
    with pytest.raises(ValueError, match="multinomial"):
        fo.LogisticRegression().fit(fo.chunked.from_array(X, 64), rng.integers(0, 3, 300))
