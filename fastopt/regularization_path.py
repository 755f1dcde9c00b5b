"""``fastopt.path``: one model fitted at many L2 strengths, each solve warm-started.

For an objective of the linear models (:class:`~fastopt.problems.Logistic`,
:class:`~fastopt.problems.LeastSquares`, :class:`~fastopt.problems.Poisson`,
:class:`~fastopt.problems.Multinomial`), the regularization path is the sequence of
minimizers

.. math::

    x^*(\\lambda_j) = \\arg\\min_x \\; L(x) + \\frac{\\lambda_j}{2} \\|x_{:n}\\|^2,
    \\qquad \\lambda_1 \\ge \\lambda_2 \\ge \\dots \\ge \\lambda_L,

(L the data term, the intercepts unpenalized). x*(lam) is a smooth function of lam, so
the solution at one lam is a good start for the next: the path runs from the largest lam
(the most regularized problem, whose solution is near zero and which the solvers reach
fastest) to the smallest, each solve starting from the previous solution. Newton's
method, quadratically convergent near the optimum, then needs a few iterations per lam
instead of a full cold solve. The mathematics is in docs/many_fits.md.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import numbers
import warnings

import numpy as np
import scipy.sparse as sp

from ._solver_choice import auto_solver, gram_work_ratio
from ._warnings import user_stacklevel

__all__ = ["PathResult", "path", "default_lams", "LAM_MAX_FACTOR"]

#: lam_max = LAM_MAX_FACTOR * ||grad L(x_null)||_inf (see :func:`default_lams`): the L2
#: penalty never sets a coefficient exactly to zero, so, as glmnet does for ridge, the
#: top of the grid is the L1 bound ||grad L||_inf divided by 1e-3, where every
#: coefficient is within about 1e-3 of zero.
LAM_MAX_FACTOR = 1e3

_LOSSES = ("logistic", "least_squares", "poisson", "multinomial")


@dataclasses.dataclass(frozen=True, eq=False)
class PathResult:
    """The solutions of a regularization path (:func:`path`), largest lam first.

    Attributes
    ----------
    lams : ndarray of shape (L,)
        The L2 strengths, sorted from the largest to the smallest: the order in which
        they were solved and the order of every other field.
    order : ndarray of shape (L,), int
        Where each solved lam was in the ``lams`` given: ``lams[j] == given[order[j]]``
        (``arange(L)`` for the default grid).
    coef : ndarray of shape (L, p)
        The solutions x*(lams[j]); p is the objective's ``n_params`` (intercept last when
        fitted; for :class:`~fastopt.problems.Multinomial` the objective's flat layout).
    fun : ndarray of shape (L,)
        The objective (with its penalty lams[j]) at coef[j].
    n_iter : ndarray of shape (L,), int
        Solver iterations of each solve.
    status : ndarray of shape (L,), int
        :class:`fastopt.Status` code of each solve.
    success : ndarray of shape (L,), bool
        Whether each solve converged (``status < 10``).
    message : list of str
        The solver's message for each solve.
    method : str
        The method of :func:`fastopt.minimize` that was used ("auto" resolved).
    """

    lams: np.ndarray
    order: np.ndarray
    coef: np.ndarray
    fun: np.ndarray
    n_iter: np.ndarray
    status: np.ndarray
    success: np.ndarray
    message: list
    method: str

    @property
    def all_converged(self) -> bool:
        """Whether every solve of the path converged."""
        return bool(np.all(self.success))


def _check_lams(lams) -> np.ndarray:
    """``lams`` as a 1-D float64 array, finite and >= 0, non-empty (ValueError naming it)."""
    try:
        raw = np.asarray(lams)
        if raw.dtype.kind in "bc":  # float() would accept booleans, drop imaginary parts
            raise TypeError(f"dtype {raw.dtype}")
        arr = np.array(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"lams must be a 1-D array of real numbers; got {lams!r} "
                         f"({exc})") from None
    if arr.ndim != 1:
        raise ValueError(f"lams must be 1-D; got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("lams must not be empty")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"lams must be finite and >= 0; got lams[{i}] = {arr[i]!r}")
    return arr


def _build_objective(X, y, loss, sample_weight, fit_intercept, backend):
    from . import problems

    if not isinstance(loss, str) or loss not in _LOSSES:
        raise ValueError(f"loss must be one of {list(_LOSSES)}; got {loss!r}")
    if y is None:
        raise ValueError("y is required when the first argument is data X (not an "
                         "objective)")
    cls = {"logistic": problems.Logistic, "least_squares": problems.LeastSquares,
           "poisson": problems.Poisson, "multinomial": problems.Multinomial}[loss]
    # lam = 0 is a placeholder: every solve sets its own.
    return cls(X, y, lam=0.0, sample_weight=sample_weight, fit_intercept=fit_intercept,
               backend=backend)


def _null_gradient(objective) -> np.ndarray:
    """Gradient of the data term at the null model, on the penalized coordinates.

    At x = 0 the penalty's gradient is zero, so ``grad f(0)`` is the data term's. With an
    intercept, the null model is the intercept-only fit; for the canonical-link losses its
    residual is the sw-weighted centering of the residual r at 0 (logistic:
    ``r = 1/2 - y`` becomes ``ybar - y``), so the penalized gradient is
    ``X^T sw (r - rbar) = g[:n] - rbar * X^T sw`` with ``rbar = g[n]`` (the intercept's
    gradient, the sw-mean of r). Shape (n,) or (n, K).
    """
    x0 = np.zeros(objective.n_params)
    g = np.asarray(objective.grad(x0), dtype=np.float64)
    n = objective.n_features
    k = getattr(objective, "n_classes", None) if hasattr(objective, "unflatten") else None
    G = g.reshape(-1, k) if k else g.reshape(-1, 1)  # (p, K): feature-major layout
    if not objective.fit_intercept:
        return G[:n]
    in_memory = getattr(getattr(objective, "data", None), "in_memory", True)
    if not in_memory:  # X in row blocks: no O(m) pass here; the uncentered gradient
        return G[:n]
    col_mean = objective.X.T @ objective.sw  # X^T sw, shape (n,)
    col_mean = np.asarray(col_mean, dtype=np.float64).reshape(-1)
    return G[:n] - np.outer(col_mean, G[n])


def default_lams(objective, n_lams: int = 20, lam_ratio: float = 1e-4) -> np.ndarray:
    """The default grid: ``n_lams`` values, geometric from lam_max to lam_max * lam_ratio.

    .. math::

        \\lambda_{\\max} = 10^3 \\, \\|\\nabla L(x_{\\text{null}})_{:n}\\|_\\infty,

    the gradient of the (normalized) data term at the null model (zero coefficients, the
    intercept-only fit when there is one; for least squares ``X^T sw (y - ybar)``,
    ``||X^T (y - ybar)||_inf / m`` unweighted). For an L1 penalty that bound is the
    smallest lam whose solution is zero; an L2 solution is never exactly zero, and at
    lam_max it is about ``grad / lam``, within ~1e-3 of zero (glmnet's choice for
    ridge). A zero gradient (nothing to fit) gives lam_max = 1.

    Returns
    -------
    ndarray of shape (n_lams,), decreasing.
    """
    if isinstance(n_lams, bool) or not isinstance(n_lams, numbers.Integral) or n_lams < 1:
        raise ValueError(f"n_lams must be an integer >= 1; got {n_lams!r}")
    if (isinstance(lam_ratio, bool) or not isinstance(lam_ratio, numbers.Real)
            or not math.isfinite(lam_ratio) or not 0 < lam_ratio <= 1):
        raise ValueError(f"lam_ratio must be a real number in (0, 1]; got {lam_ratio!r}")
    g = _null_gradient(objective)
    top = float(np.max(np.abs(g))) if g.size else 0.0
    lam_max = LAM_MAX_FACTOR * top if top > 0 and math.isfinite(top) else 1.0
    if n_lams == 1:
        return np.array([lam_max])
    return np.geomspace(lam_max, lam_max * float(lam_ratio), int(n_lams))


def _auto_method(objective) -> str:
    """The estimator's rule (:func:`fastopt.linear_model.auto_solver`): Newton for a
    small binary (or single-output GLM) problem with a cheap Hessian, else Newton-CG."""
    n_classes = int(getattr(objective, "n_classes", 2))
    X = getattr(objective, "X", None) if getattr(objective, "data", None) is not None \
        and getattr(objective.data, "in_memory", False) else None
    ratio = gram_work_ratio(X) if X is not None and sp.issparse(X) else None
    return auto_solver(int(objective.n_params), n_classes, ratio)


def _with_lam(objective, lam: float):
    """``objective`` with its L2 strength set to ``lam``, in place (a private copy).

    The objectives read ``lam`` at every evaluation, but cache L and mu (power
    iterations or eigenvalues that include lam) on first use: those are cleared so that
    a method asking for them gets this lam's.
    """
    objective.lam = float(lam)
    for name in ("_lipschitz", "_strong_convexity"):
        if hasattr(objective, name):
            setattr(objective, name, None)
    return objective


def path(obj_or_X, y=None, lams=None, *, n_lams=20, lam_ratio=1e-4, sample_weight=None,
         fit_intercept=True, loss="logistic", method="auto", tol=1e-8, max_iter=100,
         backend="auto", x0=None, warn=True) -> PathResult:
    """Minimize one objective at many L2 strengths, largest first, each warm-started.

    Parameters
    ----------
    obj_or_X : objective, ndarray or scipy.sparse matrix of shape (m, n)
        An objective with a ``lam`` attribute (``fo.problems.Logistic``,
        ``LeastSquares``, ``Poisson``, ``Multinomial``; it is not modified: the path works
        on a shallow copy), or the data X, with ``y``, of an objective built with
        ``loss``.
    y : array_like of shape (m,) or None
        Targets when X is given (labels for "logistic" and "multinomial", reals for
        "least_squares", counts for "poisson"); must be None with an objective.
    lams : array_like of shape (L,) or None
        L2 strengths (finite, >= 0), solved from the largest to the smallest whatever
        their order; the result is in that sorted order (``result.order`` maps back).
        None: :func:`default_lams` (``n_lams`` values from lam_max down to
        ``lam_max * lam_ratio``).
    n_lams : int, default 20
    lam_ratio : float, default 1e-4
        The default grid's size and its smallest over largest lam.
    sample_weight, fit_intercept, backend :
        Of the objective built from X (ignored with an objective, which has its own).
    loss : {"logistic", "least_squares", "poisson", "multinomial"}, default "logistic"
        The objective built from X.
    method : str, default "auto"
        A method of :func:`fastopt.minimize`; "auto" is the estimator's rule
        (:func:`fastopt.linear_model.auto_solver`): "newton" for at most 400 parameters,
        one output and a cheap Hessian, else "newton-cg".
    tol : float, default 1e-8
        Gradient-norm tolerance of every solve.
    max_iter : int, default 100
        Iteration budget of every solve.
    x0 : array_like of shape (p,) or None
        Start of the first (largest lam) solve; None: zeros.
    warn : bool, default True
        Emit one RuntimeWarning naming the lams whose solve did not converge (they are
        reported in ``success``, ``status`` and ``message`` either way).

    Returns
    -------
    PathResult
        ``lams`` (L,) decreasing, ``order``, ``coef`` (L, p), ``fun``, ``n_iter``,
        ``status``, ``success`` (L,), ``message`` (list), ``method``.

    Examples
    --------
    >>> import fastopt as fo
    >>> X, y = fo.datasets.load("a9a")
    >>> res = fo.path(X, y, lams=[1e-2, 1e-3, 1e-4])
    >>> res.coef.shape, bool(res.success.all())
    ((3, 124), True)
    """
    from .minimize import minimize

    if hasattr(obj_or_X, "lam") and hasattr(obj_or_X, "n_params"):
        if y is not None:
            raise ValueError("y must be None when the first argument is an objective (it "
                             "holds its targets)")
        if sample_weight is not None:
            raise ValueError("sample_weight must be None when the first argument is an "
                             "objective (it holds its weights)")
        objective = copy.copy(obj_or_X)
    else:
        objective = _build_objective(obj_or_X, y, loss, sample_weight, fit_intercept,
                                     backend)
    if lams is None:
        given = default_lams(objective, n_lams, lam_ratio)
    else:
        given = _check_lams(lams)
    # Stable sort, largest first: equal lams keep their given order.
    order = np.argsort(-given, kind="stable")
    sorted_lams = given[order]
    if not isinstance(method, str):
        raise TypeError(f"method must be a string; got {method!r}")
    method = _auto_method(objective) if method == "auto" else method

    p = int(objective.n_params)
    x = np.zeros(p) if x0 is None else np.array(x0, dtype=np.float64)
    if x.shape != (p,):
        raise ValueError(f"x0 must have shape ({p},); got shape {x.shape}")
    L = sorted_lams.size
    coef = np.empty((L, p))
    fun = np.empty(L)
    n_iter = np.empty(L, dtype=np.int64)
    status = np.empty(L, dtype=np.int64)
    message = []
    for j, lam in enumerate(sorted_lams):
        res = minimize(_with_lam(objective, lam), x, method=method, tol=tol,
                       max_iter=max_iter)
        coef[j] = res.x
        fun[j] = res.fun
        n_iter[j] = res.nit
        status[j] = int(res.status)
        message.append(str(res.message))
        # Warm start: the next (smaller) lam starts here. A failed solve's x is its best
        # finite iterate, still closer than zeros.
        x = np.array(res.x, dtype=np.float64)
    success = status < 10
    if warn and not success.all():
        bad = np.flatnonzero(~success)
        listed = ", ".join(f"lam={sorted_lams[j]:.4g} ({message[j]})" for j in bad[:5])
        more = f" and {bad.size - 5} more" if bad.size > 5 else ""
        warnings.warn(f"fastopt.path: {bad.size} of {L} solves did not converge "
                      f"(method {method!r}, max_iter={max_iter}): {listed}{more}",
                      RuntimeWarning, stacklevel=user_stacklevel())
    return PathResult(lams=sorted_lams, order=order, coef=coef, fun=fun, n_iter=n_iter,
                      status=status, success=success, message=message, method=method)
