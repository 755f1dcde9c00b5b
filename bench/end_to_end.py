"""End-to-end benchmark: L2 logistic regression fitted by every fastopt second-order
method (and, on the real sets, the accelerated first-order ones), by scikit-learn and by
scipy, to the same accuracy, in one run.

Problems: dense synthetic (m = 10^6, n = 100, lam = 1e-4) and the bundled a9a, w8a,
ijcnn1 (lam = 1/m); no intercept, x0 = 0. Each solver must reach
|f - f*| <= 1e-10 max(1, |f*|). f* is the published value for a9a and w8a, and for the
other two the value of fastopt's Newton run to ||grad f|| <= 1e-13 (checked against the
best value any solver below reached).

Stopping: fastopt stops on ||grad f|| <= tol with tol = sqrt(2 lam gap) (f is
lam-strongly convex, so that guarantees f - f* <= gap); scikit-learn and scipy get the
same tol for their gradient tests, tightened 10x (up to three times) when the fit misses
the target; the time reported is that of the first fit that reaches it. Compilation is
excluded (a warm-up fit on a small problem runs first). Passes over X are the
objective's counters for fastopt and for scipy on the NumPy objective (where one
loss-and-gradient evaluation is two BLAS passes, X w and X^T r); scikit-learn does not
expose them.

Usage::

    NUMBA_NUM_THREADS=2 PYTHONPATH=. python bench/end_to_end.py [--quick] [--only a9a,w8a]
        [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import scipy.optimize

import fastopt as fo

GAP = 1e-10
#: Pause before each timed fit, seconds (see :func:`with_retries`).
SETTLE_S = 0.3

FASTOPT_METHODS = {
    "fastopt newton": ("newton", {}),
    "fastopt newton-cg": ("newton-cg", {}),
    "fastopt lbfgs": ("lbfgs", {}),
    "fastopt lbfgs (predictor trials)": ("lbfgs", {"reuse_predictor": True}),
    "fastopt sketch-newton": ("sketch-newton", {"seed": 0}),
    "fastopt nesterov": ("nesterov", {}),
    "fastopt heavy-ball": ("heavy-ball", {}),
}
#: First-order methods need O(sqrt(kappa) log(1/eps)) passes: run on the real sets only
#: (on the dense 10^6 x 100 problem each would take minutes).
FIRST_ORDER = {"fastopt nesterov", "fastopt heavy-ball"}
SKLEARN_SOLVERS = ("lbfgs", "newton-cholesky", "newton-cg")


def synthetic(m, n, seed=0):
    """Dense Gaussian design with a planted separator and 10% label noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    w = rng.standard_normal(n) / math.sqrt(n)
    y = np.where(X @ w + 0.5 * rng.standard_normal(m) > 0, 1.0, -1.0)
    return X, y


def problems(quick, only):
    out = []
    if "synthetic" in only:
        m, n = (20_000, 20) if quick else (1_000_000, 100)
        X, y = synthetic(m, n)
        out.append((f"dense {m}x{n}", X, y, 1e-4, None))
    for name in ("a9a", "w8a", "ijcnn1"):
        if name in only:
            X, y = fo.datasets.load(name)
            out.append((name, X, y, 1.0 / X.shape[0], fo.datasets.REFERENCE_OPTIMA.get(name)))
    return out


def fastopt_fit(obj, method, tol, options):
    obj.reset_counters()
    t0 = time.perf_counter()
    res = fo.minimize(obj, np.zeros(obj.n_params), method=method, tol=tol, max_iter=10_000,
                      **options)
    return time.perf_counter() - t0, res.x, res.nit, res.n_passes


def sklearn_fit(X, y, lam, solver, tol):
    from sklearn.linear_model import LogisticRegression

    m = X.shape[0]
    clf = LogisticRegression(C=1.0 / (lam * m), fit_intercept=False, solver=solver, tol=tol,
                             max_iter=10_000)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    return time.perf_counter() - t0, clf.coef_.ravel().copy(), int(np.max(clf.n_iter_)), None


def scipy_fit(X, y, lam, tol):
    obj = fo.problems.Logistic(X, y, lam=lam, backend="numpy")
    t0 = time.perf_counter()
    res = scipy.optimize.minimize(obj.loss_grad, np.zeros(obj.n_params), jac=True,
                                  method="L-BFGS-B",
                                  options={"gtol": tol, "ftol": 0.0, "maxiter": 20_000,
                                           "maxfun": 40_000})
    return time.perf_counter() - t0, res.x, res.nit, obj.n_passes


