"""Warm speed of the ahead-of-time default (Cython) against numba, case by case.

``backend="auto"`` is the Cython backend, so that no call compiles at call time; this
report checks that the choice costs nothing once both are warm. Every case runs the same
call on both backends, alternating call by call (after a warm-up that compiles numba), and
prints the median time of each and the ratio Cython time / numba time (target: at most
1.1). Cases: the kernels (tiny, in-cache and streaming sizes, dense and CSR), the fused
updates through ``fo.updates`` at n = 10^3 .. 10^7, ``fo.minimize`` on a9a and on a
200 x 10 problem for the second-order and first-order methods, and the estimator on a9a,
digits (multinomial) and the 200 x 10 problem.

Usage::

    NUMBA_NUM_THREADS=2 python bench/backend_parity.py [--quick] [--only kernels,updates,...]
        [--repeats 21]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from functools import partial

import numpy as np

import fastopt as fo

BACKENDS = ("cython", "numba")
GROUPS = ("kernels", "updates", "minimize", "estimator")


def _time_once(fn, inner):
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def _inner_count(fn, budget=2e-3):
    """Calls per timing sample so that a sample lasts about ``budget`` seconds."""
    t = _time_once(fn, 1)
    return max(1, min(10_000, int(budget / max(t, 1e-9))))


def compare(calls, repeats):
    """Median seconds per call of each backend's callable, timed alternately."""
    for fn in calls.values():  # warm-up: numba compiles here, caches fill
        fn()
        fn()
    inner = min(_inner_count(fn) for fn in calls.values())
    samples = {b: [] for b in calls}
    for _ in range(repeats):
        for b, fn in calls.items():
            samples[b].append(_time_once(fn, inner))
    return {b: statistics.median(s) for b, s in samples.items()}


def _fmt(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.3f} s "


def report(rows):
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'cython':>11}  {'numba':>11}  cython/numba")
    worst = 0.0
    for name, t in rows:
        ratio = t["cython"] / t["numba"]
        worst = max(worst, ratio)
        flag = "" if ratio <= 1.1 else "   > 1.1"
        print(f"{name:<{width}}  {_fmt(t['cython'])}  {_fmt(t['numba'])}  {ratio:12.2f}{flag}")
    print(f"worst ratio: {worst:.2f} over {len(rows)} cases")


# --- cases ---------------------------------------------------------------------------------

def _dense(m, n, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)).astype(dtype)
    y = np.where(rng.standard_normal(m) > 0, 1.0, -1.0)
    return X, y


def _small():
    return _dense(200, 10, seed=1)


