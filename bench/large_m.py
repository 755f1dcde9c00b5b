"""Benchmark: logistic regression on data larger than one process holds, in one run.

**1. Dask** (dense 10^6 x 100 float64 in 8 row chunks; ``--big`` adds 10^7 x 100
float32): a ``distributed.LocalCluster(n_workers=2, threads_per_worker=1,
processes=True)`` on loopback, L2 logistic regression, no intercept, lam = 1e-4,
x0 = 0. The chunks are generated on the workers (one task per chunk, a seed per chunk),
so the driver never holds X for the Dask fits; the in-memory comparison computes the
same array once in the driver. Every solver must reach f - f* <= 1e-10 max(1, |f*|),
f* being fastopt's in-memory Newton optimum (||grad f|| <= 1e-13), f being fastopt's
objective evaluated at each solver's answer:

* fastopt lbfgs, newton, newton-cg on the Dask arrays (passes on the workers), stopping
  on ||grad f|| <= sqrt(2 lam gap), tightened 10x up to three times when the gap is
  missed; the same three on the array in memory (2 kernel threads);
* dask-glm's ``lbfgs`` (``regularizer="l2"``, ``lamduh = lam m``: dask-glm minimizes
  sum_i loss_i + lamduh ||w||^2 / 2, which is m times fastopt's mean loss + lam ||w||^2 / 2;
  ``normalize=False``, y in {0, 1}), its gradient tolerance (``pgtol`` on the summed
  gradient) starting at m sqrt(2 lam gap) and tightened like fastopt's. dask-glm does not
  pass ``factr`` to scipy, whose default (1e7) stops on a relative decrease of 2.2e-9
  per iteration, before the gap: the run gives scipy ``factr=10`` (its own stopping rule
  otherwise unchanged);
* dask-glm's ``newton``, which takes no regularizer: it solves lam = 0 and cannot reach
  the gap of the regularized problem. It is reported with its gap and its time per pass,
  and left out of the speed-up ratio (which then uses the fastest dask-glm solver that
  reached the gap, and is also given against the fastest one at all).

Reported per solver: time (median of ``--repeat`` fits of the first tolerance that
meets the gap), iterations, round trips (dask-glm) and passes over X, time per pass.
fastopt counts a fused loss+gradient as one pass; dask-glm's L-BFGS reads X twice per
evaluation (X w, then X^T r) and its Newton three times per iteration (X w, X^T D X,
X^T r), one round trip each. Targets: fastest fastopt on Dask **>= 10x** faster than the
fastest dask-glm solver; fastopt on Dask **<= 1.5x** the time of fastopt in memory.

**Per-pass times with 1 and 2 workers** (what ``docs/large_m.md`` checks its model
against): the median time of one loss+gradient pass and one Hessian-vector pass on the
Dask arrays, with ``LocalCluster(n_workers=N, threads_per_worker=1)``, N in
``--workers``; an empty round trip (a fastopt pass over 8 chunks of 4 rows) for the fixed
cost of a pass; and the in-memory pass in the driver.

**2. Out of core, one process**: a float32 ``.npy`` (``--ooc-gb``, default 6 GB, 100
columns) fitted in a child process whose address space is capped with
``resource.setrlimit(RLIMIT_AS)`` (``--cap-gb``, default 3). A probe child first
measures what importing fastopt and a small threaded fit take (VmPeak); if the cap
does not leave 1 GB above that, the cap is raised and the output says so. The fit child
reports the time of one f+grad pass (median), an L-BFGS fit's time per pass, and its
peak RSS (``ru_maxrss``); against reading the same file alone in the same child (a
sequential ``readinto`` into one reused buffer) and ``cat file > /dev/null``.
Target: pass speed **>= 0.8** of the read speed; peak RSS **< 1 GB** (stated for a
10 GB file: ``--ooc-gb 10``). The machine's page cache holds a file this size after it
is written, so the run measures both: *cached* (as written) and *cold* (the file's pages
evicted with ``posix_fadvise(DONTNEED)`` before every timed pass and read; the fit
itself then runs from whatever the cache holds after its first pass). The fraction of
the file in the cache before each measurement is printed.

**3. From the page cache vs in memory**: the same L-BFGS fit (and single passes) on a
cached ``.npy`` (``--cache-gb``, default 2 GB float32) read through the block source,
against the same array loaded into memory, alternating, medians. Target **<= 1.3x**.

``--quick`` (or ``FASTOPT_BENCH_QUICK=1``) shrinks everything so the script runs in
seconds; the figures are then meaningless. Modules not yet present (the Dask data of
``fastopt.problems.chunked.dask_data``, the ``.npy`` source behind
``fastopt.chunked.open``) are reported as skipped rows. ``--json PATH`` writes every
figure.

Usage::

    NUMBA_NUM_THREADS=2 PYTHONPATH=. python bench/large_m.py [--repeat 3] [--big]
        [--ooc-gb 6] [--cap-gb 3] [--cache-gb 2] [--workers 1,2] [--json out.json]
        [--dir /tmp/fastopt_large_m] [--keep] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib.util
import json
import math
import mmap
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _data import cpu_model  # noqa: E402

GAP = 1e-10
LAM = 1e-4
SEED = 0
#: scipy's ``factr`` given to dask-glm's L-BFGS (see the module docstring).
FACTR = 10.0
#: Pause before each timed fit, seconds.
SETTLE_S = 0.3
HERE = os.path.dirname(os.path.abspath(__file__))


class Missing(RuntimeError):
    """A module this run needs is not (yet) in the package."""


# ---------------------------------------------------------------- machine


def machine() -> dict:
    mem = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    cpu = cpu_model()
    import fastopt as fo
    from fastopt.kernels import auto_backend

    info = {"cpu": cpu, "cores": os.cpu_count(),
            "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else None,
            "ram_gib": round(mem / 2**30, 1), "python": platform.python_version(),
            "fastopt": getattr(fo, "__version__", "?"), "backend": auto_backend(),
            "kernel_threads": fo.get_num_threads(),
            "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS")}
    for mod in ("dask", "distributed", "dask_glm"):
        with contextlib.suppress(Exception):
            info[mod] = __import__(mod).__version__
    return info


def have(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def have_dask_data() -> bool:
    return have("fastopt.problems.chunked.dask_data")


def open_npy(path, block_rows=None):
    """The ``.npy`` block source: ``fastopt.chunked.open``, else ``NpyFile`` directly."""
    if have("fastopt.chunked"):
        from fastopt import chunked

        if hasattr(chunked, "open"):
            return chunked.open(path, block_rows=block_rows)
    if have("fastopt.problems.chunked.npy"):
        from fastopt.problems.chunked.npy import NpyFile

        return NpyFile(path, block_rows=block_rows)
    raise Missing("no .npy block source (fastopt.chunked.open / "
                  "fastopt.problems.chunked.npy.NpyFile)")


# ---------------------------------------------------------------- data


def planted_w(n: int) -> np.ndarray:
    return np.random.default_rng([SEED, 2**31]).standard_normal(n) / math.sqrt(n)


def block(b: int, rows: int, n: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Rows of block b: standard normal X (in ``dtype``), y = sign(X w + 0.5 noise) in
    {-1, 1} for the planted w. Depends only on (b, rows, n, dtype): every producer (Dask
    worker, driver, file writer) makes the same numbers."""
    rng = np.random.default_rng([SEED, b])
    X = rng.standard_normal((rows, n), dtype=np.dtype(dtype).type)
    z = X @ planted_w(n).astype(X.dtype) + 0.5 * rng.standard_normal(rows)
    return X, np.where(z > 0, 1.0, -1.0)


