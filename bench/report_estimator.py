"""Report: fastopt.LogisticRegression against scikit-learn on the bundled data sets.

For each set (C = 1, intercept) it prints

* the fit time of scikit-learn's default solver (lbfgs, tol 1e-4 on the largest
  gradient entry) and of fastopt's default (solver "auto", tol 1e-4 on the Euclidean
  gradient norm of the same normalized objective), best of ``--repeat`` runs, and their
  ratio (fastopt / sklearn: below 1 means fastopt is faster);
* how close each default fit lands to the optimum: f - f* of the normalized objective
  (f* from the tight scikit-learn fit below);
* the agreement of tight fits: ||coef - coef_sk|| / ||coef_sk|| with scikit-learn's
  newton-cholesky at tol 1e-12 and fastopt at tol 1e-10 (the 1e-6 promise).

Run: ``PYTHONPATH=. python bench/report_estimator.py [--quick] [--repeat 3]``. Timings on
a shared machine are noisy: compare the ratios, and rerun.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np


def best_time(fit, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fit()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression as Sk

    import fastopt as fo
    from fastopt.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("FASTOPT_BENCH_QUICK") == "1",
                        help="first 2,000 rows of each set")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"threads: {fo.get_num_threads()}; rows: {'first 2000' if args.quick else 'all'}")
    header = (f"{'data':10s} {'m':>6s} {'n':>4s} {'sklearn lbfgs (s)':>17s} "
              f"{'fastopt (s)':>11s} {'solver':>9s} {'ratio':>6s} {'coef rel diff':>13s} "
              f"{'sk f-f*':>10s} {'fo f-f*':>10s}")
    print(header)
    print("-" * len(header))
    for name in fo.datasets.names():
        X, y = fo.datasets.load(name)
        if args.quick:
            X, y = X[:2000], y[:2000]
        LogisticRegression().fit(X, y)  # compile outside the timings
        t_sk, sk_default = best_time(lambda X=X, y=y: Sk(C=1.0).fit(X, y), args.repeat)
        t_fo, ours = best_time(lambda X=X, y=y: LogisticRegression(C=1.0).fit(X, y),
                               args.repeat)
        sk_tight = Sk(C=1.0, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y)
        fo_tight = LogisticRegression(C=1.0, tol=1e-10).fit(X, y)
        rel = (np.linalg.norm(fo_tight.coef_ - sk_tight.coef_)
               / np.linalg.norm(sk_tight.coef_))
        obj = fo.problems.Logistic(X, y, lam=1.0 / X.shape[0], fit_intercept=True)

        def value(clf, obj=obj):
            return obj.value(np.r_[clf.coef_[0], clf.intercept_])

        f_star = value(sk_tight)
        print(f"{name:10s} {X.shape[0]:6d} {X.shape[1]:4d} {t_sk:17.3f} {t_fo:11.3f} "
              f"{ours.solver_:>9s} {t_fo / t_sk:6.2f} {rel:13.2e} "
              f"{value(sk_default) - f_star:10.1e} {value(ours) - f_star:10.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
