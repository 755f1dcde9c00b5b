"""Warm time of the compiled first-order loop, Cython against numba, for every method.

Each first-order method runs ``max_iter`` iterations (``tol=0``) of
``fo.minimize(obj, x0, method=...)`` on the same Logistic problem built on each backend;
both loops are warmed up first (numba compiles), then the two calls alternate, in turn
first and second, ``--repeats`` times, and the table gives the medians and the ratio
cython / numba (the target is at most 1.1). Problems: a9a (CSR, lam=1e-4) and a small
dense 200 x 10 problem, full batch, and the same with ``--batch``.

    NUMBA_NUM_THREADS=2 python bench/report_compiled_loop.py [--repeats 15] [--batch 64]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import fastopt as fo  # noqa: E402
from fastopt.kernels import available_backends  # noqa: E402

METHODS = ["gd", "heavy-ball", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]


def problems():
    X, y = fo.datasets.load("a9a")
    rng = np.random.default_rng(0)
    Xs = rng.standard_normal((200, 10))
    ys = np.where(Xs @ rng.standard_normal(10) + 0.5 * rng.standard_normal(200) > 0, 1.0,
                  -1.0)
    return {"a9a": (X, y), "dense 200x10": (Xs, ys)}


def time_pair(calls, repeats, number):
    """Median seconds per call of each entry of ``calls``, alternating their order."""
    names = list(calls)
    times = {b: [] for b in names}
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        for b in order:
            t = time.perf_counter()
            for _ in range(number):
                calls[b]()
            times[b].append((time.perf_counter() - t) / number)
    return {b: float(np.median(v)) for b, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--max-iter", type=int, default=200)
    ap.add_argument("--batch", type=int, default=None, help="mini-batch size (default: full)")
    ap.add_argument("--methods", nargs="*", default=METHODS)
    args = ap.parse_args(argv)
    backends = ["cython", "numba"]
    if not set(backends) <= set(available_backends()):
        raise SystemExit("needs the cython and numba backends")
    print(f"# Compiled first-order loop, {args.max_iter} iterations, "
          f"batch={args.batch or 'full'}, {fo.get_num_threads()} threads, median of "
          f"{args.repeats} alternating runs\n")
    print("| problem | method | cython (ms) | numba (ms) | cython / numba |")
    print("|---|---|---|---|---|")
    for pname, (X, y) in problems().items():
        objs = {b: fo.problems.Logistic(X, y, lam=1e-4, backend=b) for b in backends}
        x0 = np.zeros(objs["cython"].n_params)
        for method in args.methods:
            kw = dict(method=method, max_iter=args.max_iter, tol=0.0, seed=0)
            if args.batch:
                kw["batch_size"] = args.batch
                if method in ("gd", "heavy-ball", "momentum", "nesterov"):
                    kw["lr"] = 0.05
            calls = {b: (lambda o=objs[b], x0=x0, kw=kw: fo.minimize(o, x0, **kw))
                     for b in backends}
            for b in backends:
                res = calls[b]()
                assert res.loop == "compiled", (b, method, res.loop)
            t = time.perf_counter()
            calls["cython"]()
            one = time.perf_counter() - t
            number = max(1, int(0.05 / max(one, 1e-6)))
            med = time_pair(calls, args.repeats, number)
            print(f"| {pname} | {method} | {med['cython'] * 1e3:.3f} | "
                  f"{med['numba'] * 1e3:.3f} | {med['cython'] / med['numba']:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
