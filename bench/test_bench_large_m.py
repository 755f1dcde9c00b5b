"""Smoke tests of ``bench/large_m.py``: its data are the same wherever they are made, its
dask-glm peer solves fastopt's problem, and its quick run prints and writes every
section. The figures themselves are reported by the script, never asserted."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import large_m as bench  # noqa: E402

import fastopt as fo  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_blocks_are_the_same_wherever_made(tmp_path):
    X0, y0 = bench.block(3, 50, 7, np.float32)
    X1, y1 = bench.block(3, 50, 7, np.float32)
    assert X0.dtype == np.float32 and np.array_equal(X0, X1) and np.array_equal(y0, y1)
    assert set(np.unique(y0)) <= {-1.0, 1.0}
    path = str(tmp_path / "x.npy")
    bench.write_npy(path, 130, 7, 40)
    X = np.load(path)
    y = np.load(path + ".y.npy")
    parts = [bench.block(b, r, 7, np.float32) for b, r in enumerate(bench.split(130, 4))]
    assert np.array_equal(X, np.concatenate([p[0] for p in parts]))
    assert np.array_equal(y, np.concatenate([p[1] for p in parts]))


def test_dask_chunks_are_the_blocks():
    pytest.importorskip("dask.array")
    import dask

    Xd, yd = bench.dask_problem(100, 5, 8, np.float64)
    assert len(Xd.chunks[0]) == 8
    with dask.config.set(scheduler="threads"):
        X, y = dask.compute(Xd, yd)
    parts = [bench.block(b, r, 5, np.float64) for b, r in enumerate(bench.split(100, 8))]
    assert np.array_equal(X, np.concatenate([p[0] for p in parts]))
    assert np.array_equal(y, np.concatenate([p[1] for p in parts]))


def test_daskglm_objective_is_m_times_fastopts():
    pytest.importorskip("dask_glm")
    from dask_glm.families import Logistic
    from dask_glm.regularizers import L2

    X, y = bench.block(0, 300, 6, np.float64)
    w = np.random.default_rng(1).standard_normal(6)
    m = X.shape[0]
    theirs = Logistic.pointwise_loss(w, X, (y > 0).astype(float)) + bench.LAM * m * L2().f(w)
    ours = fo.problems.Logistic(X, y, lam=bench.LAM).value(w)
    assert math.isclose(theirs, m * ours, rel_tol=1e-12)


def test_ratios_leave_out_solvers_that_missed_the_gap():
    fits = [{"solver": "fastopt lbfgs", "where": "dask", "time": 1.0, "reached": True},
            {"solver": "fastopt lbfgs", "where": "memory", "time": 0.8, "reached": True},
            {"solver": "dask-glm lbfgs", "where": "dask", "time": 12.0, "reached": True},
            {"solver": "dask-glm newton", "where": "dask", "time": 6.0, "reached": False}]
    r = bench.dask_ratios(fits)
    assert r["daskglm_reached_over_fastopt_dask"] == 12.0
    assert r["daskglm_any_over_fastopt_dask"] == 6.0
    assert math.isclose(r["fastopt_dask_over_memory"], 1.25)


def test_quick_run_prints_and_writes_every_section(tmp_path):
    out = tmp_path / "large_m.json"
    env = dict(os.environ, FASTOPT_BENCH_QUICK="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "large_m.py"), "--quick",
                        "--json", str(out), "--dir", str(tmp_path / "files")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    text = p.stdout
    assert "cores" in text and "GiB RAM" in text
    res = json.loads(out.read_text())
    assert res["quick"] and res["machine"]["cores"] >= 1
    if "dask" in res:
        for d in res["dask"]:
            assert "## 1. Dask" in text
            for f in d["fits"]:
                assert {"solver", "where", "time", "gap", "reached"} <= set(f)
                assert f["time"] > 0
            if d["per_pass"]:
                assert {r["workers"] for r in d["per_pass"]} == {1, 2}
    o = res["ooc"]
    assert "## 2. Out of core" in text and "## 3. From the page cache" in text
    assert o["cap_bytes"] > 0 and o["file_bytes"] > 0
    for label in ("cached", "cold"):
        r = o[label]
        assert "error" not in r, r
        assert r["read_s"] > 0 and r["maxrss"] > 0
