"""Results are bitwise identical for any thread count, on every CPU backend.

Every reduction splits its rows into a number of chunks fixed by the data's size
(``fastopt._config.n_chunks``), never by the thread count, and adds the chunk partials in
a fixed order; the threads only share the chunks. So a fit with 1, 2 or 3 threads gives
the same bits. Thread counts above the machine's CPUs are clipped to ``MAX_THREADS``
(``NUMBA_NUM_THREADS``), so the fits run in subprocesses started with
``NUMBA_NUM_THREADS=3`` and ``OMP_NUM_THREADS=3`` (BLAS held to one thread, so that only
fastopt's thread count varies), from outside the repository root (a fresh clone has no
extensions built in place: the subprocess imports the installed package), and hand
their arrays back through an ``.npz`` file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp

import fastopt as fo
from fastopt import _config
from fastopt.kernels import available_backends

THREADS = (1, 2, 3)

# Run in a subprocess: ``python script.py <threads> <backend> <out.npz>``. Every case
# is a fit or a kernel value whose reductions have more than one chunk and enough work
# for the threaded driver (asserted in the parent on the same data).
_SCRIPT = textwrap.dedent('''
    import sys

    import numpy as np

    import fastopt as fo
    from fastopt.datasets import load
    from fastopt.linear_model import LogisticRegression
    from fastopt.problems import LeastSquares, Logistic, Multinomial

    threads, backend, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    fo.set_num_threads(threads)
    assert fo.get_num_threads() == threads, fo.get_num_threads()
    res = {}

    X, y = load("a9a")
    rng = np.random.default_rng(0)

    def values(tag, obj, x):
        g = np.empty(obj.n_params)
        res[tag + ".f"] = np.array([obj.loss_grad_into(x, g)])
        res[tag + ".g"] = g
        res[tag + ".hv"] = obj.hvp(x, rng.standard_normal(obj.n_params))

    if backend == "numba":
        # numba compiles what it runs: one sparse logistic fit and its kernels
        obj = Logistic(X, y, lam=1e-4, fit_intercept=True, backend="numba")
        values("logistic_csr", obj, 0.01 * np.ones(obj.n_params))
        r = fo.minimize(obj, np.zeros(obj.n_params), method="lbfgs", max_iter=30)
        res["logistic_csr.lbfgs"] = r.x
    else:
        Xd = X.toarray()
        for tag, data in (("logistic_dense", Xd), ("logistic_csr", X)):
            obj = Logistic(data, y, lam=1e-4, fit_intercept=True, backend=backend)
            values(tag, obj, 0.01 * np.ones(obj.n_params))
            res[tag + ".lbfgs"] = fo.minimize(obj, np.zeros(obj.n_params), method="lbfgs",
                                              max_iter=30).x
            res[tag + ".hess"] = obj.hessian(res[tag + ".lbfgs"])
            # the compiled first-order loop (full batch, then mini-batches)
            r = fo.minimize(obj, np.zeros(obj.n_params), method="adam", lr=0.01,
                            max_iter=20)
            assert r.loop == "compiled", r.loop
            res[tag + ".adam"] = r.x
            r = fo.minimize(obj, np.zeros(obj.n_params), method="adam", lr=0.01,
                            max_iter=40, batch_size=4096, seed=3)
            assert r.loop == "compiled", r.loop
            res[tag + ".adam_batch"] = r.x
        for solver in ("newton-cg", "lbfgs", "newton"):
            est = LogisticRegression(C=1.0, solver=solver, max_iter=15, tol=1e-10,
                                     backend=backend, n_threads=threads).fit(X, y)
            res["estimator." + solver] = np.append(est.coef_.ravel(), est.intercept_)
        A = rng.standard_normal((20000, 30))
        b = A @ rng.standard_normal(30) + rng.standard_normal(20000)
        obj = LeastSquares(A, b, lam=1e-3, fit_intercept=True, backend=backend)
        values("lsq", obj, rng.standard_normal(obj.n_params))
        res["lsq.lbfgs"] = fo.minimize(obj, np.zeros(obj.n_params), method="lbfgs",
                                       max_iter=20).x
        A = rng.standard_normal((4000, 30))
        c = rng.integers(0, 4, 4000)
        obj = Multinomial(A, c, lam=1e-3, fit_intercept=True, backend=backend)
        values("multinomial", obj, 0.1 * rng.standard_normal(obj.n_params))
        res["multinomial.newton-cg"] = fo.minimize(obj, np.zeros(obj.n_params),
                                                   method="newton-cg", max_iter=5).x
    np.savez(out, **res)
''')


def _backends():
    return [b for b in ("cython", "numba") if b in available_backends()]


def _run(tmp_path, backend, threads):
    script = tmp_path / "fit.py"
    script.write_text(_SCRIPT)
    out = tmp_path / f"{backend}_{threads}.npz"
    env = dict(os.environ, NUMBA_NUM_THREADS="3", OMP_NUM_THREADS="3",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)  # import the installed package, not the checkout
    proc = subprocess.run([sys.executable, str(script), str(threads), backend, str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("backend", _backends())
def test_fits_are_bitwise_identical_for_1_2_and_3_threads(backend, tmp_path):
    runs = {k: _run(tmp_path, backend, k) for k in THREADS}
    base = runs[THREADS[0]]
    assert base  # the script recorded something
    for k in THREADS[1:]:
        assert runs[k].keys() == base.keys()
        for name, a in base.items():
            b = runs[k][name]
            assert a.dtype == b.dtype == np.float64, name
            assert np.all(np.isfinite(a)), name
            assert np.array_equal(a, b), (
                f"{backend} {name}: {THREADS[0]} vs {k} threads differ by "
                f"{np.max(np.abs(a - b)):.3g}")


def test_the_fits_above_reduce_over_several_chunks():
    """The cases of the subprocess fits have several chunks and enough work to thread
    (else the test above would prove nothing)."""
    from fastopt.datasets import load

    X, _ = load("a9a")
    for amount, p in [(_config.data_work(X), X.shape[1] + 1),
                      (_config.data_work(np.empty((X.shape[0], X.shape[1]))), X.shape[1] + 1),
                      (_config.data_work(np.empty((20000, 30))), 31),
                      (_config.data_work(np.empty((4000, 30))) * 4, 31 * 4 + 2 * 4 + 1)]:
        assert _config.n_chunks(amount, p) > 1
        assert amount >= _config.PARALLEL_MIN_WORK


# --- in-process: the kernels after set_num_threads(1) and (2) ------------------------------


@pytest.fixture
def restore_threads():
    before = fo.get_num_threads()
    yield
    fo.set_num_threads(before)


def _kernel_values(obj, seed=1):
    rng = np.random.default_rng(seed)
    x = 0.02 * rng.standard_normal(obj.n_params)
    v = rng.standard_normal(obj.n_params)
    g = np.empty(obj.n_params)
    out = {"f": np.array([obj.loss_grad_into(x, g)]), "g": g.copy(),
           "value": np.array([obj.value(x)]), "hvp": obj.hvp(x, v)}
    if hasattr(obj, "grad_hess_weights"):  # the linear objectives' other reductions
        f, g2, d = obj.grad_hess_weights(x)
        rows = np.sort(rng.choice(obj.n_samples, obj.n_samples // 3, replace=False))
        fb, gb = obj.batch_loss_grad(x, rows)
        out.update(ghw_f=np.array([f]), ghw_g=g2, d=d, whvp=obj.weighted_hvp(d, v),
                   gram=obj.weighted_gram(d), hessian=obj.hessian(x),
                   rmatvec=obj.grad_from_predictor(obj.linear_predictor(x), x),
                   batch_f=np.array([fb]), batch_g=gb)
    return out


def _problems(backend):
    from fastopt.datasets import load
    from fastopt.problems import LeastSquares, Logistic, Multinomial

    X, y = load("a9a")
    probs = {"logistic_csr": Logistic(X, y, lam=1e-4, fit_intercept=True, backend=backend)}
    if backend == "numba":  # numba compiles each kernel it runs: keep to one problem
        return probs
    rng = np.random.default_rng(5)
    A = rng.standard_normal((20000, 30))
    probs["logistic_dense"] = Logistic(X.toarray(), y, lam=1e-4, fit_intercept=True,
                                       backend=backend)
    probs["lsq_dense"] = LeastSquares(A, A[:, 0] + rng.standard_normal(20000), lam=1e-3,
                                      backend=backend)
    probs["multinomial"] = Multinomial(A[:4000], rng.integers(0, 4, 4000), lam=1e-3,
                                       fit_intercept=True, backend=backend)
    # 3606 parameters in 64 chunks: the partial gradients are reduced in blocks of
    # entries, on threads when there are two
    S = sp.random(20000, 600, density=0.05, format="csr", random_state=6)
    probs["multinomial_csr_wide"] = Multinomial(S, rng.integers(0, 6, 20000), lam=1e-3,
                                                fit_intercept=True, backend=backend)
    return probs


@pytest.mark.skipif(_config.MAX_THREADS < 2, reason="needs 2 threads")
@pytest.mark.parametrize("backend", _backends())
def test_kernels_give_the_same_bits_after_set_num_threads(backend, restore_threads):
    for name, obj in _problems(backend).items():
        assert obj.work.shape[0] > 1, name  # several chunks, whatever the threads
        T = obj.work.shape
        fo.set_num_threads(1)
        one = _kernel_values(obj)
        fo.set_num_threads(2)
        two = _kernel_values(obj)
        assert obj.work.shape == T, name  # sized by the data, not reallocated
        for key in one:
            assert np.array_equal(one[key], two[key]), (name, key)


def test_chunk_count_depends_on_the_data_size_only(restore_threads):
    """n_chunks: about amount / MIN_WORK_PER_CHUNK, clamped to [1, MAX_CHUNKS], and T p at
    most amount / REDUCTION_SHARE; the thread count plays no part."""
    from fastopt.problems import Logistic

    n_chunks, W, M, R = (_config.n_chunks, _config.MIN_WORK_PER_CHUNK, _config.MAX_CHUNKS,
                         _config.REDUCTION_SHARE)
    assert n_chunks(0) == n_chunks(W - 1) == 1
    assert n_chunks(5 * W, 1) == 5
    assert n_chunks(10**12, 1) == M
    # sparse problems with very many parameters: the partials stay a small share
    assert n_chunks(10**7, 10**6) == 1
    assert n_chunks(10**7, 10**4) == 10**7 // (R * 10**4)
    for amount in (10**5, 10**6, 10**8):
        for p in (1, 100, 10**5):
            T = n_chunks(amount, p)
            assert 1 <= T <= M and (T == 1 or T * p * R <= amount)

    X = np.random.default_rng(0).standard_normal((3000, 40))
    y = np.where(X[:, 0] > 0, 1.0, -1.0)
    shapes = set()
    for k in (1, 2):
        fo.set_num_threads(min(k, _config.MAX_THREADS))
        shapes.add(Logistic(X, y, lam=0.1, backend="cython").work.shape)
    assert shapes == {(n_chunks(3000 * 41, 40), 40)}


def test_gram_chunks_depend_on_the_data_size_only():
    gram_chunks = _config.gram_chunks
    assert gram_chunks(100, 10, 100 * 55, 1) == 1  # little work: one chunk
    T = gram_chunks(10**6, 50, 10**6 * 1275, 64)
    assert 1 < T <= _config.MAX_CHUNKS
    assert gram_chunks(10**6, 50, 10**6 * 1275, 10**6) == 1  # at most m / min_rows
    # partials beyond GRAM_PARTIALS_BYTES: one chunk
    p = 10**4
    assert gram_chunks(10**6, p, 10**6 * p * p // 2, 1) == 1
