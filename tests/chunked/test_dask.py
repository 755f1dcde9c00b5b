"""Linear objectives and the logistic estimator on a ``dask.array`` X.

The passes run on the workers holding X's blocks and are summed by a tree fixed by the
block count, so the chunked results must match the in-memory ones to rounding and be the
same bits for any worker count or scheduler; a worker killed mid-fit must not change the
result (Dask recomputes its blocks).
"""

import os
import signal

import numpy as np
import pytest
import scipy.sparse as sp

import fastopt as fo
from fastopt.problems import LeastSquares, Logistic

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

N_CHUNKS = 8
#: The scheduler serves its health routes over HTTP even without a dashboard, on port
#: 8787 unless told otherwise: a free port instead (two xdist processes run clusters).
NO_FIXED_PORT = {"dashboard_address": ":0"}


@pytest.fixture(scope="module")
def client():
    """Two worker processes on loopback (no fixed ports: the suite runs under xdist).

    Not the default client: a test uses it inside ``client.as_current()``, so that the
    other tests see Dask's threaded scheduler.
    """
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  scheduler_kwargs=NO_FIXED_PORT) as cluster, \
            distributed.Client(cluster, set_as_default=False) as c:
        yield c


@pytest.fixture(scope="module")
def a9a():
    X, y = fo.datasets.load("a9a")
    return X, y


def _rows(m):
    return -(-m // N_CHUNKS)


def _dask(X):
    """X (CSR or dense) as a dask array of N_CHUNKS row chunks of the same kind."""
    return da.from_array(X, chunks=(_rows(X.shape[0]), -1), asarray=False)


def _toarray(block):
    return block.toarray()


def _point(p, seed=0):
    return 0.1 * np.random.default_rng(seed).standard_normal(p)


def _passes(obj, w, v):
    return obj.value(w), obj.grad(w), obj.hvp(w, v), obj.hessian(w)


def _close(a, b, rtol):
    a, b = np.asarray(a), np.asarray(b)
    assert np.abs(a - b).max() <= rtol * max(np.abs(b).max(), 1e-300), (a, b)


@pytest.mark.parametrize("kind", ["csr", "dense"])
def test_a9a_passes_match_in_memory(client, a9a, kind):
    X, y = a9a
    m = X.shape[0]
    ref = Logistic(X if kind == "csr" else X.toarray(), y, lam=1 / m, fit_intercept=True)
    Xd = _dask(X)
    if kind == "dense":
        # Densified on the workers: the graph carries the CSR arrays only.
        Xd = Xd.map_blocks(_toarray, dtype=X.dtype, meta=np.empty((0, 0), X.dtype))
    with client.as_current():
        obj = Logistic(Xd, y, lam=1 / m, fit_intercept=True)
    assert obj.data.n_blocks == N_CHUNKS and obj.data.is_sparse == (kind == "csr")
    assert obj.data.client is client
    w, v = _point(ref.n_params), _point(ref.n_params, 1)
    for got, want in zip(_passes(obj, w, v), _passes(ref, w, v), strict=True):
        _close(got, want, 1e-13)


@pytest.mark.parametrize("method, tol", [("newton", 1e-8), ("newton-cg", 1e-8),
                                         ("lbfgs", 3e-4)])
def test_a9a_solvers_match_in_memory(client, a9a, method, tol):
    """Same iterations, same f to 1e-12. The sums differ from the in-memory ones in the
    last bits, so the tolerances are where those differences do not reach f at 1e-12:
    Newton-CG stopped at 1e-6 ends 1e-11 apart (its inner CG solves stop at other
    points), L-BFGS at 1e-4 (86 iterations) 1e-12 apart and at 1e-8 after 648 and 673
    iterations."""
    X, y = a9a
    m = X.shape[0]
    ref = Logistic(X, y, lam=1 / m, fit_intercept=True)
    with client.as_current():
        obj = Logistic(_dask(X), y, lam=1 / m, fit_intercept=True)
        got = fo.minimize(obj, np.zeros(obj.n_params), method=method, tol=tol)
    # L-BFGS on in-memory data could carry z = X x between iterations (O(m) trial steps),
    # which chunked data cannot: reuse_predictor=False, the default, is the same path.
    options = {"reuse_predictor": False} if method == "lbfgs" else {}
    want = fo.minimize(ref, np.zeros(ref.n_params), method=method, tol=tol, **options)
    assert got.success and want.success
    assert got.nit == want.nit
    assert abs(got.fun - want.fun) <= 1e-12 * abs(want.fun)


def test_bitwise_same_for_any_worker_count_and_scheduler(client, a9a):
    X, y = a9a
    m = X.shape[0]
    Xd = _dask(X)
    w, v = _point(X.shape[1] + 1), _point(X.shape[1] + 1, 1)
    results = {}
    with client.as_current():
        results["2 processes"] = _passes(Logistic(Xd, y, 1 / m, fit_intercept=True), w, v)
    # One worker in this process (in-process transport: no port either).
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None,
                                  scheduler_kwargs=NO_FIXED_PORT) as cluster, \
            distributed.Client(cluster, set_as_default=False) as one:
        with one.as_current():
            obj = Logistic(Xd, y, 1 / m, fit_intercept=True)
            assert obj.data.client is one
            results["1 worker"] = _passes(obj, w, v)
    obj = Logistic(Xd, y, 1 / m, fit_intercept=True)
    assert obj.data.client is None
    results["threads"] = _passes(obj, w, v)
    first = results.pop("2 processes")
    for name, other in results.items():
        for a, b in zip(first, other, strict=True):
            assert np.array_equal(a, b), name


