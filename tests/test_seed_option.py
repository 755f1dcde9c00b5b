"""The common option ``seed``: used by the randomized runs, refused by the methods that draw
no random numbers (never accepted and silently ignored)."""

import numpy as np
import pytest

import fastopt as fo

DETERMINISTIC = ["newton", "newton-cg", "lbfgs"]


@pytest.fixture
def logistic():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 6))
    y = (X @ rng.standard_normal(6) + 0.5 * rng.standard_normal(300) > 0).astype(float)
    return fo.problems.Logistic(X, y, lam=1e-2)


@pytest.mark.parametrize("method", DETERMINISTIC)
@pytest.mark.parametrize("seed", [0, 7])
def test_deterministic_methods_refuse_a_seed(logistic, method, seed):
    with pytest.raises(ValueError, match=f"seed does not apply to method '{method}'") as info:
        fo.minimize(logistic, np.zeros(6), method=method, seed=seed)
    message = str(info.value)
    assert "\n" not in message and f"seed={seed}" in message
    # Refused before any evaluation.
    assert logistic.nfev == logistic.njev == logistic.nhev == 0


@pytest.mark.parametrize("method", DETERMINISTIC)
def test_deterministic_methods_run_without_a_seed(logistic, method):
    a = fo.minimize(logistic, np.zeros(6), method=method, tol=1e-10)
    b = fo.minimize(logistic, np.zeros(6), method=method, tol=1e-10, seed=None)
    assert a.success, a.message
    np.testing.assert_array_equal(a.x, b.x)


@pytest.mark.parametrize("method", DETERMINISTIC)
def test_the_seed_is_refused_through_options_too(logistic, method):
    with pytest.raises(ValueError, match="seed"):
        fo.minimize(logistic, np.zeros(6), method=method, options={"seed": 1})


def test_sketch_newton_uses_its_seed(logistic):
    kw = dict(method="sketch-newton", sketch_size=40, sampling="uniform", tol=0.0,
              max_iter=3)
    a = fo.minimize(logistic, np.zeros(6), seed=1, **kw)
    b = fo.minimize(logistic, np.zeros(6), seed=1, **kw)
    c = fo.minimize(logistic, np.zeros(6), seed=2, **kw)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)


def test_mini_batches_use_the_seed(logistic):
    # The Python loop: the compiled loops' seeding is checked against it in
    # tests/solvers/test_first_order.py.
    kw = dict(method="gd", lr=0.5, batch_size=16, max_iter=40, tol=0.0, loop="python")
    a = fo.minimize(logistic, np.zeros(6), seed=3, **kw)
    b = fo.minimize(logistic, np.zeros(6), seed=3, **kw)
    c = fo.minimize(logistic, np.zeros(6), seed=4, **kw)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)


@pytest.mark.parametrize("method, loop", [
    *[(m, loop) for m in ("gd", "nesterov", "adam", "nadam") for loop in ("python", "compiled")],
    ("sam", None),  # sam has no loop option: it always runs the Python loop
])
def test_full_batch_first_order_runs_refuse_a_seed(logistic, method, loop):
    kw = {} if loop is None else {"loop": loop}
    with pytest.raises(ValueError, match="seed does not apply"):
        fo.minimize(logistic, np.zeros(6), method=method, lr=0.1, max_iter=5, seed=0, **kw)
    # with mini-batches the seed draws the permutations
    res = fo.minimize(logistic, np.zeros(6), method=method, lr=0.1, max_iter=5, seed=0,
                      batch_size=8, tol=0.0, **kw)
    assert res.nit == 5
