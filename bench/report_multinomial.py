"""Report: warm speed of the Cython multinomial kernels against their numba twins.

Times ``multinomial_loss_grad`` and ``multinomial_hvp`` on dense float64 data (a large
200,000 x 50 problem and scikit-learn's digits, 1797 x 64, both with 10 classes and
intercepts) and on a CSR problem, and a default ``fastopt.LogisticRegression().fit`` on
digits with ``backend="cython"`` against ``backend="numba"``. Both sides are warmed up
(numba compiled, pages faulted in), then timed in alternating blocks of calls, each
after a pause that lets the other side's OpenMP threads fall asleep (``--repeats``
blocks of about ``--block`` seconds per side, see :func:`paired`); the table gives the
median time per call of each and the ratio cython / numba (below 1: Cython is faster).

Run: ``NUMBA_NUM_THREADS=2 PYTHONPATH=. python bench/report_multinomial.py [--repeats 15]``.
Both backends use ``fastopt.get_num_threads()`` threads, which share T row chunks fixed
by the data's size (``fastopt._config.n_chunks``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp


def _problems():
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(0)
    out = {}
    m, n, K = 200_000, 50, 10
    out["dense 200000x50 f64"] = (rng.standard_normal((m, n)), rng.integers(0, K, m), K)
    Xd, yd = load_digits(return_X_y=True)
    out["digits 1797x64 f64"] = (np.ascontiguousarray(Xd / 16.0), yd, 10)
    m, n, nnz = 100_000, 2_000, 30
    cols = np.sort(rng.choice(n, (m, nnz)), axis=1)  # duplicates summed by scipy: fine
    X = sp.csr_matrix((rng.standard_normal(m * nnz), cols.ravel(),
                       np.arange(0, m * nnz + 1, nnz)), shape=(m, n))
    X.sum_duplicates()
    out["csr 100000x2000 (30/row)"] = (X, rng.integers(0, K, m), K)
    return out


def _calls(kernels, X, y, K, rng):
    """Zero-argument callables for loss_grad and hvp on (X, y) with kernels ``kernels``."""
    from _data import multinomial_args

    head, sfx, y, sw, w, v, work = multinomial_args(X, y, K, rng)
    g, hv = np.empty(w.shape[0]), np.empty(w.shape[0])
    lg = getattr(kernels, "multinomial_loss_grad" + sfx)
    hvp = getattr(kernels, "multinomial_hvp" + sfx)
    return {
        "loss_grad": lambda: lg(*head, y, sw, w, 1e-3, K, g, work),
        "hvp": lambda: hvp(*head, y, sw, w, v, 1e-3, K, hv, work),
    }


#: Pause before each block of timed calls, seconds (see :func:`paired`).
SETTLE_S = 0.3


def paired(a, b, repeats: int, block_s: float) -> tuple[float, float]:
    """Median seconds per call of ``a`` and ``b``, timed in alternating blocks.

    Each side runs ``repeats`` blocks of calls (about ``block_s`` seconds each, at least
    one call), alternating a, b, a, b, ..., after one warm-up call each (numba compiled,
    pages faulted in). Every block starts after a pause of :data:`SETTLE_S`: the OpenMP
    threads of the side that ran before keep spinning for a while after its last
    parallel region, taking the cores from the next side. After the pause every thread
    is asleep, whichever ran before. The median is over the block means. On a machine
    shared with other work, two-thread passes of a millisecond or less (digits) measure
    mostly when the second core is free: compare them over several runs, or with one
    thread (``NUMBA_NUM_THREADS=1``).
    """
    a(), b()
    t0 = time.perf_counter()
    a()
    number = max(1, int(block_s / max(time.perf_counter() - t0, 1e-7)))
    ta, tb = [], []
    for _ in range(repeats):
        for fn, out in ((a, ta), (b, tb)):
            time.sleep(SETTLE_S)
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            out.append((time.perf_counter() - t0) / number)
    return float(np.median(ta)), float(np.median(tb))


def main(argv=None) -> int:
    import warnings

    from sklearn.datasets import load_digits

    import fastopt as fo
    from fastopt.kernels import get_backend

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--block", type=float, default=0.05, help="seconds per timed block")
    args = parser.parse_args(argv)
    cy, nb = get_backend("cython"), get_backend("numba")
    print(f"threads: {fo.get_num_threads()}")
    print("| case | kernel | cython (ms) | numba (ms) | cython / numba |")
    print("|---|---|---|---|---|")
    for name, (X, y, K) in _problems().items():
        c_calls = _calls(cy, X, y, K, np.random.default_rng(1))
        n_calls = _calls(nb, X, y, K, np.random.default_rng(1))
        for kernel in c_calls:
            tc, tn = paired(c_calls[kernel], n_calls[kernel], args.repeats, args.block)
            print(f"| {name} | {kernel} | {tc * 1e3:.4g} | {tn * 1e3:.4g} | {tc / tn:.3f} |",
                  flush=True)
    Xd, yd = load_digits(return_X_y=True)
    warnings.simplefilter("ignore")

    def fit(backend):
        return lambda: fo.LogisticRegression(backend=backend).fit(Xd, yd)

    tc, tn = paired(fit("cython"), fit("numba"), args.repeats, args.block)
    print(f"| digits | LogisticRegression().fit | {tc * 1e3:.4g} | {tn * 1e3:.4g} | "
          f"{tc / tn:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
