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


@pytest.mark.parametrize("sampling", ["uniform", "leverage"])
def test_a_sketch_larger_than_the_data_is_clipped_with_a_warning(small, sampling):
    # Memory once followed the option (10**7 rows sampled from 60: 750 MB).
    with pytest.warns(UserWarning, match="sketch_size=10000000 exceeds the 60 rows"):
        res = fo.minimize(small, np.zeros(3), method="sketch-newton", sketch_size=10**7,
                          sampling=sampling, seed=0)
    assert res.sketch_size == 60 and res.success


def test_a_sketch_beyond_memory_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(_memory, "available_bytes", lambda: 1 << 20)
    rng = np.random.default_rng(1)
    obj = fo.problems.Logistic(rng.standard_normal((5000, 40)), np.arange(5000) % 2)
    with pytest.raises(ValueError, match=r"sketch_size=4000 \(sampled rows of 40 entries\)"):
        fo.minimize(obj, np.zeros(40), method="sketch-newton", sketch_size=4000)


@pytest.mark.parametrize("memory", [3, 8, 9, 20])
def test_lbfgs_storage_grows_with_the_pairs_and_gives_the_same_run(monkeypatch, memory):
    # The pair storage starts at FIRST_PAIRS rows and doubles; the iterates must be those
    # of a storage of `memory` rows from the start.
    from fastopt.solvers import lbfgs

    rng = np.random.default_rng(3)
    obj = fo.problems.Logistic(rng.standard_normal((200, 30)), np.arange(200) % 2, lam=1e-4)
    runs = []
    for first in (lbfgs.FIRST_PAIRS, 10**6):
        monkeypatch.setattr(lbfgs, "FIRST_PAIRS", first)
        runs.append(fo.minimize(obj, np.zeros(30), method="lbfgs", memory=memory, tol=1e-10))
    assert runs[0].nit == runs[1].nit > memory
    np.testing.assert_array_equal(runs[0].x, runs[1].x)


def test_lbfgs_memory_costs_what_the_run_stores(small):
    ref = fo.minimize(small, np.zeros(3), method="lbfgs", memory=10)
    big = fo.minimize(small, np.zeros(3), method="lbfgs", memory=10**9, max_iter=10**18)
    np.testing.assert_array_equal(ref.x, big.x)


def test_lbfgs_storage_that_cannot_grow_keeps_the_last_pairs_and_says_so(monkeypatch):
    from fastopt.solvers import lbfgs

    monkeypatch.setattr(lbfgs, "FIRST_PAIRS", 2)
    monkeypatch.setattr(_memory, "available_bytes", lambda: 5000)
    rng = np.random.default_rng(3)
    obj = fo.problems.Logistic(rng.standard_normal((200, 30)), np.arange(200) % 2, lam=1e-4)
    with pytest.warns(UserWarning, match=r"memory=50 \(L-BFGS pairs .* keeping the last"):
        res = fo.minimize(obj, np.zeros(30), method="lbfgs", memory=50, tol=1e-8)
    assert res.success and res.memory_clipped >= 2


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
