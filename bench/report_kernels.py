"""Time the main kernel comparisons in one run and print a markdown table of ratios.

Usage::

    NUMBA_NUM_THREADS=2 PYTHONPATH=. python bench/report_kernels.py [--repeats 7] [--quick]

Each comparison times both sides in alternating blocks of calls (``time.perf_counter``,
at least ``--repeats`` calls each) after a warm-up call of each (JIT compiled, pages
faulted in) and reports both medians and their ratio (see :func:`paired_times`). The
targets are reported, not asserted: numba fused loss+grad and HVP >= 3x the NumPy
reference and scikit-learn and >= 75% of the read roofline; float32 >= 1.7x float64; CSR
>= 2x the scipy.sparse reference; Cython within 1.5x of numba.

The roofline fraction of a kernel is the time of a pure threaded read of the kernel's own
bytes of X (:func:`bandwidth.read_call`) over the kernel's time, the two timed in
alternating blocks like every other comparison: the read bandwidth of this shared
machine drifts by up to 2x within minutes, so a bandwidth measured once at the start
would make the fractions a lottery.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _data import csr_problem, dense_problem, kernel_call, sklearn_call  # noqa: E402
from bandwidth import measure_read_bandwidth, read_call  # noqa: E402

from fastopt._config import get_num_threads  # noqa: E402
from fastopt.kernels import available_backends, get_backend  # noqa: E402

#: Pause before each block of timed calls (see :func:`paired_times`), seconds.
SETTLE_S = 0.3


def paired_times(fast, slow, repeats: int, block: int = 4) -> tuple[float, float, float]:
    """Median times of ``fast`` and ``slow`` (``repeats`` calls each) and their ratio.

    The two sides run in alternating blocks of ``block`` calls (fast x block, slow x
    block, fast x block, ...) after one warm-up call each (JIT compiled, pages faulted
    in), so that a slow spell of a shared machine hits both sides alike. Each block starts
    after a pause of :data:`SETTLE_S`: the NumPy reference and scikit-learn call OpenBLAS,
    whose threads keep spinning for up to about 0.1 s after a call (and each OpenMP
    runtime in the process spins a little after its parallel regions), taking the cores
    from whatever runs next; we measured numba kernels 1.5x slower right after a BLAS
    call. After the pause every pool is asleep, whichever side ran before.
    """
    fast()
    slow()
    tf, ts = [], []
    while len(tf) < repeats:
        for fn, out in ((fast, tf), (slow, ts)):
            time.sleep(SETTLE_S)
            for _ in range(block):
                t0 = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t0)
    t_fast, t_slow = float(np.median(tf)), float(np.median(ts))
    return t_fast, t_slow, t_slow / t_fast


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    args = parser.parse_args(argv)
    r = args.repeats
    m, n = (20_000, 100) if args.quick else (1_000_000, 100)
    csr_size = (20_000, 1000, 50) if args.quick else (1_000_000, 1000, 50)

    ref, nb = get_backend("numpy"), get_backend("numba")
    cy = get_backend("cython") if "cython" in available_backends() else None
    bandwidth = measure_read_bandwidth(64 * 2**20 if args.quick else 1024 * 2**20, r)

    rows = []  # (comparison, problem, time_a, time_b, ratio b/a, target)
    roof = []  # (kernel, problem, read time, kernel time, fraction)

    def compare(label, problem, fast, slow, target):
        ta, tb, ratio = paired_times(fast, slow, r)
        rows.append((label, problem, ta, tb, ratio, target))
        return ta

    problems = {dtype: dense_problem(m, n, dtype) for dtype in ("float64", "float32")}
    for dtype, (X, y, sw, w, v) in problems.items():
        prob = f"dense m={m} n={n} {dtype}"
        for kernel in ("loss_grad", "hvp", "lsq_loss_grad"):
            fast = kernel_call(nb, kernel, X, y, sw, w, v)
            compare(
                f"numba vs reference: {kernel}", prob, fast,
                kernel_call(ref, kernel, X, y, sw, w, v), ">= 3x")
        compare("numba vs sklearn: loss_grad", prob, kernel_call(nb, "loss_grad", X, y, sw, w, v),
                sklearn_call(X, y, sw, w), ">= 3x")
        if cy is not None:
            for kernel in ("loss_grad", "hvp"):
                if hasattr(cy, "linear_" + kernel):
                    compare(f"cython vs numba: {kernel} (ratio = cython / numba time)", prob,
                            kernel_call(nb, kernel, X, y, sw, w, v),
                            kernel_call(cy, kernel, X, y, sw, w, v), "<= 1.5")
    def roofline(kernel, problem, fast, arrays):
        t_read, t_kernel, _ = paired_times(read_call(arrays), fast, r)
        roof.append((kernel, problem, t_read, t_kernel, t_read / t_kernel))

    for dtype, (X, y, sw, w, v) in problems.items():
        for kernel in ("loss_grad", "hvp", "lsq_loss_grad"):
            roofline(kernel, f"dense m={m} n={n} {dtype}",
                     kernel_call(nb, kernel, X, y, sw, w, v), [X])
    for kernel in ("loss_grad", "hvp", "lsq_loss_grad"):
        compare(f"numba float32 vs float64: {kernel}", f"dense m={m} n={n}",
                kernel_call(nb, kernel, *problems["float32"]),
                kernel_call(nb, kernel, *problems["float64"]), ">= 1.7x")
    del problems
    dense_problem.cache_clear()

    X, y, sw, w, v = csr_problem(*csr_size)
    prob = f"CSR m={csr_size[0]} n={csr_size[1]} nnz/row={csr_size[2]}"
    for kernel in ("loss_grad", "hvp"):
        compare(f"CSR numba vs scipy.sparse reference: {kernel}", prob,
                kernel_call(nb, kernel, X, y, sw, w, v), kernel_call(ref, kernel, X, y, sw, w, v),
                ">= 2x")
    compare("CSR numba vs sklearn: loss_grad", prob, kernel_call(nb, "loss_grad", X, y, sw, w, v),
            sklearn_call(X, y, sw, w), "(peer)")
    for kernel in ("loss_grad", "hvp"):
        roofline(kernel, prob, kernel_call(nb, kernel, X, y, sw, w, v),
                 [X.data, X.indices, X.indptr])

    print(f"threads: {get_num_threads()}, read bandwidth: {bandwidth / 1e9:.2f} GB/s; "
          f"medians of {r}+ calls per side, in alternating blocks of 4\n")
    print("| comparison | problem | fast (ms) | slow (ms) | ratio | target |")
    print("|---|---|---:|---:|---:|---|")
    for label, problem, ta, tb, ratio, target in rows:
        print(f"| {label} | {problem} | {ta * 1e3:.2f} | {tb * 1e3:.2f} | {ratio:.2f} | "
              f"{target} |")
    print()
    print("| roofline: numba kernel vs a pure read of its bytes of X | problem | read (ms) | "
          "kernel (ms) | fraction | target |")
    print("|---|---|---:|---:|---:|---|")
    for kernel, problem, t_read, t_kernel, frac in roof:
        print(f"| {kernel} | {problem} | {t_read * 1e3:.2f} | {t_kernel * 1e3:.2f} | "
              f"{frac:.2f} | >= 0.75 |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