def test_least_squares_weighted(client):
    rng = np.random.default_rng(3)
    m, n = 1000, 12
    X = rng.standard_normal((m, n))
    y = X @ rng.standard_normal(n) + 0.1 * rng.standard_normal(m)
    sw = rng.uniform(0.5, 2.0, m)
    ref = LeastSquares(X, y, lam=1e-3, sample_weight=sw, fit_intercept=True)
    Xd = da.from_array(X, chunks=(137, 5))  # several column chunks: merged into one
    yd = da.from_array(y, chunks=300)  # other row chunks than X: re-split
    swd = da.from_array(sw, chunks=250)
    w, v = _point(n + 1), _point(n + 1, 1)
    with client.as_current():
        obj = LeastSquares(Xd, yd, lam=1e-3, sample_weight=swd, fit_intercept=True)
        for got, want in zip(_passes(obj, w, v), _passes(ref, w, v), strict=True):
            _close(got, want, 1e-13)
        got = fo.minimize(obj, np.zeros(n + 1), method="newton-cg", tol=1e-10)
    want = fo.minimize(ref, np.zeros(n + 1), method="newton-cg", tol=1e-10)
    assert got.nit == want.nit
    assert abs(got.fun - want.fun) <= 1e-12 * abs(want.fun)
    # Threaded scheduler: the same bits as the cluster.
    threaded = LeastSquares(Xd, yd, lam=1e-3, sample_weight=swd, fit_intercept=True)
    assert threaded.data.client is None
    assert np.array_equal(threaded.grad(w), obj.grad(w))


@pytest.mark.parametrize("use_client", [True, False], ids=["distributed", "threads"])
def test_nan_in_last_chunk_names_it(client, use_client):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((400, 5))
    X[399, 2] = np.nan
    y = rng.integers(0, 2, 400)
    Xd = da.from_array(X, chunks=(100, 5))
    if use_client:
        with client.as_current(), pytest.raises(ValueError, match=r"block 3 \(rows 300 to 399\)"):
            Logistic(Xd, y, lam=1e-2)
    else:
        with pytest.raises(ValueError, match=r"block 3 \(rows 300 to 399\)"):
            Logistic(Xd, y, lam=1e-2)


