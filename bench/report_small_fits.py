"""Per-fit time of small second-order fits, Cython against numba: a markdown table.

    PYTHONPATH=. NUMBA_NUM_THREADS=<cores> python bench/report_small_fits.py
        [--m 200] [--n 10] [--rounds 25] [--methods newton newton-cg lbfgs]

``fo.minimize(fo.problems.Logistic(X, y, lam=1e-3, backend=b), np.zeros(n), method=...)``
on a random m x n problem, timed in alternation between the two backends (batches of 10
fits, ``--rounds`` batches each), medians. At this size every pass runs on the calling
thread (below both backends' parallel thresholds) and a solve holds BLAS on one thread,
so besides wall time the table gives the calling thread's CPU time
(``time.thread_time``), which a loaded machine disturbs much less: what is measured is
the kernels' calls and the solver's Python glue per iteration.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fastopt as fo


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, default=200)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument("--methods", nargs="*", default=["newton", "newton-cg", "lbfgs"])
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.m, args.n))
    y = np.where(X @ rng.standard_normal(args.n) + rng.standard_normal(args.m) > 0, 1.0, -1.0)
    objs = {b: fo.problems.Logistic(X, y, lam=1e-3, backend=b) for b in ("cython", "numba")}
    x0 = np.zeros(args.n)
    print(f"# Small fits, Logistic {args.m} x {args.n}, lam = 1e-3, "
          f"{fo.get_num_threads()} threads\n")
    print("| method | nit | cython CPU (us) | numba CPU (us) | CPU ratio | cython wall (us) "
          "| numba wall (us) | wall ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for method in args.methods:
        fits = {b: (lambda o=o, m=method: fo.minimize(o, x0, method=m))
                for b, o in objs.items()}
        for fit in fits.values():
            fit()
            fit()
        cpu = {b: [] for b in fits}
        wall = {b: [] for b in fits}
        for _ in range(args.rounds):
            for b, fit in fits.items():
                c0, w0 = time.thread_time(), time.perf_counter()
                for _ in range(10):
                    fit()
                cpu[b].append((time.thread_time() - c0) / 10)
                wall[b].append((time.perf_counter() - w0) / 10)
        c = {b: float(np.median(v)) * 1e6 for b, v in cpu.items()}
        w = {b: float(np.median(v)) * 1e6 for b, v in wall.items()}
        nit = fits["cython"]().nit
        print(f"| {method} | {nit} | {c['cython']:.0f} | {c['numba']:.0f} "
              f"| {c['cython'] / c['numba']:.2f} | {w['cython']:.0f} | {w['numba']:.0f} "
              f"| {w['cython'] / w['numba']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