def with_retries(fit, f_of, fstar, tol, repeat=1):
    """Fit with tol, tightened 10x up to three times until the gap is met.

    The fit that meets the gap is then run ``repeat - 1`` more times with the same tol
    and the fastest time is kept (every solver alike): one timed fit on a shared 2-core
    machine can lose several milliseconds per parallel region to a descheduled thread.
    Every fit starts after a pause of :data:`SETTLE_S`, so that the thread pools of the
    previous fit (OpenBLAS spins for up to about 0.1 s after a call, OpenMP runtimes for
    less) are asleep and do not take the cores from the next solver, whichever it is.
    """
    for _ in range(4):
        time.sleep(SETTLE_S)
        elapsed, x, nit, passes = fit(tol)
        gap = f_of(x) - fstar
        if abs(gap) <= GAP * max(1.0, abs(fstar)):
            for _ in range(repeat - 1):
                time.sleep(SETTLE_S)
                elapsed = min(elapsed, fit(tol)[0])
            return elapsed, nit, passes, gap, tol
        tol *= 0.1
    return elapsed, nit, passes, gap, None


def warm_up():
    X, y = synthetic(2000, 10, seed=1)
    obj = fo.problems.Logistic(X, y, lam=1e-3)
    import scipy.sparse as sp

    objs = [obj, fo.problems.Logistic(sp.csr_matrix(X), y, lam=1e-3)]
    for o in objs:
        for method, options in FASTOPT_METHODS.values():
            fo.minimize(o, np.zeros(o.n_params), method=method, tol=1e-8, max_iter=200,
                        **options)


def run(quick=False, only=("synthetic", "a9a", "w8a", "ijcnn1"), repeat=1):
    warm_up()
    rows = []
    for name, X, y, lam, fstar in problems(quick, only):
        obj = fo.problems.Logistic(X, y, lam=lam)
        ref = fo.problems.Logistic(X, y, lam=lam, backend="numpy")
        if fstar is None:
            fstar = fo.minimize(obj, np.zeros(obj.n_params), method="newton", tol=1e-13).fun
        tol = math.sqrt(2.0 * lam * GAP * max(1.0, abs(fstar)))
        fits = [(label, lambda t, m=method, o=options, ob=obj: fastopt_fit(ob, m, t, o))
                for label, (method, options) in FASTOPT_METHODS.items()
                if not (label in FIRST_ORDER and name.startswith("dense"))]
        fits += [(f"sklearn {s}", lambda t, s=s, X=X, y=y, lam=lam: sklearn_fit(X, y, lam, s, t))
                 for s in SKLEARN_SOLVERS]
        fits.append(("scipy L-BFGS-B (numpy objective)",
                     lambda t, X=X, y=y, lam=lam: scipy_fit(X, y, lam, t)))
        results = [(label, *with_retries(fit, ref.value, fstar, tol, repeat))
                   for label, fit in fits]
        best_sk = min((r[1] for r in results if r[0].startswith("sklearn") and r[5]),
                      default=math.nan)
        for label, elapsed, nit, passes, gap, used_tol in results:
            rows.append((name, label, elapsed, nit, passes, gap, used_tol,
                         best_sk / elapsed if elapsed > 0 else math.nan))
        best_fo = min(r[1] for r in results if r[0].startswith("fastopt") and r[5])
        rows.append((name, "=> fastest fastopt vs fastest sklearn", best_fo, None, None, None,
                     None, best_sk / best_fo))
    return rows


def print_table(rows):
    header = (f"{'problem':<16} {'method':<36} {'time (s)':>9} {'iters':>6} {'passes':>8} "
              f"{'f - f*':>10} {'tol used':>9} {'speedup vs best sklearn':>24}")
    print(header)
    print("-" * len(header))
    for name, label, elapsed, nit, passes, gap, used_tol, ratio in rows:
        nit_s = "" if nit is None else str(nit)
        passes_s = "n/a" if passes is None else f"{passes:.0f}"
        gap_s = "" if gap is None else f"{gap:.1e}"
        tol_s = "" if label.startswith("=>") else ("MISSED" if used_tol is None
                                                   else f"{used_tol:.0e}")
        print(f"{name:<16} {label:<36} {elapsed:>9.3f} {nit_s:>6} {passes_s:>8} {gap_s:>10} "
              f"{tol_s:>9} {ratio:>23.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small synthetic problem")
    parser.add_argument("--only", default="synthetic,a9a,w8a,ijcnn1",
                        help="comma-separated problems")
    parser.add_argument("--repeat", type=int, default=3,
                        help="time each converged fit this many times, keep the fastest")
    args = parser.parse_args(argv)
    print(f"fastopt {fo.__version__}, numba threads {fo.get_num_threads()}, "
          f"best of {args.repeat} fits")
    print_table(run(args.quick, tuple(args.only.split(",")), args.repeat))


if __name__ == "__main__":
    main()
