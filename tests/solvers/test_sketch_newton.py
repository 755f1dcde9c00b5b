"""Sketch-Newton: the published logistic optima, linear convergence whose rate improves
with the sketch size, and the sketching pieces."""

import numpy as np
import pytest

import fastopt as fo
from fastopt.solvers._sketch import (
    approximate_leverage_scores,
    sample_rows,
    sampled_gram,
    sketch_size,
)

from ._logistic_optima import DATASETS, fit, objective


@pytest.mark.parametrize("name", DATASETS)
def test_reaches_published_optimum(name):
    res, fstar = fit(name, "sketch-newton", sketch_size=6000, seed=0, max_iter=100)
    assert res.success, res.message
    assert abs(res.fun - fstar) <= 1e-12
    assert set(res.timings) >= {"gradient", "sketch", "solve"}
    assert res.sketch_size == 6000


def _rate(res):
    g = res.history.grad_norm
    return float(np.exp(np.mean(np.log(g[1:] / g[:-1]))))


def test_linear_rate_improves_with_sketch_size():
    obj, _ = objective("a9a")
    rates = []
    for s in (1500, 4500, 13500):
        res = fo.minimize(obj, np.zeros(obj.n_params), method="sketch-newton", tol=1e-9,
                          sketch_size=s, seed=3, max_iter=200)
        assert res.success, (s, res.message)
        rates.append(_rate(res))
    assert rates[0] > rates[1] > rates[2], rates
    assert rates[0] < 0.9  # linear convergence, not a stall


def test_line_search_and_uniform_sampling_on_dense(rng):
    X = rng.standard_normal((3000, 5))
    y = np.where(X @ rng.standard_normal(5) > 0, 1.0, -1.0)
    obj = fo.problems.Logistic(X, y, lam=1e-3, fit_intercept=True)
    ref = fo.minimize(obj, np.zeros(6), method="newton", tol=1e-12)
    for opts in ({"sampling": "uniform"}, {"sampling": "uniform", "line_search": True}):
        res = fo.minimize(obj, np.zeros(6), method="sketch-newton", tol=1e-10, seed=1,
                          eps=0.3, **opts)
        assert res.success, (opts, res.message)
        np.testing.assert_allclose(res.x, ref.x, atol=1e-7)


def test_sketch_size_from_eps():
    assert sketch_size(100, 0.5) == int(np.ceil(100 * np.log(100) / 0.25))
    assert sketch_size(100, 0.25) > sketch_size(100, 0.5)


def test_sampled_gram_is_unbiased(rng):
    import scipy.sparse as sp

    m, n = 400, 5
    R = rng.standard_normal((m, n))
    h = rng.uniform(0.1, 1.0, m)
    exact = R.T @ (h[:, None] * R)
    scores = approximate_leverage_scores(R, h, np.zeros(n), False, rng)
    mean = np.zeros((n, n))
    trials = 300
    for _ in range(trials):
        rows, scale = sample_rows(m, 60, rng, scores)
        mean += sampled_gram(R, rows, h[rows] * scale, False) / trials
    assert np.linalg.norm(mean - exact) <= 0.05 * np.linalg.norm(exact)
    # CSR and dense, with an intercept column, agree.
    rows, scale = sample_rows(m, 50, rng)
    G1 = sampled_gram(R, rows, h[rows] * scale, True)
    G2 = sampled_gram(sp.csr_matrix(R), rows, h[rows] * scale, True)
    np.testing.assert_allclose(G1, G2, atol=1e-12)


def test_leverage_scores_track_exact_ones(rng):
    m, n = 2000, 6
    R = rng.standard_normal((m, n)) * np.where(rng.random(m) < 0.01, 30.0, 1.0)[:, None]
    h = np.full(m, 1.0 / m)
    approx = approximate_leverage_scores(R, h, np.zeros(n), False, rng, jl_dim=n)
    Q = np.linalg.qr(np.sqrt(h)[:, None] * R)[0]
    exact = np.sum(Q ** 2, axis=1)
    assert np.corrcoef(approx, exact)[0, 1] > 0.9


def test_a_run_that_ends_worse_than_its_best_iterate_returns_the_best():
    # The greedy unit step is not monotone: with this seed f climbs from 0.69 to ~250 and
    # oscillates; the run hits max_iter and must not hand back that last iterate silently.
    rng = np.random.default_rng(0)
    obj = fo.problems.Logistic(rng.standard_normal((30, 4)), np.arange(30) % 2)
    with pytest.warns(UserWarning, match="above its best iterate"):
        res = fo.minimize(obj, np.zeros(4), method="sketch-newton", max_iter=20, seed=37)
    assert not res.success and res.last_fun > 10 * res.fun
    assert res.fun == min(res.history.fun) and obj.value(res.x) == res.fun
    monotone = fo.minimize(obj, np.zeros(4), method="sketch-newton", max_iter=20, seed=37,
                           line_search=True)
    assert "last_fun" not in monotone
