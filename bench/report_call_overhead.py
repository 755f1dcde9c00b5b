"""Per-call time of the Cython and numba kernels on a tiny problem, and of a Newton fit.

On a 200 x 10 logistic problem a pass is a few microseconds, so the time of a call is
mostly what surrounds the pass: argument unpacking (numba's dispatcher, the Cython
wrappers' checks) and the threading runtime. Each kernel is called ``--number`` times
per sample, the backends alternate (in turn first and second) for ``--repeats``
samples, and the table gives the medians and the ratio cython / numba (the target is at
most 1.1).

    NUMBA_NUM_THREADS=2 python bench/report_call_overhead.py [--repeats 21]
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

import fastopt as fo
from fastopt._config import data_work, n_chunks
from fastopt.kernels import available_backends, get_backend
from fastopt.kernels.losses import LOGISTIC

BACKENDS = ("cython", "numba")


def calls(m=200, n=10, seed=0):
    """name -> backend -> zero-argument call."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    y = np.where(rng.standard_normal(m) > 0, 1.0, -1.0)
    sw = np.full(m, 1.0 / m)
    w, v = 0.1 * rng.standard_normal(n), rng.standard_normal(n)
    g, d, out, H = np.empty(n), np.empty(m), np.empty(n), np.empty((n, n))
    work = np.empty((n_chunks(data_work(X), n), n))  # the objectives' scratch
    k = {b: get_backend(b) for b in BACKENDS}
    objs = {b: fo.problems.Logistic(X, y, lam=1e-3, backend=b) for b in BACKENDS}
    table = {
        "logistic_loss_grad": lambda b: k[b].linear_loss_grad(LOGISTIC, X, y, sw, w, 1e-3, g,
                                                                  work),
        "logistic_hvp": lambda b: k[b].linear_hvp(LOGISTIC, X, y, sw, w, v, 1e-3, out,
                                                         work),
        "weighted_gram": lambda b: k[b].weighted_gram(X, sw, 1e-3, H),
        "logistic_grad_hess_weights": lambda b: k[b].linear_grad_hess_weights(
            LOGISTIC, X, y, sw, w, 1e-3, g, d, work),
        "newton fit": lambda b: fo.minimize(objs[b], np.zeros(n), method="newton"),
    }
    return {name: {b: (lambda f=f, b=b: f(b)) for b in BACKENDS} for name, f in table.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--number", type=int, default=5000, help="calls per sample (kernels)")
    args = ap.parse_args(argv)
    if not set(BACKENDS) <= set(available_backends()):
        raise SystemExit("needs the cython and numba backends")
    print(f"# Per call, Logistic 200 x 10, {fo.get_num_threads()} threads, median of "
          f"{args.repeats} alternating samples\n")
    print("| call | cython (us) | numba (us) | cython / numba |\n|---|---|---|---|")
    for name, fs in calls().items():
        number = max(1, args.number // 50) if name == "newton fit" else args.number
        for f in fs.values():
            f()  # warm up (numba compiles)
        samples = {b: [] for b in BACKENDS}
        for r in range(args.repeats):
            for b in (BACKENDS if r % 2 == 0 else BACKENDS[::-1]):
                samples[b].append(timeit.timeit(fs[b], number=number) / number)
        med = {b: float(np.median(s)) * 1e6 for b, s in samples.items()}
        print(f"| {name} | {med['cython']:.2f} | {med['numba']:.2f} | "
              f"{med['cython'] / med['numba']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
