"""Benchmark: many small logistic fits in one call (``fo.batch.logistic``) and
cross-validated C (``fo.LogisticRegressionCV``), against loops of single fits, in one run.

**1. K independent dense problems** (random standard normal X, an intercept and
coefficients planted per problem, binary labels drawn from the logistic model; fixed
seed): K = 10,000 problems of 200 x 10 and K = 1,000 of 2,000 x 50. ``fo.batch.logistic(X,
y)`` on X of shape (K, m, n) (defaults: lam = None, i.e. scikit-learn's C = 1; gradient
norm tol 1e-4, the default of both estimators), against

* (a) a loop of scikit-learn ``LogisticRegression().fit`` (C = 1, lbfgs, its defaults);
* (b) a loop of fastopt's single fits ``fo.LogisticRegression().fit`` (its defaults).

The loops cost milliseconds per fit, so they are timed on a subsample of the problems
(``--loop-sample``, default 300 and 100, evenly spaced over the K): every figure of a loop
is **per fit**, and each ratio compares times per fit (batch time / K against loop time /
sample). The groups form, the same 10,000 problems as one 2-D X whose rows are shuffled
(fixed seed) with a group-id vector, ``fo.batch.logistic(X2, y2, groups=g)``, is timed in
the same alternation. Targets: batch **>= 50x** scikit-learn's loop and **>= 5x** fastopt's
loop, per fit.

Agreement (so that the speed is for the same answer), over the first ``--check`` problems
of the subsample, as max_k ||[w, b]_k - [w, b]_k,ref|| / ||[w, b]_k,ref||: the batch at
tol 1e-10 against ``fo.LogisticRegression(tol=1e-10)``, against scikit-learn's lbfgs and
newton-cholesky at tol 1e-10 (max_iter 10,000); and the timed batch answer (default tol)
against fastopt's tight single fit.

**2. 200 bootstrap fits of a9a** (``fo.datasets.load("a9a")``, CSR, 32,561 x 123): weights
B (200, m) of multinomial counts (m draws over the m rows, fixed seed),
``fo.batch.logistic(X, y, sample_weight=B)`` cold (x0 = None) and warm-started from the
full-data fit (x0 = that fit's [w, b] tiled; the full fit, ``fo.batch.logistic`` with one
all-ones weight vector, is timed as part of the warm figure), against a loop of
scikit-learn ``LogisticRegression().fit(X, y, sample_weight=B[k])`` on the first
``--boot-sample`` (default 20) resamples, per fit. Target **>= 10x** scikit-learn per fit.
Agreement on ``--check`` resamples against scikit-learn at tol 1e-10 (newton-cholesky,
and lbfgs), and warm against cold over all 200.

**3. ``LogisticRegressionCV(Cs=10, cv=5)``** on a9a, w8a and ijcnn1: ``fo.LogisticRegressionCV``
against ``sklearn.linear_model.LogisticRegressionCV`` with the same Cs, cv = 5 (both
resolve it to the same unshuffled ``StratifiedKFold(5)``), accuracy scoring, their other
defaults. scikit-learn >= 1.8 warns about its changing defaults; the run passes the
values of today's behaviour that the installed version accepts (``l1_ratios=(0.0,)``,
``scoring="accuracy"``, ``use_legacy_attributes=True``), which silences the warnings
without changing the fit. Reported: times, ratio (target **>= 5x**), both selected C_ and
whether they are the same, and the largest difference between the two mean-accuracy
curves over the Cs. Skipped with a note if ``fo.LogisticRegressionCV`` is missing.

BLAS is limited to one thread for the whole run (``--blas-threads``, threadpoolctl; 0
leaves the libraries' default): scikit-learn's lbfgs on these small problems gains nothing
from a second BLAS thread on an idle machine and runs up to 10x slower with it when other
processes share the cores. fastopt's kernels use their own threads (``NUMBA_NUM_THREADS``
or ``fo.set_num_threads``), unaffected by that limit. The load average is printed at the
start and at the end: a loaded machine hurts the threaded side of each ratio most.

Every figure is measured in this run with the sides alternating: each repetition times
every side once, each after a pause of ``SETTLE_S`` (thread pools asleep), and the
figures are **medians over ``--repeat`` repetitions**; compilation and first-call costs
are excluded by a warm-up call of each side. Ratios are "how many times faster".
``--quick`` (or ``FASTOPT_BENCH_QUICK=1``) shrinks everything so the script runs in
seconds; its figures are then meaningless.

Usage::

    NUMBA_NUM_THREADS=2 PYTHONPATH=. python bench/many_fits.py [--repeat 3]
        [--loop-sample 300,100] [--boot-sample 20] [--check 5] [--skip cv]
        [--blas-threads N] [--json out.json] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _data import cpu_model  # noqa: E402

SEED = 0
#: Pause before each timed side, seconds (OpenBLAS and OpenMP pools asleep).
SETTLE_S = 0.3
#: Tight tolerance of the agreement checks.
TIGHT = 1e-10
CV_DATASETS = ("a9a", "w8a", "ijcnn1")


# ---------------------------------------------------------------- data


def dense_problems(K: int, m: int, n: int, seed: int = SEED):
    """(X, y): X (K, m, n) standard normal, y (K, m) in {0, 1} drawn from the logistic
    model with coefficients N(0, 4/n) and intercept N(0, 0.25) planted per problem.
    Depends only on (K, m, n, seed)."""
    rng = np.random.default_rng([seed, K, m, n])
    w = rng.standard_normal((K, n)) * (2.0 / np.sqrt(n))
    b = 0.5 * rng.standard_normal(K)
    X = rng.standard_normal((K, m, n))
    z = np.einsum("kmn,kn->km", X, w) + b[:, None]
    y = (rng.random((K, m)) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    return X, y


def grouped(X: np.ndarray, y: np.ndarray, seed: int = SEED):
    """The problems of (X, y) (K, m, n) as one 2-D X2 (K m, n), y2 and group ids g (problem
    k has id k), rows shuffled by a fixed permutation."""
    K, m, n = X.shape
    perm = np.random.default_rng([seed, 1, K, m, n]).permutation(K * m)
    return (X.reshape(K * m, n)[perm], y.reshape(K * m)[perm],
            np.repeat(np.arange(K), m)[perm])


def bootstrap_weights(m: int, B: int, seed: int = SEED) -> np.ndarray:
    """B bootstrap resamples of m rows as float64 counts, shape (B, m): each row sums to m."""
    rng = np.random.default_rng([seed, 2, m, B])
    return rng.multinomial(m, np.full(m, 1.0 / m), size=B).astype(np.float64)


def spread_rows(X, y, rows):
    """``rows`` rows spread over the data set (every k-th), both classes kept; all if None."""
    if not rows or rows >= X.shape[0]:
        return X, y
    step = -(-X.shape[0] // rows)
    return X[::step], y[::step]


def sample_indices(K: int, s: int) -> np.ndarray:
    """``s`` problem indices evenly spaced over 0..K-1 (all of them if s >= K)."""
    s = min(s, K)
    return np.unique(np.linspace(0, K - 1, s).round().astype(np.int64))


# ---------------------------------------------------------------- helpers


def machine() -> dict:
    import fastopt as fo
    from fastopt.kernels import auto_backend

    cpu = cpu_model()
    info = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "fastopt": getattr(fo, "__version__", "?"), "backend": auto_backend(),
            "kernel_threads": fo.get_num_threads(),
            "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS"),
            "loadavg": load_average()}
    with contextlib.suppress(Exception):
        import sklearn

        info["sklearn"] = sklearn.__version__
    with contextlib.suppress(Exception):
        from threadpoolctl import threadpool_info

        info["blas_threads"] = sorted({p["num_threads"] for p in threadpool_info()
                                       if p.get("user_api") == "blas"})
    return info


def load_average() -> str:
    try:
        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def timed(fn) -> float:
    """Seconds of one call of ``fn``, after a pause of :data:`SETTLE_S`."""
    time.sleep(SETTLE_S)
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def alternate(sides: dict, repeat: int) -> dict:
    """Median seconds of each side over ``repeat`` rounds; each round calls every side
    once, in order, each after a pause (the callers warm every side up first)."""
    times = {name: [] for name in sides}
    for _ in range(repeat):
        for name, fn in sides.items():
            times[name].append(timed(fn))
    return {name: statistics.median(ts) for name, ts in times.items()}


def threads() -> int:
    import fastopt as fo

    return fo.get_num_threads()


def hessian_floor(m: int, p: int, n_iter: float, repeat: int) -> float:
    """Seconds per fit that the Hessians alone take in the batch: ``n_iter`` BLAS ``dsyrk``
    calls on an (m, p) block (the Hessian of one problem, one BLAS thread, median of
    timed blocks of calls), shared by the kernel threads."""
    from scipy.linalg.blas import dsyrk
    from threadpoolctl import threadpool_limits

    block = np.asfortranarray(np.random.default_rng(SEED).standard_normal((p, m)))
    calls = max(10, int(2e8 / (m * p * p)))
    times = []
    with threadpool_limits(1, user_api="blas"):
        dsyrk(1.0, block)
        for _ in range(max(3, repeat)):
            t0 = time.perf_counter()
            for _ in range(calls):
                dsyrk(1.0, block)
            times.append((time.perf_counter() - t0) / calls)
    return n_iter * statistics.median(times) / threads()


def rel_diff(a: np.ndarray, ref: np.ndarray) -> float:
    """Max over rows of ||a_k - ref_k|| / ||ref_k|| (rows: [w, b] per problem)."""
    a, ref = np.atleast_2d(a), np.atleast_2d(ref)
    return float(np.max(np.linalg.norm(a - ref, axis=1) / np.linalg.norm(ref, axis=1)))


def wb(coef, intercept) -> np.ndarray:
    """[w, b] rows from coef (K, n) and intercept (K,) (or an estimator's coef_, intercept_)."""
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    return np.column_stack([coef, np.ravel(intercept)])


def batch_summary(res) -> dict:
    return {"mean_iter": float(np.mean(res.n_iter)), "max_iter": int(np.max(res.n_iter)),
            "success": int(np.count_nonzero(res.success)), "K": len(res)}


def fmt_summary(s: dict) -> str:
    return (f"{s['success']}/{s['K']} converged, Newton iterations mean {s['mean_iter']:.2f} "
            f"(max {s['max_iter']})")


def ms(t: float) -> str:
    return f"{t * 1e3:.3f}"


# ---------------------------------------------------------------- 1. dense problems


def section_dense(K, m, n, loop_sample, repeat, check, with_groups, log) -> dict:
    from sklearn.linear_model import LogisticRegression as Sk

    import fastopt as fo

    t0 = time.perf_counter()
    X, y = dense_problems(K, m, n)
    log(f"\n### K = {K:,} problems of {m:,} x {n} (data made in "
        f"{time.perf_counter() - t0:.1f} s)")
    idx = sample_indices(K, loop_sample)
    s = len(idx)
    Xs = [np.ascontiguousarray(X[k]) for k in idx]
    ys = [y[k] for k in idx]
    out = {"K": K, "m": m, "n": n, "loop_sample": s}

    def batch():
        out["res"] = fo.batch.logistic(X, y)

    def sk_loop():
        for Xk, yk in zip(Xs, ys, strict=True):
            Sk().fit(Xk, yk)

    def fo_loop():
        for Xk, yk in zip(Xs, ys, strict=True):
            fo.LogisticRegression().fit(Xk, yk)

    sides = {"batch": batch, "sklearn loop": sk_loop, "fastopt loop": fo_loop}
    if with_groups:
        X2, y2, g = grouped(X, y)

        def groups_batch():
            out["res_groups"] = fo.batch.logistic(X2, y2, groups=g)

        sides["batch, groups"] = groups_batch
    # warm-up: compilation, first-call costs, pages of X faulted in
    fo.batch.logistic(X[:4], y[:4])
    Sk().fit(Xs[0], ys[0])
    fo.LogisticRegression().fit(Xs[0], ys[0])
    if with_groups:
        fo.batch.logistic(X2[: 4 * m], y2[: 4 * m], groups=g[: 4 * m])
    t = alternate(sides, repeat)
    res = out.pop("res")
    per = {"batch": t["batch"] / K, "sklearn loop": t["sklearn loop"] / s,
           "fastopt loop": t["fastopt loop"] / s}
    if with_groups:
        per["batch, groups"] = t["batch, groups"] / K
    out.update(times=t, per_fit=per, batch=batch_summary(res),
               sk_over_batch=per["sklearn loop"] / per["batch"],
               fo_over_batch=per["fastopt loop"] / per["batch"])
    log(f"batch (default tol 1e-4): {fmt_summary(out['batch'])}")
    log(f"loops timed on {s} of the {K:,} problems (evenly spaced); times per fit; "
        f"medians of {repeat}")
    log("| side | total s | fits timed | per fit ms | sklearn loop / side | "
        "fastopt loop / side |")
    log("|---|---:|---:|---:|---:|---:|")
    for name, tt in t.items():
        fits = s if "loop" in name else K
        log(f"| {name} | {tt:.3f} | {fits:,} | {ms(per[name])} "
            f"| {per['sklearn loop'] / per[name]:.1f} | {per['fastopt loop'] / per[name]:.1f} |")
    if with_groups:
        rg = out.pop("res_groups")
        out["groups"] = batch_summary(rg)
        out["groups_vs_stacked"] = rel_diff(wb(rg.coef, rg.intercept),
                                            wb(res.coef, res.intercept))
        out["groups_over_stacked"] = t["batch, groups"] / t["batch"]
        log(f"groups form (rows shuffled): {fmt_summary(out['groups'])}; time / stacked "
            f"{out['groups_over_stacked']:.2f}; max rel coef diff vs stacked "
            f"{out['groups_vs_stacked']:.1e}")
    log(f"targets: sklearn loop / batch >= 50 (got {out['sk_over_batch']:.1f}), "
        f"fastopt loop / batch >= 5 (got {out['fo_over_batch']:.1f}), per fit")
    floor = hessian_floor(m, n + 1, float(res.n_iter.mean()), repeat)
    out["hessian_floor_per_fit"] = floor
    out["batch_over_floor"] = per["batch"] / floor
    out["sk_over_floor"] = per["sklearn loop"] / floor
    log(f"Hessian floor: {out['batch']['mean_iter']:.2f} Newton iterations x one dsyrk of "
        f"a {m:,} x {n + 1} block (one BLAS thread) / {threads()} threads = {ms(floor)} ms "
        f"per fit; batch / floor {out['batch_over_floor']:.2f}; sklearn loop / floor "
        f"{out['sk_over_floor']:.1f} (the most the batch's Newton can gain on this shape)")

    # agreement on the first `check` problems of the subsample
    ci = idx[:check]
    tight = fo.batch.logistic(X[ci], y[ci], tol=TIGHT)
    ref_fo, ref_lb, ref_nc = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in ci:
            c = fo.LogisticRegression(tol=TIGHT).fit(X[k], y[k])
            ref_fo.append(wb(c.coef_, c.intercept_)[0])
            c = Sk(tol=TIGHT, max_iter=10_000).fit(X[k], y[k])
            ref_lb.append(wb(c.coef_, c.intercept_)[0])
            c = Sk(solver="newton-cholesky", tol=TIGHT, max_iter=10_000).fit(X[k], y[k])
            ref_nc.append(wb(c.coef_, c.intercept_)[0])
    bt = wb(tight.coef, tight.intercept)
    agree = {"batch_tight_vs_fo_tight": rel_diff(bt, np.array(ref_fo)),
             "batch_tight_vs_sk_lbfgs_tight": rel_diff(bt, np.array(ref_lb)),
             "batch_tight_vs_sk_newton_cholesky_tight": rel_diff(bt, np.array(ref_nc)),
             "batch_timed_vs_fo_tight": rel_diff(wb(res.coef[ci], res.intercept[ci]),
                                                 np.array(ref_fo))}
    out["agreement"] = agree
    log(f"agreement, max over {len(ci)} problems of ||[w,b] - [w,b]_ref|| / ||[w,b]_ref||: "
        f"batch tol 1e-10 vs fastopt single tol 1e-10 "
        f"{agree['batch_tight_vs_fo_tight']:.1e}; vs sklearn lbfgs tol 1e-10 "
        f"{agree['batch_tight_vs_sk_lbfgs_tight']:.1e}; vs sklearn newton-cholesky tol 1e-10 "
        f"{agree['batch_tight_vs_sk_newton_cholesky_tight']:.1e}; timed batch (default tol) vs "
        f"fastopt single tol 1e-10 {agree['batch_timed_vs_fo_tight']:.1e}")
    return out


# ---------------------------------------------------------------- 2. bootstrap


def section_bootstrap(n_boot, boot_sample, repeat, check, rows, log) -> dict:
    from sklearn.linear_model import LogisticRegression as Sk

    import fastopt as fo

    X, y = spread_rows(*fo.datasets.load("a9a"), rows)
    m = X.shape[0]
    B = bootstrap_weights(m, n_boot)
    ones = np.ones((1, m))
    s = min(boot_sample, n_boot)
    log(f"\n## 2. {n_boot} bootstrap fits of a9a ({m:,} x {X.shape[1]}, CSR, "
        f"{X.nnz:,} nonzeros)")
    out = {"m": m, "n": X.shape[1], "B": n_boot, "loop_sample": s}

    def cold():
        out["cold"] = fo.batch.logistic(X, y, sample_weight=B)

    def warm():
        full = fo.batch.logistic(X, y, sample_weight=ones)
        x0 = np.tile(np.r_[full.coef[0], full.intercept[0]], (n_boot, 1))
        out["warm"] = fo.batch.logistic(X, y, sample_weight=B, x0=x0)
        out["full"] = full

    def sk_loop():
        for k in range(s):
            Sk().fit(X, y, sample_weight=B[k])

    fo.batch.logistic(X, y, sample_weight=B[:2])
    Sk().fit(X, y, sample_weight=B[0])
    t = alternate({"batch, cold": cold, "batch, warm (incl. full fit)": warm,
                   "sklearn loop": sk_loop}, repeat)
    per = {"batch, cold": t["batch, cold"] / n_boot,
           "batch, warm (incl. full fit)": t["batch, warm (incl. full fit)"] / n_boot,
           "sklearn loop": t["sklearn loop"] / s}
    res_cold, res_warm, full = out.pop("cold"), out.pop("warm"), out.pop("full")
    out.update(times=t, per_fit=per, cold=batch_summary(res_cold),
               warm=batch_summary(res_warm), full_fit_iter=int(full.n_iter[0]),
               sk_over_cold=per["sklearn loop"] / per["batch, cold"],
               sk_over_warm=per["sklearn loop"] / per["batch, warm (incl. full fit)"])
    log(f"cold: {fmt_summary(out['cold'])}")
    log(f"warm: {fmt_summary(out['warm'])}; the full fit: {out['full_fit_iter']} iterations")
    log(f"sklearn loop timed on the first {s} of the {n_boot} resamples; times per fit; "
        f"medians of {repeat}")
    log("| side | total s | fits timed | per fit ms | sklearn loop / side |")
    log("|---|---:|---:|---:|---:|")
    for name, tt in t.items():
        fits = s if "loop" in name else n_boot
        log(f"| {name} | {tt:.3f} | {fits} | {ms(per[name])} "
            f"| {per['sklearn loop'] / per[name]:.1f} |")
    log(f"target: sklearn loop / batch >= 10 per fit (got cold {out['sk_over_cold']:.1f}, "
        f"warm {out['sk_over_warm']:.1f})")
    cold_wb = wb(res_cold.coef, res_cold.intercept)
    ref_nc, ref_lb = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(check):
            c = Sk(solver="newton-cholesky", tol=TIGHT, max_iter=10_000).fit(
                X, y, sample_weight=B[k])
            ref_nc.append(wb(c.coef_, c.intercept_)[0])
            c = Sk(tol=TIGHT, max_iter=10_000).fit(X, y, sample_weight=B[k])
            ref_lb.append(wb(c.coef_, c.intercept_)[0])
    agree = {"cold_vs_sk_newton_cholesky_tight": rel_diff(cold_wb[:check], np.array(ref_nc)),
             "cold_vs_sk_lbfgs_tight": rel_diff(cold_wb[:check], np.array(ref_lb)),
             "warm_vs_cold": rel_diff(wb(res_warm.coef, res_warm.intercept), cold_wb)}
    out["agreement"] = agree
    log(f"agreement (max rel [w,b] diff): batch cold (default tol) vs sklearn newton-cholesky "
        f"tol 1e-10 {agree['cold_vs_sk_newton_cholesky_tight']:.1e}, vs sklearn lbfgs "
        f"tol 1e-10 {agree['cold_vs_sk_lbfgs_tight']:.1e} (first {check} resamples); "
        f"warm vs cold {agree['warm_vs_cold']:.1e} (all {n_boot})")
    return out


# ---------------------------------------------------------------- 3. LogisticRegressionCV


def sklearn_cv_kwargs() -> dict:
    """Arguments that keep scikit-learn's LogisticRegressionCV at today's behaviour (L2,
    accuracy, legacy attributes) without its FutureWarnings, as far as the installed
    version accepts them."""
    from sklearn.linear_model import LogisticRegressionCV

    params = inspect.signature(LogisticRegressionCV).parameters
    kw = {"scoring": "accuracy"}
    if "l1_ratios" in params and params["l1_ratios"].default == "warn":
        kw["l1_ratios"] = (0.0,)
    if "use_legacy_attributes" in params:
        kw["use_legacy_attributes"] = True
    return kw


def mean_scores(est) -> np.ndarray:
    """Mean accuracy over the folds at each C (the first class entry of ``scores_``)."""
    scores = est.scores_
    arr = np.asarray(next(iter(scores.values())) if isinstance(scores, dict) else scores)
    arr = arr.reshape(arr.shape[0], -1)
    return arr.mean(axis=0)


def section_cv(names, Cs, repeat, rows, log) -> dict:
    import fastopt as fo

    if not hasattr(fo, "LogisticRegressionCV"):
        log("\n## 3. LogisticRegressionCV: skipped, fo.LogisticRegressionCV is not "
            "importable in this tree yet")
        return {"skipped": "fo.LogisticRegressionCV missing"}
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegressionCV as SkCV

    kw = sklearn_cv_kwargs()
    log(f"\n## 3. LogisticRegressionCV(Cs={Cs}, cv=5), accuracy; scikit-learn given "
        + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + f"; medians of {repeat}")
    log("| data | m x n | fastopt s | sklearn s | sklearn / fastopt | fastopt C_ | "
        "sklearn C_ | same C_ | max |mean acc diff| over Cs | sklearn convergence warnings |")
    log("|---|---|---:|---:|---:|---:|---:|---|---:|---:|")
    out = {"sklearn_kwargs": {k: list(v) if isinstance(v, tuple) else v
                              for k, v in kw.items()}, "rows": []}
    for name in names:
        X, y = spread_rows(*fo.datasets.load(name), rows)
        fits, n_warn = {}, [0]

        def ours(X=X, y=y, fits=fits):
            fits["fo"] = fo.LogisticRegressionCV(Cs=Cs, cv=5).fit(X, y)

        def theirs(X=X, y=y, fits=fits, n_warn=n_warn):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fits["sk"] = SkCV(Cs=Cs, cv=5, **kw).fit(X, y)
            n_warn[0] = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
            other = {str(w.message)[:80] for w in caught
                     if not issubclass(w.category, ConvergenceWarning)}
            for msg in other:
                log(f"  (scikit-learn warned: {msg})")

        # warm-up on 400 rows of both classes (compilation, imports)
        few = np.r_[np.flatnonzero(y > 0)[:200], np.flatnonzero(y <= 0)[:200]]
        fo.LogisticRegressionCV(Cs=2, cv=2).fit(X[few], y[few])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            SkCV(Cs=2, cv=2, **kw).fit(X[few], y[few])
        t = alternate({"fastopt": ours, "sklearn": theirs}, repeat)
        c_fo = float(np.ravel(fits["fo"].C_)[0])
        c_sk = float(np.ravel(fits["sk"].C_)[0])
        try:
            acc = float(np.max(np.abs(mean_scores(fits["fo"]) - mean_scores(fits["sk"]))))
        except Exception:  # noqa: BLE001 - an attribute layout we do not know
            acc = float("nan")
        r = {"data": name, "m": X.shape[0], "n": X.shape[1], "fastopt_s": t["fastopt"],
             "sklearn_s": t["sklearn"], "ratio": t["sklearn"] / t["fastopt"],
             "C_fastopt": c_fo, "C_sklearn": c_sk, "same_C": bool(np.isclose(c_fo, c_sk)),
             "max_mean_acc_diff": acc, "sklearn_convergence_warnings": n_warn[0]}
        r.update(cv_checks(fo, SkCV, kw, fits["fo"], X, y, Cs, repeat))
        out["rows"].append(r)
        log(f"| {name} | {r['m']:,} x {r['n']} | {r['fastopt_s']:.3f} | {r['sklearn_s']:.3f} "
            f"| {r['ratio']:.1f} | {c_fo:.4g} | {c_sk:.4g} | {'yes' if r['same_C'] else 'NO'} "
            f"| {acc:.1e} | {n_warn[0]} |")
    log("target: sklearn / fastopt >= 5")
    log("\nAt tol 1e-10 (fastopt, and scikit-learn's newton-cholesky), and the Hessian floor "
        "of fastopt's paths (its Newton iterations, refit included, x the time of one Hessian "
        "of a fold's objective, median):")
    log("| data | C_ fastopt | C_ sklearn | same C_ | refit max rel coef diff | Newton "
        "iterations | one Hessian ms | floor s | fastopt / floor | sklearn / floor |")
    log("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in out["rows"]:
        log(f"| {r['data']} | {r['tight_C_fastopt']:.4g} | {r['tight_C_sklearn']:.4g} | "
            f"{'yes' if r['tight_same_C'] else 'NO'} | {r['tight_coef_diff']:.1e} | "
            f"{r['newton_iterations']} | {r['hessian_ms']:.2f} | {r['floor_s']:.3f} | "
            f"{r['fastopt_s'] / r['floor_s']:.2f} | {r['sklearn_s'] / r['floor_s']:.1f} |")
    return out


def cv_checks(fo, SkCV, kw, fit, X, y, Cs, repeat) -> dict:
    """The selected C at tol 1e-10 on both sides with the refit coefficients' agreement,
    and the Hessian floor of fastopt's default fit ``fit``."""
    from sklearn.model_selection import StratifiedKFold

    from fastopt._solver_choice import dense_gram_is_cheaper

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = fo.LogisticRegressionCV(Cs=Cs, cv=5, tol=TIGHT, max_iter=1000).fit(X, y)
        theirs = SkCV(Cs=Cs, cv=5, solver="newton-cholesky", tol=TIGHT, max_iter=10_000,
                      **kw).fit(X, y)
    c_fo, c_sk = float(np.ravel(ours.C_)[0]), float(np.ravel(theirs.C_)[0])
    train = next(StratifiedKFold(5).split(X, y))[0]
    Xt = X[train]
    if dense_gram_is_cheaper(Xt):
        Xt = Xt.toarray()
    obj = fo.problems.Logistic(Xt, y[train] > np.min(y), lam=1.0 / len(train),
                               fit_intercept=True)
    w = np.zeros(obj.n_params)
    obj.hessian(w)
    times = []
    for _ in range(max(5, 3 * repeat)):
        t0 = time.perf_counter()
        obj.hessian(w)
        times.append(time.perf_counter() - t0)
    hess = statistics.median(times)
    iterations = int(fit.n_iter_.sum()) + int(getattr(fit, "result_", {}).get("nit", 0))
    return {"tight_C_fastopt": c_fo, "tight_C_sklearn": c_sk,
            "tight_same_C": bool(np.isclose(c_fo, c_sk)),
            "tight_coef_diff": rel_diff(wb(ours.coef_[0], ours.intercept_),
                                        wb(theirs.coef_[0], theirs.intercept_)),
            "newton_iterations": iterations, "hessian_ms": 1e3 * hess,
            "floor_s": iterations * hess}


# ---------------------------------------------------------------- main


def parse_sizes(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of the alternation (medians reported)")
    parser.add_argument("--loop-sample", default="300,100",
                        help="problems timed in the loops of section 1, per size")
    parser.add_argument("--boot-sample", type=int, default=20,
                        help="resamples timed in scikit-learn's bootstrap loop")
    parser.add_argument("--check", type=int, default=5,
                        help="problems (section 1; 3 in section 2) of the agreement checks")
    parser.add_argument("--skip", default="", help="comma list of: dense, boot, cv")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads for the whole run (threadpoolctl; 0: the "
                             "libraries' default)")
    parser.add_argument("--json", default=None, help="write every figure to this file")
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("FASTOPT_BENCH_QUICK") == "1",
                        help="tiny sizes (a smoke test, not a measurement)")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    loop_sample = parse_sizes(args.loop_sample)
    if args.quick:
        sizes = [(200, 50, 5), (20, 300, 8)]
        loop_sample = [min(v, 10) for v in loop_sample]
        n_boot, boot_rows, cv_rows, Cs = 8, 2000, 500, 3
        args.repeat = min(args.repeat, 1)
        args.boot_sample, args.check = min(args.boot_sample, 2), min(args.check, 2)
    else:
        sizes = [(10_000, 200, 10), (1_000, 2_000, 50)]
        n_boot, boot_rows, cv_rows, Cs = 200, None, None, 10
    loop_sample = (loop_sample + loop_sample[-1:] * 2)[: len(sizes)]

    limiter = contextlib.nullcontext()
    if args.blas_threads:
        import sklearn.linear_model  # noqa: F401 - every BLAS library loaded before the limit
        from threadpoolctl import threadpool_limits

        import fastopt  # noqa: F401

        limiter = threadpool_limits(args.blas_threads, user_api="blas")
    results = {"quick": args.quick, "repeat": args.repeat}
    with limiter:
        info = machine()
        results["machine"] = info
        print(f"# many_fits.py{' (QUICK: tiny sizes, figures meaningless)' if args.quick else ''}")
        print(f"machine: {info['cpu']}, {info['cores']} cores; fastopt {info['fastopt']} "
              f"backend {info['backend']}, {info['kernel_threads']} kernel threads "
              f"(NUMBA_NUM_THREADS={info['NUMBA_NUM_THREADS']}); scikit-learn "
              f"{info.get('sklearn', '?')}, BLAS threads {info.get('blas_threads', '?')}; "
              f"medians of {args.repeat} alternating rounds, {SETTLE_S} s pause before each "
              f"timed side; load average (1/5/15 min) {info['loadavg']}")
        if "dense" not in skip:
            print("\n## 1. Many dense problems: fo.batch.logistic(X (K, m, n), y) vs loops "
                  "of single fits")
            results["dense"] = [
                section_dense(K, m, n, s, args.repeat, args.check, with_groups=(i == 0),
                              log=print)
                for i, ((K, m, n), s) in enumerate(zip(sizes, loop_sample, strict=True))]
        if "boot" not in skip:
            results["bootstrap"] = section_bootstrap(n_boot, args.boot_sample, args.repeat,
                                                     min(args.check, 3), boot_rows, print)
        if "cv" not in skip:
            results["cv"] = section_cv(CV_DATASETS, Cs, args.repeat, cv_rows, print)
    print(f"\nload average at the end (1/5/15 min): {load_average()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=float)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
