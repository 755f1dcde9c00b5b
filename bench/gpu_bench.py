"""GPU benchmark of the CUDA backend: roofline, peers, fused Adam, end-to-end fit.

Run on a machine with a CUDA GPU::

    PYTHONPATH=. python bench/gpu_bench.py              # full sizes (H100/H200 class GPU)
    PYTHONPATH=. python bench/gpu_bench.py --quick      # small sizes, a smoke run

Where no GPU is usable it says why and exits 0. Every peer is optional (CuPy, PyTorch
with CUDA); a missing one is reported, not fatal. What it measures, all in one run:

1. **copy bandwidth** of the device: a device-to-device copy kernel (float64 elements,
   grid-stride) and the driver's memcpy, median of ``--reps``; bytes = read + write.
2. **logistic loss+gradient**, m = 10^7, n = 100, float32 (``--m``, ``--n``): fastopt's
   one-pass kernel, timed back-to-back on the device (no host sync per call) and as the
   public call (which copies the loss back, one sync per call). Its *roofline fraction*
   is (bytes of one pass over X, y, sw) / time / copy bandwidth (target >= 0.60).
   Peers: CuPy (``X @ w``, the elementwise loss, ``X.T @ r``: two passes, cuBLAS) and
   PyTorch (the same in torch), on the same device buffers (no copy).
3. **fused Adam**, 10^8 float32 parameters (``--adam-params``): ``fastopt`` ``adam_`` vs
   ``torch.optim.Adam(fused=True)`` (target ratio >= 0.9), plus the effective bandwidth
   (4 reads + 3 writes per parameter).
4. **end-to-end logistic fit** (``--fit-m`` rows, ``--fit-iters`` Nesterov iterations,
   tol = 0 so both runs do the same iterations): ``Logistic(backend="cuda")`` + the
   device-resident loop vs the CPU ``numba`` backend (compiled loop), same data.

The result is a markdown table (stdout, and ``--out FILE`` when given).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import warnings


def _gpu_reason():
    """None if a real GPU is usable by fastopt's CUDA backend, else why not."""
    try:
        from fastopt.kernels.cuda import is_usable
    except Exception as exc:  # numba-cuda missing or broken
        return f"fastopt.kernels.cuda does not import: {type(exc).__name__}: {exc}"
    return is_usable()


def _parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--m", type=int, default=10_000_000, help="rows of the loss+grad benchmark")
    ap.add_argument("--n", type=int, default=100, help="columns of the loss+grad benchmark")
    ap.add_argument("--adam-params", type=int, default=100_000_000)
    ap.add_argument("--fit-m", type=int, default=1_000_000, help="rows of the end-to-end fit")
    ap.add_argument("--fit-n", type=int, default=100)
    ap.add_argument("--fit-iters", type=int, default=100)
    ap.add_argument("--reps", type=int, default=20, help="timed repetitions (median)")
    ap.add_argument("--copy-bytes", type=float, default=2e9, help="bytes of the copy test")
    ap.add_argument("--tpb", type=int, default=None, help="override THREADS_PER_BLOCK")
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--skip", default="", help="comma list of: copy,loss,peers,adam,fit")
    ap.add_argument("--out", default=None, help="also write the markdown table here")
    args = ap.parse_args(argv)
    if args.quick:
        args.m, args.adam_params, args.fit_m = 200_000, 1_000_000, 50_000
        args.fit_iters, args.reps, args.copy_bytes = 20, 5, 2e8
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    return args


# --- timing ---------------------------------------------------------------------------------


def _time_device(fn, reps, inner=1):
    """Median seconds per call of ``fn`` over ``reps`` samples of ``inner`` back-to-back calls.

    CUDA events bracket each sample, so the time is what the GPU spends (host overhead
    is hidden as long as it is shorter than the kernels, which is the point of measuring
    throughput). One warm-up sample first (compilation, caches).
    """
    from numba import cuda

    fn()
    cuda.synchronize()
    samples = []
    for _ in range(reps):
        start, end = cuda.event(), cuda.event()
        start.record()
        for _ in range(inner):
            fn()
        end.record()
        end.synchronize()
        samples.append(cuda.event_elapsed_time(start, end) / 1e3 / inner)
    return statistics.median(samples)


def _time_host(fn, reps):
    """Median wall seconds of ``fn`` (which must synchronize itself)."""
    fn()
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


# --- device data ----------------------------------------------------------------------------


