"""Smoke tests of ``bench/multinomial.py``: its objective is fastopt's, its kernel table
times real calls, and its fit search stops at the gap. The figures themselves are
reported by the script, never asserted."""

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import multinomial as bench  # noqa: E402

import fastopt as fo  # noqa: E402
from fastopt.problems import Multinomial  # noqa: E402


def test_the_objective_is_fastopts_divided_by_m():
    X, y = bench.planted(300, 6, 4, seed=1)
    est = fo.LogisticRegression(C=bench.C).fit(X, y)
    obj = Multinomial(X, y, lam=1.0 / (bench.C * X.shape[0]), fit_intercept=True)
    x = obj.flatten(est.coef_, est.intercept_)
    got = bench.objective(X, y, est.coef_, est.intercept_, est.classes_)
    assert math.isclose(got, obj.value(x), rel_tol=1e-12)


def test_kernel_rows_time_every_case(monkeypatch):
    import report_kernels

    monkeypatch.setattr(report_kernels, "SETTLE_S", 0.0)  # no pauses in a smoke test
    rows = bench.kernel_rows(quick=True, repeats=2)
    assert len(rows) == 6  # 3 cases x (loss+grad, HVP)
    for row in rows:
        timed = row[2:8] + row[10:] + (row[8:10] if row[0].startswith("csr") else ())
        assert all(math.isfinite(t) and t > 0 for t in timed)


def test_fit_to_gap_reaches_the_gap(monkeypatch):
    monkeypatch.setattr(bench, "SETTLE_S", 0.0)
    X, y = bench.planted(400, 5, 3, seed=2)
    tight = fo.LogisticRegression(C=bench.C, solver="newton-cg", tol=1e-11).fit(X, y)
    fstar = bench.objective(X, y, tight.coef_, tight.intercept_, tight.classes_)
    elapsed, tol, gap = bench.fit_to_gap(
        lambda t: fo.LogisticRegression(C=bench.C, solver="lbfgs", tol=t), X, y, fstar, 1)
    assert tol is not None and gap <= bench.GAP * max(1.0, abs(fstar)) and elapsed > 0