def kernel_cases(quick):
    sizes = [(200, 10), (2000, 100)] + ([] if quick else [(1_000_000, 100)])
    data = [(f"dense {m}x{n}", *_dense(m, n)) for m, n in sizes]
    data.append(("CSR a9a", *fo.datasets.load("a9a")))
    for label, X, y in data:
        objs = {b: fo.problems.Logistic(X, y, lam=1e-3, backend=b) for b in BACKENDS}
        p = objs["numba"].n_params
        w, g = np.full(p, 0.01), np.empty(p)
        yield f"logistic loss+grad, {label}", {
            b: partial(o.loss_grad_into, w, g) for b, o in objs.items()}
        yield f"logistic HVP, {label}", {b: partial(o.hvp_into, w, w, g) for b, o in objs.items()}
        if p <= 200:
            d = np.full(X.shape[0], 0.25 / X.shape[0])
            yield f"weighted Gram, {label}", {
                b: partial(o.weighted_gram, d) for b, o in objs.items()}
    for label, (X, y) in (("digits", _digits()), ("dense 20000x50, K=10", _classes(20_000, 50))):
        objs = {b: fo.problems.Multinomial(X, y, backend=b) for b in BACKENDS}
        w = np.full(objs["numba"].n_params, 0.01)
        yield f"multinomial loss+grad, {label}", {
            b: partial(o.loss_grad, w) for b, o in objs.items()}
        yield f"multinomial HVP, {label}", {b: partial(o.hvp, w, w) for b, o in objs.items()}


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _classes(m, n, K=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    W = rng.standard_normal((n, K))
    return X, np.argmax(X @ W + rng.gumbel(size=(m, K)), axis=1)


#: Each fused update with its state arrays (taken from ``(x, s, m, v, g)``) and arguments.
UPDATES = {
    "gd_": (("x", "g"), (1e-9,), {}),
    "heavy_ball_": (("x", "s", "g"), (1e-9, 0.9), {}),
    "nesterov_": (("x", "s", "g"), (1e-9, 0.9), {}),
    "adagrad_": (("x", "s", "g"), (1e-9,), {}),
    "rmsprop_": (("x", "s", "g"), (1e-9,), {}),
    "adam_": (("x", "m", "v", "g"), (1,), {"lr": 1e-9}),
    "adamw_": (("x", "m", "v", "g"), (1,), {"lr": 1e-9}),
}


def update_cases(quick):
    sizes = [10**3, 10**4] + ([] if quick else [10**6, 10**7])
    for n in sizes:
        for dtype in (np.float32, np.float64):
            arrays = {k: np.full(n, 0.5, dtype) for k in "xsmvg"}
            for name, (names, args, kwargs) in UPDATES.items():
                fn = getattr(fo.updates, name)
                call_args = (*(arrays[k] for k in names), *args)
                yield f"{name} n={n:.0e} {np.dtype(dtype).name}", {
                    b: partial(fn, *call_args, backend=b, **kwargs) for b in BACKENDS}


def minimize_cases(quick):
    a9a = fo.datasets.load("a9a")
    problems = [("200x10", *_small(), 1e-3), ("a9a", *a9a, 1.0 / a9a[0].shape[0])]
    methods = [("newton", {}), ("newton-cg", {}), ("lbfgs", {}), ("nesterov", {}),
               ("heavy-ball", {}), ("adam", {"lr": 1e-2}), ("gd", {})]
    for label, X, y, lam in problems:
        objs = {b: fo.problems.Logistic(X, y, lam=lam, backend=b) for b in BACKENDS}
        x0 = np.zeros(objs["numba"].n_params)
        for method, options in methods:
            first_order = method not in ("newton", "newton-cg", "lbfgs")
            kw = dict(options, max_iter=200, tol=0.0) if first_order else dict(tol=1e-8)
            if quick and label == "a9a" and first_order:
                kw["max_iter"] = 20
            yield f"minimize {method}, {label}", {
                b: partial(fo.minimize, o, x0, method=method, **kw) for b, o in objs.items()}


def _fit(backend, X, y):
    return fo.LogisticRegression(backend=backend).fit(X, y)


def estimator_cases(quick):
    data = [("200x10", *_small()), ("digits (multinomial)", *_digits()),
            ("a9a", *fo.datasets.load("a9a"))]
    for label, X, y in data:
        yield f"LogisticRegression().fit, {label}", {
            b: partial(_fit, b, X, y) for b in BACKENDS}


CASES = {"kernels": kernel_cases, "updates": update_cases, "minimize": minimize_cases,
         "estimator": estimator_cases}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--only", default=",".join(GROUPS),
                        help=f"comma-separated groups among {', '.join(GROUPS)}")
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args(argv)
    only = [g for g in args.only.split(",") if g]
    unknown = sorted(set(only) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s): {', '.join(unknown)}")
    print(f"threads: {fo.get_num_threads()}, NUMBA_NUM_THREADS="
          f"{os.environ.get('NUMBA_NUM_THREADS', 'unset')}, repeats: {args.repeats}")
    rows = []
    for group in only:
        for name, calls in CASES[group](args.quick):
            t = compare(calls, args.repeats)
            if all(math.isfinite(v) for v in t.values()):
                rows.append((name, t))
    report(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