def _kernels():
    import numba
    from numba import cuda

    @cuda.jit
    def fill_uniform(a, seed, lo, hi):
        # splitmix64 of the flat index: reproducible data generated on the device.
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        while i < a.shape[0]:
            x = numba.uint64(i) + numba.uint64(seed) * numba.uint64(0x9E3779B97F4A7C15)
            x = (x ^ (x >> numba.uint64(30))) * numba.uint64(0xBF58476D1CE4E5B9)
            x = (x ^ (x >> numba.uint64(27))) * numba.uint64(0x94D049BB133111EB)
            x = x ^ (x >> numba.uint64(31))
            u = float(x >> numba.uint64(11)) * (1.0 / 9007199254740992.0)
            a[i] = lo + (hi - lo) * u
            i += stride

    @cuda.jit
    def labels(z, noise, y):
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        while i < z.shape[0]:
            y[i] = 1.0 if z[i] + noise[i] > 0.0 else -1.0
            i += stride

    @cuda.jit
    def copy(a, b):
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        while i < a.shape[0]:
            b[i] = a[i]
            i += stride

    return fill_uniform, labels, copy


def _grid(size):
    from fastopt.kernels.cuda._device import sm_count

    return min(sm_count() * 32, max(1, (size + 255) // 256)), 256


def _make_problem(m, n, dtype, seed, ker):
    """Device X (m, n) uniform in [-1, 1], labels from a noisy linear model, sw = 1/m."""
    import numpy as np
    from numba import cuda

    import fastopt.kernels.cuda as ck

    fill, labels, _ = ker
    X = cuda.device_array((m, n), dtype=dtype)
    fill[_grid(m * n)](X.reshape(m * n), seed, -1.0, 1.0)
    w_true = np.random.default_rng(seed).standard_normal(n) / math.sqrt(n) * 3.0
    z = cuda.device_array(m, dtype=np.float64)
    ck.matvec(X, cuda.to_device(w_true), z)
    noise = cuda.device_array(m, dtype=np.float64)
    fill[_grid(m)](noise, seed + 1, -0.5, 0.5)
    y = cuda.device_array(m, dtype=np.float64)
    labels[_grid(m)](z, noise, y)
    sw = cuda.to_device(np.full(m, 1.0 / m))
    cuda.synchronize()
    return X, y, sw


# --- benchmarks -----------------------------------------------------------------------------


def bench_copy(args, ker, rows):
    import numpy as np
    from numba import cuda

    _, _, copy = ker
    count = int(args.copy_bytes // 8)
    a = cuda.device_array(count, dtype=np.float64)
    b = cuda.device_array(count, dtype=np.float64)
    fill = ker[0]
    fill[_grid(count)](a, 7, -1.0, 1.0)
    t_kernel = _time_device(lambda: copy[_grid(count)](a, b), args.reps)
    t_memcpy = _time_device(lambda: b.copy_to_device(a), args.reps)
    bw_kernel = 2 * 8 * count / t_kernel
    bw_memcpy = 2 * 8 * count / t_memcpy
    rows.append(("copy bandwidth, kernel (read+write)", f"{bw_kernel / 1e9:.0f} GB/s",
                 f"{t_kernel * 1e3:.3f} ms", ""))
    rows.append(("copy bandwidth, driver memcpy", f"{bw_memcpy / 1e9:.0f} GB/s",
                 f"{t_memcpy * 1e3:.3f} ms", ""))
    return bw_kernel


def bench_loss(args, ker, rows, bandwidth):
    import numpy as np
    from numba import cuda

    import fastopt.kernels.cuda as ck
    from fastopt.kernels.cuda import _rowwise
    from fastopt.kernels.cuda._device import dummy, finalize
    from fastopt.kernels.losses import LOGISTIC

    m, n = args.m, args.n
    X, y, sw = _make_problem(m, n, np.float32, 1, ker)
    w = cuda.to_device(np.random.default_rng(2).standard_normal(n) * 0.1)
    g = cuda.device_array(n, dtype=np.float64)
    work = ck.cuda_work(m, n)
    lam = 1e-4

    def device_only():
        _rowwise.launch_dense(_rowwise.mode(_rowwise.GRAD, LOGISTIC), X, y, sw, w, dummy(),
                              dummy(), None, 1.0, False, work)
        finalize(work, g, vec=w, n_reg=n, lam_vec=lam, wsq=w, n_sq=n, lam_sq=lam)

    t_dev = _time_device(device_only, args.reps, inner=5)
    t_call = _time_host(lambda: ck.linear_loss_grad(LOGISTIC, X, y, sw, w, lam, g, work), args.reps)
    one_pass = m * n * 4 + m * 16  # X float32, y and sw float64
    frac = one_pass / t_dev / bandwidth if bandwidth else math.nan
    rows.append((f"logistic loss+grad m={m:.0e} n={n} f32, fastopt (device)",
                 f"{one_pass / t_dev / 1e9:.0f} GB/s", f"{t_dev * 1e3:.3f} ms",
                 f"roofline fraction {frac:.2f} (target >= 0.60)"))
    rows.append(("  same, public call (loss copied back, one sync per call)",
                 f"{one_pass / t_call / 1e9:.0f} GB/s", f"{t_call * 1e3:.3f} ms", ""))
    f_fastopt = ck.linear_loss_grad(LOGISTIC, X, y, sw, w, lam, g, work)
    g_host = g.copy_to_host()
    if "peers" not in args.skip:
        _bench_loss_peers(args, X, y, sw, w, lam, f_fastopt, g_host, t_dev, rows)


def _bench_loss_peers(args, X, y, sw, w, lam, f_ref, g_ref, t_fastopt, rows):
    import numpy as np

    try:
        import cupy as cp
    except Exception as exc:
        rows.append(("  CuPy reference", "not run", "", f"cupy unavailable ({exc})"))
    else:
        Xc = cp.asarray(X)  # __cuda_array_interface__: no copy
        yc, swc = cp.asarray(y), cp.asarray(sw)
        wc = cp.asarray(w).astype(cp.float32)

        def cupy_loss_grad():
            z = (Xc @ wc).astype(cp.float64)
            t = -yc * z
            loss = float(cp.sum(swc * cp.logaddexp(0.0, t))) + 0.5 * lam * float(wc @ wc)
            r = (-swc * yc / (1.0 + cp.exp(-t))).astype(cp.float32)
            return loss, Xc.T @ r + lam * wc

        t = _time_host(lambda: cupy_loss_grad()[1].get(), args.reps)
        loss, grad = cupy_loss_grad()
        err = float(np.max(np.abs(grad.get() - g_ref)))
        rows.append(("  CuPy reference (2 cuBLAS passes)", f"{t * 1e3:.3f} ms",
                     f"fastopt speed-up {t / t_fastopt:.2f}x",
                     f"|df| {abs(loss - f_ref):.1e}, max|dg| {err:.1e}"))
    try:
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("torch has no CUDA device")
    except Exception as exc:
        rows.append(("  PyTorch reference", "not run", "", f"torch unavailable ({exc})"))
        return
    Xt = torch.as_tensor(X, device="cuda")  # zero-copy via __cuda_array_interface__
    yt, swt = torch.as_tensor(y, device="cuda"), torch.as_tensor(sw, device="cuda")
    wt = torch.as_tensor(w, device="cuda").float()

    def torch_loss_grad():
        z = (Xt @ wt).double()
        t = -yt * z
        loss = (swt * torch.nn.functional.softplus(t)).sum() + 0.5 * lam * (wt @ wt)
        r = (-swt * yt * torch.sigmoid(t)).float()
        return loss, Xt.T @ r + lam * wt

    def run():
        loss, grad = torch_loss_grad()
        loss.item()

    t = _time_host(run, args.reps)
    loss, grad = torch_loss_grad()
    err = float((grad.double().cpu().numpy() - g_ref).__abs__().max())
    rows.append(("  PyTorch reference (2 passes)", f"{t * 1e3:.3f} ms",
                 f"fastopt speed-up {t / t_fastopt:.2f}x",
                 f"|df| {abs(float(loss) - f_ref):.1e}, max|dg| {err:.1e}"))


def bench_adam(args, ker, rows):
    import numpy as np
    from numba import cuda

    import fastopt.kernels.cuda as ck

    p = args.adam_params
    fill = ker[0]
    x, g = cuda.device_array(p, np.float32), cuda.device_array(p, np.float32)
    m, v = cuda.device_array(p, np.float32), cuda.device_array(p, np.float32)
    fill[_grid(p)](x, 3, -1.0, 1.0)
    fill[_grid(p)](g, 4, -1.0, 1.0)
    fill[_grid(p)](m, 5, 0.0, 0.0)
    fill[_grid(p)](v, 5, 0.0, 0.0)
    no_amsgrad = np.empty(0, np.float32)
    step = [0]

    def fastopt_step():
        step[0] += 1
        ck.adam_(x, m, v, g, step[0], 1e-3, 0.9, 0.999, 1e-8, no_amsgrad)

    t_fo = _time_device(fastopt_step, args.reps, inner=10)
    bw = 28 * p / t_fo
    rows.append((f"fused Adam p={p:.0e} f32, fastopt adam_", f"{bw / 1e9:.0f} GB/s",
                 f"{t_fo * 1e3:.3f} ms", ""))
    try:
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("torch has no CUDA device")
    except Exception as exc:
        rows.append(("  torch.optim.Adam(fused=True)", "not run", "", f"unavailable ({exc})"))
        return
    param = torch.nn.Parameter(torch.rand(p, device="cuda"))
    param.grad = torch.rand(p, device="cuda")
    opt = torch.optim.Adam([param], lr=1e-3, fused=True)
    t_torch = _time_device(opt.step, args.reps, inner=10)
    rows.append(("  torch.optim.Adam(fused=True)", f"{28 * p / t_torch / 1e9:.0f} GB/s",
                 f"{t_torch * 1e3:.3f} ms",
                 f"fastopt/torch speed {t_torch / t_fo:.2f} (target >= 0.90)"))


def bench_fit(args, ker, rows):
    import numpy as np

    import fastopt as fo

    m, n = args.fit_m, args.fit_n
    Xd, yd, _ = _make_problem(m, n, np.float32, 11, ker)
    X, y = Xd.copy_to_host(), yd.copy_to_host()
    del Xd
    opts = dict(method="nesterov", tol=0.0, max_iter=args.fit_iters, history_every=10)

    t0 = time.perf_counter()
    obj_gpu = fo.problems.Logistic(X, y, lam=1e-4, backend="cuda")
    L = obj_gpu.lipschitz()
    t_setup_gpu = time.perf_counter() - t0
    t0 = time.perf_counter()
    res_gpu = fo.minimize(obj_gpu, np.zeros(n), lr=1.0 / L, **opts)
    t_gpu = time.perf_counter() - t0

    t0 = time.perf_counter()
    obj_cpu = fo.problems.Logistic(X, y, lam=1e-4, backend="numba")
    obj_cpu.lipschitz()
    t_setup_cpu = time.perf_counter() - t0
    res_cpu = fo.minimize(obj_cpu, np.zeros(n), lr=1.0 / L, **opts)  # warm-up (compilation)
    t0 = time.perf_counter()
    res_cpu = fo.minimize(obj_cpu, np.zeros(n), lr=1.0 / L, **opts)
    t_cpu = time.perf_counter() - t0
    rows.append((f"end-to-end fit m={m:.0e} n={n} f32, {args.fit_iters} nesterov its, GPU",
                 f"{t_gpu:.3f} s", f"setup {t_setup_gpu:.2f} s (copy + L)",
                 f"loop={res_gpu.get('loop')}, f={res_gpu.fun:.10g}"))
    rows.append(("  same on the CPU (numba backend, compiled loop)", f"{t_cpu:.3f} s",
                 f"setup {t_setup_cpu:.2f} s",
                 f"loop={res_cpu.get('loop')}, f={res_cpu.fun:.10g}; GPU speed-up "
                 f"{t_cpu / t_gpu:.1f}x, max|dx| "
                 f"{float(np.max(np.abs(res_gpu.x - res_cpu.x))):.1e}"))


def _table(rows, header):
    lines = [f"| {' | '.join(header)} |", "|" + "---|" * len(header)]
    lines += [f"| {' | '.join(str(c) for c in r)} |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    reason = _gpu_reason()
    if reason is not None:
        print(f"gpu_bench: no usable GPU, nothing to measure ({reason}).")
        return 0
    warnings.filterwarnings("ignore", module="numba")
    from numba import cuda

    from fastopt import _config

    if args.tpb:
        _config.THREADS_PER_BLOCK = args.tpb
    dev = cuda.get_current_device()
    name = dev.name.decode() if isinstance(dev.name, bytes) else dev.name
    ker = _kernels()
    rows = []
    bandwidth = None
    if "copy" not in args.skip:
        bandwidth = bench_copy(args, ker, rows)
    if "loss" not in args.skip:
        bench_loss(args, ker, rows, bandwidth)
    if "adam" not in args.skip:
        bench_adam(args, ker, rows)
    if "fit" not in args.skip:
        bench_fit(args, ker, rows)
    text = (f"## fastopt CUDA backend on {name} (THREADS_PER_BLOCK="
            f"{_config.THREADS_PER_BLOCK})\n\n" + _table(rows, ("case", "rate", "time", "notes")))
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
