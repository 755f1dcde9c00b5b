"""Smoke tests of ``bench/many_fits.py``: its data generators are deterministic, the batch
call solves the problem the scikit-learn peer solves, the peer's arguments keep it quiet,
and its quick run prints (and writes) every section. The figures themselves are reported
by the script, never asserted."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import many_fits as bench  # noqa: E402

import fastopt as fo  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_dense_problems_are_deterministic():
    X0, y0 = bench.dense_problems(6, 40, 3)
    X1, y1 = bench.dense_problems(6, 40, 3)
    assert X0.shape == (6, 40, 3) and y0.shape == (6, 40)
    assert np.array_equal(X0, X1) and np.array_equal(y0, y1)
    assert set(np.unique(y0)) == {0.0, 1.0}
    X2, _ = bench.dense_problems(6, 40, 3, seed=1)
    assert not np.array_equal(X0, X2)
    X3, _ = bench.dense_problems(7, 40, 3)  # the sizes are part of the seed
    assert not np.array_equal(X0, X3[:6])


def test_grouped_holds_the_same_problems_shuffled():
    X, y = bench.dense_problems(5, 30, 4)
    X2, y2, g = bench.grouped(X, y)
    assert X2.shape == (150, 4) and y2.shape == (150,) and g.shape == (150,)
    assert not np.array_equal(g, np.repeat(np.arange(5), 30))  # rows shuffled
    again = bench.grouped(X, y)
    assert all(np.array_equal(a, b) for a, b in zip((X2, y2, g), again, strict=True))
    for k in range(5):
        rows = np.flatnonzero(g == k)
        order = np.lexsort(X2[rows].T)
        ref = np.lexsort(X[k].T)
        assert np.array_equal(X2[rows][order], X[k][ref])
        assert np.array_equal(y2[rows][order], y[k][ref])


def test_bootstrap_weights_are_deterministic_counts():
    B = bench.bootstrap_weights(50, 7)
    assert B.shape == (7, 50) and B.dtype == np.float64
    assert np.array_equal(B, bench.bootstrap_weights(50, 7))
    assert np.all(B >= 0) and np.array_equal(B, np.round(B))
    assert np.all(B.sum(axis=1) == 50)
    assert not np.array_equal(B[0], B[1])


def test_sample_indices_spread_over_the_problems():
    idx = bench.sample_indices(10_000, 300)
    assert len(idx) == 300 and idx[0] == 0 and idx[-1] == 9_999
    assert np.all(np.diff(idx) > 0)
    assert np.array_equal(bench.sample_indices(5, 300), np.arange(5))


def test_batch_solves_sklearns_problem():
    """lam=None is scikit-learn's C = 1, with and without bootstrap weights."""
    from sklearn.linear_model import LogisticRegression as Sk

    X, y = bench.dense_problems(3, 120, 4)
    res = fo.batch.logistic(X, y, tol=1e-10)
    for k in range(3):
        sk = Sk(solver="newton-cholesky", tol=1e-12).fit(X[k], y[k])
        assert bench.rel_diff(bench.wb(res.coef[k], res.intercept[k]),
                              bench.wb(sk.coef_, sk.intercept_)) < 1e-7
    B = bench.bootstrap_weights(120, 2)
    res = fo.batch.logistic(X[0], y[0], sample_weight=B, tol=1e-10)
    for k in range(2):
        sk = Sk(solver="newton-cholesky", tol=1e-12).fit(X[0], y[0], sample_weight=B[k])
        assert bench.rel_diff(bench.wb(res.coef[k], res.intercept[k]),
                              bench.wb(sk.coef_, sk.intercept_)) < 1e-7


def test_sklearn_cv_arguments_silence_its_future_warnings():
    from sklearn.linear_model import LogisticRegressionCV

    X, y = bench.dense_problems(1, 200, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        est = LogisticRegressionCV(Cs=3, cv=5, **bench.sklearn_cv_kwargs()).fit(X[0], y[0])
    assert np.ravel(est.C_).size >= 1
    assert bench.mean_scores(est).shape == (3,)


def test_quick_run_prints_and_writes_every_section(tmp_path):
    out = tmp_path / "many_fits.json"
    env = dict(os.environ, FASTOPT_BENCH_QUICK="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "many_fits.py"), "--quick",
                        "--json", str(out)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    text = p.stdout
    assert "QUICK" in text and "kernel threads" in text
    for heading in ("## 1. Many dense problems", "### K = 200 problems", "### K = 20 problems",
                    "groups form", "## 2. 8 bootstrap fits of a9a", "## 3. LogisticRegressionCV"):
        assert heading in text, heading
    assert text.count("agreement") == 3
    res = json.loads(out.read_text())
    assert res["quick"]
    for d in res["dense"]:
        assert d["batch"]["success"] == d["K"]
        assert set(d["per_fit"]) >= {"batch", "sklearn loop", "fastopt loop"}
        assert all(t > 0 for t in d["per_fit"].values())
        assert d["agreement"]["batch_tight_vs_fo_tight"] < 1e-6
    assert "groups" in res["dense"][0] and res["dense"][0]["groups_vs_stacked"] < 1e-8
    b = res["bootstrap"]
    assert b["cold"]["success"] == b["B"] == b["warm"]["success"]
    assert b["sk_over_cold"] > 0 and b["sk_over_warm"] > 0
    cv = res["cv"]
    if "skipped" in cv:
        assert "skipped" in text
    else:
        assert [r["data"] for r in cv["rows"]] == list(bench.CV_DATASETS)
        for r in cv["rows"]:
            assert r["fastopt_s"] > 0 and r["sklearn_s"] > 0 and r["C_fastopt"] > 0


@pytest.mark.parametrize("text,expected", [("300,100", [300, 100]), ("7", [7])])
def test_parse_sizes(text, expected):
    assert bench.parse_sizes(text) == expected