def split(m: int, chunks: int) -> list[int]:
    base, extra = divmod(m, chunks)
    return [base + (i < extra) for i in range(chunks)]


def dask_problem(m: int, n: int, chunks: int, dtype):
    """(X, y) as dask arrays of ``chunks`` row chunks, each made by one task on a worker."""
    import dask
    import dask.array as da

    xs, ys = [], []
    for b, rows in enumerate(split(m, chunks)):
        d = dask.delayed(block, pure=True, nout=2)(b, rows, n, np.dtype(dtype).name)
        xs.append(da.from_delayed(d[0], (rows, n), dtype=dtype))
        ys.append(da.from_delayed(d[1], (rows,), dtype=np.float64))
    return da.concatenate(xs), da.concatenate(ys)


def write_npy(path: str, m: int, n: int, block_rows: int, dtype=np.float32) -> None:
    """X (m x n, ``dtype``) written block by block as a ``.npy``; y beside it
    (``<path>.y.npy``, float64). Blocks of ``block_rows`` rows, made by :func:`block`."""
    ys = []
    with open(path + ".tmp", "wb") as f:
        np.lib.format.write_array_header_2_0(
            f, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                "fortran_order": False, "shape": (m, n)})
        for b, rows in enumerate(split(m, -(-m // block_rows))):
            X, y = block(b, rows, n, dtype)
            f.write(memoryview(np.ascontiguousarray(X)).cast("B"))
            ys.append(y)
    np.save(path + ".y.npy", np.concatenate(ys))
    os.replace(path + ".tmp", path)


def ensure_npy(path: str, m: int, n: int, block_rows: int) -> float:
    """Write the file unless the same one is there; seconds spent writing (0 if reused)."""
    meta = {"m": m, "n": n, "block_rows": block_rows, "seed": SEED, "dtype": "float32"}
    side = path + ".json"
    if os.path.exists(path) and os.path.exists(side):
        with open(side) as f, contextlib.suppress(ValueError):
            if json.load(f) == meta:
                return 0.0
    t0 = time.perf_counter()
    write_npy(path, m, n, block_rows)
    with open(side, "w") as f:
        json.dump(meta, f)
    return time.perf_counter() - t0


def evict(path: str) -> None:
    """Drop the file's clean pages from the page cache (no root needed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def cached_fraction(path: str) -> float:
    """Fraction of the file's pages in the page cache (mincore), nan if unknown."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        size = os.path.getsize(path)
        page = mmap.PAGESIZE
        window = 1 << 30
        resident = total = 0
        with open(path, "rb") as f:
            for off in range(0, size, window):
                length = min(window, size - off)
                mm = mmap.mmap(f.fileno(), length, access=mmap.ACCESS_COPY, offset=off)
                try:
                    buf = (ctypes.c_char * length).from_buffer(mm)
                    npages = -(-length // page)
                    vec = (ctypes.c_ubyte * npages)()
                    if libc.mincore(ctypes.c_void_p(ctypes.addressof(buf)),
                                    ctypes.c_size_t(length), vec) != 0:
                        return float("nan")
                    resident += sum(v & 1 for v in vec)
                    total += npages
                    del buf
                finally:
                    mm.close()
        return resident / total if total else float("nan")
    except Exception:  # noqa: BLE001 - diagnostics only
        return float("nan")


# ---------------------------------------------------------------- timing helpers


def median_time(call, k: int) -> float:
    t = []
    for _ in range(k):
        t0 = time.perf_counter()
        call()
        t.append(time.perf_counter() - t0)
    return statistics.median(t)


def with_retries(fit, f_of, fstar, tol, repeat):
    """Fit with tol, tightened 10x up to three times until f - f* <= GAP max(1, |f*|);
    the fit that meets it runs ``repeat`` times in all, median time. Returns a dict."""
    for _ in range(4):
        time.sleep(SETTLE_S)
        out = fit(tol)
        gap = f_of(out["x"]) - fstar
        if gap <= GAP * max(1.0, abs(fstar)):
            times = [out["time"]]
            for _ in range(repeat - 1):
                time.sleep(SETTLE_S)
                times.append(fit(tol)["time"])
            out.update(time=statistics.median(times), gap=gap, tol=tol, reached=True)
            del out["x"]
            return out
        tol *= 0.1
    out.update(gap=gap, tol=tol * 10, reached=False)
    del out["x"]
    return out


def fastopt_fit(obj, method, tol):
    import fastopt as fo

    obj.reset_counters()
    t0 = time.perf_counter()
    res = fo.minimize(obj, np.zeros(obj.n_params), method=method, tol=tol, max_iter=10_000)
    elapsed = time.perf_counter() - t0
    passes = res.get("n_passes") or obj.n_passes
    return {"time": elapsed, "x": res.x, "nit": int(res.nit), "passes": int(passes),
            "round_trips": int(passes)}


@contextlib.contextmanager
def counted_daskglm():
    """dask-glm with counters: evaluations of its L-BFGS (scipy with ``factr=FACTR``) and
    ``compute`` calls of its Newton (one round trip per iteration)."""
    import scipy.optimize
    from dask_glm import algorithms

    count = {"n": 0}
    orig_fmin, orig_da = algorithms.fmin_l_bfgs_b, algorithms.da

    def fmin(func, x0, **kw):
        def counted(*a):
            count["n"] += 1
            return func(*a)
        kw["factr"] = FACTR
        kw.setdefault("maxfun", 100_000)
        return scipy.optimize.fmin_l_bfgs_b(counted, x0, **kw)

    class CountingDa:
        def __getattr__(self, name):
            return getattr(orig_da, name)

        def compute(self, *a, **kw):
            count["n"] += 1
            return orig_da.compute(*a, **kw)

    algorithms.fmin_l_bfgs_b, algorithms.da = fmin, CountingDa()
    try:
        yield count
    finally:
        algorithms.fmin_l_bfgs_b, algorithms.da = orig_fmin, orig_da


def daskglm_fit(solver, Xd, y01, m, tol):
    from dask_glm import algorithms, families

    with counted_daskglm() as count:
        t0 = time.perf_counter()
        if solver == "lbfgs":
            beta = algorithms.lbfgs(Xd, y01, regularizer="l2", lamduh=LAM * m, tol=tol,
                                    max_iter=10_000, family=families.Logistic,
                                    normalize=False)
            reads = 2
        else:
            beta = algorithms.newton(Xd, y01, tol=tol, max_iter=100,
                                     family=families.Logistic, normalize=False)
            reads = 3
        elapsed = time.perf_counter() - t0
    trips = count["n"]
    return {"time": elapsed, "x": np.asarray(beta, dtype=np.float64).ravel(),
            "nit": trips if solver == "newton" else None, "round_trips": trips,
            "passes": reads * trips}


# ---------------------------------------------------------------- 1. Dask


CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def set_worker_threads(client, t: int) -> None:
    """The kernels' thread count in every worker process."""
    client.run(lambda: __import__("fastopt").set_num_threads(t))
    got = set(client.run(lambda: __import__("fastopt").get_num_threads()).values())
    assert got == {t}, got


def start_cluster(n_workers: int):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=":0")
    return cluster, Client(cluster)


def pass_times(obj, n: int, k: int) -> dict:
    """Median seconds of one loss+grad and one HVP pass on ``obj`` (one warm-up each)."""
    w = 0.01 * planted_w(n)
    v = np.ones(n) / math.sqrt(n)
    obj.loss_grad(w)
    obj.hvp(w, v)
    return {"loss_grad_s": median_time(lambda: obj.loss_grad(w), k),
            "hvp_s": median_time(lambda: obj.hvp(w, v), k)}


def empty_round_trip(client, chunks: int, n: int, k: int) -> float:
    """A fastopt f+grad pass over ``chunks`` blocks of 4 rows: the fixed cost of a pass
    on the cluster (one call per worker and the sums), nearly no arithmetic."""
    import dask.array as da

    import fastopt as fo

    X = client.persist(da.ones((4 * chunks, n), chunks=(4, n)))
    y = np.arange(4 * chunks) % 2
    obj = fo.problems.Logistic(X, y, lam=LAM)
    w = np.zeros(n)
    obj.loss_grad(w)
    return median_time(lambda: obj.loss_grad(w), k)


def dask_section(m, n, chunks, dtype, workers, repeat, k, log, worker_threads=None) -> dict:
    import fastopt as fo

    name = f"dense {m}x{n} {np.dtype(dtype).name}, {chunks} chunks"
    out = {"problem": name, "m": m, "n": n, "chunks": chunks, "dtype": np.dtype(dtype).name,
           "lam": LAM, "per_pass": [], "fits": [], "skipped": []}
    dask_ok = have_dask_data()
    glm_ok = have("dask_glm")
    if not dask_ok:
        out["skipped"].append("fastopt on Dask: fastopt.problems.chunked.dask_data is "
                              "missing")
    if not glm_ok:
        out["skipped"].append("dask-glm: not installed (pip install dask-glm)")
    if not have("distributed"):
        out["skipped"].append("the whole Dask section: distributed is not installed")
        return out

    # warm the driver's kernels (compilation excluded from every timing)
    Xw, yw = block(0, 2000, n, dtype)
    for method in ("lbfgs", "newton", "newton-cg"):
        fo.minimize(fo.problems.Logistic(Xw, yw, lam=LAM), np.zeros(n), method=method,
                    tol=1e-8, max_iter=200)

    X = y = None
    for nw in sorted(set(workers)):
        log(f"  LocalCluster({nw} workers) ...")
        cluster, client = start_cluster(nw)
        try:
            Xd, yd = dask_problem(m, n, chunks, dtype)
            Xd, yd = client.persist([Xd, yd])
            from distributed import wait

            wait([Xd, yd])
            trip = empty_round_trip(client, chunks, n, k)
            obj_d = fo.problems.Logistic(Xd, yd, lam=LAM) if dask_ok else None
            # kernel threads per worker: 1 (one core per worker) and the machine's share
            for t in sorted({1, max(1, CORES // nw)}):
                set_worker_threads(client, t)
                row = {"workers": nw, "worker_kernel_threads": t,
                       "empty_round_trip_s": trip}
                if obj_d is not None:
                    row.update(pass_times(obj_d, n, k))
                out["per_pass"].append(row)
            fit_threads = worker_threads or max(1, CORES // nw)
            set_worker_threads(client, fit_threads)
            out["fit_worker_kernel_threads"] = fit_threads
            if X is None:
                X, y = client.compute([Xd, yd], sync=True)
                # a fresh, aligned copy (arrays deserialized from the workers may not be)
                X, y = np.array(X, order="C", copy=True), np.array(y, copy=True)
                obj_m = fo.problems.Logistic(X, y, lam=LAM)
                res = fo.minimize(obj_m, np.zeros(n), method="newton", tol=1e-13,
                                  max_iter=1000)
                fstar = float(res.fun)
                out["fstar"] = fstar
                tol0 = math.sqrt(2.0 * LAM * GAP * max(1.0, abs(fstar)))
                ref = fo.problems.Logistic(X, y, lam=LAM)
            if nw != max(workers):
                continue
            # the fits, on the largest cluster
            if dask_ok:
                for method in ("lbfgs", "newton", "newton-cg"):
                    log(f"  fastopt {method} on Dask ...")
                    r = with_retries(lambda t, mm=method, o=obj_d: fastopt_fit(o, mm, t),
                                     ref.value, fstar, tol0, repeat)
                    out["fits"].append({"solver": f"fastopt {method}", "where": "dask",
                                        **r})
            if glm_ok:
                y01 = client.persist((yd > 0).astype(np.float64))
                for solver in ("lbfgs", "newton"):
                    log(f"  dask-glm {solver} ...")
                    if solver == "lbfgs":
                        r = with_retries(lambda t, a=Xd, b=y01: daskglm_fit("lbfgs", a, b, m, t),
                                         ref.value, fstar, m * tol0, repeat)
                    else:  # lam = 0 only: tightening its tolerance cannot help
                        runs = [daskglm_fit("newton", Xd, y01, m, 1e-8)
                                for _ in range(repeat)]
                        r = runs[0]
                        r.update(time=statistics.median(x["time"] for x in runs),
                                 gap=ref.value(r.pop("x")) - fstar, tol=1e-8,
                                 reached=False, note="no regularizer: solves lam = 0")
                        r["reached"] = r["gap"] <= GAP * max(1.0, abs(fstar))
                    out["fits"].append({"solver": f"dask-glm {solver}", "where": "dask",
                                        **r})
        finally:
            client.close()
            cluster.close()

    # in memory, in the driver, the cluster gone
    obj_m = fo.problems.Logistic(X, y, lam=LAM)
    out["in_memory_pass"] = pass_times(obj_m, n, k)
    out["driver_threads"] = fo.get_num_threads()
    for method in ("lbfgs", "newton", "newton-cg"):
        log(f"  fastopt {method} in memory ...")
        r = with_retries(lambda t, mm=method: fastopt_fit(obj_m, mm, t), ref.value, fstar,
                         tol0, repeat)
        out["fits"].append({"solver": f"fastopt {method}", "where": "memory", **r})
    for f in out["fits"]:
        p = f.get("passes")
        f["time_per_pass"] = f["time"] / p if p else None
    out["ratios"] = dask_ratios(out["fits"])
    return out


def dask_ratios(fits) -> dict:
    def best(pred):
        c = [f for f in fits if pred(f)]
        return min(c, key=lambda f: f["time"]) if c else None

    fo_dask = best(lambda f: f["solver"].startswith("fastopt") and f["where"] == "dask"
                   and f["reached"])
    fo_mem = best(lambda f: f["solver"].startswith("fastopt") and f["where"] == "memory"
                  and f["reached"])
    glm = best(lambda f: f["solver"].startswith("dask-glm") and f["reached"])
    glm_any = best(lambda f: f["solver"].startswith("dask-glm"))
    r = {}
    if fo_dask and glm:
        r["daskglm_reached_over_fastopt_dask"] = glm["time"] / fo_dask["time"]
        r["vs"] = f"{glm['solver']} / {fo_dask['solver']}"
    if fo_dask and glm_any:
        r["daskglm_any_over_fastopt_dask"] = glm_any["time"] / fo_dask["time"]
        r["vs_any"] = f"{glm_any['solver']} / {fo_dask['solver']}"
    if fo_dask and fo_mem:
        r["fastopt_dask_over_memory"] = fo_dask["time"] / fo_mem["time"]
        r["vs_memory"] = f"{fo_dask['solver']} (dask) / {fo_mem['solver']} (memory)"
    return r


# ---------------------------------------------------------------- children (2 and 3)


def vm_status() -> dict:
    out = {}
    with contextlib.suppress(OSError), open("/proc/self/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmPeak", "VmSize", "VmHWM", "VmRSS"):
                out[key] = int(line.split()[1]) * 1024
    return out


def read_file_once(path: str, buf: memoryview) -> int:
    """A plain sequential read of the whole file into one reused buffer; bytes read."""
    total = 0
    with open(path, "rb", buffering=0) as f:
        while True:
            got = f.readinto(buf)
            if not got:
                return total
            total += got


def child_main(spec: dict) -> dict:
    """What runs in a child process (``--child JSON``): 'probe', 'ooc' or 'cache'."""
    mode = spec["mode"]
    import fastopt as fo

    out = {"mode": mode}
    if mode == "probe":
        Xw, yw = block(0, 20_000, 100, np.float32)
        fo.minimize(fo.problems.Logistic(Xw, yw, lam=LAM), np.zeros(100), method="lbfgs",
                    tol=1e-6)
        out.update(vm_status())
    elif mode == "ooc":
        path, k, cold = spec["path"], spec["k"], spec["cold"]
        y = np.load(path + ".y.npy")
        buf = memoryview(bytearray(spec["read_buffer"]))
        size = os.path.getsize(path)

        def prep():
            if cold:
                evict(path)

        reads, passes = [], []
        try:
            src = open_npy(path, spec.get("block_rows"))
            obj = fo.problems.Logistic(src, y, lam=LAM)
            n = src.shape[1]
            w = 0.01 * planted_w(n)
            obj.loss_grad(w)  # first pass validates the blocks; excluded
        except Missing as e:
            obj, out["skipped"] = None, str(e)
        for _ in range(k):  # alternate: read, pass
            prep()
            t0 = time.perf_counter()
            read_file_once(path, buf)
            reads.append(time.perf_counter() - t0)
            if obj is not None:
                prep()
                t0 = time.perf_counter()
                obj.loss_grad(w)
                passes.append(time.perf_counter() - t0)
        out.update(bytes=size, read_s=statistics.median(reads),
                   read_gbs=size / statistics.median(reads) / 1e9)
        if obj is not None:
            out.update(pass_s=statistics.median(passes),
                       pass_gbs=size / statistics.median(passes) / 1e9)
            prep()
            r = fastopt_fit(obj, "lbfgs", spec["fit_tol"])
            out.update(fit_s=r["time"], fit_passes=r["passes"], fit_nit=r["nit"],
                       fit_pass_s=r["time"] / max(1, r["passes"]),
                       fit_f=float(obj.value(r["x"])))
        out["maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out.update(vm_status())
    elif mode == "cache":
        path, k, repeat = spec["path"], spec["k"], spec["repeat"]
        y = np.load(path + ".y.npy")
        X = np.load(path)
        obj_m = fo.problems.Logistic(X, y, lam=LAM)
        try:
            src = open_npy(path, spec.get("block_rows"))
        except Missing as e:
            out["skipped"] = str(e)
            return out
        obj_c = fo.problems.Logistic(src, y, lam=LAM)
        n = X.shape[1]
        w = 0.01 * planted_w(n)
        obj_m.loss_grad(w)
        obj_c.loss_grad(w)
        pm, pc, fm, fc = [], [], [], []
        for _ in range(k):
            pm.append(median_time(lambda: obj_m.loss_grad(w), 1))
            pc.append(median_time(lambda: obj_c.loss_grad(w), 1))
        for _ in range(repeat):
            time.sleep(SETTLE_S)
            fm.append(fastopt_fit(obj_m, "lbfgs", spec["fit_tol"]))
            time.sleep(SETTLE_S)
            fc.append(fastopt_fit(obj_c, "lbfgs", spec["fit_tol"]))
        out.update(pass_memory_s=statistics.median(pm), pass_cached_s=statistics.median(pc),
                   fit_memory_s=statistics.median(f["time"] for f in fm),
                   fit_cached_s=statistics.median(f["time"] for f in fc),
                   passes_memory=fm[0]["passes"], passes_cached=fc[0]["passes"],
                   f_diff=abs(float(obj_m.value(fm[0]["x"])) - float(obj_m.value(fc[0]["x"]))))
    return out


def run_child(spec: dict, cap_bytes: int | None = None, timeout=3600) -> dict:
    def limit():
        if cap_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))

    env = dict(os.environ)
    root = os.path.dirname(HERE)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child",
                        json.dumps(spec)], capture_output=True, text=True,
                       preexec_fn=limit, env=env, timeout=timeout)
    last = p.stdout.strip().splitlines()[-1:] if p.stdout.strip() else []
    if p.returncode != 0 or not last:
        return {"error": f"child exited {p.returncode}: " + (p.stderr.strip()[-800:]
                                                             or p.stdout[-400:])}
    return json.loads(last[0])


def cat_time(path: str, k: int, cold: bool) -> float:
    t = []
    for _ in range(k):
        if cold:
            evict(path)
        t0 = time.perf_counter()
        with open(os.devnull, "wb") as null:
            subprocess.run(["cat", path], stdout=null, check=True)
        t.append(time.perf_counter() - t0)
    return statistics.median(t)


# ---------------------------------------------------------------- 2. and 3.


def ooc_section(args, workdir, log) -> dict:
    GB = 1e9
    n = 100
    out = {"skipped": []}
    log("  probe: import + a small threaded fit, uncapped ...")
    probe = run_child({"mode": "probe"})
    out["probe"] = probe
    cap = int(args.cap_gb * 2**30)
    need = probe.get("VmPeak", 0) + 2**30
    if need > cap:
        out["cap_note"] = (f"cap raised from {args.cap_gb:g} GiB: import + a threaded fit "
                           f"peaks at {probe.get('VmPeak', 0) / 2**30:.2f} GiB of address "
                           "space, plus 1 GiB")
        cap = int(math.ceil(need / 2**28) * 2**28)
    out["cap_bytes"] = cap
    file_gb = args.ooc_gb
    if not args.quick and file_gb * GB < 2 * cap:
        out["size_note"] = (f"file raised from {file_gb:g} GB to twice the cap")
        file_gb = 2 * cap / GB
    m = int(file_gb * GB / (4 * n))
    block_rows = 1 << 16
    path = os.path.join(workdir, f"ooc_{m}x{n}_f32.npy")
    log(f"  writing {m} x {n} float32 ({m * n * 4 / GB:.2f} GB) ...")
    out["write_s"] = ensure_npy(path, m, n, block_rows)
    out.update(path=path, m=m, n=n, file_bytes=os.path.getsize(path))
    k = 2 if args.quick else 3
    fit_tol = math.sqrt(2.0 * LAM * 1e-8)
    for label, cold in (("cached", False), ("cold", True)):
        frac = cached_fraction(path) if not cold else None
        if cold:
            evict(path)
            frac = cached_fraction(path)
        else:
            with open(path, "rb", buffering=0) as f:  # make sure it is all cached
                buf = memoryview(bytearray(1 << 24))
                while f.readinto(buf):
                    pass
            frac = cached_fraction(path)
        log(f"  out of core, {label} (cache holds {frac:.0%}) ...")
        spec = {"mode": "ooc", "path": path, "k": k, "cold": cold, "fit_tol": fit_tol,
                "read_buffer": 1 << 24, "block_rows": args.block_rows}
        r = run_child(spec, cap_bytes=cap)
        r["cached_fraction_before"] = frac
        r["cat_s"] = cat_time(path, k, cold)
        r["cat_gbs"] = out["file_bytes"] / r["cat_s"] / GB
        if "pass_s" in r:
            r["pass_over_read_speed"] = r["read_s"] / r["pass_s"]
            r["fit_pass_over_read_speed"] = r["read_s"] / r["fit_pass_s"]
        out[label] = r
    # 3. page cache vs memory
    mc = int((0.002 if args.quick else args.cache_gb) * GB / (4 * n))
    cpath = os.path.join(workdir, f"cache_{mc}x{n}_f32.npy")
    log(f"  writing {mc} x {n} float32 ({mc * n * 4 / GB:.2f} GB) for the cache run ...")
    ensure_npy(cpath, mc, n, block_rows)
    with open(cpath, "rb", buffering=0) as f:
        buf = memoryview(bytearray(1 << 24))
        while f.readinto(buf):
            pass
    log("  page cache vs memory ...")
    c = run_child({"mode": "cache", "path": cpath, "k": 2 * k, "repeat": args.repeat,
                   "fit_tol": fit_tol, "block_rows": args.block_rows})
    c.update(path=cpath, m=mc, n=n, file_bytes=os.path.getsize(cpath),
             cached_fraction_before=cached_fraction(cpath))
    if "fit_memory_s" in c:
        c["fit_ratio"] = c["fit_cached_s"] / c["fit_memory_s"]
        c["pass_ratio"] = c["pass_cached_s"] / c["pass_memory_s"]
    out["cache"] = c
    return out


# ---------------------------------------------------------------- report


def fmt(x, spec=".3f", none="-"):
    return none if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def print_dask(d) -> None:
    print(f"\n## 1. Dask: {d['problem']}, lam = {d['lam']:g}")
    for s in d["skipped"]:
        print(f"skipped: {s}")
    if "fstar" in d:
        print(f"f* = {d['fstar']:.15g} (fastopt newton in memory, ||grad|| <= 1e-13)")
    if d["per_pass"]:
        print("\n| workers | kernel threads per worker | loss+grad pass s | HVP pass s "
              "| empty round trip s |")
        print("|---:|---:|---:|---:|---:|")
        for r in d["per_pass"]:
            print(f"| {r['workers']} | {r['worker_kernel_threads']} "
                  f"| {fmt(r.get('loss_grad_s'), '.4f')} | {fmt(r.get('hvp_s'), '.4f')} "
                  f"| {fmt(r['empty_round_trip_s'], '.4f')} |")
        if "in_memory_pass" in d:
            p = d["in_memory_pass"]
            print(f"| in memory (driver) | {d['driver_threads']} | {p['loss_grad_s']:.4f} "
                  f"| {p['hvp_s']:.4f} | - |")
    if d["fits"]:
        if "fit_worker_kernel_threads" in d:
            print(f"\nfits on the {max(r['workers'] for r in d['per_pass'])}-worker cluster, "
                  f"{d['fit_worker_kernel_threads']} kernel thread(s) per worker; in memory "
                  f"{d['driver_threads']} thread(s)")
        print(f"\n| solver | data | time s | iterations | round trips | passes over X "
              f"| time per pass s | f - f* | tol | gap {GAP:g} reached |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for f in d["fits"]:
            note = f" ({f['note']})" if f.get("note") else ""
            print(f"| {f['solver']} | {f['where']} | {f['time']:.3f} | {fmt(f.get('nit'), 'd')} "
                  f"| {fmt(f.get('round_trips'), 'd')} | {fmt(f.get('passes'), 'd')} "
                  f"| {fmt(f.get('time_per_pass'), '.4f')} | {f['gap']:.1e} "
                  f"| {f['tol']:.0e} | {'yes' if f['reached'] else 'NO'}{note} |")
    r = d.get("ratios", {})
    if "daskglm_reached_over_fastopt_dask" in r:
        print(f"\nfastest dask-glm reaching the gap / fastest fastopt on Dask: "
              f"{r['daskglm_reached_over_fastopt_dask']:.1f}x ({r['vs']}); target >= 10")
    if "daskglm_any_over_fastopt_dask" in r:
        print(f"fastest dask-glm at all / fastest fastopt on Dask: "
              f"{r['daskglm_any_over_fastopt_dask']:.1f}x ({r['vs_any']})")
    if "fastopt_dask_over_memory" in r:
        print(f"fastopt on Dask / fastopt in memory: {r['fastopt_dask_over_memory']:.2f} "
              f"({r['vs_memory']}); target <= 1.5")


def print_ooc(o) -> None:
    print("\n## 2. Out of core, one process (float32 .npy)")
    for s in o["skipped"]:
        print(f"skipped: {s}")
    p = o["probe"]
    if "error" in p:
        print(f"probe failed: {p['error']}")
    else:
        print(f"probe (import fastopt + a threaded fit, uncapped): VmPeak "
              f"{p.get('VmPeak', 0) / 2**30:.2f} GiB, peak RSS {p.get('VmHWM', 0) / 2**20:.0f} MiB")
    for key in ("cap_note", "size_note"):
        if key in o:
            print(o[key])
    print(f"file {o['m']} x {o['n']} float32, {o['file_bytes'] / 1e9:.2f} GB; child capped "
          f"at RLIMIT_AS = {o['cap_bytes'] / 2**30:.2f} GiB "
          f"(file / cap = {o['file_bytes'] / o['cap_bytes']:.1f})")
    print("\n| page cache | cached before | read s (GB/s) | cat s (GB/s) | f+grad pass s "
          "(GB/s) | pass speed / read speed | lbfgs fit s, passes | fit s per pass "
          "| fit pass speed / read speed | child peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label in ("cached", "cold"):
        r = o.get(label)
        if r is None:
            continue
        if "error" in r:
            print(f"| {label} | child failed: {r['error'][-300:]} |")
            continue
        passes = (f"{r['pass_s']:.3f} ({r['pass_gbs']:.2f})" if "pass_s" in r
                  else "skipped")
        fit = f"{r['fit_s']:.2f}, {r['fit_passes']}" if "fit_s" in r else "-"
        print(f"| {label} | {fmt(r['cached_fraction_before'], '.0%')} "
              f"| {r['read_s']:.3f} ({r['read_gbs']:.2f}) | {r['cat_s']:.3f} "
              f"({r['cat_gbs']:.2f}) | {passes} | {fmt(r.get('pass_over_read_speed'), '.2f')} "
              f"| {fit} | {fmt(r.get('fit_pass_s'), '.3f')} "
              f"| {fmt(r.get('fit_pass_over_read_speed'), '.2f')} "
              f"| {r['maxrss'] / 2**20:.0f} |")
        if r.get("skipped"):
            print(f"skipped: {r['skipped']}")
    print("\ncold: pages evicted (posix_fadvise DONTNEED) before every timed read and pass; "
          "the lbfgs fit starts cold and runs from the cache after its first pass when the "
          "file fits in RAM. targets: pass speed / read speed >= 0.8; peak RSS < 1 GB "
          "for a 10 GB file")
    c = o["cache"]
    print(f"\n## 3. From the page cache vs in memory: {c['m']} x {c['n']} float32, "
          f"{c['file_bytes'] / 1e9:.2f} GB, cached before: "
          f"{fmt(c['cached_fraction_before'], '.0%')}")
    if "error" in c or "skipped" in c:
        print(f"child failed or skipped: {c.get('error', c.get('skipped'))[-400:]}")
        return
    print("\n| | in memory s | .npy from the page cache s | cached / memory |")
    print("|---|---:|---:|---:|")
    print(f"| f+grad pass | {c['pass_memory_s']:.4f} | {c['pass_cached_s']:.4f} "
          f"| {c['pass_ratio']:.2f} |")
    print(f"| lbfgs fit ({c['passes_memory']} / {c['passes_cached']} passes) "
          f"| {c['fit_memory_s']:.3f} | {c['fit_cached_s']:.3f} | {c['fit_ratio']:.2f} |")
    print(f"|f_memory - f_cached| at the answers: {c['f_diff']:.1e}; target cached / memory "
          "<= 1.3")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("FASTOPT_BENCH_QUICK") == "1",
                        help="tiny sizes (a smoke test, not a measurement)")
    parser.add_argument("--repeat", type=int, default=3, help="fits per solver (median)")
    parser.add_argument("--big", action="store_true",
                        help="also 10^7 x 100 float32 on Dask (about 4 GB on the workers "
                             "and 4 GB in the driver)")
    parser.add_argument("--workers", default="1,2",
                        help="worker counts of the per-pass table; fits on the largest")
    parser.add_argument("--worker-threads", type=int, default=None,
                        help="kernel threads in each Dask worker during the fits "
                             "(default: usable cores / workers)")
    parser.add_argument("--ooc-gb", type=float, default=6.0, help="out-of-core file, GB")
    parser.add_argument("--cap-gb", type=float, default=3.0, help="RLIMIT_AS of the fit "
                        "child, GiB (raised if the import alone does not fit)")
    parser.add_argument("--cache-gb", type=float, default=2.0,
                        help="file of the page cache vs memory run, GB")
    parser.add_argument("--block-rows", type=int, default=None,
                        help="rows per block of the .npy source (default: its own)")
    parser.add_argument("--skip", default="", help="comma-separated: dask, ooc")
    parser.add_argument("--dir", default=None, help="where the files go (default: a temp "
                        "folder); without --keep the files this run wrote are removed")
    parser.add_argument("--keep", action="store_true", help="keep the files for a rerun")
    parser.add_argument("--json", default=None, help="write every figure here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child_main(json.loads(args.child))))
        return 0

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    t_start = time.perf_counter()
    if args.quick:
        args.repeat = 1
        args.ooc_gb, args.cache_gb = 0.004, 0.002
    workers = sorted({int(w) for w in args.workers.split(",")})
    skip = set(filter(None, args.skip.split(",")))
    info = machine()
    results = {"machine": info, "quick": args.quick, "gap": GAP, "lam": LAM}
    print(f"machine: {info['cpu']}, {info['cores']} cores"
          f" ({info['affinity']} usable), {info['ram_gib']} GiB RAM; fastopt "
          f"{info['fastopt']}, backend {info['backend']}, {info['kernel_threads']} kernel "
          f"threads (NUMBA_NUM_THREADS={info['NUMBA_NUM_THREADS']}); dask "
          f"{info.get('dask', '-')}, distributed {info.get('distributed', '-')}, dask-glm "
          f"{info.get('dask_glm', '-')}" + ("; QUICK: sizes are tiny, figures meaningless"
                                            if args.quick else ""))
    k = 2 if args.quick else 5
    if "dask" not in skip:
        cases = [(20_000, 20, np.float64)] if args.quick else [(1_000_000, 100, np.float64)]
        if args.big and not args.quick:
            cases.append((10_000_000, 100, np.float32))
        results["dask"] = []
        for m, n, dt in cases:
            log(f"Dask: {m} x {n} {np.dtype(dt).name}")
            d = dask_section(m, n, 8, dt, workers, args.repeat, k, log,
                             args.worker_threads)
            results["dask"].append(d)
            print_dask(d)
    if "ooc" not in skip:
        own_dir = args.dir is None
        workdir = args.dir or tempfile.mkdtemp(prefix="fastopt_large_m_")
        os.makedirs(workdir, exist_ok=True)
        before = set(os.listdir(workdir))
        try:
            log("Out of core")
            o = ooc_section(args, workdir, log)
            results["ooc"] = o
            print_ooc(o)
        finally:
            if not args.keep:
                if own_dir:
                    shutil.rmtree(workdir, ignore_errors=True)
                else:  # only the files this run wrote
                    for name in set(os.listdir(workdir)) - before:
                        with contextlib.suppress(OSError):
                            os.remove(os.path.join(workdir, name))
    results["wall_s"] = time.perf_counter() - t_start
    print(f"\nwall time {results['wall_s']:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
