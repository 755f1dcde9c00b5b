"""Size options are checked against the problem and the machine before they allocate.

Each absurd size is a ValueError naming the option, or is clipped with a warning that says
so; memory follows the work a run does, not the limits it was given.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import fastopt as fo
from fastopt import _memory


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    return fo.problems.Logistic(X, np.arange(60) % 2, lam=1e-2)


def test_sketch_size_beyond_memory_is_refused_by_name(small):
    with pytest.raises(ValueError, match=r"sketch_size=1000000000 .* needs .* of memory"):
        fo.minimize(small, np.zeros(3), method="sketch-newton", sketch_size=10**9,
                    sampling="leverage")


def test_uniform_sketch_larger_than_the_data_is_clipped_with_a_warning(small):
    with pytest.warns(UserWarning, match="sketch_size=500 exceeds the 60 rows"):
        res = fo.minimize(small, np.zeros(3), method="sketch-newton", sketch_size=500,
                          sampling="uniform")
    assert res.sketch_size == 60 and res.success


def test_lbfgs_memory_is_clipped_to_max_iter_and_refused_beyond_the_machine(small):
    ref = fo.minimize(small, np.zeros(3), method="lbfgs", memory=10)
    big = fo.minimize(small, np.zeros(3), method="lbfgs", memory=10**9)  # max_iter pairs
    np.testing.assert_array_equal(ref.x, big.x)
    with pytest.raises(ValueError, match=r"memory=1000000000 \(L-BFGS pairs"):
        fo.minimize(small, np.zeros(3), method="lbfgs", memory=10**9, max_iter=10**9)


def test_batch_size_larger_than_the_data_warns_and_runs_full_batches(small):
    with pytest.warns(UserWarning, match="batch_size=1000 exceeds the 60 rows"):
        res = fo.minimize(small, np.zeros(3), method="adam", batch_size=1000, lr=0.05,
                          max_iter=50, seed=0)
    full = fo.minimize(small, np.zeros(3), method="adam", lr=0.05, max_iter=50)
    np.testing.assert_allclose(res.x, full.x, rtol=1e-12)


@pytest.mark.parametrize("method", ["gd", "nesterov", "lbfgs", "adam"])
def test_a_huge_max_iter_costs_nothing_when_the_run_converges(small, method):
    import tracemalloc

    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = fo.minimize(small, np.zeros(3), method=method, max_iter=10**9, tol=1e-6,
                              **({"lr": 0.5} if method == "adam" else {}))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert res.success
    assert peak < 20 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_sparse_matrix_with_absurd_column_count_is_refused():
    X = sp.csr_matrix((np.ones(2), np.array([0, 10**12 - 1]), np.array([0, 1, 2])),
                      shape=(2, 10**12))
    with pytest.raises(ValueError, match=r"X of shape \(2, 1000000000000\)"):
        fo.problems.Logistic(X, [0, 1])
    with pytest.raises(ValueError, match="1000000000000 columns"):
        fo.LogisticRegression().fit(X, [0, 1])


def test_check_fits_names_the_request(monkeypatch):
    monkeypatch.setattr(_memory, "available_bytes", lambda: 1 << 30)
    _memory.check_fits(0.4 * (1 << 30), "small")
    with pytest.raises(ValueError, match=r"^big thing needs 1\.0 GiB of memory, more than "
                                         r"50% of the 1\.0 GiB available$"):
        _memory.check_fits(1 << 30, "big thing")
    assert _memory.available_bytes() == 1 << 30
    monkeypatch.undo()
    assert _memory.available_bytes() > 0