def test_bad_csr_chunk_names_it():
    X = sp.random(200, 6, density=0.3, format="csr", random_state=0)
    X.data[-1] = np.inf
    y = np.arange(200) % 2
    with pytest.raises(ValueError, match=r"block 1 \(rows 100 to 199\).*NaN or infinity"):
        Logistic(da.from_array(X, chunks=(100, -1), asarray=False), y, lam=1e-2)


def _with_duplicates(block):
    """The block as a CSR matrix storing each value as two halves, rows unsorted."""
    coo = sp.coo_matrix(block)
    half = coo.data / 2
    return sp.csr_matrix((np.concatenate([half, half]),
                          (np.concatenate([coo.row, coo.row]),
                           np.concatenate([coo.col, coo.col]))), shape=block.shape)


def test_non_canonical_csr_chunks_are_summed():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((300, 5)) * (rng.random((300, 5)) < 0.5)
    y = np.arange(300) % 2
    Xd = da.from_array(X, chunks=(70, 5)).map_blocks(
        _with_duplicates, meta=sp.csr_matrix((0, 0)))
    w = _point(5)
    got = Logistic(Xd, y, lam=1e-2)
    _close(got.grad(w), Logistic(sp.csr_matrix(X), y, lam=1e-2).grad(w), 1e-13)


def test_first_bad_block_is_named_in_order():
    X = np.full((400, 3), np.nan)
    with pytest.raises(ValueError, match=r"block 0 \(rows 0 to 99\)"):
        Logistic(da.from_array(X, chunks=(100, 3)), np.arange(400) % 2, lam=1.0)


def test_mismatched_rows_refused():
    rng = np.random.default_rng(5)
    Xd = da.from_array(rng.standard_normal((300, 4)), chunks=(100, 4))
    for y in (np.zeros(299), da.zeros(301, chunks=100)):
        with pytest.raises(ValueError, match=r"y .*X.*row"):
            LeastSquares(Xd, y, lam=0.0)
    with pytest.raises(ValueError, match="sample_weight"):
        LeastSquares(Xd, np.zeros(300), lam=0.0, sample_weight=da.ones(290, chunks=100))


def test_hostile_x_refused():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 50)
    with pytest.raises(ValueError, match="2-D"):
        Logistic(da.zeros(50, chunks=10), y, lam=0.1)
    with pytest.raises(TypeError, match="numeric"):
        Logistic(da.from_array(np.full((50, 2), "a"), chunks=10), y, lam=0.1)
    unknown = da.from_array(rng.standard_normal((50, 2)), chunks=10)
    unknown = unknown[unknown[:, 0] > -10]
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        Logistic(unknown, y, lam=0.1)
    with pytest.raises(ValueError, match="classes|labels|two"):
        Logistic(da.zeros((50, 2), chunks=10), np.arange(50) % 3, lam=0.1)


def test_gpu_backend_refused():
    Xd = da.zeros((20, 2), chunks=10)
    with pytest.raises(ValueError, match="backend|GPU|cuda"):
        Logistic(Xd, np.arange(20) % 2, lam=0.1, backend="cuda")


def test_estimator_on_dask_matches_numpy(client, a9a):
    X, y = a9a
    ref = fo.LogisticRegression(tol=1e-10).fit(X, y)
    yd = da.from_array(y, chunks=5000)
    with client.as_current():
        clf = fo.LogisticRegression(tol=1e-10).fit(_dask(X), yd)
        np.testing.assert_array_equal(clf.classes_, ref.classes_)
        _close(clf.coef_, ref.coef_, 1e-10)
        _close(clf.intercept_, ref.intercept_, 1e-10)
        assert clf.n_features_in_ == X.shape[1]
        # Predictions on a dask X are dask arrays with X's row chunks.
        Xd = _dask(X)
        for name in ("decision_function", "predict", "predict_proba", "predict_log_proba"):
            lazy = getattr(clf, name)(Xd)
            assert lazy.chunks[0] == Xd.chunks[0], name
            got, want = lazy.compute(), getattr(ref, name)(X)
            assert got.shape == want.shape, name
            if name == "predict":
                np.testing.assert_array_equal(got, want)
            else:
                np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10, err_msg=name)


