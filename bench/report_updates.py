"""Fused optimizer updates and the compiled loop, in one run: a markdown report.

    PYTHONPATH=. NUMBA_NUM_THREADS=<cores> python bench/report_updates.py [--n 10000000]
        [--sizes 1000 10000 1000000 10000000] [--public-only]

First, Cython against numba through the public functions (``fo.updates.adam_(...,
backend=b)``: the same argument checks for both, then the kernel) for every update,
float32 and float64, at each of ``--sizes``: medians of calls alternating between the
two backends, and the ratio cython / numba (the target is at most 1.1).

Then, for every update (float32, n parameters): the time of the NumPy reference, the
numba and cython fused kernels and, where torch is installed, torch.optim on the CPU
(fused=True where torch has a fused CPU kernel: Adam, AdamW, SGD); the ratios; and the
fraction of the memory roofline, bytes moved / time / read bandwidth measured in the
same run (Adam moves 28 bytes per float32 parameter: reads x, m, v, g, writes x, m, v).
Then the compiled loop's per-iteration overhead beyond the gradient on m = 1000, n = 10.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fastopt as fo  # noqa: E402
from fastopt.kernels import available_backends, get_backend  # noqa: E402

#: Bytes per parameter (float32): 4 x (arrays read + arrays written).
BYTES = {"gd_": 12, "heavy_ball_": 20, "nesterov_": 20, "adagrad_": 20, "rmsprop_": 20,
         "adam_": 28, "adamw_": 28}
TORCH = {"gd_": ("SGD", {"lr": 1e-3}), "heavy_ball_": ("SGD", {"lr": 1e-3, "momentum": 0.9}),
         "nesterov_": ("SGD", {"lr": 1e-3, "momentum": 0.9, "nesterov": True}),
         "adagrad_": ("Adagrad", {"lr": 1e-2}), "rmsprop_": ("RMSprop", {"lr": 1e-3}),
         "adam_": ("Adam", {"lr": 1e-3}), "adamw_": ("AdamW", {"lr": 1e-3})}


def best_time(fn, repeats=10, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def fused_call(kernels, name, n, dtype=np.float32):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    s1, s2 = np.zeros(n, dtype), np.zeros(n, dtype)
    empty = np.empty(0, dtype)
    k = getattr(kernels, name)
    calls = {
        "gd_": lambda: k(x, g, 1e-3),
        "heavy_ball_": lambda: k(x, s1, g, 1e-3, 0.9),
        "nesterov_": lambda: k(x, s1, g, 1e-3, 0.9, 0.9),
        "adagrad_": lambda: k(x, s1, g, 1e-2, 1e-10),
        "rmsprop_": lambda: k(x, s1, g, 1e-3, 0.9, 1e-8),
        "adam_": lambda: k(x, s1, s2, g, 10, 1e-3, 0.9, 0.999, 1e-8, empty),
        "adamw_": lambda: k(x, s1, s2, g, 10, 1e-3, 0.9, 0.999, 1e-8, 1e-2, empty),
    }
    return calls[name]


def public_call(backend, name, n, dtype=np.float32):
    """A call of the public ``fo.updates.<name>`` on fresh arrays of length n (checks
    included), with ``backend``."""
    rng = np.random.default_rng(0)
    x = (1e-3 * rng.standard_normal(n)).astype(dtype)
    g = (1e-3 * rng.standard_normal(n)).astype(dtype)
    s1, s2 = np.zeros(n, dtype), np.zeros(n, dtype)
    f = getattr(fo.updates, name)
    b = backend
    calls = {
        "gd_": lambda: f(x, g, 1e-3, backend=b),
        "heavy_ball_": lambda: f(x, s1, g, 1e-3, 0.9, backend=b),
        "nesterov_": lambda: f(x, s1, g, 1e-3, 0.9, backend=b),
        "adagrad_": lambda: f(x, s1, g, 1e-2, backend=b),
        "rmsprop_": lambda: f(x, s1, g, 1e-3, backend=b),
        "adam_": lambda: f(x, s1, s2, g, 10, backend=b),
        "adamw_": lambda: f(x, s1, s2, g, 10, backend=b),
    }
    return calls[name]


def alternating_medians(fns: dict, n: int, rounds: int) -> dict:
    """Median seconds per call of each callable, timed in alternation (round-robin), so
    that load on the machine hits every one alike; small n are timed in batches."""
    batch = max(1, min(2000, 2_000_000 // max(n, 1)))
    for fn in fns.values():
        fn()
        fn()
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t = time.perf_counter()
            for _ in range(batch):
                fn()
            times[k].append((time.perf_counter() - t) / batch)
    return {k: float(np.median(v)) for k, v in times.items()}


def public_table(sizes, rounds=21):
    """Markdown rows: cython and numba through ``fo.updates``; the worst ratio."""
    print("| n | dtype | update | cython | numba | cython / numba |")
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for n in sizes:
        r = rounds if n <= 10**5 else max(5, rounds // 3)
        for dtype in (np.float32, np.float64):
            for name in BYTES:
                med = alternating_medians(
                    {b: public_call(b, name, n, dtype) for b in ("cython", "numba")}, n, r)
                ratio = med["cython"] / med["numba"]
                worst = max(worst, ratio)

                def fmt(t):
                    return f"{t * 1e6:.2f} us" if t < 1e-3 else f"{t * 1e3:.2f} ms"

                print(f"| {n:,} | {np.dtype(dtype).name} | {name} | {fmt(med['cython'])} "
                      f"| {fmt(med['numba'])} | {ratio:.2f} |", flush=True)
    print(f"\nworst cython / numba: {worst:.2f}\n")


def torch_call(name, n):
    import torch

    cls, kw = TORCH[name]
    p = torch.nn.Parameter(torch.randn(n, dtype=torch.float32))
    p.grad = torch.randn(n, dtype=torch.float32)
    fused = cls in ("Adam", "AdamW", "SGD", "Adagrad")
    try:
        opt = getattr(torch.optim, cls)([p], fused=fused, **kw)
        opt.step()
    except (RuntimeError, TypeError, ValueError):
        fused = False
        opt = getattr(torch.optim, cls)([p], foreach=True, **kw)
    return opt.step, fused


def bandwidth():
    try:
        from bandwidth import read_bandwidth

        return read_bandwidth(), "read (bench/bandwidth.py)"
    except ImportError:  # pragma: no cover - the helper module ships with bench/
        a = np.ones(2**26)
        b = np.empty_like(a)
        t = best_time(lambda: np.copyto(b, a), 5)
        return 2 * a.nbytes / t, "copy"


def loop_overhead(iters=20_000, m=1000, n=10, repeats=5, include_tiny=True, backend="numba"):
    """Per-iteration time of the compiled gd loop minus that of the gradient alone.

    The gradient's cost depends on the point (exp and log1p are fastest at z = 0), so the
    run starts away from 0 and the baseline is the compiled gradient loop (the loop
    module's ``gradient_loop``, of the same ``backend``) at the run's first and last
    iterates.
    """
    from fastopt.solvers.compiled_loop import loop_module

    gradient_loop = loop_module(backend).gradient_loop

    rng = np.random.default_rng(0)
    X = rng.standard_normal((m, n))
    y = np.where(X @ rng.standard_normal(n) + rng.standard_normal(m) > 0, 1.0, -1.0)
    obj = fo.problems.Logistic(X, y, lam=1e-3, backend=backend)
    x0 = 0.1 * rng.standard_normal(n)
    g = np.empty(n)
    args = obj.kernel_arguments()

    def run(every):
        return lambda: fo.minimize(obj, x0, method="gd", lr=1e-2, tol=0.0, max_iter=iters,
                                   history_every=every)

    x_end = run(1)().x

    def grad_only():
        for w in (x0, x_end):
            gradient_loop(args.loss, args.data, args.y, args.sw, args.lam, args.work, w, g,
                          iters // 2)

    out = {}
    for every in (1, 100):
        res = run(every)()
        assert res.loop == "compiled"
        # Interleave the two timings so that load on the machine hits both alike.
        t_loop, t_grad = [], []
        for _ in range(repeats):
            t_grad.append(best_time(grad_only, 1, 0) / iters)
            t_loop.append(best_time(run(every), 1, 0) / iters)
        tl, tg = float(np.median(t_loop)), float(np.median(t_grad))
        out["gradient (us)"] = tg * 1e6
        out[f"loop, history every {every} (us)"] = tl * 1e6
        out[f"overhead, history every {every} (us)"] = (tl - tg) * 1e6
        out[f"loop / gradient alone, history every {every}"] = tl / tg
    if include_tiny:
        # The loop's own work depends on p, not m: with m = 2 rows the gradient is nearly
        # free, so this difference isolates the overhead from the noise of a long gradient.
        tiny = loop_overhead(iters * 5, m=2, n=n, repeats=repeats, include_tiny=False,
                             backend=backend)
        for every in (1, 100):
            out[f"overhead at m = 2, history every {every} (us)"] = \
                tiny[f"overhead, history every {every} (us)"]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10**7)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--sizes", type=int, nargs="*", default=[10**3, 10**4, 10**6, 10**7])
    ap.add_argument("--public-only", action="store_true",
                    help="only the cython / numba table through the public functions")
    args = ap.parse_args(argv)
    n = args.n
    if {"cython", "numba"} <= set(available_backends()):
        print(f"# Public fo.updates calls, cython / numba, {fo.get_num_threads()} threads\n")
        public_table(args.sizes)
    if args.public_only:
        return
    bw, bw_kind = bandwidth()
    backends = [b for b in ("numpy", "numba", "cython") if b in available_backends()]
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch = None
        torch_version = "not installed"
    print(f"# Fused updates, n = {n:,}, float32, {fo.get_num_threads()} threads, "
          f"torch {torch_version}, {bw_kind} bandwidth {bw / 1e9:.1f} GB/s\n")
    print("| update | numpy ref (ms) | numba (ms) | cython (ms) | torch (ms) | numba / ref "
          "| numba / torch | cython / torch | roofline numba | roofline cython |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in BYTES:
        t = {b: best_time(fused_call(get_backend(b), name, n), args.repeats) for b in backends}
        torch_t, fused = (None, False)
        if torch is not None:
            step, fused = torch_call(name, n)
            torch_t = best_time(step, args.repeats)
        roof = {b: BYTES[name] * n / t[b] / bw for b in t}

        def ms(v):
            return "-" if v is None else f"{v * 1e3:.2f}"

        def ratio(a, b):
            return "-" if a is None or b is None else f"{b / a:.2f}x"

        tlabel = ms(torch_t) + (" (fused)" if fused else "")
        print(f"| {name} | {ms(t.get('numpy'))} | {ms(t.get('numba'))} | {ms(t.get('cython'))} "
              f"| {tlabel} | {ratio(t.get('numba'), t.get('numpy'))} "
              f"| {ratio(t.get('numba'), torch_t)} | {ratio(t.get('cython'), torch_t)} "
              f"| {roof.get('numba', float('nan')):.0%} | {roof.get('cython', float('nan')):.0%} |")
    print("\n(x / y columns: how many times faster the first is; roofline: bytes moved / time "
          "/ bandwidth)\n")
    for backend in ("cython", "numba"):
        if backend not in available_backends():
            continue
        print(f"# Compiled loop ({backend}), Logistic m = 1000, n = 10, gd\n")
        print("| quantity | value |\n|---|---|")
        for k, v in loop_overhead(backend=backend).items():
            print(f"| {k} | {v:.3f} |")
        print()


if __name__ == "__main__":
    main()
