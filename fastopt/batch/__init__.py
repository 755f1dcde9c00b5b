"""Many small fits in one compiled call: ``fo.batch.logistic``, ``least_squares``, ``poisson``.

K independent problems, each

.. math::

    \\min_{w, b} \\; \\frac{1}{\\sum_i s_i} \\sum_i s_i \\, \\ell(\\langle a_i, w \\rangle + b,
    y_i) + \\frac{\\lambda_k}{2} \\|w\\|^2

(the normalized objective of the single fits, intercept b unpenalized), are solved by
Newton's method inside one kernel call, in parallel over the problems, each problem's
rows read in place. The problems come as

- X of shape (K, m, n) with y of shape (K, m) (and sample_weight (K, m));
- X of shape (m, n) with y (m,) and ``groups`` (m,): one problem per group id, the rows
  addressed by index, never copied;
- X of shape (m, n) shared by every problem, with K targets y of shape (m, K), or K weight
  vectors sample_weight of shape (K, m) (bootstrap resamples as counts, cross-validation
  folds as 0/1 masks). Rows of zero weight are left out of that problem's passes.

Newton's method suits these problems: n is small, so the Hessian costs about as much as
a few gradients and the solve converges in a handful of iterations. The Hessian is formed
and factored per problem (p x p with p = n + 1), so n up to a few hundred is the range
this is made for.
"""

from __future__ import annotations

from ._result import BatchResult
from ._solve import fit_batch

__all__ = ["BatchResult", "logistic", "least_squares", "poisson"]

_COMMON_DOC = """
    Parameters
    ----------
    X : ndarray of shape (K, m, n), or array-like or sparse matrix of shape (m, n)
        The problems' rows (see :mod:`fastopt.batch` for the three forms). float32 dense
        X is read as float32 (accumulated in float64); sparse X in CSR.
    y : ndarray of shape (K, m), (m,) or (m, K)
        Targets: {targets}
    groups : array-like of shape (m,), optional
        With a 2-D X and a 1-D y: the group of each row; problem k is the k-th smallest
        group id (``result.groups``).
    n_groups : int, optional
        With ``groups`` of integer codes in [0, n_groups): K = n_groups, so groups with
        no rows are reported (status "empty") instead of left out.
    lam : None, float or ndarray of shape (K,), default None
        L2 strength of the normalized objective, per problem or for all. None gives
        scikit-learn's default C = 1: lam_k = 1 / (the sum of problem k's weights, its
        row count without weights).
    sample_weight : ndarray of shape (K, m), (m,) or None
        Non-negative row weights (per problem, or shared).
    fit_intercept : bool, default True
        Fit an unpenalized intercept per problem.
    tol : float, default 1e-4
        Stop a problem when the Euclidean norm of its gradient is <= tol (the default of
        ``fo.LogisticRegression``; Newton's last step usually lands far below it). Use
        1e-8 to 1e-10 to match another solver's coefficients to 1e-6 relative.
    max_iter : int, default 100
        Newton iterations per problem.
    x0 : ndarray of shape (K, n + fit_intercept), optional
        Start points (warm starts: e.g. the full-data fit for bootstrap resamples).
    backend : str, default "auto"
        "auto" or "cython" (compiled at install), or "numpy" (the reference twin).
    n_threads : int, optional
        Threads for the call (None: ``fo.get_num_threads()``); the results do not depend
        on it.

    Returns
    -------
    BatchResult
        ``coef`` (K, n), ``intercept`` (K,), ``fun``, ``grad_norm``, ``n_iter``, ``status``,
        ``success`` and ``messages`` per problem. A problem whose data hold NaN or inf,
        that has no rows or no positive weight{one_class} is not solved: its status says
        why and its coefficients are NaN; the other problems are unaffected.
"""


def logistic(X, y, *, groups=None, n_groups=None, lam=None, sample_weight=None,
             fit_intercept=True, tol=1e-4, max_iter=100, x0=None, backend="auto",
             n_threads=None) -> BatchResult:
    return fit_batch("logistic", X, y, groups=groups, n_groups=n_groups, lam=lam,
                     sample_weight=sample_weight, fit_intercept=fit_intercept, tol=tol,
                     max_iter=max_iter, x0=x0, backend=backend, n_threads=n_threads)


def least_squares(X, y, *, groups=None, n_groups=None, lam=None, sample_weight=None,
                  fit_intercept=True, tol=1e-4, max_iter=100, x0=None, backend="auto",
                  n_threads=None) -> BatchResult:
    return fit_batch("squared", X, y, groups=groups, n_groups=n_groups, lam=lam,
                     sample_weight=sample_weight, fit_intercept=fit_intercept, tol=tol,
                     max_iter=max_iter, x0=x0, backend=backend, n_threads=n_threads)


def poisson(X, y, *, groups=None, n_groups=None, lam=None, sample_weight=None,
            fit_intercept=True, tol=1e-4, max_iter=100, x0=None, backend="auto",
            n_threads=None) -> BatchResult:
    return fit_batch("poisson", X, y, groups=groups, n_groups=n_groups, lam=lam,
                     sample_weight=sample_weight, fit_intercept=fit_intercept, tol=tol,
                     max_iter=max_iter, x0=x0, backend=backend, n_threads=n_threads)


logistic.__doc__ = """K L2-regularized logistic regressions in one call (loss
    log(1 + exp(-y z)), y mapped to -1/+1).
""" + _COMMON_DOC.format(
    targets="two labels overall (bool, {0, 1}, {-1, 1} or any two numbers; the larger is "
            "the positive class, ``result.classes[1]``).",
    one_class=", or whose labels hold one class only,")
least_squares.__doc__ = """K ridge regressions (loss (z - y)^2 / 2) in one call; Newton
    converges in one step.
""" + _COMMON_DOC.format(targets="finite reals.", one_class="")
poisson.__doc__ = """K Poisson regressions with log link (loss exp(z) - y z) in one call.
""" + _COMMON_DOC.format(targets="counts y >= 0.", one_class="")