def test_estimator_refuses_multinomial_on_dask():
    rng = np.random.default_rng(7)
    Xd = da.from_array(rng.standard_normal((60, 3)), chunks=20)
    with pytest.raises(ValueError, match="multinomial.*in memory"):
        fo.LogisticRegression().fit(Xd, np.arange(60) % 3)


def _kill_one_worker_at_2(client):
    """A callback that kills one worker process (SIGKILL) after iteration 2."""
    pid = sorted(client.run(os.getpid).values())[0]
    killed = []

    def kill(intermediate_result):
        if intermediate_result.nit == 2 and not killed:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    return kill, killed


def test_worker_killed_mid_fit_is_survived(client, a9a):
    """Killing a worker (with about half of X's blocks) after iteration 2: Dask recomputes
    the lost blocks from X's graph, and the fit ends where it ends without the fault."""
    X, y = a9a
    m = X.shape[0]
    want = fo.minimize(Logistic(X, y, lam=1 / m, fit_intercept=True),
                       np.zeros(X.shape[1] + 1), method="newton", tol=1e-8)
    kill, killed = _kill_one_worker_at_2(client)
    with client.as_current():
        obj = Logistic(_dask(X), y, lam=1 / m, fit_intercept=True)
        got = fo.minimize(obj, np.zeros(obj.n_params), method="newton", tol=1e-8,
                          callback=kill)
    assert killed
    assert got.nit == want.nit
    assert abs(got.fun - want.fun) <= 1e-12 * abs(want.fun)


def test_worker_killed_with_the_only_copy_of_x_stops_the_fit(client, a9a):
    """X's chunks scattered to the workers cannot be recomputed once their worker dies:
    the next pass raises the documented RuntimeError, never a wrong answer."""
    X, y = a9a
    m, rows = X.shape[0], _rows(X.shape[0])
    parts = [X[i:i + rows] for i in range(0, m, rows)]
    with client.as_current():
        futures = client.scatter(parts)
        Xd = da.concatenate([da.from_delayed(f, shape=p.shape, dtype=p.dtype,
                                             meta=sp.csr_matrix((0, 0)))
                             for f, p in zip(futures, parts, strict=True)])
        obj = Logistic(Xd, y, lam=1 / m, fit_intercept=True)
        del futures
        kill, killed = _kill_one_worker_at_2(client)
        with pytest.raises(RuntimeError, match="worker .*died.*fit stopped"):
            fo.minimize(obj, np.zeros(obj.n_params), method="newton", tol=1e-8,
                        callback=kill)
    assert killed


def test_a_lost_actor_reply_costs_a_delay_not_a_hang(client, a9a, monkeypatch):
    from fastopt.problems.chunked import dask_data

    X, y = a9a
    m = X.shape[0]
    w, v = _point(X.shape[1] + 1), _point(X.shape[1] + 1, 1)
    with client.as_current():
        obj = Logistic(_dask(X), y, 1 / m, fit_intercept=True)
        want = _passes(obj, w, v)
        assert obj.data._actors is not None  # the passes went through the actors

        class Silent:
            """An actor whose replies never come back: every wait times out."""

            def terms(self, *args):
                return self

            def result(self, timeout=None):
                assert timeout == dask_data.ACTOR_TIMEOUT_MIN_S  # bounded, never None
                raise TimeoutError("no reply")

        monkeypatch.setattr(obj.data, "_readers",
                            lambda placement: {a: Silent() for a in placement})
        got = _passes(obj, w, v)
    for a, b in zip(want, got, strict=True):
        assert np.array_equal(a, b)  # the same sums, through scheduled tasks
